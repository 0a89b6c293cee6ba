/* test_convert.c: `bark convert` on tiny random models saved by the reference code in every real layout. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "model/gguf.h"
#include "model/model.h"
#include "util/testutil.h"

#define TINY "tests/data/tiny/"
#define VOCAB "models/bert-base-multilingual-cased/vocab.txt"
#define V0 "models/voices/v2/en_speaker_0.npz"
#define V1 "models/voices/v2/de_speaker_1.npz"

static char *tmp;
static char vdir0[512], vdir1[512]; /* <tmp>/v0 and <tmp>/v1: folders with V0 and V1 as v2/<stem>.npz */

/* Copies a file into <tmp>/<rel>, creating its folder. */
static int copy_to_tmp(const char *src, const char *rel, char *path, size_t cap) {
    size_t len;
    uint8_t *buf = tu_read_file(src, &len);
    snprintf(path, cap, "%s/%s", tmp, rel);
    char dir[512];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + strlen(tmp) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        mkdir(dir, 0755);
        *p = '/';
    }
    int rc = buf ? tu_write_file(path, buf, len) : -1;
    free(buf);
    return rc;
}

static int setup(void **state) {
    (void)state;
    char path[512];
    tmp = tu_tmpdir();
    if (!tmp) return -1;
    snprintf(vdir0, sizeof vdir0, "%s/v0", tmp);
    snprintf(vdir1, sizeof vdir1, "%s/v1", tmp);
    return copy_to_tmp(V0, "v0/v2/en_speaker_0.npz", path, sizeof path) ||
           copy_to_tmp(V1, "v1/v2/de_speaker_1.npz", path, sizeof path);
}

static int teardown(void **state) {
    (void)state;
    tu_rmtree(tmp);
    free(tmp);
    return 0;
}

/* Converts the given sources into <tmp>/<out> and opens the result. */
static bark_model *convert(const char *out, bark_wtype wt, int n, ...) {
    const char *src[8];
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) src[i] = va_arg(ap, const char *);
    va_end(ap);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp, out);
    bark_convert_params p = bark_convert_default_params();
    p.wtype = wt;
    p.vocab_path = VOCAB;
    bark_error err = {BARK_OK, ""};
    bark_status st = bark_convert(src, (size_t)n, path, &p, &err);
    if (st) fprintf(stderr, "convert failed: %s\n", err.msg);
    assert_int_equal(st, BARK_OK);
    bark_model *m = NULL;
    assert_int_equal(bark_model_open(path, &m, &err), BARK_OK);
    return m;
}

static double value_at(const bark_tensor *t, int64_t i) {
    switch (t->type) {
    case BARK_TYPE_F32: return ((const float *)t->data)[i];
    case BARK_TYPE_F16: return bark_f16_to_f32(((const uint16_t *)t->data)[i]);
    case BARK_TYPE_I32: return ((const int32_t *)t->data)[i];
    case BARK_TYPE_Q8_0: {
        const block_q8_0 *b = (const block_q8_0 *)t->data + i / QK8_0;
        return bark_f16_to_f32(b->d) * b->qs[i % QK8_0];
    }
    }
    return NAN;
}

/* Largest error rounding to the tensor's type may cause at flat index i, for a source value x. */
static double tolerance(const bark_tensor *t, int64_t i, double x, int folded) {
    switch (t->type) {
    case BARK_TYPE_F16: return fabs(x) * 0x1p-11 + 0x1p-25;
    case BARK_TYPE_Q8_0: return 0.6 * bark_f16_to_f32(((const block_q8_0 *)t->data)[i / QK8_0].d) + 1e-9;
    default: return folded ? fabs(x) * 4e-7 : 0; /* f32 exact; weight-norm folds round differently */
    }
}

/* Checks every tensor of expected.txt against the model (and that the model holds no other tensor):
 * shape, values at the sampled indices within the type's rounding, and (f32) the sums. */
