/* test_cli_errors.c: every bad input gives ONE clear line naming the file, a non-zero exit, no crash,
 * and no output file left behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/testutil.h"

static char *tmp, out[65536];

static int setup(void **state) {
    (void)state;
    tmp = tu_tmpdir();
    return tmp ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    tu_rmtree(tmp);
    free(tmp);
    return 0;
}

/* Runs `bark ARGS`; expects exit status `rc`, exactly one output line holding every needle. */
static void one_line(int rc, const char *args, const char *needle1, const char *needle2) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s", tu_bark(), args);
    int got = tu_run(cmd, out, sizeof out);
    if (got != rc) fail_msg("`bark %s` exited %d, expected %d:\n%s", args, got, rc, out);
    if (tu_lines(out) != 1) fail_msg("`bark %s` printed %d lines:\n%s", args, tu_lines(out), out);
    if (needle1 && !strstr(out, needle1)) fail_msg("`bark %s`: '%s' lacks '%s'", args, out, needle1);
    if (needle2 && !strstr(out, needle2)) fail_msg("`bark %s`: '%s' lacks '%s'", args, out, needle2);
}

static void test_info_errors(void **state) {
    (void)state;
    one_line(1, "info /nonexistent/model.gguf", "/nonexistent/model.gguf", "models/download.sh");
    one_line(1, "info models/bert-base-multilingual-cased/vocab.txt", "vocab.txt", "not a GGUF file");
    one_line(1, "info tests/data/readers/model.safetensors", "model.safetensors", "not a GGUF file");
    one_line(2, "info --bogus", "--bogus", NULL);
    one_line(2, "frobnicate", "unknown command 'frobnicate'", NULL);
}

/* A real model file cut at many lengths (every header byte, then coarser through the data). */
static void test_info_truncated(void **state) {
    (void)state;
    size_t len;
    uint8_t *buf = tu_read_file("tests/fuzz/corpus/gguf/voice.gguf", &len);
    assert_non_null(buf);
    char path[512], args[600];
    snprintf(path, sizeof path, "%s/cut.gguf", tmp);
    snprintf(args, sizeof args, "info %s", path);
    for (size_t n = 0; n < len; n += n < 4096 ? 37 : 997) {
        assert_int_equal(tu_write_file(path, buf, n), 0);
        one_line(1, args, path, NULL);
    }
    free(buf);
}

static void test_convert_errors(void **state) {
    (void)state;
    char args[1024], gguf[512];
    snprintf(gguf, sizeof gguf, "%s/out.gguf", tmp);
    struct { const char *src, *needle; } cases[] = {
        {"tests/data/readers/evil.pt", "not allowed"},
        {"tests/data/readers/opcode.pt", "not allowed"},
        {"tests/data/readers/overrun.pt", "overrun.pt"},
        {"tests/data/readers/bigendian.pt", "bigendian.pt"},
        {"tests/data/readers/object.npz", "object.npz"},
        {"tests/data/convert_bad/float_voice.npz", "integer"},
        {"tests/data/convert_bad/range_voice.npz", "outside 0..9999"},
        {"tests/data/convert_bad/shape_voice.npz", "[2, T]"},
        {"tests/data/convert_bad/missing_voice.npz", "fine_prompt"},
        {"tests/data/convert_bad/hf_bad_json", "config.json"},
        {"tests/data/convert_bad/hf_alien_tensor", "not_a_bark_tensor"},
        {"tests/data/readers/state.pt", "state.pt"},
        {"/nonexistent.pt", "/nonexistent.pt"},
        {"README.md", "unknown source"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(args, sizeof args, "convert %s -o %s", cases[i].src, gguf);
        one_line(1, args, cases[i].needle, NULL);
        assert_false(tu_exists(gguf));
        snprintf(args, sizeof args, "%s.partial", gguf);
        assert_false(tu_exists(args));
    }
    one_line(2, "convert tests/data/tiny/hf -o x.gguf --type q4_1", "q4_1", NULL);
}

/* An unwritable output: one line, nothing left behind. */
static void test_convert_unwritable(void **state) {
    (void)state;
    one_line(1, "convert models/voices/v2/en_speaker_0.npz -o /nonexistent-dir/out.gguf", "/nonexistent-dir/out.gguf",
             NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_info_errors),
        cmocka_unit_test(test_info_truncated),
        cmocka_unit_test(test_convert_errors),
        cmocka_unit_test(test_convert_unwritable),
    };
    return cmocka_run_group_tests_name("cli_errors", tests, setup, teardown);
}
