/* hubert.c: HuBERT's forward pass: conv feature encoder, feature projection, positional conv, post-LN layers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "clone/hubert.h"
#include "clone/hubert_ops.h"

size_t hubert_frames(const hubert_hparams *hp, size_t n) {
    for (int i = 0; i < hp->n_conv; i++) {
        if (n < (size_t)hp->conv_kernel[i]) return 0;
        n = (n - (size_t)hp->conv_kernel[i]) / (size_t)hp->conv_stride[i] + 1;
    }
    return n;
}

#define CONV_CHUNK 256 /* conv-1 output rows made per chunk, so conv 0's long output is never stored whole */

/* Scratch of one forward pass, allocated together. */
typedef struct hb_run {
    float *a, *b;                 /* conv activations, time-major: b [T1][conv_dim], a [T2][conv_dim] */
    float *chunk;                 /* conv-0 rows feeding one chunk of conv 1 */
    double *stat;                 /* [2][conv_dim]: conv-0 sums, then its per-channel scale and shift */
    float *x, *q, *k, *v, *ctx;   /* [T][C] */
    float *ff;                    /* [T][F] */
    float *att;                   /* [T] */
    float *xg;                    /* [T + K][C/groups]: one group of the padded input of the positional conv */
    float *row;                   /* one expanded weight row */
} hb_run;

static void run_free(hb_run *r) {
    float *p[] = {r->a, r->b, r->chunk, r->x, r->q, r->k, r->v, r->ctx, r->ff, r->att, r->xg, r->row};
    for (size_t i = 0; i < sizeof p / sizeof *p; i++) free(p[i]);
    free(r->stat);
}

/* Rows [a, a + rows) of conv 0 (one input channel) into dst[rows][D], before its norm. */
static void conv0_rows(const hubert_model *h, hb_run *r, const float *x, size_t a, size_t rows, float *dst) {
    const size_t s0 = (size_t)h->hp.conv_stride[0];
    hb_linear(dst, (size_t)h->hp.conv_dim, x + a * s0, s0, rows, &h->conv_w[0], &h->conv_b[0], r->row);
}

/* GroupNorm with one group per channel (eps 1e-5), as the per-channel scale and shift of r->stat, then GELU. */
static void norm_gelu(const hb_run *r, float *a, size_t rows, size_t D) {
    for (size_t t = 0; t < rows; t++)
        for (size_t c = 0; c < D; c++) a[t * D + c] = hb_gelu(a[t * D + c] * (float)r->stat[c] + (float)r->stat[D + c]);
}

static void gelu_rows(float *a, size_t n) {
    for (size_t i = 0; i < n; i++) a[i] = hb_gelu(a[i]);
}

/* The convolutional feature encoder; returns its output [T][conv_dim] (r->a or r->b). Conv 0's output, the
 * longest, is made twice in chunks: once for the norm's statistics, once to feed conv 1. */
static float *feature_encoder(const hubert_model *h, hb_run *r, const float *x, size_t T0, size_t chunk_rows) {
    const hubert_hparams *hp = &h->hp;
    const size_t D = (size_t)hp->conv_dim;
    double *sum = r->stat, *sq = r->stat + D;
    memset(r->stat, 0, 2 * D * sizeof *r->stat);
    for (size_t a = 0; a < T0; a += chunk_rows) {
        const size_t rows = T0 - a < chunk_rows ? T0 - a : chunk_rows;
        conv0_rows(h, r, x, a, rows, r->chunk);
        for (size_t t = 0; t < rows; t++)
            for (size_t c = 0; c < D; c++) {
                const double v = r->chunk[t * D + c];
                sum[c] += v;
                sq[c] += v * v;
            }
    }
    for (size_t c = 0; c < D; c++) {
        const double mean = sum[c] / (double)T0, var = fmax(sq[c] / (double)T0 - mean * mean, 0.0);
        const double scale = hb_vec(&h->gn_w, c) / sqrt(var + 1e-5);
        sum[c] = scale;
        sq[c] = hb_vec(&h->gn_b, c) - mean * scale;
    }
    if (hp->n_conv == 1) {
        conv0_rows(h, r, x, 0, T0, r->b);
        norm_gelu(r, r->b, T0, D);
        return r->b;
    }
    const size_t s1 = (size_t)hp->conv_stride[1], k1 = (size_t)hp->conv_kernel[1];
    const size_t T1 = (T0 - k1) / s1 + 1;
    for (size_t c = 0; c < T1; c += CONV_CHUNK) {
        const size_t m = T1 - c < CONV_CHUNK ? T1 - c : CONV_CHUNK, rows = (m - 1) * s1 + k1;
        conv0_rows(h, r, x, c * s1, rows, r->chunk);
        norm_gelu(r, r->chunk, rows, D);
        hb_linear(r->b + c * D, D, r->chunk, s1 * D, m, &h->conv_w[1], &h->conv_b[1], r->row);
        gelu_rows(r->b + c * D, m * D);
    }
    float *cur = r->b, *nxt = r->a;
    size_t Tc = T1;
    for (int i = 2; i < hp->n_conv; i++) {
        const size_t Tn = (Tc - (size_t)hp->conv_kernel[i]) / (size_t)hp->conv_stride[i] + 1;
        hb_linear(nxt, D, cur, (size_t)hp->conv_stride[i] * D, Tn, &h->conv_w[i], &h->conv_b[i], r->row);
        gelu_rows(nxt, Tn * D);
        float *t = cur;
        cur = nxt;
        nxt = t;
        Tc = Tn;
    }
    return cur;
}

