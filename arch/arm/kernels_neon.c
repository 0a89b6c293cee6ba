/* kernels_neon.c: the NEON kernel table for ARMv8-A without dotprod (same operations as arch/c/kernels_c.c). */
#include <float.h>
#include <math.h>

#include "neon_shared.h"
#include "gemv_batch.h"
#include "poly.h"

/* One 32-block held in v[8]: q = nearest-even(x * (1 / d)), d = max|x| / 127; returns the sum of q. */
static inline int32_t quantize_block_neon(const float32x4_t v[8], int8_t *q, float *d) {
    float32x4_t m = vabsq_f32(v[0]);
    for (int k = 1; k < 8; k++) m = vmaxq_f32(m, vabsq_f32(v[k]));
    float dd = vmaxvq_f32(m) / 127.0f;
    dd = dd >= FLT_MIN ? dd : 0.0f;
    float id = dd != 0.0f ? 1.0f / dd : 0.0f;
    int32x4_t sum = vdupq_n_s32(0);
    for (int k = 0; k < 8; k += 2) {
        int32x4_t a = vcvtnq_s32_f32(vmulq_n_f32(v[k], id)), b = vcvtnq_s32_f32(vmulq_n_f32(v[k + 1], id));
        sum = vaddq_s32(sum, vaddq_s32(a, b));
        vst1_s8(q + 4 * k, vqmovn_s16(vcombine_s16(vqmovn_s32(a), vqmovn_s32(b))));
    }
    *d = dd;
    return vaddvq_s32(sum); /* |q| <= 127: exact */
}

void bark_neon_quantize_q8(const float *x, int8_t *q, float *d, int32_t *s, int n) {
    for (int b = 0; b < n / QK8_0; b++) {
        float32x4_t v[8];
        for (int k = 0; k < 8; k++) v[k] = vld1q_f32(x + b * QK8_0 + 4 * k);
        int32_t sum = quantize_block_neon(v, q + b * QK8_0, d + b);
        if (s) s[b] = sum;
    }
}

/* Lanes of one block by widening multiplies and pairwise adds (exact int32 sums of 4 products). */
static inline void lanes_mull(const int8_t *w, const int8_t *x, int32x4_t *l0, int32x4_t *l1) {
    int8x16_t w0 = vld1q_s8(w), w1 = vld1q_s8(w + 16), x0 = vld1q_s8(x), x1 = vld1q_s8(x + 16);
    int32x4_t a = vpaddlq_s16(vmull_s8(vget_low_s8(w0), vget_low_s8(x0)));
    int32x4_t b = vpaddlq_s16(vmull_high_s8(w0, x0));
    int32x4_t c = vpaddlq_s16(vmull_s8(vget_low_s8(w1), vget_low_s8(x1)));
    int32x4_t e = vpaddlq_s16(vmull_high_s8(w1, x1));
    *l0 = vpaddq_s32(a, b);
    *l1 = vpaddq_s32(c, e);
}

BARK_NEON_QGEMV(gemv_q8_0_neon, block_q8_0, bark_neon_q8_0_weights, lanes_mull)
BARK_NEON_QGEMV(gemv_q4_0_neon, block_q4_0, bark_neon_q4_0_weights, lanes_mull)

BARK_NEON_Q8_GEMM(gemm_q8_0_neon, lanes_mull)

/* 8 lanes as two vectors; the tail goes to lanes 0.. in order. */
float bark_neon_dot_f32(const float *a, const float *b, int n) {
    float32x4_t lo = vdupq_n_f32(0.0f), hi = vdupq_n_f32(0.0f);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        lo = vaddq_f32(lo, vmulq_f32(vld1q_f32(a + i), vld1q_f32(b + i)));
        hi = vaddq_f32(hi, vmulq_f32(vld1q_f32(a + i + 4), vld1q_f32(b + i + 4)));
    }
    float l[8];
    vst1q_f32(l, lo);
    vst1q_f32(l + 4, hi);
    for (int j = 0; i < n; i++, j++) l[j] += a[i] * b[i];
    return bark_reduce8(l);
}

void bark_neon_gemv_f32(const float *W, size_t ldw, int rows, const float *x, int n, float *y, int ystride) {
    for (int o = 0; o < rows; o++) y[(size_t)o * ystride] = bark_neon_dot_f32(W + (size_t)o * ldw, x, n);
}

