/* test_encodec.c: EnCodec decoder, encoder, RVQ and streaming against the `encodec` package's goldens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "util/testutil.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codec/encodec.h"
#include "codec/encodec_ops.h"
#include "model/gguf.h"
#include "model/quant.h"

#define DATA "tests/data/encodec/"
#define SEED 0x0EC0DECull /* the same seed as tools/make_encodec_goldens.py */

static encodec_model g_model;

/* ---- a minimal .npy reader (little-endian <f4 / <i4, C order, 1 or 2 dims) ---- */

typedef struct npy {
    int is_int;
    size_t dims[2];
    int n_dims;
    size_t n;
    void *data;
} npy;

static npy load_npy(const char *name) {
    char path[256];
    snprintf(path, sizeof path, DATA "%s", name);
    npy a;
    memset(&a, 0, sizeof a);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s (run tests from the repository root)", path);
    unsigned char head[10];
    assert_int_equal(fread(head, 1, 10, f), 10);
    assert_memory_equal(head, "\x93NUMPY", 6);
    assert_int_equal(head[6], 1);
    size_t hl = (size_t)head[8] | (size_t)head[9] << 8;
    char *h = calloc(hl + 1, 1);
    assert_non_null(h);
    assert_int_equal(fread(h, 1, hl, f), hl);
    if (strstr(h, "'<f4'"))
        a.is_int = 0;
    else if (strstr(h, "'<i4'"))
        a.is_int = 1;
    else
        fail_msg("%s: unsupported dtype in %s", path, h);
    assert_non_null(strstr(h, "'fortran_order': False"));
    const char *s = strstr(h, "'shape': (");
    assert_non_null(s);
    s += 10;
    a.n = 1;
    while (*s && *s != ')') {
        char *end;
        unsigned long v = strtoul(s, &end, 10);
        if (end == s) break;
        assert_true(a.n_dims < 2);
        a.dims[a.n_dims++] = v;
        a.n *= v;
        s = end;
        while (*s == ',' || *s == ' ') s++;
    }
    free(h);
    a.data = malloc(a.n * 4 + 4);
    assert_non_null(a.data);
    assert_int_equal(fread(a.data, 4, a.n, f), a.n);
    fclose(f);
    return a;
}


static uint64_t rng_state = 88172645463325252ull;
static uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static int setup(void **state) {
    encodec_hparams hp = encodec_hparams_24khz();
    bark_error err = {0};
    double t0 = tu_now();
    if (encodec_init_random(&g_model, &hp, SEED, &err) != BARK_OK) {
        fprintf(stderr, "init_random: %s\n", err.msg);
        return -1;
    }
    printf("[ INFO     ] random 24 kHz model built in %.2f s\n", tu_now() - t0);
    return 0;
}

static int teardown(void **state) {
    encodec_free(&g_model);
    return 0;
}

/* ---- the generator is the one the Python reference used ---- */

static void test_generator_probe(void **state) {
    npy p = load_npy("probe.npy");
    assert_int_equal(p.dims[0], 5);
    assert_int_equal(p.dims[1], 4);
    const float *v = p.data;
    const encodec_model *m = &g_model;
    for (int e = 0; e < 4; e++) {
        /* encoder.0.weight torch [32][1][7]: element e is (o 0, i 0, k e) -> w[k][i][o], 7 rows of 32 */
        assert_true(v[0 * 4 + e] == m->enc_in.w[encodec_panel_at(7, e, 0)]);
        /* decoder.3.weight torch [512][256][16]: (i 0, o 0, k e) -> row 512 + i (taps 0..7), column k * 256 + o
         * of the 1024 x 8 * 256 panels */
        assert_true(v[1 * 4 + e] == m->dec_up[0].w[encodec_panel_at(1024, 512, e * 256)]);
        /* decoder.1.lstm.weight_hh_l1 torch [2048][512]: (r 0, c e) -> w[c][r], 512 rows of 2048 */
        assert_true(v[2 * 4 + e] == m->dec_lstm.w_hh[1][encodec_panel_at(512, e, 0)]);
        assert_true(v[3 * 4 + e] == m->codebooks[(size_t)7 * 1024 * 128 + e]);
        assert_true(v[4 * 4 + e] == m->dec_res[3].shortcut.b[e]);
    }
    encodec_hparams hp = encodec_hparams_24khz();
    assert_true(encodec_random_scale(&hp, "encodec.decoder.1.lstm.weight_ih_l0") == (float)(1.0 / sqrt(512.0)));
    assert_true(encodec_random_scale(&hp, "encodec.nothing") == 0.0f);
    free(p.data);
}

/* ---- reflect padding (spec section 2.4) ---- */

static void check_pad(const float *x, int L, int pl, int pr, const float *want) {
    float buf[64];
    memcpy(buf, x, (size_t)L * sizeof *x);
    encodec_pad_reflect(buf, L, 1, pl, pr);
    for (int i = 0; i < pl + L + pr; i++) assert_true(buf[i] == want[i]);
}

