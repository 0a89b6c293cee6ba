/* kernels_c.c: the plain C kernel table, the reference every SIMD twin must match bit for bit. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "gemv_batch.h"
#include "poly.h"

/* One 32-block by quantize_q8's rule (arch/kernels.h): q = nearest-even(x * (1 / d)), d = max|x| / 127; returns
 * the sum of q. */
static int32_t quantize_block(const float *xb, int8_t *q, float *d) {
    float amax = 0.0f;
    for (int i = 0; i < QK8_0; i++) amax = fmaxf(amax, fabsf(xb[i]));
    float dd = amax / 127.0f;
    dd = dd >= FLT_MIN ? dd : 0.0f;
    float id = dd != 0.0f ? 1.0f / dd : 0.0f;
    int32_t sum = 0;
    for (int i = 0; i < QK8_0; i++) sum += q[i] = (int8_t)nearbyintf(xb[i] * id);
    *d = dd;
    return sum;
}

static void quantize_q8_c(const float *x, int8_t *q, float *d, int32_t *s, int n) {
    for (int b = 0; b < n / QK8_0; b++) {
        int32_t sum = quantize_block(x + b * QK8_0, q + b * QK8_0, d + b);
        if (s) s[b] = sum;
    }
}

/* One q8_0 weight row against quantized activations, by the integer lane rule. */
static float dot_q8_0_row(const block_q8_0 *w, const int8_t *xq, const float *xd, int nb) {
    float acc[8] = {0};
    for (int b = 0; b < nb; b++) {
        float s = bark_f16_to_f32(w[b].d) * xd[b];
        const int8_t *wq = w[b].qs, *aq = xq + b * QK8_0;
        for (int j = 0; j < 8; j++) {
            int32_t l = 0;
            for (int i = 4 * j; i < 4 * j + 4; i++) l += (int32_t)wq[i] * aq[i];
            acc[j] += (float)l * s;
        }
    }
    return bark_reduce8(acc);
}

/* Weight i of a q4_0 block as q - 8: low nibbles hold elements 0..15, high nibbles 16..31. */
static int32_t q4_value(const block_q4_0 *w, int i) {
    return i < QK4_0 / 2 ? (w->qs[i] & 15) - 8 : (w->qs[i - QK4_0 / 2] >> 4) - 8;
}

/* One q4_0 weight row against quantized activations, by the same integer lane rule. */
static float dot_q4_0_row(const block_q4_0 *w, const int8_t *xq, const float *xd, int nb) {
    float acc[8] = {0};
    for (int b = 0; b < nb; b++) {
        float s = bark_f16_to_f32(w[b].d) * xd[b];
        const int8_t *aq = xq + b * QK4_0;
        for (int j = 0; j < 8; j++) {
            int32_t l = 0;
            for (int i = 4 * j; i < 4 * j + 4; i++) l += q4_value(&w[b], i) * aq[i];
            acc[j] += (float)l * s;
        }
    }
    return bark_reduce8(acc);
}

static void gemv_q4_0_c(const void *W, size_t row_bytes, int rows, const int8_t *xq, const float *xd, int n, float *y,
                        int ystride) {
    for (int o = 0; o < rows; o++)
        y[(size_t)o * ystride] =
            dot_q4_0_row((const block_q4_0 *)((const uint8_t *)W + (size_t)o * row_bytes), xq, xd, n / QK4_0);
}

static void gemv_q8_0_c(const void *W, size_t row_bytes, int rows, const int8_t *xq, const float *xd, int n, float *y,
                        int ystride) {
    for (int o = 0; o < rows; o++)
        y[(size_t)o * ystride] =
            dot_q8_0_row((const block_q8_0 *)((const uint8_t *)W + (size_t)o * row_bytes), xq, xd, n / QK8_0);
}

/* The block rule: exact int32 block sums, one float accumulator per output. */
static void gemm_q8_0_c(const void *W, size_t row_bytes, int rows, const int8_t *xq, const float *xd, const int32_t *xs,
                        int n, int T, float *Y, int ldy) {
    int nb = n / QK8_0;
    for (int t = 0; t < T; t++)
        for (int o = 0; o < rows; o++) {
            const block_q8_0 *w = (const block_q8_0 *)((const uint8_t *)W + (size_t)o * row_bytes);
            const int8_t *x = xq + (size_t)t * n;
            float acc = 0.0f;
            for (int b = 0; b < nb; b++) {
                int32_t I = 0;
                for (int i = 0; i < QK8_0; i++) I += (int32_t)w[b].qs[i] * x[b * QK8_0 + i];
                acc += (float)I * (bark_f16_to_f32(w[b].d) * xd[(size_t)t * nb + b]);
            }
            Y[(size_t)t * ldy + o] = acc;
        }
}

