/* audio_file.c: audio in (libsndfile, mono mixdown, libsamplerate) and out (WAV/FLAC/OGG, float32 .npy). */
#include "audio_file.h"

#include <samplerate.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"

#define AUDIO_BLOCK 4096
#define AUDIO_MAX_CHANNELS 64

struct audio_reader {
    SNDFILE *f;
    SF_INFO info;
    SRC_STATE *src; /* NULL when the file is already at the asked rate */
    double ratio;
    float *inter;   /* [AUDIO_BLOCK * channels] */
    float *mono;    /* [AUDIO_BLOCK] */
    long mono_len, mono_pos;
    int eof;
    char path[256];
};

bark_status audio_reader_open(const char *path, int rate, audio_reader **out, bark_error *err) {
    *out = NULL;
    if (rate <= 0) return bark_fail(err, BARK_ERR_ARG, "%s: invalid target sample rate %d", path, rate);
    audio_reader *r = calloc(1, sizeof *r);
    if (!r) return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", path);
    snprintf(r->path, sizeof r->path, "%s", path);
    r->f = sf_open(path, SFM_READ, &r->info);
    if (!r->f) {
        bark_fail(err, BARK_ERR_IO, "%s: cannot read audio: %s", path, sf_strerror(NULL));
        free(r);
        return BARK_ERR_IO;
    }
    if (r->info.channels < 1 || r->info.channels > AUDIO_MAX_CHANNELS || r->info.samplerate <= 0) {
        bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: %d channels at %d Hz is not supported", path, r->info.channels,
                  r->info.samplerate);
        audio_reader_close(r);
        return BARK_ERR_UNSUPPORTED;
    }
    r->inter = malloc((size_t)AUDIO_BLOCK * r->info.channels * sizeof *r->inter);
    r->mono = malloc(AUDIO_BLOCK * sizeof *r->mono);
    if (!r->inter || !r->mono) {
        audio_reader_close(r);
        return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", path);
    }
    if (r->info.samplerate != rate) {
        int e = 0;
        r->src = src_new(SRC_SINC_MEDIUM_QUALITY, 1, &e);
        r->ratio = (double)rate / r->info.samplerate;
        if (!r->src || src_is_valid_ratio(r->ratio) == 0) {
            bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: cannot resample %d Hz to %d Hz: %s", path, r->info.samplerate,
                      rate, src_strerror(e));
            audio_reader_close(r);
            return BARK_ERR_UNSUPPORTED;
        }
    }
    *out = r;
    return BARK_OK;
}

void audio_reader_format(const audio_reader *r, int *rate, int *channels) {
    *rate = r->info.samplerate;
    *channels = r->info.channels;
}

/* Reads up to cap (<= AUDIO_BLOCK) frames from the file and mixes them to mono; returns the count. */
static long read_mono(audio_reader *r, float *out, long cap) {
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

bark_status audio_reader_read(audio_reader *r, float *out, size_t cap, size_t *n, bark_error *err) {
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

void audio_reader_close(audio_reader *r) {
    if (!r) return;
    if (r->f) sf_close(r->f);
    if (r->src) src_delete(r->src);
    free(r->inter);
    free(r->mono);
    free(r);
}

/* ---- writing ---- */

struct audio_writer {
    SNDFILE *f;
    FILE *npy;
    size_t n_total, written;
    bark_status st;
    char path[256];
};

static int ends_with(const char *s, const char *ext) {
    size_t a = strlen(s), b = strlen(ext);
    return a >= b && !strcasecmp(s + a - b, ext);
}

/* The .npy header for a C-order array, padded so the data starts at a multiple of 64 bytes. */
static int npy_header(FILE *f, int is_int, const size_t *shape, int n_dims) {
    char dict[256], dims[128] = "";
    int o = 0;
    for (int i = 0; i < n_dims; i++)
        o += snprintf(dims + o, sizeof dims - (size_t)o, "%zu%s", shape[i], n_dims == 1 ? "," : i + 1 < n_dims ? ", " : "");
    int len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
                       is_int ? "<i4" : "<f4", dims);
    int total = 10 + len + 1, pad = (64 - total % 64) % 64;
    unsigned hl = (unsigned)(len + pad + 1);
    unsigned char head[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hl & 0xff), (unsigned char)(hl >> 8)};
    if (fwrite(head, 1, 10, f) != 10 || fwrite(dict, 1, (size_t)len, f) != (size_t)len) return -1;
    for (int i = 0; i < pad; i++)
        if (fputc(' ', f) == EOF) return -1;
    return fputc('\n', f) == EOF ? -1 : 0;
}

