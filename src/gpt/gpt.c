/* gpt.c: the nanoGPT-style forward pass of Bark's GPTs (pre-LN blocks, exact GELU, f32 accumulation). */
#include "gpt/gpt.h"

#include "gpt/attention.h"
#include "core/error.h"
#include "kernels.h"
#include "core/threadpool.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

int bark_gpt_kv_f16(const bark_gpt_weights *w) { return w->layer[0].qkv_w.type != BARK_TYPE_F32; }

size_t bark_gpt_decode_bytes(const bark_gpt_weights *w) {
    size_t b = w->lm_head[0].nbytes + w->lnf_w.nbytes + w->lnf_b.nbytes;
    for (int l = 0; l < w->hp.n_layer; l++) {
        const bark_gpt_layer *y = &w->layer[l];
        const bark_tensor *t[] = {&y->ln1_w, &y->ln1_b, &y->qkv_w, &y->qkv_b, &y->out_w, &y->out_b,
                                  &y->ln2_w, &y->ln2_b, &y->up_w,  &y->up_b,  &y->down_w, &y->down_b};
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) b += t[i]->data ? t[i]->nbytes : 0;
    }
    return b;
}

/* Start of row r of a 2-D tensor whose rows have ne[0] elements of its type. */
static const void *tensor_row(const bark_tensor *t, int64_t r) {
    return (const uint8_t *)t->data + (size_t)r * bark_type_row_size(t->type, t->ne[0]);
}

static int imin(int a, int b) { return a < b ? a : b; }

/* Weights the int8 kernels take (activations quantized per 32-block): q8_0, and q4_0 (prefills as q8_0 rows). */
static int int8_weights(const bark_tensor *W) { return W->type == BARK_TYPE_Q8_0 || W->type == BARK_TYPE_Q4_0; }

/* Floats the sgemm weight panel needs: the largest non-f32 Linear weight the stage runs over many rows
 * (expanded whole: sgemm over narrower panels re-packs the activations per panel and measured slower). */
static size_t panel_floats(const bark_gpt_weights *w, int causal) {
    size_t n = 0;
    for (int l = 0; l < w->hp.n_layer; l++) {
        const bark_tensor *t[4] = {&w->layer[l].qkv_w, &w->layer[l].out_w, &w->layer[l].up_w, &w->layer[l].down_w};
        for (int i = 0; i < 4; i++)
            if (t[i]->type != BARK_TYPE_F32 && (size_t)(t[i]->ne[0] * t[i]->ne[1]) > n)
                n = (size_t)(t[i]->ne[0] * t[i]->ne[1]);
    }
    if (!causal)
        for (int j = 0; j < w->n_lm_head; j++)
            if (w->lm_head[j].type != BARK_TYPE_F32 && (size_t)(w->lm_head[j].ne[0] * w->lm_head[j].ne[1]) > n)
                n = (size_t)(w->lm_head[j].ne[0] * w->lm_head[j].ne[1]);
    return n;
}

size_t bark_kv_bytes(const bark_gpt_weights *w) {
    const bark_gpt_hparams *hp = &w->hp;
    size_t es = bark_gpt_kv_f16(w) ? sizeof(uint16_t) : sizeof(float);
    return (size_t)hp->n_layer * (size_t)hp->block_size * (size_t)hp->n_embd * es;
}

bark_status bark_kv_alloc(bark_kv *kv, size_t cap, bark_error *err) {
    memset(kv, 0, sizeof *kv);
    kv->k = malloc(cap);
    kv->v = malloc(cap);
    if (!kv->k || !kv->v) {
        bark_kv_free(kv);
        return bark_fail(err, BARK_ERR_NOMEM, "gpt: out of memory for a KV cache (%zu MB)", 2 * cap >> 20);
    }
    kv->cap = cap;
    return BARK_OK;
}

bark_status bark_kv_bind(bark_kv *kv, const bark_gpt_weights *w, bark_error *err) {
    if (bark_kv_bytes(w) > kv->cap)
        return bark_fail(err, BARK_ERR_ARG, "gpt: a KV cache of %zu bytes is too small for this stage", kv->cap);
    kv->n_past = 0;
    kv->n_ctx = w->hp.block_size;
    kv->f16 = bark_gpt_kv_f16(w);
    return BARK_OK;
}

void bark_kv_free(bark_kv *kv) {
    if (!kv) return;
    free(kv->k);
    free(kv->v);
    memset(kv, 0, sizeof *kv);
}

