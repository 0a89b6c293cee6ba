/* encodec_vec.h: encodec_gemm.c's vector helpers, GEMM, ELU and LSTM cell for one vector width (included per width). */
/* Included by encodec_gemm.c only, with VW (lanes: 4 or 8) and VX(name) (name suffixed for the width) defined;
 * defines the clones of that width: VW 4 the generic ones, VW 8 (compiled for AVX2) the AVX2 and AVX-512 ones. */

typedef float VX(vf) __attribute__((vector_size(VW * 4)));
typedef int32_t VX(vi) __attribute__((vector_size(VW * 4)));

VINLINE VX(vf) VX(ld)(const float *p) {
    VX(vf) v;
    memcpy(&v, p, sizeof v);
    return v;
}

VINLINE void VX(st)(float *p, VX(vf) v) { memcpy(p, &v, sizeof v); }

/* f in every lane (one broadcast instruction; the initializer list would be built lane by lane) */
VINLINE VX(vf) VX(splat)(float f) {
#if defined(__clang__) && VW == 8
    const VX(vf) v = {f};
    return __builtin_shufflevector(v, v, 0, 0, 0, 0, 0, 0, 0, 0);
#elif defined(__clang__)
    const VX(vf) v = {f};
    return __builtin_shufflevector(v, v, 0, 0, 0, 0);
#else
    return __builtin_shuffle((VX(vf)){f}, (VX(vi)){0});
#endif
}

/* y[0..cols) = acc + b[0..cols) (b NULL: + 0), added to y's values if add; cols <= VW of the lanes */
VINLINE void VX(put)(float *y, VX(vf) acc, const float *b, int cols, int add) {
    if (cols >= VW) {
        const VX(vf) r = acc + (b ? VX(ld)(b) : VX(splat)(0.0f));
        VX(st)(y, add ? VX(ld)(y) + r : r);
        return;
    }
    float t[VW];
    VX(st)(t, acc);
    for (int c = 0; c < cols; c++) {
        const float r = t[c] + (b ? b[c] : 0.0f);
        y[c] = add ? y[c] + r : r;
    }
}

/* Rows [t, t + R) x columns [o, o + VW * NV) of the product, in registers (columns from n on are computed from
 * the panels' zero padding and not stored). */
#define GEMM_TILE(R, NV)                                                                                             \
    do {                                                                                                             \
        const float *wp[NV];                                                                                         \
        _Pragma("GCC unroll 16") for (int j = 0; j < NV; j++) {                                                      \
            const int oj = o + VW * j;                                                                               \
            wp[j] = w + (size_t)(oj / ENCODEC_PANEL) * ENCODEC_PANEL * k + oj % ENCODEC_PANEL;                       \
        }                                                                                                            \
        VX(vf) acc[R][NV];                                                                                           \
        _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) _Pragma("GCC unroll 16") for (int j = 0; j < NV; j++)   \
            acc[r][j] = VX(splat)(0.0f);                                                                             \
        for (int i = 0; i < k; i++) {                                                                                \
            VX(vf) wv[NV];                                                                                           \
            _Pragma("GCC unroll 16") for (int j = 0; j < NV; j++) wv[j] = VX(ld)(wp[j] + (size_t)i * ENCODEC_PANEL); \
            _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) {                                                   \
                const VX(vf) xb = VX(splat)(x[(size_t)(t + r) * ldx + i]);                                           \
                _Pragma("GCC unroll 16") for (int j = 0; j < NV; j++) {                                              \
                    const VX(vf) p = xb * wv[j];                                                                     \
                    acc[r][j] = acc[r][j] + p;                                                                       \
                }                                                                                                    \
            }                                                                                                        \
        }                                                                                                            \
        _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) _Pragma("GCC unroll 16") for (int j = 0; j < NV; j++)   \
            VX(put)(y + (size_t)(t + r) * ldy + o + VW * j, acc[r][j], b ? b + o + VW * j : NULL, n - o - VW * j, add); \
    } while (0)

/* Columns [o, o + VW * NV) for every row: R rows at a time, then one. */
#define GEMM_COLS(R, NV)                                                                                             \
    do {                                                                                                             \
        int t = 0;                                                                                                   \
        for (; t + R <= m; t += R) GEMM_TILE(R, NV);                                                                 \
        for (; t < m; t++) GEMM_TILE(1, NV);                                                                         \
    } while (0)

