/* kernels_avx512.c: the AVX-512 kernels: the int8 GEMM with VNNI (vpdpbusd, 16 weight rows per vector, the block rule
 * exactly); the batched decode GEMV with VNNI; the q4_0 decode GEMV with VNNI; quantize_q8 and softmax_q8 four blocks at a time; GELU 16 lanes wide. */
#include <float.h>
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "gemv_batch.h"
#include "poly.h"
#include "q8_batch_x86.h"

#define PANEL_ROWS 16  /* one int32 lane per weight row */
#define TILE_TOKENS 8  /* tokens whose accumulators stay in registers */
#define MAX_K 4096     /* longest weight row the on-stack panel holds (Bark's widest is 4 x 1024) */

/* 16 rows of q8_0 blocks rearranged for vpdpbusd: for block b and 4-byte group g, the 64 bytes
 * panel[b][g][r][0..3] hold row r's weights 4g..4g+3 plus 128 (unsigned), and scale[b][r] its f16 scale as f32.
 * Rows past `rows` get zero weights (bytes 128) and scale 0. The weights by plain loads and a 16 x 8 dword transpose
 * (rows r and r + 8 in the two halves of one vector, an 8 x 8 transpose in each half); the scales by one gather. */
static void repack(const void *W, size_t row_bytes, int rows, int nb, uint8_t *panel, float *scale) {
    const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32((int)row_bytes));
    const __mmask16 m = rows >= PANEL_ROWS ? (__mmask16)0xffff : (__mmask16)((1u << rows) - 1);
    const __m512i bias = _mm512_set1_epi32((int)0x80808080u);
    const __m512i lo = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13), hi = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
    for (int b = 0; b < nb; b++) {
        const uint8_t *blk = (const uint8_t *)W + (size_t)b * sizeof(block_q8_0);
        /* the 2-byte scale and the first 2 quants, as one dword per row; keep the scale */
        __m512i d = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, idx, blk, 1);
        _mm512_store_ps(scale + b * PANEL_ROWS, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(d)));
        __m512i z[8], t[8], u[8];
#pragma GCC unroll 8
        for (int r = 0; r < 8; r++) { /* rows past `rows` load as zeros (a zero mask reads nothing) */
            const uint8_t *q0 = blk + (size_t)r * row_bytes + 2, *q1 = blk + (size_t)(r + 8) * row_bytes + 2;
            __m256i a = _mm256_maskz_loadu_epi32(r < rows ? 0xff : 0, q0);
            __m256i c = _mm256_maskz_loadu_epi32(r + 8 < rows ? 0xff : 0, q1);
            z[r] = _mm512_inserti64x4(_mm512_castsi256_si512(a), c, 1);
        }
#pragma GCC unroll 4
        for (int r = 0; r < 8; r += 2) {
            t[r] = _mm512_unpacklo_epi32(z[r], z[r + 1]);
            t[r + 1] = _mm512_unpackhi_epi32(z[r], z[r + 1]);
        }
#pragma GCC unroll 2
        for (int r = 0; r < 8; r += 4) {
            u[r] = _mm512_unpacklo_epi64(t[r], t[r + 2]);     /* dword 0 (lanes 0, 2) and 4 (lanes 1, 3) */
            u[r + 1] = _mm512_unpackhi_epi64(t[r], t[r + 2]); /* dwords 1, 5 */
            u[r + 2] = _mm512_unpacklo_epi64(t[r + 1], t[r + 3]); /* dwords 2, 6 */
            u[r + 3] = _mm512_unpackhi_epi64(t[r + 1], t[r + 3]); /* dwords 3, 7 */
        }
        uint8_t *pb = panel + (size_t)b * 512;
#pragma GCC unroll 4
        for (int g = 0; g < 4; g++) { /* u[g]: rows 0..3 and 8..11; u[g + 4]: rows 4..7 and 12..15 */
            _mm512_store_si512(pb + g * 64, _mm512_xor_si512(_mm512_permutex2var_epi64(u[g], lo, u[g + 4]), bias));
            _mm512_store_si512(pb + (g + 4) * 64,
                               _mm512_xor_si512(_mm512_permutex2var_epi64(u[g], hi, u[g + 4]), bias));
        }
    }
}