bark_status bark_gpt_init_scratch(bark_gpt *g, const bark_gpt_weights *w, int causal, const bark_exec *ex,
                                  bark_error *err) {
    memset(g, 0, sizeof *g);
    const bark_gpt_hparams *hp = &w->hp;
    if (hp->n_embd <= 0 || hp->n_head <= 0 || hp->n_embd % hp->n_head != 0 || hp->block_size <= 0 ||
        hp->n_layer <= 0 || hp->n_layer > BARK_MAX_LAYERS || hp->n_head > hp->block_size || hp->n_embd % QK8_0)
        return bark_fail(err, BARK_ERR_FORMAT, "gpt: bad hyper-parameters (n_embd %d, n_head %d, n_layer %d)",
                         hp->n_embd, hp->n_head, hp->n_layer);
    openblas_set_num_threads(1); /* every product runs in our pool, OpenBLAS single-threaded inside each task */
    if (!ex) {
        bark_status st = bark_exec_init(&g->own_ex, 0, NULL, BARK_GEMM_AUTO, err);
        if (st) return st;
        ex = &g->own_ex;
    }
    g->ex = ex;
    g->w = w;
    g->causal = causal;
    g->n_embd = hp->n_embd;
    g->n_head = hp->n_head;
    g->head_dim = hp->n_embd / hp->n_head;
    g->n_ctx = hp->block_size;
    size_t C = (size_t)hp->n_embd, T = (size_t)hp->block_size;
    g->x = malloc(T * C * sizeof(float));
    g->xb = malloc(T * C * sizeof(float));
    g->qkv = malloc(T * 3 * C * sizeof(float));
    g->hb = malloc(T * 4 * C * sizeof(float));
    g->att = malloc(T * T * sizeof(float));
    g->row = malloc(4 * C * sizeof(float));
    g->xq = malloc(T * 4 * C);
    g->xd = malloc(T * 4 * C / QK8_0 * sizeof(float));
    g->xs = malloc(T * 4 * C / QK8_0 * sizeof(int32_t));
    g->wbuf_len = panel_floats(w, causal);
    g->wbuf = g->wbuf_len ? malloc(g->wbuf_len * sizeof(float)) : NULL;
    int ok = g->x && g->xb && g->qkv && g->hb && g->att && g->row && g->xq && g->xd && g->xs &&
             (g->wbuf || !g->wbuf_len);
    /* int8 attention for quantized models, c_attn f16 or not (BARK_WTYPE_Q8_0_ATTN_F16): keyed on the MLP's weights */
    if (ok && int8_weights(&w->layer[0].up_w)) ok = bark_attention_q8_alloc(g) == 0;
    g->bytes = (T * C * (2 + 3 + 4) + T * T + 4 * C + g->wbuf_len) * sizeof(float) + T * 4 * C +
               2 * (T * 4 * C / QK8_0) * sizeof(float) + g->aq.bytes;
    if (!ok) {
        bark_gpt_free(g);
        return bark_fail(err, BARK_ERR_NOMEM, "gpt: out of memory for the run state (%zu positions x %zu)", T, C);
    }
    return BARK_OK;
}

bark_status bark_gpt_init(bark_gpt *g, const bark_gpt_weights *w, int causal, const bark_exec *ex, bark_error *err) {
    bark_status st = bark_gpt_init_scratch(g, w, causal, ex, err);
    if (st || !causal) return st;
    if (!(st = bark_kv_alloc(&g->own_kv, bark_kv_bytes(w), err))) st = bark_kv_bind(&g->own_kv, w, err);
    if (st) bark_gpt_free(g);
    else g->kv = &g->own_kv;
    return st;
}

void bark_gpt_free(bark_gpt *g) {
    if (!g) return;
    free(g->x);
    free(g->xb);
    free(g->qkv);
    free(g->hb);
    free(g->att);
    free(g->row);
    free(g->xq);
    free(g->xd);
    free(g->xs);
    free(g->wbuf);
    bark_kv_free(&g->own_kv);
    bark_attention_q8_free(g);
    bark_exec_free(&g->own_ex);
    memset(g, 0, sizeof *g);
}

void bark_gpt_reset(bark_gpt *g) { g->own_kv.n_past = 0; }

/* ---- row-parallel element-wise steps ---- */

typedef struct rows_job {
    const bark_kernels *k;
    float *y;
    const float *x;
    int T, C;
    const bark_tensor *w, *b;
} rows_job;

static void layernorm_task(void *ctx, int i, int n) {
    rows_job *j = ctx;
    int r0, r1;
    bark_task_rows(i, n, j->T, &r0, &r1);
    for (int t = r0; t < r1; t++)
        j->k->layernorm_f32(j->y + (size_t)t * j->C, j->x + (size_t)t * j->C, j->w->data, j->b->data, j->C);
}

/* y[t] = LayerNorm(x[t]) over C channels, eps 1e-5, biased variance; b may be absent (data NULL). */
static void layernorm(const bark_gpt *g, float *y, const float *x, int T, int C, const bark_tensor *w, const bark_tensor *b) {
    rows_job j = {g->ex->k, y, x, T, C, w, b};
    bark_pool_run(g->ex->pool, imin(T, bark_pool_threads(g->ex->pool)), layernorm_task, &j);
}

/* The input of a Linear layer, made in one pass per row: x[t] += h[t] (the residual, when h is given), y[t] =
 * LayerNorm(x[t]), then y[t] quantized into xq, xd (and the block sums xs, when given) when q is set: each row's values
 * as the separate passes make them. */
typedef struct norm_job {
    const bark_kernels *k;
    float *y, *x;
    const float *h;
    int T, C, q;
    const bark_tensor *w, *b;
    int8_t *xq;
    float *xd;
    int32_t *xs;
} norm_job;

static void norm_task(void *ctx, int i, int n) {
    norm_job *j = ctx;
    int r0, r1, C = j->C, nb = C / QK8_0;
    bark_task_rows(i, n, j->T, &r0, &r1);
    for (int t = r0; t < r1; t++) {
        float *xt = j->x + (size_t)t * C, *yt = j->y + (size_t)t * C;
        if (j->h)
            for (int e = 0; e < C; e++) xt[e] += j->h[(size_t)t * C + e];
        j->k->layernorm_f32(yt, xt, j->w->data, j->b->data, C);
        if (j->q)
            j->k->quantize_q8(yt, j->xq + (size_t)t * C, j->xd + (size_t)t * nb, j->xs ? j->xs + (size_t)t * nb : NULL,
                              C);
    }
}

