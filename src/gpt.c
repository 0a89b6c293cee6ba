/* gpt.c: the nanoGPT-style forward pass of Bark's GPTs (pre-LN blocks, exact GELU, f32 accumulation). */
#include "gpt.h"

#include "error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Start of row r of a 2-D tensor whose rows have ne[0] elements of its type. */
static const void *tensor_row(const bark_tensor *t, int64_t r) {
    return (const uint8_t *)t->data + (size_t)r * bark_type_row_size(t->type, t->ne[0]);
}

/* Element i of a 1-D float tensor (norm weights and biases are f32, f16 is accepted too). */
static float vec_at(const bark_tensor *t, int64_t i) {
    if (t->type == BARK_TYPE_F16) return bark_f16_to_f32(((const uint16_t *)t->data)[i]);
    return ((const float *)t->data)[i];
}

static float dot(const float *a, const float *b, int n) {
    float s = 0.0f;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

bark_status bark_gpt_init(bark_gpt *g, const bark_gpt_weights *w, int causal, bark_error *err) {
    memset(g, 0, sizeof *g);
    const bark_gpt_hparams *hp = &w->hp;
    if (hp->n_embd <= 0 || hp->n_head <= 0 || hp->n_embd % hp->n_head != 0 || hp->block_size <= 0 ||
        hp->n_layer <= 0 || hp->n_layer > BARK_MAX_LAYERS)
        return bark_fail(err, BARK_ERR_FORMAT, "gpt: bad hyper-parameters (n_embd %d, n_head %d, n_layer %d)",
                         hp->n_embd, hp->n_head, hp->n_layer);
    g->w = w;
    g->causal = causal;
    g->n_embd = hp->n_embd;
    g->n_head = hp->n_head;
    g->head_dim = hp->n_embd / hp->n_head;
    g->n_ctx = hp->block_size;
    size_t C = (size_t)hp->n_embd, T = (size_t)hp->block_size, L = (size_t)hp->n_layer;
    g->x = malloc(T * C * sizeof(float));
    g->xb = malloc(T * C * sizeof(float));
    g->qkv = malloc(T * 3 * C * sizeof(float));
    g->hb = malloc(T * 4 * C * sizeof(float));
    g->att = malloc(T * sizeof(float));
    g->row = malloc(4 * C * sizeof(float));
    int ok = g->x && g->xb && g->qkv && g->hb && g->att && g->row;
    if (ok && causal) {
        g->k_cache = malloc(L * T * C * sizeof(float));
        g->v_cache = malloc(L * T * C * sizeof(float));
        ok = g->k_cache && g->v_cache;
    }
    if (!ok) {
        bark_gpt_free(g);
        return bark_fail(err, BARK_ERR_NOMEM, "gpt: out of memory for the run state (%zu positions x %zu)", T, C);
    }
    return BARK_OK;
}

void bark_gpt_free(bark_gpt *g) {
    if (!g) return;
    free(g->x);
    free(g->xb);
    free(g->qkv);
    free(g->hb);
    free(g->att);
    free(g->row);
    free(g->k_cache);
    free(g->v_cache);
    memset(g, 0, sizeof *g);
}

void bark_gpt_reset(bark_gpt *g) { g->n_past = 0; }

/* y[t] = LayerNorm(x[t]) over C channels, eps 1e-5, biased variance; b may be absent. */
static void layernorm(float *y, const float *x, int T, int C, const bark_tensor *w, const bark_tensor *b) {
    for (int t = 0; t < T; t++) {
        const float *xt = x + (size_t)t * C;
        float *yt = y + (size_t)t * C;
        float mean = 0.0f, var = 0.0f;
        for (int i = 0; i < C; i++) mean += xt[i];
        mean /= (float)C;
        for (int i = 0; i < C; i++) var += (xt[i] - mean) * (xt[i] - mean);
        var /= (float)C;
        float rstd = 1.0f / sqrtf(var + 1e-5f);
        for (int i = 0; i < C; i++) {
            float v = (xt[i] - mean) * rstd * vec_at(w, i);
            yt[i] = b->data ? v + vec_at(b, i) : v;
        }
    }
}

/* y[t][o] = W[o] . x[t] (+ b[o]) for T rows; W has ne {in, out}; each weight row is expanded once. */
static void linear(bark_gpt *g, float *y, int ystride, const float *x, int xstride, int T, const bark_tensor *W,
                   const bark_tensor *b) {
    int in = (int)W->ne[0], out = (int)W->ne[1];
    for (int o = 0; o < out; o++) {
        bark_dequantize_row(W->type, tensor_row(W, o), g->row, in);
        float bo = b && b->data ? vec_at(b, o) : 0.0f;
        for (int t = 0; t < T; t++) y[(size_t)t * ystride + o] = dot(g->row, x + (size_t)t * xstride, in) + bo;
    }
}

/* Adds row `id` of the embedding table E into dst[C]. */
static void add_row(bark_gpt *g, float *dst, const bark_tensor *E, int64_t id) {
    bark_dequantize_row(E->type, tensor_row(E, id), g->row, g->n_embd);
    for (int i = 0; i < g->n_embd; i++) dst[i] += g->row[i];
}

static float gelu(float x) { return 0.5f * x * (1.0f + erff(x * (float)M_SQRT1_2)); }

/* Multi-head attention of T queries (qkv rows) against keys/values k, v with row strides ks;
 * query t sees keys 0..n_past+t when causal, all T keys otherwise. Heads go to xb[t][h*hd ..]. */
static void attention(bark_gpt *g, int T, const float *k, const float *v, int ks) {
    int C = g->n_embd, hd = g->head_dim;
    float scale = (float)(1.0 / sqrt((double)hd));
    for (int h = 0; h < g->n_head; h++) {
        for (int t = 0; t < T; t++) {
            const float *q = g->qkv + (size_t)t * 3 * C + (size_t)h * hd;
            int nk = g->causal ? g->n_past + t + 1 : T;
            float mx = -INFINITY;
            for (int s = 0; s < nk; s++) {
                g->att[s] = dot(q, k + (size_t)s * ks + (size_t)h * hd, hd) * scale;
                if (g->att[s] > mx) mx = g->att[s];
            }
            float sum = 0.0f;
            for (int s = 0; s < nk; s++) {
                g->att[s] = expf(g->att[s] - mx);
                sum += g->att[s];
            }
            float *y = g->xb + (size_t)t * C + (size_t)h * hd;
            for (int i = 0; i < hd; i++) y[i] = 0.0f;
            for (int s = 0; s < nk; s++) {
                float p = g->att[s] / sum;
                const float *vs = v + (size_t)s * ks + (size_t)h * hd;
                for (int i = 0; i < hd; i++) y[i] += p * vs[i];
            }
        }
    }
}

/* Runs every block over the T rows of g->x (positions n_past.. for causal stages). */
static void blocks(bark_gpt *g, int T) {
    const bark_gpt_weights *w = g->w;
    int C = g->n_embd;
    size_t TC = (size_t)T * C;
    for (int l = 0; l < w->hp.n_layer; l++) {
        const bark_gpt_layer *ly = &w->layer[l];
        layernorm(g->xb, g->x, T, C, &ly->ln1_w, &ly->ln1_b);
        linear(g, g->qkv, 3 * C, g->xb, C, T, &ly->qkv_w, &ly->qkv_b);
        if (g->causal) {
            float *kc = g->k_cache + (size_t)l * g->n_ctx * C, *vc = g->v_cache + (size_t)l * g->n_ctx * C;
            for (int t = 0; t < T; t++) {
                const float *r = g->qkv + (size_t)t * 3 * C;
                memcpy(kc + (size_t)(g->n_past + t) * C, r + C, (size_t)C * sizeof(float));
                memcpy(vc + (size_t)(g->n_past + t) * C, r + 2 * C, (size_t)C * sizeof(float));
            }
            attention(g, T, kc, vc, C);
        } else {
            attention(g, T, g->qkv + C, g->qkv + 2 * C, 3 * C);
        }
        linear(g, g->hb, C, g->xb, C, T, &ly->out_w, &ly->out_b);
        for (size_t i = 0; i < TC; i++) g->x[i] += g->hb[i];
        layernorm(g->xb, g->x, T, C, &ly->ln2_w, &ly->ln2_b);
        linear(g, g->hb, 4 * C, g->xb, C, T, &ly->up_w, &ly->up_b);
        for (size_t i = 0; i < TC * 4; i++) g->hb[i] = gelu(g->hb[i]);
        linear(g, g->qkv, C, g->hb, 4 * C, T, &ly->down_w, &ly->down_b);
        for (size_t i = 0; i < TC; i++) g->x[i] += g->qkv[i];
    }
}

bark_status bark_gpt_forward(bark_gpt *g, const int32_t *ids, const int32_t *ids2, int T, float *logits,
                             bark_error *err) {
    const bark_gpt_weights *w = g->w;
    if (!g->causal) return bark_fail(err, BARK_ERR_ARG, "gpt: the fine stage has no causal forward");
    if (T <= 0 || T > g->n_ctx - g->n_past)
        return bark_fail(err, BARK_ERR_ARG, "gpt: %d new tokens after %d do not fit the context of %d", T,
                         g->n_past, g->n_ctx);
    int C = g->n_embd, V = w->hp.input_vocab;
    for (int t = 0; t < T; t++) {
        int32_t bad = ids[t] < 0 || ids[t] >= V ? ids[t] : ids2 && ids2[t] >= V ? ids2[t] : 0;
        if (bad != 0)
            return bark_fail(err, BARK_ERR_ARG, "gpt: token id %d at position %d is outside 0..%d", (int)bad,
                             g->n_past + t, V - 1);
    }
    for (int t = 0; t < T; t++) {
        float *xt = g->x + (size_t)t * C;
        memset(xt, 0, (size_t)C * sizeof(float));
        add_row(g, xt, &w->wte[0], ids[t]);
        if (ids2 && ids2[t] >= 0) add_row(g, xt, &w->wte[0], ids2[t]);
        add_row(g, xt, &w->wpe, g->n_past + t);
    }
    blocks(g, T);
    g->n_past += T;
    const float *last = g->x + (size_t)(T - 1) * C;
    layernorm(g->xb, last, 1, C, &w->lnf_w, &w->lnf_b);
    linear(g, logits, 0, g->xb, C, 1, &w->lm_head[0], NULL);
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
    blocks(g, T);
    int n = T - t0;
    layernorm(g->xb, g->x + (size_t)t0 * C, n, C, &w->lnf_w, &w->lnf_b);
    linear(g, logits, w->hp.output_vocab, g->xb, C, n, &w->lm_head[pred - ncg], NULL);
    return BARK_OK;
}
