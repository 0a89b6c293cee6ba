/* test_say_e2e.c: greedy text -> codes -> audio through the CLI on the tiny model equals Suno's codes and the codec reference. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/source.h"
#include "util/testutil.h"

/* The text and settings of tools/make_gpt_goldens.py's greedy run without a voice. */
#define TEXT "Hello there, this is the tiny bark speaking [laughs]. How are you today?"
#define HEAD 1280  /* tiny_say_head.npy: the first samples */
#define STRIDE 64  /* tiny_say_stride.npy: every 64th sample */

typedef struct fixture {
    char *dir;
    char model[512];
    src_set set;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (!f || !(f->dir = tu_tmpdir())) return -1;
    snprintf(f->model, sizeof f->model, "%s/tiny.gguf", f->dir);
    char out[4096];
    if (tu_convert_tiny(f->model, "f32", out, sizeof out) != 0) {
        fprintf(stderr, "converting the tiny model: %s", out);
        return -1;
    }
    src_set_init(&f->set);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    src_set_free(&f->set);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Reads an .npy into the set under `name`; checks its dtype and returns it. */
static const src_tensor *npy(fixture *f, const char *path, const char *name, src_dtype dt) {
    bark_error err = {0};
    if (src_read_npy(&f->set, path, name, &err)) fail_msg("%s", err.msg);
    const src_tensor *t = src_set_find(&f->set, name);
    assert_non_null(t);
    assert_int_equal(t->dtype, dt);
    return t;
}

static void same_codes(fixture *f, const char *dump, const char *stage) {
    char a[700], b[128], na[64], nb[64];
    snprintf(a, sizeof a, "%s/%s.npy", dump, stage);
    snprintf(b, sizeof b, "tests/data/gpt/greedy_novoice_%s.npy", stage);
    snprintf(na, sizeof na, "got_%s", stage);
    snprintf(nb, sizeof nb, "want_%s", stage);
    const src_tensor *x = npy(f, a, na, SRC_I32), *y = npy(f, b, nb, SRC_I32);
    assert_int_equal(x->n_dims, y->n_dims);
    for (int d = 0; d < x->n_dims; d++) assert_int_equal(x->shape[d], y->shape[d]);
    assert_int_equal(x->nbytes, y->nbytes);
    const int32_t *p = (const int32_t *)x->data, *q = (const int32_t *)y->data;
    for (size_t i = 0; i < x->nbytes / 4; i++)
        if (p[i] != q[i]) fail_msg("%s: code %zu is %d, Suno's greedy run has %d", stage, i, p[i], q[i]);
}

/* Runs `bark <args>` with stdout and stderr to DIR/log.txt; fails the test with the log if the exit is not 0. */
static void run_ok(fixture *f, const char *args) {
    char cmd[3000], log[600], out[256];
    snprintf(log, sizeof log, "%s/log.txt", f->dir);
    snprintf(cmd, sizeof cmd, "%s %s > %s", tu_bark(), args, log);
    int rc = tu_run(cmd, out, sizeof out);
    if (rc != 0) {
        size_t n = 0;
        uint8_t *text = tu_read_file(log, &n);
        fail_msg("exit %d: %s\n%.2000s", rc, cmd, text ? (char *)text : "");
    }
}

/* Compares x[n] with the reference decode where it is known (the first HEAD samples and every STRIDE-th),
 * after clipping the reference to +-1 if `clip`; returns the max error (SNR in *snr, count in *checked). */
static double vs_reference(fixture *f, const float *x, size_t n, int clip, double *snr, size_t *checked) {
    const src_tensor *h = src_set_find(&f->set, "head"), *s = src_set_find(&f->set, "stride");
    if (!h) h = npy(f, "tests/data/encodec/tiny_say_head.npy", "head", SRC_F32);
    if (!s) s = npy(f, "tests/data/encodec/tiny_say_stride.npy", "stride", SRC_F32);
    assert_int_equal(h->shape[0], HEAD);
    assert_int_equal(s->shape[0], (n + STRIDE - 1) / STRIDE);
    const float *hv = (const float *)h->data, *sv = (const float *)s->data;
    double e = 0, sig = 0, noise = 0;
    *checked = 0;
    for (size_t i = 0; i < n; i++) {
        double want;
        if (i < HEAD) want = hv[i];
        else if (i % STRIDE == 0) want = sv[i / STRIDE];
        else continue;
        if (clip) want = want > 1.0 ? 1.0 : want < -1.0 ? -1.0 : want;
        const double d = fabs((double)x[i] - want);
        if (d > e || d != d) e = d;
        sig += want * want;
        noise += d * d;
        (*checked)++;
    }
    *snr = noise > 0 ? 10 * log10(sig / noise) : INFINITY;
    return e;
}

/* text -> codes (`bark tokens --dump`) -> audio (`bark decode` to float32 .npy): codes identical to Suno's greedy
 * run, audio equal to the reference codec's decode of them. */
static void test_tokens_then_decode(void **state) {
    fixture *f = *state;
    char dump[600], args[2400], path[700];
    snprintf(dump, sizeof dump, "%s/dump", f->dir);
    snprintf(args, sizeof args, "tokens -q -m %s --greedy --max-seconds 7 --dump %s \"" TEXT "\"", f->model, dump);
    run_ok(f, args);
    same_codes(f, dump, "semantic");
    same_codes(f, dump, "coarse");
    same_codes(f, dump, "fine");
    const size_t frames = (size_t)src_set_find(&f->set, "got_fine")->shape[1], n = 320 * frames;

    snprintf(path, sizeof path, "%s/audio.npy", dump);
    snprintf(args, sizeof args, "decode %s/fine.npy -m %s -o %s", dump, f->model, path);
    run_ok(f, args);
    const src_tensor *a = npy(f, path, "audio", SRC_F32);
    assert_int_equal(a->n_dims, 1);
    assert_int_equal(a->shape[0], n);
    double snr;
    size_t checked;
    const double e = vs_reference(f, (const float *)a->data, n, 0, &snr, &checked);
    print_message("bark tokens --greedy: %zu frames, codes identical to Suno's greedy run; bark decode: %zu samples, "
                  "%zu checked against the reference decode: max |err| %.3g, SNR %.1f dB\n", frames, n, checked, e, snr);
    assert_true(e <= 1e-4);
}

/* `bark say --greedy -o out.wav`: the whole pipeline in one command gives the reference's audio (16-bit WAV). */
static void test_say_greedy_wav(void **state) {
    fixture *f = *state;
    char wav[600], args[2400];
    snprintf(wav, sizeof wav, "%s/out.wav", f->dir);
    snprintf(args, sizeof args, "say -q -m %s --greedy --max-seconds 7 -o %s \"" TEXT "\"", f->model, wav);
    run_ok(f, args);
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *sf = sf_open(wav, SFM_READ, &info);
    assert_non_null(sf);
    assert_int_equal(info.samplerate, 24000);
    assert_int_equal(info.channels, 1);
    assert_int_equal(info.frames, 320 * 526); /* the frames of tests/data/gpt/greedy_novoice_fine.npy */
    const size_t n = (size_t)info.frames;
    float *pcm = malloc(n * sizeof *pcm);
    assert_int_equal(sf_readf_float(sf, pcm, (sf_count_t)n), (sf_count_t)n);
    sf_close(sf);
    double snr;
    size_t checked;
    const double e = vs_reference(f, pcm, n, 1, &snr, &checked);
    print_message("bark say --greedy -o out.wav: %zu samples, %zu checked against the reference decode clipped to "
                  "+-1: max |err| %.3g (16-bit steps: %.1f), SNR %.1f dB\n", n, checked, e, e * 32768, snr);
    assert_true(e <= 1e-4);
    free(pcm);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens_then_decode),
        cmocka_unit_test(test_say_greedy_wav),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
