/* hubert_quantizer.c: gitmylo's HuBERT quantizer: 2-layer LSTM, optional intermediate Linear, Linear, argmax. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "clone/hubert.h"
#include "clone/hubert_ops.h"

int bark_model_has_hubq(const bark_model *m) { return bark_model_find(m, "hubq.fc.weight") != NULL; }

/* The tensor with exactly ne {ne0[, ne1]} (ne1 < 0: 1-D); matrices may be q8_0, vectors f32/f16. */
static bark_status want(const bark_model *m, const char *name, int64_t ne0, int64_t ne1, bark_tensor *out,
                        bark_error *err) {
    const bark_tensor *t = bark_model_find(m, name);
    if (!t) return bark_fail(err, BARK_ERR_MISSING, "%s: tensor '%s' is missing", bark_model_path(m), name);
    int dims = ne1 < 0 ? 1 : 2;
    if (t->n_dims != dims || t->ne[0] != ne0 || (dims == 2 && t->ne[1] != ne1))
        return bark_fail(err, BARK_ERR_FORMAT, "%s: tensor '%s' has the wrong shape", bark_model_path(m), name);
    if (t->type != BARK_TYPE_F32 && t->type != BARK_TYPE_F16 && !(dims == 2 && t->type == BARK_TYPE_Q8_0))
        return bark_fail(err, BARK_ERR_FORMAT, "%s: tensor '%s' has type %s", bark_model_path(m), name,
                         bark_type_name(t->type));
    *out = *t;
    return BARK_OK;
}

void hubq_free(hubq_model *q) {
    if (!q) return;
    free(q->w_hh[0]);
    free(q->w_hh[1]);
    memset(q, 0, sizeof *q);
}

bark_status hubq_load(const bark_model *m, hubq_model *q, bark_error *err) {
    memset(q, 0, sizeof *q);
    const bark_tensor *fc = bark_model_find(m, "hubq.fc.weight"), *ih = bark_model_find(m, "hubq.lstm.weight_ih_l0");
    if (!fc || !ih)
        return bark_fail(err, BARK_ERR_MISSING, "%s: no HuBERT quantizer (hubq.* tensors); convert its .pth with "
                         "`bark convert`", bark_model_path(m));
    if (ih->n_dims != 2 || ih->ne[1] % 4 || ih->ne[1] < 4 || ih->ne[1] > 4 * 8192 || ih->ne[0] < 1 ||
        ih->ne[0] > 8192 || fc->n_dims != 2 || fc->ne[1] < 1 || fc->ne[1] > 1000000 || fc->ne[0] > 65536)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: the quantizer's LSTM or fc has an impossible shape",
                         bark_model_path(m));
    q->n_in = (int)ih->ne[0];
    q->n_hidden = (int)(ih->ne[1] / 4);
    q->n_out = (int)fc->ne[1];
    q->version = bark_model_find(m, "hubq.intermediate.weight") ? 1 : 0;
    q->n_inter = q->version ? (int)fc->ne[0] : 0;
    const int64_t H = q->n_hidden;
    bark_status st = BARK_OK;
    bark_tensor whh;
    for (int l = 0; l < 2 && !st; l++) {
        char name[64];
        snprintf(name, sizeof name, "hubq.lstm.weight_ih_l%d", l);
        st = want(m, name, l ? H : q->n_in, 4 * H, &q->w_ih[l], err);
        snprintf(name, sizeof name, "hubq.lstm.weight_hh_l%d", l);
        if (!st) st = want(m, name, H, 4 * H, &whh, err);
        snprintf(name, sizeof name, "hubq.lstm.bias_ih_l%d", l);
        if (!st) st = want(m, name, 4 * H, -1, &q->b_ih[l], err);
        snprintf(name, sizeof name, "hubq.lstm.bias_hh_l%d", l);
        if (!st) st = want(m, name, 4 * H, -1, &q->b_hh[l], err);
        if (!st && !(q->w_hh[l] = malloc((size_t)(4 * H * H) * sizeof(float))))
            st = bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory for the quantizer", bark_model_path(m));
        const size_t row_bytes = st ? 0 : whh.nbytes / (size_t)(4 * H);
        for (int64_t r = 0; !st && r < 4 * H; r++)
            bark_dequantize_row(whh.type, (const uint8_t *)whh.data + (size_t)r * row_bytes, q->w_hh[l] + r * H, H);
    }
    if (!st && q->version) {
        st = want(m, "hubq.intermediate.weight", H, q->n_inter, &q->inter_w, err);
        if (!st) st = want(m, "hubq.intermediate.bias", q->n_inter, -1, &q->inter_b, err);
    }
    if (!st) st = want(m, "hubq.fc.weight", q->version ? q->n_inter : H, q->n_out, &q->fc_w, err);
    if (!st) st = want(m, "hubq.fc.bias", q->n_out, -1, &q->fc_b, err);
    if (st) hubq_free(q);
    return st;
}