/* x += GELU(grouped conv of x, kernel K, padding K/2, last output dropped). */
static void pos_conv(const hubert_model *h, hb_run *r, size_t T) {
    const size_t C = (size_t)h->hp.n_embd, G = (size_t)h->hp.pos_groups, cg = C / G, K = (size_t)h->hp.pos_kernel;
    const size_t pad = K / 2, row_bytes = h->pos_w.nbytes / C;
    float *p = r->q;
    for (size_t g = 0; g < G; g++) {
        for (size_t tp = 0; tp < T + K; tp++) {
            float *dst = r->xg + tp * cg;
            if (tp < pad || tp - pad >= T) memset(dst, 0, cg * sizeof *dst);
            else memcpy(dst, r->x + (tp - pad) * C + g * cg, cg * sizeof *dst);
        }
        bark_tensor w = h->pos_w;
        w.data = (const uint8_t *)h->pos_w.data + g * cg * row_bytes;
        w.ne[2] = (int64_t)cg;
        w.nbytes = cg * row_bytes;
        hb_linear(p + g * cg, C, r->xg, cg, T, &w, NULL, r->row);
    }
    for (size_t t = 0; t < T; t++)
        for (size_t c = 0; c < C; c++) r->x[t * C + c] += hb_gelu(p[t * C + c] + hb_vec(&h->pos_b, c));
}

/* Bidirectional multi-head attention of q against k, v (all [T][C]) into ctx. */
static void attention(const hubert_hparams *hp, hb_run *r, size_t T) {
    const size_t C = (size_t)hp->n_embd, hd = C / (size_t)hp->n_head;
    const float scale = (float)(1.0 / sqrt((double)hd));
    for (int hh = 0; hh < hp->n_head; hh++) {
        const size_t off = (size_t)hh * hd;
        for (size_t t = 0; t < T; t++) {
            const float *q = r->q + t * C + off;
            float mx = -INFINITY;
            for (size_t s = 0; s < T; s++) {
                r->att[s] = hb_dot(q, r->k + s * C + off, hd) * scale;
                if (r->att[s] > mx) mx = r->att[s];
            }
            float sum = 0.0f;
            for (size_t s = 0; s < T; s++) sum += r->att[s] = expf(r->att[s] - mx);
            float *o = r->ctx + t * C + off;
            memset(o, 0, hd * sizeof *o);
            for (size_t s = 0; s < T; s++) {
                const float a = r->att[s] / sum, *v = r->v + s * C + off;
                for (size_t i = 0; i < hd; i++) o[i] += a * v[i];
            }
        }
    }
}

