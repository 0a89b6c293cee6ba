/* kernels_avx2.c: the AVX2 + F16C kernel table (same operations in the same order as arch/c/kernels_c.c). */
#include <immintrin.h>
#include <float.h>
#include <math.h>

#include "kernels.h"
#include "gemv_batch.h"
#include "poly.h"
#include "q8_batch_x86.h"

/* Lanes j = 0..7 of one block: the exact int32 sums of products 4j..4j+3, as floats. */
static inline __m256 block_lanes(__m256i w, __m256i x) {
    __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
}

static inline float f16(uint16_t h) { return _cvtsh_ss(h); }

/* One 32-block in v0..v3: q = nearest-even(x * (1 / d)), d = max|x| / 127; returns the sum of q. */
static inline int32_t quantize_block_avx2(__m256 v0, __m256 v1, __m256 v2, __m256 v3, int8_t *q, float *d) {
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(v0, absmask), _mm256_and_ps(v1, absmask)),
                             _mm256_max_ps(_mm256_and_ps(v2, absmask), _mm256_and_ps(v3, absmask)));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    float dd = _mm_cvtss_f32(m4) / 127.0f;
    dd = dd >= FLT_MIN ? dd : 0.0f;
    __m256 vid = _mm256_set1_ps(dd != 0.0f ? 1.0f / dd : 0.0f);
#define BARK_Q8_ROUND(v) _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v, vid), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC))
    __m256i i0 = BARK_Q8_ROUND(v0), i1 = BARK_Q8_ROUND(v1), i2 = BARK_Q8_ROUND(v2), i3 = BARK_Q8_ROUND(v3);
#undef BARK_Q8_ROUND
    __m256i p8 = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
    /* the packs interleave 128-bit halves: restore element order */
    p8 = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)q, p8);
    *d = dd;
    /* |q| <= 127: the 32-bit lane sums are exact */
    __m256i t = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
    __m128i t4 = _mm_add_epi32(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
    t4 = _mm_add_epi32(t4, _mm_shuffle_epi32(t4, _MM_SHUFFLE(1, 0, 3, 2)));
    t4 = _mm_add_epi32(t4, _mm_shuffle_epi32(t4, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(t4);
}

static void quantize_q8_avx2(const float *x, int8_t *q, float *d, int32_t *s, int n) {
    for (int b = 0; b < n / QK8_0; b++) {
        const float *xb = x + b * QK8_0;
        int32_t sum = quantize_block_avx2(_mm256_loadu_ps(xb), _mm256_loadu_ps(xb + 8), _mm256_loadu_ps(xb + 16),
                                          _mm256_loadu_ps(xb + 24), q + b * QK8_0, d + b);
        if (s) s[b] = sum;
    }
}

static void gemv_q8_0_avx2(const void *W, size_t row_bytes, int rows, const int8_t *xq, const float *xd, int n,
                           float *y, int ystride) {
    int nb = n / QK8_0, o = 0;
    warm_prefetch(W, (size_t)rows * row_bytes);
    for (; o + 4 <= rows; o += 4) { /* four independent rows hide the add latency */
        const block_q8_0 *w[4];
        __m256 acc[4];
        for (int r = 0; r < 4; r++) {
            w[r] = (const block_q8_0 *)((const uint8_t *)W + (size_t)(o + r) * row_bytes);
            acc[r] = _mm256_setzero_ps();
        }
        for (int b = 0; b < nb; b++) {
            __m256i x = _mm256_loadu_si256((const __m256i *)(xq + b * QK8_0));
            for (int r = 0; r < 4; r++) {
                _mm_prefetch((const char *)&w[r][b] + PREFETCH_BYTES, _MM_HINT_T1);
                __m256i wv = _mm256_loadu_si256((const __m256i *)w[r][b].qs);
                __m256 s = _mm256_set1_ps(f16(w[r][b].d) * xd[b]);
                acc[r] = _mm256_add_ps(acc[r], _mm256_mul_ps(block_lanes(wv, x), s));
            }
        }
        for (int r = 0; r < 4; r++) y[(size_t)(o + r) * ystride] = hsum8(acc[r]);
    }
    for (; o < rows; o++) {
        const block_q8_0 *w = (const block_q8_0 *)((const uint8_t *)W + (size_t)o * row_bytes);
        __m256 acc = _mm256_setzero_ps();
        for (int b = 0; b < nb; b++) {
            __m256i x = _mm256_loadu_si256((const __m256i *)(xq + b * QK8_0));
            __m256 s = _mm256_set1_ps(f16(w[b].d) * xd[b]);
            acc = _mm256_add_ps(acc, _mm256_mul_ps(block_lanes(_mm256_loadu_si256((const __m256i *)w[b].qs), x), s));
        }
        y[(size_t)o * ystride] = hsum8(acc);
    }
}

/* q4_0 lanes by maddubs: the nibbles q (0..15, unsigned) times x in exact int16 pairs (|2 * 15 * 127| < 2^15), their
 * int32 sums onto -8 * (the lane sums of x). */
static inline __m256i q4_minus8x_avx2(__m256i x) {
    __m256i l = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(8), x), _mm256_set1_epi16(1));
    return _mm256_sub_epi32(_mm256_setzero_si256(), l);
}
static inline __m256 q4_lanes_avx2(const block_q4_0 *w, __m256i x, __m256i minus8x) {
    __m256i q = q4_nibbles(w);
    __m256i l = _mm256_madd_epi16(_mm256_maddubs_epi16(q, x), _mm256_set1_epi16(1));
    return _mm256_cvtepi32_ps(_mm256_add_epi32(l, minus8x));
}