static void verify_expected(const bark_model *m) {
    size_t len;
    char *text = (char *)tu_read_file(TINY "expected.txt", &len);
    assert_non_null(text);
    size_t n_checked = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') continue;
        char name[160], dtype[8], ne[64];
        double sum, sumabs;
        int n_samples, used;
        assert_int_equal(sscanf(line, "%159s %7s %63s %lf %lf %d%n", name, dtype, ne, &sum, &sumabs, &n_samples, &used), 6);
        const bark_tensor *t = bark_model_find(m, name);
        if (!t) fail_msg("tensor %s is missing", name);
        char got[64];
        int o = 0;
        for (int d = 0; d < t->n_dims; d++) o += snprintf(got + o, sizeof got - (size_t)o, d ? ",%lld" : "%lld", (long long)t->ne[d]);
        if (strcmp(got, ne)) fail_msg("%s: shape %s, expected %s", name, got, ne);
        const int folded = !strncmp(name, "encodec.", 8) && strstr(name, ".weight") && !strstr(name, "lstm");
        const char *p = line + used;
        for (int k = 0; k < n_samples; k++) {
            char *end;
            long long idx = strtoll(p, &end, 10);
            assert_true(*end == ':');
            double want = strtod(end + 1, &end);
            p = end;
            double v = value_at(t, idx), tol = tolerance(t, idx, want, folded);
            if (fabs(v - want) > tol) fail_msg("%s[%lld] = %.9g, expected %.9g (tolerance %.3g)", name, idx, v, want, tol);
        }
        if (t->type == BARK_TYPE_F32 || t->type == BARK_TYPE_I32) {
            int64_t count = 1;
            for (int d = 0; d < t->n_dims; d++) count *= t->ne[d];
            double s = 0, sa = 0;
            for (int64_t i = 0; i < count; i++) {
                double v = value_at(t, i);
                s += v;
                sa += fabs(v);
            }
            double tol = (folded ? 1e-6 : 1e-9) * (sumabs + 1);
            if (fabs(s - sum) > tol || fabs(sa - sumabs) > tol)
                fail_msg("%s: sums %.17g / %.17g, expected %.17g / %.17g", name, s, sa, sum, sumabs);
        }
        n_checked++;
    }
    free(text);
    if (n_checked != bark_model_tensor_count(m))
        fail_msg("checked %zu tensors, the file holds %zu", n_checked, bark_model_tensor_count(m));
}

/* hparams.txt: "key value" lines, checked against the file's metadata. */
static void verify_hparams(const bark_model *m) {
    size_t len;
    char *text = (char *)tu_read_file(TINY "hparams.txt", &len);
    assert_non_null(text);
    bark_error err;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char key[128], val[512];
        if (sscanf(line, "%127s %511s", key, val) != 2) continue;
        if (!strcmp(key, "bark.voices")) {
            char want[512] = "";
            for (size_t i = 0; i < bark_model_voice_count(m); i++)
                snprintf(want + strlen(want), sizeof want - strlen(want), i ? ",%s" : "%s", bark_model_voice_name(m, i));
            assert_string_equal(want, val);
        } else if (!strcmp(key, "bark.encodec.ratios")) {
            int32_t r[4];
            size_t n;
            assert_int_equal(bark_model_get_i32_array(m, key, r, 4, &n, &err), BARK_OK);
            char got[64];
            snprintf(got, sizeof got, "%d,%d,%d,%d", r[0], r[1], r[2], r[3]);
            assert_int_equal(n, 4);
            assert_string_equal(got, val);
        } else if (strstr(key, ".bias")) {
            bark_stage s = !strncmp(key, "bark.semantic", 13) ? BARK_STAGE_SEMANTIC
                         : !strncmp(key, "bark.coarse", 11) ? BARK_STAGE_COARSE : BARK_STAGE_FINE;
            bark_gpt_hparams hp;
            assert_int_equal(bark_model_gpt_hparams(m, s, &hp, &err), BARK_OK);
            assert_int_equal(hp.has_bias, !strcmp(val, "true"));
        } else if (val[0] >= '0' && val[0] <= '9') {
            uint32_t v;
            if (bark_model_get_u32(m, key, &v, &err)) fail_msg("%s", err.msg);
            assert_int_equal(v, strtoul(val, NULL, 10));
        }
    }
    free(text);
}

