/* test_hubert.c: HuBERT and its quantizer against transformers / PyTorch goldens (tools/make_hubert_goldens.py),
 * converted from the Hugging Face, fairseq and quantizer .pth layouts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/convert_hubert.h"
#include "formats/source.h"
#include "clone/hubert.h"
#include "util/testutil.h"

#define DATA "tests/data/hubert/"

/* Converts the given HuBERT source (folder or .pt) and quantizer .pth into dir/name; returns the path. */
static char *convert_to(const char *dir, const char *name, const char *hubert_src, const char *quant, bark_wtype wt) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    bark_convert_params p = bark_convert_default_params();
    p.wtype = wt;
    bark_error err = {BARK_OK, ""};
    convert_ctx c;
    memset(&c, 0, sizeof c);
    c.p = &p;
    c.err = &err;
    c.w = gguf_writer_new();
    assert_non_null(c.w);
    bark_status st = hubert_src ? convert_hubert(&c, hubert_src) : BARK_OK;
    if (!st && quant) st = convert_hubert_quantizer(&c, quant);
    if (!st) st = convert_write(&c, path);
    if (st) fail_msg("convert: %s", err.msg);
    convert_ctx_release(&c);
    return path;
}

static const float *npy_f32(src_set *s, const char *file, size_t *n) {
    bark_error err = {BARK_OK, ""};
    char path[256];
    snprintf(path, sizeof path, DATA "%s", file);
    if (src_read_npy(s, path, file, &err)) fail_msg("%s", err.msg);
    const src_tensor *t = src_set_find(s, file);
    assert_non_null(t);
    *n = t->nbytes / src_dtype_size(t->dtype);
    return (const float *)t->data;
}

/* Runs HuBERT of the model at path on wave.npy; returns max |c - ref| / max |ref|. */
static double hidden_error(const char *path, float **out_hidden, size_t *out_T) {
    bark_model *m = NULL;
    bark_error err = {BARK_OK, ""};
    if (bark_model_open(path, &m, &err)) fail_msg("%s", err.msg);
    hubert_model h;
    if (hubert_load(m, &h, &err)) fail_msg("%s", err.msg);
    assert_int_equal(h.hp.n_layer, HUBERT_OUTPUT_LAYER); /* 10 layers in the source, 9 kept */
    src_set s;
    src_set_init(&s);
    size_t n, nref;
    const float *wave = npy_f32(&s, "wave.npy", &n), *ref = npy_f32(&s, "hidden9.npy", &nref);
    const size_t T = hubert_frames(&h.hp, n);
    assert_int_equal(T * (size_t)h.hp.n_embd, nref);
    float *hid = malloc(nref * sizeof *hid);
    assert_non_null(hid);
    if (hubert_forward(&h, wave, n, hid, &err)) fail_msg("%s", err.msg);
    double md = 0, mr = 0;
    for (size_t i = 0; i < nref; i++) {
        md = fmax(md, fabs((double)hid[i] - ref[i]));
        mr = fmax(mr, fabs((double)ref[i]));
    }
    src_set_free(&s);
    bark_model_close(m);
    if (out_hidden) *out_hidden = hid;
    else free(hid);
    if (out_T) *out_T = T;
    return md / mr;
}

static void test_hidden_states_hf(void **state) {
    char *dir = tu_tmpdir();
    const char *path = convert_to(dir, "h.gguf", DATA "tiny_hf", NULL, BARK_WTYPE_F32);
    size_t T = 0;
    double rel = hidden_error(path, NULL, &T);
    printf("  HF layout, f32: %zu frames, max relative error %.3g\n", T, rel);
    assert_int_equal(T, 50);
    assert_true(rel < 1e-4);
    tu_rmtree(dir);
    free(dir);
}

static void test_hidden_states_fairseq(void **state) {
    char *dir = tu_tmpdir();
    const char *path = convert_to(dir, "f.gguf", DATA "tiny_fairseq.pt", NULL, BARK_WTYPE_F32);
    double rel = hidden_error(path, NULL, NULL);
    printf("  fairseq layout, f32: max relative error %.3g\n", rel);
    assert_true(rel < 1e-4);
    tu_rmtree(dir);
    free(dir);
}

/* The default q8_0 conversion stays close (an accuracy figure, not a golden match). */
static void test_hidden_states_q8(void **state) {
    char *dir = tu_tmpdir();
    const char *path = convert_to(dir, "q.gguf", DATA "tiny_hf", NULL, BARK_WTYPE_Q8_0);
    double rel = hidden_error(path, NULL, NULL);
    printf("  HF layout, q8_0: max relative error %.3g\n", rel);
    assert_true(rel < 5e-2);
    tu_rmtree(dir);
    free(dir);
}

