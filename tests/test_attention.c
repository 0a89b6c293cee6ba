/* test_attention.c: multi-head attention, f32 and int8, against a double-precision reference on random heads. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gpt/attention.h"
#include "kernels.h"
#include "core/exec.h"

/* One attention problem: T queries at positions n_past.. over n_past + T keys (causal) or T keys (not). */
typedef struct shape {
    int n_head, head_dim, n_ctx, T, n_past, causal;
} shape;

typedef struct problem {
    shape s;
    bark_gpt g;
    bark_exec ex; /* the kernels and threads g runs on */
    float *k, *v; /* [n_head][n_ctx][head_dim], the cache's layout (used when n_past > 0) */
    bark_kv kv;   /* only its n_past: where the queries sit */
    double *ref;  /* [T][C] */
} problem;

static unsigned rnd(unsigned *s) {
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}
static float frand(unsigned *s) { return (float)(rnd(s) % 2000001) / 1000000.0f - 1.0f; }

/* Keys and values: the qkv rows when the problem starts at position 0, else the separate cache-shaped arrays. */
static const float *key(const problem *p, int h, int j) {
    const bark_gpt *g = &p->g;
    if (p->s.n_past == 0) return g->qkv + (size_t)j * 3 * g->n_embd + g->n_embd + (size_t)h * g->head_dim;
    return p->k + ((size_t)h * g->n_ctx + (size_t)j) * g->head_dim;
}
static const float *value(const problem *p, int h, int j) {
    const bark_gpt *g = &p->g;
    if (p->s.n_past == 0) return g->qkv + (size_t)j * 3 * g->n_embd + 2 * g->n_embd + (size_t)h * g->head_dim;
    return p->v + ((size_t)h * g->n_ctx + (size_t)j) * g->head_dim;
}

static void setup_problem(problem *p, shape s, unsigned seed) {
    memset(p, 0, sizeof *p);
    p->s = s;
    bark_gpt *g = &p->g;
    g->causal = s.causal;
    g->n_head = s.n_head;
    g->head_dim = s.head_dim;
    g->n_embd = s.n_head * s.head_dim;
    g->n_ctx = s.n_ctx;
    p->kv.n_past = s.n_past;
    g->kv = &p->kv;
    bark_error err;
    assert_int_equal(bark_exec_init(&p->ex, 0, NULL, BARK_GEMM_AUTO, &err), BARK_OK);
    g->ex = &p->ex;
    size_t C = (size_t)g->n_embd, N = (size_t)s.n_ctx;
    g->qkv = malloc(N * 3 * C * sizeof(float));
    g->xb = malloc(N * C * sizeof(float));
    g->att = malloc(N * N * sizeof(float));
    p->k = malloc((size_t)s.n_head * N * s.head_dim * sizeof(float));
    p->v = malloc((size_t)s.n_head * N * s.head_dim * sizeof(float));
    p->ref = malloc((size_t)s.T * C * sizeof(double));
    assert_true(g->qkv && g->xb && g->att && p->k && p->v && p->ref);
    assert_int_equal(bark_attention_q8_alloc(g), 0);
    /* queries and keys of a few units: scores spread over several units, softmax neither flat nor one-hot */
    for (size_t i = 0; i < N * 3 * C; i++) g->qkv[i] = 1.5f * frand(&seed);
    for (size_t i = 0; i < (size_t)s.n_head * N * s.head_dim; i++) p->k[i] = 1.5f * frand(&seed), p->v[i] = frand(&seed);
    /* the reference, in double */
    int hd = s.head_dim;
    double *sc = malloc(N * sizeof *sc);
    assert_non_null(sc);
    for (int t = 0; t < s.T; t++)
        for (int h = 0; h < s.n_head; h++) {
            const float *q = g->qkv + (size_t)t * 3 * C + (size_t)h * hd;
            int nk = s.causal ? s.n_past + t + 1 : s.T;
            double mx = -INFINITY, sum = 0.0;
            for (int j = 0; j < nk; j++) {
                const float *kj = key(p, h, j);
                double d = 0.0;
                for (int i = 0; i < hd; i++) d += (double)q[i] * kj[i];
                sc[j] = d / sqrt((double)hd);
                mx = fmax(mx, sc[j]);
            }
            for (int j = 0; j < nk; j++) sum += sc[j] = exp(sc[j] - mx);
            double *out = p->ref + (size_t)t * C + (size_t)h * hd;
            for (int i = 0; i < hd; i++) out[i] = 0.0;
            for (int j = 0; j < nk; j++)
                for (int i = 0; i < hd; i++) out[i] += sc[j] / sum * value(p, h, j)[i];
        }
    free(sc);
}

