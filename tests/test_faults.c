/* test_faults.c: regressions the fault sweep (tests/fault/run.sh, rerun through its LD_PRELOAD shim) and the fuzz
 * targets (tests/fuzz/) found. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bark.h"
#include "cli/say.h"
#include "util/testutil.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif
#ifndef UNDER_SANITIZER
#define UNDER_SANITIZER 0 /* the sanitizers' allocator is linked into the program: the shim cannot precede it */
#endif

static char *dir;
static char model[512], codes[512], ref[512], out[1 << 14];

static int setup(void **state) {
    (void)state;
    dir = tu_tmpdir();
    snprintf(model, sizeof model, "%s/tiny.gguf", dir);
    snprintf(ref, sizeof ref, "%s/ref.wav", dir);
    snprintf(codes, sizeof codes, "%s/codes/fine.npy", dir);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s tokens -q -s 1 -t 1 -m %s -d %s/codes 'Hi.' >/dev/null && %s decode -q -m %s %s -o %s",
             tu_bark(), model, dir, tu_bark(), model, codes, ref);
    if (tu_convert_tiny(model, "f32", out, sizeof out) || tu_run(cmd, out, sizeof out)) {
        fprintf(stderr, "%s\n", out);
        return -1;
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    tu_rmtree(dir);
    return 0;
}

/* `bark CMD ARGS -o out/FILE` with the nth `kind` call made from a library whose name holds `from` failing. Checks the
 * run ended with want's bytes in FILE, or with exit 1, one line and no file. A segmentation fault where the call failed
 * was libsndfile's own calloc is counted in *sf_crashes when that is given (the limit tests/fault/run.sh counts apart:
 * see test_sndfile_read_alloc_fails_cleanly). Returns 0 once the nth was not reached. */
static int run_with_fault(const char *cmd_args, const char *file, const char *want, const char *kind, const char *from,
                          int n, int *sf_crashes) {
    const char *b = getenv("BUILD");
    char cmd[4096], log[600], got[600];
    snprintf(log, sizeof log, "%s/fault.log", dir);
    snprintf(got, sizeof got, "%s/out/%s", dir, file);
    remove(log);
    snprintf(cmd, sizeof cmd, "rm -rf %s/out && mkdir %s/out && BARK_FAULT_KIND=%s BARK_FAULT_N=%d BARK_FAULT_FROM=%s "
             "BARK_FAULT_AFTER=%s BARK_FAULT_LOG=%s LD_PRELOAD=%s/%s/tests/fault_shim.so timeout 120 %s %s -o %s", dir, dir, kind, n,
             from, model, log, getenv("PWD"), b && *b ? b : "build", tu_bark(), cmd_args, got);
    const int rc = tu_run(cmd, out, sizeof out);
    size_t ln = 0;
    char *fired = (char *)tu_read_file(log, &ln);
    const int hit = fired && strstr(fired, "fired") != NULL;
    const int sf_calloc = hit && strstr(fired, " calloc libsndfile") != NULL;
    free(fired);
    if (!hit) return 0;
    if (rc == 0) {
        size_t na, nb;
        uint8_t *a = tu_read_file(want, &na), *c = tu_read_file(got, &nb);
        const int same = a && c && na == nb && !memcmp(a, c, na);
        free(a);
        free(c);
        if (!same) fail_msg("%s #%d from %s: exit 0 but the file differs from the unfaulted run's", kind, n, from);
    } else if (rc == 128 + 11 && sf_calloc && sf_crashes) {
        ++*sf_crashes;
    } else {
        if (rc != 1 || tu_lines(out) != 1) fail_msg("%s #%d from %s: exit %d, output:\n%s", kind, n, from, rc, out);
        snprintf(cmd, sizeof cmd, "test -z \"$(ls -A %s/out)\"", dir);
        if (tu_run(cmd, out, sizeof out)) fail_msg("%s #%d from %s: a file was left behind", kind, n, from);
    }
    return 1;
}

/* `bark decode -o out.wav` (the writer `bark say -o` uses too) under a fault (run_with_fault). */
static int say_with_fault(const char *kind, const char *from, int n) {
    char args[2048];
    snprintf(args, sizeof args, "decode -q -m %s %s", model, codes);
    return run_with_fault(args, "o.wav", ref, kind, from, n, NULL);
}

/* Every allocation libsndfile makes while writing the WAV fails in turn: one failed in sf_set_string, the file was
 * written without the synthetic-speech mark and bark said it succeeded. */
static void test_sndfile_alloc_fails_cleanly(void **state) {
    (void)state;
    if (UNDER_SANITIZER) skip();
    int n = 1;
    while (say_with_fault("alloc", "libsndfile", n)) n++;
    assert_true(n > 2); /* libsndfile allocated, and every point was tried */
}

/* Every write libsndfile makes fails in turn: the last one, the header rewritten by sf_close, failed unseen and
 * left a WAV whose header says it holds no samples. */
