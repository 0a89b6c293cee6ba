/* test_codec_cli.c: `bark decode` / `bark encode` on bad input (clean one-line errors), the synthetic-speech tag of
 * decoded files, and long files (bounded memory). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "formats/source.h"
#include "util/testutil.h"

typedef struct fixture {
    char *dir;
    char model[512];
} fixture;

static fixture *g;

static int setup(void **state) {
    g = calloc(1, sizeof *g);
    if (!g || !(g->dir = tu_tmpdir())) return -1;
    snprintf(g->model, sizeof g->model, "%s/tiny.gguf", g->dir);
    char out[4096];
    if (tu_convert_tiny(g->model, "f32", out, sizeof out) != 0) {
        fprintf(stderr, "converting the tiny model: %s", out);
        return -1;
    }
    return 0;
}

static int teardown(void **state) {
    tu_rmtree(g->dir);
    free(g->dir);
    free(g);
    return 0;
}

/* A path in the temporary folder (rotating static buffers: each test asks for fewer than 32). */
static const char *tmp(const char *name) {
    static char buf[32][600];
    static int k;
    char *p = buf[k++ % 32];
    snprintf(p, 600, "%s/%s", g->dir, name);
    return p;
}

/* ---- writing inputs ---- */

/* A v1.0 .npy with the given descr and shape and raw little-endian data of `nbytes`. */
static void write_npy(const char *path, const char *descr, const char *shape, const void *data, size_t nbytes) {
    char dict[256];
    int len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
    int pad = (64 - (10 + len + 1) % 64) % 64;
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    unsigned hl = (unsigned)(len + pad + 1);
    unsigned char head[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)hl, (unsigned char)(hl >> 8)};
    fwrite(head, 1, 10, f);
    fwrite(dict, 1, (size_t)len, f);
    for (int i = 0; i < pad; i++) fputc(' ', f);
    fputc('\n', f);
    if (nbytes) assert_int_equal(fwrite(data, 1, nbytes, f), nbytes);
    assert_int_equal(fclose(f), 0);
}

/* int32 codes [rows][cols] with values (i * 7) % 1024 and one value replaced at index `at` (if at >= 0). */
static void write_codes(const char *path, int rows, int cols, long at, int32_t value) {
    int32_t *v = malloc((size_t)rows * cols * sizeof *v);
    for (long i = 0; i < (long)rows * cols; i++) v[i] = (int32_t)((i * 7) % 1024);
    if (at >= 0) v[at] = value;
    char shape[64];
    snprintf(shape, sizeof shape, "(%d, %d)", rows, cols);
    write_npy(path, "<i4", shape, v, (size_t)rows * cols * 4);
    free(v);
}

/* A 16-bit WAV of n frames (channels, rate) of a quiet chirp, written in blocks. */
static void write_wav(const char *path, int rate, int channels, size_t n) {
    SF_INFO info = {0};
    info.samplerate = rate;
    info.channels = channels;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    assert_non_null(f);
    enum { B = 8192 };
    static float buf[B * 2];
    for (size_t done = 0; done < n;) {
        size_t m = n - done < B ? n - done : B;
        for (size_t i = 0; i < m; i++) {
            double t = (double)(done + i) / rate;
            float v = (float)(0.3 * sin(2 * M_PI * (200.0 + 20.0 * fmod(t, 10.0)) * t));
            for (int c = 0; c < channels; c++) buf[i * channels + c] = c ? -v : v;
        }
        assert_int_equal(sf_writef_float(f, buf, (sf_count_t)m), (sf_count_t)m);
        done += m;
    }
    assert_int_equal(sf_close(f), 0);
}

/* ---- running the CLI ---- */

/* Runs `bark <args>` (split on spaces; no quoting needed here) with output to a file; returns the exit status
 * (128 + signal if killed) and the child's peak RSS in KiB; *msg gets its output. */
