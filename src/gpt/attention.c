/* attention.c: multi-head attention of the GPT stages: per-head GEMV for decode steps, query blocks x heads in the
 * pool for prefills and the fine stage (f32 by OpenBLAS sgemm, or int8 by the q8_0 GEMM, whose peaked rows with a
 * large score error are redone in f32 over their top keys). */
#include "gpt/attention.h"

#include "kernels.h"
#include "core/threadpool.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define QBLOCK 64 /* queries per prefill attention item */
#define REFINE_MARGIN 12.0f /* refined rows: keys this far below the row's max (plus the error) weigh < 1e-5 */
#define REFINE_SIGMAS 8.0f  /* ... plus this many times the row's estimated score error */
#define REFINE_KEYS 64      /* rows with more keys than this in that range are flat enough for int8 (errors average) */
#define PEAK_TASKS 8        /* tasks of bark_attention_peaked_heads, each with its maxima in g->aq.pmax */

static int imin(int a, int b) { return a < b ? a : b; }

/* Query rows per prefill attention item, and the most items (slots) a block run keeps in flight at once. */
static int query_block(const bark_gpt *g) { return imin(QBLOCK, g->n_ctx); }
static int max_slots(const bark_gpt *g) { return g->n_ctx / query_block(g); }

int bark_attention_q8_alloc(bark_gpt *g) {
    bark_att_q8 *a = &g->aq;
    size_t H = (size_t)g->n_head, T = (size_t)g->n_ctx;
    a->hdp = (g->head_dim + QK8_0 - 1) / QK8_0 * QK8_0;
    a->kb = a->hdp / QK8_0;
    a->vb = (g->n_ctx + QK8_0 - 1) / QK8_0;
    size_t hdp = (size_t)a->hdp, kb = (size_t)a->kb, vb = (size_t)a->vb;
    a->k = malloc(H * T * kb * sizeof *a->k);
    a->vt = malloc(H * (size_t)g->head_dim * vb * sizeof *a->vt);
    a->q = malloc(H * T * hdp);
    a->qd = malloc(H * T * kb * sizeof *a->qd);
    a->qs = malloc(H * T * kb * sizeof *a->qs);
    a->p = malloc(T * vb * QK8_0);
    a->pd = malloc(T * vb * sizeof *a->pd);
    a->ps = malloc(T * vb * sizeof *a->ps);
    a->norm = malloc(T * sizeof *a->norm);
    a->stage = malloc(H * QK8_0 * hdp * sizeof *a->stage);
    a->stage_q = malloc(H * QK8_0 * hdp);
    a->stage_d = malloc(H * hdp * sizeof *a->stage_d);
    a->kdmax = malloc(H * kb * sizeof *a->kdmax);
    a->knmax = malloc(H * kb * sizeof *a->knmax);
    size_t slots = (size_t)max_slots(g);
    a->refined = calloc(4 * slots, sizeof *a->refined);
    a->ref_idx = malloc(slots * REFINE_KEYS * sizeof *a->ref_idx);
    a->ref_out = malloc(T * (size_t)g->head_dim * sizeof *a->ref_out);
    a->peaked = malloc(H * sizeof *a->peaked);
    a->pmax = malloc(PEAK_TASKS * H * kb * 4 * sizeof *a->pmax);
    a->refine_above = BARK_ATT_REFINE_ABOVE;
    a->two_part_above = BARK_ATT_TWO_PART_ABOVE;
    a->bytes = H * T * kb * sizeof *a->k + H * (size_t)g->head_dim * vb * sizeof *a->vt + H * T * hdp +
               2 * H * T * kb * sizeof(float) + T * vb * QK8_0 + 2 * T * vb * sizeof(float) + T * sizeof(float) +
               H * QK8_0 * hdp * (sizeof(float) + 1) + H * hdp * sizeof(float) + 2 * H * kb * sizeof(float) +
               4 * slots * sizeof(size_t) + slots * REFINE_KEYS * sizeof(int) +
               T * (size_t)g->head_dim * sizeof(float) + H * sizeof(int) + PEAK_TASKS * H * kb * 4 * sizeof(float);
    if (a->k && a->vt && a->q && a->qd && a->qs && a->p && a->pd && a->ps && a->norm && a->stage && a->stage_q &&
        a->stage_d && a->kdmax && a->knmax && a->refined && a->ref_idx && a->ref_out && a->peaked &&
        a->pmax)
        return 0;
    bark_attention_q8_free(g);
    return -1;
}