static float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

/* One LSTM layer over T steps: g[T][4H] holds W_ih x + b_ih on entry; h_out[T][H] gets the hidden states. */
static void lstm_layer(const hubq_model *q, int l, float *g, size_t T, float *h_out, float *c, float *gh) {
    const size_t H = (size_t)q->n_hidden;
    memset(c, 0, H * sizeof *c);
    for (size_t t = 0; t < T; t++) {
        float *gt = g + t * 4 * H;
        const float *hp = t ? h_out + (t - 1) * H : NULL;
        for (size_t r = 0; r < 4 * H; r++)
            gh[r] = gt[r] + hb_vec(&q->b_hh[l], r) + (hp ? hb_dot(q->w_hh[l] + r * H, hp, H) : 0.0f);
        float *ht = h_out + t * H;
        for (size_t j = 0; j < H; j++) {
            const float i = sigmoid(gh[j]), f = sigmoid(gh[H + j]), gg = tanhf(gh[2 * H + j]),
                        o = sigmoid(gh[3 * H + j]);
            c[j] = f * c[j] + i * gg;
            ht[j] = o * tanhf(c[j]);
        }
    }
}

bark_status hubq_tokens(const hubq_model *q, const float *feat, size_t T, int32_t *tokens, float *min_margin,
                        bark_error *err) {
    if (T == 0) return bark_fail(err, BARK_ERR_ARG, "quantizer: no feature frames");
    const size_t H = (size_t)q->n_hidden, I = (size_t)q->n_inter, O = (size_t)q->n_out, N = (size_t)q->n_in;
    size_t rowlen = N > H ? N : H;
    rowlen = rowlen > I ? rowlen : I;
    float *g = malloc(T * 4 * H * sizeof(float)), *h = malloc(T * H * sizeof(float));
    float *mid = I ? malloc(T * I * sizeof(float)) : NULL, *logits = malloc(T * O * sizeof(float));
    float *c = malloc(H * sizeof(float)), *gh = malloc(4 * H * sizeof(float)), *row = malloc(HB_ROW_BLOCK * rowlen * sizeof(float));
    bark_status st = BARK_OK;
    if (!g || !h || (I && !mid) || !logits || !c || !gh || !row) {
        st = bark_fail(err, BARK_ERR_NOMEM, "quantizer: out of memory for %zu frames", T);
        goto done;
    }
    hb_linear(g, 4 * H, feat, N, T, &q->w_ih[0], &q->b_ih[0], row);
    lstm_layer(q, 0, g, T, h, c, gh);
    hb_linear(g, 4 * H, h, H, T, &q->w_ih[1], &q->b_ih[1], row);
    lstm_layer(q, 1, g, T, h, c, gh);
    const float *last = h;
    size_t last_len = H;
    if (I) {
        hb_linear(mid, I, h, H, T, &q->inter_w, &q->inter_b, row);
        last = mid;
        last_len = I;
    }
    hb_linear(logits, O, last, last_len, T, &q->fc_w, &q->fc_b, row);
    float margin = FLT_MAX;
    for (size_t t = 0; t < T; t++) {
        const float *lg = logits + t * O;
        size_t best = 0;
        for (size_t o = 1; o < O; o++)
            if (lg[o] > lg[best]) best = o;
        float second = -FLT_MAX;
        for (size_t o = 0; o < O; o++)
            if (o != best && lg[o] > second) second = lg[o];
        if (O > 1 && lg[best] - second < margin) margin = lg[best] - second;
        tokens[t] = (int32_t)best;
    }
    if (min_margin) *min_margin = margin;
done:
    free(g);
    free(h);
    free(mid);
    free(logits);
    free(c);
    free(gh);
    free(row);
    return st;
}
