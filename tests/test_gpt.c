/* test_gpt.c: the three GPT forward passes on the tiny Bark against logits from Suno's model code. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bark.h"
#include "core/exec.h"
#include "formats/source.h"
#include "gpt/gpt.h"
#include "model/model.h"

/* The tiny model converted from tests/data/tiny/hf; the goldens come from the same weights in
 * tests/data/tiny/suno run through Suno's bark/model.py and bark/model_fine.py. */
typedef struct fixture {
    char path[64];
    bark_model *m;
    src_set gold;
} fixture;

static const src_tensor *gold(fixture *f, const char *name, src_dtype dt) {
    const src_tensor *t = src_set_find(&f->gold, name);
    if (!t) {
        char file[128];
        bark_error err;
        snprintf(file, sizeof file, "tests/data/gpt/%s.npy", name);
        if (src_read_npy(&f->gold, file, name, &err)) fail_msg("%s", err.msg);
        t = src_set_find(&f->gold, name);
    }
    assert_non_null(t);
    assert_int_equal(t->dtype, dt);
    return t;
}

static int open_tiny(void **state, bark_wtype wtype) {
    fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    snprintf(f->path, sizeof f->path, "/tmp/bark_test_gpt_XXXXXX");
    int fd = mkstemp(f->path);
    if (fd < 0) return -1;
    close(fd);
    bark_convert_params p = bark_convert_default_params();
    p.wtype = wtype;
    const char *src[1] = {"tests/data/tiny/hf"};
    bark_error err;
    if (bark_convert(src, 1, f->path, &p, &err) || bark_model_open(f->path, &f->m, &err)) {
        fprintf(stderr, "tiny model: %s\n", err.msg);
        return -1;
    }
    src_set_init(&f->gold);
    *state = f;
    return 0;
}

static int setup_f32(void **state) { return open_tiny(state, BARK_WTYPE_F32); }
static int setup_f16(void **state) { return open_tiny(state, BARK_WTYPE_F16); }
static int setup_q8(void **state) { return open_tiny(state, BARK_WTYPE_Q8_0); }
static int setup_q4(void **state) { return open_tiny(state, BARK_WTYPE_Q4_0); }
static int setup_q8_attn_f16(void **state) { return open_tiny(state, BARK_WTYPE_Q8_0_ATTN_F16); }

static int teardown(void **state) {
    fixture *f = *state;
    bark_model_close(f->m);
    unlink(f->path);
    src_set_free(&f->gold);
    free(f);
    return 0;
}

/* max |a - ref| / max |ref| over n values; *agree gets whether the argmax is the same. */
static double rel_err(const float *a, const float *ref, int n, int *agree) {
    double d = 0.0, mx = 0.0;
    int ia = 0, ir = 0;
    for (int i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - ref[i]));
        mx = fmax(mx, fabs((double)ref[i]));
        if (a[i] > a[ia]) ia = i;
        if (ref[i] > ref[ir]) ir = i;
    }
    *agree = ia == ir;
    return d / mx;
}

/* Tolerance on max error / max |logit| for each weight type of the blocks, c_attn f16 or not (q4_0: 0.23 measured,
 * on 2-layer width-32 random weights where every attention row is a single 4-bit block; tests/test_kernels.c holds
 * its KL to bounds). */
static double tolerance(const bark_model *m) {
    const bark_gpt_weights *w;
    bark_error err;
    assert_int_equal(bark_model_gpt(m, BARK_STAGE_COARSE, &w, &err), BARK_OK);
    uint32_t t = w->layer[0].up_w.type;
    return t == BARK_TYPE_F32 ? 1e-4 : t == BARK_TYPE_F16 ? 3e-3 : t == BARK_TYPE_Q8_0 ? 5e-2 : 0.4;
}

static void check(const char *what, int pass, double e, int agree, double tol, const bark_model *m) {
    const bark_gpt_weights *w;
    bark_error err;
    assert_int_equal(bark_model_gpt(m, BARK_STAGE_COARSE, &w, &err), BARK_OK);
    print_message("%s %s pass %d: max error %.3g of max |logit|%s\n", bark_type_name(w->layer[0].up_w.type), what,
                  pass, e, agree ? "" : " (argmax differs)");
    assert_true(e <= tol);
    if (tol <= 1e-4) assert_true(agree);
}

