/* kernels_neon_dotprod.c: the NEON table with SDOT for the int8 dot products (ARMv8.2-A dotprod). */
#include <string.h>

#include "neon_shared.h"
#include "gemv_batch.h"

/* SDOT lane j sums products 4j..4j+3: exactly the lane rule of arch/kernels.h. */
static inline void lanes_sdot(const int8_t *w, const int8_t *x, int32x4_t *l0, int32x4_t *l1) {
    *l0 = vdotq_s32(vdupq_n_s32(0), vld1q_s8(w), vld1q_s8(x));
    *l1 = vdotq_s32(vdupq_n_s32(0), vld1q_s8(w + 16), vld1q_s8(x + 16));
}

BARK_NEON_QGEMV(gemv_q8_0_dotprod, block_q8_0, bark_neon_q8_0_weights, lanes_sdot)
BARK_NEON_QGEMV(gemv_q4_0_dotprod, block_q4_0, bark_neon_q4_0_weights, lanes_sdot)

/* The int8 GEMM (block rule of arch/kernels.h) with SDOT by element: 4 weight rows per vector, one int32 lane
 * per row, 8 rows x 4 tokens of accumulators in registers. Weights are repacked per call into an on-stack panel
 * panel[b][g][r][0..3] (row r's weights 4g..4g+3 of block b, 8 rows) with scale[b][r] as f32. */
#define PANEL_ROWS 8
#define TILE_TOKENS 4
#define MAX_K 4096

static void repack_rows(const void *W, size_t row_bytes, int rows, int nb, int8_t *panel, float *scale) {
    for (int r = 0; r < PANEL_ROWS; r++)
        for (int b = 0; b < nb; b++) {
            const block_q8_0 *w = r < rows ? (const block_q8_0 *)((const uint8_t *)W + (size_t)r * row_bytes) + b : NULL;
            scale[b * PANEL_ROWS + r] = w ? bark_f16_to_f32(w->d) : 0.0f;
            for (int g = 0; g < QK8_0 / 4; g++) {
                int8_t *dst = panel + ((size_t)b * 8 + g) * 32 + r * 4;
                if (w) memcpy(dst, w->qs + 4 * g, 4);
                else memset(dst, 0, 4);
            }
        }
}

static inline __attribute__((always_inline)) void tile_dotprod(const int8_t *panel, const float *scale,
                                                               const int8_t *xq, const float *xd, int n, int nb,
                                                               int t0, const int NT, float *Y, int ldy, int rows) {
    /* the accumulators must live in registers: every loop over tokens is unrolled */
    float32x4_t acc[TILE_TOKENS][2];
#pragma GCC unroll 4
    for (int i = 0; i < NT; i++) acc[i][0] = acc[i][1] = vdupq_n_f32(0.0f);
    for (int b = 0; b < nb; b++) {
        int32x4_t I[TILE_TOKENS][2];
        int8x16_t x[TILE_TOKENS][2];
#pragma GCC unroll 4
        for (int i = 0; i < NT; i++) {
            const int8_t *xt = xq + (size_t)(t0 + i) * n + b * QK8_0;
            x[i][0] = vld1q_s8(xt);
            x[i][1] = vld1q_s8(xt + 16);
            I[i][0] = I[i][1] = vdupq_n_s32(0);
        }
        const int8_t *pb = panel + (size_t)b * 256;
#define BARK_SDOT_GROUP(g, h, lane)                                                                             \
    {                                                                                                           \
        int8x16_t w0 = vld1q_s8(pb + (g) * 32), w1 = vld1q_s8(pb + (g) * 32 + 16);                              \
        _Pragma("GCC unroll 4") for (int i = 0; i < NT; i++) {                                                  \
            I[i][0] = vdotq_laneq_s32(I[i][0], w0, x[i][h], lane);                                              \
            I[i][1] = vdotq_laneq_s32(I[i][1], w1, x[i][h], lane);                                              \
        }                                                                                                       \
    }
        BARK_SDOT_GROUP(0, 0, 0) BARK_SDOT_GROUP(1, 0, 1) BARK_SDOT_GROUP(2, 0, 2) BARK_SDOT_GROUP(3, 0, 3)
        BARK_SDOT_GROUP(4, 1, 0) BARK_SDOT_GROUP(5, 1, 1) BARK_SDOT_GROUP(6, 1, 2) BARK_SDOT_GROUP(7, 1, 3)
#undef BARK_SDOT_GROUP
        float32x4_t d0 = vld1q_f32(scale + b * PANEL_ROWS), d1 = vld1q_f32(scale + b * PANEL_ROWS + 4);
#pragma GCC unroll 4
        for (int i = 0; i < NT; i++) {
            float dx = xd[(size_t)(t0 + i) * nb + b];
            acc[i][0] = vaddq_f32(acc[i][0], vmulq_f32(vcvtq_f32_s32(I[i][0]), vmulq_n_f32(d0, dx)));
            acc[i][1] = vaddq_f32(acc[i][1], vmulq_f32(vcvtq_f32_s32(I[i][1]), vmulq_n_f32(d1, dx)));
        }
    }
    for (int i = 0; i < NT; i++) {
        float *y = Y + (size_t)(t0 + i) * ldy;
        if (rows == PANEL_ROWS) {
            vst1q_f32(y, acc[i][0]);
            vst1q_f32(y + 4, acc[i][1]);
        } else {
            float v[PANEL_ROWS];
            vst1q_f32(v, acc[i][0]);
            vst1q_f32(v + 4, acc[i][1]);
            memcpy(y, v, (size_t)rows * sizeof *v);
        }
    }
}