void bark_attention_refined(const bark_gpt *g, size_t count[4]) {
    const bark_att_q8 *a = &g->aq;
    memset(count, 0, 4 * sizeof *count);
    for (int s = 0; a->refined && s < max_slots(g); s++)
        for (int i = 0; i < 4; i++) count[i] += a->refined[4 * (size_t)s + (size_t)i];
}

void bark_attention_q8_free(bark_gpt *g) {
    bark_att_q8 *a = &g->aq;
    free(a->k), free(a->vt), free(a->q), free(a->qd), free(a->qs), free(a->p), free(a->pd), free(a->ps);
    free(a->norm), free(a->stage), free(a->stage_q), free(a->stage_d), free(a->kdmax), free(a->knmax);
    free(a->refined), free(a->ref_idx), free(a->ref_out), free(a->peaked), free(a->pmax);
    memset(a, 0, sizeof *a);
}

typedef struct att_job {
    bark_gpt *g;
    const bark_kernels *k;
    int T;
    const void *kk, *vv; /* head h's keys / values start at element h * hs, rows ld elements apart */
    int f16;             /* kk, vv hold f16 (the decode path's f16 cache) rather than f32 */
    size_t ld, hs;
    float scale;
    int qb, n_items, n_slots;
} att_job;

/* Keys query t of the current T sees. */
static int keys_seen(const bark_gpt *g, int T, int t) { return g->causal ? g->kv->n_past + t + 1 : T; }

/* One query row q of head_dim values against nk keys and values (f16 or f32 rows ld apart): scores in att, softmax,
 * the weighted sum of the values into out. */
static void attend_row(const att_job *j, const float *q, const void *kk, const void *vv, int nk, float *att,
                       float *out) {
    int hd = j->g->head_dim;
    if (j->f16) j->k->gemv_f16((const uint16_t *)kk, j->ld, nk, q, hd, att, 1);
    else j->k->gemv_f32((const float *)kk, j->ld, nk, q, hd, att, 1);
    for (int s = 0; s < nk; s++) att[s] *= j->scale;
    j->k->softmax_f32(att, nk);
    if (j->f16) j->k->wsum_f16(out, att, (const uint16_t *)vv, j->ld, nk, hd);
    else j->k->wsum_f32(out, att, (const float *)vv, j->ld, nk, hd);
}

/* Start of element `at` of a cache half holding f16 (f16 != 0) or f32. */
static const void *elem(const void *base, int f16, size_t at) {
    return f16 ? (const void *)((const uint16_t *)base + at) : (const void *)((const float *)base + at);
}

/* Few queries: head h of every query row, with its own score row. */
static void att_head_task(void *ctx, int h, int n) {
    att_job *j = ctx;
    bark_gpt *g = j->g;
    int C = g->n_embd, hd = g->head_dim;
    float *att = g->att + (size_t)h * g->n_ctx;
    size_t at = (size_t)h * j->hs;
    for (int t = 0; t < j->T; t++)
        attend_row(j, g->qkv + (size_t)t * 3 * C + (size_t)h * hd, elem(j->kk, j->f16, at), elem(j->vv, j->f16, at),
                   keys_seen(g, j->T, t), att, g->xb + (size_t)t * C + (size_t)h * hd);
}

typedef struct step_job {
    att_job a;
    bark_kv *const *kvs;
    size_t layer;
} step_job;

