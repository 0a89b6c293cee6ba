/* audio_reader.c: any file libsndfile reads, in bounded blocks: mixed down to mono, resampled by libsamplerate. */
#include "audio/audio_file.h"

#include <errno.h>
#include <fcntl.h>
#include <samplerate.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

#define AUDIO_BLOCK 4096
#define AUDIO_MAX_CHANNELS 64

/* What libsndfile reads, through its virtual I/O: a file held in memory (buf), or an open file (fd) read with our own
 * calls, so that a failed read is known (err) even where libsndfile would carry on or take it for the end. */
typedef struct audio_in {
    const uint8_t *buf; /* NULL: read from fd */
    int fd;
    sf_count_t len, pos;
    int err;            /* the errno of the first failed read; sticky */
} audio_in;

struct bark_audio_reader {
    SNDFILE *f;
    SF_INFO info;
    SRC_STATE *src; /* NULL when the file is already at the asked rate */
    double ratio;
    float *inter;   /* [AUDIO_BLOCK * channels] */
    float *mono;    /* [AUDIO_BLOCK] */
    long mono_len, mono_pos;
    int eof;
    audio_in io;
    char path[256];
};

/* Checks the format the file announced and sets up the buffers and the resampler; frees r on failure. */
static bark_status finish_open(bark_audio_reader *r, int rate, bark_audio_reader **out, bark_error *err) {
    const char *path = r->path;
    if (r->info.channels < 1 || r->info.channels > AUDIO_MAX_CHANNELS || r->info.samplerate <= 0) {
        bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: %d channels at %d Hz is not supported", path, r->info.channels,
                  r->info.samplerate);
        bark_audio_reader_close(r);
        return BARK_ERR_UNSUPPORTED;
    }
    r->inter = malloc((size_t)AUDIO_BLOCK * r->info.channels * sizeof *r->inter);
    r->mono = malloc(AUDIO_BLOCK * sizeof *r->mono);
    if (!r->inter || !r->mono) {
        bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", path); /* path is r's: before r is freed */
        bark_audio_reader_close(r);
        return BARK_ERR_NOMEM;
    }
    if (r->info.samplerate != rate) {
        int e = 0;
        r->src = src_new(SRC_SINC_MEDIUM_QUALITY, 1, &e);
        r->ratio = (double)rate / r->info.samplerate;
        if (!r->src || src_is_valid_ratio(r->ratio) == 0) {
            bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: cannot resample %d Hz to %d Hz: %s", path, r->info.samplerate,
                      rate, r->src ? "ratio out of range" : src_strerror(e));
            bark_audio_reader_close(r);
            return BARK_ERR_UNSUPPORTED;
        }
    }
    *out = r;
    return BARK_OK;
}

static bark_status new_reader(const char *label, int rate, bark_audio_reader **out, bark_error *err) {
    if (rate <= 0) return bark_fail(err, BARK_ERR_ARG, "%s: invalid target sample rate %d", label, rate);
    bark_audio_reader *r = calloc(1, sizeof *r);
    if (!r) return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", label);
    snprintf(r->path, sizeof r->path, "%s", label);
    r->io.fd = -1;
    *out = r;
    return BARK_OK;
}

static sf_count_t io_size(void *user) { return ((audio_in *)user)->len; }

static sf_count_t io_seek(sf_count_t off, int whence, void *user) {
    audio_in *m = user;
    sf_count_t base = whence == SEEK_CUR ? m->pos : whence == SEEK_END ? m->len : 0;
    if ((off > 0 && base > m->len - off) || base + off < 0) return -1;
    m->pos = base + off;
    return m->pos;
}

static sf_count_t io_read(void *ptr, sf_count_t n, void *user) {
    audio_in *m = user;
    if (n <= 0 || m->pos >= m->len || m->err) return 0;
    if (n > m->len - m->pos) n = m->len - m->pos;
    if (m->buf) {
        memcpy(ptr, m->buf + m->pos, (size_t)n);
        m->pos += n;
        return n;
    }
    sf_count_t got = 0;
    while (got < n) {
        const ssize_t k = pread(m->fd, (char *)ptr + got, (size_t)(n - got), (off_t)(m->pos + got));
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            /* the file shorter than its size a moment ago is a failed read too; libsndfile is shown the end of the
             * file from now on (it would go on parsing a header from reads that give nothing, growing its buffer) */
            m->err = k < 0 ? errno : EIO;
            m->pos = m->len;
            return got;
        }
        got += k;
    }
    m->pos += got;
    return got;
}

static sf_count_t io_write(const void *ptr, sf_count_t n, void *user) { return 0; }

static sf_count_t io_tell(void *user) { return ((audio_in *)user)->pos; }

static SF_VIRTUAL_IO audio_io = {io_size, io_seek, io_read, io_write, io_tell};

