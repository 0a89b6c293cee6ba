/* test_gguf.c: the GGUF reader and writer: round trips, truncation at every byte, and each malformed field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/gguf.h"
#include "model/model.h"
#include "util/testutil.h"

/* ---- a hand-made GGUF: two metadata entries, two tensors; every field can be overridden ---- */

typedef struct spec {
    uint32_t magic, version;
    uint64_t n_tensors, n_kv;            /* as written in the header */
    const char *arch;
    uint32_t align_type, align;          /* general.alignment */
    uint64_t key2_len;                   /* length field of the second key */
    uint32_t t_ndims[2], t_type[2];
    uint64_t t_ne0[2], t_ne1[2], t_off[2];
    const char *t_name[2];
    uint64_t tail;                       /* bytes of tensor data after the header */
} spec;

static spec defaults(void) {
    spec s = {GGUF_MAGIC, 3, 2, 2, "bark", GGUF_T_UINT32, 32, 17,
              {2, 1}, {0, 8}, {4, 32}, {2, 1}, {0, 32}, {"a", "b"}, 32 + 34};
    return s;
}

typedef struct bytes {
    uint8_t p[4096];
    size_t n;
} bytes;

static void put(bytes *b, uint64_t v, int n) {
    for (int i = 0; i < n; i++) b->p[b->n++] = (uint8_t)(v >> (8 * i));
}

static void put_str(bytes *b, const char *s, uint64_t len) {
    put(b, len, 8);
    memcpy(b->p + b->n, s, strlen(s));
    b->n += strlen(s);
}

static bytes build(const spec *s) {
    bytes b = {{0}, 0};
    put(&b, s->magic, 4);
    put(&b, s->version, 4);
    put(&b, s->n_tensors, 8);
    put(&b, s->n_kv, 8);
    put_str(&b, "general.architecture", 20);
    put(&b, GGUF_T_STRING, 4);
    put_str(&b, s->arch, strlen(s->arch));
    put_str(&b, "general.alignment", s->key2_len);
    put(&b, s->align_type, 4);
    put(&b, s->align, 4);
    for (int t = 0; t < 2; t++) {
        put_str(&b, s->t_name[t], strlen(s->t_name[t]));
        put(&b, s->t_ndims[t], 4);
        for (uint32_t d = 0; d < s->t_ndims[t] && d < 8; d++) put(&b, d == 0 ? s->t_ne0[t] : s->t_ne1[t], 8);
        put(&b, s->t_type[t], 4);
        put(&b, s->t_off[t], 8);
    }
    while (b.n % 32) b.p[b.n++] = 0;
    for (uint64_t i = 0; i < s->tail && b.n < sizeof b.p; i++) b.p[b.n++] = (uint8_t)(i * 7);
    return b;
}

static bark_status parse(const spec *s, bark_error *err) {
    bytes b = build(s);
    gguf_file g;
    bark_status st = gguf_parse(&g, b.p, b.n, "x.gguf", err);
    if (!st) gguf_release(&g);
    return st;
}

static void test_handmade_valid(void **state) {
    (void)state;
    spec s = defaults();
    bytes b = build(&s);
    gguf_file g;
    bark_error err;
    assert_int_equal(gguf_parse(&g, b.p, b.n, "x.gguf", &err), BARK_OK);
    assert_int_equal(g.n_tensors, 2);
    assert_int_equal(g.tensors[0].nbytes, 32);
    assert_int_equal(g.tensors[1].nbytes, 34);
    assert_ptr_equal(g.tensors[1].data, b.p + g.data_offset + 32);
    gguf_release(&g);
}

/* Each malformed field is refused with a message that names the file. */
static void expect_bad(spec s, bark_status want, const char *needle) {
    bark_error err = {BARK_OK, ""};
    bark_status st = parse(&s, &err);
    if (st != want) fail_msg("status %d, expected %d (%s)", st, want, err.msg);
    if (!strstr(err.msg, "x.gguf") || !strstr(err.msg, needle)) fail_msg("message '%s' lacks '%s'", err.msg, needle);
}

