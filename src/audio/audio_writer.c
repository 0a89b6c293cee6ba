/* audio_writer.c: bark_audio_writer: WAV/FLAC/Ogg Vorbis/Opus/MP3 through libsndfile, float32 .npy, or WAV on stdout; always tagged. */
#include "audio/audio_file.h"

#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "audio/wav_stream.h"
#include "core/error.h"
#include "core/staged_file.h"
#include "formats/npy_write.h"

#define WRITER_BLOCK 4096

typedef enum writer_kind { W_PCM16, W_LOSSY, W_NPY, W_STDOUT } writer_kind;

struct bark_audio_writer {
    writer_kind kind;
    staged_file f;   /* W_PCM16, W_LOSSY: the file libsndfile writes */
    SNDFILE *sf;
    npy_stream *npy; /* W_NPY */
    wav_stream *ws;  /* W_STDOUT */
    bark_status st;  /* the first failed write */
    char label[256];
    int16_t x16[WRITER_BLOCK];
    float xf[WRITER_BLOCK];
};

void bark_audio_to_s16(const float *x, size_t n, int16_t *out) {
    for (size_t i = 0; i < n; i++) {
        float v = x[i] > 1.0f ? 1.0f : x[i] < -1.0f ? -1.0f : x[i] != x[i] ? 0.0f : x[i];
        out[i] = (int16_t)lrintf(v * 32767.0f);
    }
}

/* The kind of file for the path's extension; -1 if none is known. */
static int kind_for(const char *path, int *format) {
    const char *dot = strrchr(path, '.');
    if (!strcmp(path, "-")) return W_STDOUT;
    if (!dot || strchr(dot, '/')) return -1;
    if (!strcasecmp(dot, ".wav")) return *format = SF_FORMAT_WAV | SF_FORMAT_PCM_16, W_PCM16;
    if (!strcasecmp(dot, ".flac")) return *format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16, W_PCM16;
    if (!strcasecmp(dot, ".ogg") || !strcasecmp(dot, ".oga"))
        return *format = SF_FORMAT_OGG | SF_FORMAT_VORBIS, W_LOSSY;
    if (!strcasecmp(dot, ".opus")) return *format = SF_FORMAT_OGG | SF_FORMAT_OPUS, W_LOSSY;
    if (!strcasecmp(dot, ".mp3")) return *format = SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, W_LOSSY;
    if (!strcasecmp(dot, ".npy")) return W_NPY;
    return -1;
}

static bark_status open_sndfile(bark_audio_writer *w, const char *path, int rate, int format, bark_error *err) {
    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.samplerate = rate, info.channels = 1, info.format = format;
    if (!sf_format_check(&info))
        return bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: this libsndfile cannot write %s at %d Hz (use .wav or .flac)",
                         path, strrchr(path, '.'), rate);
    bark_status st = staged_file_open(&w->f, path, err);
    if (st) return st;
    if (!(w->sf = sf_open_fd(w->f.fd, SFM_WRITE, &info, 0))) {
        /* a system error is the file's; any other, what was asked of the codec (Opus at 44.1 kHz, say) */
        st = sf_error(NULL) == SF_ERR_SYSTEM ? BARK_ERR_IO : BARK_ERR_UNSUPPORTED;
        bark_fail(err, st, "%s: cannot write: %s", path, sf_strerror(NULL));
        staged_file_close(&w->f, 0, NULL);
        return st;
    }
    /* the mark that says synthetic speech is part of the file: without it (out of memory) there is no file */
    if (sf_set_string(w->sf, SF_STR_SOFTWARE, BARK_AUDIO_SOFTWARE) ||
        sf_set_string(w->sf, SF_STR_COMMENT, BARK_AUDIO_COMMENT)) {
        bark_fail(err, BARK_ERR_NOMEM, "%s: cannot tag the file: %s", path, sf_strerror(w->sf));
        sf_close(w->sf);
        staged_file_close(&w->f, 0, NULL);
        return BARK_ERR_NOMEM;
    }
    if (w->kind == W_LOSSY) {
        double q = 0.4; /* Vorbis quality ~64 kb/s mono, plenty for 24 kHz speech; Opus and MP3 take it too */
        sf_command(w->sf, SFC_SET_VBR_ENCODING_QUALITY, &q, sizeof q);
    }
    return BARK_OK;
}