static void test_reflect_pad(void **state) {
    const float x8[] = {1, 2, 3, 4, 5, 6, 7, 8};
    const float w1[] = {7, 6, 5, 4, 3, 2, 1, 2, 3, 4, 5, 6, 7, 8};
    check_pad(x8, 8, 6, 0, w1);
    const float x3[] = {1, 2, 3};
    const float w2[] = {0, 0, 0, 0, 3, 2, 1, 2, 3};
    check_pad(x3, 3, 6, 0, w2);
    const float w3[] = {3, 2, 1, 2, 3, 4, 5, 6, 7, 8, 7};
    check_pad(x8, 8, 2, 1, w3);
    /* torch: F.pad(x ++ zeros(3), (4, 2), 'reflect')[:-3] for x = [5]: left of [5,0,0,0] */
    const float x1[] = {5};
    const float w4[] = {0, 0, 0, 0, 5, 0, 0};
    check_pad(x1, 1, 4, 2, w4);
    /* two channels, time-major */
    float buf[2 * 6] = {1, 10, 2, 20, 3, 30, 4, 40};
    encodec_pad_reflect(buf, 4, 2, 2, 0);
    const float w5[] = {3, 30, 2, 20, 1, 10, 2, 20, 3, 30, 4, 40};
    for (int i = 0; i < 12; i++) assert_true(buf[i] == w5[i]);
}

/* ---- decoder against the reference ---- */

static void decode_vs_golden(const char *codes_file, const char *audio_file, size_t T_use) {
    npy c = load_npy(codes_file), a = load_npy(audio_file);
    const size_t nq = c.dims[0], T = c.dims[1];
    if (T_use == 0) T_use = T;
    int32_t *codes = malloc(nq * T_use * sizeof *codes);
    for (size_t q = 0; q < nq; q++)
        for (size_t t = 0; t < T_use; t++) codes[q * T_use + t] = ((int32_t *)c.data)[q * T + t];
    assert_int_equal(a.n, 320 * T_use);
    float *out = malloc(a.n * sizeof *out);
    bark_error err = {0};
    double t0 = tu_now();
    assert_int_equal(encodec_decode(&g_model, codes, (int)nq, T_use, out, &err), BARK_OK);
    double dt = tu_now() - t0, snr;
    double e = tu_max_err(a.data, out, a.n, &snr);
    printf("[ INFO     ] decode %s (%zu x %zu): max |err| %.3g, SNR %.1f dB, %.3f s (%.1fx real time)\n", codes_file,
           nq, T_use, e, snr, dt, (double)a.n / 24000.0 / dt);
    assert_true(e <= 1e-4);
    free(codes);
    free(out);
    free(c.data);
    free(a.data);
}

static void test_decode_random_codes(void **state) { decode_vs_golden("codes_rand.npy", "audio_rand.npy", 0); }
static void test_decode_voice_codes(void **state) { decode_vs_golden("codes_voice.npy", "audio_voice.npy", 0); }

static void test_decode_short(void **state) {
    decode_vs_golden("codes_rand.npy", "audio_rand_T1.npy", 1);
    decode_vs_golden("codes_rand.npy", "audio_rand_T3.npy", 3);
    decode_vs_golden("codes_rand.npy", "audio_rand_T6.npy", 6);
}

static void test_decode_lengths(void **state) {
    int32_t codes[8 * 10];
    for (int i = 0; i < 80; i++) codes[i] = (int32_t)(rnd() % 1024);
    float out[320 * 16];
    for (size_t T = 1; T <= 10; T++) {
        encodec_dec_stream *s = NULL;
        bark_error err = {0};
        assert_int_equal(encodec_dec_stream_create(&g_model, 8, &s, &err), BARK_OK);
        size_t total = 0, n = 0;
        for (size_t t = 0; t < T; t++) {
            assert_int_equal(encodec_dec_stream_push(s, codes + t, 10, 1, out + total, sizeof out / 4 - total, &n, &err),
                             BARK_OK);
            total += n;
        }
        assert_int_equal(encodec_dec_stream_finish(s, out + total, sizeof out / 4 - total, &n, &err), BARK_OK);
        total += n;
        assert_int_equal(total, 320 * T);
        for (size_t i = 0; i < total; i++) assert_true(isfinite(out[i]));
        encodec_dec_stream_free(s);
    }
}

/* ---- streaming decode equals the whole decode ---- */

/* Decodes codes [8][T] in chunks (sizes from `chunks`, cycled; 0 = random 1..40), checks the samples equal
 * `whole` bit for bit and returns max |diff| (0). */
static double stream_diff(const int32_t *codes, size_t T, const float *whole, const size_t *chunks, size_t n_chunks,
                          double *secs) {
    encodec_dec_stream *s = NULL;
    bark_error err = {0};
    assert_int_equal(encodec_dec_stream_create(&g_model, 8, &s, &err), BARK_OK);
    float *out = calloc(320 * (T + 8), sizeof *out);
    size_t done = 0, total = 0, k = 0;
    double t0 = tu_now();
    while (done < T) {
        size_t n = chunks[k++ % n_chunks];
        if (n == 0) n = 1 + rnd() % 40;
        if (n > T - done) n = T - done;
        size_t got = 0, cap = 320 * (T + 8) - total;
        const size_t expect = encodec_dec_stream_out_size(s, n);
        assert_true(expect <= 320 * (n + 6));
        assert_int_equal(encodec_dec_stream_push(s, codes + done, T, n, out + total, cap, &got, &err), BARK_OK);
        assert_int_equal(got, expect);
        total += got;
        done += n;
    }
    size_t got = 0;
    assert_int_equal(encodec_dec_stream_finish(s, out + total, 320 * (T + 8) - total, &got, &err), BARK_OK);
    total += got;
    *secs = tu_now() - t0;
    assert_int_equal(total, 320 * T);
    double d = tu_max_err(whole, out, total, NULL);
    assert_memory_equal(out, whole, total * sizeof *out);
    free(out);
    encodec_dec_stream_free(s);
    return d;
}

