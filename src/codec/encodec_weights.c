/* encodec_weights.c: EnCodec hyper-parameters, the tensor table, weight layout and the deterministic random weights. */
#include "codec/encodec_ops.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/gguf_keys.h"

encodec_hparams encodec_hparams_24khz(void) {
    encodec_hparams hp = {
        .sample_rate = 24000, .channels = 1, .n_filters = 32, .dimension = 128,
        .n_ratios = 4, .ratios = {8, 5, 4, 2},
        .kernel_size = 7, .last_kernel_size = 7, .residual_kernel_size = 3,
        .n_residual_layers = 1, .lstm_layers = 2, .compress = 2,
        .codebook_size = 1024, .n_q = 32,
    };
    return hp;
}

/* Bounds that keep every size computed from the hyper-parameters far from int overflow. */
#define MAX_WIDTH 4096  /* n_filters * 2^n_ratios (the LSTM width) and dimension */
#define MAX_KERNEL 64
#define MAX_RATIO 64
#define MAX_HOP 16384

bark_status encodec_hparams_check(const encodec_hparams *hp, bark_error *err) {
    const encodec_hparams ref = encodec_hparams_24khz();
    struct { const char *key; int got, want; } f[] = {
        {KEY_ENCODEC("sample_rate"), hp->sample_rate, ref.sample_rate},
        {KEY_ENCODEC("channels"), hp->channels, ref.channels},
        {KEY_ENCODEC("n_residual_layers"), hp->n_residual_layers, ref.n_residual_layers},
        {KEY_ENCODEC("lstm_layers"), hp->lstm_layers, ref.lstm_layers},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].got != f[i].want)
            return bark_fail(err, BARK_ERR_UNSUPPORTED, "encodec: %s = %d is not supported (only %d, the 24 kHz family)",
                             f[i].key, f[i].got, f[i].want);
    struct { const char *key; int v, lo, hi; } r[] = {
        {KEY_ENCODEC("n_filters"), hp->n_filters, 1, MAX_WIDTH},
        {KEY_ENCODEC("dimension"), hp->dimension, 1, MAX_WIDTH},
        {KEY_ENCODEC("kernel_size"), hp->kernel_size, 1, MAX_KERNEL},
        {KEY_ENCODEC("last_kernel_size"), hp->last_kernel_size, 1, MAX_KERNEL},
        {KEY_ENCODEC("residual_kernel_size"), hp->residual_kernel_size, 1, MAX_KERNEL},
        {KEY_ENCODEC("compress"), hp->compress, 1, hp->n_filters},
        {KEY_ENCODEC("codebook_size"), hp->codebook_size, 2, 65536},
        {KEY_ENCODEC("n_q"), hp->n_q, 1, ENCODEC_MAX_Q},
    };
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        if (r[i].v < r[i].lo || r[i].v > r[i].hi)
            return bark_fail(err, BARK_ERR_UNSUPPORTED, "encodec: %s = %d is out of range %d..%d", r[i].key, r[i].v,
                             r[i].lo, r[i].hi);
    if (hp->n_ratios < 1 || hp->n_ratios > ENCODEC_MAX_RATIOS)
        return bark_fail(err, BARK_ERR_UNSUPPORTED, "encodec: " KEY_ENCODEC("ratios") " has %d values, 1..%d are "
                         "supported", hp->n_ratios, ENCODEC_MAX_RATIOS);
    int64_t hop = 1, width = hp->n_filters;
    for (int i = 0; i < hp->n_ratios; i++) {
        if (hp->ratios[i] < 1 || hp->ratios[i] > MAX_RATIO)
            return bark_fail(err, BARK_ERR_UNSUPPORTED, "encodec: " KEY_ENCODEC("ratios") "[%d] = %d is out of range "
                             "1..%d", i, hp->ratios[i], MAX_RATIO);
        hop *= hp->ratios[i];
        width *= 2;
        if (hop > MAX_HOP)
            return bark_fail(err, BARK_ERR_UNSUPPORTED, "encodec: " KEY_ENCODEC("ratios") " multiply to more than %d "
                             "samples per frame", MAX_HOP);
        if (width > MAX_WIDTH)
            return bark_fail(err, BARK_ERR_UNSUPPORTED, "encodec: n_filters %d x 2^%d is wider than %d channels",
                             hp->n_filters, hp->n_ratios, MAX_WIDTH);
    }
    /* the streaming decoder pads each stage's first frame on its own: it must hold a whole kernel */
    if (hp->ratios[0] < hp->residual_kernel_size)
        return bark_fail(err, BARK_ERR_UNSUPPORTED, "encodec: " KEY_ENCODEC("ratios") "[0] = %d is smaller than the "
                         "residual kernel %d (not supported)", hp->ratios[0], hp->residual_kernel_size);
    if (hop < hp->last_kernel_size)
        return bark_fail(err, BARK_ERR_UNSUPPORTED, "encodec: %lld samples per frame is fewer than the last kernel %d "
                         "(not supported)", (long long)hop, hp->last_kernel_size);
    return BARK_OK;
}