/* Tokens of quantizer version v from the reference hidden states and from our own, against the golden. */
static void check_quantizer(int v) {
    char *dir = tu_tmpdir(), qpath[128], tpath[64];
    snprintf(qpath, sizeof qpath, DATA "quant_v%d.pth", v);
    snprintf(tpath, sizeof tpath, "tokens_v%d.npy", v);
    const char *path = convert_to(dir, "q.gguf", DATA "tiny_hf", qpath, BARK_WTYPE_F32);
    bark_model *m = NULL;
    bark_error err = {BARK_OK, ""};
    if (bark_model_open(path, &m, &err)) fail_msg("%s", err.msg);
    hubq_model q;
    if (hubq_load(m, &q, &err)) fail_msg("%s", err.msg);
    assert_int_equal(q.version, v);
    src_set s;
    src_set_init(&s);
    size_t nh, nt;
    const float *ref = npy_f32(&s, "hidden9.npy", &nh);
    const int32_t *want = (const int32_t *)npy_f32(&s, tpath, &nt);
    assert_int_equal(nt * (size_t)q.n_in, nh);
    int32_t tok[64];
    float margin = 0;
    if (hubq_tokens(&q, ref, nt, tok, &margin, &err)) fail_msg("%s", err.msg);
    int same = 0;
    for (size_t i = 0; i < nt; i++) same += tok[i] == want[i];
    printf("  quantizer v%d on reference features: %d/%zu tokens equal, smallest top-2 logit gap %.3g\n", v, same, nt,
           margin);
    assert_int_equal(same, (int)nt);
    float *hid = NULL;
    size_t T = 0;
    hidden_error(path, &hid, &T);
    if (hubq_tokens(&q, hid, T, tok, &margin, &err)) fail_msg("%s", err.msg);
    same = 0;
    for (size_t i = 0; i < nt; i++) same += tok[i] == want[i];
    printf("  quantizer v%d on our HuBERT features: %d/%zu tokens equal\n", v, same, nt);
    assert_int_equal(same, (int)nt);
    free(hid);
    hubq_free(&q);
    src_set_free(&s);
    bark_model_close(m);
    tu_rmtree(dir);
    free(dir);
}

static void test_quantizer_v0(void **state) { check_quantizer(0); }
static void test_quantizer_v1(void **state) { check_quantizer(1); }

static void test_probe(void **state) {
    assert_int_equal(convert_hubert_probe(DATA "tiny_hf"), HUBERT_SRC_HF);
    assert_int_equal(convert_hubert_probe(DATA "tiny_fairseq.pt"), HUBERT_SRC_FAIRSEQ);
    assert_int_equal(convert_hubert_probe(DATA "quant_v0.pth"), HUBERT_SRC_QUANTIZER);
    assert_int_equal(convert_hubert_probe(DATA "quant_v1.pth"), HUBERT_SRC_QUANTIZER);
    assert_int_equal(convert_hubert_probe(DATA "wave.npy"), HUBERT_SRC_NONE);
    assert_int_equal(convert_hubert_probe("tests/data/nonexistent"), HUBERT_SRC_NONE);
}

/* Short input, a model without HuBERT, a quantizer given where HuBERT is expected: clear errors. */
static void test_errors(void **state) {
    char *dir = tu_tmpdir();
    const char *path = convert_to(dir, "q.gguf", NULL, DATA "quant_v0.pth", BARK_WTYPE_F32);
    bark_model *m = NULL;
    bark_error err = {BARK_OK, ""};
    if (bark_model_open(path, &m, &err)) fail_msg("%s", err.msg);
    hubert_model h;
    assert_int_equal(bark_model_has_hubert(m), 0);
    assert_int_equal(hubert_load(m, &h, &err), BARK_ERR_MISSING);
    printf("  %s\n", err.msg);
    bark_model_close(m);
    path = convert_to(dir, "h.gguf", DATA "tiny_hf", NULL, BARK_WTYPE_F32);
    if (bark_model_open(path, &m, &err)) fail_msg("%s", err.msg);
    assert_int_equal(hubert_load(m, &h, &err), BARK_OK);
    hubq_model q;
    assert_int_equal(hubq_load(m, &q, &err), BARK_ERR_MISSING);
    float x[399] = {0}, out[64];
    assert_int_equal(hubert_frames(&h.hp, 399), 0);
    assert_int_equal(hubert_frames(&h.hp, 400), 1);
    assert_int_equal(hubert_forward(&h, x, 399, out, &err), BARK_ERR_ARG);
    printf("  %s\n", err.msg);
    bark_model_close(m);
    bark_convert_params p = bark_convert_default_params();
    convert_ctx c;
    memset(&c, 0, sizeof c);
    c.p = &p;
    c.err = &err;
    c.w = gguf_writer_new();
    assert_int_not_equal(convert_hubert_quantizer(&c, DATA "tiny_fairseq.pt"), BARK_OK);
    printf("  %s\n", err.msg);
    assert_int_not_equal(convert_hubert(&c, DATA "quant_v1.pth"), BARK_OK);
    printf("  %s\n", err.msg);
    convert_ctx_release(&c);
    tu_rmtree(dir);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hidden_states_hf), cmocka_unit_test(test_hidden_states_fairseq),
        cmocka_unit_test(test_hidden_states_q8), cmocka_unit_test(test_quantizer_v0),
        cmocka_unit_test(test_quantizer_v1),     cmocka_unit_test(test_probe),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
