/* audio_sink_file.c: the file sink: WAV/FLAC/OGG by extension through libsndfile, via a temporary name; "-" is WAV on stdout. */
#include "cli/sink.h"

#include <errno.h>
#include <fcntl.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "audio/wav_stream.h"

typedef struct file_sink {
    SNDFILE *sf;       /* a named file ... */
    int fd, is_float;
    wav_stream *ws;    /* ... or stdout */
    char *path, *tmp;  /* the final name and the temporary one it is written under */
} file_sink;

/* The libsndfile format for the path's extension, or 0. */
static int format_for(const char *path, int *is_float) {
    const char *dot = strrchr(path, '.');
    *is_float = 0;
    if (!dot || strchr(dot, '/')) return 0;
    if (!strcasecmp(dot, ".wav")) return SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    if (!strcasecmp(dot, ".flac")) return SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
    if (!strcasecmp(dot, ".ogg") || !strcasecmp(dot, ".oga")) return *is_float = 1, SF_FORMAT_OGG | SF_FORMAT_VORBIS;
    return 0;
}

static void free_sink(file_sink *f) {
    free(f->path);
    free(f->tmp);
    free(f);
}

static bark_status open_named(file_sink *f, const char *path, int rate, bark_error *err) {
    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.samplerate = rate, info.channels = 1;
    if (!(info.format = format_for(path, &f->is_float)))
        return bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: unknown extension (use .wav, .flac or .ogg, or - for stdout)",
                         path);
    size_t l = strlen(path);
    if (!(f->path = strdup(path)) || !(f->tmp = malloc(l + 16)))
        return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", path);
    snprintf(f->tmp, l + 16, "%s.part-XXXXXX", path);
    if ((f->fd = mkstemp(f->tmp)) < 0) return bark_fail(err, BARK_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    mode_t mask = umask(0);
    umask(mask);
    int chmod_ok = fchmod(f->fd, 0666 & ~mask) == 0;
    if (!chmod_ok || !(f->sf = sf_open_fd(f->fd, SFM_WRITE, &info, 0))) {
        bark_fail(err, BARK_ERR_IO, "%s: cannot write: %s", path, chmod_ok ? sf_strerror(NULL) : strerror(errno));
        close(f->fd);
        unlink(f->tmp);
        return BARK_ERR_IO;
    }
    sf_set_string(f->sf, SF_STR_SOFTWARE, AUDIO_SINK_SOFTWARE);
    sf_set_string(f->sf, SF_STR_COMMENT, AUDIO_SINK_COMMENT);
    if (f->is_float) {
        double q = 0.4; /* Vorbis quality: ~64 kb/s mono, plenty for 24 kHz speech */
        sf_command(f->sf, SFC_SET_VBR_ENCODING_QUALITY, &q, sizeof q);
    }
    return BARK_OK;
}

static bark_status file_open(audio_sink *s, const char *target, int rate, bark_error *err) {
    file_sink *f = calloc(1, sizeof *f);
    if (!f) return bark_fail(err, BARK_ERR_NOMEM, "output: out of memory");
    f->fd = -1;
    bark_status st = !strcmp(target, "-")
                         ? wav_stream_open(STDOUT_FILENO, "stdout", rate, AUDIO_SINK_SOFTWARE, AUDIO_SINK_COMMENT,
                                           &f->ws, err)
                         : open_named(f, target, rate, err);
    if (st) {
        free_sink(f);
        return st;
    }
    s->impl = f;
    return BARK_OK;
}

static bark_status file_write(audio_sink *s, const float *x, const int16_t *x16, size_t n, bark_error *err) {
    file_sink *f = s->impl;
    if (f->ws) return wav_stream_write(f->ws, x16, n, err);
    sf_count_t w = f->is_float ? sf_write_float(f->sf, x, (sf_count_t)n) : sf_write_short(f->sf, x16, (sf_count_t)n);
    if (w != (sf_count_t)n || sf_error(f->sf)) {
        /* libsndfile words a system error "System error : <strerror>."; keep the part after the colon */
        const char *why = sf_strerror(f->sf), *colon = strstr(why, " : ");
        if (colon) why = colon + 3;
        size_t l = strlen(why);
        return bark_fail(err, BARK_ERR_IO, "%s: write failed: %.*s", f->path, (int)(l && why[l - 1] == '.' ? l - 1 : l), why);
    }
    return BARK_OK;
}

static bark_status file_drain(audio_sink *s, bark_error *err) {
    (void)s, (void)err;
    return BARK_OK;
}

static void file_drop(audio_sink *s) { (void)s; }

/* Finishes the libsndfile header, flushes to the disk and gives the file its name (keep), or removes it. */
static bark_status finish_named(file_sink *f, int keep, bark_error *err) {
    int e = sf_close(f->sf);
    bark_status st = BARK_OK;
    if (keep && e) st = bark_fail(err, BARK_ERR_IO, "%s: cannot finish the file: %s", f->path, sf_error_number(e));
    if (keep && !st && fsync(f->fd) != 0)
        st = bark_fail(err, BARK_ERR_IO, "%s: cannot write: %s", f->path, strerror(errno));
    if (close(f->fd) != 0 && keep && !st) st = bark_fail(err, BARK_ERR_IO, "%s: cannot write: %s", f->path, strerror(errno));
    if (keep && !st && rename(f->tmp, f->path) != 0)
        st = bark_fail(err, BARK_ERR_IO, "%s: cannot rename the finished file: %s", f->path, strerror(errno));
    if (!keep || st) unlink(f->tmp);
    return st;
}

static bark_status file_close(audio_sink *s, int keep, bark_error *err) {
    file_sink *f = s->impl;
    bark_status st = f->ws ? wav_stream_close(f->ws, err) : finish_named(f, keep, err);
    free_sink(f);
    return st;
}

const audio_sink_ops audio_sink_file = {"file", file_open, file_write, file_drain, file_drop, file_close};