static void gelu_task(void *ctx, int i, int n) {
    rows_job *j = ctx;
    int r0, r1;
    bark_task_rows(i, n, j->T, &r0, &r1);
    j->k->gelu_f32(j->y + (size_t)r0 * j->C, (r1 - r0) * j->C);
}

static void gelu_rows(const bark_gpt *g, float *y, int T, int C) {
    rows_job j = {g->ex->k, y, NULL, T, C, NULL, NULL};
    bark_pool_run(g->ex->pool, imin(T, bark_pool_threads(g->ex->pool)), gelu_task, &j);
}

static void residual_task(void *ctx, int i, int n) {
    rows_job *j = ctx;
    int r0, r1;
    bark_task_rows(i, n, j->T, &r0, &r1);
    for (size_t e = (size_t)r0 * j->C; e < (size_t)r1 * j->C; e++) j->y[e] += j->x[e];
}

/* y[t] += x[t] for T rows of C (the residual stream). */
static void residual_rows(const bark_gpt *g, float *y, const float *x, int T, int C) {
    rows_job j = {NULL, y, x, T, C, NULL, NULL};
    bark_pool_run(g->ex->pool, imin(T, bark_pool_threads(g->ex->pool)), residual_task, &j);
}

/* ---- Linear layers ---- */

typedef struct linear_job {
    const bark_kernels *k;
    const bark_tensor *W, *b;
    float *y;
    int ystride;
    const float *x;
    int xstride;
    int T, in, out;
    int rows_per, t_per; /* tile sizes */
    int8_t *xq;
    float *xd, *panel; /* panel: the weight expanded to f32 (sgemm), or q4_0 rows as q8_0 (int8 GEMM) */
    int32_t *xs;       /* block sums of xq, filled only for the int8 GEMM (else NULL) */
    int gelu;          /* GELU each input row in place before quantizing it */
    int split_out;     /* output rows [0, split_out) take a two-part input (IN_SPLIT), the rest its first part */
    const bark_gpt *g; /* for the two-part input of a prefill's c_attn (two_part_heads) */
    int n_peaked;      /* the heads that took it: g->aq.peaked[0..n_peaked) */
} linear_job;

static void bias_rows(const linear_job *j, int o0, int o1, int t0, int t1) {
    if (!j->b || !j->b->data) return;
    const float *b = j->b->data;
    for (int t = t0; t < t1; t++) {
        float *yt = j->y + (size_t)t * j->ystride;
        for (int o = o0; o < o1; o++) yt[o] += b[o];
    }
}

/* Output rows [o0, o1) of W for T activation rows, by the batched GEMV kernels, whose rows are the single-token
 * kernel's bits. */
static void gemv_rows(const linear_job *j, int o0, int o1, int T) {
    const bark_tensor *W = j->W;
    size_t rb = bark_type_row_size(W->type, W->ne[0]);
    const void *w0 = (const uint8_t *)W->data + (size_t)o0 * rb;
    float *y = j->y + o0;
    int n = o1 - o0;
    if (W->type == BARK_TYPE_Q8_0) j->k->gemv_q8_0_batch(w0, rb, n, j->xq, j->xd, j->in, T, y, j->ystride);
    else if (W->type == BARK_TYPE_Q4_0) j->k->gemv_q4_0_batch(w0, rb, n, j->xq, j->xd, j->in, T, y, j->ystride);
    else if (W->type == BARK_TYPE_F16)
        j->k->gemv_f16_batch(w0, (size_t)j->in, n, j->x, j->xstride, j->in, T, y, j->ystride);
    else j->k->gemv_f32_batch(w0, (size_t)j->in, n, j->x, j->xstride, j->in, T, y, j->ystride);
}

/* Decode (and rows that must not depend on T): output rows split over tasks, every token (one per sequence in a
 * batched step) in each; rows below split_out also take the second part of a two-part input (split_task). */
static void gemv_task(void *ctx, int i, int n) {
    linear_job *j = ctx;
    int o0 = i * j->rows_per, o1 = imin(j->out, o0 + j->rows_per);
    int s = j->split_out < o0 ? o0 : imin(o1, j->split_out);
    if (s > o0) gemv_rows(j, o0, s, 2 * j->T);
    if (o1 > s) gemv_rows(j, s, o1, j->T);
    bias_rows(j, o0, o1, 0, j->T);
}

static void quantize_task(void *ctx, int i, int n) {
    linear_job *j = ctx;
    int r0, r1;
    bark_task_rows(i, n, j->T, &r0, &r1);
    int nb = j->in / QK8_0;
    for (int t = r0; t < r1; t++) {
        if (j->gelu) j->k->gelu_f32((float *)j->x + (size_t)t * j->xstride, j->in);
        j->k->quantize_q8(j->x + (size_t)t * j->xstride, j->xq + (size_t)t * j->in, j->xd + (size_t)t * nb,
                          j->xs ? j->xs + (size_t)t * nb : NULL, j->in);
    }
}

/* Output rows [o0, o1) of W for tokens [t0, t1) by the int8 GEMM, plus the bias. q4_0 rows are first unpacked to
 * q8_0 rows (the same values) in their own part of the panel, then take the q8_0 GEMM. */