/* NT tokens from t0 against one panel: per block, exact int32 sums (sum of (w + 128) x, less 128 sum x), then
 * acc += (float)I * (scale_w * scale_x), as the C twin does. */
static inline __attribute__((always_inline)) void tile(const uint8_t *panel, const float *scale, const int8_t *xq,
                                                       const float *xd, const int32_t *xs, int n, int nb, int t0,
                                                       const int NT, float *Y, int ldy, __mmask16 m) {
    /* the accumulators must live in registers: every loop over tokens is unrolled */
    __m512 acc[TILE_TOKENS];
#pragma GCC unroll 8
    for (int i = 0; i < NT; i++) acc[i] = _mm512_setzero_ps();
    for (int b = 0; b < nb; b++) {
        __m512i I[TILE_TOKENS];
#pragma GCC unroll 8
        for (int i = 0; i < NT; i++) I[i] = _mm512_set1_epi32(-128 * xs[(size_t)(t0 + i) * nb + b]);
        const uint8_t *pb = panel + (size_t)b * 512;
#pragma GCC unroll 8
        for (int g = 0; g < QK8_0 / 4; g++) {
            __m512i w = _mm512_load_si512(pb + g * 64);
#pragma GCC unroll 8
            for (int i = 0; i < NT; i++) {
                int32_t x4;
                memcpy(&x4, xq + (size_t)(t0 + i) * n + b * QK8_0 + 4 * g, sizeof x4);
                I[i] = _mm512_dpbusd_epi32(I[i], w, _mm512_set1_epi32(x4));
            }
        }
        __m512 dw = _mm512_load_ps(scale + b * PANEL_ROWS);
#pragma GCC unroll 8
        for (int i = 0; i < NT; i++) {
            __m512 s = _mm512_mul_ps(dw, _mm512_set1_ps(xd[(size_t)(t0 + i) * nb + b]));
            acc[i] = _mm512_add_ps(acc[i], _mm512_mul_ps(_mm512_cvtepi32_ps(I[i]), s));
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < NT; i++) _mm512_mask_storeu_ps(Y + (size_t)(t0 + i) * ldy, m, acc[i]);
}

void bark_gemm_q8_0_avx512(const void *W, size_t row_bytes, int rows, const int8_t *xq, const float *xd,
                           const int32_t *xs, int n, int T, float *Y, int ldy) {
    if (n > MAX_K) { /* wider than any Bark model: the C twin, same results */
        bark_kernels_c.gemm_q8_0(W, row_bytes, rows, xq, xd, xs, n, T, Y, ldy);
        return;
    }
    int nb = n / QK8_0;
    _Alignas(64) uint8_t panel[MAX_K * PANEL_ROWS];
    _Alignas(64) float scale[MAX_K / QK8_0 * PANEL_ROWS];
    for (int o = 0; o < rows; o += PANEL_ROWS) {
        int pr = rows - o < PANEL_ROWS ? rows - o : PANEL_ROWS;
        __mmask16 m = pr == PANEL_ROWS ? (__mmask16)0xffff : (__mmask16)((1u << pr) - 1);
        repack((const uint8_t *)W + (size_t)o * row_bytes, row_bytes, pr, nb, panel, scale);
        int t = 0;
        for (; t + TILE_TOKENS <= T; t += TILE_TOKENS)
            tile(panel, scale, xq, xd, xs, n, nb, t, TILE_TOKENS, Y + o, ldy, m);
        for (; t < T; t++) tile(panel, scale, xq, xd, xs, n, nb, t, 1, Y + o, ldy, m);
    }
}

/* exp of 16 lanes: arch/poly.h's polynomial, operation for operation (no FMA), as the C twin rounds. */
static inline __m512 exp16(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(BARK_EXP_LO)), _mm512_set1_ps(BARK_EXP_HI));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(BARK_LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_sub_ps(x, _mm512_mul_ps(n, _mm512_set1_ps(BARK_LN2_HI)));
    r = _mm512_sub_ps(r, _mm512_mul_ps(n, _mm512_set1_ps(BARK_LN2_LO)));
    __m512 p = _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(BARK_E6), r), _mm512_set1_ps(BARK_E5));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(BARK_E4));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(BARK_E3));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(BARK_E2));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(BARK_E1));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

