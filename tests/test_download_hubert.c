/* test_download_hubert.c: `models/download.sh hubert` against a local hub (file:// URLs) serving the tiny HuBERT and
 * quantizer: download, convert and use (bark voices add finds hubert.gguf beside the model), resume, a checksum
 * mismatch (the hub's record and the pinned sha256), offline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sndfile.h>

#include "bark.h"
#include "util/clone_models.h"
#include "util/testutil.h"

#define QUANT "GitMylo/bark-voice-cloning-HuBERT-quantizer"
#define QFILE "quantifier_hubert_base_ls960_14.pth"

static char *tmp, out[16384];

static int setup(void **state) {
    char cmd[4096];
    if (!(tmp = tu_tmpdir())) return -1;
    snprintf(cmd, sizeof cmd,
             "set -e; mkdir -p %s/q && cp tests/data/hubert/quant_v0.pth %s/q/" QFILE " && "
             "sh tests/data/download/make_fake_hub.sh tests/data/hubert/tiny_hf %s/hub facebook/hubert-base-ls960 && "
             "sh tests/data/download/make_fake_hub.sh %s/q %s/hub " QUANT " && "
             "printf '# pins\\n%%s  " QUANT "/" QFILE "\\n' $(sha256sum %s/q/" QFILE " | cut -d' ' -f1) > %s/pins",
             tmp, tmp, tmp, tmp, tmp, tmp, tmp);
    return tu_run(cmd, out, sizeof out) == 0 ? 0 : (fprintf(stderr, "%s\n", out), -1);
}

static int teardown(void **state) {
    tu_rmtree(tmp);
    free(tmp);
    return 0;
}

/* models/download.sh hubert into tmp/DEST with the pins file PINS; the exit status, the output in out. */
static int download(const char *dest, const char *pins) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "BARK_HUB=file://%s/hub BARK_BIN=%s BARK_PINS=%s/%s sh models/download.sh hubert "
             "--dest %s/%s", tmp, tu_bark(), tmp, pins, tmp, dest);
    const int rc = tu_run(cmd, out, sizeof out);
    printf("%s", out);
    return rc;
}

static void test_download_convert_use(void **state) {
    char path[1024], bark[1024], ref[1024], cmd[4096];
    if (download("m", "pins")) fail_msg("download.sh hubert failed:\n%s", out);
    assert_non_null(strstr(out, "wrote "));
    assert_null(strstr(out, QFILE " has no pin")); /* the quantizer is pinned */
    assert_non_null(strstr(out, "config.json has no pin")); /* the rest is checked against the hub's record */
    snprintf(path, sizeof path, "%s/m/hubert.gguf", tmp);
    bark_model *m = NULL;
    bark_error err;
    assert_int_equal(bark_model_open(path, &m, &err), BARK_OK);
    int hubert = 0, quant = 0;
    for (size_t i = 0; i < bark_model_tensor_count(m); i++) {
        bark_tensor_info ti;
        assert_int_equal(bark_model_tensor_info(m, i, &ti), 0);
        hubert |= !strncmp(ti.name, "hubert.", 7);
        quant |= !strncmp(ti.name, "hubq.", 5);
    }
    bark_model_close(m);
    assert_true(hubert && quant);
    /* a Bark model beside it: `bark voices add` clones with HuBERT without being told where it is */
    snprintf(bark, sizeof bark, "%s/m/bark-small.gguf", tmp);
    snprintf(path, sizeof path, "%s/unused-hubert.gguf", tmp);
    snprintf(ref, sizeof ref, "%s/ref.wav", tmp);
    assert_int_equal(tu_clone_models(bark, path), 0);
    assert_int_equal(tu_write_voiced(ref, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 0.2, 3.0, 0.2, 0.3), 0);
    snprintf(cmd, sizeof cmd, "%s voices add me %s -m %s --voices-dir %s/voices", tu_bark(), ref, bark, tmp);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    printf("%s", out);
    assert_non_null(strstr(out, "hubert from ref.wav"));
}

/* Verified files are not fetched again; a missing one is; a cut-off .part is resumed. */
static void test_resume(void **state) {
    char cmd[2048];
    if (download("m", "pins")) fail_msg("%s", out);
    assert_null(strstr(out, "bytes)")); /* nothing fetched */
    snprintf(cmd, sizeof cmd, "cd %s/m/hub/" QUANT " && head -c 1000 " QFILE " > " QFILE ".part && rm " QFILE, tmp);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    if (download("m", "pins")) fail_msg("resume failed:\n%s", out);
    assert_non_null(strstr(out, QFILE " ("));
    assert_null(strstr(out, "config.json (")); /* only the missing file */
    snprintf(cmd, sizeof cmd, "%s/m/hub/" QUANT "/" QFILE ".part", tmp);
    assert_false(tu_exists(cmd));
}

/* A file unlike its pin, or unlike the hub's record: refused, removed, no model file written. */
static void test_checksum_mismatch(void **state) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "printf '%%064d  " QUANT "/" QFILE "\\n' 0 > %s/badpins", tmp);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    assert_int_not_equal(download("p", "badpins"), 0);
    assert_non_null(strstr(out, "does not match the pinned sha256"));
    snprintf(cmd, sizeof cmd, "%s/p/hubert.gguf", tmp);
    assert_false(tu_exists(cmd));
    snprintf(cmd, sizeof cmd, "%s/p/hub/" QUANT "/" QFILE ".part", tmp);
    assert_false(tu_exists(cmd));
    snprintf(cmd, sizeof cmd, "printf X | dd of=%s/hub/" QUANT "/resolve/main/" QFILE " bs=1 seek=3000 conv=notrunc "
             "2>/dev/null", tmp);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    assert_int_not_equal(download("h", "pins"), 0);
    assert_non_null(strstr(out, "does not match the hub's checksum"));
    snprintf(cmd, sizeof cmd, "%s/h/hubert.gguf", tmp);
    assert_false(tu_exists(cmd));
}

static void test_offline(void **state) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "BARK_HUB=file:///nonexistent BARK_BIN=%s sh models/download.sh hubert --dest %s/x",
             tu_bark(), tmp);
    assert_int_not_equal(tu_run(cmd, out, sizeof out), 0);
    printf("%s", out);
    assert_non_null(strstr(out, "cannot list facebook/hubert-base-ls960"));
    snprintf(cmd, sizeof cmd, "%s/x/hubert.gguf", tmp);
    assert_false(tu_exists(cmd));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_download_convert_use),
        cmocka_unit_test(test_resume),
        cmocka_unit_test(test_checksum_mismatch),
        cmocka_unit_test(test_offline),
    };
    return cmocka_run_group_tests_name("download_hubert", tests, setup, teardown);
}