bark_status bark_audio_writer_open(const char *path, int rate, bark_audio_writer **out, bark_error *err) {
    *out = NULL;
    int format = 0, kind = kind_for(path, &format);
    if (kind < 0)
        return bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: unknown extension (the output format comes from .wav, .flac, "
                         ".ogg, .opus, .mp3 or .npy; - is WAV on stdout)", path);
    if (rate <= 0) return bark_fail(err, BARK_ERR_ARG, "%s: invalid sample rate %d", path, rate);
    bark_audio_writer *w = calloc(1, sizeof *w);
    if (!w) return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", path);
    w->kind = (writer_kind)kind;
    w->f.fd = -1;
    snprintf(w->label, sizeof w->label, "%s", kind == W_STDOUT ? "stdout" : path);
    bark_status st = kind == W_STDOUT ? wav_stream_open(STDOUT_FILENO, "stdout", rate, BARK_AUDIO_SOFTWARE,
                                                        BARK_AUDIO_COMMENT, &w->ws, err)
                     : kind == W_NPY  ? npy_stream_open(path, NPY_F4, 0, &w->npy, err)
                                      : open_sndfile(w, path, rate, format, err);
    if (st) {
        free(w);
        return st;
    }
    *out = w;
    return BARK_OK;
}

/* One block (n <= WRITER_BLOCK) to libsndfile: 16-bit samples, or for the lossy codecs the same values as floats. */
static bark_status write_sndfile(bark_audio_writer *w, const float *x, size_t n, bark_error *err) {
    bark_audio_to_s16(x, n, w->x16);
    sf_count_t done;
    if (w->kind == W_LOSSY) {
        for (size_t i = 0; i < n; i++) w->xf[i] = (float)w->x16[i] / 32767.0f;
        done = sf_write_float(w->sf, w->xf, (sf_count_t)n);
    } else {
        done = sf_write_short(w->sf, w->x16, (sf_count_t)n);
    }
    if (done == (sf_count_t)n && !sf_error(w->sf)) return BARK_OK;
    /* libsndfile words a system error "System error : <strerror>."; keep the part after the colon */
    const char *why = sf_strerror(w->sf), *colon = strstr(why, " : ");
    if (colon) why = colon + 3;
    const size_t l = strlen(why);
    return bark_fail(err, BARK_ERR_IO, "%s: write failed: %.*s", w->label, (int)(l && why[l - 1] == '.' ? l - 1 : l),
                     why);
}

bark_status bark_audio_writer_write(bark_audio_writer *w, const float *x, size_t n, bark_error *err) {
    if (w->st) return bark_fail(err, w->st, "%s: an earlier write failed", w->label);
    bark_status st = BARK_OK;
    if (w->kind == W_NPY) st = npy_stream_write(w->npy, x, n, err);
    for (size_t done = 0; w->kind != W_NPY && !st && done < n;) {
        const size_t k = n - done < WRITER_BLOCK ? n - done : WRITER_BLOCK;
        if (w->kind == W_STDOUT) {
            bark_audio_to_s16(x + done, k, w->x16);
            st = wav_stream_write(w->ws, w->x16, k, err);
        } else {
            st = write_sndfile(w, x + done, k, err);
        }
        done += k;
    }
    return w->st = st;
}

bark_status bark_audio_writer_close(bark_audio_writer *w, int keep, bark_error *err) {
    if (!w) return BARK_OK;
    bark_status st = BARK_OK;
    if (keep && w->st)
        st = bark_fail(err, w->st, "%s: the file is incomplete (a write failed) and was removed", w->label);
    keep = keep && !st;
    if (w->kind == W_STDOUT) {
        bark_status cst = wav_stream_close(w->ws, err);
        if (keep) st = cst;
    } else if (w->kind == W_NPY) {
        bark_status cst = npy_stream_close(w->npy, keep, err);
        if (keep) st = cst;
    } else {
        /* the header written now, where a failed write is seen (sf_close rewrites it the same, unchecked) */
        if (keep && w->kind == W_PCM16 && (sf_command(w->sf, SFC_UPDATE_HEADER_NOW, NULL, 0), sf_error(w->sf)))
            st = bark_fail(err, BARK_ERR_IO, "%s: cannot finish the file: %s", w->label, sf_strerror(w->sf));
        const int e = sf_close(w->sf);
        if (keep && e && !st) st = bark_fail(err, BARK_ERR_IO, "%s: cannot finish the file: %s", w->label, sf_error_number(e));
        bark_status cst = staged_file_close(&w->f, keep && !st, err);
        if (keep && !st) st = cst;
    }
    free(w);
    return st;
}