BARK_X86_Q4_GEMV(gemv_q4_0_avx2, q4_minus8x_avx2, q4_lanes_avx2)

/* The block rule (arch/kernels.h), a row and a token at a time: the int32 lanes of a block summed exactly. */
static void gemm_q8_0_avx2(const void *W, size_t row_bytes, int rows, const int8_t *xq, const float *xd,
                           const int32_t *xs, int n, int T, float *Y, int ldy) {
    int nb = n / QK8_0;
    for (int t = 0; t < T; t++)
        for (int o = 0; o < rows; o++) {
            const block_q8_0 *w = (const block_q8_0 *)((const uint8_t *)W + (size_t)o * row_bytes);
            const int8_t *x = xq + (size_t)t * n;
            float acc = 0.0f;
            for (int b = 0; b < nb; b++) {
                __m256i wv = _mm256_loadu_si256((const __m256i *)w[b].qs);
                __m256i xv = _mm256_loadu_si256((const __m256i *)(x + b * QK8_0));
                __m256i l = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(wv, wv), _mm256_sign_epi8(xv, wv)),
                                              _mm256_set1_epi16(1));
                __m128i h = _mm_add_epi32(_mm256_castsi256_si128(l), _mm256_extracti128_si256(l, 1));
                h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
                h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
                acc += (float)_mm_cvtsi128_si32(h) * (f16(w[b].d) * xd[(size_t)t * nb + b]);
            }
            Y[(size_t)t * ldy + o] = acc;
        }
}

/* 8-lane dot: main loop in vectors, the tail into lanes 0.. in order, then the fixed reduction. */
static float dot_f32_avx2(const float *a, const float *b, int n) {
    __m256 acc = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    float l[8];
    _mm256_storeu_ps(l, acc);
    for (int j = 0; i < n; i++, j++) l[j] += a[i] * b[i];
    return bark_reduce8(l);
}

static inline __m256 load_f32x8(const float *v) { return _mm256_loadu_ps(v); }
static inline __m256 load_f16x8(const uint16_t *v) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)v)); }
static inline float elem_f32(float v) { return v; }

/* y[o * ystride] = W[o] . x for rows of element type T (loaded by LOAD8, one by ONE): four rows at a time
 * (independent chains), each row in the dot_f32 order. */