static void gemm_q8_0_dotprod(const void *W, size_t row_bytes, int rows, const int8_t *xq, const float *xd,
                              const int32_t *xs, int n, int T, float *Y, int ldy) {
    if (n > MAX_K) { /* wider than any Bark model: the C twin, same results */
        bark_kernels_c.gemm_q8_0(W, row_bytes, rows, xq, xd, xs, n, T, Y, ldy);
        return;
    }
    int nb = n / QK8_0;
    int8_t panel[MAX_K * PANEL_ROWS];
    float scale[MAX_K / QK8_0 * PANEL_ROWS];
    for (int o = 0; o < rows; o += PANEL_ROWS) {
        int pr = rows - o < PANEL_ROWS ? rows - o : PANEL_ROWS;
        repack_rows((const uint8_t *)W + (size_t)o * row_bytes, row_bytes, pr, nb, panel, scale);
        int t = 0;
        for (; t + TILE_TOKENS <= T; t += TILE_TOKENS)
            tile_dotprod(panel, scale, xq, xd, n, nb, t, TILE_TOKENS, Y + o, ldy, pr);
        for (; t < T; t++) tile_dotprod(panel, scale, xq, xd, n, nb, t, 1, Y + o, ldy, pr);
    }
}

BARK_GEMV_Q8_0_BATCH(gemv_q8_0_batch_tiled, gemv_q8_0_dotprod)
BARK_NEON_Q8_GEMV_BATCH(gemv_q8_0_batch_dotprod, lanes_sdot, gemv_q8_0_dotprod, gemv_q8_0_batch_tiled)
BARK_GEMV_Q8_0_BATCH(gemv_q4_0_batch_dotprod, gemv_q4_0_dotprod)
BARK_GEMV_FLOAT_BATCH(gemv_f16_batch_dotprod, uint16_t, bark_neon_gemv_f16)
BARK_GEMV_FLOAT_BATCH(gemv_f32_batch_dotprod, float, bark_neon_gemv_f32)

const bark_kernels bark_kernels_neon_dotprod = {
    "neon-dotprod", bark_neon_quantize_q8, gemv_q8_0_dotprod, gemm_q8_0_dotprod, bark_neon_gemv_f16,
    bark_neon_gemv_f32, bark_neon_dot_f32, bark_neon_axpy_f32, bark_neon_wsum_f32, bark_neon_layernorm_f32, bark_neon_gelu_f32,
    bark_neon_softmax_f32, bark_neon_wsum_f16, bark_neon_f32_to_f16,
    bark_neon_dequant_q8_0, bark_neon_softmax_q8, gemv_q8_0_batch_dotprod, gemv_f16_batch_dotprod,
    gemv_f32_batch_dotprod,
    gemv_q4_0_dotprod, gemv_q4_0_batch_dotprod,
};
