/* clone.c: reference recording -> voice prompt (trim, keep the last seconds, EnCodec 6 kbps, HuBERT + quantizer). */
#include "clone/clone.h"

#include <float.h>
#include <math.h>
#include <samplerate.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio_file.h"
#include "core/error.h"

#define RATE 24000
#define WIN 240      /* 10 ms silence-detection windows */
#define BLOCK 4800   /* samples per read (a multiple of WIN) */
#define PAD 1200     /* 50 ms kept around the voiced span */
#define N_FINE 8     /* 6 kbps */

clone_params clone_default_params(void) {
    clone_params p = {15.0, -50.0};
    return p;
}

/* Pass 1: length, first and last voiced window, clipping; nothing is stored. */
typedef struct scan {
    size_t n, first, last_end; /* voiced span [first, last_end); last_end 0 if none */
    size_t clipped;
} scan;

static bark_status scan_file(const char *path, double thr, float *buf, scan *s, clone_info *info, bark_error *err) {
    bark_audio_reader *r = NULL;
    bark_status st = bark_audio_reader_open(path, RATE, &r, err);
    if (st) return st;
    bark_audio_reader_format(r, &info->file_rate, &info->file_channels);
    memset(s, 0, sizeof *s);
    double acc = 0.0;
    size_t in_win = 0, got = 0;
    int voiced_seen = 0;
    const double thr2 = thr * thr * WIN;
    for (;;) {
        if ((st = bark_audio_reader_read(r, buf, BLOCK, &got, err)) || got == 0) break;
        for (size_t i = 0; i < got; i++) {
            const float x = buf[i];
            if (isnan(x)) {
                st = bark_fail(err, BARK_ERR_FORMAT, "%s: the audio holds NaN samples", path);
                break;
            }
            if (fabsf(x) >= 0.999f) s->clipped++;
            acc += (double)x * x;
            if (++in_win == WIN) {
                if (acc > thr2) {
                    if (!voiced_seen) s->first = s->n + i + 1 - WIN;
                    voiced_seen = 1;
                    s->last_end = s->n + i + 1;
                }
                acc = 0.0;
                in_win = 0;
            }
        }
        if (st) break;
        s->n += got;
    }
    if (!st && in_win && acc > thr * thr * (double)in_win) { /* the last partial window */
        if (!voiced_seen) s->first = s->n - in_win;
        s->last_end = s->n;
    }
    bark_audio_reader_close(r);
    return st;
}

/* Pass 2: samples [start, start + len) into out. */
static bark_status read_span(const char *path, size_t start, size_t len, float *out, float *buf, bark_error *err) {
    bark_audio_reader *r = NULL;
    bark_status st = bark_audio_reader_open(path, RATE, &r, err);
    size_t pos = 0, have = 0, got = 0;
    while (!st && have < len) {
        if ((st = bark_audio_reader_read(r, buf, BLOCK, &got, err)) || got == 0) break;
        for (size_t i = 0; i < got && have < len; i++, pos++)
            if (pos >= start) out[have++] = buf[i];
    }
    bark_audio_reader_close(r);
    if (!st && have != len)
        st = bark_fail(err, BARK_ERR_IO, "%s: the file changed between two reads (%zu of %zu samples)", path, have, len);
    return st;
}

/* Semantic tokens: 24 kHz -> 16 kHz (libsamplerate), HuBERT, quantizer. */
static bark_status semantic_tokens(const float *x, size_t n, const hubert_model *h, const hubq_model *q,
                                   bark_voice *out, clone_info *info, bark_error *err) {
    const size_t cap = n * 2 / 3 + 64;
    float *x16 = malloc(cap * sizeof *x16), *feat = NULL;
    if (!x16) return bark_fail(err, BARK_ERR_NOMEM, "clone: out of memory for %zu samples", n);
    SRC_DATA d;
    memset(&d, 0, sizeof d);
    d.data_in = x;
    d.input_frames = (long)n;
    d.data_out = x16;
    d.output_frames = (long)cap;
    d.src_ratio = (double)HUBERT_SAMPLE_RATE / RATE;
    int e = src_simple(&d, SRC_SINC_MEDIUM_QUALITY, 1);
    bark_status st = e ? bark_fail(err, BARK_ERR_IO, "clone: resampling to 16 kHz failed: %s", src_strerror(e)) : BARK_OK;
    const size_t n16 = (size_t)d.output_frames_gen, T = st ? 0 : hubert_frames(&h->hp, n16);
    if (!st && T == 0) st = bark_fail(err, BARK_ERR_ARG, "clone: %zu samples at 16 kHz is too short for HuBERT", n16);
    if (!st && h->hp.n_embd != q->n_in)
        st = bark_fail(err, BARK_ERR_FORMAT, "clone: HuBERT gives %d features but the quantizer reads %d",
                       h->hp.n_embd, q->n_in);
    if (!st && (!(feat = malloc(T * (size_t)h->hp.n_embd * sizeof *feat)) ||
                !(out->semantic = malloc(T * sizeof *out->semantic))))
        st = bark_fail(err, BARK_ERR_NOMEM, "clone: out of memory for %zu feature frames", T);
    if (!st) st = hubert_forward(h, x16, n16, feat, err);
    if (!st) st = hubq_tokens(q, feat, T, out->semantic, &info->tokens_margin, err);
    if (!st) out->n_semantic = T;
    free(x16);
    free(feat);
    return st;
}

