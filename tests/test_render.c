/* test_render.c: `bark render` on the tiny model: every file written and equal to bark_synthesize (= `bark say -o`),
 * JSON lines with their own voice, seed and output, a bad line, a missing model, --batch, a signal mid-run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bark.h"
#include "util/testutil.h"

#define N_LINES 20
#define FAST "-m %s/tiny.gguf --max-seconds 0.2" /* short generations: the suite stays fast */

static char *dir, out[1 << 16];
static bark_context *ctx;

static int setup(void **state) {
    (void)state;
    char path[1024];
    bark_error err;
    dir = tu_tmpdir();
    snprintf(path, sizeof path, "%s/tiny.gguf", dir);
    if (!dir || tu_convert_tiny(path, "f32", out, sizeof out) != 0) {
        fprintf(stderr, "cannot convert the tiny model: %s\n", out);
        return -1;
    }
    return bark_context_open(path, &ctx, &err) ? -1 : 0;
}

static int teardown(void **state) {
    (void)state;
    bark_context_free(ctx);
    tu_rmtree(dir);
    free(dir);
    return 0;
}

/* Runs a shell command (printf-style) with stderr+stdout in out; returns the exit status. */
static int run(const char *fmt, ...) {
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return tu_run(cmd, out, sizeof out);
}