static void test_malformed_fields(void **state) {
    (void)state;
    spec s;
    s = defaults(), s.magic = 0x46554746, expect_bad(s, BARK_ERR_FORMAT, "bad magic");
    s = defaults(), s.version = 2, expect_bad(s, BARK_ERR_UNSUPPORTED, "version 2");
    s = defaults(), s.n_tensors = 1ull << 40, expect_bad(s, BARK_ERR_FORMAT, "absurd counts");
    s = defaults(), s.n_kv = 1ull << 62, expect_bad(s, BARK_ERR_FORMAT, "absurd counts");
    s = defaults(), s.n_kv = 3, expect_bad(s, BARK_ERR_FORMAT, "");                 /* tensor info read as kv */
    s = defaults(), s.key2_len = 1ull << 63, expect_bad(s, BARK_ERR_FORMAT, "truncated");
    s = defaults(), s.align_type = GGUF_T_ARRAY, expect_bad(s, BARK_ERR_FORMAT, "");
    s = defaults(), s.align_type = 13, expect_bad(s, BARK_ERR_FORMAT, "unknown");
    s = defaults(), s.align = 3, expect_bad(s, BARK_ERR_FORMAT, "power of two");
    s = defaults(), s.align = 0, expect_bad(s, BARK_ERR_FORMAT, "power of two");
    s = defaults(), s.align_type = GGUF_T_INT32, expect_bad(s, BARK_ERR_FORMAT, "alignment");
    s = defaults(), s.t_ndims[0] = 0, expect_bad(s, BARK_ERR_FORMAT, "dims");
    s = defaults(), s.t_ndims[0] = 5, expect_bad(s, BARK_ERR_FORMAT, "dims");
    s = defaults(), s.t_ne0[0] = 0, expect_bad(s, BARK_ERR_FORMAT, "absurd dimension");
    s = defaults(), s.t_ne0[0] = 1ull << 39, s.t_ne1[0] = 1ull << 39, expect_bad(s, BARK_ERR_FORMAT, "absurd dimension");
    s = defaults(), s.t_ne0[0] = UINT64_MAX, expect_bad(s, BARK_ERR_FORMAT, "absurd dimension");
    s = defaults(), s.t_type[0] = 3, expect_bad(s, BARK_ERR_UNSUPPORTED, "type 3"); /* q4_1: not bark's */
    s = defaults(), s.t_type[0] = 2, expect_bad(s, BARK_ERR_FORMAT, "q4_0 has a row of 4"); /* 4-bit blocks of 32 */
    s = defaults(), s.t_ne0[1] = 33, expect_bad(s, BARK_ERR_FORMAT, "row of 33");
    s = defaults(), s.t_off[1] = 16, expect_bad(s, BARK_ERR_FORMAT, "not aligned");
    s = defaults(), s.t_off[1] = 1ull << 62, expect_bad(s, BARK_ERR_FORMAT, "past the end");
    s = defaults(), s.t_off[1] = UINT64_MAX - 31, expect_bad(s, BARK_ERR_FORMAT, "past the end");
    s = defaults(), s.t_off[1] = 0, expect_bad(s, BARK_ERR_FORMAT, "overlap");
    s = defaults(), s.t_name[1] = "a", expect_bad(s, BARK_ERR_FORMAT, "appears twice");
    s = defaults(), s.t_ne0[1] = 64, expect_bad(s, BARK_ERR_FORMAT, "past the end");
}

/* Cut at every byte: refused (never a crash or an over-read) exactly while a tensor's data is incomplete. */
static void test_truncated_everywhere(void **state) {
    (void)state;
    spec s = defaults();
    bytes b = build(&s);
    gguf_file g;
    bark_error err;
    assert_int_equal(gguf_parse(&g, b.p, b.n, "x.gguf", &err), BARK_OK);
    size_t need = (size_t)(g.data_offset + 32 + 34);
    gguf_release(&g);
    for (size_t len = 0; len <= b.n; len++) {
        uint8_t *copy = malloc(len ? len : 1); /* exact size, so ASan sees any over-read */
        memcpy(copy, b.p, len);
        bark_status st = gguf_parse(&g, copy, len, "x.gguf", &err);
        if (!st) gguf_release(&g);
        if ((st == BARK_OK) != (len >= need)) fail_msg("length %zu: status %d (%s)", len, st, err.msg);
        if (st) assert_non_null(strstr(err.msg, "x.gguf"));
        free(copy);
    }
}

