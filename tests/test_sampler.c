/* test_sampler.c: Suno's top-p / top-k / temperature filtering against goldens, and the seeded RNG. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "formats/source.h"
#include "core/rng.h"
#include "gpt/sampler.h"

#define N 1024

/* The fixed logits of tools/make_gpt_goldens.py case_logits() (exact in float32). */
static void case_logits(int kind, float *l) {
    for (int i = 0; i < N; i++)
        l[i] = kind == 0 ? (float)(((i * 37 + 11) % 101) - 50) / 8.0f : (float)(((i * 53 + 7) % 1021) - 510) / 64.0f;
}

static const src_tensor *need(src_set *s, const char *file, const char *name) {
    bark_error err;
    bark_status st = src_read_npy(s, file, name, &err);
    if (st) fail_msg("%s", err.msg);
    const src_tensor *t = src_set_find(s, name);
    assert_non_null(t);
    assert_int_equal(t->dtype, SRC_F32);
    return t;
}

/* Probability mass (double) of the entries ranked above l[i] in descending order (ties: lower index first). */
static double mass_before(const float *l, int i) {
    double mx = -INFINITY, z = 0.0, m = 0.0;
    for (int j = 0; j < N; j++) mx = l[j] > mx ? l[j] : mx;
    for (int j = 0; j < N; j++) {
        double e = exp((double)l[j] - mx);
        z += e;
        if (l[j] > l[i] || (l[j] == l[i] && j < i)) m += e;
    }
    return m / z;
}

/* Every golden case: the same kept set as Suno's code and probabilities within 1e-6. The one exception
 * is rounding noise: an entry whose cumulative top-p mass lies within 1e-4 of top_p may flip, because
 * NumPy's SIMD expf and libm's expf differ in the last bit (Suno's top_p = 1.0 cuts the tail only
 * when the float32 running sum happens to pass 1). */
static void test_golden_cases(void **state) {
    (void)state;
    src_set set;
    src_set_init(&set);
    const src_tensor *cases = need(&set, "tests/data/gpt/sample_cases.npy", "cases");
    const src_tensor *probs = need(&set, "tests/data/gpt/sample_probs.npy", "probs");
    int n_cases = (int)cases->shape[0];
    assert_int_equal(cases->shape[1], 4);
    assert_int_equal(probs->shape[0], n_cases);
    assert_int_equal(probs->shape[1], N);
    assert_true(n_cases >= 8);
    bark_sampler s;
    bark_error err;
    assert_int_equal(bark_sampler_init(&s, N, &err), BARK_OK);
    float l[N];
    double worst = 0.0;
    int total_flips = 0;
    for (int c = 0; c < n_cases; c++) {
        const float *cs = (const float *)cases->data + 4 * c;
        const float *ref = (const float *)probs->data + (size_t)N * c;
        bark_sample_params p = {cs[1], (int)cs[2], cs[3], 0};
        case_logits((int)cs[0], l);
        assert_int_equal(bark_sampler_probs(&s, l, N, &p, &err), BARK_OK);
        int flips = 0;
        for (int i = 0; i < N; i++) {
            if ((ref[i] > 0.0f) != (s.probs[i] > 0.0f)) {
                if (p.top_p >= 0.0f && fabs(mass_before(l, i) - p.top_p) < 1e-4) {
                    flips++;
                    continue;
                }
                fail_msg("case %d (temp %g top_k %d top_p %g): index %d kept %d, reference %d", c, p.temp, p.top_k,
                         p.top_p, i, s.probs[i] > 0.0f, ref[i] > 0.0f);
            }
            double d = fabs((double)ref[i] - s.probs[i]);
            if (d > worst) worst = d;
        }
        if (flips) print_message("sampler: case %d (top_p %g): %d entries at the rounding boundary differ\n", c,
                                 p.top_p, flips);
        assert_true(flips <= 8);
        total_flips += flips;
    }
    print_message("sampler: %d golden cases, max |p - p_ref| = %.3g, %d boundary flips\n", n_cases, worst,
                  total_flips);
    assert_true(worst <= 1e-6);
    bark_sampler_free(&s);
    src_set_free(&set);
}

/* top-k keeps every value tied with the k-th largest; top-p 0 keeps only the first of the sort. */
static void test_ties_and_edges(void **state) {
    (void)state;
    bark_sampler s;
    bark_error err;
    assert_int_equal(bark_sampler_init(&s, 8, &err), BARK_OK);
    float l[6] = {1.0f, 3.0f, 2.0f, 3.0f, 2.0f, 0.0f};
    bark_sample_params k2 = {1.0f, 2, -1.0f, 0};
    assert_int_equal(bark_sampler_probs(&s, l, 6, &k2, &err), BARK_OK);
    assert_true(s.probs[1] > 0.0f && s.probs[3] > 0.0f);
    assert_true(s.probs[0] == 0.0f && s.probs[2] == 0.0f && s.probs[4] == 0.0f && s.probs[5] == 0.0f);
    bark_sample_params k3 = {1.0f, 3, -1.0f, 0}; /* the 3rd largest is 2: both 2s stay */
    assert_int_equal(bark_sampler_probs(&s, l, 6, &k3, &err), BARK_OK);
    assert_true(s.probs[2] > 0.0f && s.probs[4] > 0.0f && s.probs[0] == 0.0f);
    /* top_p 0: only the first of the descending order survives; ties come in reverse index order */
    bark_sample_params p0 = {1.0f, 0, 0.0f, 0};
    assert_int_equal(bark_sampler_probs(&s, l, 6, &p0, &err), BARK_OK);
    assert_true(s.probs[3] == 1.0f && s.probs[1] == 0.0f);
    /* greedy picks the first maximum of the distribution */
    bark_sample_params g = {0.7f, 0, -1.0f, 1};
    assert_int_equal(bark_sampler_probs(&s, l, 6, &g, &err), BARK_OK);
    assert_int_equal(bark_sampler_pick(&s, 6, &g, NULL), 1);
    /* top_k larger than n keeps everything */
    bark_sample_params big = {1.0f, 100, -1.0f, 0};
    assert_int_equal(bark_sampler_probs(&s, l, 6, &big, &err), BARK_OK);
    for (int i = 0; i < 6; i++) assert_true(s.probs[i] > 0.0f);
    bark_sampler_free(&s);
}

