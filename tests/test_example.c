/* test_example.c: examples/speak.c, built against bark.h alone, writes what `bark say -o` writes for the same text and seed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/testutil.h"

#define TEXT "The example speaks, then the command line does."

/* The 16-bit samples of a WAV file (malloc'd), *n of them; checks it is 24 kHz mono. */
static short *read_wav(const char *path, size_t *n) {
    SF_INFO info = {0};
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    assert_non_null(f);
    assert_int_equal(info.samplerate, 24000);
    assert_int_equal(info.channels, 1);
    short *x = malloc((size_t)info.frames * sizeof *x + 1);
    assert_non_null(x);
    *n = (size_t)sf_read_short(f, x, info.frames);
    assert_int_equal(*n, (size_t)info.frames);
    sf_close(f);
    return x;
}

static void test_example_speaks(void **state) {
    (void)state;
    char *dir = tu_tmpdir(), cmd[2048], out[8192];
    const char *b = getenv("BUILD") ? getenv("BUILD") : "build";
    snprintf(cmd, sizeof cmd, "%s/tiny.gguf", dir);
    assert_int_equal(tu_convert_tiny(cmd, "q8_0", out, sizeof out), 0);
    snprintf(cmd, sizeof cmd, "%s/examples/speak %s/tiny.gguf %s/example.wav '" TEXT "' 5", b, dir, dir);
    int rc = tu_run(cmd, out, sizeof out);
    if (rc) fprintf(stderr, "%s\n", out);
    assert_int_equal(rc, 0);
    snprintf(cmd, sizeof cmd, "%s say -q -m %s/tiny.gguf -s 5 -o %s/say.wav '" TEXT "'", tu_bark(), dir, dir);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    char a[600], c[600];
    snprintf(a, sizeof a, "%s/example.wav", dir);
    snprintf(c, sizeof c, "%s/say.wav", dir);
    size_t na, nc;
    short *xa = read_wav(a, &na), *xc = read_wav(c, &nc);
    print_message("examples/speak: %zu samples (%.2f s), the same as bark say -o\n", na, na / 24000.0);
    assert_true(na > 24000 / 2);
    assert_int_equal(na, nc);
    assert_memory_equal(xa, xc, na * sizeof *xa);
    /* and a clear failure: a missing model, exit 1 with one line naming it */
    snprintf(cmd, sizeof cmd, "%s/examples/speak %s/none.gguf %s/x.wav 'Text.'", b, dir, dir);
    assert_int_equal(tu_run(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "none.gguf"));
    assert_int_equal(tu_lines(out), 1);
    free(xa);
    free(xc);
    tu_rmtree(dir);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_example_speaks)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
