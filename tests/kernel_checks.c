/* kernel_checks.c: the SIMD-vs-C kernel comparisons shared by test_kernels and the arm64 qemu run. */
#include "kernel_checks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/quant.h"

static unsigned rnd(unsigned *s) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static float frand(unsigned *s, float a) { return ((float)(rnd(s) % 2000001) / 1000000.0f - 1.0f) * a; }

/* Compares n outputs; tracks the worst relative error and whether any bit differs. */
typedef struct stat {
    const char *name;
    int cases, inexact;
    double max_rel;
} stat;

static void compare(stat *st, const float *a, const float *b, size_t n) {
    double d = 0.0, m = 0.0;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        m = fmax(m, fabs((double)b[i]));
    }
    double rel = m > 0.0 ? d / m : d;
    if (rel > st->max_rel || isnan(rel)) st->max_rel = isnan(rel) ? INFINITY : rel;
    if (memcmp(a, b, n * sizeof *a)) st->inexact++;
    st->cases++;
}

/* compare() for results that must be bit-identical: any differing bit fails the kernel. */
static void compare_exact(stat *st, const float *a, const float *b, size_t n) {
    int before = st->inexact;
    compare(st, a, b, n);
    if (st->inexact != before) st->max_rel = INFINITY;
}

static int report(const stat *st, const bark_kernels *k, FILE *log) {
    int bad = !(st->max_rel <= KC_TOL);
    if (log)
        fprintf(log, "%-14s %s vs c: %3d cases, max relative error %.3g, %d not bit-identical%s\n", st->name, k->name,
                st->cases, st->max_rel, st->inexact, bad ? "  FAILED" : "");
    return bad;
}

/* Random q8_0 rows: int8 weights in -127..127 (sometimes -128) and f16 scales. */
static void fill_q8(block_q8_0 *w, size_t nb, unsigned *s) {
    for (size_t i = 0; i < nb; i++) {
        w[i].d = bark_f32_to_f16(frand(s, 0.05f) + 0.001f);
        for (int j = 0; j < QK8_0; j++) w[i].qs[j] = (int8_t)(rnd(s) % 255 - 127);
        if (rnd(s) % 7 == 0) w[i].qs[rnd(s) % QK8_0] = -128;
    }
}

/* Random q4_0 rows: any nibbles and f16 scales of either sign. */
static void fill_q4(block_q4_0 *w, size_t nb, unsigned *s) {
    for (size_t i = 0; i < nb; i++) {
        w[i].d = bark_f32_to_f16(frand(s, 0.1f));
        for (int j = 0; j < QK4_0 / 2; j++) w[i].qs[j] = (uint8_t)rnd(s);
    }
}