/* ---- the tensor table ---- */

typedef struct tlist {
    encodec_tref *refs; /* NULL while counting */
    int n;
} tlist;

static encodec_tref *add(tlist *t, encodec_tkind kind, int encoder, float *dst, float scale, int64_t a, int64_t b,
                         int64_t c, const char *fmt, ...) BARK_PRINTF(9, 10);

static encodec_tref *add(tlist *t, encodec_tkind kind, int encoder, float *dst, float scale, int64_t a, int64_t b,
                         int64_t c, const char *fmt, ...) {
    encodec_tref *r = t->refs ? &t->refs[t->n] : NULL;
    t->n++;
    if (!r) return NULL;
    memset(r, 0, sizeof *r);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->name, sizeof r->name, fmt, ap);
    va_end(ap);
    r->kind = kind;
    r->encoder = encoder;
    r->dst = dst;
    r->scale = scale;
    r->shape[0] = a;
    r->shape[1] = b;
    r->shape[2] = c;
    r->n_dims = c ? 3 : b ? 2 : 1;
    return r;
}

static float inv_sqrt(double fan) { return (float)(1.0 / sqrt(fan)); }

static void add_conv(tlist *t, int enc, const encodec_conv *c, const char *prefix) {
    float ws = (float)sqrt(3.0 / ((double)c->cin * c->k));
    add(t, ENCODEC_T_CONV, enc, c->w, ws, c->cout, c->cin, c->k, "%s.weight", prefix);
    add(t, ENCODEC_T_VEC, enc, c->b, 0.05f, c->cout, 0, 0, "%s.bias", prefix);
}

static void add_convtr(tlist *t, const encodec_conv *c, const char *prefix) {
    float ws = (float)sqrt(3.0 / (2.0 * c->cin));
    add(t, ENCODEC_T_CONVTR, 0, c->w, ws, c->cin, c->cout, c->k, "%s.weight", prefix);
    add(t, ENCODEC_T_VEC, 0, c->b, 0.05f, c->cout, 0, 0, "%s.bias", prefix);
}

static void add_res(tlist *t, int enc, const encodec_resunit *u, const char *prefix) {
    char name[64];
    snprintf(name, sizeof name, "%s.block1", prefix);
    add_conv(t, enc, &u->block1, name);
    snprintf(name, sizeof name, "%s.block3", prefix);
    add_conv(t, enc, &u->block3, name);
    snprintf(name, sizeof name, "%s.shortcut", prefix);
    add_conv(t, enc, &u->shortcut, name);
}