void clone_align_prompt(bark_voice *v) {
    size_t T = v->n_fine, N = v->n_semantic, dt = 0, dn = 0;
    if (N < 2 || T < 2) return;
    while (T - dt > 1 && (double)(T - dt) / (double)N >= 1.549) dt++;
    while (N - dn > 1 && (double)(T - dt) / (double)(N - dn) <= 1.451) dn++;
    if (dn) {
        memmove(v->semantic, v->semantic + dn, (N - dn) * sizeof *v->semantic);
        v->n_semantic = N - dn;
    }
    if (dt) {
        for (size_t r = 0; r < 8; r++) memmove(v->fine + r * (T - dt), v->fine + r * T + dt, (T - dt) * sizeof *v->fine);
        for (size_t r = 0; r < 2; r++)
            memmove(v->coarse + r * (T - dt), v->coarse + r * T + dt, (T - dt) * sizeof *v->coarse);
        v->n_fine = v->n_coarse = T - dt;
    }
}

bark_status clone_reference(const char *path, const encodec_model *codec, const hubert_model *hubert,
                            const hubq_model *q, const clone_params *p, bark_voice *out, clone_info *info,
                            bark_error *err) {
    memset(out, 0, sizeof *out);
    memset(info, 0, sizeof *info);
    if (!codec->has_encoder || encodec_n_q_for_bandwidth(codec, 6.0) != N_FINE || codec->hp.sample_rate != RATE)
        return bark_fail(err, BARK_ERR_UNSUPPORTED, "clone: the model's EnCodec has no encoder or no 8 codebooks");
    if (!(p->max_seconds >= 0.5 && p->max_seconds <= 600.0))
        return bark_fail(err, BARK_ERR_ARG, "clone: max seconds %g is outside 0.5..600", p->max_seconds);
    float *buf = malloc(BLOCK * sizeof *buf), *x = NULL;
    int32_t *codes = NULL;
    scan s;
    if (!buf) return bark_fail(err, BARK_ERR_NOMEM, "clone: out of memory");
    bark_status st = scan_file(path, pow(10.0, p->silence_dbfs / 20.0), buf, &s, info, err);
    if (!st && s.n == 0) st = bark_fail(err, BARK_ERR_FORMAT, "%s: the file holds no samples", path);
    if (!st && s.last_end == 0)
        st = bark_fail(err, BARK_ERR_FORMAT, "%s: only silence (nothing above %.0f dBFS): nothing to clone", path,
                       p->silence_dbfs);
    size_t start = 0, end = 0;
    if (!st) {
        info->file_seconds = (double)s.n / RATE;
        info->clipped_fraction = (double)s.clipped / (double)s.n;
        start = s.first > PAD ? s.first - PAD : 0;
        end = s.last_end + PAD < s.n ? s.last_end + PAD : s.n;
        const size_t keep = (size_t)(p->max_seconds * RATE);
        if (end - start > keep) {
            start = end - keep;
            info->cut = 1;
        }
        info->lead_trimmed = (double)(s.first > PAD ? s.first - PAD : 0) / RATE;
        info->tail_trimmed = (double)(s.n - end) / RATE;
        info->kept_seconds = (double)(end - start) / RATE;
        if (info->kept_seconds < 0.5)
            st = bark_fail(err, BARK_ERR_FORMAT, "%s: only %.2f s of sound: too short to clone (5-15 s of speech works "
                           "best)", path, info->kept_seconds);
        else if (!(x = malloc((end - start) * sizeof *x))) st = bark_fail(err, BARK_ERR_NOMEM, "clone: out of memory");
    }
    if (!st) st = read_span(path, start, end - start, x, buf, err);
    const size_t n = end - start, T = st ? 0 : encodec_frames(codec, n);
    if (!st && !(codes = malloc(T * N_FINE * sizeof *codes)))
        st = bark_fail(err, BARK_ERR_NOMEM, "clone: out of memory for %zu frames", T);
    if (!st) st = encodec_encode(codec, x, n, N_FINE, codes, NULL, &info->codes_margin, err);
    if (!st && !(out->coarse = malloc(2 * T * sizeof *out->coarse)))
        st = bark_fail(err, BARK_ERR_NOMEM, "clone: out of memory");
    if (!st) {
        out->fine = codes;
        codes = NULL;
        memcpy(out->coarse, out->fine, 2 * T * sizeof *out->coarse);
        out->n_fine = out->n_coarse = T;
    }
    if (!st && hubert && q) st = semantic_tokens(x, n, hubert, q, out, info, err);
    if (!st && hubert && q) clone_align_prompt(out);
    if (st) bark_voice_free(out);
    free(codes);
    free(x);
    free(buf);
    return st;
}