static void gemm_int8_rows(const linear_job *j, int o0, int o1, int t0, int t1) {
    size_t rb = bark_type_row_size(j->W->type, j->W->ne[0]);
    size_t nb = (size_t)(j->in / QK8_0);
    const uint8_t *w = (const uint8_t *)j->W->data + (size_t)o0 * rb;
    if (j->W->type == BARK_TYPE_Q4_0) {
        block_q8_0 *p = (block_q8_0 *)j->panel + (size_t)o0 * nb;
        bark_q4_0_to_q8_0((const block_q4_0 *)w, p, (int64_t)(o1 - o0) * (int64_t)nb);
        w = (const uint8_t *)p;
        rb = nb * sizeof(block_q8_0);
    }
    j->k->gemm_q8_0(w, rb, o1 - o0, j->xq + (size_t)t0 * j->in,
                    j->xd + (size_t)t0 * nb, j->xs + (size_t)t0 * nb, j->in, t1 - t0,
                    j->y + (size_t)t0 * j->ystride + o0, j->ystride);
    bias_rows(j, o0, o1, t0, t1);
}

/* Many tokens, int8: tiles of rows_per output rows x t_per tokens. */
static void gemm_int8_task(void *ctx, int i, int n) {
    linear_job *j = ctx;
    int n_rt = (j->out + j->rows_per - 1) / j->rows_per;
    int o0 = (i % n_rt) * j->rows_per, t0 = (i / n_rt) * j->t_per;
    gemm_int8_rows(j, o0, imin(j->out, o0 + j->rows_per), t0, imin(j->T, t0 + j->t_per));
}

/* Output columns per sgemm call. Fixed, so that no call's shape (nor any result) depends on the thread count:
 * OpenBLAS's blocking follows the shape it is given (split by thread count, the codes differed between 2 and 3
 * threads under OPENBLAS_CORETYPE=Haswell). */
#define SGEMM_COLS 128

/* Many tokens, sgemm: task i takes output columns [i * SGEMM_COLS, ...), expands its own weight rows to f32
 * (q8_0 / f16) in the panel, seeds its columns with the bias and runs a single-threaded sgemm on them. */
static void sgemm_task(void *ctx, int i, int n) {
    linear_job *j = ctx;
    int o0 = i * SGEMM_COLS, o1 = imin(j->out, o0 + SGEMM_COLS);
    const float *wp = (const float *)j->W->data + (size_t)o0 * j->in;
    if (j->W->type != BARK_TYPE_F32) {
        float *p = j->panel + (size_t)o0 * j->in;
        for (int r = o0; r < o1; r++) {
            float *pr = p + (size_t)(r - o0) * j->in;
            if (j->W->type == BARK_TYPE_Q8_0) j->k->dequant_q8_0(tensor_row(j->W, r), pr, j->in);
            else bark_dequantize_row(j->W->type, tensor_row(j->W, r), pr, j->in);
        }
        wp = p;
    }
    float beta = 0.0f;
    if (j->b && j->b->data) {
        for (int t = 0; t < j->T; t++)
            memcpy(j->y + (size_t)t * j->ystride + o0, (const float *)j->b->data + o0,
                   (size_t)(o1 - o0) * sizeof(float));
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->T, o1 - o0, j->in, 1.0f, j->x, j->xstride, wp, j->in, beta,
                j->y + o0, j->ystride);
}

/* How the rows of a Linear layer are multiplied. */
enum { ROWS_ANY = 0, /* one row: the GEMV kernels; many (a prefill): sgemm or the int8 GEMM, by the exec's rule */
       ROWS_EACH,    /* a row's result must not depend on T (the fine stage's heads, whatever the number of positions
                        asked): q8_0 / q4_0 weights always take the int8 GEMM, f16/f32 ones the GEMV kernels */
       ROWS_DECODE   /* each row is another sequence's one new token: the GEMV kernels, batched */
};

/* Whether linear() multiplies T rows by W in this mode on the int8 GEMM (many rows of q8_0 / q4_0 weights). */
static int linear_int8_gemm(const bark_gpt *g, const bark_tensor *W, int T, int mode) {
    int q8 = int8_weights(W), rowwise = mode == ROWS_EACH;
    int small = mode == ROWS_DECODE || (rowwise ? !q8 : T == 1);
    return q8 && !small && (rowwise || g->ex->gemm == BARK_GEMM_INT8);
}

/* Whether linear() quantizes its input rows for W (the int8 GEMM, or q8_0 / q4_0 GEMV kernels). */
static int linear_quantizes(const bark_gpt *g, const bark_tensor *W, int T, int mode) {
    int q8 = int8_weights(W), rowwise = mode == ROWS_EACH;
    return q8 && (mode == ROWS_DECODE || (rowwise ? 0 : T == 1) || linear_int8_gemm(g, W, T, mode));
}

/* How linear() takes its input x: as it is, already quantized (xq, xd and, for the int8 GEMM, xs hold it: norm_rows
 * made them), the same but taken in two parts by c_attn's query and key rows (its first 2 n_embd; IN_SPLIT: all of
 * them in a decode step, those of two_part_heads in an int8 prefill; x is overwritten by split_task), or to be GELU'd
 * in place first (fused with its quantization when it is quantized). */
enum { IN_FLOAT = 0, IN_QUANTIZED, IN_SPLIT, IN_GELU };

/* The second part of a two-part input, rows [r0, r1) of task i: x[t] -= its quantized row t (q * d, rows 0..T-1 of
 * xq, xd), which is what the quantization left, then quantized per 32 in turn into rows T + t of xq, xd (and xs,
 * when given). Output rows taking both parts, summed, see x to about 16 bits. */
