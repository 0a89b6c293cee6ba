/* neon_shared.h: the NEON kernels both Arm tables share (the dotprod table swaps in only the int8 dots). */
#ifndef BARK_NEON_SHARED_H
#define BARK_NEON_SHARED_H

#include <arm_neon.h>

#include "kernels.h"

void bark_neon_quantize_q8(const float *x, int8_t *q, float *d, int32_t *s, int n);
void bark_neon_gemv_f16(const uint16_t *W, size_t ldw, int rows, const float *x, int n, float *y, int ystride);
void bark_neon_gemv_f32(const float *W, size_t ldw, int rows, const float *x, int n, float *y, int ystride);
float bark_neon_dot_f32(const float *a, const float *b, int n);
void bark_neon_axpy_f32(float *y, float a, const float *x, int n);
void bark_neon_wsum_f32(float *y, const float *p, const float *V, size_t ldv, int rows, int n);
void bark_neon_wsum_f16(float *y, const float *p, const uint16_t *V, size_t ldv, int rows, int n);
void bark_neon_f32_to_f16(const float *x, uint16_t *y, int n);
void bark_neon_dequant_q8_0(const void *row, float *y, int n);
void bark_neon_layernorm_f32(float *y, const float *x, const float *w, const float *b, int n);
void bark_neon_gelu_f32(float *x, int n);
void bark_neon_softmax_f32(float *x, int n);
void bark_neon_softmax_q8(const float *x, int n, int np, int8_t *q, float *d, int32_t *s);

/* The fixed reduction of 8 lanes held as lo = lanes 0..3, hi = lanes 4..7. */
static inline float bark_neon_reduce(float32x4_t lo, float32x4_t hi) {
    float32x4_t h = vaddq_f32(lo, hi);
    return (vgetq_lane_f32(h, 0) + vgetq_lane_f32(h, 2)) + (vgetq_lane_f32(h, 1) + vgetq_lane_f32(h, 3));
}

/* y[o] for q8_0 rows given a block-lanes function (lanes 0..3 and 4..7 of one block as int32). */
#define BARK_NEON_Q8_GEMV(NAME, LANES)                                                                           \
    static void NAME(const void *W, size_t row_bytes, int rows, const int8_t *xq, const float *xd, int n,       \
                     float *y, int ystride) {                                                                   \
        int nb = n / QK8_0;                                                                                     \
        for (int o = 0; o < rows; o++) {                                                                        \
            const block_q8_0 *w = (const block_q8_0 *)((const uint8_t *)W + (size_t)o * row_bytes);             \
            float32x4_t lo = vdupq_n_f32(0.0f), hi = vdupq_n_f32(0.0f);                                         \
            for (int b = 0; b < nb; b++) {                                                                      \
                int32x4_t l0, l1;                                                                               \
                LANES(w[b].qs, xq + b * QK8_0, &l0, &l1);                                                       \
                float32x4_t s = vdupq_n_f32(bark_f16_to_f32(w[b].d) * xd[b]);                                   \
                lo = vaddq_f32(lo, vmulq_f32(vcvtq_f32_s32(l0), s));                                            \
                hi = vaddq_f32(hi, vmulq_f32(vcvtq_f32_s32(l1), s));                                            \
            }                                                                                                   \
            y[(size_t)o * ystride] = bark_neon_reduce(lo, hi);                                                  \
        }                                                                                                       \
    }

/* The block rule of arch/kernels.h's gemm_q8_0, a row and a token at a time (the lanes summed exactly). */
#define BARK_NEON_Q8_GEMM(NAME, LANES)                                                                           \
    static void NAME(const void *W, size_t row_bytes, int rows, const int8_t *xq, const float *xd,              \
                     const int32_t *xs, int n, int T, float *Y, int ldy) {                                      \
        int nb = n / QK8_0;                                                                                     \
        (void)xs;                                                                                               \
        for (int t = 0; t < T; t++)                                                                             \
            for (int o = 0; o < rows; o++) {                                                                    \
                const block_q8_0 *w = (const block_q8_0 *)((const uint8_t *)W + (size_t)o * row_bytes);         \
                const int8_t *x = xq + (size_t)t * n;                                                           \
                float acc = 0.0f;                                                                               \
                for (int b = 0; b < nb; b++) {                                                                  \
                    int32x4_t l0, l1;                                                                           \
                    LANES(w[b].qs, x + b * QK8_0, &l0, &l1);                                                    \
                    acc += (float)vaddvq_s32(vaddq_s32(l0, l1)) * (bark_f16_to_f32(w[b].d) * xd[(size_t)t * nb + b]); \
                }                                                                                               \
                Y[(size_t)t * ldy + o] = acc;                                                                   \
            }                                                                                                   \
    }

#endif