static void add_lstm(tlist *t, int enc, const encodec_lstm *l, const char *prefix) {
    float s = inv_sqrt(l->dim);
    for (int i = 0; i < 2; i++) {
        add(t, ENCODEC_T_LSTM, enc, l->w_ih[i], s, 4 * l->dim, l->dim, 0, "%s.weight_ih_l%d", prefix, i);
        add(t, ENCODEC_T_LSTM, enc, l->w_hh[i], s, 4 * l->dim, l->dim, 0, "%s.weight_hh_l%d", prefix, i);
        add(t, ENCODEC_T_VEC, enc, l->bias[i], s, 4 * l->dim, 0, 0, "%s.bias_ih_l%d", prefix, i);
        encodec_tref *r = add(t, ENCODEC_T_VEC, enc, l->bias[i], s, 4 * l->dim, 0, 0, "%s.bias_hh_l%d", prefix, i);
        if (r) r->accumulate = 1;
    }
}

static int build_list(const encodec_model *m, encodec_tref *refs) {
    tlist t = {refs, 0};
    char p[64];
    add_conv(&t, 1, &m->enc_in, "encodec.encoder.0");
    const int nr = m->hp.n_ratios;
    for (int i = 0; i < nr; i++) {
        snprintf(p, sizeof p, "encodec.encoder.%d", 1 + 3 * i);
        add_res(&t, 1, &m->enc_res[i], p);
        snprintf(p, sizeof p, "encodec.encoder.%d", 3 + 3 * i);
        add_conv(&t, 1, &m->enc_down[i], p);
    }
    snprintf(p, sizeof p, "encodec.encoder.%d.lstm", 1 + 3 * nr);
    add_lstm(&t, 1, &m->enc_lstm, p);
    snprintf(p, sizeof p, "encodec.encoder.%d", 3 + 3 * nr);
    add_conv(&t, 1, &m->enc_out, p);

    add_conv(&t, 0, &m->dec_in, "encodec.decoder.0");
    add_lstm(&t, 0, &m->dec_lstm, "encodec.decoder.1.lstm");
    for (int i = 0; i < nr; i++) {
        snprintf(p, sizeof p, "encodec.decoder.%d", 3 + 3 * i);
        add_convtr(&t, &m->dec_up[i], p);
        snprintf(p, sizeof p, "encodec.decoder.%d", 4 + 3 * i);
        add_res(&t, 0, &m->dec_res[i], p);
    }
    snprintf(p, sizeof p, "encodec.decoder.%d", 3 + 3 * nr);
    add_conv(&t, 0, &m->dec_out, p);

    const int64_t D = m->hp.dimension, B = m->hp.codebook_size;
    for (int q = 0; q < m->hp.n_q; q++)
        add(&t, ENCODEC_T_MAT, 0, m->codebooks ? m->codebooks + (size_t)q * B * D : NULL, 1.0f, B, D, 0,
            "encodec.quantizer.%d.embed", q);
    return t.n;
}

int encodec_tensor_count(const encodec_hparams *hp) {
    encodec_model m;
    memset(&m, 0, sizeof m);
    m.hp = *hp;
    return build_list(&m, NULL);
}

void encodec_tensor_list(const encodec_model *m, encodec_tref *refs) { build_list(m, refs); }

int64_t encodec_tref_numel(const encodec_tref *r) {
    int64_t n = 1;
    for (int i = 0; i < r->n_dims; i++) n *= r->shape[i];
    return n;
}

/* ---- layout ---- */

typedef struct arena {
    float *base; /* NULL while sizing */
    size_t used;
} arena;

static float *take(arena *a, size_t n) {
    float *p = a->base ? a->base + a->used : NULL;
    a->used += n;
    return p;
}

/* A conv's weights as GEMM panels: k * cin rows of cout columns; a transposed conv's (tr, k = 2 * stride):
 * 2 * cin rows of stride * cout. */
static void conv_layout(arena *a, encodec_conv *c, int cin, int cout, int k, int stride, int tr) {
    c->cin = cin;
    c->cout = cout;
    c->k = k;
    c->stride = stride;
    c->w = take(a, tr ? encodec_panel_floats(2 * (int64_t)cin, (int64_t)stride * cout)
                      : encodec_panel_floats((int64_t)k * cin, cout));
    c->b = take(a, (size_t)cout);
}

