/* encodec_gemm.c: EnCodec's f32 GEMM and ELU whose every output is the same arithmetic whatever the rows, tiles or CPU. */
#include "codec/encodec_ops.h"

#include <stdint.h>
#include <string.h>

/* Each output y[t][o] is acc = 0; acc = acc + x[t][i] * w[i][o] for i = 0, 1, .. k-1 (each product rounded, then
 * added: no fused multiply-add; C11 mode keeps GCC from contracting and separate statements keep clang from it),
 * then y = acc + b[o]. Vector lanes hold different outputs, never parts of one sum, so the tile shape, the
 * instruction set (the x86 clones below) and the rows given in one call never change a bit. */

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi" /* 32-byte vectors passed between static inline functions only */
#endif

/* Every helper taking or giving a vector is inlined into the clone that calls it (no vector crosses a call). */
#define VINLINE static inline __attribute__((always_inline))

typedef float v8 __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

VINLINE v8 ld8(const float *p) {
    v8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

VINLINE void st8(float *p, v8 v) { memcpy(p, &v, sizeof v); }

/* f in every lane (one broadcast instruction; the initializer list would be built lane by lane) */
VINLINE v8 splat8(float f) {
#if defined(__clang__)
    const v8 v = {f};
    return __builtin_shufflevector(v, v, 0, 0, 0, 0, 0, 0, 0, 0);
#else
    return __builtin_shuffle((v8){f}, (v8i){0});
#endif
}

/* y[0..cols) = acc + b[0..cols) (b NULL: + 0), cols <= 8 of the lanes */
VINLINE void put8(float *y, v8 acc, const float *b, int cols) {
    if (cols >= 8) {
        st8(y, acc + (b ? ld8(b) : splat8(0.0f)));
        return;
    }
    float t[8];
    st8(t, acc);
    for (int c = 0; c < cols; c++) y[c] = t[c] + (b ? b[c] : 0.0f);
}

/* Rows [t, t + R) x columns [o, o + 8 * NV) of the product, in registers (columns from n on are computed from
 * the panels' zero padding and not stored). */
#define GEMM_TILE(R, NV)                                                                                             \
    do {                                                                                                             \
        const float *wp[NV];                                                                                         \
        _Pragma("GCC unroll 16") for (int j = 0; j < NV; j++) {                                                      \
            const int oj = o + 8 * j;                                                                                \
            wp[j] = w + (size_t)(oj / ENCODEC_PANEL) * ENCODEC_PANEL * k + oj % ENCODEC_PANEL;                       \
        }                                                                                                            \
        v8 acc[R][NV];                                                                                               \
        _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) _Pragma("GCC unroll 16") for (int j = 0; j < NV; j++)   \
            acc[r][j] = splat8(0.0f);                                                                                \
        for (int i = 0; i < k; i++) {                                                                                \
            v8 wv[NV];                                                                                               \
            _Pragma("GCC unroll 16") for (int j = 0; j < NV; j++) wv[j] = ld8(wp[j] + (size_t)i * ENCODEC_PANEL);    \
            _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) {                                                   \
                const v8 xb = splat8(x[(size_t)(t + r) * ldx + i]);                                                  \
                _Pragma("GCC unroll 16") for (int j = 0; j < NV; j++) {                                              \
                    const v8 p = xb * wv[j];                                                                         \
                    acc[r][j] = acc[r][j] + p;                                                                       \
                }                                                                                                    \
            }                                                                                                        \
        }                                                                                                            \
        _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) _Pragma("GCC unroll 16") for (int j = 0; j < NV; j++)   \
            put8(y + (size_t)(t + r) * ldy + o + 8 * j, acc[r][j], b ? b + o + 8 * j : NULL, n - o - 8 * j);        \
    } while (0)

/* Columns [o, o + 8 * NV) for every row: R rows at a time, then one. */
#define GEMM_COLS(R, NV)                                                                                             \
    do {                                                                                                             \
        int t = 0;                                                                                                   \
        for (; t + R <= m; t += R) GEMM_TILE(R, NV);                                                                 \
        for (; t < m; t++) GEMM_TILE(1, NV);                                                                         \
    } while (0)