int kc_check_table(const bark_kernels *k, unsigned seed, int cases, FILE *log) {
    const bark_kernels *c = &bark_kernels_c;
    unsigned s = seed ? seed : 1;
    /* MAXN: the longest rows (n past 4096 every 8th case: the batched GEMVs' long-row path); MAXM: other lengths;
     * T rows for the GEMM, B up to MAXT for the batched GEMVs */
    enum { MAXN = 4608, MAXM = 3200, MAXR = 40, MAXT = 20, MAXGT = 14 };
    float *x = malloc(MAXT * MAXN * sizeof *x), *x2 = malloc(MAXN * sizeof *x2), *w = malloc(MAXN * sizeof *w);
    float *ya = malloc(MAXT * MAXN * sizeof *ya), *yb = malloc(MAXT * MAXN * sizeof *yb);
    float *da = malloc(MAXT * MAXN / 32 * sizeof *da), *db = malloc(MAXT * MAXN / 32 * sizeof *db);
    int8_t *qa = malloc(MAXT * MAXN), *qb = malloc(MAXT * MAXN);
    block_q8_0 *W = malloc((size_t)MAXR * MAXN / 32 * sizeof *W);
    block_q4_0 *W4 = malloc((size_t)MAXR * MAXN / 32 * sizeof *W4);
    float *Wf = malloc((size_t)MAXR * (MAXN + 5) * sizeof *Wf);
    uint16_t *Wh = malloc((size_t)MAXR * (MAXN + 5) * sizeof *Wh);
    float *xa_f = malloc(MAXN * sizeof *xa_f), *xb_f = malloc(MAXN * sizeof *xb_f);
    int32_t *xs = malloc(MAXT * MAXN / 32 * sizeof *xs);
    int fails = 0;
    if (!x || !x2 || !w || !ya || !yb || !da || !db || !qa || !qb || !W || !W4 || !Wf || !Wh || !xa_f || !xb_f || !xs) {
        if (log) fprintf(log, "kernel checks: out of memory\n");
        fails = 1;
        goto done;
    }
    stat st_q = {"quantize_q8", 0, 0, 0}, st_v = {"gemv_q8_0", 0, 0, 0}, st_m = {"gemm_q8_0", 0, 0, 0};
    stat st_mv = {"gemm~gemv", 0, 0, 0}; /* two rules for one product: equal within rounding, not bit for bit */
    stat st_h = {"gemv_f16", 0, 0, 0}, st_f = {"gemv_f32", 0, 0, 0}, st_d = {"dot_f32", 0, 0, 0};
    stat st_w = {"wsum_f32", 0, 0, 0}, st_a = {"axpy_f32", 0, 0, 0}, st_l = {"layernorm_f32", 0, 0, 0}, st_g = {"gelu_f32", 0, 0, 0};
    stat st_dq = {"dequant_q8_0", 0, 0, 0};
    /* batched decode GEMVs against the C twin's single-row GEMV on each row: bit for bit */
    stat st_vb = {"gemv_q8_0_batch", 0, 0, 0}, st_hb = {"gemv_f16_batch", 0, 0, 0}, st_fb = {"gemv_f32_batch", 0, 0, 0};
    /* q4_0 rows: bit for bit the C twin, and the q8_0 kernel on the same values as q8_0 blocks */
    stat st_v4 = {"gemv_q4_0", 0, 0, 0}, st_vb4 = {"gemv_q4_0_batch", 0, 0, 0}, st_48 = {"q4_0~q8_0", 0, 0, 0};
    stat st_sq = {"softmax_q8", 0, 0, 0};
    stat st_s = {"softmax_f32", 0, 0, 0}, st_wh = {"wsum_f16", 0, 0, 0}, st_c = {"f32_to_f16", 0, 0, 0};
    for (int it = 0; it < cases; it++) {
        int nb = it % 8 == 7 ? 129 + (int)(rnd(&s) % (MAXN / 32 - 128)) : 1 + (int)(rnd(&s) % (MAXM / 32));
        int n = nb * 32;                                                  /* block-multiple sizes */
        int m = 1 + (int)(rnd(&s) % (MAXM - 1));                         /* any size: odd tails */
        int rows = 1 + (int)(rnd(&s) % MAXR), T = 1 + (int)(rnd(&s) % MAXGT), B = 1 + (int)(rnd(&s) % MAXT);
        float scale = it % 3 == 0 ? 100.0f : it % 3 == 1 ? 1.0f : 0.01f;
        for (int i = 0; i < MAXT * MAXN; i++) x[i] = frand(&s, scale);
        if (it % 5 == 0) memset(x, 0, 32 * sizeof *x); /* an all-zero block */
        if (it % 5 == 1) /* a block too small to scale: its inverse scale would overflow */
            for (int i = 32; i < 64; i++) x[i] *= 1e-37f;
        /* quantize_q8 */
        k->quantize_q8(x, qa, da, xs, n);
        c->quantize_q8(x, qb, db, xs + nb, n);
        compare(&st_q, da, db, (size_t)nb);
        int32_t sum0 = 0; /* block 0's sum, counted here */
        for (int i = 0; i < 32; i++) sum0 += qb[i];
        if (memcmp(qa, qb, (size_t)n) || memcmp(xs, xs + nb, (size_t)nb * sizeof *xs) || xs[nb] != sum0)
            st_q.inexact++, st_q.max_rel = INFINITY;
        /* gemv / gemm q8_0 on the C-quantized activations of T (and B) rows */
        for (int t = 0; t < (T > B ? T : B); t++)
            c->quantize_q8(x + (size_t)t * n, qb + (size_t)t * n, db + (size_t)t * nb, xs + (size_t)t * nb, n);
        fill_q8(W, (size_t)rows * nb, &s);
        size_t rb = (size_t)nb * sizeof(block_q8_0);
        int ys = 1 + (int)(rnd(&s) % 3);
        k->gemv_q8_0(W, rb, rows, qb, db, n, ya, ys);
        c->gemv_q8_0(W, rb, rows, qb, db, n, yb, ys);
        compare(&st_v, ya, yb, (size_t)(rows - 1) * ys + 1);
        int ldy = rows + (int)(rnd(&s) % 3);
        memset(ya, 0, (size_t)T * ldy * sizeof *ya);
        memset(yb, 0, (size_t)T * ldy * sizeof *yb);
        k->gemm_q8_0(W, rb, rows, qb, db, xs, n, T, ya, ldy);
        c->gemm_q8_0(W, rb, rows, qb, db, xs, n, T, yb, ldy);
        compare(&st_m, ya, yb, (size_t)T * ldy);
        for (int t = 0; t < T; t++) k->gemv_q8_0(W, rb, rows, qb + (size_t)t * n, db + (size_t)t * nb, n, yb + (size_t)t * ldy, 1);
        compare(&st_mv, ya, yb, (size_t)T * ldy);
        st_mv.inexact = 0;
        k->gemv_q8_0_batch(W, rb, rows, qb, db, n, B, ya, ldy);
        for (int t = 0; t < B; t++) c->gemv_q8_0(W, rb, rows, qb + (size_t)t * n, db + (size_t)t * nb, n, yb + (size_t)t * ldy, 1);
        for (int t = 0; t < B; t++) compare_exact(&st_vb, ya + (size_t)t * ldy, yb + (size_t)t * ldy, (size_t)rows);
        /* q4_0 weights on the same activations; W (q8_0) gets the same values for the q8_0 kernel */
        fill_q4(W4, (size_t)rows * nb, &s);
        size_t rb4 = (size_t)nb * sizeof(block_q4_0);
        memset(ya, 0, (size_t)rows * ys * sizeof *ya); /* the gaps of stride ys must match too */
        memset(yb, 0, (size_t)rows * ys * sizeof *yb);
        k->gemv_q4_0(W4, rb4, rows, qb, db, n, ya, ys);
        c->gemv_q4_0(W4, rb4, rows, qb, db, n, yb, ys);
        compare_exact(&st_v4, ya, yb, (size_t)(rows - 1) * ys + 1);
        bark_q4_0_to_q8_0(W4, W, (int64_t)rows * nb);
        memset(yb, 0, (size_t)rows * ys * sizeof *yb);
        k->gemv_q8_0(W, rb, rows, qb, db, n, yb, ys);
        compare_exact(&st_48, ya, yb, (size_t)(rows - 1) * ys + 1);
        k->gemv_q4_0_batch(W4, rb4, rows, qb, db, n, B, ya, ldy);
        for (int t = 0; t < B; t++) c->gemv_q4_0(W4, rb4, rows, qb + (size_t)t * n, db + (size_t)t * nb, n, yb + (size_t)t * ldy, 1);
        for (int t = 0; t < B; t++) compare_exact(&st_vb4, ya + (size_t)t * ldy, yb + (size_t)t * ldy, (size_t)rows);
        k->dequant_q8_0(W, ya, n);
        c->dequant_q8_0(W, yb, n);
        compare(&st_dq, ya, yb, (size_t)n);
        /* f16 / f32 rows of any length, leading dimension > length */
        size_t ldw = (size_t)m + rnd(&s) % 5;
        for (size_t i = 0; i < (size_t)rows * ldw; i++) {
            Wf[i] = frand(&s, 1.0f);
            Wh[i] = bark_f32_to_f16(Wf[i]);
        }
        k->gemv_f16(Wh, ldw, rows, x, m, ya, 1);
        c->gemv_f16(Wh, ldw, rows, x, m, yb, 1);
        compare(&st_h, ya, yb, (size_t)rows);
        memset(ya, 0, (size_t)rows * 2 * sizeof *ya); /* stride 2: the gaps must match too */
        memset(yb, 0, (size_t)rows * 2 * sizeof *yb);
        k->gemv_f32(Wf, ldw, rows, x, m, ya, 2);
        c->gemv_f32(Wf, ldw, rows, x, m, yb, 2);
        compare(&st_f, ya, yb, (size_t)rows * 2 - 1);
        int ldx = m + (int)(rnd(&s) % 3);
        k->gemv_f16_batch(Wh, ldw, rows, x, ldx, m, B, ya, ldy);
        for (int t = 0; t < B; t++) c->gemv_f16(Wh, ldw, rows, x + (size_t)t * ldx, m, yb + (size_t)t * ldy, 1);
        for (int t = 0; t < B; t++) compare_exact(&st_hb, ya + (size_t)t * ldy, yb + (size_t)t * ldy, (size_t)rows);
        k->gemv_f32_batch(Wf, ldw, rows, x, ldx, m, B, ya, ldy);
        for (int t = 0; t < B; t++) c->gemv_f32(Wf, ldw, rows, x + (size_t)t * ldx, m, yb + (size_t)t * ldy, 1);
        for (int t = 0; t < B; t++) compare_exact(&st_fb, ya + (size_t)t * ldy, yb + (size_t)t * ldy, (size_t)rows);
        float dk = k->dot_f32(x, Wf, m), dc = c->dot_f32(x, Wf, m);
        compare(&st_d, &dk, &dc, 1);
        /* element-wise */
        memcpy(ya, Wf, (size_t)m * sizeof *ya);
        memcpy(yb, Wf, (size_t)m * sizeof *yb);
        float a = frand(&s, 2.0f);
        k->axpy_f32(ya, a, x, m);
        c->axpy_f32(yb, a, x, m);
        compare(&st_a, ya, yb, (size_t)m);
        int wr = 1 + (int)(rnd(&s) % (MAXGT * 4)), wn = 1 + (int)(rnd(&s) % 200);
        size_t ldv = (size_t)wn + rnd(&s) % 9;
        for (int i = 0; i < wr; i++) x2[i] = frand(&s, 1.0f);
        for (size_t i = 0; i < (size_t)wr * ldv; i++) Wf[i] = frand(&s, 3.0f);
        k->wsum_f32(ya, x2, Wf, ldv, wr, wn);
        c->wsum_f32(yb, x2, Wf, ldv, wr, wn);
        compare(&st_w, ya, yb, (size_t)wn);
        for (size_t i = 0; i < (size_t)wr * ldv; i++) Wh[i] = bark_f32_to_f16(Wf[i]);
        k->wsum_f16(ya, x2, Wh, ldv, wr, wn);
        c->wsum_f16(yb, x2, Wh, ldv, wr, wn);
        compare(&st_wh, ya, yb, (size_t)wn);
        /* f32 -> f16 over the whole range: subnormal results, ties, overflow to infinity */
        for (int i = 0; i < m; i++) {
            float e = ldexpf(1.0f, (int)(rnd(&s) % 48) - 30);
            ya[i] = frand(&s, e);
            if (rnd(&s) % 11 == 0) ya[i] = ldexpf((float)(2 * (rnd(&s) % 1024) + 2049), (int)(rnd(&s) % 40) - 36);
        }
        uint16_t *ha = (uint16_t *)yb, *hb = ha + m;
        k->f32_to_f16(ya, ha, m);
        c->f32_to_f16(ya, hb, m);
        for (int i = 0; i < m; i++) xa_f[i] = bark_f16_to_f32(ha[i]), xb_f[i] = bark_f16_to_f32(hb[i]);
        compare(&st_c, xa_f, xb_f, (size_t)m);
        if (memcmp(ha, hb, (size_t)m * sizeof *ha)) st_c.inexact++, st_c.max_rel = INFINITY;
        int mm = m;
        for (int i = 0; i < mm; i++) w[i] = frand(&s, 2.0f), x2[i] = frand(&s, 1.0f);
        k->layernorm_f32(ya, x, w, it % 2 ? x2 : NULL, mm);
        c->layernorm_f32(yb, x, w, it % 2 ? x2 : NULL, mm);
        compare(&st_l, ya, yb, (size_t)mm);
        for (int i = 0; i < mm; i++) ya[i] = yb[i] = frand(&s, 12.0f);
        k->gelu_f32(ya, mm);
        c->gelu_f32(yb, mm);
        compare(&st_g, ya, yb, (size_t)mm);
        for (int i = 0; i < mm; i++) ya[i] = yb[i] = frand(&s, scale);
        k->softmax_f32(ya, mm);
        c->softmax_f32(yb, mm);
        compare(&st_s, ya, yb, (size_t)mm);
        /* softmax_q8: n values (any tail), np a multiple of 32 past them; q and the block sums must be identical */
        int sn = 1 + (int)(rnd(&s) % (MAXM - 64)), np = (sn + 31) / 32 * 32 + (int)(rnd(&s) % 2) * 32;
        for (int i = 0; i < sn; i++) x2[i] = frand(&s, scale);
        if (it % 4 == 0) x2[rnd(&s) % sn] = 90.0f * scale; /* one dominant score: most weights underflow */
        memset(qa, 0x55, (size_t)np), memset(qb, 0x66, (size_t)np);
        k->softmax_q8(x2, sn, np, qa, da, xs);
        c->softmax_q8(x2, sn, np, qb, db, xs + np / 32);
        compare(&st_sq, da, db, (size_t)np / 32);
        if (memcmp(qa, qb, (size_t)np) || memcmp(xs, xs + np / 32, (size_t)np / 32 * sizeof *xs))
            st_sq.inexact++, st_sq.max_rel = INFINITY;
    }
    const stat *all[] = {&st_q, &st_v, &st_m, &st_mv, &st_h, &st_f, &st_d, &st_w,
                         &st_wh, &st_a, &st_l, &st_g, &st_s, &st_sq, &st_c, &st_dq, &st_vb, &st_hb, &st_fb, &st_v4, &st_vb4, &st_48};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) fails += report(all[i], k, log);
