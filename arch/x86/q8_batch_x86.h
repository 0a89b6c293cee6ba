/* q8_batch_x86.h: the fused batched q8_0 decode GEMV and the q4_0 decode GEMV of the x86 tables (per ISA lanes). */
#ifndef BARK_Q8_BATCH_X86_H
#define BARK_Q8_BATCH_X86_H

#include <immintrin.h>

#include "kernels.h"

/* How far ahead the GEMVs stream their weight rows into L2 (DRAM-bound decode steps): measured on Zen 4 with 2
 * threads, 32 KB ahead into L2 (T1) read ~30 GB/s where 8 KB into L1 (T0) read ~20. */
#define PREFETCH_BYTES 32768

/* The GEMV loops prefetch PREFETCH_BYTES ahead of what they read; this starts the first PREFETCH_BYTES of a call's
 * weights (of `bytes`) at once, so a call's first rows do not wait on memory (decode tasks are ~80-300 KB). */
static inline void warm_prefetch(const void *W, size_t bytes) {
    for (size_t pb = 0; pb < bytes && pb < PREFETCH_BYTES; pb += 64) _mm_prefetch((const char *)W + pb, _MM_HINT_T1);
}

/* The fixed lane reduction of poly.h on a vector. */
static inline float hsum8(__m256 a) {
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1)); /* h0..h3 */
    __m128 s = _mm_add_ps(h, _mm_movehl_ps(h, h));                                  /* h0+h2, h1+h3 */
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

#define QB_ROWS 4     /* weight rows per tile: each block is loaded and prepared once for the tile's batch rows */
#define QB_MAX_NB 128 /* longest row (in blocks) the on-stack scales hold: Bark's widest is 4 x 1024 values */

/* S[(r * m + i) * QB_MAX_NB + b] = ws[r * QB_MAX_NB + b] * xd[i * nb + b]: the scale products of the lane rule
 * (weight scale times activation scale, one float multiply) of R weight rows and m batch rows, 8 blocks at a time. */
static inline void qb_scales(const float *ws, int R, const float *xd, int nb, int m, float *S) {
    for (int r = 0; r < R; r++)
        for (int i = 0; i < m; i++) {
            const float *w = ws + r * QB_MAX_NB, *x = xd + (size_t)i * nb;
            float *s = S + (r * m + i) * QB_MAX_NB; /* a fixed stride: the tiles address S from one register */
            int b = 0;
            for (; b + 8 <= nb; b += 8)
                _mm256_storeu_ps(s + b, _mm256_mul_ps(_mm256_loadu_ps(w + b), _mm256_loadu_ps(x + b)));
            for (; b < nb; b++) s[b] = w[b] * x[b];
        }
}

/* Defines NAME (after a storage class, if any), a gemv_q8_0_batch kernel: for each tile of QB_ROWS weight rows
 * (their scales converted once, the rows prefetched), BB batch rows at a time go through TILE(w0, row_bytes, R, xq,
 * n, nb, m, S, Y, ldy), which writes Y[i * ldy + r] for r < R, i < m by the lane rule with the scale products S.
 * B = 1 runs the single-row GEMV1; rows longer than QB_MAX_NB blocks run TILED (the same bits either way). */
#define BARK_X86_Q8_BATCH(NAME, TILE, BB, GEMV1, TILED)                                                          \
    void NAME(const void *W, size_t row_bytes, int rows, const int8_t *xq, const float *xd, int n, int B,        \
                     float *Y, int ldy) {                                                                        \
        int nb = n / QK8_0;                                                                                      \
        if (B == 1) {                                                                                            \
            GEMV1(W, row_bytes, rows, xq, xd, n, Y, 1);                                                          \
            return;                                                                                              \
        }                                                                                                        \
        if (nb > QB_MAX_NB) {                                                                                    \
            TILED(W, row_bytes, rows, xq, xd, n, B, Y, ldy);                                                     \
            return;                                                                                              \
        }                                                                                                        \
        _Alignas(32) float ws[QB_ROWS * QB_MAX_NB], S[QB_ROWS * (BB) * QB_MAX_NB];                               \
        for (size_t pb = 0; pb < (size_t)rows * row_bytes && pb < PREFETCH_BYTES; pb += 64)                      \
            _mm_prefetch((const char *)W + pb, _MM_HINT_T1);                                                     \
        for (int o = 0; o < rows; o += QB_ROWS) {                                                                \
            int R = rows - o < QB_ROWS ? rows - o : QB_ROWS;                                                     \
            const uint8_t *w0 = (const uint8_t *)W + (size_t)o * row_bytes;                                      \
            for (int r = 0; r < R; r++) {                                                                        \
                const block_q8_0 *w = (const block_q8_0 *)(w0 + (size_t)r * row_bytes);                          \
                for (int b = 0; b < nb; b++) {                                                                   \
                    _mm_prefetch((const char *)&w[b] + PREFETCH_BYTES, _MM_HINT_T1);                             \
                    ws[r * QB_MAX_NB + b] = _cvtsh_ss(w[b].d);                                                   \
                }                                                                                                \
            }                                                                                                    \
            for (int i0 = 0; i0 < B; i0 += (BB)) {                                                               \
                int m = B - i0 < (BB) ? B - i0 : (BB);                                                           \
                qb_scales(ws, R, xd + (size_t)i0 * nb, nb, m, S);                                                \
                TILE(w0, row_bytes, R, xq + (size_t)i0 * n, n, nb, m, S, Y + (size_t)i0 * ldy + o, ldy);         \
            }                                                                                                    \
        }                                                                                                        \
    }