/* The body of every clone: column strips of VW * NV (the weight strip stays in cache over the rows), then
 * strips of one panel and single vectors (the last one maybe partial), R2 rows at a time. */
#define GEMM_BODY(R, NV, R2)                                                                                         \
    do {                                                                                                             \
        int o = 0;                                                                                                   \
        for (; o + VW * NV <= n; o += VW * NV) GEMM_COLS(R, NV);                                                     \
        for (; o + 16 <= n; o += 16) GEMM_COLS(R2, 16 / VW);                                                         \
        for (; o < n; o += VW) GEMM_COLS(R2, 1);                                                                     \
    } while (0)

/* a * b + c, rounded twice (a statement of its own, so that no compiler fuses it) */
VINLINE VX(vf) VX(madd)(VX(vf) a, VX(vf) b, VX(vf) c) {
    const VX(vf) p = a * b;
    return p + c;
}

/* mask ? a : b lane by lane (mask lanes all ones or zero) */
VINLINE VX(vf) VX(sel)(VX(vi) mask, VX(vf) a, VX(vf) b) {
    VX(vi) ia, ib;
    memcpy(&ia, &a, sizeof ia);
    memcpy(&ib, &b, sizeof ib);
    const VX(vi) r = (mask & ia) | (~mask & ib);
    VX(vf) out;
    memcpy(&out, &r, sizeof out);
    return out;
}

/* exp(c) for c in [-87, 0]: Cody-Waite reduction to |r| <= ln2/2, Cephes' expf polynomial, 2^n from the
 * exponent bits (n >= -126: always a normal number). */
VINLINE VX(vf) VX(expn)(VX(vf) c) {
    const VX(vf) fn = VX(madd)(c, VX(splat)(1.44269504088896341f), VX(splat)(12582912.0f)) - VX(splat)(12582912.0f);
    VX(vf) r = VX(madd)(fn, VX(splat)(-0.693359375f), c);
    r = VX(madd)(fn, VX(splat)(2.12194440e-4f), r);
    VX(vf) p = VX(splat)(1.9875691500e-4f);
    p = VX(madd)(p, r, VX(splat)(1.3981999507e-3f));
    p = VX(madd)(p, r, VX(splat)(8.3334519073e-3f));
    p = VX(madd)(p, r, VX(splat)(4.1665795894e-2f));
    p = VX(madd)(p, r, VX(splat)(1.6666665459e-1f));
    p = VX(madd)(p, r, VX(splat)(5.0000001201e-1f));
    const VX(vf) e = VX(madd)(p, r * r, r) + VX(splat)(1.0f);
    const VX(vi) bits = (__builtin_convertvector(fn, VX(vi)) + 127) << 23;
    VX(vf) scale;
    memcpy(&scale, &bits, sizeof scale);
    return e * scale;
}

/* expm1(v) for v <= 0: a polynomial on [-1/8, 0], exp(v) - 1 below (v clamped at -87, exp below 1e-37). */
VINLINE VX(vf) VX(expm1n)(VX(vf) v) {
    const VX(vf) c = VX(sel)(v < VX(splat)(-87.0f), VX(splat)(-87.0f), v);
    VX(vf) q = VX(splat)(1.0f / 5040.0f);
    q = VX(madd)(q, c, VX(splat)(1.0f / 720.0f));
    q = VX(madd)(q, c, VX(splat)(1.0f / 120.0f));
    q = VX(madd)(q, c, VX(splat)(1.0f / 24.0f));
    q = VX(madd)(q, c, VX(splat)(1.0f / 6.0f));
    q = VX(madd)(q, c, VX(splat)(0.5f));
    const VX(vf) small = VX(madd)(q, c * c, c);
    return VX(sel)(c < VX(splat)(-0.125f), VX(expn)(c) - VX(splat)(1.0f), small);
}

VINLINE VX(vf) VX(elu)(VX(vf) v) { return VX(sel)(v > VX(splat)(0.0f), v, VX(expm1n)(v)); }