done:
    free(x), free(x2), free(w), free(ya), free(yb), free(da), free(db), free(qa), free(qb), free(W), free(W4), free(Wf), free(Wh);
    free(xa_f), free(xb_f), free(xs);
    return fails;
}

int kc_check_polynomials(FILE *log) {
    const bark_kernels *c = &bark_kernels_c;
    double eg = 0.0, ee = 0.0;
    enum { N = 20001 };
    static float v[N], e[N];
    for (int i = 0; i < N; i++) v[i] = e[i] = -10.0f + 20.0f * (float)i / (N - 1);
    c->gelu_f32(v, N);
    for (int i = 0; i < N; i++) {
        double x = (double)(-10.0f + 20.0f * (float)i / (N - 1));
        double ref = 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
        eg = fmax(eg, fabs(v[i] - ref) / fmax(1.0, fabs(x)));
    }
    /* exp through softmax of two values: p0 = 1 / (1 + exp(d)) */
    for (int i = 0; i < N; i++) {
        float d = -80.0f + 160.0f * (float)i / (N - 1), pair[2] = {0.0f, d};
        c->softmax_f32(pair, 2);
        double ref = 1.0 / (1.0 + exp((double)d));
        ee = fmax(ee, fabs(pair[0] - ref) / fmax(ref, 1e-30) * (ref > 1e-30));
    }
    /* softmax_q8: q * d within half a step (d / 2) of exp(x - max) by libm, zeros past n, block sums of q */
    enum { SN = 1000, SP = 1056 };
    static int8_t q[SP];
    static float dq[SP / 32];
    static int32_t sq[SP / 32];
    double eq = 0.0;
    int sums_ok = 1;
    for (int i = 0; i < SN; i++) v[i] = 6.0f * sinf(0.37f * (float)i) - 0.01f * (float)i;
    c->softmax_q8(v, SN, SP, q, dq, sq);
    float mx = v[0];
    for (int i = 1; i < SN; i++) mx = fmaxf(mx, v[i]);
    for (int b = 0; b < SP / 32; b++) {
        int32_t sum = 0;
        for (int i = b * 32; i < b * 32 + 32; i++) {
            double ref = i < SN ? exp((double)v[i] - mx) : 0.0;
            eq = fmax(eq, fabs(q[i] * (double)dq[b] - ref) / dq[b]);
            sum += q[i];
        }
        sums_ok &= sum == sq[b];
    }
    int bad = !(eg <= 3e-7) + !(ee <= 1e-6) + !(eq <= 0.5 + 1e-4) + !sums_ok;
    if (log)
        fprintf(log, "polynomials: GELU max error %.3g (abs, x max(1,|x|) scaled; limit 3e-7), softmax via exp max "
                     "relative error %.3g (limit 1e-6), softmax_q8 max error %.4g steps (limit 0.5)%s%s\n", eg, ee, eq,
                sums_ok ? "" : ", block sums wrong", bad ? "  FAILED" : "");
    return bad;
}