static void split_task(void *ctx, int i, int n) {
    linear_job *j = ctx;
    int r0, r1, nb = j->in / QK8_0;
    bark_task_rows(i, n, j->T, &r0, &r1);
    for (int t = r0; t < r1; t++) {
        const int8_t *q = j->xq + (size_t)t * j->in;
        const float *d = j->xd + (size_t)t * nb;
        float *xt = (float *)j->x + (size_t)t * j->xstride;
        for (int e = 0; e < j->in; e++) xt[e] -= (float)q[e] * d[e / QK8_0];
        size_t at = (size_t)(j->T + t);
        j->k->quantize_q8(xt, j->xq + at * j->in, j->xd + at * nb, j->xs ? j->xs + at * nb : NULL, j->in);
    }
}

/* Task i of a prefill's second part: 32 (or fewer) query (part 0) or key (part 1) rows of head peaked[i / per], each
 * head's hd rows of a part in tiles of 32, over every token. */
static void second_part_task(void *ctx, int i, int n) {
    linear_job *j = ctx;
    const bark_gpt *g = j->g;
    int hd = g->head_dim, tiles = (hd + 31) / 32, per = 2 * tiles, r = i % per;
    int base = (r / tiles) * g->n_embd + g->aq.peaked[i / per] * hd, o0 = base + (r % tiles) * 32;
    gemm_int8_rows(j, o0, imin(base + hd, o0 + 32), 0, j->T);
}

/* Rows [r0, r1) of task i: the second part's results (in hb, 2C per row) added to the peaked heads' queries and keys
 * in y. */
static void add_part_task(void *ctx, int i, int n) {
    linear_job *j = ctx;
    const bark_gpt *g = j->g;
    int r0, r1, C = g->n_embd, hd = g->head_dim;
    bark_task_rows(i, n, j->T, &r0, &r1);
    for (int t = r0; t < r1; t++)
        for (int p = 0; p < j->n_peaked; p++)
            for (int part = 0; part < 2; part++) {
                int o0 = part * C + g->aq.peaked[p] * hd;
                float *yt = j->y + (size_t)t * j->ystride + o0;
                const float *lo = g->hb + (size_t)t * 2 * C + o0;
                for (int o = 0; o < hd; o++) yt[o] += lo[o];
            }
}

/* A prefill's c_attn in int8 mode, after the GEMM of its quantized input: the heads whose int8 scores could be off by
 * more than g->aq.two_part_above (bark_attention_peaked_heads; on peaked attention the int8 activations of c_attn
 * were most of q8_0's error, tests/test_trained.c) take their query and key rows over the input's second part too:
 * their rows alone by the int8 GEMM into hb, then added. Flat attention (no head above) costs one pass over the
 * queries and keys. */
static void two_part_heads(bark_gpt *g, linear_job *j) {
    bark_pool *pool = g->ex->pool;
    int nt = bark_pool_threads(pool), nb = j->in / QK8_0, T = j->T;
    j->n_peaked = bark_attention_peaked_heads(g, T);
    if (!j->n_peaked) return;
    bark_pool_run(pool, imin(T, nt), split_task, j);
    linear_job lo = *j;
    lo.xq = j->xq + (size_t)T * j->in, lo.xd = j->xd + (size_t)T * nb, lo.xs = j->xs + (size_t)T * nb;
    lo.y = g->hb, lo.ystride = 2 * g->n_embd, lo.b = NULL;
    bark_pool_run(pool, j->n_peaked * 2 * ((g->head_dim + 31) / 32), second_part_task, &lo);
    bark_pool_run(pool, imin(T, nt), add_part_task, j);
}

/* y[t][o] = W[o] . x[t] (+ b[o]) for T rows; W has ne {in, out}; mode: ROWS_*; in: IN_*. */
static void linear(bark_gpt *g, float *y, int ystride, float *x, int xstride, int T, const bark_tensor *W,
                   const bark_tensor *b, int mode, int in) {
    bark_pool *pool = g->ex->pool;
    int nt = bark_pool_threads(pool);
    linear_job j = {g->ex->k, W, b, y, ystride, x, xstride, T, (int)W->ne[0], (int)W->ne[1], 0, 0,
                    g->xq, g->xd, NULL, NULL, in == IN_GELU, 0, g, 0};
    int q8 = int8_weights(W), quantizes = linear_quantizes(g, W, T, mode);
    int int8_gemm = linear_int8_gemm(g, W, T, mode), small = mode == ROWS_DECODE || (mode == ROWS_EACH ? !q8 : T == 1);
    if (int8_gemm) j.xs = g->xs;
    if (quantizes && in != IN_QUANTIZED && in != IN_SPLIT) bark_pool_run(pool, imin(T, nt), quantize_task, &j);
    else if (in == IN_GELU) gelu_rows(g, x, T, j.in);
    if (small) {
        /* one task per thread, rows in multiples of 4 (the kernels' row blocking): one long stream each reads
         * faster than several short ones (coarse decode 6.04 -> 5.91 ms/step against 4 tasks per thread) */
        int per = (j.out + nt - 1) / nt;
        j.rows_per = per < 16 ? 16 : (per + 3) / 4 * 4;
        if (in == IN_SPLIT && q8) { /* the query and key rows over both parts (each weight row read once), into hb */
            bark_pool_run(pool, imin(T, nt), split_task, &j);
            j.split_out = 2 * g->n_embd, j.y = g->hb, j.ystride = j.out, j.b = NULL;
            bark_pool_run(pool, (j.out + j.rows_per - 1) / j.rows_per, gemv_task, &j);
            const float *bias = b && b->data ? b->data : NULL;
            for (int t = 0; t < T; t++) {
                const float *hi = g->hb + (size_t)t * j.out, *lo = g->hb + (size_t)(T + t) * j.out;
                float *yt = y + (size_t)t * ystride;
                for (int o = 0; o < j.split_out; o++) yt[o] = hi[o] + lo[o] + (bias ? bias[o] : 0.0f);
                for (int o = j.split_out; o < j.out; o++) yt[o] = hi[o] + (bias ? bias[o] : 0.0f);
            }
            return;
        }
        bark_pool_run(pool, (j.out + j.rows_per - 1) / j.rows_per, gemv_task, &j);
        return;
    }
    if (int8_gemm) {
        /* every task takes all tokens: kernels that repack their weight rows do it once per call */
        j.panel = g->wbuf;
        j.rows_per = 32;
        j.t_per = T;
        bark_pool_run(pool, (j.out + 31) / 32, gemm_int8_task, &j);
        if (in == IN_SPLIT) two_part_heads(g, &j);
        return;
    }
    j.panel = g->wbuf;
    bark_pool_run(pool, (j.out + SGEMM_COLS - 1) / SGEMM_COLS, sgemm_task, &j);
}