#define BARK_AVX2_GEMV(NAME, T, LOAD8, ONE)                                                                     \
    static void NAME(const T *W, size_t ldw, int rows, const float *x, int n, float *y, int ystride) {          \
        int o = 0;                                                                                              \
        warm_prefetch(W, (size_t)rows * ldw * sizeof(T));                                                       \
        for (; o + 4 <= rows; o += 4) {                                                                         \
            const T *w0 = W + (size_t)o * ldw;                                                                  \
            for (size_t pb = 0; pb < 4 * ldw * sizeof(T); pb += 64)                                             \
                _mm_prefetch((const char *)w0 + PREFETCH_BYTES + pb, _MM_HINT_T1);                              \
            __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()}; \
            int i = 0;                                                                                          \
            for (; i + 8 <= n; i += 8) {                                                                        \
                __m256 xv = _mm256_loadu_ps(x + i);                                                             \
                for (int r = 0; r < 4; r++)                                                                     \
                    acc[r] = _mm256_add_ps(acc[r], _mm256_mul_ps(LOAD8(w0 + (size_t)r * ldw + i), xv));         \
            }                                                                                                   \
            for (int r = 0; r < 4; r++) {                                                                       \
                float l[8];                                                                                     \
                _mm256_storeu_ps(l, acc[r]);                                                                    \
                for (int k = i, j = 0; k < n; k++, j++) l[j] += ONE(w0[(size_t)r * ldw + k]) * x[k];           \
                y[(size_t)(o + r) * ystride] = bark_reduce8(l);                                                 \
            }                                                                                                   \
        }                                                                                                       \
        for (; o < rows; o++) {                                                                                 \
            const T *w = W + (size_t)o * ldw;                                                                   \
            __m256 acc = _mm256_setzero_ps();                                                                   \
            int i = 0;                                                                                          \
            for (; i + 8 <= n; i += 8) acc = _mm256_add_ps(acc, _mm256_mul_ps(LOAD8(w + i), _mm256_loadu_ps(x + i))); \
            float l[8];                                                                                         \
            _mm256_storeu_ps(l, acc);                                                                           \
            for (int j = 0; i < n; i++, j++) l[j] += ONE(w[i]) * x[i];                                         \
            y[(size_t)o * ystride] = bark_reduce8(l);                                                           \
        }                                                                                                       \
    }

BARK_AVX2_GEMV(gemv_f32_avx2, float, load_f32x8, elem_f32)
BARK_AVX2_GEMV(gemv_f16_avx2, uint16_t, load_f16x8, f16)

static void axpy_f32_avx2(float *y, float a, const float *x, int n) {
    __m256 va = _mm256_set1_ps(a);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_mul_ps(va, _mm256_loadu_ps(x + i))));
    for (; i < n; i++) y[i] += a * x[i];
}

