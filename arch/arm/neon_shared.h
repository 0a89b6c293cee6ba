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

/* A block's 32 weights as int8 for the lanes functions: q8_0 blocks hold them; q4_0 blocks are unpacked into tmp
 * as q - 8 (low nibbles elements 0..15, high nibbles 16..31). */
static inline const int8_t *bark_neon_q8_0_weights(const block_q8_0 *b, int8_t *tmp) {
    (void)tmp;
    return b->qs;
}
static inline const int8_t *bark_neon_q4_0_weights(const block_q4_0 *b, int8_t *tmp) {
    uint8x16_t v = vld1q_u8(b->qs);
    vst1q_s8(tmp, vsubq_s8(vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(15))), vdupq_n_s8(8)));
    vst1q_s8(tmp + 16, vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(v, 4)), vdupq_n_s8(8)));
    return tmp;
}

/* y[o] for rows of BLOCK (q8_0 or q4_0) given its WEIGHTS function and a block-lanes function (lanes 0..3 and 4..7
 * of one block as int32). */
#define BARK_NEON_QGEMV(NAME, BLOCK, WEIGHTS, LANES)                                                             \
    static void NAME(const void *W, size_t row_bytes, int rows, const int8_t *xq, const float *xd, int n,       \
                     float *y, int ystride) {                                                                   \
        int nb = n / QK8_0;                                                                                     \
        int8_t tmp[QK8_0];                                                                                      \
        for (int o = 0; o < rows; o++) {                                                                        \
            const BLOCK *w = (const BLOCK *)((const uint8_t *)W + (size_t)o * row_bytes);                       \
            float32x4_t lo = vdupq_n_f32(0.0f), hi = vdupq_n_f32(0.0f);                                         \
            for (int b = 0; b < nb; b++) {                                                                      \
                int32x4_t l0, l1;                                                                               \
                LANES(WEIGHTS(&w[b], tmp), xq + b * QK8_0, &l0, &l1);                                           \
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

#define BARK_NQ_ROWS 4     /* weight rows per tile of the batched GEMV */
#define BARK_NQ_SEQ 2      /* batch rows per pass: 4 x 2 x 2 accumulators of the 32 registers */
#define BARK_NQ_MAX_NB 128 /* longest row (in blocks) the on-stack scales hold: Bark's widest is 4 x 1024 values */

/* S[(r * m + i) * BARK_NQ_MAX_NB + b] = ws[r * BARK_NQ_MAX_NB + b] * xd[i * nb + b]: the scale products of the lane
 * rule (weight scale times activation scale, one float multiply) of R weight rows and m batch rows. */
static inline void bark_neon_q8_scales(const float *ws, int R, const float *xd, int nb, int m, float *S) {
    for (int r = 0; r < R; r++)
        for (int i = 0; i < m; i++) {
            const float *w = ws + r * BARK_NQ_MAX_NB, *x = xd + (size_t)i * nb;
            float *s = S + (r * m + i) * BARK_NQ_MAX_NB;
            int b = 0;
            for (; b + 4 <= nb; b += 4) vst1q_f32(s + b, vmulq_f32(vld1q_f32(w + b), vld1q_f32(x + b)));
            for (; b < nb; b++) s[b] = w[b] * x[b];
        }
}

/* Defines NAME, a gemv_q8_0_batch kernel over a block-lanes function: tiles of BARK_NQ_ROWS weight rows (their
 * scales converted once) x BARK_NQ_SEQ batch rows, each block's weights loaded once for the tile's batch rows and
 * every output by the lane rule as the single-row GEMV1 computes it. B = 1 runs GEMV1; rows longer than
 * BARK_NQ_MAX_NB blocks run TILED (the same bits either way). */
#define BARK_NEON_Q8_GEMV_BATCH(NAME, LANES, GEMV1, TILED)                                                      \
    static inline __attribute__((always_inline)) void NAME##_tile(const uint8_t *w0, size_t row_bytes, const int R, \
                                                                  const int8_t *xq, int n, int nb, const int M, \
                                                                  const float *S, float *Y, int ldy) {          \
        float32x4_t acc[BARK_NQ_ROWS][BARK_NQ_SEQ][2];                                                          \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                                     \
        _Pragma("GCC unroll 2") for (int i = 0; i < M; i++) acc[r][i][0] = acc[r][i][1] = vdupq_n_f32(0.0f);    \
        for (int b = 0; b < nb; b++) {                                                                          \
            _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) {                                               \
                const block_q8_0 *w = (const block_q8_0 *)(w0 + (size_t)r * row_bytes) + b;                     \
                _Pragma("GCC unroll 2") for (int i = 0; i < M; i++) {                                           \
                    int32x4_t l0, l1;                                                                           \
                    LANES(w->qs, xq + (size_t)i * n + b * QK8_0, &l0, &l1);                                     \
                    float32x4_t s = vdupq_n_f32(S[(r * M + i) * BARK_NQ_MAX_NB + b]);                           \
                    acc[r][i][0] = vaddq_f32(acc[r][i][0], vmulq_f32(vcvtq_f32_s32(l0), s));                    \
                    acc[r][i][1] = vaddq_f32(acc[r][i][1], vmulq_f32(vcvtq_f32_s32(l1), s));                    \
                }                                                                                               \
            }                                                                                                   \
        }                                                                                                       \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                                     \
        _Pragma("GCC unroll 2") for (int i = 0; i < M; i++)                                                     \
            Y[(size_t)i * ldy + r] = bark_neon_reduce(acc[r][i][0], acc[r][i][1]);                              \
    }                                                                                                           \
    static void NAME(const void *W, size_t row_bytes, int rows, const int8_t *xq, const float *xd, int n, int B, \
                     float *Y, int ldy) {                                                                       \
        int nb = n / QK8_0;                                                                                     \
        if (B == 1) {                                                                                           \
            GEMV1(W, row_bytes, rows, xq, xd, n, Y, 1);                                                         \
            return;                                                                                             \
        }                                                                                                       \
        if (nb > BARK_NQ_MAX_NB) {                                                                              \
            TILED(W, row_bytes, rows, xq, xd, n, B, Y, ldy);                                                    \
            return;                                                                                             \
        }                                                                                                       \
        float ws[BARK_NQ_ROWS * BARK_NQ_MAX_NB], S[BARK_NQ_ROWS * BARK_NQ_SEQ * BARK_NQ_MAX_NB];                \
        for (int o = 0; o < rows; o += BARK_NQ_ROWS) {                                                          \
            int R = rows - o < BARK_NQ_ROWS ? rows - o : BARK_NQ_ROWS;                                          \
            const uint8_t *w0 = (const uint8_t *)W + (size_t)o * row_bytes;                                     \
            for (int r = 0; r < R; r++)                                                                         \
                for (int b = 0; b < nb; b++)                                                                    \
                    ws[r * BARK_NQ_MAX_NB + b] =                                                                \
                        bark_f16_to_f32(((const block_q8_0 *)(w0 + (size_t)r * row_bytes))[b].d);               \
            for (int i0 = 0; i0 < B; i0 += BARK_NQ_SEQ) {                                                       \
                int m = B - i0 < BARK_NQ_SEQ ? B - i0 : BARK_NQ_SEQ;                                            \
                const int8_t *x = xq + (size_t)i0 * n;                                                          \
                float *y = Y + (size_t)i0 * ldy + o;                                                            \
                bark_neon_q8_scales(ws, R, xd + (size_t)i0 * nb, nb, m, S);                                     \
                if (R == BARK_NQ_ROWS && m == 2) NAME##_tile(w0, row_bytes, BARK_NQ_ROWS, x, n, nb, 2, S, y, ldy); \
                else if (R == BARK_NQ_ROWS) NAME##_tile(w0, row_bytes, BARK_NQ_ROWS, x, n, nb, 1, S, y, ldy);  \
                else                                                                                            \
                    for (int r = 0; r < R; r++) {                                                               \
                        const float *Sr = S + r * m * BARK_NQ_MAX_NB;                                           \
                        if (m == 2) NAME##_tile(w0 + (size_t)r * row_bytes, row_bytes, 1, x, n, nb, 2, Sr, y + r, ldy); \
                        else NAME##_tile(w0 + (size_t)r * row_bytes, row_bytes, 1, x, n, nb, 1, Sr, y + r, ldy); \
                    }                                                                                           \
            }                                                                                                   \
        }                                                                                                       \
    }

#endif