static void test_stream_decode(void **state) {
    const size_t T = 160;
    int32_t *codes = malloc(8 * T * sizeof *codes);
    for (size_t i = 0; i < 8 * T; i++) codes[i] = (int32_t)(rnd() % 1024);
    float *whole = malloc(320 * T * sizeof *whole);
    bark_error err = {0};
    double t0 = tu_now();
    assert_int_equal(encodec_decode(&g_model, codes, 8, T, whole, &err), BARK_OK);
    printf("[ INFO     ] whole decode of %zu frames: %.3f s\n", T, tu_now() - t0);
    static const size_t c1[] = {1}, c2[] = {2}, c3[] = {3}, c7[] = {7}, c16[] = {16}, c100[] = {100}, c71[] = {7, 1},
                        c75[] = {75}, c150[] = {150}, crand[] = {0}, csmall[] = {3, 2, 5};
    struct { const char *name; const size_t *c; size_t n; } pats[] = {
        {"1", c1, 1},           {"2", c2, 1},   {"3", c3, 1},     {"7", c7, 1},
        {"16", c16, 1},         {"100", c100, 1}, {"7,1,1,..", c71, 2}, {"75", c75, 1},
        {"150", c150, 1},       {"random 1..40", crand, 1}, {"3,2,5", csmall, 3},
    };
    for (size_t i = 0; i < sizeof pats / sizeof pats[0]; i++) {
        double secs;
        double d = stream_diff(codes, T, whole, pats[i].c, pats[i].n, &secs);
        printf("[ INFO     ] stream chunks %-12s: max |diff| vs whole %.3g (%.3f s)\n", pats[i].name, d, secs);
    }
    free(codes);
    free(whole);
}

/* Decoding and encoding on pools of 1..3 threads (and streamed in chunks of 5 on 2) give the same bits as on
 * the caller's thread alone. */
static void test_thread_counts(void **state) {
    const size_t T = 60;
    int32_t *codes = malloc(8 * T * sizeof *codes);
    for (size_t i = 0; i < 8 * T; i++) codes[i] = (int32_t)(rnd() % 1024);
    float *ref = malloc(320 * T * sizeof *ref), *out = malloc(320 * T * sizeof *out);
    npy w = load_npy("wave.npy");
    const size_t N = w.n, F = encodec_frames(&g_model, N);
    float *z0 = malloc(128 * F * sizeof *z0), *z1 = malloc(128 * F * sizeof *z1);
    int32_t *c0 = malloc(8 * F * sizeof *c0), *c1 = malloc(8 * F * sizeof *c1);
    bark_error err = {0};
    assert_int_equal(encodec_decode(&g_model, codes, 8, T, ref, &err), BARK_OK);
    assert_int_equal(encodec_encode(&g_model, w.data, N, 8, c0, z0, NULL, &err), BARK_OK);
    for (int nt = 1; nt <= 3; nt++) {
        bark_pool *pool = bark_pool_create(nt);
        assert_non_null(pool);
        memset(out, 0, 320 * T * sizeof *out);
        assert_int_equal(encodec_decode_pool(&g_model, codes, 8, T, out, pool, &err), BARK_OK);
        assert_memory_equal(out, ref, 320 * T * sizeof *out);
        assert_int_equal(encodec_encode_pool(&g_model, w.data, N, 8, c1, z1, NULL, pool, &err), BARK_OK);
        assert_memory_equal(c1, c0, 8 * F * sizeof *c1);
        assert_memory_equal(z1, z0, 128 * F * sizeof *z1);
        if (nt == 2) {
            encodec_dec_stream *s = NULL;
            assert_int_equal(encodec_dec_stream_create(&g_model, 8, &s, &err), BARK_OK);
            encodec_dec_stream_set_pool(s, pool);
            memset(out, 0, 320 * T * sizeof *out);
            size_t total = 0, got = 0;
            for (size_t done = 0; done < T; done += 5) {
                assert_int_equal(encodec_dec_stream_push(s, codes + done, T, 5, out + total, 320 * T - total, &got, &err),
                                 BARK_OK);
                total += got;
            }
            assert_int_equal(encodec_dec_stream_finish(s, out + total, 320 * T - total, &got, &err), BARK_OK);
            assert_int_equal(total + got, 320 * T);
            assert_memory_equal(out, ref, 320 * T * sizeof *out);
            encodec_dec_stream_free(s);
        }
        bark_pool_free(pool);
    }
    free(codes);
    free(ref);
    free(out);
    free(z0);
    free(z1);
    free(c0);
    free(c1);
    free(w.data);
}