/* sf_open_virtual on r->io; frees r (and closes its file) on failure. */
static bark_status open_io(bark_audio_reader *r, int rate, bark_audio_reader **out, bark_error *err) {
    r->f = r->io.len > 0 ? sf_open_virtual(&audio_io, SFM_READ, &r->info, &r->io) : NULL;
    if (!r->f || r->io.err) {
        bark_fail(err, BARK_ERR_IO, "%s: cannot read audio: %s", r->path, r->io.err ? strerror(r->io.err)
                  : r->io.len ? sf_strerror(NULL) : "empty input");
        bark_audio_reader_close(r);
        return BARK_ERR_IO;
    }
    return finish_open(r, rate, out, err);
}

bark_status bark_audio_reader_open(const char *path, int rate, bark_audio_reader **out, bark_error *err) {
    *out = NULL;
    bark_audio_reader *r = NULL;
    bark_status st = new_reader(path, rate, &r, err);
    if (st != BARK_OK) return st;
    struct stat sb;
    const char *why = NULL;
    if ((r->io.fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(r->io.fd, &sb)) why = strerror(errno);
    else if (!S_ISREG(sb.st_mode)) why = "not a regular file";
    if (why) {
        bark_fail(err, BARK_ERR_IO, "%s: cannot read audio: %s", path, why);
        bark_audio_reader_close(r);
        return BARK_ERR_IO;
    }
    r->io.len = (sf_count_t)sb.st_size;
    return open_io(r, rate, out, err);
}

bark_status bark_audio_reader_open_mem(const void *buf, size_t len, const char *label, int rate,
                                      bark_audio_reader **out, bark_error *err) {
    *out = NULL;
    bark_audio_reader *r = NULL;
    bark_status st = new_reader(label, rate, &r, err);
    if (st != BARK_OK) return st;
    r->io.buf = buf;
    r->io.len = (sf_count_t)len;
    return open_io(r, rate, out, err);
}

void bark_audio_reader_format(const bark_audio_reader *r, int *rate, int *channels) {
    *rate = r->info.samplerate;
    *channels = r->info.channels;
}

/* Reads up to cap (<= AUDIO_BLOCK) frames from the file and mixes them to mono; returns the count. */
static long read_mono(bark_audio_reader *r, float *out, long cap) {
    const int ch = r->info.channels;
    sf_count_t got = sf_readf_float(r->f, r->inter, cap);
    if (got <= 0) return 0;
    for (sf_count_t i = 0; i < got; i++) {
        float s = 0.0f;
        for (int c = 0; c < ch; c++) s += r->inter[i * ch + c];
        out[i] = ch == 1 ? s : s / (float)ch;
    }
    return (long)got;
}

/* A read of the file failed (libsndfile may have gone on, or taken it for the end): nothing of this block is given. */
static bark_status read_failed(const bark_audio_reader *r, size_t *n, bark_error *err) {
    *n = 0;
    return bark_fail(err, BARK_ERR_IO, "%s: read failed: %s", r->path, strerror(r->io.err));
}

bark_status bark_audio_reader_read(bark_audio_reader *r, float *out, size_t cap, size_t *n, bark_error *err) {
    *n = 0;
    if (cap == 0) return BARK_OK;
    const long want = cap > AUDIO_BLOCK ? AUDIO_BLOCK : (long)cap;
    if (!r->src) {
        *n = (size_t)read_mono(r, out, want);
        if (r->io.err) return read_failed(r, n, err);
        if (*n == 0 && sf_error(r->f))
            return bark_fail(err, BARK_ERR_IO, "%s: read failed: %s", r->path, sf_strerror(r->f));
        return BARK_OK;
    }
    for (;;) {
        if (r->mono_pos == r->mono_len && !r->eof) {
            r->mono_len = read_mono(r, r->mono, AUDIO_BLOCK);
            r->mono_pos = 0;
            if (r->io.err) return read_failed(r, n, err);
            if (r->mono_len == 0) {
                if (sf_error(r->f)) return bark_fail(err, BARK_ERR_IO, "%s: read failed: %s", r->path, sf_strerror(r->f));
                r->eof = 1;
            }
        }
        SRC_DATA d;
        memset(&d, 0, sizeof d);
        d.data_in = r->mono + r->mono_pos;
        d.input_frames = r->mono_len - r->mono_pos;
        d.data_out = out;
        d.output_frames = want;
        d.end_of_input = r->eof;
        d.src_ratio = r->ratio;
        int e = src_process(r->src, &d);
        if (e) return bark_fail(err, BARK_ERR_IO, "%s: resampling failed: %s", r->path, src_strerror(e));
        r->mono_pos += d.input_frames_used;
        if (d.output_frames_gen > 0) {
            *n = (size_t)d.output_frames_gen;
            return BARK_OK;
        }
        if (r->eof) return BARK_OK; /* flushed completely */
    }
}

void bark_audio_reader_close(bark_audio_reader *r) {
    if (!r) return;
    if (r->f) sf_close(r->f);
    if (r->io.fd >= 0) close(r->io.fd);
    if (r->src) src_delete(r->src);
    free(r->inter);
    free(r->mono);
    free(r);
}