/* Writes n 32-bit values little-endian regardless of the host. */
static int write_le32(FILE *f, const void *data, size_t n) {
    const uint32_t *v = data;
    unsigned char buf[1024];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u = v[i];
        buf[k++] = (unsigned char)u;
        buf[k++] = (unsigned char)(u >> 8);
        buf[k++] = (unsigned char)(u >> 16);
        buf[k++] = (unsigned char)(u >> 24);
        if (k == sizeof buf || i + 1 == n) {
            if (fwrite(buf, 1, k, f) != k) return -1;
            k = 0;
        }
    }
    return 0;
}

bark_status npy_write(const char *path, int is_int, const size_t *shape, int n_dims, const void *data, bark_error *err) {
    FILE *f = fopen(path, "wb");
    if (!f) return bark_fail(err, BARK_ERR_IO, "%s: cannot create", path);
    size_t n = 1;
    for (int i = 0; i < n_dims; i++) n *= shape[i];
    int bad = npy_header(f, is_int, shape, n_dims) || write_le32(f, data, n);
    bad |= fclose(f) != 0;
    if (bad) {
        remove(path);
        return bark_fail(err, BARK_ERR_IO, "%s: write failed", path);
    }
    return BARK_OK;
}

bark_status audio_writer_open(const char *path, int rate, size_t n_total, audio_writer **out, bark_error *err) {
    *out = NULL;
    audio_writer *w = calloc(1, sizeof *w);
    if (!w) return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", path);
    snprintf(w->path, sizeof w->path, "%s", path);
    w->n_total = n_total;
    if (ends_with(path, ".npy")) {
        w->npy = fopen(path, "wb");
        if (!w->npy || npy_header(w->npy, 0, &n_total, 1)) {
            if (w->npy) fclose(w->npy);
            free(w);
            return bark_fail(err, BARK_ERR_IO, "%s: cannot create", path);
        }
        *out = w;
        return BARK_OK;
    }
    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.samplerate = rate;
    info.channels = 1;
    if (ends_with(path, ".wav"))
        info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    else if (ends_with(path, ".flac"))
        info.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
    else if (ends_with(path, ".ogg"))
        info.format = SF_FORMAT_OGG | SF_FORMAT_VORBIS;
    else {
        free(w);
        return bark_fail(err, BARK_ERR_ARG, "%s: unknown output format (use .wav, .flac, .ogg or .npy)", path);
    }
    w->f = sf_open(path, SFM_WRITE, &info);
    if (!w->f) {
        free(w);
        return bark_fail(err, BARK_ERR_IO, "%s: cannot create: %s", path, sf_strerror(NULL));
    }
    sf_command(w->f, SFC_SET_CLIPPING, NULL, SF_TRUE);
    *out = w;
    return BARK_OK;
}

bark_status audio_writer_write(audio_writer *w, const float *x, size_t n, bark_error *err) {
    if (w->st != BARK_OK) return bark_fail(err, w->st, "%s: an earlier write failed", w->path);
    if (w->npy) {
        if (n > w->n_total - w->written) {
            w->st = BARK_ERR_ARG;
            return bark_fail(err, BARK_ERR_ARG, "%s: more samples than the %zu announced", w->path, w->n_total);
        }
        if (write_le32(w->npy, x, n)) {
            w->st = BARK_ERR_IO;
            return bark_fail(err, BARK_ERR_IO, "%s: write failed", w->path);
        }
    } else if (sf_writef_float(w->f, x, (sf_count_t)n) != (sf_count_t)n) {
        w->st = BARK_ERR_IO;
        return bark_fail(err, BARK_ERR_IO, "%s: write failed: %s", w->path, sf_strerror(w->f));
    }
    w->written += n;
    return BARK_OK;
}

bark_status audio_writer_close(audio_writer *w, bark_error *err) {
    if (!w) return BARK_OK;
    bark_status st = w->st;
    if (w->npy) {
        if (fclose(w->npy) != 0 && st == BARK_OK) st = bark_fail(err, BARK_ERR_IO, "%s: write failed", w->path);
        if (st == BARK_OK && w->written != w->n_total)
            st = bark_fail(err, BARK_ERR_ARG, "%s: %zu samples written, %zu announced", w->path, w->written, w->n_total);
    } else if (sf_close(w->f) != 0 && st == BARK_OK) {
        st = bark_fail(err, BARK_ERR_IO, "%s: closing failed", w->path);
    }
    if (st != BARK_OK && w->st != BARK_OK) bark_fail(err, st, "%s: the file is incomplete", w->path);
    if (st != BARK_OK) remove(w->path);
    free(w);
    return st;
}