void bark_neon_gemv_f16(const uint16_t *W, size_t ldw, int rows, const float *x, int n, float *y, int ystride) {
    for (int o = 0; o < rows; o++) {
        const uint16_t *w = W + (size_t)o * ldw;
        float32x4_t lo = vdupq_n_f32(0.0f), hi = vdupq_n_f32(0.0f);
        int i = 0;
        for (; i + 8 <= n; i += 8) {
            float16x8_t h = vreinterpretq_f16_u16(vld1q_u16(w + i));
            lo = vaddq_f32(lo, vmulq_f32(vcvt_f32_f16(vget_low_f16(h)), vld1q_f32(x + i)));
            hi = vaddq_f32(hi, vmulq_f32(vcvt_high_f32_f16(h), vld1q_f32(x + i + 4)));
        }
        float l[8];
        vst1q_f32(l, lo);
        vst1q_f32(l + 4, hi);
        for (int j = 0; i < n; i++, j++) l[j] += bark_f16_to_f32(w[i]) * x[i];
        y[(size_t)o * ystride] = bark_reduce8(l);
    }
}

void bark_neon_axpy_f32(float *y, float a, const float *x, int n) {
    int i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vaddq_f32(vld1q_f32(y + i), vmulq_n_f32(vld1q_f32(x + i), a)));
    for (; i < n; i++) y[i] += a * x[i];
}

void bark_neon_f32_to_f16(const float *x, uint16_t *y, int n) {
    int i = 0;
    for (; i + 4 <= n; i += 4) vst1_u16(y + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(x + i))));
    for (; i < n; i++) y[i] = bark_f32_to_f16(x[i]);
}

void bark_neon_dequant_q8_0(const void *row, float *y, int n) {
    const block_q8_0 *b = row;
    for (int i = 0; i < n / QK8_0; i++) {
        float d = bark_f16_to_f32(b[i].d);
        for (int k = 0; k < 4; k++) {
            int16x8_t q = vmovl_s8(vld1_s8(b[i].qs + 8 * k));
            vst1q_f32(y + i * QK8_0 + 8 * k, vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(q))), d));
            vst1q_f32(y + i * QK8_0 + 8 * k + 4, vmulq_n_f32(vcvtq_f32_s32(vmovl_high_s16(q)), d));
        }
    }
}

static inline float32x4_t load_f32x4(const float *v) { return vld1q_f32(v); }
static inline float32x4_t load_f16x4(const uint16_t *v) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(v))); }
static inline float elem_f32(float v) { return v; }

/* y[i] = sum over rows, in order, of p[r] * V[r][i] for V of element type T (loaded by LOAD4, one by ONE). */
#define BARK_NEON_WSUM(NAME, T, LOAD4, ONE)                                                                     \
    void NAME(float *y, const float *p, const T *V, size_t ldv, int rows, int n) {                              \
        int i = 0;                                                                                              \
        for (; i + 16 <= n; i += 16) {                                                                          \
            float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;                                      \
            for (int r = 0; r < rows; r++) {                                                                    \
                const T *v = V + (size_t)r * ldv + i;                                                           \
                a0 = vaddq_f32(a0, vmulq_n_f32(LOAD4(v), p[r]));                                                \
                a1 = vaddq_f32(a1, vmulq_n_f32(LOAD4(v + 4), p[r]));                                            \
                a2 = vaddq_f32(a2, vmulq_n_f32(LOAD4(v + 8), p[r]));                                            \
                a3 = vaddq_f32(a3, vmulq_n_f32(LOAD4(v + 12), p[r]));                                           \
            }                                                                                                   \
            vst1q_f32(y + i, a0);                                                                               \
            vst1q_f32(y + i + 4, a1);                                                                           \
            vst1q_f32(y + i + 8, a2);                                                                           \
            vst1q_f32(y + i + 12, a3);                                                                          \
        }                                                                                                       \
        for (; i < n; i++) {                                                                                    \
            float a = 0.0f;                                                                                     \
            for (int r = 0; r < rows; r++) a += p[r] * ONE(V[(size_t)r * ldv + i]);                            \
            y[i] = a;                                                                                           \
        }                                                                                                       \
    }