/* The metadata as GGUF tools read it: every key under general., tokenizer. or bark.; general.file_type in
 * llama.cpp's numbering (ALL_F32 0, MOSTLY_F16 1, MOSTLY_Q8_0 7); general.name from the model, not a path. */
static void verify_general(const char *out, uint32_t file_type, const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp, out);
    size_t len;
    uint8_t *buf = tu_read_file(path, &len);
    assert_non_null(buf);
    gguf_file g;
    bark_error err;
    assert_int_equal(gguf_parse(&g, buf, len, path, &err), BARK_OK);
    static const char *const ns[3] = {"general.", "tokenizer.", "bark."};
    for (uint64_t i = 0; i < g.n_kv; i++) {
        gguf_str k = g.kv[i].key;
        int ok = 0;
        for (int j = 0; j < 3; j++) ok |= k.n > strlen(ns[j]) && !memcmp(k.p, ns[j], strlen(ns[j]));
        if (!ok) fail_msg("key '%.*s' is outside general., tokenizer. and bark.", (int)k.n, k.p);
    }
    const gguf_kv *ft = gguf_find_kv(&g, "general.file_type"), *nm = gguf_find_kv(&g, "general.name"),
                  *ty = gguf_find_kv(&g, "general.type"), *ar = gguf_find_kv(&g, "general.architecture");
    assert_true(ft && ft->val.type == GGUF_T_UINT32);
    assert_int_equal(ft->val.v.u, file_type);
    assert_true(nm && nm->val.type == GGUF_T_STRING && ty && ty->val.type == GGUF_T_STRING && ar);
    if (!gguf_str_eq(nm->val.v.s, name)) fail_msg("general.name '%.*s', expected '%s'", (int)nm->val.v.s.n, nm->val.v.s.p, name);
    assert_true(gguf_str_eq(ty->val.v.s, "model"));
    assert_true(gguf_str_eq(ar->val.v.s, "bark"));
    gguf_release(&g);
    free(buf);
}

static void test_hf_safetensors(void **state) {
    (void)state;
    bark_model *m = convert("hf.gguf", BARK_WTYPE_F32, 1, TINY "hf");
    verify_expected(m);
    verify_hparams(m);
    bark_model_close(m);
    verify_general("hf.gguf", 0, "Bark (custom: 2 layers, width 32)");
}

static void test_hf_pytorch_bin(void **state) {
    (void)state;
    bark_model *m = convert("hf_bin.gguf", BARK_WTYPE_F32, 3, TINY "hf_bin", vdir0, vdir1);
    verify_expected(m);
    bark_model_close(m);
}

static void test_hf_sharded(void **state) {
    (void)state;
    bark_model *m = convert("hf_shards.gguf", BARK_WTYPE_F32, 3, TINY "hf_shards", vdir0, vdir1);
    verify_expected(m);
    bark_model_close(m);
}

static void test_hf_parametrized_weight_norm(void **state) {
    (void)state;
    bark_model *m = convert("hf_param.gguf", BARK_WTYPE_F32, 3, TINY "hf_param", vdir0, vdir1);
    verify_expected(m);
    bark_model_close(m);
}

static void test_suno_pt_and_encodec_th(void **state) {
    (void)state;
    bark_model *m = convert("suno.gguf", BARK_WTYPE_F32, 6, TINY "suno/text.pt", TINY "suno/coarse.pt",
                            TINY "suno/fine.pt", TINY "encodec/encodec_24khz-tiny.th", vdir0, vdir1);
    verify_expected(m);
    verify_hparams(m);
    bark_model_close(m);
}

/* The same weights in the Hugging Face and Suno/EnCodec layouts give identical tensors, byte for byte. */
static void test_layouts_identical(void **state) {
    (void)state;
    bark_model *a = convert("same_hf.gguf", BARK_WTYPE_Q8_0, 1, TINY "hf");
    bark_model *b = convert("same_suno.gguf", BARK_WTYPE_Q8_0, 6, TINY "suno/fine.pt", TINY "suno/text.pt",
                            TINY "encodec/encodec_24khz-tiny.th", TINY "suno/coarse.pt", vdir0, vdir1);
    assert_int_equal(bark_model_tensor_count(a), bark_model_tensor_count(b));
    for (size_t i = 0; i < bark_model_tensor_count(a); i++) {
        bark_tensor_info ti;
        assert_int_equal(bark_model_tensor_info(a, i, &ti), BARK_OK);
        const bark_tensor *x = bark_model_find(a, ti.name), *y = bark_model_find(b, ti.name);
        if (!y) fail_msg("%s missing from the Suno conversion", ti.name);
        assert_int_equal(x->type, y->type);
        assert_int_equal(x->nbytes, y->nbytes);
        if (memcmp(x->data, y->data, x->nbytes)) fail_msg("%s differs between layouts", ti.name);
    }
    bark_model_close(a);
    bark_model_close(b);
}

