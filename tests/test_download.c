/* test_download.c: models/download.sh against a local folder standing in for the hub (file:// URLs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bark.h"
#include "util/testutil.h"

static char *tmp, out[16384];

static int setup(void **state) {
    (void)state;
    char cmd[1024];
    tmp = tu_tmpdir();
    snprintf(cmd, sizeof cmd, "sh tests/data/download/make_fake_hub.sh tests/data/tiny/hf %s/hub", tmp);
    return tmp && tu_run(cmd, out, sizeof out) == 0 ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    tu_rmtree(tmp);
    free(tmp);
    return 0;
}

static int download(void) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "BARK_HUB=file://%s/hub BARK_BIN=%s sh models/download.sh bark-small --dest %s/m",
             tmp, tu_bark(), tmp);
    return tu_run(cmd, out, sizeof out);
}

static void test_download_verify_convert(void **state) {
    (void)state;
    char path[512];
    if (download() != 0) fail_msg("download.sh failed:\n%s", out);
    snprintf(path, sizeof path, "%s/m/bark-small.gguf", tmp);
    bark_model *m = NULL;
    bark_error err;
    assert_int_equal(bark_model_open(path, &m, &err), BARK_OK);
    assert_true(bark_model_has_stage(m, BARK_STAGE_SEMANTIC) && bark_model_has_stage(m, BARK_STAGE_CODEC));
    assert_int_equal(bark_model_voice_count(m), 2);
    bark_model_close(m);
    /* only what a conversion needs was fetched: no tokenizer.json */
    snprintf(path, sizeof path, "%s/m/hub/suno/bark-small/tokenizer.json", tmp);
    assert_false(tu_exists(path));
    snprintf(path, sizeof path, "%s/m/hub/suno/bark-small/CHECKSUMS", tmp);
    assert_true(tu_exists(path));
}

/* Files already downloaded and verified are not fetched again. */
static void test_resume_uses_verified_files(void **state) {
    (void)state;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm %s/hub/suno/bark-small/resolve/main/vocab.txt", tmp);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    if (download() != 0) fail_msg("second run failed:\n%s", out);
}

/* A file that does not match the hub's hash is refused and removed; no model file is written. */
static void test_checksum_mismatch(void **state) {
    (void)state;
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "rm -rf %s/m && printf X | dd of=%s/hub/suno/bark-small/resolve/main/model.safetensors bs=1 seek=5000 "
             "conv=notrunc 2>/dev/null", tmp, tmp);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    assert_int_not_equal(download(), 0);
    assert_non_null(strstr(out, "does not match the hub's checksum"));
    snprintf(cmd, sizeof cmd, "%s/m/bark-small.gguf", tmp);
    assert_false(tu_exists(cmd));
    snprintf(cmd, sizeof cmd, "%s/m/hub/suno/bark-small/model.safetensors.part", tmp);
    assert_false(tu_exists(cmd));
}

static void test_offline_hub(void **state) {
    (void)state;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "BARK_HUB=file:///nonexistent BARK_BIN=%s sh models/download.sh --dest %s/x", tu_bark(),
             tmp);
    assert_int_not_equal(tu_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "cannot list suno/bark-small"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_download_verify_convert),
        cmocka_unit_test(test_resume_uses_verified_files),
        cmocka_unit_test(test_checksum_mismatch),
        cmocka_unit_test(test_offline_hub),
    };
    return cmocka_run_group_tests_name("download", tests, setup, teardown);
}