/* The writer's output reads back field for field. */
static void test_writer_round_trip(void **state) {
    (void)state;
    char *dir = tu_tmpdir(), path[256];
    snprintf(path, sizeof path, "%s/w.gguf", dir);
    gguf_writer *w = gguf_writer_new();
    const char *strs[3] = {"x", "", "z\xc3\xa9"};
    size_t lens[3] = {1, 0, 3};
    uint32_t arr[3] = {8, 5, 4};
    float f[6] = {1, 2, 3, 4, 5, 6};
    int32_t iv[5] = {-1, 0, 1, 1023, 9999};
    assert_int_equal(gguf_set_u32(w, "k.u32", 7), BARK_OK);
    assert_int_equal(gguf_set_f32(w, "k.f32", 0.5f), BARK_OK);
    assert_int_equal(gguf_set_bool(w, "k.bool", 1), BARK_OK);
    assert_int_equal(gguf_set_str(w, "k.str", "hello"), BARK_OK);
    assert_int_equal(gguf_set_u32_array(w, "k.arr", arr, 3), BARK_OK);
    assert_int_equal(gguf_set_str_array(w, "k.strs", strs, lens, 3), BARK_OK);
    assert_int_equal(gguf_add_tensor(w, "t.f32", 0, 2, (int64_t[]){3, 2}, f, sizeof f), BARK_OK);
    assert_int_equal(gguf_add_tensor(w, "t.i32", 26, 1, (int64_t[]){5}, iv, sizeof iv), BARK_OK);
    bark_error err;
    assert_int_equal(gguf_write_file(w, path, &err), BARK_OK);
    gguf_writer_free(w);
    size_t len;
    uint8_t *buf = tu_read_file(path, &len);
    gguf_file g;
    assert_int_equal(gguf_parse(&g, buf, len, path, &err), BARK_OK);
    assert_int_equal(gguf_find_kv(&g, "k.u32")->val.v.u, 7);
    assert_true(gguf_find_kv(&g, "k.f32")->val.v.f == 0.5);
    assert_int_equal(gguf_find_kv(&g, "k.bool")->val.v.u, 1);
    assert_true(gguf_str_eq(gguf_find_kv(&g, "k.str")->val.v.s, "hello"));
    const gguf_value *a = &gguf_find_kv(&g, "k.arr")->val;
    assert_int_equal(a->arr_n, 3);
    assert_int_equal(gguf_arr_int(a, 0), 8);
    assert_int_equal(gguf_arr_int(a, 2), 4);
    const uint8_t *p = gguf_find_kv(&g, "k.strs")->val.arr_data;
    for (int i = 0; i < 3; i++) {
        gguf_str s = gguf_str_next(&p);
        assert_int_equal(s.n, lens[i]);
        assert_memory_equal(s.p, strs[i], lens[i] ? lens[i] : 1 - 1);
    }
    assert_int_equal(g.n_tensors, 2);
    assert_memory_equal(g.tensors[0].data, f, sizeof f);
    assert_memory_equal(g.tensors[1].data, iv, sizeof iv);
    assert_int_equal((uintptr_t)((const uint8_t *)g.tensors[1].data - buf) % 32, 0);
    gguf_release(&g);
    free(buf);
    tu_rmtree(dir);
    free(dir);
}

/* A write that cannot finish leaves no file behind. */
static void test_writer_failure_leaves_nothing(void **state) {
    (void)state;
    gguf_writer *w = gguf_writer_new();
    bark_error err;
    assert_int_equal(gguf_set_u32(w, "k", 1), BARK_OK);
    assert_int_not_equal(gguf_write_file(w, "/nonexistent-dir/x.gguf", &err), BARK_OK);
    assert_non_null(strstr(err.msg, "/nonexistent-dir/x.gguf"));
    gguf_writer_free(w);
}

/* Model-level checks: architecture, stage hyper-parameters and tensor shapes are validated before use. */
static bark_status open_model(gguf_writer *w, bark_error *err) {
    char *dir = tu_tmpdir(), path[256];
    snprintf(path, sizeof path, "%s/m.gguf", dir);
    bark_status st = gguf_write_file(w, path, err);
    bark_model *m = NULL;
    if (!st) st = bark_model_open(path, &m, err);
    bark_model_close(m);
    tu_rmtree(dir);
    free(dir);
    gguf_writer_free(w);
    return st;
}