/* A batched step: item i is head i % H of sequence i / H, with score row i (every cache of a stage holds the same
 * element type, bark_gpt_step_batch checks it). */
static void att_step_task(void *ctx, int i, int n) {
    step_job *sj = ctx;
    att_job *j = &sj->a;
    bark_gpt *g = j->g;
    int C = g->n_embd, hd = g->head_dim, b = i / g->n_head, h = i % g->n_head;
    const bark_kv *kv = sj->kvs[b];
    size_t at = sj->layer + (size_t)h * j->hs;
    attend_row(j, g->qkv + (size_t)b * 3 * C + (size_t)h * hd, elem(kv->k, kv->f16, at), elem(kv->v, kv->f16, at),
               kv->n_past + 1, g->att + (size_t)i * g->n_ctx, g->xb + (size_t)b * C + (size_t)h * hd);
}

void bark_attention_step_batch(bark_gpt *g, bark_kv *const *kvs, int B, size_t layer) {
    step_job sj = {{g, g->ex->k, 1, NULL, NULL, kvs[0]->f16, (size_t)g->head_dim, (size_t)g->n_ctx * g->head_dim,
                    (float)(1.0 / sqrt((double)g->head_dim)), 0, 0, 0},
                   kvs, layer};
    bark_pool_run(g->ex->pool, B * g->n_head, att_step_task, &sj);
}

/* Item it of a block run: head and query rows [q0, q1). */
static void item_rows(const att_job *j, int it, int *h, int *q0, int *q1) {
    *h = it % j->g->n_head;
    *q0 = it / j->g->n_head * j->qb;
    *q1 = imin(j->T, *q0 + j->qb);
}

/* Many queries, f32: slot s takes items s, s + n_slots, ... with its own score rows att + s * qb * n_ctx: scores by
 * sgemm, row softmax (masked keys get probability 0), then P.V by sgemm. Which thread runs a slot changes nothing. */
static void att_block_task(void *ctx, int s, int n) {
    att_job *j = ctx;
    bark_gpt *g = j->g;
    int C = g->n_embd, hd = g->head_dim, h, q0, q1;
    float *S = g->att + (size_t)s * j->qb * g->n_ctx;
    for (int it = s; it < j->n_items; it += j->n_slots) {
        item_rows(j, it, &h, &q0, &q1);
        int rows = q1 - q0, nkb = keys_seen(g, j->T, q1 - 1);
        const float *kh = (const float *)j->kk + (size_t)h * j->hs, *vh = (const float *)j->vv + (size_t)h * j->hs;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, nkb, hd, j->scale,
                    g->qkv + (size_t)q0 * 3 * C + (size_t)h * hd, 3 * C, kh, (int)j->ld, 0.0f, S, nkb);
        for (int r = 0; r < rows; r++) {
            float *row = S + (size_t)r * nkb;
            int nk = keys_seen(g, j->T, q0 + r);
            j->k->softmax_f32(row, nk);
            memset(row + nk, 0, (size_t)(nkb - nk) * sizeof *row);
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, hd, nkb, 1.0f, S, nkb, vh, (int)j->ld, 0.0f,
                    g->xb + (size_t)q0 * C + (size_t)h * hd, C);
    }
}

/* Copies m rows of n floats (ld apart) to stage rows of np floats, zero past n and past row m up to 32 rows. */
static void stage_rows(float *stage, const float *x, size_t ld, int m, int n, int np) {
    for (int r = 0; r < QK8_0; r++) {
        float *d = stage + (size_t)r * np;
        int have = r < m ? n : 0;
        if (have) memcpy(d, x + (size_t)r * ld, (size_t)n * sizeof *d);
        memset(d + have, 0, (size_t)(np - have) * sizeof *d);
    }
}