/* Every x86 clone of the GEMM, ELU and LSTM cell (AVX-512, AVX2, generic) gives the same samples and latents. */
static void test_isa_clones(void **state) {
    const size_t T = 20;
    int32_t *codes = malloc(8 * T * sizeof *codes);
    for (size_t i = 0; i < 8 * T; i++) codes[i] = (int32_t)(rnd() % 1024);
    float *ref = malloc(320 * T * sizeof *ref), *out = malloc(320 * T * sizeof *out);
    const size_t N = 320 * 7 + 111, F = encodec_frames(&g_model, N);
    float *x = malloc(N * sizeof *x), *z0 = malloc(128 * F * sizeof *z0), *z1 = malloc(128 * F * sizeof *z1);
    int32_t *c1 = malloc(8 * F * sizeof *c1);
    for (size_t i = 0; i < N; i++) x[i] = 0.5f * sinf(0.013f * (float)i) + 0.01f * (float)(rnd() % 100) / 100.0f;
    bark_error err = {0};
    assert_int_equal(encodec_decode(&g_model, codes, 8, T, ref, &err), BARK_OK);
    assert_int_equal(encodec_encode(&g_model, x, N, 8, c1, z0, NULL, &err), BARK_OK);
    for (int cap = 1; cap >= 0; cap--) {
        const int prev = encodec_isa_cap(cap);
        assert_int_equal(encodec_decode(&g_model, codes, 8, T, out, &err), BARK_OK);
        assert_int_equal(encodec_encode(&g_model, x, N, 8, c1, z1, NULL, &err), BARK_OK);
        encodec_isa_cap(prev);
        assert_memory_equal(out, ref, 320 * T * sizeof *out);
        assert_memory_equal(z1, z0, 128 * F * sizeof *z1);
    }
    free(codes);
    free(ref);
    free(out);
    free(x);
    free(z0);
    free(z1);
    free(c1);
}

/* ---- encoder against the reference ---- */

static void test_encode_golden(void **state) {
    npy w = load_npy("wave.npy"), lat = load_npy("latent.npy"), c6 = load_npy("codes_6k.npy"),
        c24 = load_npy("codes_24k.npy");
    const size_t N = w.n, T = encodec_frames(&g_model, N);
    assert_int_equal(T, (N + 319) / 320);
    assert_int_equal(lat.dims[0], 128);
    assert_int_equal(lat.dims[1], T);
    float *z = malloc(128 * T * sizeof *z);
    int32_t *codes = malloc(32 * T * sizeof *codes);
    bark_error err = {0};
    const int nqs[2] = {8, 32};
    const npy *want[2] = {&c6, &c24};
    for (int k = 0; k < 2; k++) {
        float margin = 0;
        double t0 = tu_now();
        assert_int_equal(encodec_encode(&g_model, w.data, N, nqs[k], codes, z, &margin, &err), BARK_OK);
        double dt = tu_now() - t0, snr;
        double e = tu_max_err(lat.data, z, 128 * T, &snr);
        size_t diff = 0;
        for (size_t i = 0; i < (size_t)nqs[k] * T; i++) diff += codes[i] != ((int32_t *)want[k]->data)[i];
        printf("[ INFO     ] encode %zu samples, %d codebooks: latent max |err| %.3g (SNR %.1f dB), %zu/%zu codes "
               "differ, smallest best-vs-second distance gap %.3g, %.3f s\n",
               N, nqs[k], e, snr, diff, (size_t)nqs[k] * T, margin, dt);
        assert_true(e <= 1e-4);
        assert_int_equal(diff, 0);
    }
    free(z);
    free(codes);
    free(w.data);
    free(lat.data);
    free(c6.data);
    free(c24.data);
}

static void test_encode_short(void **state) {
    npy w = load_npy("wave.npy");
    static const size_t Ns[] = {1, 7, 319, 320, 321, 640, 2239, 2241};
    for (size_t i = 0; i < sizeof Ns / sizeof Ns[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "latent_N%zu.npy", Ns[i]);
        npy lat = load_npy(name);
        const size_t T = encodec_frames(&g_model, Ns[i]);
        assert_int_equal(T, (Ns[i] + 319) / 320);
        assert_int_equal(lat.dims[1], T);
        float *z = malloc(128 * T * sizeof *z);
        int32_t codes[8 * 16];
        bark_error err = {0};
        assert_int_equal(encodec_encode(&g_model, w.data, Ns[i], 8, codes, z, NULL, &err), BARK_OK);
        double e = tu_max_err(lat.data, z, 128 * T, NULL);
        printf("[ INFO     ] encode N=%zu -> %zu frames, latent max |err| %.3g\n", Ns[i], T, e);
        assert_true(e <= 1e-4);
        free(z);
        free(lat.data);
    }
    assert_int_equal(encodec_frames(&g_model, 320), 1);
    assert_int_equal(encodec_frames(&g_model, 24123), 76);
    free(w.data);
}