static void res_layout(arena *a, encodec_resunit *u, int dim, int hidden, int k) {
    conv_layout(a, &u->block1, dim, hidden, k, 1, 0);
    conv_layout(a, &u->block3, hidden, dim, 1, 1, 0);
    conv_layout(a, &u->shortcut, dim, dim, 1, 1, 0);
}

static void lstm_layout(arena *a, encodec_lstm *l, int dim) {
    l->dim = dim;
    for (int i = 0; i < 2; i++) {
        l->w_ih[i] = take(a, encodec_panel_floats(dim, 4 * dim));
        l->w_hh[i] = take(a, encodec_panel_floats(dim, 4 * dim));
        l->bias[i] = take(a, (size_t)4 * dim);
    }
}

static size_t layout(encodec_model *m, int with_encoder, float *base) {
    arena a = {base, 0};
    const encodec_hparams *hp = &m->hp;
    const int nf = hp->n_filters, rk = hp->residual_kernel_size, nr = hp->n_ratios;
    int top = nf;
    for (int i = 0; i < nr; i++) top *= 2;
    if (with_encoder) {
        conv_layout(&a, &m->enc_in, hp->channels, nf, hp->kernel_size, 1, 0);
        int c = nf;
        for (int i = 0; i < nr; i++) {
            int r = hp->ratios[nr - 1 - i];
            res_layout(&a, &m->enc_res[i], c, c / hp->compress, rk);
            conv_layout(&a, &m->enc_down[i], c, 2 * c, 2 * r, r, 0);
            c *= 2;
        }
        lstm_layout(&a, &m->enc_lstm, top);
        conv_layout(&a, &m->enc_out, top, hp->dimension, hp->last_kernel_size, 1, 0);
    }
    conv_layout(&a, &m->dec_in, hp->dimension, top, hp->kernel_size, 1, 0);
    lstm_layout(&a, &m->dec_lstm, top);
    int c = top;
    for (int i = 0; i < nr; i++) {
        int r = hp->ratios[i];
        conv_layout(&a, &m->dec_up[i], c, c / 2, 2 * r, r, 1);
        c /= 2;
        res_layout(&a, &m->dec_res[i], c, c / hp->compress, rk);
    }
    conv_layout(&a, &m->dec_out, c, hp->channels, hp->last_kernel_size, 1, 0);
    m->codebooks = take(&a, (size_t)hp->n_q * hp->codebook_size * hp->dimension);
    m->codebook_sq = take(&a, (size_t)hp->n_q * hp->codebook_size);
    return a.used;
}

bark_status encodec_alloc(encodec_model *m, const encodec_hparams *hp, int with_encoder, bark_error *err) {
    memset(m, 0, sizeof *m);
    bark_status st = encodec_hparams_check(hp, err);
    if (st != BARK_OK) return st;
    m->hp = *hp;
    m->hop = 1;
    for (int i = 0; i < hp->n_ratios; i++) m->hop *= hp->ratios[i];
    size_t n = layout(m, with_encoder, NULL);
    float *mem = calloc(n, sizeof *mem);
    if (!mem) return bark_fail(err, BARK_ERR_NOMEM, "encodec: cannot allocate %zu weights", n);
    layout(m, with_encoder, mem);
    m->mem = mem;
    m->has_encoder = with_encoder;
    return BARK_OK;
}

void encodec_free(encodec_model *m) {
    if (!m) return;
    free(m->mem);
    memset(m, 0, sizeof *m);
}