static float dot_f32_c(const float *a, const float *b, int n) {
    float acc[8] = {0};
    for (int i = 0; i < n; i++) acc[i % 8] += a[i] * b[i];
    return bark_reduce8(acc);
}

static void gemv_f32_c(const float *W, size_t ldw, int rows, const float *x, int n, float *y, int ystride) {
    for (int o = 0; o < rows; o++) y[(size_t)o * ystride] = dot_f32_c(W + (size_t)o * ldw, x, n);
}

static void gemv_f16_c(const uint16_t *W, size_t ldw, int rows, const float *x, int n, float *y, int ystride) {
    for (int o = 0; o < rows; o++) {
        const uint16_t *w = W + (size_t)o * ldw;
        float acc[8] = {0};
        for (int i = 0; i < n; i++) acc[i % 8] += bark_f16_to_f32(w[i]) * x[i];
        y[(size_t)o * ystride] = bark_reduce8(acc);
    }
}

static void axpy_f32_c(float *y, float a, const float *x, int n) {
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

static void wsum_f32_c(float *y, const float *p, const float *V, size_t ldv, int rows, int n) {
    for (int i = 0; i < n; i++) y[i] = 0.0f;
    for (int r = 0; r < rows; r++) axpy_f32_c(y, p[r], V + (size_t)r * ldv, n);
}

static void wsum_f16_c(float *y, const float *p, const uint16_t *V, size_t ldv, int rows, int n) {
    for (int i = 0; i < n; i++) y[i] = 0.0f;
    for (int r = 0; r < rows; r++)
        for (int i = 0; i < n; i++) y[i] += p[r] * bark_f16_to_f32(V[(size_t)r * ldv + i]);
}

static void f32_to_f16_c(const float *x, uint16_t *y, int n) {
    for (int i = 0; i < n; i++) y[i] = bark_f32_to_f16(x[i]);
}

static void dequant_q8_0_c(const void *row, float *y, int n) { bark_dequantize_row(BARK_TYPE_Q8_0, row, y, n); }

static float sum_f32(const float *x, int n) {
    float acc[8] = {0};
    for (int i = 0; i < n; i++) acc[i % 8] += x[i];
    return bark_reduce8(acc);
}

static void layernorm_f32_c(float *y, const float *x, const float *w, const float *b, int n) {
    float mean = sum_f32(x, n) / (float)n;
    float acc[8] = {0};
    for (int i = 0; i < n; i++) {
        float c = x[i] - mean;
        acc[i % 8] += c * c;
    }
    float var = bark_reduce8(acc) / (float)n;
    float rstd = 1.0f / sqrtf(var + 1e-5f);
    for (int i = 0; i < n; i++) {
        float v = (x[i] - mean) * rstd * w[i];
        y[i] = b ? v + b[i] : v;
    }
}

static void gelu_f32_c(float *x, int n) {
    for (int i = 0; i < n; i++) x[i] = bark_gelu_poly(x[i]);
}

static void softmax_f32_c(float *x, int n) {
    float mx = -INFINITY;
    for (int i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    for (int i = 0; i < n; i++) x[i] = bark_exp_poly(x[i] - mx);
    float s = sum_f32(x, n);
    for (int i = 0; i < n; i++) x[i] = x[i] / s;
}

static void softmax_q8_c(const float *x, int n, int np, int8_t *q, float *d, int32_t *s) {
    float mx = -INFINITY;
    for (int i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    for (int b = 0; b < np / QK8_0; b++) {
        float e[QK8_0];
        for (int i = 0, k = b * QK8_0; i < QK8_0; i++, k++) e[i] = k < n ? bark_exp_poly(x[k] - mx) : 0.0f;
        s[b] = quantize_block(e, q + b * QK8_0, d + b);
    }
}

BARK_GEMV_Q8_0_BATCH(gemv_q8_0_batch_c, gemv_q8_0_c)
BARK_GEMV_Q8_0_BATCH(gemv_q4_0_batch_c, gemv_q4_0_c)
BARK_GEMV_FLOAT_BATCH(gemv_f16_batch_c, uint16_t, gemv_f16_c)
BARK_GEMV_FLOAT_BATCH(gemv_f32_batch_c, float, gemv_f32_c)

const bark_kernels bark_kernels_c = {
    "c", quantize_q8_c, gemv_q8_0_c, gemm_q8_0_c, gemv_f16_c, gemv_f32_c, dot_f32_c, axpy_f32_c, wsum_f32_c,
    layernorm_f32_c, gelu_f32_c, softmax_f32_c, wsum_f16_c, f32_to_f16_c, dequant_q8_0_c, softmax_q8_c,
    gemv_q8_0_batch_c, gemv_f16_batch_c, gemv_f32_batch_c, gemv_q4_0_c, gemv_q4_0_batch_c,
};