/* Whether name is a table read a row at a time: a position table, or a causal stage's token table (the fine stage's
 * token tables are its heads too). */
static int row_table(const char *name) {
    const char *dot = strchr(name, '.');
    return dot && (!strcmp(dot, ".wpe.weight") || (!strcmp(dot, ".wte.weight") && strncmp(name, "fine.", 5)));
}

/* f16 and q8_0: values within their rounding; matrices quantized, the GPT blocks' c_attn (attn), tables read by row
 * (table) and EnCodec's weights (codec) as given, norms/biases/codebooks kept f32. */
static void verify_types(const bark_model *m, uint32_t matrix, uint32_t attn, uint32_t table, uint32_t codec) {
    for (size_t i = 0; i < bark_model_tensor_count(m); i++) {
        bark_tensor_info ti;
        assert_int_equal(bark_model_tensor_info(m, i, &ti), BARK_OK);
        const bark_tensor *t = bark_model_find(m, ti.name);
        uint32_t want = !strncmp(ti.name, "voice.", 6) ? BARK_TYPE_I32
                      : strstr(ti.name, ".embed") ? BARK_TYPE_F32
                      : t->n_dims == 1 ? BARK_TYPE_F32
                      : !strncmp(ti.name, "encodec.", 8) ? codec
                      : row_table(ti.name) ? table
                      : strstr(ti.name, ".attn_qkv.weight") ? attn : matrix;
        if (t->type != want) fail_msg("%s is %s, expected %s", ti.name, bark_type_name(t->type), bark_type_name(want));
    }
}

static void test_f16_and_q8_0(void **state) { /* and q8_0 with c_attn f16 */
    (void)state;
    bark_model *h = convert("hf_f16.gguf", BARK_WTYPE_F16, 1, TINY "hf");
    verify_types(h, BARK_TYPE_F16, BARK_TYPE_F16, BARK_TYPE_F16, BARK_TYPE_F16);
    verify_expected(h);
    bark_model_close(h);
    verify_general("hf_f16.gguf", 1, "Bark (custom: 2 layers, width 32)");
    bark_model *q = convert("hf_q8.gguf", BARK_WTYPE_Q8_0, 1, TINY "hf");
    verify_types(q, BARK_TYPE_Q8_0, BARK_TYPE_Q8_0, BARK_TYPE_F16, BARK_TYPE_F16);
    verify_expected(q);
    bark_model_close(q);
    verify_general("hf_q8.gguf", 7, "Bark (custom: 2 layers, width 32)");
    bark_model *a = convert("hf_q8_attn_f16.gguf", BARK_WTYPE_Q8_0_ATTN_F16, 1, TINY "hf");
    verify_types(a, BARK_TYPE_Q8_0, BARK_TYPE_F16, BARK_TYPE_F16, BARK_TYPE_F16);
    verify_expected(a);
    bark_model_close(a);
    verify_general("hf_q8_attn_f16.gguf", 7, "Bark (custom: 2 layers, width 32)");
}

/* A voice file is named by its stem wherever it lies ("bad/myvoice.npz" is "myvoice", so `-v myvoice` finds it);
 * a folder keeps its relative layout ("v2/de_speaker_1"). */
