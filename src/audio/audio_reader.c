/* audio_reader.c: any file libsndfile reads, in bounded blocks: mixed down to mono, resampled by libsamplerate. */
#include "audio/audio_file.h"

#include <samplerate.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define AUDIO_BLOCK 4096
#define AUDIO_MAX_CHANNELS 64

/* A file held in memory, read through libsndfile's virtual I/O. */
typedef struct mem_file {
    const uint8_t *buf;
    sf_count_t len, pos;
} mem_file;

struct bark_audio_reader {
    SNDFILE *f;
    SF_INFO info;
    SRC_STATE *src; /* NULL when the file is already at the asked rate */
    double ratio;
    float *inter;   /* [AUDIO_BLOCK * channels] */
    float *mono;    /* [AUDIO_BLOCK] */
    long mono_len, mono_pos;
    int eof;
    mem_file mem;
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
    *out = r;
    return BARK_OK;
}

bark_status bark_audio_reader_open(const char *path, int rate, bark_audio_reader **out, bark_error *err) {
    *out = NULL;
    bark_audio_reader *r = NULL;
    bark_status st = new_reader(path, rate, &r, err);
    if (st != BARK_OK) return st;
    r->f = sf_open(path, SFM_READ, &r->info);
    if (!r->f) {
        bark_fail(err, BARK_ERR_IO, "%s: cannot read audio: %s", path, sf_strerror(NULL));
        free(r);
        return BARK_ERR_IO;
    }
    return finish_open(r, rate, out, err);
}

static sf_count_t mem_size(void *user) { return ((mem_file *)user)->len; }

static sf_count_t mem_seek(sf_count_t off, int whence, void *user) {
    mem_file *m = user;
    sf_count_t base = whence == SEEK_CUR ? m->pos : whence == SEEK_END ? m->len : 0;
    if ((off > 0 && base > m->len - off) || base + off < 0) return -1;
    m->pos = base + off;
    return m->pos;
}

static sf_count_t mem_read(void *ptr, sf_count_t n, void *user) {
    mem_file *m = user;
    if (n <= 0 || m->pos >= m->len) return 0;
    if (n > m->len - m->pos) n = m->len - m->pos;
    memcpy(ptr, m->buf + m->pos, (size_t)n);
    m->pos += n;
    return n;
}

static sf_count_t mem_write(const void *ptr, sf_count_t n, void *user) { return 0; }

static sf_count_t mem_tell(void *user) { return ((mem_file *)user)->pos; }

bark_status bark_audio_reader_open_mem(const void *buf, size_t len, const char *label, int rate,
                                      bark_audio_reader **out, bark_error *err) {
    *out = NULL;
    bark_audio_reader *r = NULL;
    bark_status st = new_reader(label, rate, &r, err);
    if (st != BARK_OK) return st;
    static SF_VIRTUAL_IO io = {mem_size, mem_seek, mem_read, mem_write, mem_tell};
    r->mem.buf = buf;
    r->mem.len = (sf_count_t)len;
    r->f = len > 0 ? sf_open_virtual(&io, SFM_READ, &r->info, &r->mem) : NULL;
    if (!r->f) {
        bark_fail(err, BARK_ERR_IO, "%s: cannot read audio: %s", label, len ? sf_strerror(NULL) : "empty input");
        free(r);
        return BARK_ERR_IO;
    }
    return finish_open(r, rate, out, err);
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

bark_status bark_audio_reader_read(bark_audio_reader *r, float *out, size_t cap, size_t *n, bark_error *err) {
    *n = 0;
    if (cap == 0) return BARK_OK;
    const long want = cap > AUDIO_BLOCK ? AUDIO_BLOCK : (long)cap;
    if (!r->src) {
        *n = (size_t)read_mono(r, out, want);
        if (*n == 0 && sf_error(r->f))
            return bark_fail(err, BARK_ERR_IO, "%s: read failed: %s", r->path, sf_strerror(r->f));
        return BARK_OK;
    }
    for (;;) {
        if (r->mono_pos == r->mono_len && !r->eof) {
            r->mono_len = read_mono(r, r->mono, AUDIO_BLOCK);
            r->mono_pos = 0;
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
    if (r->src) src_delete(r->src);
    free(r->inter);
    free(r->mono);
    free(r);
}