static gguf_writer *tiny_semantic(int64_t wte_rows) {
    gguf_writer *w = gguf_writer_new();
    gguf_set_str(w, "general.architecture", "bark");
    const char *keys[6] = {"block_count", "head_count", "embedding_length", "context_length", "input_vocab_size",
                           "output_vocab_size"};
    uint32_t vals[6] = {1, 1, 32, 4, 8, 8};
    char k[64];
    for (int i = 0; i < 6; i++) {
        snprintf(k, sizeof k, "bark.semantic.%s", keys[i]);
        gguf_set_u32(w, k, vals[i]);
    }
    static float zeros[32 * 128];
    struct { const char *n; int nd; int64_t a, b; } t[] = {
        {"semantic.wte.weight", 2, 32, wte_rows}, {"semantic.wpe.weight", 2, 32, 4},
        {"semantic.blk.0.ln1.weight", 1, 32, 1}, {"semantic.blk.0.ln2.weight", 1, 32, 1},
        {"semantic.blk.0.attn_qkv.weight", 2, 32, 96}, {"semantic.blk.0.attn_out.weight", 2, 32, 32},
        {"semantic.blk.0.mlp_up.weight", 2, 32, 128}, {"semantic.blk.0.mlp_down.weight", 2, 128, 32},
        {"semantic.ln_f.weight", 1, 32, 1}, {"semantic.lm_head.weight", 2, 32, 8}};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        gguf_add_tensor(w, t[i].n, 0, t[i].nd, (int64_t[]){t[i].a, t[i].b}, zeros, (size_t)(t[i].a * t[i].b) * 4);
    return w;
}

static void test_model_validation(void **state) {
    (void)state;
    bark_error err;
    assert_int_equal(open_model(tiny_semantic(8), &err), BARK_OK);
    assert_int_equal(open_model(tiny_semantic(9), &err), BARK_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "semantic.wte.weight"));
    gguf_writer *w = tiny_semantic(8);
    gguf_set_u32(w, "bark.coarse.block_count", 1); /* a stage with hyper-parameters but no tensors */
    assert_int_equal(open_model(w, &err), BARK_ERR_MISSING);
    assert_non_null(strstr(err.msg, "bark.coarse.head_count"));
    w = gguf_writer_new();
    gguf_set_str(w, "general.architecture", "llama");
    assert_int_equal(open_model(w, &err), BARK_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "not a Bark model"));
    assert_int_equal(bark_model_open("/nonexistent.gguf", &(bark_model *){NULL}, &err), BARK_ERR_IO);
    assert_non_null(strstr(err.msg, "models/download.sh"));
}

/* Files of bark.c 0.2 and earlier (EnCodec and HuBERT keys outside bark.*, q8_0 marked file type 8) are refused
 * with one line that says how to get a new one, not read half right. */
static void test_old_layout_refused(void **state) {
    (void)state;
    static const char *const old_keys[3] = {"encodec.sample_rate", "hubert.block_count", "hubq.version"};
    bark_error err;
    for (int i = 0; i < 4; i++) {
        gguf_writer *w = tiny_semantic(8);
        if (i < 3) gguf_set_u32(w, old_keys[i], 1);
        else gguf_set_u32(w, "general.file_type", 8);
        assert_int_equal(open_model(w, &err), BARK_ERR_UNSUPPORTED);
        assert_non_null(strstr(err.msg, "m.gguf: written by bark.c 0.1 (older metadata)"));
        assert_non_null(strstr(err.msg, i < 3 ? old_keys[i] : "general.file_type 8"));
        assert_non_null(strstr(err.msg, "`bark convert` or models/download.sh"));
        assert_null(strchr(err.msg, '\n'));
    }
    gguf_writer *w = tiny_semantic(8); /* the new spelling and numbering open */
    gguf_set_u32(w, "general.file_type", 7);
    gguf_set_u32(w, "bark.hubert_quantizer.version", 0);
    assert_int_equal(open_model(w, &err), BARK_OK);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handmade_valid),
        cmocka_unit_test(test_malformed_fields),
        cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_writer_round_trip),
        cmocka_unit_test(test_writer_failure_leaves_nothing),
        cmocka_unit_test(test_model_validation),
        cmocka_unit_test(test_old_layout_refused),
    };
    return cmocka_run_group_tests_name("gguf", tests, NULL, NULL);
}