/* The body of every clone: column strips of 8 * NV (the weight strip stays in cache over the rows), then
 * strips of one panel and single vectors (the last one maybe partial), R2 rows at a time. */
#define GEMM_BODY(R, NV, R2)                                                                                         \
    do {                                                                                                             \
        int o = 0;                                                                                                   \
        for (; o + 8 * NV <= n; o += 8 * NV) GEMM_COLS(R, NV);                                                       \
        for (; o + 16 <= n; o += 16) GEMM_COLS(R2, 2);                                                               \
        for (; o < n; o += 8) GEMM_COLS(R2, 1);                                                                      \
    } while (0)

#define GEMM_ARGS int m, int n, int k, const float *x, size_t ldx, const float *w, const float *b, float *y, size_t ldy

/* a * b + c, rounded twice (a statement of its own, so that no compiler fuses it) */
VINLINE v8 madd(v8 a, v8 b, v8 c) {
    const v8 p = a * b;
    return p + c;
}

/* mask ? a : b lane by lane (mask lanes all ones or zero) */
VINLINE v8 sel(v8i mask, v8 a, v8 b) {
    v8i ia, ib;
    memcpy(&ia, &a, sizeof ia);
    memcpy(&ib, &b, sizeof ib);
    const v8i r = (mask & ia) | (~mask & ib);
    v8 out;
    memcpy(&out, &r, sizeof out);
    return out;
}

/* exp(c) for c in [-87, 0]: Cody-Waite reduction to |r| <= ln2/2, Cephes' expf polynomial, 2^n from the
 * exponent bits (n >= -126: always a normal number). */
VINLINE v8 expn8(v8 c) {
    const v8 fn = madd(c, splat8(1.44269504088896341f), splat8(12582912.0f)) - splat8(12582912.0f);
    v8 r = madd(fn, splat8(-0.693359375f), c);
    r = madd(fn, splat8(2.12194440e-4f), r);
    v8 p = splat8(1.9875691500e-4f);
    p = madd(p, r, splat8(1.3981999507e-3f));
    p = madd(p, r, splat8(8.3334519073e-3f));
    p = madd(p, r, splat8(4.1665795894e-2f));
    p = madd(p, r, splat8(1.6666665459e-1f));
    p = madd(p, r, splat8(5.0000001201e-1f));
    const v8 e = madd(p, r * r, r) + splat8(1.0f);
    const v8i bits = (__builtin_convertvector(fn, v8i) + 127) << 23;
    v8 scale;
    memcpy(&scale, &bits, sizeof scale);
    return e * scale;
}

/* expm1(v) for v <= 0: a polynomial on [-1/8, 0], exp(v) - 1 below (v clamped at -87, exp below 1e-37). */
VINLINE v8 expm1n8(v8 v) {
    const v8 c = sel(v < splat8(-87.0f), splat8(-87.0f), v);
    v8 q = splat8(1.0f / 5040.0f);
    q = madd(q, c, splat8(1.0f / 720.0f));
    q = madd(q, c, splat8(1.0f / 120.0f));
    q = madd(q, c, splat8(1.0f / 24.0f));
    q = madd(q, c, splat8(1.0f / 6.0f));
    q = madd(q, c, splat8(0.5f));
    const v8 small = madd(q, c * c, c);
    return sel(c < splat8(-0.125f), expn8(c) - splat8(1.0f), small);
}

VINLINE v8 elu8(v8 v) { return sel(v > splat8(0.0f), v, expm1n8(v)); }

VINLINE v8 absv8(v8 v) { return sel(v < splat8(0.0f), -v, v); }

VINLINE v8 sigmoid8(v8 v) {
    const v8 e = expm1n8(-absv8(v)) + splat8(1.0f); /* exp(-|v|) */
    const v8 s = splat8(1.0f) / (splat8(1.0f) + e);
    return sel(v < splat8(0.0f), e * s, s);
}