/* One q8_0 block: scale d (stored as f16; q was rounded against the f32 d) and 32 quantized values. */
static void put_block(block_q8_0 *blk, float d, const int8_t *q) {
    blk->d = bark_f32_to_f16(d);
    memcpy(blk->qs, q, QK8_0);
}

/* Euclidean norm of n int8 values times d (the sum of squares is exact in int32). */
static float block_norm(const int8_t *q, int n, float d) {
    int32_t ss = 0;
    for (int i = 0; i < n; i++) ss += (int32_t)q[i] * q[i];
    return d * sqrtf((float)ss);
}

/* int8 preparation of head h: its keys as q8_0 rows (with, per block, the largest scale and norm: kdmax, knmax), its
 * queries quantized (scales times 1/sqrt(head_dim)) with block sums, its values transposed into q8_0 rows over the
 * keys; 32 keys or queries at a time through the stage. */
static void prep_head_task(void *ctx, int h, int n) {
    att_job *j = ctx;
    bark_gpt *g = j->g;
    bark_att_q8 *a = &g->aq;
    const bark_kernels *k = j->k;
    int C = g->n_embd, hd = g->head_dim, hdp = a->hdp, kb = a->kb, N = keys_seen(g, j->T, j->T - 1);
    float *st = a->stage + (size_t)h * QK8_0 * hdp, *sd = a->stage_d + (size_t)h * hdp;
    int8_t *sq = a->stage_q + (size_t)h * QK8_0 * hdp;
    const float *kh = (const float *)j->kk + (size_t)h * j->hs, *vh = (const float *)j->vv + (size_t)h * j->hs;
    block_q8_0 *kq = a->k + (size_t)h * g->n_ctx * kb, *vt = a->vt + (size_t)h * hd * a->vb;
    float *kdmax = a->kdmax + (size_t)h * kb, *knmax = a->knmax + (size_t)h * kb;
    for (int b = 0; b < kb; b++) kdmax[b] = knmax[b] = 0.0f;
    for (int t0 = 0; t0 < N; t0 += QK8_0) {
        int m = imin(QK8_0, N - t0);
        stage_rows(st, kh + (size_t)t0 * j->ld, j->ld, m, hd, hdp);
        k->quantize_q8(st, sq, sd, NULL, m * hdp);
        for (int i = 0; i < m * kb; i++) {
            block_q8_0 *blk = kq + (size_t)t0 * kb + i;
            put_block(blk, sd[i], sq + (size_t)i * QK8_0);
            float d = bark_f16_to_f32(blk->d), nrm = block_norm(blk->qs, QK8_0, d);
            kdmax[i % kb] = fmaxf(kdmax[i % kb], d), knmax[i % kb] = fmaxf(knmax[i % kb], nrm);
        }
    }
    for (int t0 = 0; t0 < j->T; t0 += QK8_0) {
        int m = imin(QK8_0, j->T - t0);
        size_t at = (size_t)h * g->n_ctx + (size_t)t0;
        stage_rows(st, g->qkv + (size_t)t0 * 3 * C + (size_t)h * hd, 3 * (size_t)C, m, hd, hdp);
        k->quantize_q8(st, a->q + at * hdp, a->qd + at * kb, a->qs + at * kb, m * hdp);
        for (int i = 0; i < m * kb; i++) a->qd[at * kb + (size_t)i] *= j->scale;
    }
    for (int b = 0; b * QK8_0 < N; b++) {
        int m = imin(QK8_0, N - b * QK8_0);
        for (int r = 0; r < QK8_0; r++) {
            const float *vr = vh + (size_t)(b * QK8_0 + r) * j->ld;
            for (int i = 0; i < hd; i++) st[i * QK8_0 + r] = r < m ? vr[i] : 0.0f;
        }
        k->quantize_q8(st, sq, sd, NULL, hd * QK8_0);
        for (int i = 0; i < hd; i++) put_block(vt + (size_t)i * a->vb + b, sd[i], sq + (size_t)i * QK8_0);
    }
}