BARK_NEON_WSUM(bark_neon_wsum_f32, float, load_f32x4, elem_f32)
BARK_NEON_WSUM(bark_neon_wsum_f16, uint16_t, load_f16x4, bark_f16_to_f32)

static float sum_neon(const float *x, int n) {
    float32x4_t lo = vdupq_n_f32(0.0f), hi = vdupq_n_f32(0.0f);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        lo = vaddq_f32(lo, vld1q_f32(x + i));
        hi = vaddq_f32(hi, vld1q_f32(x + i + 4));
    }
    float l[8];
    vst1q_f32(l, lo);
    vst1q_f32(l + 4, hi);
    for (int j = 0; i < n; i++, j++) l[j] += x[i];
    return bark_reduce8(l);
}

void bark_neon_layernorm_f32(float *y, const float *x, const float *w, const float *b, int n) {
    float mean = sum_neon(x, n) / (float)n;
    float32x4_t vm = vdupq_n_f32(mean), lo = vdupq_n_f32(0.0f), hi = vdupq_n_f32(0.0f);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        float32x4_t c0 = vsubq_f32(vld1q_f32(x + i), vm), c1 = vsubq_f32(vld1q_f32(x + i + 4), vm);
        lo = vaddq_f32(lo, vmulq_f32(c0, c0));
        hi = vaddq_f32(hi, vmulq_f32(c1, c1));
    }
    float l[8];
    vst1q_f32(l, lo);
    vst1q_f32(l + 4, hi);
    for (int j = 0; i < n; i++, j++) {
        float c = x[i] - mean;
        l[j] += c * c;
    }
    float var = bark_reduce8(l) / (float)n;
    float rstd = 1.0f / sqrtf(var + 1e-5f);
    for (i = 0; i + 4 <= n; i += 4) {
        float32x4_t v = vmulq_f32(vmulq_n_f32(vsubq_f32(vld1q_f32(x + i), vm), rstd), vld1q_f32(w + i));
        vst1q_f32(y + i, b ? vaddq_f32(v, vld1q_f32(b + i)) : v);
    }
    for (; i < n; i++) {
        float v = (x[i] - mean) * rstd * w[i];
        y[i] = b ? v + b[i] : v;
    }
}

static inline float32x4_t exp4(float32x4_t x) {
    x = vminq_f32(vmaxq_f32(x, vdupq_n_f32(BARK_EXP_LO)), vdupq_n_f32(BARK_EXP_HI));
    float32x4_t n = vrndnq_f32(vmulq_n_f32(x, BARK_LOG2E));
    float32x4_t r = vsubq_f32(x, vmulq_n_f32(n, BARK_LN2_HI));
    r = vsubq_f32(r, vmulq_n_f32(n, BARK_LN2_LO));
    float32x4_t p = vaddq_f32(vmulq_n_f32(r, BARK_E6), vdupq_n_f32(BARK_E5));
    p = vaddq_f32(vmulq_f32(p, r), vdupq_n_f32(BARK_E4));
    p = vaddq_f32(vmulq_f32(p, r), vdupq_n_f32(BARK_E3));
    p = vaddq_f32(vmulq_f32(p, r), vdupq_n_f32(BARK_E2));
    p = vaddq_f32(vmulq_f32(p, r), vdupq_n_f32(BARK_E1));
    p = vaddq_f32(vmulq_f32(p, r), vdupq_n_f32(1.0f));
    int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
    return vmulq_f32(p, vreinterpretq_f32_s32(e));
}

void bark_neon_gelu_f32(float *x, int n) {
    const float32x4_t one = vdupq_n_f32(1.0f);
    const uint32x4_t sign = vdupq_n_u32(0x80000000u);
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        float32x4_t v = vld1q_f32(x + i);
        float32x4_t z = vmulq_n_f32(vabsq_f32(v), BARK_SQRT1_2);
        float32x4_t t = vdivq_f32(one, vaddq_f32(one, vmulq_n_f32(z, BARK_ERF_P)));
        float32x4_t p = vaddq_f32(vmulq_n_f32(t, BARK_ERF_A5), vdupq_n_f32(BARK_ERF_A4));
        p = vaddq_f32(vmulq_f32(p, t), vdupq_n_f32(BARK_ERF_A3));
        p = vaddq_f32(vmulq_f32(p, t), vdupq_n_f32(BARK_ERF_A2));
        p = vaddq_f32(vmulq_f32(p, t), vdupq_n_f32(BARK_ERF_A1));
        p = vmulq_f32(p, t);
        float32x4_t e = vsubq_f32(one, vmulq_f32(p, exp4(vnegq_f32(vmulq_f32(z, z)))));
        e = vbslq_f32(sign, v, e); /* copysign(e, v) */
        vst1q_f32(x + i, vmulq_f32(vmulq_n_f32(v, 0.5f), vaddq_f32(one, e)));
    }
    for (; i < n; i++) x[i] = bark_gelu_poly(x[i]);
}