/* Encodes wave.npy in chunks and compares with the whole encode bit for bit. */
static void test_encode_stream(void **state) {
    npy w = load_npy("wave.npy");
    const size_t N = w.n, T = encodec_frames(&g_model, N);
    const float *x = w.data;
    float *z0 = malloc(128 * T * sizeof *z0), *z1 = malloc(128 * T * sizeof *z1);
    int32_t *c0 = malloc(8 * T * sizeof *c0), *c1 = malloc(8 * T * sizeof *c1);
    bark_error err = {0};
    assert_int_equal(encodec_encode(&g_model, x, N, 8, c0, z0, NULL, &err), BARK_OK);
    static const size_t p1[] = {1}, p7[] = {7}, p37[] = {37, 501}, p320[] = {320}, p1000[] = {1000}, prand[] = {0};
    struct { const char *name; const size_t *c; size_t n; } pats[] = {
        {"1", p1, 1}, {"7", p7, 1}, {"37,501", p37, 2}, {"320", p320, 1}, {"1000", p1000, 1}, {"random", prand, 1},
    };
    for (size_t i = 0; i < sizeof pats / sizeof pats[0]; i++) {
        encodec_enc_stream *s = NULL;
        assert_int_equal(encodec_enc_stream_create(&g_model, 8, &s, &err), BARK_OK);
        memset(z1, 0, 128 * T * sizeof *z1);
        size_t done = 0, frames = 0, k = 0, got = 0;
        while (done < N) {
            size_t n = pats[i].c[k++ % pats[i].n];
            if (n == 0) n = 1 + rnd() % 3000;
            if (n > N - done) n = N - done;
            assert_true(encodec_enc_stream_out_frames(s, n) <= T - frames);
            assert_int_equal(encodec_enc_stream_push(s, x + done, n, c1 + frames, z1 + frames, T, T - frames, &got, &err),
                             BARK_OK);
            frames += got;
            done += n;
        }
        assert_int_equal(encodec_enc_stream_finish(s, c1 + frames, z1 + frames, T, T - frames, &got, &err), BARK_OK);
        frames += got;
        assert_int_equal(frames, T);
        double d = tu_max_err(z0, z1, 128 * T, NULL);
        printf("[ INFO     ] encoder stream chunks %-7s: latent max |diff| vs whole %.3g (smallest RVQ gap %.3g)\n",
               pats[i].name, d, encodec_enc_stream_min_margin(s));
        assert_true(encodec_enc_stream_min_margin(s) > 0.0f);
        assert_true(d == 0.0);
        assert_memory_equal(c0, c1, 8 * T * sizeof *c0);
        encodec_enc_stream_free(s);
    }
    free(z0);
    free(z1);
    free(c0);
    free(c1);
    free(w.data);
}

/* ---- RVQ ---- */

static void test_rvq(void **state) {
    const encodec_model *m = &g_model;
    assert_int_equal(encodec_n_q_for_bandwidth(m, 1.5), 2);
    assert_int_equal(encodec_n_q_for_bandwidth(m, 3.0), 4);
    assert_int_equal(encodec_n_q_for_bandwidth(m, 6.0), 8);
    assert_int_equal(encodec_n_q_for_bandwidth(m, 12.0), 16);
    assert_int_equal(encodec_n_q_for_bandwidth(m, 24.0), 32);
    assert_int_equal(encodec_n_q_for_bandwidth(m, 5.0), 0);
    /* decode: sum of entries in order; encode of an exact codebook sum finds the entries back when
     * they are the nearest ones, and a codebook entry itself is found at distance ~0 */
    int32_t codes[4] = {17, 1000, 3, 512}, back[4];
    float z[128], r[128], dist[1024], margin = FLT_MAX;
    encodec_rvq_decode_frame(m, codes, 1, 1, z);
    for (int d = 0; d < 128; d++) assert_true(z[d] == m->codebooks[17 * 128 + d]);
    encodec_rvq_encode_frame(m, z, 1, back, 1, r, dist, &margin);
    assert_int_equal(back[0], 17);
    encodec_rvq_decode_frame(m, codes, 4, 1, z);
    float want = 0.0f;
    for (int q = 0; q < 4; q++) want = want + m->codebooks[((size_t)q * 1024 + codes[q]) * 128 + 5];
    assert_true(z[5] == want);
    /* ties: an all-zero latent against a codebook whose rows 2 and 9 are identical and nearest */
    encodec_model t = *m;
    float *cb = malloc(1024 * 128 * sizeof *cb), *sq = malloc(1024 * sizeof *sq);
    for (int j = 0; j < 1024; j++)
        for (int d = 0; d < 128; d++) cb[j * 128 + d] = 1.0f + (float)j;
    for (int d = 0; d < 128; d++) cb[2 * 128 + d] = cb[9 * 128 + d] = 0.25f;
    t.codebooks = cb;
    t.codebook_sq = sq;
    t.hp.n_q = 1;
    encodec_finish_codebooks(&t);
    memset(z, 0, sizeof z);
    margin = FLT_MAX;
    encodec_rvq_encode_frame(&t, z, 1, back, 1, r, dist, &margin);
    assert_int_equal(back[0], 2);
    assert_true(margin == 0.0f);
    free(cb);
    free(sq);
}