static void test_sndfile_write_fails_cleanly(void **state) {
    (void)state;
    if (UNDER_SANITIZER) skip();
    int n = 1;
    while (say_with_fault("io", "libsndfile", n)) n++;
    assert_true(n > 2);
}

/* A half-second recording (short.wav: few reads, few writes of the codes) and the codes of an unfaulted `bark encode`
 * of it into want; args: the command's arguments for run_with_fault. */
static void encode_ref(char *args, size_t cap, char *want, size_t want_cap) {
    char rec[600];
    float x[BARK_SAMPLE_RATE_HZ / 2];
    for (size_t i = 0; i < sizeof x / sizeof *x; i++) x[i] = 0.3f * (float)((i * 7919) % 1000) / 1000.0f - 0.15f;
    snprintf(rec, sizeof rec, "%s/short.wav", dir);
    bark_audio_writer *w;
    bark_error err = {BARK_OK, ""};
    if (bark_audio_writer_open(rec, BARK_SAMPLE_RATE_HZ, &w, &err) ||
        bark_audio_writer_write(w, x, sizeof x / sizeof *x, &err) || bark_audio_writer_close(w, 1, &err))
        fail_msg("%s", err.msg);
    snprintf(want, want_cap, "%s/ref_codes.npy", dir);
    snprintf(args, cap, "%s encode -q -m %s %s -o %s", tu_bark(), model, rec, want);
    if (tu_run(args, out, sizeof out)) fail_msg("unfaulted encode: %s", out);
    snprintf(args, cap, "encode -q -m %s %s", model, rec);
}

/* `bark encode short.wav` (the audio reader `bark clone` and POST /v1/voices use) with every allocation libsndfile makes
 * failing in turn: each run ends with the codes or one clean error, except where libsndfile 1.2.0 crashes on its own
 * failed calloc (chunk.c psf_store_read_chunk_u32 keeps the chunk log's count when its calloc fails and stores the
 * next chunk through the NULL, inside sf_open_virtual: no caller can prevent it). Those points are shown, not failed;
 * when a libsndfile without that bug is installed they disappear, and tests/fault/run.sh's exception can go. */
static void test_sndfile_read_alloc_fails_cleanly(void **state) {
    (void)state;
    if (UNDER_SANITIZER) skip();
    char args[2048], want[600];
    encode_ref(args, sizeof args, want, sizeof want);
    int n = 1, crashes = 0;
    while (run_with_fault(args, "c.npy", want, "alloc", "libsndfile", n, &crashes)) n++;
    print_message("  %d points, %d of them libsndfile's own crash on its failed calloc\n", n - 1, crashes);
    assert_true(n > 2);
}

/* The same with every I/O call bark makes itself failing in turn, the reads of the recording among them: one failed
 * read inside libsndfile went unreported (the clone came out different, exit 0); reading through our own calls, the
 * first version then let libsndfile parse a header from reads that gave nothing, growing its buffer without end. */
static void test_audio_read_fails_cleanly(void **state) {
    (void)state;
    if (UNDER_SANITIZER) skip();
    char args[2048], want[600];
    encode_ref(args, sizeof args, want, sizeof want);
    int n = 1;
    while (run_with_fault(args, "c.npy", want, "io", "bark", n, NULL)) n++;
    print_message("  %d points\n", n - 1);
    assert_true(n > 2);
}

/* fuzz_say_json: a line naming "text" twice leaked the first copy; a key given twice is now refused. */
static void test_say_json_key_twice(void **state) {
    (void)state;
    say_item it;
    char why[256];
    assert_int_equal(say_json_parse("{\"text\": \"a\", \"text\": \"b\"}", &it, why, sizeof why), -1);
    assert_non_null(strstr(why, "\"text\" is given twice"));
    assert_null(it.text);
    assert_int_equal(say_json_parse("{\"text\": \"a\", \"seed\": 1, \"seed\": 2}", &it, why, sizeof why), -1);
    assert_non_null(strstr(why, "\"seed\" is given twice"));
}

/* fuzz_say_json: an unknown key holding a raw newline made a two-line error. */
static void test_say_json_refusal_one_line(void **state) {
    (void)state;
    say_item it;
    char why[256];
    assert_int_equal(say_json_parse("{\"text\": \"x\", \"se\ned\": 1}", &it, why, sizeof why), -1);
    assert_non_null(strstr(why, "unknown key"));
    assert_null(strchr(why, '\n'));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sndfile_alloc_fails_cleanly),
        cmocka_unit_test(test_sndfile_write_fails_cleanly),
        cmocka_unit_test(test_sndfile_read_alloc_fails_cleanly),
        cmocka_unit_test(test_audio_read_fails_cleanly),
        cmocka_unit_test(test_say_json_key_twice),
        cmocka_unit_test(test_say_json_refusal_one_line),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