void encodec_store(const encodec_tref *r, const float *src) {
    const int64_t n = encodec_tref_numel(r);
    switch (r->kind) {
    case ENCODEC_T_CONV: { /* [cout][cin][k] -> panels of [k][cin][cout] */
        const int64_t co = r->shape[0], ci = r->shape[1], k = r->shape[2];
        for (int64_t o = 0; o < co; o++)
            for (int64_t i = 0; i < ci; i++)
                for (int64_t j = 0; j < k; j++) r->dst[encodec_panel_at(k * ci, j * ci + i, o)] = src[(o * ci + i) * k + j];
        break;
    }
    case ENCODEC_T_CONVTR: { /* [cin][cout][2S] -> panels of [2][cin][S][cout], taps S.. first */
        const int64_t ci = r->shape[0], co = r->shape[1], k = r->shape[2], S = k / 2;
        for (int64_t i = 0; i < ci; i++)
            for (int64_t o = 0; o < co; o++)
                for (int64_t j = 0; j < k; j++) {
                    const int64_t row = j >= S ? i : ci + i, col = (j % S) * co + o;
                    r->dst[encodec_panel_at(2 * ci, row, col)] = src[(i * co + o) * k + j];
                }
        break;
    }
    case ENCODEC_T_LSTM: { /* [rows][cols] -> panels of [cols][rows] */
        const int64_t rows = r->shape[0], cols = r->shape[1];
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < cols; j++) r->dst[encodec_panel_at(cols, j, i)] = src[i * cols + j];
        break;
    }
    case ENCODEC_T_VEC:
    case ENCODEC_T_MAT:
        if (r->accumulate)
            for (int64_t i = 0; i < n; i++) r->dst[i] += src[i];
        else
            memcpy(r->dst, src, (size_t)n * sizeof *src);
        break;
    }
}

void encodec_finish_codebooks(encodec_model *m) {
    const int D = m->hp.dimension;
    const size_t rows = (size_t)m->hp.n_q * m->hp.codebook_size;
    for (size_t j = 0; j < rows; j++) {
        const float *e = m->codebooks + j * D;
        float s = 0.0f;
        for (int d = 0; d < D; d++) s += e[d] * e[d];
        m->codebook_sq[j] = s;
    }
}

/* ---- deterministic random weights ---- */

static uint64_t mix64(uint64_t x) {
    uint64_t z = x + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t fnv1a64(const char *s) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
    return h;
}

float encodec_random_scale(const encodec_hparams *hp, const char *name) {
    encodec_model m;
    memset(&m, 0, sizeof m);
    m.hp = *hp;
    layout(&m, 1, NULL);
    int n = build_list(&m, NULL);
    encodec_tref *refs = malloc((size_t)n * sizeof *refs);
    if (!refs) return 0.0f;
    build_list(&m, refs);
    float s = 0.0f;
    for (int i = 0; i < n; i++)
        if (!strcmp(refs[i].name, name)) s = refs[i].scale;
    free(refs);
    return s;
}

bark_status encodec_init_random(encodec_model *out, const encodec_hparams *hp, uint64_t seed, bark_error *err) {
    bark_status st = encodec_alloc(out, hp, 1, err);
    if (st != BARK_OK) return st;
    int n = encodec_tensor_count(hp);
    encodec_tref *refs = malloc((size_t)n * sizeof *refs);
    int64_t maxn = 0;
    if (refs) {
        encodec_tensor_list(out, refs);
        for (int i = 0; i < n; i++)
            if (encodec_tref_numel(&refs[i]) > maxn) maxn = encodec_tref_numel(&refs[i]);
    }
    float *tmp = refs ? malloc((size_t)maxn * sizeof *tmp) : NULL;
    if (!tmp) {
        free(refs);
        encodec_free(out);
        return bark_fail(err, BARK_ERR_NOMEM, "encodec: out of memory for random weights");
    }
    for (int i = 0; i < n; i++) {
        const encodec_tref *r = &refs[i];
        const uint64_t base = mix64(seed ^ fnv1a64(r->name));
        const int64_t cnt = encodec_tref_numel(r);
        for (int64_t e = 0; e < cnt; e++) {
            uint64_t u = mix64(base + (uint64_t)e);
            float v = (float)((double)(int64_t)(u >> 40) * (1.0 / 8388608.0) - 1.0);
            tmp[e] = v * r->scale;
        }
        encodec_store(r, tmp);
    }
    free(tmp);
    free(refs);
    encodec_finish_codebooks(out);
    return BARK_OK;
}