/* The maximum is exact in any order. */
static float max_neon(const float *x, int n) {
    float32x4_t m4 = vdupq_n_f32(-INFINITY);
    int i = 0;
    for (; i + 4 <= n; i += 4) m4 = vmaxq_f32(m4, vld1q_f32(x + i));
    float mx = vmaxvq_f32(m4);
    for (; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    return mx;
}

void bark_neon_softmax_f32(float *x, int n) {
    float mx = max_neon(x, n);
    float32x4_t vm = vdupq_n_f32(mx);
    int i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(x + i, exp4(vsubq_f32(vld1q_f32(x + i), vm)));
    for (; i < n; i++) x[i] = bark_exp_poly(x[i] - mx);
    float s = sum_neon(x, n);
    float32x4_t vs = vdupq_n_f32(s);
    for (i = 0; i + 4 <= n; i += 4) vst1q_f32(x + i, vdivq_f32(vld1q_f32(x + i), vs));
    for (; i < n; i++) x[i] = x[i] / s;
}

void bark_neon_softmax_q8(const float *x, int n, int np, int8_t *q, float *d, int32_t *s) {
    float mx = max_neon(x, n);
    float32x4_t vm = vdupq_n_f32(mx);
    int b = 0;
    for (; (b + 1) * QK8_0 <= n; b++) {
        float32x4_t v[8];
        for (int k = 0; k < 8; k++) v[k] = exp4(vsubq_f32(vld1q_f32(x + b * QK8_0 + 4 * k), vm));
        s[b] = quantize_block_neon(v, q + b * QK8_0, d + b);
    }
    for (; b < np / QK8_0; b++) { /* the block holding the n-th value, then zero blocks */
        float e[QK8_0];
        for (int i = 0, k = b * QK8_0; i < QK8_0; i++, k++) e[i] = k < n ? bark_exp_poly(x[k] - mx) : 0.0f;
        float32x4_t v[8];
        for (int k = 0; k < 8; k++) v[k] = vld1q_f32(e + 4 * k);
        s[b] = quantize_block_neon(v, q + b * QK8_0, d + b);
    }
}

BARK_GEMV_Q8_0_BATCH(gemv_q8_0_batch_tiled, gemv_q8_0_neon)
BARK_NEON_Q8_GEMV_BATCH(gemv_q8_0_batch_neon, lanes_mull, gemv_q8_0_neon, gemv_q8_0_batch_tiled)
BARK_GEMV_Q8_0_BATCH(gemv_q4_0_batch_neon, gemv_q4_0_neon)
BARK_GEMV_FLOAT_BATCH(gemv_f16_batch_neon, uint16_t, bark_neon_gemv_f16)
BARK_GEMV_FLOAT_BATCH(gemv_f32_batch_neon, float, bark_neon_gemv_f32)

const bark_kernels bark_kernels_neon = {
    "neon", bark_neon_quantize_q8, gemv_q8_0_neon, gemm_q8_0_neon, bark_neon_gemv_f16, bark_neon_gemv_f32,
    bark_neon_dot_f32, bark_neon_axpy_f32, bark_neon_wsum_f32, bark_neon_layernorm_f32, bark_neon_gelu_f32, bark_neon_softmax_f32,
    bark_neon_wsum_f16, bark_neon_f32_to_f16, bark_neon_dequant_q8_0, bark_neon_softmax_q8, gemv_q8_0_batch_neon,
    gemv_f16_batch_neon, gemv_f32_batch_neon,
    gemv_q4_0_neon, gemv_q4_0_batch_neon,
};