/* ---- errors ---- */

static void test_errors(void **state) {
    const encodec_model *m = &g_model;
    int32_t codes[8 * 8];
    for (int i = 0; i < 64; i++) codes[i] = i;
    float out[320 * 16];
    bark_error err = {0};
    codes[3 * 8 + 5] = 1024;
    assert_int_equal(encodec_decode(m, codes, 8, 8, out, &err), BARK_ERR_ARG);
    assert_non_null(strstr(err.msg, "1024"));
    codes[3 * 8 + 5] = -1;
    assert_int_equal(encodec_decode(m, codes, 8, 8, out, &err), BARK_ERR_ARG);
    codes[3 * 8 + 5] = 5;
    assert_int_equal(encodec_decode(m, codes, 0, 8, out, &err), BARK_ERR_ARG);
    assert_int_equal(encodec_decode(m, codes, 33, 1, out, &err), BARK_ERR_ARG);
    assert_non_null(strstr(err.msg, "codebooks"));
    assert_int_equal(encodec_decode(m, codes, 8, 0, out, &err), BARK_ERR_ARG);

    encodec_dec_stream *s = NULL;
    assert_int_equal(encodec_dec_stream_create(m, 8, &s, &err), BARK_OK);
    size_t n = 0;
    assert_int_equal(encodec_dec_stream_push(s, codes, 8, 0, out, sizeof out / 4, &n, &err), BARK_ERR_ARG);
    assert_int_equal(encodec_dec_stream_push(s, codes, 8, 8, out, 320 * 7, &n, &err), BARK_ERR_ARG);
    assert_non_null(strstr(err.msg, "output buffer"));
    assert_int_equal(encodec_dec_stream_push(s, codes, 4, 8, out, sizeof out / 4, &n, &err), BARK_ERR_ARG);
    assert_int_equal(encodec_dec_stream_push(s, codes, 8, 8, out, sizeof out / 4, &n, &err), BARK_OK);
    assert_int_equal(n, 320 * 8);
    assert_int_equal(encodec_dec_stream_finish(s, out, sizeof out / 4, &n, &err), BARK_OK);
    assert_int_equal(n, 0);
    assert_int_equal(encodec_dec_stream_push(s, codes, 8, 1, out, sizeof out / 4, &n, &err), BARK_ERR_ARG);
    encodec_dec_stream_free(s);

    float x[100] = {0};
    int32_t c[8];
    assert_int_equal(encodec_encode(m, x, 0, 8, c, NULL, NULL, &err), BARK_ERR_ARG);
    assert_int_equal(encodec_encode(m, x, 100, 33, c, NULL, NULL, &err), BARK_ERR_ARG);
    encodec_model dec_only = *m;
    dec_only.has_encoder = 0;
    assert_int_equal(encodec_encode(&dec_only, x, 100, 8, c, NULL, NULL, &err), BARK_ERR_MISSING);
    assert_non_null(strstr(err.msg, "decoder only"));

    encodec_hparams hp = encodec_hparams_24khz();
    hp.n_residual_layers = 2;
    assert_int_equal(encodec_hparams_check(&hp, &err), BARK_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "n_residual_layers"));
    hp = encodec_hparams_24khz();
    hp.lstm_layers = 3;
    assert_int_equal(encodec_hparams_check(&hp, &err), BARK_ERR_UNSUPPORTED);
    hp = encodec_hparams_24khz();
    hp.channels = 2;
    assert_int_equal(encodec_hparams_check(&hp, &err), BARK_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "channels"));
}

/* ---- loading from a model file ---- */

static void set_hparams_n(gguf_writer *w, const encodec_hparams *hp, const uint32_t *ratios, size_t n_ratios) {
    assert_int_equal(gguf_set_str(w, "general.architecture", "bark"), BARK_OK);
    struct { const char *k; int v; } f[] = {
        {"bark.encodec.sample_rate", hp->sample_rate}, {"bark.encodec.channels", hp->channels},
        {"bark.encodec.n_filters", hp->n_filters}, {"bark.encodec.dimension", hp->dimension},
        {"bark.encodec.kernel_size", hp->kernel_size}, {"bark.encodec.last_kernel_size", hp->last_kernel_size},
        {"bark.encodec.residual_kernel_size", hp->residual_kernel_size},
        {"bark.encodec.n_residual_layers", hp->n_residual_layers}, {"bark.encodec.lstm_layers", hp->lstm_layers},
        {"bark.encodec.compress", hp->compress}, {"bark.encodec.codebook_size", hp->codebook_size},
        {"bark.encodec.n_q", hp->n_q},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) assert_int_equal(gguf_set_u32(w, f[i].k, (uint32_t)f[i].v), BARK_OK);
    assert_int_equal(gguf_set_u32_array(w, "bark.encodec.ratios", ratios, n_ratios), BARK_OK);
}

static void set_hparams(gguf_writer *w, const encodec_hparams *hp) {
    uint32_t r[ENCODEC_MAX_RATIOS];
    for (int i = 0; i < hp->n_ratios; i++) r[i] = (uint32_t)hp->ratios[i];
    set_hparams_n(w, hp, r, (size_t)hp->n_ratios);
}