/* Adds row `id` of the embedding table E into dst[C]. */
static void add_row(bark_gpt *g, float *dst, const bark_tensor *E, int64_t id) {
    bark_dequantize_row(E->type, tensor_row(E, id), g->row, g->n_embd);
    for (int i = 0; i < g->n_embd; i++) dst[i] += g->row[i];
}

/* Attention (src/gpt/attention.c), int8 in int8 GEMM mode for q8_0 / q4_0 models. */
static void attention(bark_gpt *g, int T, const void *k, const void *v, int f16, size_t ld, size_t hs) {
    bark_attention(g, T, k, v, f16, g->ex->gemm == BARK_GEMM_INT8, ld, hs);
}

typedef struct append_job {
    bark_gpt *g;
    const bark_kernels *k;
    int T;
    bark_kv *const *kvs; /* a batched step: row t is the new token of sequence kvs[t]; NULL: all T rows are g->kv's */
    size_t layer;        /* elements before layer l's cache */
} append_job;

/* The new keys and values of heads [i*H/n, (i+1)*H/n) into the caches. */
static void append_task(void *ctx, int i, int n) {
    append_job *j = ctx;
    bark_gpt *g = j->g;
    int C = g->n_embd, h0, h1;
    size_t hd = (size_t)g->head_dim, hs = (size_t)g->n_ctx * hd;
    bark_task_rows(i, n, g->n_head, &h0, &h1);
    for (int t = 0; t < j->T; t++) {
        const float *r = g->qkv + (size_t)t * 3 * C;
        bark_kv *kv = j->kvs ? j->kvs[t] : g->kv;
        size_t at = j->layer + (size_t)(kv->n_past + (j->kvs ? 0 : t)) * hd;
        for (int h = h0; h < h1; h++) {
            if (kv->f16) {
                j->k->f32_to_f16(r + C + h * hd, (uint16_t *)kv->k + at + h * hs, (int)hd);
                j->k->f32_to_f16(r + 2 * C + h * hd, (uint16_t *)kv->v + at + h * hs, (int)hd);
            } else {
                memcpy((float *)kv->k + at + h * hs, r + C + h * hd, hd * sizeof(float));
                memcpy((float *)kv->v + at + h * hs, r + 2 * C + h * hd, hd * sizeof(float));
            }
        }
    }
}

/* Appends the T new keys and values of layer l to the cache (f32, or f16 for f16 / q8_0 models: half the bytes each
 * decode step reads; split over the pool by heads for prefills), then attends. A prefill from position 0 attends over
 * its own f32 keys and values; one after cached positions over the cache (an f16 cache expanded to f32 in hb, free
 * until the MLP). */
static void cache_and_attend(bark_gpt *g, int l, int T) {
    bark_kv *kv = g->kv;
    int C = g->n_embd, H = g->n_head, n_keys = kv->n_past + T;
    size_t hd = (size_t)g->head_dim, hs = (size_t)g->n_ctx * hd, layer = (size_t)l * g->n_ctx * C;
    append_job aj = {g, g->ex->k, T, NULL, layer};
    bark_pool_run(g->ex->pool, T < 8 ? 1 : imin(H, bark_pool_threads(g->ex->pool)), append_task, &aj);
    if (T < 8) {
        size_t es = kv->f16 ? sizeof(uint16_t) : sizeof(float);
        attention(g, T, (const uint8_t *)kv->k + layer * es, (const uint8_t *)kv->v + layer * es, kv->f16, hd, hs);
    } else if (kv->n_past == 0) {
        attention(g, T, g->qkv + C, g->qkv + 2 * C, 0, 3 * (size_t)C, hd);
    } else if (!kv->f16) {
        attention(g, T, (const float *)kv->k + layer, (const float *)kv->v + layer, 0, hd, hs);
    } else {
        float *kf = g->hb, *vf = g->hb + (size_t)g->n_ctx * C;
        for (int h = 0; h < H; h++) {
            int64_t n = (int64_t)n_keys * (int64_t)hd;
            bark_dequantize_row(BARK_TYPE_F16, (const uint16_t *)kv->k + layer + h * hs, kf + h * hs, n);
            bark_dequantize_row(BARK_TYPE_F16, (const uint16_t *)kv->v + layer + h * hs, vf + h * hs, n);
        }
        attention(g, T, kf, vf, 0, hd, hs);
    }
}