/* The lanes of a 16-lane vector that hold one of the `left` values still to do (none when left <= 0). */
static inline __mmask16 tail_mask(int left) {
    return left >= 16 ? (__mmask16)0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
}

/* GELU of 16 lanes at a time, masked for the tail: arch/poly.h's bark_gelu_poly operation for operation. */
void bark_gelu_f32_avx512(float *x, int n) {
    const __m512i sign = _mm512_set1_epi32((int)0x80000000u);
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        __m512 z = _mm512_mul_ps(_mm512_abs_ps(v), _mm512_set1_ps(BARK_SQRT1_2));
        __m512 t = _mm512_div_ps(one, _mm512_add_ps(one, _mm512_mul_ps(_mm512_set1_ps(BARK_ERF_P), z)));
        __m512 p = _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(BARK_ERF_A5), t), _mm512_set1_ps(BARK_ERF_A4));
        p = _mm512_add_ps(_mm512_mul_ps(p, t), _mm512_set1_ps(BARK_ERF_A3));
        p = _mm512_add_ps(_mm512_mul_ps(p, t), _mm512_set1_ps(BARK_ERF_A2));
        p = _mm512_add_ps(_mm512_mul_ps(p, t), _mm512_set1_ps(BARK_ERF_A1));
        p = _mm512_mul_ps(p, t);
        __m512 e = _mm512_sub_ps(one, _mm512_mul_ps(p, exp16(_mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(_mm512_mul_ps(z, z)), sign)))));
        /* copysign(e, v) */
        e = _mm512_castsi512_ps(_mm512_or_si512(_mm512_andnot_si512(sign, _mm512_castps_si512(e)),
                                                _mm512_and_si512(sign, _mm512_castps_si512(v))));
        _mm512_mask_storeu_ps(x + i, m, _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), v), _mm512_add_ps(one, e)));
    }
}

/* Four 16-lane vectors reduced by op (max or add) to one: 128-bit lane j, every element, holds vector j's total. */
#define BARK_REDUCE4(T, op, shuf, perm, v0, v1, v2, v3)                                                               \
    do {                                                                                                              \
        T a_ = op(shuf(v0, v1, 0x44), shuf(v0, v1, 0xEE)), b_ = op(shuf(v2, v3, 0x44), shuf(v2, v3, 0xEE));           \
        T c_ = op(shuf(a_, b_, 0x88), shuf(a_, b_, 0xDD));                                                            \
        c_ = op(c_, perm(c_, 0x4E));                                                                                  \
        v0 = op(c_, perm(c_, 0xB1));                                                                                  \
    } while (0)

/* Element 4j of each 128-bit lane j into the low 4 elements. */
static inline __m128i lane_heads(__m512i v) {
    return _mm512_castsi512_si128(_mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), v));
}

/* Four 32-blocks in v[0..7] (block j in v[2j], v[2j+1]) by quantize_q8's rule: int8 values to q, the scales and the
 * int sums of the 4 blocks to d4, s4. */
static inline __attribute__((always_inline)) void quantize_group(const __m512 v[8], int8_t *q, float *d4, int32_t *s4) {
    __m512 a[4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) a[j] = _mm512_max_ps(_mm512_abs_ps(v[2 * j]), _mm512_abs_ps(v[2 * j + 1]));
    BARK_REDUCE4(__m512, _mm512_max_ps, _mm512_shuffle_f32x4, _mm512_permute_ps, a[0], a[1], a[2], a[3]);
    __m512 dd = _mm512_div_ps(a[0], _mm512_set1_ps(127.0f));
    dd = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(dd, _mm512_set1_ps(FLT_MIN), _CMP_GE_OQ), dd);
    __m512 id = _mm512_maskz_div_ps(_mm512_cmp_ps_mask(dd, _mm512_setzero_ps(), _CMP_NEQ_OQ), _mm512_set1_ps(1.0f), dd);
    __m512i qi[8], sum[4];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) /* nearest-even, as the C twin's nearbyintf */
        qi[i] = _mm512_cvt_roundps_epi32(_mm512_mul_ps(v[i], _mm512_permutexvar_ps(_mm512_set1_epi32(4 * (i / 2)), id)),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    /* |q| <= 127: two saturating packs, then undo their 128-bit interleave */
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
        __m512i p16a = _mm512_packs_epi32(qi[4 * h], qi[4 * h + 1]), p16b = _mm512_packs_epi32(qi[4 * h + 2], qi[4 * h + 3]);
        _mm512_storeu_si512(q + 64 * h, _mm512_permutexvar_epi32(order, _mm512_packs_epi16(p16a, p16b)));
    }
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) sum[j] = _mm512_add_epi32(qi[2 * j], qi[2 * j + 1]);
    BARK_REDUCE4(__m512i, _mm512_add_epi32, _mm512_shuffle_i32x4, _mm512_shuffle_epi32, sum[0], sum[1], sum[2], sum[3]);
    _mm_storeu_si128((__m128i *)s4, lane_heads(sum[0]));
    _mm_storeu_si128((__m128i *)d4, lane_heads(_mm512_castps_si512(dd)));
}

