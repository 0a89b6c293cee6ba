/* hubert_ops.c: float kernels for HuBERT and its quantizer (8-way partial sums, rows expanded once). */
#include "clone/hubert_ops.h"

#include <math.h>
#include <stdint.h>

float hb_dot(const float *a, const float *b, size_t n) {
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) s[j] += a[i + j] * b[i + j];
    float r = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
    for (; i < n; i++) r += a[i] * b[i];
    return r;
}

float hb_vec(const bark_tensor *t, size_t i) {
    if (t->type == BARK_TYPE_F16) return bark_f16_to_f32(((const uint16_t *)t->data)[i]);
    return ((const float *)t->data)[i];
}

size_t hb_row_len(const bark_tensor *W) {
    size_t n = 1;
    for (int d = 0; d + 1 < W->n_dims; d++) n *= (size_t)W->ne[d];
    return n;
}

void hb_linear(float *y, size_t ys, const float *x, size_t xs, size_t T, const bark_tensor *W, const bark_tensor *b,
               float *row) {
    const size_t in = hb_row_len(W), out = (size_t)W->ne[W->n_dims - 1];
    const size_t row_bytes = W->nbytes / out;
    for (size_t o0 = 0; o0 < out; o0 += HB_ROW_BLOCK) {
        const size_t nb = out - o0 < HB_ROW_BLOCK ? out - o0 : HB_ROW_BLOCK;
        float bo[HB_ROW_BLOCK];
        for (size_t j = 0; j < nb; j++) {
            bark_dequantize_row(W->type, (const uint8_t *)W->data + (o0 + j) * row_bytes, row + j * in, (int64_t)in);
            bo[j] = b && b->data ? hb_vec(b, o0 + j) : 0.0f;
        }
        for (size_t t = 0; t < T; t++)
            for (size_t j = 0; j < nb; j++) y[t * ys + o0 + j] = hb_dot(row + j * in, x + t * xs, in) + bo[j];
    }
}

void hb_layernorm(float *x, size_t T, size_t C, const bark_tensor *w, const bark_tensor *b) {
    for (size_t t = 0; t < T; t++) {
        float *xt = x + t * C;
        double mean = 0.0, var = 0.0;
        for (size_t i = 0; i < C; i++) mean += xt[i];
        mean /= (double)C;
        for (size_t i = 0; i < C; i++) var += (xt[i] - mean) * (xt[i] - mean);
        var /= (double)C;
        const float m = (float)mean, rstd = (float)(1.0 / sqrt(var + 1e-5));
        for (size_t i = 0; i < C; i++) xt[i] = (xt[i] - m) * rstd * hb_vec(w, i) + hb_vec(b, i);
    }
}

float hb_gelu(float x) { return 0.5f * x * (1.0f + erff(x * (float)M_SQRT1_2)); }