/* y[i] = sum over rows, in order, of p[r] * V[r][i] for V of element type T (loaded by LOAD8, one by ONE). */
#define BARK_AVX2_WSUM(NAME, T, LOAD8, ONE)                                                                     \
    static void NAME(float *y, const float *p, const T *V, size_t ldv, int rows, int n) {                       \
        int i = 0;                                                                                              \
        warm_prefetch(V, (size_t)rows * ldv * sizeof(T));                                                       \
        for (; i + 64 <= n; i += 64) { /* 64 columns (a head) in registers: one prefetched pass over the rows */ \
            __m256 a[8];                                                                                        \
            for (int k = 0; k < 8; k++) a[k] = _mm256_setzero_ps();                                             \
            for (int r = 0; r < rows; r++) {                                                                    \
                const T *v = V + (size_t)r * ldv + i;                                                           \
                for (size_t pb = 0; pb < 64 * sizeof(T); pb += 64)                                              \
                    _mm_prefetch((const char *)v + PREFETCH_BYTES + pb, _MM_HINT_T1);                           \
                __m256 pr = _mm256_set1_ps(p[r]);                                                               \
                for (int k = 0; k < 8; k++) a[k] = _mm256_add_ps(a[k], _mm256_mul_ps(pr, LOAD8(v + 8 * k)));    \
            }                                                                                                   \
            for (int k = 0; k < 8; k++) _mm256_storeu_ps(y + i + 8 * k, a[k]);                                  \
        }                                                                                                       \
        for (; i + 32 <= n; i += 32) { /* 32 columns in registers across all rows */                            \
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                                         \
            for (int r = 0; r < rows; r++) {                                                                    \
                const T *v = V + (size_t)r * ldv + i;                                                           \
                __m256 pr = _mm256_set1_ps(p[r]);                                                               \
                a0 = _mm256_add_ps(a0, _mm256_mul_ps(pr, LOAD8(v)));                                            \
                a1 = _mm256_add_ps(a1, _mm256_mul_ps(pr, LOAD8(v + 8)));                                        \
                a2 = _mm256_add_ps(a2, _mm256_mul_ps(pr, LOAD8(v + 16)));                                       \
                a3 = _mm256_add_ps(a3, _mm256_mul_ps(pr, LOAD8(v + 24)));                                       \
            }                                                                                                   \
            _mm256_storeu_ps(y + i, a0);                                                                        \
            _mm256_storeu_ps(y + i + 8, a1);                                                                    \
            _mm256_storeu_ps(y + i + 16, a2);                                                                   \
            _mm256_storeu_ps(y + i + 24, a3);                                                                   \
        }                                                                                                       \
        for (; i + 8 <= n; i += 8) {                                                                            \
            __m256 a = _mm256_setzero_ps();                                                                     \
            for (int r = 0; r < rows; r++)                                                                      \
                a = _mm256_add_ps(a, _mm256_mul_ps(_mm256_set1_ps(p[r]), LOAD8(V + (size_t)r * ldv + i)));     \
            _mm256_storeu_ps(y + i, a);                                                                         \
        }                                                                                                       \
        for (; i < n; i++) {                                                                                    \
            float a = 0.0f;                                                                                     \
            for (int r = 0; r < rows; r++) a += p[r] * ONE(V[(size_t)r * ldv + i]);                            \
            y[i] = a;                                                                                           \
        }                                                                                                       \
    }

BARK_AVX2_WSUM(wsum_f32_avx2, float, load_f32x8, elem_f32)
BARK_AVX2_WSUM(wsum_f16_avx2, uint16_t, load_f16x8, f16)

static void f32_to_f16_avx2(const float *x, uint16_t *y, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) y[i] = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
}

static void dequant_q8_0_avx2(const void *row, float *y, int n) {
    const block_q8_0 *b = row;
    for (int i = 0; i < n / QK8_0; i++) {
        __m256 d = _mm256_set1_ps(f16(b[i].d));
        for (int k = 0; k < 4; k++) {
            __m256i q = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(b[i].qs + 8 * k)));
            _mm256_storeu_ps(y + i * QK8_0 + 8 * k, _mm256_mul_ps(d, _mm256_cvtepi32_ps(q)));
        }
    }
}

static float sum_f32_avx2(const float *x, int n) {
    __m256 acc = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_add_ps(acc, _mm256_loadu_ps(x + i));
    float l[8];
    _mm256_storeu_ps(l, acc);
    for (int j = 0; i < n; i++, j++) l[j] += x[i];
    return bark_reduce8(l);
}

static void layernorm_f32_avx2(float *y, const float *x, const float *w, const float *b, int n) {
    float mean = sum_f32_avx2(x, n) / (float)n;
    __m256 vm = _mm256_set1_ps(mean), acc = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 c = _mm256_sub_ps(_mm256_loadu_ps(x + i), vm);
        acc = _mm256_add_ps(acc, _mm256_mul_ps(c, c));
    }
    float l[8];
    _mm256_storeu_ps(l, acc);
    for (int j = 0; i < n; i++, j++) {
        float c = x[i] - mean;
        l[j] += c * c;
    }
    float var = bark_reduce8(l) / (float)n;
    float rstd = 1.0f / sqrtf(var + 1e-5f);
    __m256 vr = _mm256_set1_ps(rstd);
    for (i = 0; i + 8 <= n; i += 8) {
        __m256 v = _mm256_mul_ps(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm), vr), _mm256_loadu_ps(w + i));
        _mm256_storeu_ps(y + i, b ? _mm256_add_ps(v, _mm256_loadu_ps(b + i)) : v);
    }
    for (; i < n; i++) {
        float v = (x[i] - mean) * rstd * w[i];
        y[i] = b ? v + b[i] : v;
    }
}