/* Blocks 0..nb-1 of x, 4 at a time, by quantize_q8's rule: the values themselves, or exp(value - *vm) when vm is
 * given; values from the n-th on are taken as 0. s (block sums) may be NULL. */
static inline __attribute__((always_inline)) void quantize_blocks(const float *x, int n, int nb, const __m512 *vm, int8_t *q, float *d, int32_t *s) {
    for (int b = 0; b < nb; b += 4) {
        __m512 v[8]; /* in registers: the loops over them are unrolled */
        if (n - b * QK8_0 >= 4 * QK8_0) {
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++) {
                v[i] = _mm512_loadu_ps(x + b * QK8_0 + 16 * i);
                if (vm) v[i] = exp16(_mm512_sub_ps(v[i], *vm));
            }
        } else { /* the group holding the n-th value, or past it */
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++) {
                __mmask16 m = tail_mask(n - b * QK8_0 - 16 * i);
                v[i] = _mm512_maskz_loadu_ps(m, x + b * QK8_0 + 16 * i);
                if (vm) v[i] = _mm512_maskz_mov_ps(m, exp16(_mm512_sub_ps(v[i], *vm)));
            }
        }
        _Alignas(64) int8_t q4[4 * QK8_0];
        float d4[4];
        int32_t s4[4];
        int full = b + 4 <= nb, k = full ? 4 : nb - b;
        quantize_group(v, full ? q + b * QK8_0 : q4, full ? d + b : d4, s4);
        if (!full) { /* the last 1..3 blocks */
            memcpy(q + b * QK8_0, q4, (size_t)k * QK8_0);
            memcpy(d + b, d4, (size_t)k * sizeof *d);
        }
        if (s) memcpy(s + b, s4, (size_t)k * sizeof *s);
    }
}

void bark_quantize_q8_avx512(const float *x, int8_t *q, float *d, int32_t *s, int n) {
    quantize_blocks(x, n, n / QK8_0, NULL, q, d, s);
}

void bark_softmax_q8_avx512(const float *x, int n, int np, int8_t *q, float *d, int32_t *s) {
    __m512 m = _mm512_set1_ps(-INFINITY);
    int i = 0;
    for (; i + 16 <= n; i += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(x + i));
    if (i < n) m = _mm512_max_ps(m, _mm512_mask_loadu_ps(m, tail_mask(n - i), x + i));
    __m512 vm = _mm512_set1_ps(_mm512_reduce_max_ps(m)); /* the maximum is exact in any order */
    quantize_blocks(x, n, np / QK8_0, &vm, q, d, s);
}

#define Q8_BB 4 /* batch rows per tile: 4 x 4 accumulators of the 32 registers */

/* R weight rows x M batch rows by the lane rule, each output as the AVX2 gemv_q8_0 computes it: vpdpbusd takes
 * unsigned x + 128 times signed w, the lane's 4 products summed exactly in int32 from -128 * (the lane's weight
 * sum), so each lane is the exact sum of its 4 products w x. S holds the scale products (q8_batch_x86.h). */
static inline __attribute__((always_inline)) void q8_tile(const uint8_t *w0, size_t row_bytes, const int R,
                                                          const int8_t *xq, int n, int nb, const int M, const float *S,
                                                          float *Y, int ldy) {
    const __m256i bias = _mm256_set1_epi8((char)0x80), zero = _mm256_setzero_si256();
    __m256 acc[QB_ROWS][Q8_BB];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int i = 0; i < M; i++) acc[r][i] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        __m256i x[Q8_BB];