/* Semantic: the merged 513-id prompt (text + history summed, infer token) then cached single tokens. */
static void test_semantic(void **state) {
    fixture *f = *state;
    const bark_gpt_weights *w;
    bark_error err;
    assert_int_equal(bark_model_gpt(f->m, BARK_STAGE_SEMANTIC, &w, &err), BARK_OK);
    const src_tensor *pr = gold(f, "sem_prompt", SRC_I32), *st = gold(f, "sem_steps", SRC_I32);
    const src_tensor *lg = gold(f, "sem_logits", SRC_F32);
    assert_int_equal(pr->shape[0], 513);
    const int32_t *x = (const int32_t *)pr->data;
    int32_t ids[257], ids2[257];
    for (int i = 0; i < 256; i++) ids[i] = x[i], ids2[i] = x[256 + i];
    ids[256] = x[512], ids2[256] = -1;
    bark_gpt g;
    assert_int_equal(bark_gpt_init(&g, w, 1, NULL, &err), BARK_OK);
    float *logits = malloc((size_t)w->hp.output_vocab * sizeof *logits);
    int n_ref = (int)lg->shape[1], agree;
    double tol = tolerance(f->m);
    assert_int_equal(bark_gpt_forward(&g, ids, ids2, 257, logits, &err), BARK_OK);
    double e = rel_err(logits, (const float *)lg->data, n_ref, &agree);
    check("semantic", 0, e, agree, tol, f->m);
    for (int s = 0; s < (int)st->shape[0]; s++) {
        int32_t tok = ((const int32_t *)st->data)[s];
        assert_int_equal(bark_gpt_forward(&g, &tok, NULL, 1, logits, &err), BARK_OK);
        e = rel_err(logits, (const float *)lg->data + (size_t)(s + 1) * n_ref, n_ref, &agree);
        check("semantic cached", s + 1, e, agree, tol, f->m);
    }
    assert_int_equal(g.kv->n_past, 257 + (int)st->shape[0]);
    free(logits);
    bark_gpt_free(&g);
}

/* Coarse: a 557-id window then cached steps; logits 10000..12047 compared. */
static void test_coarse(void **state) {
    fixture *f = *state;
    const bark_gpt_weights *w;
    bark_error err;
    assert_int_equal(bark_model_gpt(f->m, BARK_STAGE_COARSE, &w, &err), BARK_OK);
    const src_tensor *pr = gold(f, "coarse_prompt", SRC_I32), *st = gold(f, "coarse_steps", SRC_I32);
    const src_tensor *lg = gold(f, "coarse_logits", SRC_F32);
    bark_gpt g;
    assert_int_equal(bark_gpt_init(&g, w, 1, NULL, &err), BARK_OK);
    float *logits = malloc((size_t)w->hp.output_vocab * sizeof *logits);
    int n_ref = (int)lg->shape[1], agree;
    double tol = tolerance(f->m);
    assert_int_equal(bark_gpt_forward(&g, (const int32_t *)pr->data, NULL, (int)pr->shape[0], logits, &err), BARK_OK);
    double e = rel_err(logits + 10000, (const float *)lg->data, n_ref, &agree);
    check("coarse", 0, e, agree, tol, f->m);
    for (int s = 0; s < (int)st->shape[0]; s++) {
        int32_t tok = ((const int32_t *)st->data)[s];
        assert_int_equal(bark_gpt_forward(&g, &tok, NULL, 1, logits, &err), BARK_OK);
        e = rel_err(logits + 10000, (const float *)lg->data + (size_t)(s + 1) * n_ref, n_ref, &agree);
        check("coarse cached", s + 1, e, agree, tol, f->m);
    }
    /* a reset starts again at position 0 and gives the first logits again */
    bark_gpt_reset(&g);
    assert_int_equal(bark_gpt_forward(&g, (const int32_t *)pr->data, NULL, (int)pr->shape[0], logits, &err), BARK_OK);
    assert_true(rel_err(logits + 10000, (const float *)lg->data, n_ref, &agree) <= tol);
    free(logits);
    bark_gpt_free(&g);
}

/* The coarse prompt fed as three prefills (300, 200, then the rest after cached positions: the path that expands
 * an f16 cache to f32) gives the reference's logits of the whole prompt. */