static inline __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(BARK_EXP_LO)), _mm256_set1_ps(BARK_EXP_HI));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(BARK_LOG2E)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_sub_ps(x, _mm256_mul_ps(n, _mm256_set1_ps(BARK_LN2_HI)));
    r = _mm256_sub_ps(r, _mm256_mul_ps(n, _mm256_set1_ps(BARK_LN2_LO)));
    __m256 p = _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(BARK_E6), r), _mm256_set1_ps(BARK_E5));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(BARK_E4));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(BARK_E3));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(BARK_E2));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(BARK_E1));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

static void gelu_f32_avx2(float *x, int n) {
    const __m256 sign = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 z = _mm256_mul_ps(_mm256_andnot_ps(sign, v), _mm256_set1_ps(BARK_SQRT1_2));
        __m256 t = _mm256_div_ps(one, _mm256_add_ps(one, _mm256_mul_ps(_mm256_set1_ps(BARK_ERF_P), z)));
        __m256 p = _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(BARK_ERF_A5), t), _mm256_set1_ps(BARK_ERF_A4));
        p = _mm256_add_ps(_mm256_mul_ps(p, t), _mm256_set1_ps(BARK_ERF_A3));
        p = _mm256_add_ps(_mm256_mul_ps(p, t), _mm256_set1_ps(BARK_ERF_A2));
        p = _mm256_add_ps(_mm256_mul_ps(p, t), _mm256_set1_ps(BARK_ERF_A1));
        p = _mm256_mul_ps(p, t);
        __m256 e = _mm256_sub_ps(one, _mm256_mul_ps(p, exp8(_mm256_xor_ps(_mm256_mul_ps(z, z), sign))));
        e = _mm256_or_ps(_mm256_andnot_ps(sign, e), _mm256_and_ps(sign, v));
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v), _mm256_add_ps(one, e)));
    }
    for (; i < n; i++) x[i] = bark_gelu_poly(x[i]);
}

/* The maximum is exact in any order, so the vector max equals the C loop's. */
static float max_f32_avx2(const float *x, int n) {
    __m256 m = _mm256_set1_ps(-INFINITY);
    int i = 0;
    for (; i + 8 <= n; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + i));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    float mx = _mm_cvtss_f32(m4);
    for (; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    return mx;
}

static void softmax_f32_avx2(float *x, int n) {
    float mx = max_f32_avx2(x, n);
    __m256 vm = _mm256_set1_ps(mx);
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm)));
    for (; i < n; i++) x[i] = bark_exp_poly(x[i] - mx);
    float s = sum_f32_avx2(x, n);
    __m256 vs = _mm256_set1_ps(s);
    for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_div_ps(_mm256_loadu_ps(x + i), vs));
    for (; i < n; i++) x[i] = x[i] / s;
}

static void softmax_q8_avx2(const float *x, int n, int np, int8_t *q, float *d, int32_t *s) {
    float mx = max_f32_avx2(x, n);
    __m256 vm = _mm256_set1_ps(mx);
    int b = 0;
    for (; (b + 1) * QK8_0 <= n; b++) {
        const float *xb = x + b * QK8_0;
        s[b] = quantize_block_avx2(exp8(_mm256_sub_ps(_mm256_loadu_ps(xb), vm)),
                                   exp8(_mm256_sub_ps(_mm256_loadu_ps(xb + 8), vm)),
                                   exp8(_mm256_sub_ps(_mm256_loadu_ps(xb + 16), vm)),
                                   exp8(_mm256_sub_ps(_mm256_loadu_ps(xb + 24), vm)), q + b * QK8_0, d + b);
    }
    for (; b < np / QK8_0; b++) { /* the block holding the n-th value, then zero blocks */
        float e[QK8_0];
        for (int i = 0, k = b * QK8_0; i < QK8_0; i++, k++) e[i] = k < n ? bark_exp_poly(x[k] - mx) : 0.0f;
        s[b] = quantize_block_avx2(_mm256_loadu_ps(e), _mm256_loadu_ps(e + 8), _mm256_loadu_ps(e + 16),
                                   _mm256_loadu_ps(e + 24), q + b * QK8_0, d + b);
    }
}