/* Writes the decoder tensors of g_model (first n_q codebooks) in PyTorch layout, f32 or f16. */
static void add_decoder_tensors(gguf_writer *w, int n_q, uint32_t type) {
    encodec_hparams hp = encodec_hparams_24khz();
    hp.n_q = n_q;
    encodec_model lay = g_model;
    lay.hp = hp;
    const int n = encodec_tensor_count(&hp);
    encodec_tref *refs = malloc((size_t)n * sizeof *refs);
    encodec_tensor_list(&lay, refs);
    float *tmp = malloc((size_t)4096 * 512 * sizeof *tmp);
    uint16_t *h = malloc((size_t)4096 * 512 * sizeof *h);
    for (int i = 0; i < n; i++) {
        const encodec_tref *r = &refs[i];
        if (r->encoder) continue;
        const int64_t cnt = encodec_tref_numel(r);
        const int64_t *s = r->shape;
        switch (r->kind) { /* back to PyTorch order */
        case ENCODEC_T_CONV:
            for (int64_t o = 0; o < s[0]; o++)
                for (int64_t ci = 0; ci < s[1]; ci++)
                    for (int64_t k = 0; k < s[2]; k++)
                        tmp[(o * s[1] + ci) * s[2] + k] = r->dst[encodec_panel_at(s[2] * s[1], k * s[1] + ci, o)];
            break;
        case ENCODEC_T_CONVTR:
            for (int64_t ci = 0; ci < s[0]; ci++)
                for (int64_t o = 0; o < s[1]; o++)
                    for (int64_t k = 0; k < s[2]; k++)
                        tmp[(ci * s[1] + o) * s[2] + k] =
                            r->dst[encodec_panel_at(2 * s[0], k >= s[2] / 2 ? ci : s[0] + ci, k % (s[2] / 2) * s[1] + o)];
            break;
        case ENCODEC_T_LSTM:
            for (int64_t row = 0; row < s[0]; row++)
                for (int64_t col = 0; col < s[1]; col++) tmp[row * s[1] + col] = r->dst[encodec_panel_at(s[1], col, row)];
            break;
        default: /* LSTM biases: the summed bias goes to bias_ih, zeros to bias_hh */
            for (int64_t e = 0; e < cnt; e++) tmp[e] = r->accumulate ? 0.0f : r->dst[e];
        }
        int64_t ne[3];
        for (int d = 0; d < r->n_dims; d++) ne[d] = s[r->n_dims - 1 - d];
        const int f16 = type == BARK_TYPE_F16 && r->kind != ENCODEC_T_VEC && strstr(r->name, "quantizer") == NULL;
        if (f16) {
            for (int64_t e = 0; e < cnt; e++) h[e] = bark_f32_to_f16(tmp[e]);
            assert_int_equal(gguf_add_tensor(w, r->name, BARK_TYPE_F16, r->n_dims, ne, h, (size_t)cnt * 2), BARK_OK);
        } else {
            assert_int_equal(gguf_add_tensor(w, r->name, BARK_TYPE_F32, r->n_dims, ne, tmp, (size_t)cnt * 4), BARK_OK);
        }
    }
    free(tmp);
    free(h);
    free(refs);
}

/* Writes w to a temporary file and loads it with encodec_load_part(want_encoder, max_q). */
static bark_status write_and_load_part(gguf_writer *w, int want_encoder, int max_q, encodec_model *out,
                                       bark_error *err) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/test_encodec_%d.gguf", (int)getpid());
    assert_int_equal(gguf_write_file(w, path, err), BARK_OK);
    gguf_writer_free(w);
    bark_model *bm = NULL;
    bark_status st = bark_model_open(path, &bm, err);
    if (st == BARK_OK) st = want_encoder && max_q == 0 ? encodec_load(bm, out, err)
                                                       : encodec_load_part(bm, want_encoder, max_q, out, err);
    bark_model_close(bm);
    unlink(path);
    return st;
}

static bark_status write_and_load(gguf_writer *w, encodec_model *out, bark_error *err) {
    return write_and_load_part(w, 1, 0, out, err);
}