static void layer_forward(const hubert_model *h, const hubert_layer *l, hb_run *r, size_t T) {
    const size_t C = (size_t)h->hp.n_embd, F = (size_t)h->hp.n_ff;
    hb_linear(r->q, C, r->x, C, T, &l->q_w, &l->q_b, r->row);
    hb_linear(r->k, C, r->x, C, T, &l->k_w, &l->k_b, r->row);
    hb_linear(r->v, C, r->x, C, T, &l->v_w, &l->v_b, r->row);
    attention(&h->hp, r, T);
    hb_linear(r->q, C, r->ctx, C, T, &l->o_w, &l->o_b, r->row);
    for (size_t i = 0; i < T * C; i++) r->x[i] += r->q[i];
    hb_layernorm(r->x, T, C, &l->ln1_w, &l->ln1_b);
    hb_linear(r->ff, F, r->x, C, T, &l->up_w, &l->up_b, r->row);
    for (size_t i = 0; i < T * F; i++) r->ff[i] = hb_gelu(r->ff[i]);
    hb_linear(r->q, C, r->ff, F, T, &l->down_w, &l->down_b, r->row);
    for (size_t i = 0; i < T * C; i++) r->x[i] += r->q[i];
    hb_layernorm(r->x, T, C, &l->ln2_w, &l->ln2_b);
}

bark_status hubert_forward(const hubert_model *h, const float *x, size_t n, float *out, bark_error *err) {
    const hubert_hparams *hp = &h->hp;
    const size_t T = hubert_frames(hp, n);
    if (T == 0) return bark_fail(err, BARK_ERR_ARG, "hubert: %zu samples is too short (one frame needs 400)", n);
    const size_t D = (size_t)hp->conv_dim, C = (size_t)hp->n_embd, F = (size_t)hp->n_ff;
    const size_t K = (size_t)hp->pos_kernel, cg = C / (size_t)hp->pos_groups;
    const size_t T0 = (n - (size_t)hp->conv_kernel[0]) / (size_t)hp->conv_stride[0] + 1;
    size_t T1 = T0, T2 = 1, chunk_rows = CONV_CHUNK;
    if (hp->n_conv > 1) {
        T1 = (T0 - (size_t)hp->conv_kernel[1]) / (size_t)hp->conv_stride[1] + 1;
        chunk_rows = (CONV_CHUNK - 1) * (size_t)hp->conv_stride[1] + (size_t)hp->conv_kernel[1];
    }
    if (hp->n_conv > 2) T2 = (T1 - (size_t)hp->conv_kernel[2]) / (size_t)hp->conv_stride[2] + 1;
    size_t row = K * cg;
    for (int i = 0; i < hp->n_conv; i++) row = row > (size_t)hp->conv_kernel[i] * D ? row : (size_t)hp->conv_kernel[i] * D;
    row = row > F ? row : F;
    row = row > D ? row : D;
    hb_run r;
    memset(&r, 0, sizeof r);
    r.a = malloc(T2 * D * sizeof(float));
    r.b = malloc(T1 * D * sizeof(float));
    r.chunk = malloc(chunk_rows * D * sizeof(float));
    r.stat = malloc(2 * D * sizeof(double));
    r.x = malloc(T * C * sizeof(float));
    r.q = malloc(T * C * sizeof(float));
    r.k = malloc(T * C * sizeof(float));
    r.v = malloc(T * C * sizeof(float));
    r.ctx = malloc(T * C * sizeof(float));
    r.ff = malloc(T * F * sizeof(float));
    r.att = malloc(T * sizeof(float));
    r.xg = malloc((T + K) * cg * sizeof(float));
    r.row = malloc(HB_ROW_BLOCK * row * sizeof(float));
    if (!r.a || !r.b || !r.chunk || !r.stat || !r.x || !r.q || !r.k || !r.v || !r.ctx || !r.ff || !r.att || !r.xg ||
        !r.row) {
        run_free(&r);
        return bark_fail(err, BARK_ERR_NOMEM, "hubert: out of memory for %zu samples", n);
    }
    float *cur = feature_encoder(h, &r, x, T0, chunk_rows);
    hb_layernorm(cur, T, D, &h->fp_ln_w, &h->fp_ln_b);
    hb_linear(r.x, C, cur, D, T, &h->fp_w, &h->fp_b, r.row);
    pos_conv(h, &r, T);
    hb_layernorm(r.x, T, C, &h->enc_ln_w, &h->enc_ln_b);
    for (int i = 0; i < hp->n_layer; i++) layer_forward(h, &h->layer[i], &r, T);
    memcpy(out, r.x, T * C * sizeof(float));
    run_free(&r);
    return BARK_OK;
}