static void test_voice_named_by_stem(void **state) {
    (void)state;
    char one[512];
    assert_int_equal(copy_to_tmp(V0, "bad/myvoice.npz", one, sizeof one), 0);
    bark_model *m = convert("stem.gguf", BARK_WTYPE_F32, 3, one, V1, vdir0);
    assert_int_equal(bark_model_voice_count(m), 3);
    assert_string_equal(bark_model_voice_name(m, 0), "myvoice");
    assert_string_equal(bark_model_voice_name(m, 1), "de_speaker_1");
    assert_string_equal(bark_model_voice_name(m, 2), "v2/en_speaker_0");
    assert_non_null(bark_model_find(m, "voice.myvoice.semantic"));
    bark_model_close(m);
    verify_general("stem.gguf", 0, "Bark voices");
}

/* random-model without a vocabulary would write a file `bark say` cannot use: it refuses, naming --vocab and
 * where the vocabulary is, and writes nothing. */
static void test_random_model_needs_vocab(void **state) {
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/random.gguf", tmp);
    bark_error err = {BARK_OK, ""};
    assert_int_equal(bark_write_random_model(path, "bark-small", BARK_WTYPE_Q8_0, 1, NULL, NULL, &err),
                     BARK_ERR_MISSING);
    assert_non_null(strstr(err.msg, "random.gguf: "));
    assert_non_null(strstr(err.msg, "--vocab models/bert-base-multilingual-cased/vocab.txt"));
    assert_false(tu_exists(path));
}

/* All of Suno's presets (models/voices, copied from the real data) embed and round-trip exactly:
 * checksums computed by numpy in tools/make_voice_goldens.py. */
static void test_all_voices_round_trip(void **state) {
    (void)state;
    bark_model *m = convert("voices.gguf", BARK_WTYPE_Q8_0, 1, "models/voices");
    size_t len;
    char *text = (char *)tu_read_file("tests/data/voices/voices.txt", &len);
    assert_non_null(text);
    size_t n = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), n++) {
        char name[128];
        long long dim[3], sums[6];
        assert_int_equal(sscanf(line, "%127s %lld %lld %lld %lld %lld %lld %lld %lld %lld", name, &dim[0], &dim[1],
                                &dim[2], &sums[0], &sums[1], &sums[2], &sums[3], &sums[4], &sums[5]), 10);
        assert_string_equal(bark_model_voice_name(m, n), name);
        static const char *const part[3] = {"semantic", "coarse", "fine"};
        for (int k = 0; k < 3; k++) {
            const bark_tensor *t = bark_model_findf(m, "voice.%s.%s", name, part[k]);
            assert_non_null(t);
            assert_int_equal(t->ne[0], dim[k]);
            int64_t count = t->ne[0] * (t->n_dims > 1 ? t->ne[1] : 1), s = 0, w = 0;
            for (int64_t i = 0; i < count; i++) {
                int64_t v = ((const int32_t *)t->data)[i];
                s += v;
                w += (i + 1) * v;
            }
            /* GGUF {T, rows} is numpy's [rows][T] in the same memory order */
            if (s != sums[2 * k] || w != sums[2 * k + 1]) fail_msg("voice %s %s differs", name, part[k]);
        }
    }
    assert_int_equal(n, 131);
    assert_int_equal(bark_model_voice_count(m), 131);
    free(text);
    bark_model_close(m);
    /* and `bark info` lists them */
    char cmd[600], *out = malloc(1 << 16);
    snprintf(cmd, sizeof cmd, "%s info --no-tensors %s/voices.gguf", tu_bark(), tmp);
    assert_int_equal(tu_run(cmd, out, 1 << 16), 0);
    assert_non_null(strstr(out, "131 voices:"));
    assert_non_null(strstr(out, "v2/zh_speaker_9"));
    assert_non_null(strstr(out, "announcer"));
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hf_safetensors),
        cmocka_unit_test(test_hf_pytorch_bin),
        cmocka_unit_test(test_hf_sharded),
        cmocka_unit_test(test_hf_parametrized_weight_norm),
        cmocka_unit_test(test_suno_pt_and_encodec_th),
        cmocka_unit_test(test_layouts_identical),
        cmocka_unit_test(test_f16_and_q8_0),
        cmocka_unit_test(test_voice_named_by_stem),
        cmocka_unit_test(test_random_model_needs_vocab),
        cmocka_unit_test(test_all_voices_round_trip),
    };
    return cmocka_run_group_tests_name("convert", tests, setup, teardown);
}