/* A batched step's layer l: row b's key and value into kvs[b] at its position, then each row attends over its own
 * cache (src/gpt/attention.c). */
static void cache_and_attend_batch(bark_gpt *g, int l, bark_kv *const *kvs, int B) {
    size_t layer = (size_t)l * g->n_ctx * g->n_embd;
    append_job aj = {g, g->ex->k, B, kvs, layer};
    bark_pool_run(g->ex->pool, imin(g->n_head, bark_pool_threads(g->ex->pool)), append_task, &aj);
    bark_attention_step_batch(g, kvs, B, layer);
}

/* g->xb = LayerNorm(g->x) over T rows, after g->x += h when h is given (the residual), quantized for the Linear
 * layer W that takes it (its IN_QUANTIZED input) when that quantizes: one pass over the rows. Returns linear()'s
 * input mode for W. */
static int norm_rows(bark_gpt *g, const float *h, int T, const bark_tensor *w, const bark_tensor *b,
                     const bark_tensor *W, int mode) {
    int q = linear_quantizes(g, W, T, mode);
    norm_job j = {g->ex->k, g->xb, g->x, h, T, g->n_embd, q, w, b, g->xq, g->xd,
                  linear_int8_gemm(g, W, T, mode) ? g->xs : NULL};
    bark_pool_run(g->ex->pool, imin(T, bark_pool_threads(g->ex->pool)), norm_task, &j);
    return q ? IN_QUANTIZED : IN_FLOAT;
}

/* Runs every block over the T rows of g->x: positions n_past.. of g->kv for causal stages, or, with kvs, one new token
 * of each sequence kvs[t] (a batched step). Each residual add is done with the LayerNorm after it (the last one
 * alone). */
static void blocks(bark_gpt *g, int T, bark_kv *const *kvs) {
    int mode = kvs ? ROWS_DECODE : ROWS_ANY;
    const bark_gpt_weights *w = g->w;
    int C = g->n_embd;
    for (int l = 0; l < w->hp.n_layer; l++) {
        const bark_gpt_layer *ly = &w->layer[l];
        int in = norm_rows(g, l ? g->qkv : NULL, T, &ly->ln1_w, &ly->ln1_b, &ly->qkv_w, mode);
        /* queries and keys from c_attn's input in two int8 parts, a decode step's all, an int8 prefill's where its
         * attention is peaked: there the int8 activations of c_attn were most of q8_0's error (tests/test_trained.c) */
        linear(g, g->qkv, 3 * C, g->xb, C, T, &ly->qkv_w, &ly->qkv_b, mode, in == IN_QUANTIZED ? IN_SPLIT : in);
        if (kvs) cache_and_attend_batch(g, l, kvs, T);
        else if (g->causal) cache_and_attend(g, l, T);
        else attention(g, T, g->qkv + C, g->qkv + 2 * C, 0, 3 * (size_t)C, (size_t)g->head_dim);
        linear(g, g->hb, C, g->xb, C, T, &ly->out_w, &ly->out_b, mode, IN_FLOAT);
        in = norm_rows(g, g->hb, T, &ly->ln2_w, &ly->ln2_b, &ly->up_w, mode);
        linear(g, g->hb, 4 * C, g->xb, C, T, &ly->up_w, &ly->up_b, mode, in);
        linear(g, g->qkv, C, g->hb, 4 * C, T, &ly->down_w, &ly->down_b, mode, IN_GELU);
    }
    residual_rows(g, g->x, g->qkv, T, C);
}

bark_status bark_gpt_forward(bark_gpt *g, const int32_t *ids, const int32_t *ids2, int T, float *logits,
                             bark_error *err) {
    if (!g->own_kv.k) return bark_fail(err, BARK_ERR_ARG, "gpt: this stage has no KV cache of its own");
    return bark_gpt_forward_kv(g, &g->own_kv, ids, ids2, T, logits, err);
}

/* An id of a causal stage's input outside its table: 0 when all are inside, else the first bad one. */
static int32_t bad_id(const int32_t *ids, const int32_t *ids2, int T, int V) {
    for (int t = 0; t < T; t++) {
        int32_t bad = ids[t] < 0 || ids[t] >= V ? ids[t] : ids2 && ids2[t] >= V ? ids2[t] : 0;
        if (bad != 0) return bad;
    }
    return 0;
}