static void free_problem(problem *p) {
    bark_attention_q8_free(&p->g);
    bark_exec_free(&p->ex);
    free(p->g.qkv), free(p->g.xb), free(p->g.att), free(p->k), free(p->v), free(p->ref);
}

static void run(problem *p, int int8) {
    bark_gpt *g = &p->g;
    size_t C = (size_t)g->n_embd;
    if (p->s.n_past == 0) bark_attention(g, p->s.T, g->qkv + C, g->qkv + 2 * C, 0, int8, 3 * C, (size_t)g->head_dim);
    else bark_attention(g, p->s.T, p->k, p->v, 0, int8, (size_t)g->head_dim, (size_t)g->n_ctx * g->head_dim);
}

/* Largest |xb - ref| over the output (values are within [-1, 1]). */
static double max_error(const problem *p) {
    double e = 0.0;
    for (size_t i = 0; i < (size_t)p->s.T * p->g.n_embd; i++) e = fmax(e, fabs(p->g.xb[i] - p->ref[i]));
    return e;
}

static const shape shapes[] = {
    {2, 64, 256, 200, 0, 0},  /* the fine stage's kind: not causal, head size a multiple of 32 */
    {3, 48, 256, 150, 0, 1},  /* causal prefill from position 0, heads padded 48 -> 64 */
    {2, 16, 256, 100, 41, 1}, /* causal prefill after 41 cached positions, heads padded 16 -> 32 (the tiny model) */
    {4, 64, 96, 9, 80, 1},    /* a few queries near the end of a short context */
};

/* f32 (OpenBLAS) within float rounding of the reference; int8 within its quantization (values, keys, queries and
 * weights each to ~1/254 of their block's largest magnitude: ~1e-2 of the output's range measured, bound 3e-2). */
static void test_against_reference(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        problem p;
        setup_problem(&p, shapes[i], 17u + (unsigned)i);
        run(&p, 0);
        double ef = max_error(&p);
        run(&p, 1);
        double e8 = max_error(&p);
        print_message("attention %d heads x %d, %d queries after %d, %s: f32 max error %.3g, int8 %.3g\n",
                      shapes[i].n_head, shapes[i].head_dim, shapes[i].T, shapes[i].n_past,
                      shapes[i].causal ? "causal" : "not causal", ef, e8);
        assert_true(ef <= 2e-6);
        assert_true(e8 <= 3e-2);
        assert_true(e8 > 0.0); /* the int8 path ran */
        free_problem(&p);
    }
}

/* int8 attention gives the same bits on every kernel table and thread count (the rule in arch/kernels.h). */
static void test_int8_same_bits(void **state) {
    (void)state;
    const char *tables[] = {"c", "avx2", "avx512", "neon"};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        problem p;
        setup_problem(&p, shapes[i], 99u + (unsigned)i);
        size_t n = (size_t)shapes[i].T * p.g.n_embd;
        float *first = malloc(n * sizeof *first);
        assert_non_null(first);
        int runs = 0;
        for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
            for (int th = 1; th <= 3; th++) {
                bark_exec ex;
                bark_error err;
                if (bark_exec_init(&ex, th, tables[t], BARK_GEMM_INT8, &err)) continue; /* a table this CPU lacks */
                p.g.ex = &ex;
                run(&p, 1);
                bark_exec_free(&ex);
                p.g.ex = &p.ex;
                if (runs++ == 0) memcpy(first, p.g.xb, n * sizeof *first);
                else assert_memory_equal(first, p.g.xb, n * sizeof *first);
            }
        assert_true(runs >= 3);
        free(first);
        free_problem(&p);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_reference),
        cmocka_unit_test(test_int8_same_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