static void test_prefill_after_cache(void **state) {
    fixture *f = *state;
    const bark_gpt_weights *w;
    bark_error err;
    assert_int_equal(bark_model_gpt(f->m, BARK_STAGE_COARSE, &w, &err), BARK_OK);
    const src_tensor *pr = gold(f, "coarse_prompt", SRC_I32), *lg = gold(f, "coarse_logits", SRC_F32);
    const int32_t *ids = (const int32_t *)pr->data;
    int n = (int)pr->shape[0], n_ref = (int)lg->shape[1], agree;
    assert_true(n > 500 + 8);
    bark_gpt g;
    assert_int_equal(bark_gpt_init(&g, w, 1, NULL, &err), BARK_OK);
    float *logits = malloc((size_t)w->hp.output_vocab * sizeof *logits);
    assert_non_null(logits);
    assert_int_equal(bark_gpt_forward(&g, ids, NULL, 300, logits, &err), BARK_OK);
    assert_int_equal(bark_gpt_forward(&g, ids + 300, NULL, 200, logits, &err), BARK_OK);
    assert_int_equal(bark_gpt_forward(&g, ids + 500, NULL, n - 500, logits, &err), BARK_OK);
    double e = rel_err(logits + 10000, (const float *)lg->data, n_ref, &agree);
    check("coarse in 3 prefills", 0, e, agree, tolerance(f->m), f->m);
    /* and, tighter, the same model's one-shot prefill: only the cache's f16 rounding may differ (q8_0 / q4_0 only
     * printed: a rounding there can move an activation to the next int8 step, ~1e-2 of the logits; its cache
     * path is the f16 model's) */
    float *one = malloc((size_t)w->hp.output_vocab * sizeof *one);
    assert_non_null(one);
    bark_gpt_reset(&g);
    assert_int_equal(bark_gpt_forward(&g, ids, NULL, n, one, &err), BARK_OK);
    e = rel_err(logits, one, w->hp.output_vocab, &agree);
    print_message("%s coarse in 3 prefills vs one: max difference %.3g of max |logit|\n",
                  bark_type_name(w->layer[0].up_w.type), e);
    uint32_t type = w->layer[0].up_w.type;
    if (type == BARK_TYPE_F32 || type == BARK_TYPE_F16) assert_true(e <= (type == BARK_TYPE_F32 ? 1e-5 : 5e-4));
    free(one);
    free(logits);
    bark_gpt_free(&g);
}

/* Fine: a 1024-frame window with pad ids, codebooks 2..7, a few positions of each. */
static void test_fine(void **state) {
    fixture *f = *state;
    const bark_gpt_weights *w;
    bark_error err;
    assert_int_equal(bark_model_gpt(f->m, BARK_STAGE_FINE, &w, &err), BARK_OK);
    const src_tensor *codes = gold(f, "fine_codes", SRC_I32), *pos = gold(f, "fine_pos", SRC_I32);
    const src_tensor *lg = gold(f, "fine_logits", SRC_F32);
    assert_int_equal(codes->shape[0], 1024);
    assert_int_equal(codes->shape[1], 8);
    bark_gpt g;
    assert_int_equal(bark_gpt_init(&g, w, 0, NULL, &err), BARK_OK);
    int V = w->hp.output_vocab, np_ = (int)pos->shape[0], agree;
    float *logits = malloc((size_t)1024 * V * sizeof *logits);
    double tol = tolerance(f->m);
    for (int p = 2; p < 8; p++) {
        assert_int_equal(bark_gpt_forward_fine(&g, (const int32_t *)codes->data, 1024, p, 0, logits, &err), BARK_OK);
        double worst = 0.0;
        int all_agree = 1;
        for (int k = 0; k < np_; k++) {
            int t = ((const int32_t *)pos->data)[k];
            const float *ref = (const float *)lg->data + ((size_t)(p - 2) * np_ + k) * 1024;
            worst = fmax(worst, rel_err(logits + (size_t)t * V, ref, 1024, &agree));
            all_agree &= agree;
        }
        check("fine codebook", p, worst, all_agree, tol, f->m);
    }
    /* t0 > 0 writes the same rows, shifted to the start of the buffer */
    float *tail = malloc((size_t)1024 * V * sizeof *tail);
    assert_int_equal(bark_gpt_forward_fine(&g, (const int32_t *)codes->data, 1024, 7, 1000, tail, &err), BARK_OK);
    assert_int_equal(bark_gpt_forward_fine(&g, (const int32_t *)codes->data, 1024, 7, 0, logits, &err), BARK_OK);
    assert_memory_equal(tail, logits + (size_t)1000 * V, (size_t)24 * V * sizeof(float));
    /* and so does a single position (one row must not take another kernel's rounding) */
    assert_int_equal(bark_gpt_forward_fine(&g, (const int32_t *)codes->data, 1024, 7, 1023, tail, &err), BARK_OK);
    assert_memory_equal(tail, logits + (size_t)1023 * V, (size_t)V * sizeof(float));
    free(tail);
    free(logits);
    bark_gpt_free(&g);
}