#pragma GCC unroll 4
        for (int i = 0; i < M; i++)
            x[i] = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(xq + (size_t)i * n + b * QK8_0)), bias);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            const block_q8_0 *w = (const block_q8_0 *)(w0 + (size_t)r * row_bytes) + b;
            __m256i wv = _mm256_loadu_si256((const __m256i *)w->qs);
            __m256i nc = _mm256_sub_epi32(zero, _mm256_dpbusd_epi32(zero, bias, wv)); /* -128 * lane sums of w */
#pragma GCC unroll 4
            for (int i = 0; i < M; i++) {
                __m256 l = _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(nc, x[i], wv));
                __m256 s = _mm256_broadcast_ss(S + (r * M + i) * QB_MAX_NB + b);
                acc[r][i] = _mm256_add_ps(acc[r][i], _mm256_mul_ps(l, s));
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int i = 0; i < M; i++) Y[(size_t)i * ldy + r] = hsum8(acc[r][i]);
}

/* q8_tile for any R <= QB_ROWS and m <= Q8_BB: whole tiles at once, a last partial tile a row at a time. */
#define Q8_TILE_M(R, w, S_, Y_)                                                                                  \
    switch (m) {                                                                                                 \
    case 4: q8_tile(w, row_bytes, R, xq, n, nb, 4, S_, Y_, ldy); break;                                          \
    case 3: q8_tile(w, row_bytes, R, xq, n, nb, 3, S_, Y_, ldy); break;                                          \
    case 2: q8_tile(w, row_bytes, R, xq, n, nb, 2, S_, Y_, ldy); break;                                          \
    default: q8_tile(w, row_bytes, R, xq, n, nb, 1, S_, Y_, ldy); break;                                         \
    }
static void q8_tile_any(const uint8_t *w0, size_t row_bytes, int R, const int8_t *xq, int n, int nb, int m,
                        const float *S, float *Y, int ldy) {
    if (R == QB_ROWS) {
        Q8_TILE_M(QB_ROWS, w0, S, Y)
        return;
    }
    for (int r = 0; r < R; r++) Q8_TILE_M(1, w0 + (size_t)r * row_bytes, S + r * m * QB_MAX_NB, Y + r)
}
#undef Q8_TILE_M

/* B = 1, and rows too long for the on-stack scales, go to the AVX2 kernels (the same bits). */
BARK_X86_Q8_BATCH(bark_gemv_q8_0_batch_avx512, q8_tile_any, Q8_BB, bark_kernels_avx2.gemv_q8_0,
                  bark_kernels_avx2.gemv_q8_0_batch)

/* q4_0 lanes by vpdpbusd: the nibbles q (0..15, unsigned) times x, accumulated onto -8 * (the lane sums of x), give
 * each lane's exact sum of (q - 8) x. (Two blocks per 512-bit vector measured no faster on Zen 4.) */
static inline __m256i q4_minus8x_vnni(__m256i x) {
    const __m256i zero = _mm256_setzero_si256();
    return _mm256_sub_epi32(zero, _mm256_dpbusd_epi32(zero, _mm256_set1_epi8(8), x));
}
static inline __m256 q4_lanes_vnni(const block_q4_0 *w, __m256i x, __m256i minus8x) {
    return _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(minus8x, q4_nibbles(w), x));
}

BARK_X86_Q4_GEMV(gemv_q4_0_vnni, q4_minus8x_vnni, q4_lanes_vnni)

void bark_gemv_q4_0_avx512(const void *W, size_t row_bytes, int rows, const int8_t *xq, const float *xd, int n,
                           float *y, int ystride) {
    gemv_q4_0_vnni(W, row_bytes, rows, xq, xd, n, y, ystride);
}

BARK_GEMV_Q8_0_BATCH(gemv_q4_0_batch_vnni, gemv_q4_0_vnni)

void bark_gemv_q4_0_batch_avx512(const void *W, size_t row_bytes, int rows, const int8_t *xq, const float *xd, int n,
                                 int B, float *Y, int ldy) {
    gemv_q4_0_batch_vnni(W, row_bytes, rows, xq, xd, n, B, Y, ldy);
}