static int run_bark(const char *args, char *msg, size_t cap, long *rss_kib) {
    char buf[2048], *argv[32];
    snprintf(buf, sizeof buf, "%s", args);
    int n = 0;
    argv[n++] = (char *)tu_bark();
    for (char *tok = strtok(buf, " "); tok && n < 31; tok = strtok(NULL, " ")) argv[n++] = tok;
    argv[n] = NULL;
    char log[600];
    snprintf(log, sizeof log, "%s/child.log", g->dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) _exit(126);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    assert_int_equal(wait4(pid, &status, 0, &ru), pid);
    if (rss_kib) *rss_kib = ru.ru_maxrss;
    size_t len = 0;
    uint8_t *text = tu_read_file(log, &len);
    snprintf(msg, cap, "%s", text ? (char *)text : "");
    free(text);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* The command must fail cleanly: exit 1 or 2, one line naming `name` and containing `what`, no `out` file. */
static void expect_fail(const char *args, const char *name, const char *what, const char *out) {
    char msg[4096];
    if (out) unlink(out);
    int rc = run_bark(args, msg, sizeof msg, NULL);
    if (rc != 1) fail_msg("bark %s: exit %d (expected 1): %s", args, rc, msg);
    if (tu_lines(msg) != 1) fail_msg("bark %s: %d lines, expected one: %s", args, tu_lines(msg), msg);
    if (name && !strstr(msg, name)) fail_msg("bark %s: the message does not name %s: %s", args, name, msg);
    if (what && !strstr(msg, what)) fail_msg("bark %s: the message lacks '%s': %s", args, what, msg);
    if (out && tu_exists(out)) fail_msg("bark %s: left %s behind", args, out);
    print_message("  %s", msg);
}

/* ---- decode ---- */

static void test_decode_bad_codes(void **state) {
    char args[1600];
    const char *in = tmp("codes.npy"), *out = tmp("out.wav");
#define DECODE(in_) (snprintf(args, sizeof args, "decode %s -m %s -o %s", (in_), g->model, out), args)
    write_codes(in, 8, 20, 3 * 20 + 5, 1024);
    expect_fail(DECODE(in), in, "1024", out);
    write_codes(in, 8, 20, 7 * 20 + 19, -1);
    expect_fail(DECODE(in), in, "-1", out);
    int64_t big[8 * 4];
    for (int i = 0; i < 32; i++) big[i] = i;
    big[9] = (int64_t)1 << 40;
    write_npy(in, "<i8", "(8, 4)", big, sizeof big);
    expect_fail(DECODE(in), in, "1099511627776", out);
    float fl[8 * 4] = {0};
    write_npy(in, "<f4", "(8, 4)", fl, sizeof fl);
    expect_fail(DECODE(in), in, "integers", out);
    int32_t z[2 * 8 * 4] = {0};
    write_npy(in, "<i4", "(2, 8, 4)", z, sizeof z);
    expect_fail(DECODE(in), in, "3-D", out);
    write_npy(in, "<i4", "(32,)", z, 32 * 4);
    expect_fail(DECODE(in), in, "1-D", out);
    write_codes(in, 9, 6, -1, 0);
    expect_fail(DECODE(in), in, "9 codebooks", out);
    write_codes(in, 20, 8, -1, 0);
    expect_fail(DECODE(in), in, "transposed", out);
    write_npy(in, "<i4", "(8, 0)", NULL, 0);
    expect_fail(DECODE(in), in, "no frames", out);
    /* the header promises more data than the file holds */
    write_npy(in, "<i4", "(8, 1000)", z, sizeof z);
    expect_fail(DECODE(in), in, NULL, out);
    /* not an .npy at all, an empty file, a missing file */
    assert_int_equal(tu_write_file(in, "hello, I am text\n", 17), 0);
    expect_fail(DECODE(in), in, NULL, out);
    assert_int_equal(tu_write_file(in, "", 0), 0);
    expect_fail(DECODE(in), in, NULL, out);
    expect_fail(DECODE(tmp("missing.npy")), "missing.npy", NULL, out);
    /* bad output paths */
    write_codes(in, 8, 20, -1, 0);
    snprintf(args, sizeof args, "decode %s -m %s -o %s", in, g->model, tmp("out.aiff"));
    expect_fail(args, "out.aiff", "format", tmp("out.aiff"));
    snprintf(args, sizeof args, "decode %s -m %s -o %s", in, g->model, tmp("nodir/out.wav"));
    expect_fail(args, "nodir/out.wav", NULL, NULL);
    /* and the good file decodes */
    char msg[4096];
    assert_int_equal(run_bark(DECODE(in), msg, sizeof msg, NULL), 0);
    SF_INFO info = {0};
    SNDFILE *f = sf_open(out, SFM_READ, &info);
    assert_non_null(f);
    /* decoded files are marked as synthetic speech, like `bark say` files */
    const char *comment = sf_get_string(f, SF_STR_COMMENT), *software = sf_get_string(f, SF_STR_SOFTWARE);
    assert_non_null(comment);
    assert_non_null(strstr(comment, "synthetic speech"));
    assert_non_null(software);
    assert_non_null(strstr(software, "bark.c"));
    sf_close(f);
    assert_int_equal(info.frames, 20 * 320);
    assert_int_equal(info.samplerate, 24000);
#undef DECODE
}

/* ---- encode ---- */

static void test_encode_bad_audio(void **state) {
    char args[1600];
    const char *in = tmp("in.wav"), *out = tmp("codes_out.npy");
#define ENCODE(in_) (snprintf(args, sizeof args, "encode %s -m %s -o %s", (in_), g->model, out), args)
    assert_int_equal(tu_write_file(in, "this is not audio at all, just some text\n", 41), 0);
    expect_fail(ENCODE(in), in, "audio", out);
    assert_int_equal(tu_write_file(in, "", 0), 0);
    expect_fail(ENCODE(in), in, NULL, out);
    write_wav(in, 24000, 1, 0);
    expect_fail(ENCODE(in), in, "no samples", out);
    expect_fail(ENCODE(tmp("missing.wav")), "missing.wav", NULL, out);
    /* a RIFF header followed by garbage, and a WAV cut in the middle: an error or codes, never a crash */
    write_wav(in, 24000, 1, 5000);
    size_t len = 0;
    uint8_t *wav = tu_read_file(in, &len);
    assert_non_null(wav);
    const char *bad = tmp("bad.wav");
    char msg[4096];
    assert_int_equal(tu_write_file(bad, wav, len / 2), 0);
    unlink(out);
    int rc = run_bark(ENCODE(bad), msg, sizeof msg, NULL);
    assert_true(rc == 0 || rc == 1);
    print_message("  truncated WAV: exit %d: %s", rc, msg);
    for (size_t i = 44; i < len; i++) wav[i] = (uint8_t)(i * 2654435761u >> 13);
    wav[20] = 0x77; /* unknown format tag */
    assert_int_equal(tu_write_file(bad, wav, len), 0);
    unlink(out);
    rc = run_bark(ENCODE(bad), msg, sizeof msg, NULL);
    assert_true(rc == 0 || rc == 1);
    if (rc) assert_false(tu_exists(out));
    print_message("  WAV with an unknown format tag: exit %d: %s", rc, msg);
    free(wav);
    /* bad options */
    snprintf(args, sizeof args, "encode %s -m %s -o %s --bandwidth 5", in, g->model, out);
    expect_fail(args, NULL, "5 kbps", out);
    snprintf(args, sizeof args, "encode %s -m %s -o %s", in, g->model, tmp("nodir/c.npy"));
    expect_fail(args, "nodir/c.npy", NULL, NULL);
#undef ENCODE
}

/* ---- the library calls under the commands ---- */

typedef struct counter {
    size_t n;
    int stop_after; /* calls before asking to stop; 0: never */
    int calls;
} counter;

static int count_audio(void *user, const float *pcm, size_t n) {
    counter *c = user;
    c->n += n;
    return c->stop_after && ++c->calls >= c->stop_after;
}

/* 12 kbps (16 codebooks: more than the context holds) through bark_encoder and back through bark_codes_to_audio. */
static void test_codec_api(void **state) {
    bark_context *ctx = NULL;
    bark_error err = {0};
    if (bark_context_open(g->model, &ctx, &err)) fail_msg("%s", err.msg);
    bark_encoder *e = NULL;
    assert_int_equal(bark_encoder_create(ctx, 5.0, &e, &err), BARK_ERR_ARG);
    assert_non_null(strstr(err.msg, "5 kbps"));
    if (bark_encoder_create(ctx, 12.0, &e, &err)) fail_msg("%s", err.msg);
    assert_int_equal(bark_encoder_n_q(e), 16);
    enum { N = 24000, CAP = 80 };
    static float x[N];
    static int32_t codes[16 * CAP];
    for (int i = 0; i < N; i++) x[i] = (float)(0.3 * sin(2 * M_PI * 220.0 * i / 24000.0));
    size_t frames = 0, f1 = 0;
    assert_true(bark_encoder_max_frames(e, N / 2) <= CAP);
    if (bark_encoder_push(e, x, N / 2, 0, codes, CAP, CAP, &f1, &err)) fail_msg("%s", err.msg);
    assert_true(bark_encoder_max_frames(e, N / 2) <= CAP - f1);
    if (bark_encoder_push(e, x + N / 2, N / 2, 1, codes + f1, CAP, CAP - f1, &frames, &err)) fail_msg("%s", err.msg);
    frames += f1;
    assert_int_equal(frames, 75);
    bark_encoder_free(e);
    counter c = {0, 0, 0};
    if (bark_codes_to_audio(ctx, codes, 16, CAP, frames, count_audio, &c, &err)) fail_msg("%s", err.msg);
    assert_int_equal(c.n, 320 * frames);
    counter c8 = {0, 0, 0}; /* the first 8 codebooks, from the context's own decoder */
    if (bark_codes_to_audio(ctx, codes, 8, CAP, frames, count_audio, &c8, &err)) fail_msg("%s", err.msg);
    assert_int_equal(c8.n, 320 * frames);
    counter stop = {0, 1, 0};
    assert_int_equal(bark_codes_to_audio(ctx, codes, 8, CAP, frames, count_audio, &stop, &err), BARK_ERR_INTERRUPTED);
    assert_int_equal(stop.calls, 1);
    assert_int_equal(bark_codes_to_audio(ctx, codes, 3, CAP, frames, count_audio, &c, &err), BARK_ERR_ARG);
    codes[5 * CAP + 70] = 1024;
    counter none = {0, 0, 0};
    assert_int_equal(bark_codes_to_audio(ctx, codes, 8, CAP, frames, count_audio, &none, &err), BARK_ERR_ARG);
    assert_non_null(strstr(err.msg, "1024"));
    assert_int_equal(none.n, 0); /* every code is checked before any audio */
    bark_context_free(ctx);
}

/* ---- long files: peak memory does not grow with the length ---- */

static void check_codes_file(const char *path, size_t frames) {
    src_set s;
    src_set_init(&s);
    bark_error err = {0};
    if (src_read_npy(&s, path, "c", &err)) fail_msg("%s", err.msg);
    const src_tensor *t = src_set_find(&s, "c");
    assert_int_equal(t->dtype, SRC_I32);
    assert_int_equal(t->n_dims, 2);
    assert_int_equal(t->shape[0], 8);
    assert_int_equal(t->shape[1], frames);
    const int32_t *v = (const int32_t *)t->data;
    for (size_t i = 0; i < 8 * frames; i++) assert_true(v[i] >= 0 && v[i] < 1024);
    src_set_free(&s);
}

/* 1 when this suite (and so the bark it runs, built alike) has AddressSanitizer. */
static int built_with_asan(void) {
#if defined(__SANITIZE_ADDRESS__)
    return 1;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return 1;
#endif
#endif
    return 0;
}

static void test_long_files(void **state) {
    const int rate = 44100;
    const size_t n_short = (size_t)rate * 5, n_long = (size_t)rate * 180; /* 5 s and 3 minutes, stereo 44.1 kHz */
    const char *s_wav = tmp("short.wav"), *l_wav = tmp("long.wav");
    const char *s_npy = tmp("short.npy"), *l_npy = tmp("long.npy"), *s_out = tmp("short_out.wav"),
               *l_out = tmp("long_out.wav");
    write_wav(s_wav, rate, 2, n_short);
    write_wav(l_wav, rate, 2, n_long);
    char args[1600], msg[4096];
    long rss[4];
    const char *ins[2] = {s_wav, l_wav}, *npys[2] = {s_npy, l_npy}, *outs[2] = {s_out, l_out};
    for (int k = 0; k < 2; k++) {
        snprintf(args, sizeof args, "encode %s -m %s -o %s", ins[k], g->model, npys[k]);
        int rc = run_bark(args, msg, sizeof msg, &rss[k]);
        if (rc) fail_msg("%s: %s", args, msg);
        snprintf(args, sizeof args, "decode %s -m %s -o %s", npys[k], g->model, outs[k]);
        rc = run_bark(args, msg, sizeof msg, &rss[2 + k]);
        if (rc) fail_msg("%s: %s", args, msg);
    }
    const size_t f_short = (n_short * 24000 / rate + 319) / 320, f_long = (n_long * 24000 / rate + 319) / 320;
    check_codes_file(s_npy, f_short);
    check_codes_file(l_npy, f_long);
    SF_INFO info = {0};
    SNDFILE *f = sf_open(l_out, SFM_READ, &info);
    assert_non_null(f);
    sf_close(f);
    assert_int_equal(info.frames, 320 * f_long);
    print_message("peak RSS: encode 5 s %ld KiB, 180 s %ld KiB (+%ld); decode %zu frames %ld KiB, %zu frames %ld KiB "
                  "(+%ld)\n", rss[0], rss[1], rss[1] - rss[0], f_short, rss[2], f_long, rss[3], rss[3] - rss[2]);
    /* 36x the audio: the encoder's memory must not grow (its codes stream to the file); the decoder holds only
     * the input codes (8 x 4 bytes a frame, read whole) beyond its fixed state. Under AddressSanitizer freed
     * blocks stay resident in its quarantine (up to 256 MB), so there RSS says nothing and is only printed. */
    if (!built_with_asan()) {
        assert_true(rss[1] - rss[0] < 1024);
        assert_true(rss[3] - rss[2] < 1024 + (long)(f_long * 8 * 4 * 2 / 1024));
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_bad_codes),
        cmocka_unit_test(test_encode_bad_audio),
        cmocka_unit_test(test_codec_api),
        cmocka_unit_test(test_long_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