/* What one block of the head dimension adds to e, the estimated error of an int8 score (scaled units, one standard
 * deviation): the rounding of the query (scale qd: at most qd / 2 per element, about uniform) against the key (its
 * largest block norm kn), that of the key (largest scale kd) against the query (norm qn), and the key scales' f16
 * rounding (relative 2^-11 at most). */
static float add_block_error(float e, float qd, float qn, float kd, float kn) {
    const float rms = 0.288675f, f16 = 4.8828125e-4f; /* 1 / sqrt(12), 2^-11 */
    e += (qd * kn + qn * kd) * rms;
    e += qn * kn * f16;
    return e;
}

/* The estimated error of the int8 scores of query row hq of head h against its keys, from the query's blocks and the
 * keys' largest scale and norm per block. Computed from the quantized values and scales only, as every ISA has them. */
static float score_error(const bark_att_q8 *a, int h, size_t hq) {
    float e = 0.0f;
    for (int b = 0; b < a->kb; b++) {
        float qd = a->qd[hq * a->kb + b], qn = block_norm(a->q + hq * a->hdp + (size_t)b * QK8_0, QK8_0, qd);
        e = add_block_error(e, qd, qn, a->kdmax[(size_t)h * a->kb + b], a->knmax[(size_t)h * a->kb + b]);
    }
    return e;
}

/* The largest magnitude and the norm of x[0..n), over 8 lanes (independent sums, in a fixed order). */
static void amax_norm(const float *x, int n, float *amax, float *norm) {
    float m[8] = {0}, ss[8] = {0}, mx = 0.0f, sum = 0.0f;
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) {
            float a = fabsf(x[i + l]);
            m[l] = a > m[l] ? a : m[l];
            ss[l] += x[i + l] * x[i + l];
        }
    for (; i < n; i++) {
        float a = fabsf(x[i]);
        m[0] = a > m[0] ? a : m[0];
        ss[0] += x[i] * x[i];
    }
    for (int l = 0; l < 8; l++) mx = m[l] > mx ? m[l] : mx, sum += ss[l];
    *amax = mx, *norm = sqrtf(sum);
}

/* Task i's rows of g->qkv: per head and block of the head dimension, the largest query scale (amax / 127) and norm
 * and the largest key scale and norm over its rows, into a->pmax[i] ([n_head][kb][4]). Rows are read whole, in
 * order; maxima do not depend on how the rows are split. */
static void peak_rows_task(void *ctx, int i, int n) {
    const att_job *j = ctx;
    const bark_gpt *g = j->g;
    const bark_att_q8 *a = &g->aq;
    int C = g->n_embd, hd = g->head_dim, kb = a->kb, r0, r1;
    float *mx = a->pmax + (size_t)i * g->n_head * kb * 4;
    bark_task_rows(i, n, j->T, &r0, &r1);
    memset(mx, 0, (size_t)g->n_head * kb * 4 * sizeof *mx);
    for (int t = r0; t < r1; t++)
        for (int part = 0; part < 2; part++) /* queries, keys */
            for (int h = 0; h < g->n_head; h++)
                for (int b = 0; b < kb; b++) {
                    float m, nrm, *o = mx + ((size_t)h * kb + b) * 4 + 2 * part;
                    amax_norm(g->qkv + (size_t)t * 3 * C + (size_t)part * C + (size_t)h * hd + b * QK8_0,
                              imin(QK8_0, hd - b * QK8_0), &m, &nrm);
                    m /= 127.0f;
                    o[0] = m > o[0] ? m : o[0], o[1] = nrm > o[1] ? nrm : o[1];
                }
}