VINLINE VX(vf) VX(absv)(VX(vf) v) { return VX(sel)(v < VX(splat)(0.0f), -v, v); }

VINLINE VX(vf) VX(sigmoid)(VX(vf) v) {
    const VX(vf) e = VX(expm1n)(-VX(absv)(v)) + VX(splat)(1.0f); /* exp(-|v|) */
    const VX(vf) s = VX(splat)(1.0f) / (VX(splat)(1.0f) + e);
    return VX(sel)(v < VX(splat)(0.0f), e * s, s);
}

/* tanh(|v|) = -t / (t + 2) with t = expm1(-2|v|), accurate near 0; the sign put back */
VINLINE VX(vf) VX(tanh)(VX(vf) v) {
    const VX(vf) t = VX(expm1n)(VX(splat)(-2.0f) * VX(absv)(v));
    const VX(vf) r = -t / (t + VX(splat)(2.0f));
    return VX(sel)(v < VX(splat)(0.0f), -r, r);
}

/* VW cells: gates at g, g + gs, g + 2 gs, g + 3 gs */
VINLINE void VX(cell)(const float *g, size_t gs, float *c, float *h) {
    const VX(vf) ig = VX(sigmoid)(VX(ld)(g)), fg = VX(sigmoid)(VX(ld)(g + gs));
    const VX(vf) cg = VX(tanh)(VX(ld)(g + 2 * gs)), og = VX(sigmoid)(VX(ld)(g + 3 * gs));
    const VX(vf) fc = fg * VX(ld)(c), ic = ig * cg;
    const VX(vf) cn = fc + ic;
    VX(st)(c, cn);
    VX(st)(h, og * VX(tanh)(cn));
}

/* the cells VW at a time, the last d % VW through zero-padded copies */
#define CELL_BODY                                                                                                    \
    do {                                                                                                             \
        int j = 0;                                                                                                   \
        for (; j + VW <= d; j += VW) VX(cell)(g + j, (size_t)d, c + j, h + j);                                       \
        if (j < d) {                                                                                                 \
            float tg[4 * VW] = {0}, tc[VW] = {0}, th[VW];                                                            \
            const size_t r = (size_t)(d - j) * sizeof *c;                                                            \
            for (int q = 0; q < 4; q++) memcpy(tg + VW * q, g + (size_t)q * d + j, r);                               \
            memcpy(tc, c + j, r);                                                                                    \
            VX(cell)(tg, VW, tc, th);                                                                                \
            memcpy(c + j, tc, r);                                                                                    \
            memcpy(h + j, th, r);                                                                                    \
        }                                                                                                            \
    } while (0)

#define ELU_BODY                                                                                                     \
    do {                                                                                                             \
        size_t i = 0;                                                                                                \
        for (; i + VW <= len; i += VW) VX(st)(y + i, VX(elu)(VX(ld)(x + i)));                                        \
        if (i < len) {                                                                                               \
            float tail[VW] = {0};                                                                                    \
            memcpy(tail, x + i, (len - i) * sizeof *x);                                                              \
            VX(st)(tail, VX(elu)(VX(ld)(tail)));                                                                     \
            memcpy(y + i, tail, (len - i) * sizeof *x);                                                              \
        }                                                                                                            \
    } while (0)

#if VW == 4
static void gemm_generic(GEMM_ARGS) { GEMM_BODY(2, 4, 2); }
static void elu_generic(const float *x, float *y, size_t len) { ELU_BODY; }
static void cell_generic(const float *g, float *c, float *h, int d) { CELL_BODY; }
#else
static void gemm_avx2(GEMM_ARGS) { GEMM_BODY(4, 3, 4); }
static void elu_avx2(const float *x, float *y, size_t len) { ELU_BODY; }
static void cell_avx2(const float *g, float *c, float *h, int d) { CELL_BODY; }
/* 32 vector registers: 4 x 6 accumulators (8 x 2 on narrow products) */
__attribute__((target("avx512f,avx512vl"))) static void gemm_avx512(GEMM_ARGS) { GEMM_BODY(4, 6, 8); }
#endif

#undef GEMM_TILE
#undef GEMM_COLS
#undef GEMM_BODY
#undef CELL_BODY
#undef ELU_BODY