/* tanh(|v|) = -t / (t + 2) with t = expm1(-2|v|), accurate near 0; the sign put back */
VINLINE v8 tanh8(v8 v) {
    const v8 t = expm1n8(splat8(-2.0f) * absv8(v));
    const v8 r = -t / (t + splat8(2.0f));
    return sel(v < splat8(0.0f), -r, r);
}

/* 8 cells: gates at g, g + gs, g + 2 gs, g + 3 gs */
VINLINE void cell8(const float *g, size_t gs, float *c, float *h) {
    const v8 ig = sigmoid8(ld8(g)), fg = sigmoid8(ld8(g + gs));
    const v8 cg = tanh8(ld8(g + 2 * gs)), og = sigmoid8(ld8(g + 3 * gs));
    const v8 fc = fg * ld8(c), ic = ig * cg;
    const v8 cn = fc + ic;
    st8(c, cn);
    st8(h, og * tanh8(cn));
}

/* the cells 8 at a time, the last d % 8 through zero-padded copies */
#define CELL_BODY                                                                                                    \
    do {                                                                                                             \
        int j = 0;                                                                                                   \
        for (; j + 8 <= d; j += 8) cell8(g + j, (size_t)d, c + j, h + j);                                            \
        if (j < d) {                                                                                                 \
            float tg[32] = {0}, tc[8] = {0}, th[8];                                                                  \
            const size_t r = (size_t)(d - j) * sizeof *c;                                                            \
            for (int q = 0; q < 4; q++) memcpy(tg + 8 * q, g + (size_t)q * d + j, r);                               \
            memcpy(tc, c + j, r);                                                                                    \
            cell8(tg, 8, tc, th);                                                                                    \
            memcpy(c + j, tc, r);                                                                                    \
            memcpy(h + j, th, r);                                                                                    \
        }                                                                                                            \
    } while (0)

#define ELU_BODY                                                                                                     \
    do {                                                                                                             \
        size_t i = 0;                                                                                                \
        for (; i + 8 <= len; i += 8) st8(y + i, elu8(ld8(x + i)));                                                   \
        if (i < len) {                                                                                               \
            float tail[8] = {0};                                                                                     \
            memcpy(tail, x + i, (len - i) * sizeof *x);                                                              \
            st8(tail, elu8(ld8(tail)));                                                                              \
            memcpy(y + i, tail, (len - i) * sizeof *x);                                                              \
        }                                                                                                            \
    } while (0)

static void gemm_generic(GEMM_ARGS) { GEMM_BODY(2, 2, 2); }
static void elu_generic(const float *x, float *y, size_t len) { ELU_BODY; }
static void cell_generic(const float *g, float *c, float *h, int d) { CELL_BODY; }

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2"))) static void gemm_avx2(GEMM_ARGS) { GEMM_BODY(4, 3, 4); }
__attribute__((target("avx2"))) static void elu_avx2(const float *x, float *y, size_t len) { ELU_BODY; }
__attribute__((target("avx2"))) static void cell_avx2(const float *g, float *c, float *h, int d) { CELL_BODY; }
/* 32 vector registers: 4 x 6 accumulators (8 x 2 on narrow products) */
__attribute__((target("avx512f,avx512vl"))) static void gemm_avx512(GEMM_ARGS) { GEMM_BODY(4, 6, 8); }

static int cpu_level(void) {
    static int level = -1; /* a benign race: every thread stores the same value */
    if (level < 0) {
        __builtin_cpu_init();
        level = __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512f") ? 2
                : __builtin_cpu_supports("avx2")                                          ? 1
                                                                                          : 0;
    }
    return level;
}

void encodec_gemm(GEMM_ARGS) {
    const int level = cpu_level();
    if (level == 2) gemm_avx512(m, n, k, x, ldx, w, b, y, ldy);
    else if (level == 1) gemm_avx2(m, n, k, x, ldx, w, b, y, ldy);
    else gemm_generic(m, n, k, x, ldx, w, b, y, ldy);
}