int bark_attention_peaked_heads(bark_gpt *g, int T) {
    bark_att_q8 *a = &g->aq;
    if (!a->peaked) return 0;
    int kb = a->kb, tasks = imin(T, PEAK_TASKS), n = 0;
    float scale = (float)(1.0 / sqrt((double)g->head_dim));
    att_job j = {g, g->ex->k, T, NULL, NULL, 0, 0, 0, scale, 0, 0, 0};
    bark_pool_run(g->ex->pool, tasks, peak_rows_task, &j);
    for (int h = 0; h < g->n_head; h++) {
        float e = 0.0f;
        for (int b = 0; b < kb; b++) {
            float m[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            for (int i = 0; i < tasks; i++)
                for (int c = 0; c < 4; c++) {
                    float v = a->pmax[(((size_t)i * g->n_head + h) * kb + b) * 4 + c];
                    m[c] = v > m[c] ? v : m[c];
                }
            e = add_block_error(e, m[0] * scale, m[1] * scale, m[2], m[3]);
        }
        if (e > a->two_part_above) a->peaked[n++] = h;
    }
    a->heads[0] += (size_t)g->n_head, a->heads[1] += (size_t)n;
    return n;
}

/* A row (query t of head h, nk keys; its int8 scores in row) whose int8 error estimate e is too large, in f32 if it is
 * peaked: the keys whose int8 score is within REFINE_MARGIN + REFINE_SIGMAS * e of the row's int8 max (the only ones
 * that can weigh more than about 1e-5), if at most REFINE_KEYS, get f32 scores (dot_f32 of the f32 query and key,
 * times the scale), compacted to the front of row (their key indices in idx); softmax_f32 over them, then out = the
 * weighted sum of their f32 values (axpy_f32, keys in order). The keys are chosen on the int8 scores and every kernel
 * here is bit-identical to its C twin, so the result is the same on every ISA. Returns how many keys it took, or 0
 * (row and out untouched) when there were more than REFINE_KEYS. */
static size_t refine_row(const att_job *j, int h, int t, float e, float *row, int nk, int *idx, float *out) {
    bark_gpt *g = j->g;
    int hd = g->head_dim;
    const float *q = g->qkv + (size_t)t * 3 * g->n_embd + (size_t)h * hd;
    const float *kh = (const float *)j->kk + (size_t)h * j->hs, *vh = (const float *)j->vv + (size_t)h * j->hs;
    float mx = row[0], wide = REFINE_SIGMAS * e;
    for (int s = 1; s < nk; s++) mx = fmaxf(mx, row[s]);
    float floor = mx - REFINE_MARGIN - wide;
    int n = 0;
    for (int s = 0; s < nk && n <= REFINE_KEYS; s++) n += row[s] >= floor;
    if (n > REFINE_KEYS) return 0;
    n = 0;
    for (int s = 0; s < nk; s++)
        if (row[s] >= floor) { /* n <= s: row[s] is read before row[n] is written */
            idx[n] = s;
            row[n++] = j->k->dot_f32(q, kh + (size_t)s * j->ld, hd) * j->scale;
        }
    j->k->softmax_f32(row, n);
    memset(out, 0, (size_t)hd * sizeof *out);
    for (int i = 0; i < n; i++) j->k->axpy_f32(out, row[i], vh + (size_t)idx[i] * j->ld, hd);
    return (size_t)n;
}

/* Many queries, int8: as att_block_task, with scores and P.V by the q8_0 GEMM. The weights exp(s - max) are
 * quantized per 32 keys (softmax_q8); each output row is then scaled by 1 / its weights' dequantized sum
 * (sum over blocks, in order, of block sum x scale). A row whose estimated score error (score_error) is above
 * a->refine_above is done in f32 over its top keys instead if they are few (refine_row, into ref_out; its weights
 * zeroed for the GEMM and its norm set to 0 to mark it); counted in a->refined[s]. */
static void att_q8_task(void *ctx, int s, int n) {
    att_job *j = ctx;
    bark_gpt *g = j->g;
    bark_att_q8 *a = &g->aq;
    int C = g->n_embd, hd = g->head_dim, kb = a->kb, h, q0, q1;
    size_t first = (size_t)s * j->qb;
    float *S = g->att + first * g->n_ctx, *norm = a->norm + first;
    int8_t *P = a->p + first * a->vb * QK8_0;
    float *Pd = a->pd + first * a->vb;
    int32_t *Ps = a->ps + first * a->vb;
    int *idx = a->ref_idx + (size_t)s * REFINE_KEYS;
    float *ref_out = a->ref_out + first * hd;
    size_t *count = a->refined + 4 * (size_t)s;
    for (int it = s; it < j->n_items; it += j->n_slots) {
        item_rows(j, it, &h, &q0, &q1);
        int rows = q1 - q0, nkb = keys_seen(g, j->T, q1 - 1), np = (nkb + QK8_0 - 1) / QK8_0 * QK8_0,
            nb = np / QK8_0;
        size_t hq = (size_t)h * g->n_ctx + (size_t)q0;
        j->k->gemm_q8_0(a->k + (size_t)h * g->n_ctx * kb, (size_t)kb * sizeof(block_q8_0), nkb, a->q + hq * a->hdp,
                        a->qd + hq * kb, a->qs + hq * kb, a->hdp, rows, S, nkb);
        for (int r = 0; r < rows; r++) {
            size_t o = (size_t)r * nb;
            int nk = keys_seen(g, j->T, q0 + r);
            float e = score_error(a, h, hq + (size_t)r);
            count[0]++, count[1] += (size_t)nk;
            size_t keys = e > a->refine_above ? refine_row(j, h, q0 + r, e, S + (size_t)r * nkb, nk, idx,
                                                           ref_out + (size_t)r * hd) : 0;
            if (keys) {
                count[2]++, count[3] += keys;
                memset(P + o * QK8_0, 0, (size_t)np), memset(Pd + o, 0, (size_t)nb * sizeof *Pd);
                memset(Ps + o, 0, (size_t)nb * sizeof *Ps);
                norm[r] = 0.0f;
                continue;
            }
            j->k->softmax_q8(S + (size_t)r * nkb, nk, np, P + o * QK8_0, Pd + o, Ps + o);
            float sum = 0.0f;
            for (int b = 0; b < nb; b++) sum += (float)Ps[o + b] * Pd[o + b];
            norm[r] = sum;
        }
        float *out = g->xb + (size_t)q0 * C + (size_t)h * hd;
        j->k->gemm_q8_0(a->vt + (size_t)h * hd * a->vb, (size_t)a->vb * sizeof(block_q8_0), hd, P, Pd, Ps, np, rows,
                        out, C);
        for (int r = 0; r < rows; r++) {
            if (norm[r] == 0.0f) {
                memcpy(out + (size_t)r * C, ref_out + (size_t)r * hd, (size_t)hd * sizeof *out);
                continue;
            }
            float inv = 1.0f / norm[r];
            for (int i = 0; i < hd; i++) out[(size_t)r * C + i] *= inv;
        }
    }
}

void bark_attention(bark_gpt *g, int T, const void *k, const void *v, int f16, int int8, size_t ld, size_t hs) {
    att_job j = {g, g->ex->k, T, k, v, f16, ld, hs, (float)(1.0 / sqrt((double)g->head_dim)), 0, 0, 0};
    if (T < 8) {
        bark_pool_run(g->ex->pool, g->n_head, att_head_task, &j);
        return;
    }
    j.qb = query_block(g);
    j.n_items = (T + j.qb - 1) / j.qb * g->n_head;
    j.n_slots = imin(imin(bark_pool_threads(g->ex->pool), max_slots(g)), j.n_items);
    if (int8 && g->aq.k) {
        bark_pool_run(g->ex->pool, g->n_head, prep_head_task, &j);
        bark_pool_run(g->ex->pool, j.n_slots, att_q8_task, &j);
    } else {
        bark_pool_run(g->ex->pool, j.n_slots, att_block_task, &j);
    }
}