/* Writes lines (printf-style, the whole text) to dir/name. */
static void write_text(const char *name, const char *fmt, ...) {
    char path[512], text[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(tu_write_file(path, text, strlen(text)), 0);
}

typedef struct pcm_buf {
    float *x;
    size_t n, cap;
} pcm_buf;

static int collect(void *user, const float *pcm, size_t n) {
    pcm_buf *b = user;
    if (b->n + n > b->cap) {
        b->cap = 2 * (b->n + n);
        b->x = realloc(b->x, b->cap * sizeof *b->x);
    }
    memcpy(b->x + b->n, pcm, n * sizeof *pcm);
    b->n += n;
    return 0;
}

/* The file's samples are those bark_synthesize makes of text with this voice and seed (what `bark say -o` writes). */
static void assert_file_says(const char *path, const char *text, const char *voice, uint64_t seed) {
    size_t n;
    int16_t *got = tu_read_s16(path, &n);
    if (!got) fail_msg("%s: not a sound file", path);
    bark_synth_params p = bark_synth_default_params();
    pcm_buf b = {0};
    bark_error err;
    p.voice = voice, p.seed = seed, p.max_seconds = 0.2, p.on_audio = collect, p.audio_user = &b;
    assert_int_equal(bark_synthesize(ctx, text, &p, NULL, &err), BARK_OK);
    int16_t *want = malloc((b.n + 1) * sizeof *want);
    bark_audio_to_s16(b.x, b.n, want);
    if (n != b.n) fail_msg("%s: %zu samples, bark_synthesize made %zu", path, n, b.n);
    assert_true(n > 0);
    assert_memory_equal(got, want, n * sizeof *got);
    free(got), free(want), free(b.x);
}

static const char *text_of(int k, char *buf, size_t cap) {
    static const char *w[] = {"Train", "Platform", "Doors", "Gate", "Exit", "Welcome", "Please", "Mind"};
    snprintf(buf, cap, "%s %d is now open.", w[k % 8], k);
    return buf;
}

/* 20 plain lines (and a blank one, which takes no number): out-0001.wav ... out-0020.wav, each as said alone; the
 * same files with --batch 1 and --batch 3; one of them against `bark say -o` itself. */
static void plain_lines(void **state) {
    (void)state;
    char text[4096] = "", t[64], path[512], other[512];
    for (int k = 1; k <= N_LINES; k++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "%s%s\n", text_of(k, t, sizeof t), k == 4 ? "\n" : "");
    write_text("plain.txt", "%s", text);
    assert_int_equal(run("mkdir -p %s/b1 %s/b3", dir, dir), 0);
    assert_int_equal(run("%s render " FAST " -q -s 11 -v v2/en_speaker_0 --batch 3 -o %s/b3/out.wav %s/plain.txt",
                         tu_bark(), dir, dir, dir), 0);
    assert_string_equal(out, ""); /* -q: nothing */
    assert_int_equal(run("%s render " FAST " -s 11 -v v2/en_speaker_0 --batch 1 -o %s/b1/out.wav < %s/plain.txt",
                         tu_bark(), dir, dir, dir), 0);
    printf("  %s", out);
    assert_int_equal(tu_lines(out), 1); /* the summary */
    assert_non_null(strstr(out, "wrote 20 of 20 files"));
    for (int k = 1; k <= N_LINES; k++) {
        size_t la, lb;
        snprintf(path, sizeof path, "%s/b3/out-%04d.wav", dir, k);
        snprintf(other, sizeof other, "%s/b1/out-%04d.wav", dir, k);
        assert_file_says(path, text_of(k, t, sizeof t), "v2/en_speaker_0", 11);
        uint8_t *a = tu_read_file(path, &la), *b = tu_read_file(other, &lb);
        assert_non_null(a);
        assert_non_null(b);
        assert_int_equal(la, lb);
        assert_memory_equal(a, b, la); /* --batch 1 and --batch 3: the same bytes */
        free(a), free(b);
    }
    snprintf(path, sizeof path, "%s/b3/out-0021.wav", dir);
    assert_false(tu_exists(path));
    assert_int_equal(run("ls %s/b3 | grep -vc 'out-00[0-2][0-9].wav$'", dir), 1); /* nothing else, no .part */
    snprintf(path, sizeof path, "%s/say.wav", dir);
    assert_int_equal(run("%s say " FAST " -q -s 11 -v v2/en_speaker_0 -o %s '%s'", tu_bark(), dir, path,
                         text_of(7, t, sizeof t)), 0);
    size_t la, lb;
    uint8_t *a = tu_read_file(path, &la), *b;
    snprintf(path, sizeof path, "%s/b3/out-0007.wav", dir);
    b = tu_read_file(path, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    free(a), free(b);
}

/* 20 JSON lines, each with its own voice and seed; every third names its output, the others are numbered. */
static void json_lines(void **state) {
    (void)state;
    static const char *voices[] = {"v2/en_speaker_0", "v2/de_speaker_1"};
    char text[8192] = "", t[64], path[512];
    for (int k = 1; k <= N_LINES; k++) {
        char named[600] = "";
        if (k % 3 == 0) snprintf(named, sizeof named, ", \"output\": \"%s/json/named-%d.wav\"", dir, k);
        snprintf(text + strlen(text), sizeof text - strlen(text), "{\"text\": \"%s\", \"voice\": \"%s\", \"seed\": %d%s}\n",
                 text_of(k, t, sizeof t), voices[k % 2], 100 + k, named);
    }
    write_text("jobs.jsonl", "%s", text);
    assert_int_equal(run("mkdir -p %s/json", dir), 0);
    assert_int_equal(run("%s render " FAST " -q --json -o %s/json/n.wav %s/jobs.jsonl", tu_bark(), dir, dir, dir), 0);
    for (int k = 1; k <= N_LINES; k++) {
        if (k % 3 == 0) snprintf(path, sizeof path, "%s/json/named-%d.wav", dir, k);
        else snprintf(path, sizeof path, "%s/json/n-%04d.wav", dir, k);
        assert_file_says(path, text_of(k, t, sizeof t), voices[k % 2], 100 + (uint64_t)k);
    }
    assert_int_equal(run("ls %s/json | wc -l", dir), 0);
    assert_int_equal(atoi(out), N_LINES);
}

/* A bad JSON line: one line naming it, the others written, exit 1. */
static void bad_line(void **state) {
    (void)state;
    char path[512];
    write_text("bad.jsonl", "{\"text\": \"First.\"}\n{\"text\": \"Oops\" seed}\n\n{\"text\": \"Third.\", \"seed\": 3}\n");
    assert_int_equal(run("mkdir -p %s/bad", dir), 0);
    assert_int_equal(run("%s render " FAST " -q -s 2 --json -o %s/bad/x.wav %s/bad.jsonl", tu_bark(), dir, dir, dir), 1);
    assert_int_equal(tu_lines(out), 1);
    assert_non_null(strstr(out, "bark render: line 2: bad JSON"));
    snprintf(path, sizeof path, "%s/bad/x-0001.wav", dir);
    assert_file_says(path, "First.", NULL, 2);
    snprintf(path, sizeof path, "%s/bad/x-0002.wav", dir);
    assert_false(tu_exists(path)); /* the bad line took number 2 and wrote nothing */
    snprintf(path, sizeof path, "%s/bad/x-0003.wav", dir); /* the blank line took none */
    assert_file_says(path, "Third.", NULL, 3);
    /* a voice the model lacks: that line's number and file, what to do; the others written */
    write_text("voice.txt", "Hello.\n");
    assert_int_equal(run("%s render " FAST " -q -v v2/en_speakr_0 -o %s/bad/v.wav %s/voice.txt", tu_bark(), dir, dir,
                         dir), 1);
    assert_int_equal(tu_lines(out), 1);
    assert_non_null(strstr(out, "line 1 ("));
    assert_non_null(strstr(out, "did you mean v2/en_speaker_0"));
}

/* A missing model, a missing -o, a folder that is not there: one line each, before anything is generated. */
static void usage_and_missing_model(void **state) {
    (void)state;
    write_text("one.txt", "Hello.\n");
    assert_int_equal(run("%s render -m %s/none.gguf -o %s/m.wav %s/one.txt", tu_bark(), dir, dir, dir), 1);
    assert_int_equal(tu_lines(out), 1);
    assert_non_null(strstr(out, "no such model file"));
    assert_int_equal(run("%s render -m %s/tiny.gguf %s/one.txt", tu_bark(), dir, dir), 2);
    assert_int_equal(tu_lines(out), 1);
    assert_non_null(strstr(out, "give -o PATTERN"));
    assert_int_equal(run("%s render -m %s/tiny.gguf -o %s/no/such/x.wav %s/one.txt", tu_bark(), dir, dir, dir), 1);
    assert_int_equal(tu_lines(out), 1);
    assert_non_null(strstr(out, "cannot write into the folder"));
    assert_int_equal(run("%s render -m %s/tiny.gguf --batch 0 -o %s/x.wav %s/one.txt", tu_bark(), dir, dir, dir), 2);
    assert_int_equal(tu_lines(out), 1);
    assert_int_equal(run("%s render -m %s/tiny.gguf -o %s/x.wav %s/none.txt", tu_bark(), dir, dir, dir), 1);
    assert_int_equal(tu_lines(out), 1);
    assert_non_null(strstr(out, "cannot open"));
}

/* SIGTERM mid-run: exit 130, the files finished stay whole, the unfinished are removed (no .part left). */
static void signal_mid_run(void **state) {
    (void)state;
    char text[4096] = "", t[64];
    for (int k = 1; k <= N_LINES; k++) snprintf(text + strlen(text), sizeof text - strlen(text), "%s\n", text_of(k, t, sizeof t));
    write_text("sig.txt", "%s", text);
    assert_int_equal(run("mkdir -p %s/sig", dir), 0);
    run("{ %s render -m %s/tiny.gguf --max-seconds 1 -q -s 1 --batch 2 -o %s/sig/s.wav %s/sig.txt & p=$!; i=0; "
        "while [ $(ls %s/sig | grep -c 'wav$') -lt 2 ] && [ $i -lt 400 ]; do sleep 0.02; i=$((i+1)); done; "
        "kill -TERM $p; wait $p; echo rc=$?; }", tu_bark(), dir, dir, dir, dir);
    if (!strstr(out, "rc=130")) fail_msg("%s", out);
    assert_non_null(strstr(out, "interrupted:"));
    assert_int_equal(run("ls %s/sig | grep -c part", dir), 1); /* grep found none */
    assert_int_equal(run("ls %s/sig", dir), 0);
    int files = 0;
    for (char *name = strtok(out, "\n"); name; name = strtok(NULL, "\n")) {
        char path[512];
        size_t n;
        snprintf(path, sizeof path, "%s/sig/%s", dir, name);
        int16_t *x = tu_read_s16(path, &n);
        if (!x || !n) fail_msg("%s is not a whole sound file", path);
        free(x);
        files++;
    }
    printf("  %d of %d files finished before the signal\n", files, N_LINES);
    assert_true(files >= 2 && files < N_LINES);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_lines),
        cmocka_unit_test(json_lines),
        cmocka_unit_test(bad_line),
        cmocka_unit_test(usage_and_missing_model),
        cmocka_unit_test(signal_mid_run),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