bark_status bark_gpt_forward_kv(bark_gpt *g, bark_kv *kv, const int32_t *ids, const int32_t *ids2, int T,
                                float *logits, bark_error *err) {
    const bark_gpt_weights *w = g->w;
    if (!g->causal) return bark_fail(err, BARK_ERR_ARG, "gpt: the fine stage has no causal forward");
    if (kv->n_ctx != g->n_ctx || kv->f16 != bark_gpt_kv_f16(w))
        return bark_fail(err, BARK_ERR_ARG, "gpt: the KV cache is not bound to this stage");
    if (T <= 0 || T > g->n_ctx - kv->n_past)
        return bark_fail(err, BARK_ERR_ARG, "gpt: %d new tokens after %d do not fit the context of %d", T,
                         kv->n_past, g->n_ctx);
    int C = g->n_embd, V = w->hp.input_vocab;
    int32_t bad = bad_id(ids, ids2, T, V);
    if (bad) return bark_fail(err, BARK_ERR_ARG, "gpt: token id %d is outside 0..%d", (int)bad, V - 1);
    g->kv = kv;
    for (int t = 0; t < T; t++) {
        float *xt = g->x + (size_t)t * C;
        memset(xt, 0, (size_t)C * sizeof(float));
        add_row(g, xt, &w->wte[0], ids[t]);
        if (ids2 && ids2[t] >= 0) add_row(g, xt, &w->wte[0], ids2[t]);
        add_row(g, xt, &w->wpe, kv->n_past + t);
    }
    blocks(g, T, NULL);
    kv->n_past += T;
    const float *last = g->x + (size_t)(T - 1) * C;
    layernorm(g, g->xb, last, 1, C, &w->lnf_w, &w->lnf_b);
    linear(g, logits, w->hp.output_vocab, g->xb, C, 1, &w->lm_head[0], NULL, ROWS_ANY, IN_FLOAT);
    return BARK_OK;
}

bark_status bark_gpt_step_batch(bark_gpt *g, bark_kv *const *kv, const int32_t *ids, int B, float *const *logits,
                                bark_error *err) {
    const bark_gpt_weights *w = g->w;
    int C = g->n_embd, V = w->hp.input_vocab, NV = w->hp.output_vocab;
    if (!g->causal) return bark_fail(err, BARK_ERR_ARG, "gpt: the fine stage has no causal forward");
    if (B <= 0 || B * g->n_head > g->n_ctx || (size_t)B * NV > (size_t)g->n_ctx * 4 * C)
        return bark_fail(err, BARK_ERR_ARG, "gpt: a batch of %d sequences does not fit the run state", B);
    for (int b = 0; b < B; b++) {
        if (kv[b]->n_ctx != g->n_ctx || kv[b]->f16 != bark_gpt_kv_f16(w))
            return bark_fail(err, BARK_ERR_ARG, "gpt: the KV cache of sequence %d is not bound to this stage", b);
        if (kv[b]->n_past >= g->n_ctx)
            return bark_fail(err, BARK_ERR_ARG, "gpt: sequence %d fills the context of %d", b, g->n_ctx);
        if (ids[b] < 0 || ids[b] >= V)
            return bark_fail(err, BARK_ERR_ARG, "gpt: token id %d is outside 0..%d", (int)ids[b], V - 1);
    }
    for (int b = 0; b < B; b++) {
        float *xt = g->x + (size_t)b * C;
        memset(xt, 0, (size_t)C * sizeof(float));
        add_row(g, xt, &w->wte[0], ids[b]);
        add_row(g, xt, &w->wpe, kv[b]->n_past);
    }
    blocks(g, B, kv);
    for (int b = 0; b < B; b++) kv[b]->n_past++;
    layernorm(g, g->xb, g->x, B, C, &w->lnf_w, &w->lnf_b);
    linear(g, g->hb, NV, g->xb, C, B, &w->lm_head[0], NULL, ROWS_DECODE, IN_FLOAT); /* hb is free after the blocks */
    for (int b = 0; b < B; b++) memcpy(logits[b], g->hb + (size_t)b * NV, (size_t)NV * sizeof(float));
    return BARK_OK;
}

bark_status bark_gpt_forward_fine(bark_gpt *g, const int32_t *codes, int T, int pred, int t0, float *logits,
                                  bark_error *err) {
    const bark_gpt_weights *w = g->w;
    int nct = w->hp.n_codes_total, ncg = w->hp.n_codes_given;
    if (g->causal) return bark_fail(err, BARK_ERR_ARG, "gpt: a causal stage has no fine forward");
    if (T <= 0 || T > g->n_ctx || t0 < 0 || t0 >= T)
        return bark_fail(err, BARK_ERR_ARG, "gpt: fine window of %d positions from %d (context %d)", T, t0, g->n_ctx);
    if (pred < ncg || pred >= nct || pred - ncg >= w->n_lm_head || pred >= w->n_wte)
        return bark_fail(err, BARK_ERR_ARG, "gpt: fine codebook %d is not predicted (heads %d..%d)", pred, ncg,
                         nct - 1);
    int C = g->n_embd, V = w->hp.input_vocab;
    for (int t = 0; t < T; t++)
        for (int k = 0; k <= pred; k++) {
            int32_t id = codes[(size_t)t * nct + k];
            if (id < 0 || id >= V)
                return bark_fail(err, BARK_ERR_ARG, "gpt: fine code %d at position %d, codebook %d is outside 0..%d",
                                 (int)id, t, k, V - 1);
        }
    for (int t = 0; t < T; t++) {
        float *xt = g->x + (size_t)t * C;
        memset(xt, 0, (size_t)C * sizeof(float));
        for (int k = 0; k <= pred; k++) add_row(g, xt, &w->wte[k], codes[(size_t)t * nct + k]);
        add_row(g, xt, &w->wpe, t);
    }
    blocks(g, T, NULL);
    int n = T - t0;
    layernorm(g, g->xb, g->x + (size_t)t0 * C, n, C, &w->lnf_w, &w->lnf_b);
    linear(g, logits, w->hp.output_vocab, g->xb, C, n, &w->lm_head[pred - ncg], NULL, ROWS_EACH, IN_FLOAT);
    return BARK_OK;
}