/* One int8-mode run of the coarse prompt (a prefill) or of the fine window (codebook 7), with every head taking
 * c_attn's two-part input (every_head) or none, on the kernel table isa (NULL: the best) and n_threads; the logits
 * of the last position or of the whole window into out. Returns the heads that took it. */
static size_t int8_run(fixture *f, int fine, int every_head, const char *isa, int n_threads, float *out) {
    const bark_gpt_weights *w;
    bark_error err;
    bark_exec ex;
    bark_gpt g;
    assert_int_equal(bark_model_gpt(f->m, fine ? BARK_STAGE_FINE : BARK_STAGE_COARSE, &w, &err), BARK_OK);
    assert_int_equal(bark_exec_init(&ex, n_threads, isa, BARK_GEMM_INT8, &err), BARK_OK);
    assert_int_equal(bark_gpt_init(&g, w, !fine, &ex, &err), BARK_OK);
    g.aq.two_part_above = every_head ? 0.0f : INFINITY;
    const src_tensor *in = gold(f, fine ? "fine_codes" : "coarse_prompt", SRC_I32);
    if (fine) assert_int_equal(bark_gpt_forward_fine(&g, (const int32_t *)in->data, 1024, 7, 0, out, &err), BARK_OK);
    else assert_int_equal(bark_gpt_forward(&g, (const int32_t *)in->data, NULL, (int)in->shape[0], out, &err), BARK_OK);
    size_t heads = g.aq.heads[1];
    assert_true(every_head ? heads == g.aq.heads[0] && heads > 0 : heads == 0);
    bark_gpt_free(&g);
    bark_exec_free(&ex);
    return heads;
}

/* c_attn's two-part input (int8 prefills whose attention is peaked; random weights never are, so every head is made
 * to take it): the same bits with the C kernels and the best table, on 1 and 2 threads, in a causal prefill and the
 * fine stage; it changes the logits, and they stay as close to the reference as with one part. */
static void test_two_part_every_head(void **state) {
    fixture *f = *state;
    const bark_gpt_weights *w;
    bark_error err;
    assert_int_equal(bark_model_gpt(f->m, BARK_STAGE_FINE, &w, &err), BARK_OK);
    size_t n = (size_t)1024 * (size_t)w->hp.output_vocab;
    float *first = malloc(n * sizeof *first), *out = malloc(n * sizeof *out);
    assert_non_null(first), assert_non_null(out);
    const char *isa[2] = {"c", NULL};
    for (int fine = 0; fine < 2; fine++) {
        assert_true(int8_run(f, fine, 1, isa[0], 1, first) > 0);
        for (int run = 1; run < 4; run++) {
            int8_run(f, fine, 1, isa[run / 2], 1 + run % 2, out);
            assert_memory_equal(out, first, (fine ? n : (size_t)w->hp.output_vocab) * sizeof *out);
        }
        int8_run(f, fine, 0, NULL, 2, out);
        assert_memory_not_equal(out, first, (fine ? n : (size_t)w->hp.output_vocab) * sizeof *out);
    }
    /* against the reference: the coarse prompt's logits */
    const src_tensor *lg = gold(f, "coarse_logits", SRC_F32);
    int agree;
    int8_run(f, 0, 1, NULL, 2, first);
    int8_run(f, 0, 0, NULL, 2, out);
    double two = rel_err(first + 10000, (const float *)lg->data, (int)lg->shape[1], &agree);
    double one = rel_err(out + 10000, (const float *)lg->data, (int)lg->shape[1], &agree);
    print_message("%s coarse prompt, int8 mode: max error %.3g of max |logit| with c_attn's input in two parts for "
                  "every head, %.3g in one\n", bark_type_name(w->layer[0].up_w.type), two, one);
    assert_true(two <= tolerance(f->m));
    free(first), free(out);
}