#define Q8_BB 2 /* batch rows per tile: 4 x 2 accumulators, the weights and their signs fill the 16 registers */

/* R weight rows x M batch rows by the lane rule, each output as gemv_q8_0_avx2 computes it: a block's weights are
 * loaded and their signs taken once for the M batch rows. S holds the scale products (q8_batch_x86.h). */
static inline __attribute__((always_inline)) void q8_tile(const uint8_t *w0, size_t row_bytes, const int R,
                                                          const int8_t *xq, int n, int nb, const int M, const float *S,
                                                          float *Y, int ldy) {
    __m256 acc[QB_ROWS][Q8_BB];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int i = 0; i < M; i++) acc[r][i] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        __m256i x[Q8_BB];
#pragma GCC unroll 4
        for (int i = 0; i < M; i++) x[i] = _mm256_loadu_si256((const __m256i *)(xq + (size_t)i * n + b * QK8_0));
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            const block_q8_0 *w = (const block_q8_0 *)(w0 + (size_t)r * row_bytes) + b;
            __m256i wv = _mm256_loadu_si256((const __m256i *)w->qs);
#pragma GCC unroll 4
            for (int i = 0; i < M; i++) {
                __m256 s = _mm256_broadcast_ss(S + (r * M + i) * QB_MAX_NB + b);
                acc[r][i] = _mm256_add_ps(acc[r][i], _mm256_mul_ps(block_lanes(wv, x[i]), s));
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int i = 0; i < M; i++) Y[(size_t)i * ldy + r] = hsum8(acc[r][i]);
}

/* q8_tile for any R <= QB_ROWS and m <= Q8_BB: whole tiles at once, a last partial tile a row at a time. */
static void q8_tile_any(const uint8_t *w0, size_t row_bytes, int R, const int8_t *xq, int n, int nb, int m,
                        const float *S, float *Y, int ldy) {
    if (R == QB_ROWS) {
        if (m == 2) q8_tile(w0, row_bytes, QB_ROWS, xq, n, nb, 2, S, Y, ldy);
        else q8_tile(w0, row_bytes, QB_ROWS, xq, n, nb, 1, S, Y, ldy);
        return;
    }
    for (int r = 0; r < R; r++) {
        const uint8_t *w = w0 + (size_t)r * row_bytes;
        const float *Sr = S + r * m * QB_MAX_NB;
        if (m == 2) q8_tile(w, row_bytes, 1, xq, n, nb, 2, Sr, Y + r, ldy);
        else q8_tile(w, row_bytes, 1, xq, n, nb, 1, Sr, Y + r, ldy);
    }
}

BARK_GEMV_Q8_0_BATCH(gemv_q8_0_batch_tiled, gemv_q8_0_avx2)
static BARK_X86_Q8_BATCH(gemv_q8_0_batch_avx2, q8_tile_any, Q8_BB, gemv_q8_0_avx2, gemv_q8_0_batch_tiled)
BARK_GEMV_Q8_0_BATCH(gemv_q4_0_batch_avx2, gemv_q4_0_avx2)
BARK_GEMV_FLOAT_BATCH(gemv_f16_batch_avx2, uint16_t, gemv_f16_avx2)
BARK_GEMV_FLOAT_BATCH(gemv_f32_batch_avx2, float, gemv_f32_avx2)

const bark_kernels bark_kernels_avx2 = {
    "avx2", quantize_q8_avx2, gemv_q8_0_avx2, gemm_q8_0_avx2, gemv_f16_avx2, gemv_f32_avx2, dot_f32_avx2,
    axpy_f32_avx2, wsum_f32_avx2, layernorm_f32_avx2, gelu_f32_avx2, softmax_f32_avx2, wsum_f16_avx2, f32_to_f16_avx2,
    dequant_q8_0_avx2, softmax_q8_avx2, gemv_q8_0_batch_avx2, gemv_f16_batch_avx2, gemv_f32_batch_avx2,
    gemv_q4_0_avx2, gemv_q4_0_batch_avx2,
};