static void test_bad_input(void **state) {
    (void)state;
    bark_sampler s;
    bark_error err;
    assert_int_equal(bark_sampler_init(&s, 4, &err), BARK_OK);
    float l[5] = {0.0f, 1.0f, 2.0f, 3.0f, 4.0f};
    bark_sample_params ok = {1.0f, 0, -1.0f, 0}, t0 = {0.0f, 0, -1.0f, 0}, kneg = {1.0f, -1, -1.0f, 0};
    bark_sample_params pnan = {1.0f, 0, NAN, 0}, tinf = {INFINITY, 0, -1.0f, 0};
    assert_int_equal(bark_sampler_probs(&s, l, 5, &ok, &err), BARK_ERR_ARG); /* over capacity */
    assert_int_equal(bark_sampler_probs(&s, l, 0, &ok, &err), BARK_ERR_ARG);
    assert_int_equal(bark_sampler_probs(&s, l, 4, &t0, &err), BARK_ERR_ARG);
    assert_non_null(strstr(err.msg, "temperature"));
    assert_int_equal(bark_sampler_probs(&s, l, 4, &kneg, &err), BARK_ERR_ARG);
    assert_int_equal(bark_sampler_probs(&s, l, 4, &pnan, &err), BARK_ERR_ARG);
    assert_int_equal(bark_sampler_probs(&s, l, 4, &tinf, &err), BARK_ERR_ARG);
    float bad[4] = {0.0f, NAN, 1.0f, 2.0f}, ninf[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    assert_int_equal(bark_sampler_probs(&s, bad, 4, &ok, &err), BARK_ERR_ARG);
    assert_non_null(strstr(err.msg, "NaN"));
    assert_int_equal(bark_sampler_probs(&s, ninf, 4, &ok, &err), BARK_ERR_ARG);
    /* -inf entries that are not all of them are fine and get probability 0 */
    float some[4] = {-INFINITY, 0.0f, -INFINITY, 0.0f};
    assert_int_equal(bark_sampler_probs(&s, some, 4, &ok, &err), BARK_OK);
    assert_true(s.probs[0] == 0.0f && fabsf(s.probs[1] - 0.5f) < 1e-7f);
    bark_sampler_free(&s);
    assert_int_equal(bark_sampler_init(&s, 0, &err), BARK_ERR_ARG);
    assert_null(s.probs);
    bark_sampler_free(&s);
    bark_sampler_free(NULL);
}

/* The RNG stream is fixed by its definition (values from an independent Python implementation). */
static void test_rng_stream(void **state) {
    (void)state;
    bark_rng r, r2;
    bark_rng_seed(&r, 42);
    assert_true(bark_rng_u64(&r) == 0x15780b2e0c2ec716ull);
    assert_true(bark_rng_u64(&r) == 0x6104d9866d113a7eull);
    assert_true(bark_rng_u64(&r) == 0xae17533239e499a1ull);
    bark_rng_seed(&r, 7);
    bark_rng_seed(&r2, 7);
    for (int i = 0; i < 1000; i++) {
        double u = bark_rng_uniform(&r);
        assert_true(u >= 0.0 && u < 1.0);
        assert_true(u == bark_rng_uniform(&r2));
    }
    bark_rng_seed(&r2, 8);
    assert_true(bark_rng_u64(&r) != bark_rng_u64(&r2));
}

/* Draws follow the distribution: 200000 draws from {0.1, 0.2, 0.3, 0.4} within 1% each. */
static void test_draw_frequencies(void **state) {
    (void)state;
    bark_sampler s;
    bark_error err;
    assert_int_equal(bark_sampler_init(&s, 4, &err), BARK_OK);
    float l[4] = {logf(0.1f), logf(0.2f), logf(0.3f), logf(0.4f)};
    bark_sample_params p = {1.0f, 0, -1.0f, 0};
    assert_int_equal(bark_sampler_probs(&s, l, 4, &p, &err), BARK_OK);
    bark_rng r;
    bark_rng_seed(&r, 1234);
    int count[4] = {0};
    const int n = 200000;
    for (int i = 0; i < n; i++) count[bark_sampler_pick(&s, 4, &p, &r)]++;
    for (int i = 0; i < 4; i++) assert_true(fabs((double)count[i] / n - 0.1 * (i + 1)) < 0.01);
    /* an entry with probability 0 is never drawn */
    float z[4] = {0.0f, -INFINITY, 0.0f, -INFINITY};
    assert_int_equal(bark_sampler_probs(&s, z, 4, &p, &err), BARK_OK);
    for (int i = 0; i < 10000; i++) {
        int k = bark_sampler_pick(&s, 4, &p, &r);
        assert_true(k == 0 || k == 2);
    }
    bark_sampler_free(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_cases),    cmocka_unit_test(test_ties_and_edges),
        cmocka_unit_test(test_bad_input),       cmocka_unit_test(test_rng_stream),
        cmocka_unit_test(test_draw_frequencies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