/* Bad ids, a full context and wrong heads fail with a message instead of reading out of bounds. */
static void test_bad_input(void **state) {
    fixture *f = *state;
    const bark_gpt_weights *w, *wf;
    bark_error err;
    assert_int_equal(bark_model_gpt(f->m, BARK_STAGE_COARSE, &w, &err), BARK_OK);
    assert_int_equal(bark_model_gpt(f->m, BARK_STAGE_FINE, &wf, &err), BARK_OK);
    bark_gpt g, gf;
    assert_int_equal(bark_gpt_init(&g, w, 1, NULL, &err), BARK_OK);
    assert_int_equal(bark_gpt_init(&gf, wf, 0, NULL, &err), BARK_OK);
    float *logits = malloc((size_t)1024 * 1056 * sizeof *logits);
    int32_t bad[2] = {5, 12096}, neg = -1, two[2] = {1, 2}, ok = 3;
    assert_int_equal(bark_gpt_forward(&g, bad, NULL, 2, logits, &err), BARK_ERR_ARG);
    assert_non_null(strstr(err.msg, "12096"));
    assert_int_equal(bark_gpt_forward(&g, &neg, NULL, 1, logits, &err), BARK_ERR_ARG);
    assert_int_equal(bark_gpt_forward(&g, two, bad, 2, logits, &err), BARK_ERR_ARG);
    assert_int_equal(g.kv->n_past, 0); /* failed calls leave the cache alone */
    assert_int_equal(bark_gpt_forward(&g, two, NULL, 0, logits, &err), BARK_ERR_ARG);
    for (int i = 0; i < 1024; i++) assert_int_equal(bark_gpt_forward(&g, &ok, NULL, 1, logits, &err), BARK_OK);
    assert_int_equal(bark_gpt_forward(&g, &ok, NULL, 1, logits, &err), BARK_ERR_ARG); /* context full */
    assert_non_null(strstr(err.msg, "context"));
    int32_t *codes = calloc(1024 * 8, sizeof *codes);
    assert_int_equal(bark_gpt_forward_fine(&gf, codes, 1024, 1, 0, logits, &err), BARK_OK);
    assert_int_equal(bark_gpt_forward_fine(&gf, codes, 1024, 0, 0, logits, &err), BARK_ERR_ARG);
    assert_int_equal(bark_gpt_forward_fine(&gf, codes, 1024, 8, 0, logits, &err), BARK_ERR_ARG);
    assert_int_equal(bark_gpt_forward_fine(&gf, codes, 1025, 2, 0, logits, &err), BARK_ERR_ARG);
    assert_int_equal(bark_gpt_forward_fine(&gf, codes, 1024, 2, 1024, logits, &err), BARK_ERR_ARG);
    codes[5 * 8 + 2] = 1056;
    assert_int_equal(bark_gpt_forward_fine(&gf, codes, 1024, 2, 0, logits, &err), BARK_ERR_ARG);
    codes[5 * 8 + 2] = 1024; /* the pad id is a real row */
    codes[6 * 8 + 3] = -7;   /* codebooks above pred are ignored */
    assert_int_equal(bark_gpt_forward_fine(&gf, codes, 1024, 2, 0, logits, &err), BARK_OK);
    assert_int_equal(bark_gpt_forward(&gf, &ok, NULL, 1, logits, &err), BARK_ERR_ARG);
    assert_int_equal(bark_gpt_forward_fine(&g, codes, 1024, 2, 0, logits, &err), BARK_ERR_ARG);
    free(codes);
    free(logits);
    bark_gpt_free(&g);
    bark_gpt_free(&gf);
    bark_gpt_free(NULL);
}

int main(void) {
    const struct CMUnitTest f32[] = {
        cmocka_unit_test(test_semantic), cmocka_unit_test(test_coarse), cmocka_unit_test(test_prefill_after_cache),
        cmocka_unit_test(test_fine), cmocka_unit_test(test_bad_input),
    };
    const struct CMUnitTest quant[] = {
        cmocka_unit_test(test_semantic), cmocka_unit_test(test_coarse), cmocka_unit_test(test_prefill_after_cache),
        cmocka_unit_test(test_fine),
    };
    const struct CMUnitTest int8[] = { /* weights the int8 kernels take */
        cmocka_unit_test(test_semantic), cmocka_unit_test(test_coarse), cmocka_unit_test(test_prefill_after_cache),
        cmocka_unit_test(test_fine), cmocka_unit_test(test_two_part_every_head),
    };
    int fails = cmocka_run_group_tests_name("gpt_f32", f32, setup_f32, teardown);
    fails += cmocka_run_group_tests_name("gpt_f16", quant, setup_f16, teardown);
    fails += cmocka_run_group_tests_name("gpt_q8_0", int8, setup_q8, teardown);
    fails += cmocka_run_group_tests_name("gpt_q4_0", int8, setup_q4, teardown);
    fails += cmocka_run_group_tests_name("gpt_q8_0_attn_f16", quant, setup_q8_attn_f16, teardown);
    return fails;
}