static void elu(const float *x, float *y, size_t len) {
    if (cpu_level() >= 1) elu_avx2(x, y, len);
    else elu_generic(x, y, len);
}

void encodec_lstm_cell(const float *g, float *c, float *h, int d) {
    if (cpu_level() >= 1) cell_avx2(g, c, h, d);
    else cell_generic(g, c, h, d);
}
#else
void encodec_gemm(GEMM_ARGS) { gemm_generic(m, n, k, x, ldx, w, b, y, ldy); }
static void elu(const float *x, float *y, size_t len) { elu_generic(x, y, len); }
void encodec_lstm_cell(const float *g, float *c, float *h, int d) { cell_generic(g, c, h, d); }
#endif

/* ---- the same products split over a pool's threads (which thread computes an output never changes it) ---- */

typedef struct gemm_job {
    int m, n, k;
    const float *x;
    size_t ldx;
    const float *w, *b;
    float *y;
    size_t ldy;
    int by_rows, per; /* task i takes rows (by_rows) or panels [i * per, (i + 1) * per) */
} gemm_job;

static void gemm_task(void *ctx, int i, int n_tasks) {
    (void)n_tasks;
    const gemm_job *j = ctx;
    if (j->by_rows) {
        const int t0 = i * j->per, t1 = t0 + j->per < j->m ? t0 + j->per : j->m;
        if (t1 > t0)
            encodec_gemm(t1 - t0, j->n, j->k, j->x + (size_t)t0 * j->ldx, j->ldx, j->w, j->b, j->y + (size_t)t0 * j->ldy,
                         j->ldy);
        return;
    }
    const int o0 = i * j->per * ENCODEC_PANEL, o1 = o0 + j->per * ENCODEC_PANEL < j->n ? o0 + j->per * ENCODEC_PANEL : j->n;
    if (o1 > o0)
        encodec_gemm(j->m, o1 - o0, j->k, j->x, j->ldx, j->w + (size_t)o0 * j->k, j->b ? j->b + o0 : NULL, j->y + o0,
                     j->ldy);
}

/* Products below this many multiply-adds run on the caller's thread alone (a pool run costs microseconds). */
#define GEMM_POOL_MIN (1 << 16)

void encodec_gemm_pool(bark_pool *pool, GEMM_ARGS) {
    const int nt = pool ? bark_pool_threads(pool) : 1;
    if (nt <= 1 || (double)m * n * k < GEMM_POOL_MIN) {
        encodec_gemm(m, n, k, x, ldx, w, b, y, ldy);
        return;
    }
    gemm_job j = {m, n, k, x, ldx, w, b, y, ldy, 0, 0};
    const int panels = (n + ENCODEC_PANEL - 1) / ENCODEC_PANEL;
    j.by_rows = panels < 2 * nt && m >= 2 * nt;
    const int units = j.by_rows ? m : panels;
    j.per = (units + nt - 1) / nt;
    bark_pool_run(pool, (units + j.per - 1) / j.per, gemm_task, &j);
}

typedef struct elu_job {
    const float *x;
    float *y;
    size_t n, per;
} elu_job;

static void elu_task(void *ctx, int i, int n_tasks) {
    (void)n_tasks;
    const elu_job *j = ctx;
    const size_t a = (size_t)i * j->per, b = a + j->per < j->n ? a + j->per : j->n;
    if (b > a) elu(j->x + a, j->y + a, b - a);
}

/* Arrays below this many values take the caller's thread alone. */
#define ELU_POOL_MIN 8192

void encodec_elu_pool(bark_pool *pool, const float *x, float *y, size_t n) {
    const int nt = pool ? bark_pool_threads(pool) : 1;
    if (nt <= 1 || n < ELU_POOL_MIN) {
        elu(x, y, n);
        return;
    }
    elu_job j = {x, y, n, (n / (size_t)nt + 8) / 8 * 8};
    bark_pool_run(pool, (int)((n + j.per - 1) / j.per), elu_task, &j);
}