/* The 32 nibbles of a q4_0 block as unsigned bytes in element order: its 16 bytes in both halves, the upper half
 * shifted down a nibble (no cross-lane shuffle), then masked. */
static inline __m256i q4_nibbles(const block_q4_0 *w) {
    __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)w->qs));
    return _mm256_and_si256(_mm256_srlv_epi32(v, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4)), _mm256_set1_epi8(15));
}

#define Q4_ROWS 4 /* q4_0 weight rows per tile: four independent accumulators hide the add latency */

/* Defines NAME, a gemv_q4_0 kernel by the lane rule: M8X(x) the int32 lanes of -8 * x (once per activation block and
 * call), LANES(w, x, m) a block's 8 exact lane sums of (q - 8) x as floats. Per tile of Q4_ROWS rows the scale
 * products (f16 d times xd, one float multiply each, as the C twin) are made first (a scalar loop: measured faster
 * than a gather), then the blocks in order. Rows longer than QB_MAX_NB blocks take the C twin (the same bits; no
 * Bark matrix is that wide). */
#define BARK_X86_Q4_GEMV(NAME, M8X, LANES)                                                                         \
    static inline __attribute__((always_inline)) void NAME##_tile(const uint8_t *w0, size_t row_bytes, const int R, \
                                                                  const int8_t *xq, const __m256i *m8x, int nb,   \
                                                                  const float *S, float *y, int ystride) {        \
        __m256 acc[Q4_ROWS];                                                                                       \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_ps();                          \
        for (int b = 0; b < nb; b++) {                                                                             \
            __m256i x = _mm256_loadu_si256((const __m256i *)(xq + b * QK4_0));                                     \
            _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) {                                                  \
                const block_q4_0 *w = (const block_q4_0 *)(w0 + (size_t)r * row_bytes) + b;                       \
                _mm_prefetch((const char *)w + PREFETCH_BYTES, _MM_HINT_T1);                                       \
                __m256 s = _mm256_broadcast_ss(S + r * QB_MAX_NB + b);                                             \
                acc[r] = _mm256_add_ps(acc[r], _mm256_mul_ps(LANES(w, x, m8x[b]), s));                             \
            }                                                                                                      \
        }                                                                                                          \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) y[(size_t)r * ystride] = hsum8(acc[r]);                \
    }                                                                                                              \
    static void NAME(const void *W, size_t row_bytes, int rows, const int8_t *xq, const float *xd, int n, float *y, \
                     int ystride) {                                                                                \
        int nb = n / QK4_0;                                                                                        \
        if (nb > QB_MAX_NB) {                                                                                      \
            bark_kernels_c.gemv_q4_0(W, row_bytes, rows, xq, xd, n, y, ystride);                                   \
            return;                                                                                                \
        }                                                                                                          \
        warm_prefetch(W, (size_t)rows * row_bytes);                                                                \
        __m256i m8x[QB_MAX_NB];                                                                                    \
        for (int b = 0; b < nb; b++) m8x[b] = M8X(_mm256_loadu_si256((const __m256i *)(xq + b * QK4_0)));         \
        _Alignas(64) float S[Q4_ROWS * QB_MAX_NB];                                                                 \
        for (int o = 0; o < rows; o += Q4_ROWS) {                                                                  \
            int R = rows - o < Q4_ROWS ? rows - o : Q4_ROWS;                                                       \
            const uint8_t *w0 = (const uint8_t *)W + (size_t)o * row_bytes;                                        \
            for (int r = 0; r < R; r++) {                                                                          \
                const block_q4_0 *w = (const block_q4_0 *)(w0 + (size_t)r * row_bytes);                            \
                for (int b = 0; b < nb; b++) S[r * QB_MAX_NB + b] = _cvtsh_ss(w[b].d) * xd[b];                     \
            }                                                                                                      \
            if (R == Q4_ROWS) NAME##_tile(w0, row_bytes, Q4_ROWS, xq, m8x, nb, S, y + (size_t)o * ystride, ystride); \
            else                                                                                                   \
                for (int r = 0; r < R; r++)                                                                        \
                    NAME##_tile(w0 + (size_t)r * row_bytes, row_bytes, 1, xq, m8x, nb, S + r * QB_MAX_NB,          \
                                y + (size_t)(o + r) * ystride, ystride);                                           \
        }                                                                                                          \
    }

#endif
