/* encodec_gemm.c: EnCodec's f32 GEMM, ELU and LSTM cell: every output the same arithmetic whatever the rows or CPU. */
#include "codec/encodec_ops.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

/* Each output y[t][o] is acc = 0; acc = acc + x[t][i] * w[i][o] for i = 0, 1, .. k-1 (each product rounded, then
 * added: no fused multiply-add; the Makefile builds everything with -ffp-contract=off),
 * then y = acc + b[o]. Vector lanes hold different outputs, never parts of one sum, so the tile shape, the
 * instruction set (the x86 clones below) and the rows given in one call never change a bit. */

/* Every helper taking or giving a vector is inlined into the clone that calls it (no vector crosses a call). */
#define VINLINE static inline __attribute__((always_inline))

#define GEMM_ARGS                                                                                                    \
    int m, int n, int k, const float *x, size_t ldx, const float *w, const float *b, float *y, size_t ldy, int add

/* 128-bit vectors for the generic clones (SSE2, NEON: wider generic vectors would live in memory) */
#define VW 4
#define VX(name) name##_4
#include "codec/encodec_vec.h"
#undef VW
#undef VX

#if defined(__x86_64__) && defined(__GNUC__)
/* 256-bit vectors: every function of this width is compiled for AVX2 at least (the AVX-512 clone for more) */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2")
#endif
#define VW 8
#define VX(name) name##_8
#include "codec/encodec_vec.h"
#undef VW
#undef VX
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

static atomic_int isa_cap = 2;

int encodec_isa_cap(int cap) { return atomic_exchange(&isa_cap, cap); }

/* 2: AVX-512 clone, 1: AVX2, 0: generic; the CPU's best unless the tests capped it */
static int cpu_level(void) {
    static atomic_int level = -1; /* every thread that finds it unset stores the same value */
    int l = atomic_load_explicit(&level, memory_order_relaxed);
    if (l < 0) {
        __builtin_cpu_init();
        l = __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512f") ? 2
            : __builtin_cpu_supports("avx2")                                          ? 1
                                                                                      : 0;
        atomic_store_explicit(&level, l, memory_order_relaxed);
    }
    const int cap = atomic_load_explicit(&isa_cap, memory_order_relaxed);
    return l < cap ? l : cap;
}

void encodec_gemm(GEMM_ARGS) {
    const int level = cpu_level();
    if (level == 2) gemm_avx512(m, n, k, x, ldx, w, b, y, ldy, add);
    else if (level == 1) gemm_avx2(m, n, k, x, ldx, w, b, y, ldy, add);
    else gemm_generic(m, n, k, x, ldx, w, b, y, ldy, add);
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
int encodec_isa_cap(int cap) { return cap; }
void encodec_gemm(GEMM_ARGS) { gemm_generic(m, n, k, x, ldx, w, b, y, ldy, add); }
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
    int add;
    int by_rows, per; /* task i takes rows (by_rows) or panels [i * per, (i + 1) * per) */
} gemm_job;

static void gemm_task(void *ctx, int i, int n_tasks) {
    (void)n_tasks;
    const gemm_job *j = ctx;
    if (j->by_rows) {
        const int t0 = i * j->per, t1 = t0 + j->per < j->m ? t0 + j->per : j->m;
        if (t1 > t0)
            encodec_gemm(t1 - t0, j->n, j->k, j->x + (size_t)t0 * j->ldx, j->ldx, j->w, j->b, j->y + (size_t)t0 * j->ldy,
                         j->ldy, j->add);
        return;
    }
    const int cols = j->per * ENCODEC_PANEL, o0 = i * cols, o1 = o0 + cols < j->n ? o0 + cols : j->n;
    if (o1 > o0)
        encodec_gemm(j->m, o1 - o0, j->k, j->x, j->ldx, j->w + (size_t)o0 * j->k, j->b ? j->b + o0 : NULL, j->y + o0,
                     j->ldy, j->add);
}

/* Products below this many multiply-adds run on the caller's thread alone (a pool run costs microseconds). */
#define GEMM_POOL_MIN (1 << 16)

void encodec_gemm_pool(bark_pool *pool, GEMM_ARGS) {
    const int nt = pool ? bark_pool_threads(pool) : 1;
    if (nt <= 1 || (double)m * n * k < GEMM_POOL_MIN) {
        encodec_gemm(m, n, k, x, ldx, w, b, y, ldy, add);
        return;
    }
    gemm_job j = {m, n, k, x, ldx, w, b, y, ldy, add, 0, 0};
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