static void test_load_decoder_only(void **state) {
    bark_error err = {0};
    encodec_hparams hp = encodec_hparams_24khz();
    hp.n_q = 8;
    gguf_writer *w = gguf_writer_new();
    assert_non_null(w);
    set_hparams(w, &hp);
    add_decoder_tensors(w, 8, BARK_TYPE_F32);
    encodec_model m;
    bark_status st = write_and_load(w, &m, &err);
    if (st != BARK_OK) fail_msg("%s", err.msg);
    assert_int_equal(m.has_encoder, 0);
    assert_int_equal(m.hp.n_q, 8);
    npy c = load_npy("codes_rand.npy"), a = load_npy("audio_rand.npy");
    float *out = malloc(a.n * sizeof *out), *ref = malloc(a.n * sizeof *ref);
    assert_int_equal(encodec_decode(&m, c.data, 8, c.dims[1], out, &err), BARK_OK);
    double snr, e = tu_max_err(a.data, out, a.n, &snr);
    printf("[ INFO     ] decoder-only f32 file: decode max |err| %.3g vs reference\n", e);
    assert_true(e <= 1e-4);
    int32_t codes9[9 * 2] = {0};
    assert_int_equal(encodec_decode(&m, codes9, 9, 2, out, &err), BARK_ERR_ARG);
    float x[400] = {0};
    int32_t cc[16];
    assert_int_equal(encodec_encode(&m, x, 400, 8, cc, NULL, NULL, &err), BARK_ERR_MISSING);
    encodec_free(&m);

    /* f16 conv/LSTM weights: close to the f32 decode (weights rounded to 11 bits) */
    w = gguf_writer_new();
    set_hparams(w, &hp);
    add_decoder_tensors(w, 8, BARK_TYPE_F16);
    st = write_and_load(w, &m, &err);
    if (st != BARK_OK) fail_msg("%s", err.msg);
    assert_int_equal(encodec_decode(&m, c.data, 8, c.dims[1], ref, &err), BARK_OK);
    e = tu_max_err(a.data, ref, a.n, &snr);
    printf("[ INFO     ] decoder-only f16 file: decode max |err| %.3g, SNR %.1f dB vs f32 reference\n", e, snr);
    assert_true(snr > 30.0);
    encodec_free(&m);

    /* only 4 of the 8 codebooks kept */
    w = gguf_writer_new();
    set_hparams(w, &hp);
    add_decoder_tensors(w, 8, BARK_TYPE_F32);
    st = write_and_load_part(w, 0, 4, &m, &err);
    if (st != BARK_OK) fail_msg("%s", err.msg);
    assert_int_equal(m.hp.n_q, 4);
    assert_int_equal(encodec_decode(&m, c.data, 8, c.dims[1], out, &err), BARK_ERR_ARG);
    assert_int_equal(encodec_decode(&m, c.data, 4, c.dims[1], out, &err), BARK_OK);
    encodec_free(&m);
    free(out);
    free(ref);
    free(c.data);
    free(a.data);
}

static void test_load_errors(void **state) {
    bark_error err = {0};
    encodec_model m;
    encodec_hparams hp = encodec_hparams_24khz();
    /* unsupported hyper-parameter */
    hp.lstm_layers = 1;
    gguf_writer *w = gguf_writer_new();
    set_hparams(w, &hp);
    assert_int_equal(write_and_load(w, &m, &err), BARK_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "lstm_layers"));
    /* too many ratios (the loader reads 1..8 of them) */
    hp = encodec_hparams_24khz();
    w = gguf_writer_new();
    const uint32_t nine[9] = {2, 2, 2, 2, 2, 2, 2, 2, 2};
    set_hparams_n(w, &hp, nine, 9);
    assert_int_equal(write_and_load(w, &m, &err), BARK_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "bark.encodec.ratios has 9 values"));
    /* missing key */
    w = gguf_writer_new();
    assert_int_equal(gguf_set_str(w, "general.architecture", "bark"), BARK_OK);
    assert_int_equal(write_and_load(w, &m, &err), BARK_ERR_MISSING);
    assert_non_null(strstr(err.msg, "bark.encodec.sample_rate"));
    /* missing tensor */
    hp = encodec_hparams_24khz();
    w = gguf_writer_new();
    set_hparams(w, &hp);
    assert_int_equal(write_and_load(w, &m, &err), BARK_ERR_MISSING);
    assert_non_null(strstr(err.msg, "encodec.decoder.0.weight"));
    /* wrong shape: decoder.0.weight as {7, 128, 256} */
    w = gguf_writer_new();
    set_hparams(w, &hp);
    static float zeros[7 * 128 * 512];
    const int64_t ne[3] = {7, 128, 256};
    assert_int_equal(gguf_add_tensor(w, "encodec.decoder.0.weight", BARK_TYPE_F32, 3, ne, zeros, 7 * 128 * 256 * 4),
                     BARK_OK);
    assert_int_equal(write_and_load(w, &m, &err), BARK_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "{7, 128, 256}"));
    assert_non_null(strstr(err.msg, "{7, 128, 512}"));
    /* wrong type */
    w = gguf_writer_new();
    set_hparams(w, &hp);
    const int64_t ne2[3] = {7, 128, 512};
    assert_int_equal(gguf_add_tensor(w, "encodec.decoder.0.weight", BARK_TYPE_I32, 3, ne2, zeros, 7 * 128 * 512 * 4),
                     BARK_OK);
    assert_int_equal(write_and_load(w, &m, &err), BARK_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "type"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generator_probe),
        cmocka_unit_test(test_reflect_pad),
        cmocka_unit_test(test_rvq),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_decode_random_codes),
        cmocka_unit_test(test_decode_voice_codes),
        cmocka_unit_test(test_decode_short),
        cmocka_unit_test(test_decode_lengths),
        cmocka_unit_test(test_stream_decode),
        cmocka_unit_test(test_thread_counts),
        cmocka_unit_test(test_isa_clones),
        cmocka_unit_test(test_encode_golden),
        cmocka_unit_test(test_encode_short),
        cmocka_unit_test(test_encode_stream),
        cmocka_unit_test(test_load_decoder_only),
        cmocka_unit_test(test_load_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
