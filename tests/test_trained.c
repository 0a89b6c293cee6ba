/* test_trained.c: the semantic GPT forward pass on trained weights (tests/data/trained) against PyTorch's logits. */
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
#include "gpt/attention.h"
#include "gpt/gpt.h"
#include "model/model.h"
#include "model/quant.h"

/* tools/train_test_gpt.py trained a 4-layer width-128 semantic GPT on the voice presets' semantic prompts (text.pt)
 * and scaled its queries by 20 (text_sharp.pt: 70% of last-layer attention rows put > 0.9 on one key). The other
 * stages come from the tiny random model: only the semantic one is run here. Each variant is converted to f32, f16
 * and q8_0; q8_0 runs in both GEMM modes (sgemm: f32 attention; int8: the int8 attention of prefills), int8 with
 * none, one or both of its precision steps: the f32 refinement of the top scores of rows with a large estimated error
 * (src/gpt/attention.c) and c_attn's input in two int8 parts for the heads where that estimate is large
 * (src/gpt/gpt.c); then to q8_0_attn_f16 (c_attn f16), in both modes. The reference of the many-position measures is
 * this file's own f32 run, itself held to PyTorch's logits at the golden positions. */
#define DIR "tests/data/trained/"
#define N_SEM 10000 /* logits compared: the semantic ids */
#define STEP 1      /* every STEP-th position of the held-out sequences, from 16 on */

typedef struct measure {
    double kl_mean, kl_max, rel_max, top1; /* against the reference rows */
    double miss_gap; /* the widest gap between the reference's top two logits at a row whose top-1 differs */
    int over;        /* rows whose KL is above 1e-2 (the bound on the max) */
    int greedy_same, greedy_runs, greedy_first; /* runs identical for all steps; earliest divergence step */
    size_t att[4]; /* int8 attention: score rows, scores, rows refined, scores recomputed (bark_attention_refined) */
    size_t heads[2]; /* int8 prefills: heads estimated, heads that took c_attn's two-part input (g->aq.heads) */
} measure;

static src_set gold;

static const src_tensor *golden(const char *name, src_dtype dt) {
    const src_tensor *t = src_set_find(&gold, name);
    if (!t) {
        char file[128];
        bark_error err;
        snprintf(file, sizeof file, DIR "%s.npy", name);
        if (src_read_npy(&gold, file, name, &err)) fail_msg("%s", err.msg);
        t = src_set_find(&gold, name);
    }
    assert_non_null(t);
    assert_int_equal(t->dtype, dt);
    return t;
}

/* The model of one variant ("trained": DIR text.pt, "sharp": text_sharp.pt) in weight type wtype, converted to path
 * (64 bytes). */
static bark_model *open_variant(const char *variant, bark_wtype wtype, char *path) {
    char pt[64];
    snprintf(pt, sizeof pt, DIR "%s.pt", strcmp(variant, "sharp") ? "text" : "text_sharp");
    snprintf(path, 64, "/tmp/bark_test_trained_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    bark_convert_params p = bark_convert_default_params();
    p.wtype = wtype;
    p.vocab_path = "models/bert-base-multilingual-cased/vocab.txt";
    const char *src[4] = {pt, "tests/data/tiny/suno/coarse.pt", "tests/data/tiny/suno/fine.pt",
                          "tests/data/tiny/encodec/encodec_24khz-tiny.th"};
    bark_error err;
    bark_model *m = NULL;
    if (bark_convert(src, 4, path, &p, &err) || bark_model_open(path, &m, &err)) fail_msg("%s: %s", pt, err.msg);
    return m;
}

/* Logits (the first N_SEM) of position pos of held-out sequence s, by a fresh prefill of pos + 1 tokens. */
static void logits_at(bark_gpt *g, int s, int pos, float *logits, float *out) {
    const src_tensor *ids = golden("held_ids", SRC_I32);
    bark_error err;
    bark_gpt_reset(g);
    const int32_t *x = (const int32_t *)ids->data + (size_t)s * ids->shape[1];
    assert_int_equal(bark_gpt_forward(g, x, NULL, pos + 1, logits, &err), BARK_OK);
    memcpy(out, logits, N_SEM * sizeof *out);
}

/* KL(ref || a) of the softmaxes, max |a - ref| / max |ref|, whether the argmaxes agree, and the gap between ref's
 * top two logits. */
static double compare(const float *a, const float *ref, int n, double *rel, int *agree, double *gap) {
    double ma = -INFINITY, mr = -INFINITY, za = 0.0, zr = 0.0, d = 0.0, mx = 0.0, kl = 0.0;
    int ia = 0, ir = 0;
    for (int i = 0; i < n; i++) {
        ma = fmax(ma, a[i]), mr = fmax(mr, ref[i]);
        if (a[i] > a[ia]) ia = i;
        if (ref[i] > ref[ir]) ir = i;
        d = fmax(d, fabs((double)a[i] - ref[i])), mx = fmax(mx, fabs((double)ref[i]));
    }
    for (int i = 0; i < n; i++) za += exp(a[i] - ma), zr += exp(ref[i] - mr);
    for (int i = 0; i < n; i++) {
        double lr = ref[i] - mr - log(zr), la = a[i] - ma - log(za);
        kl += exp(lr) * (lr - la);
    }
    double second = -INFINITY;
    for (int i = 0; i < n; i++)
        if (i != ir) second = fmax(second, ref[i]);
    *rel = d / mx;
    *agree = ia == ir;
    *gap = ref[ir] - second;
    return fmax(kl, 0.0);
}

static int argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

/* Greedy runs from the golden prompts: how many equal PyTorch's 100 steps, and the earliest divergence. */
static void greedy(bark_gpt *g, float *logits, measure *m, const char *variant) {
    const src_tensor *pr = golden("greedy_prompts", SRC_I32);
    char name[32];
    snprintf(name, sizeof name, "greedy_%s", variant);
    const src_tensor *ref = golden(name, SRC_I32);
    int G = (int)pr->shape[0], P = (int)pr->shape[1], S = (int)ref->shape[1];
    bark_error err;
    m->greedy_same = 0, m->greedy_runs = G, m->greedy_first = S;
    for (int r = 0; r < G; r++) {
        bark_gpt_reset(g);
        assert_int_equal(bark_gpt_forward(g, (const int32_t *)pr->data + (size_t)r * P, NULL, P, logits, &err),
                         BARK_OK);
        int s = 0;
        for (; s < S; s++) {
            int32_t tok = argmax(logits, N_SEM);
            if (tok != ((const int32_t *)ref->data)[(size_t)r * S + s]) break;
            assert_int_equal(bark_gpt_forward(g, &tok, NULL, 1, logits, &err), BARK_OK);
        }
        m->greedy_same += s == S;
        if (s < m->greedy_first) m->greedy_first = s;
    }
}

/* Folds one row's comparison into m (rows counts the rows so far). */
static void add_row(measure *m, const float *a, const float *ref, int *rows) {
    double rel, gap;
    int agree;
    double kl = compare(a, ref, N_SEM, &rel, &agree, &gap);
    m->kl_mean += kl, m->kl_max = fmax(m->kl_max, kl), m->rel_max = fmax(m->rel_max, rel), m->top1 += agree;
    if (!agree) m->miss_gap = fmax(m->miss_gap, gap);
    m->over += kl > 1e-2;
    ++*rows;
}

static void finish(measure *m, int rows) { m->kl_mean /= rows, m->top1 /= rows; }

/* What int8 mode keeps of its precision steps: the f32 refinement of attention rows, and c_attn's two-part input in
 * prefills for the heads that need it (src/gpt/gpt.c: two_part_heads). Decode steps take it in every mode. */
enum { REFINE = 1, TWO_PART = 2 };

/* Runs one variant's model in one GEMM mode (opts: REFINE | TWO_PART, both the default). py gets the measures against
 * PyTorch's golden rows; many those at every STEP-th position against the f32 run's rows in ref (fill != 0: this is
 * the f32 run, which writes them); the greedy runs and the attention counts go into py. */
static void run(const char *variant, bark_model *model, bark_gemm gemm, int opts, float *ref, int fill,
                measure *py, measure *many, measure *step) {
    char name[32];
    const bark_gpt_weights *w;
    bark_error err;
    bark_exec ex;
    assert_int_equal(bark_model_gpt(model, BARK_STAGE_SEMANTIC, &w, &err), BARK_OK);
    assert_int_equal(bark_exec_init(&ex, 0, NULL, gemm, &err), BARK_OK);
    bark_gpt g;
    assert_int_equal(bark_gpt_init(&g, w, 1, &ex, &err), BARK_OK);
    if (!(opts & REFINE)) g.aq.refine_above = INFINITY;
    if (!(opts & TWO_PART)) g.aq.two_part_above = INFINITY;
    float *logits = malloc((size_t)w->hp.output_vocab * sizeof *logits), *row = malloc(N_SEM * sizeof *row),
          *want = malloc(N_SEM * sizeof *want);
    assert_non_null(logits), assert_non_null(row), assert_non_null(want);
    const src_tensor *ids = golden("held_ids", SRC_I32), *pos = golden("held_pos", SRC_I32);
    snprintf(name, sizeof name, "logits_%s", variant);
    const src_tensor *lg = golden(name, SRC_F16);
    int S = (int)ids->shape[0], T = (int)ids->shape[1], NP = (int)pos->shape[0], rows = 0;
    assert_int_equal(lg->shape[0], S), assert_int_equal(lg->shape[1], NP), assert_int_equal(lg->shape[2], N_SEM);
    memset(py, 0, sizeof *py), memset(many, 0, sizeof *many), memset(step, 0, sizeof *step);
    for (int s = 0; s < S; s++)
        for (int k = 0; k < NP; k++) {
            const uint16_t *h = (const uint16_t *)lg->data + ((size_t)s * NP + k) * N_SEM;
            for (int i = 0; i < N_SEM; i++) want[i] = bark_f16_to_f32(h[i]);
            logits_at(&g, s, ((const int32_t *)pos->data)[k], logits, row);
            add_row(py, row, want, &rows);
        }
    finish(py, rows);
    rows = 0;
    for (int s = 0; s < S; s++)
        for (int t = 16; t < T; t += STEP, rows++) {
            float *r = ref + (size_t)rows * N_SEM;
            if (fill) {
                logits_at(&g, s, t, logits, r);
            } else {
                logits_at(&g, s, t, logits, row);
                int n = 0;
                add_row(many, row, r, &n);
            }
        }
    finish(many, rows);
    if (!fill) {
        /* the same rows by decode steps, one token at a time after a 16-token prefill, as generation makes them */
        rows = 0;
        for (int s = 0; s < S; s++) {
            const int32_t *x = (const int32_t *)ids->data + (size_t)s * T;
            bark_gpt_reset(&g);
            assert_int_equal(bark_gpt_forward(&g, x, NULL, 16, logits, &err), BARK_OK);
            for (int t = 16; t < T; t++) {
                assert_int_equal(bark_gpt_forward(&g, x + t, NULL, 1, logits, &err), BARK_OK);
                if ((t - 16) % STEP == 0) add_row(step, logits, ref + (size_t)rows * N_SEM, &rows);
            }
        }
        finish(step, rows);
    }
    greedy(&g, logits, py, variant);
    bark_attention_refined(&g, py->att);
    py->heads[0] = g.aq.heads[0], py->heads[1] = g.aq.heads[1];
    const char *label = gemm != BARK_GEMM_INT8 ? "f32"
                        : opts == (REFINE | TWO_PART) ? "int8 two-part"
                        : opts == REFINE ? "int8 refined" : "int8 scores";
    const bark_gpt_layer *l0 = &w->layer[0];
    char type[24];
    snprintf(type, sizeof type, "%s%s", bark_type_name(l0->up_w.type),
             l0->qkv_w.type != l0->up_w.type ? "+f16att" : "");
    print_message("%-7s %-11s %-13s | %.2e %.2e %2d %.2e %5.1f%% %.3f | %.2e %.2e %2d %5.1f%% %.3f | %.2e %.2e %.2e "
                  "%5.1f%% | %d/%d %3d | %zu/%zu %zu/%zu | %zu/%zu\n",
                  variant, type, label, many->kl_mean, many->kl_max, many->over,
                  many->rel_max, 100 * many->top1, many->miss_gap, step->kl_mean, step->kl_max, step->over,
                  100 * step->top1, step->miss_gap, py->kl_mean, py->kl_max, py->rel_max, 100 * py->top1,
                  py->greedy_same, py->greedy_runs, py->greedy_first, py->att[2], py->att[0], py->att[3], py->att[1],
                  py->heads[1], py->heads[0]);
    free(want), free(row), free(logits);
    bark_gpt_free(&g);
    bark_exec_free(&ex);
}

/* Rows of the many-position measure: every STEP-th position from 16 of each held-out sequence. */
static int many_rows(void) {
    const src_tensor *ids = golden("held_ids", SRC_I32);
    int per = 0;
    for (int t = 16; t < (int)ids->shape[1]; t += STEP) per++;
    return per * (int)ids->shape[0];
}

/* Runs variant in weight type wtype: run i in GEMM mode gemm[i] with opts[i], measures into py[i], many[i], step[i]. */
static void run_type(const char *variant, bark_wtype wtype, int n, const bark_gemm *gemm, const int *opts,
                     float *ref, int fill, measure *py, measure *many, measure *step) {
    char path[64];
    bark_model *model = open_variant(variant, wtype, path);
    for (int i = 0; i < n; i++) run(variant, model, gemm[i], opts[i], ref, fill, py + i, many + i, step + i);
    bark_model_close(model);
    unlink(path);
}

/* The bounds of issue 19 on the logits: KL at most 1e-3 mean and 1e-2 max, top-1 at least 99%. */
static int within(const measure *m) { return m->kl_mean <= 1e-3 && m->kl_max <= 1e-2 && m->top1 >= 0.99; }

static void check_variant(const char *variant) {
    int n = many_rows(), sharp = !strcmp(variant, "sharp");
    float *ref = malloc((size_t)n * N_SEM * sizeof *ref);
    assert_non_null(ref);
    measure py[4], many[4], step[4], mix_py[2], mix_many[2], mix_step[2];
    const bark_gemm sgemm = BARK_GEMM_SGEMM,
                    q8_gemm[4] = {BARK_GEMM_SGEMM, BARK_GEMM_INT8, BARK_GEMM_INT8, BARK_GEMM_INT8};
    const int all = REFINE | TWO_PART, q8_opts[4] = {all, 0, REFINE, all};
    print_message("model   type        attention     | f32 run rows (%d) by prefills: KL mean, max, rows above 1e-2, "
                  "rel, top-1, widest gap missed | by decode steps: KL mean, max, rows above, top-1, gap | PyTorch "
                  "rows: KL mean, max, rel, top-1 | greedy same, first miss | refined rows, scores | two-part heads\n",
                  n);
    run_type(variant, BARK_WTYPE_F32, 1, &sgemm, &all, ref, 1, py, many, step);
    assert_true(py[0].rel_max <= 2e-3); /* the golden logits are stored as f16 */
    assert_true(py[0].top1 == 1.0);
    assert_int_equal(py[0].greedy_same, py[0].greedy_runs);
    run_type(variant, BARK_WTYPE_F16, 1, &sgemm, &all, ref, 0, py, many, step);
    assert_true(many[0].kl_mean <= 1e-4 && many[0].kl_max <= 1e-3 && many[0].top1 >= 0.99);
    assert_true(step[0].kl_mean <= 1e-5 && step[0].kl_max <= 1e-4); /* decode: the f16 KV cache */
    assert_int_equal(py[0].greedy_same, py[0].greedy_runs);
    /* q8_0: f32 attention (sgemm mode); int8 scores only; int8 refined with c_attn's input in one part; both steps
     * (the default) */
    run_type(variant, BARK_WTYPE_Q8_0, 4, q8_gemm, q8_opts, ref, 0, py, many, step);
    assert_int_equal(py[1].att[2], 0);
    assert_true(py[3].att[0] == py[1].att[0] && py[3].att[0] > 0);
    assert_true(py[1].heads[0] > 0 && py[1].heads[1] == 0 && py[2].heads[1] == 0);
    if (!sharp) {
        for (int i = 0; i < 4; i++) assert_true(within(&many[i]) && within(&py[i]));
        /* decode steps quantize their activations per 32 in every mode; their top-1 misses are near-ties */
        for (int i = 0; i < 4; i++)
            assert_true(step[i].kl_mean <= 1e-3 && step[i].kl_max <= 1e-2 && step[i].top1 >= 0.98 &&
                        step[i].miss_gap <= 0.05);
        assert_true(py[3].greedy_same >= py[3].greedy_runs - 1); /* one run may meet a near-tie */
    } else {
        /* Queries x20 (70% of last-layer rows put > 0.9 on one key). f32 attention (sgemm mode: the default on AVX2
         * and NEON) holds the KL mean bound since the token and position tables are kept f16 (as q8_0 they gave
         * 1.0e-3 over every 4th row). int8 mode (the default with AVX-512 VNNI) adds its activations' quantization;
         * the refinement takes int8 attention's share away (every row is refined here), and c_attn's two-part
         * input, taken by every head here, that of its queries and keys: then it is as close as sgemm mode. In
         * both, one row of the 720 (sequence 2, position 229) is above the max bound: there scores of about 94 in
         * layer 2 have two keys 0.6 apart, and q8_0's rounding of the weights alone swaps them (PyTorch with f32
         * activations and attention: KL 1.7e-2; with the query and key weight rows f16: every row under 2.3e-3).
         * The other top-1 misses are near-ties. */
        for (int i = 0; i < 4; i += 3) {
            assert_true(many[i].kl_mean <= 1e-3 && many[i].kl_max <= 4e-2 && many[i].over <= 1);
            assert_true(many[i].top1 >= 0.98);
        }
        assert_true(py[3].att[2] > 0 && py[3].att[3] > 0);
        assert_true(py[3].heads[1] == py[3].heads[0]);
        assert_true(many[2].kl_mean < many[1].kl_mean && many[2].over < many[1].over);
        assert_true(many[3].kl_mean < many[2].kl_mean / 2 && many[3].over < many[2].over);
        assert_true(many[2].kl_mean <= 1.5e-3 && many[2].kl_max <= 6e-2);
        /* decode steps take c_attn's query and key rows over their input in two int8 parts (src/gpt/gpt.c; with
         * one part: KL 1.1e-3 to 1.2e-3 mean, 0.9e-2 to 2.4e-2 max over every 4th row); in int8 mode without the
         * two-part prefill, the 16 positions before them are prefilled with one part */
        for (int i = 0; i < 4; i++)
            assert_true(step[i].kl_mean <= 1e-3 && step[i].kl_max <= 4e-2 && step[i].over <= 2 &&
                        step[i].top1 >= 0.98);
    }
    /* q8_0 with c_attn f16 (BARK_WTYPE_Q8_0_ATTN_F16) in both GEMM modes, int8 with its int8 attention and both
     * precision steps (no head takes two parts: c_attn's input stays f32): every bound holds on either model, the
     * sharp one included, whose row above 1e-2 in q8_0 came from the rounding of c_attn's weights */
    const int mix_opts[2] = {all, all};
    run_type(variant, BARK_WTYPE_Q8_0_ATTN_F16, 2, q8_gemm, mix_opts, ref, 0, mix_py, mix_many, mix_step);
    for (int i = 0; i < 2; i++) {
        assert_true(within(&mix_many[i]) && within(&mix_py[i]));
        assert_true(mix_step[i].kl_mean <= 1e-3 && mix_step[i].kl_max <= 1e-2 && mix_step[i].miss_gap <= 0.05);
        assert_true(mix_step[i].top1 >= (sharp ? 0.99 : 0.98)); /* trained: 99.0-99.3%, every miss a near-tie */
    }
    assert_true(mix_py[1].att[0] > 0 && mix_py[1].heads[1] == 0);
    free(ref);
}

static void test_trained(void **state) { check_variant("trained"); }
static void test_sharp(void **state) { check_variant("sharp"); }

/* int8 mode's precision steps give the same bits with the C kernels and the best table, on 1 and 2 threads: a
 * 256-token prefill of the sharp q8_0 model, most of whose rows are refined and all of whose heads take c_attn's
 * two-part input. */
static void test_refined_same_everywhere(void **state) {
    char path[64];
    bark_model *model = open_variant("sharp", BARK_WTYPE_Q8_0, path);
    const bark_gpt_weights *w;
    bark_error err;
    assert_int_equal(bark_model_gpt(model, BARK_STAGE_SEMANTIC, &w, &err), BARK_OK);
    const src_tensor *ids = golden("held_ids", SRC_I32);
    int T = (int)ids->shape[1], V = w->hp.output_vocab;
    float *first = malloc((size_t)V * sizeof *first), *logits = malloc((size_t)V * sizeof *logits);
    assert_non_null(first), assert_non_null(logits);
    const char *isa[2] = {"c", NULL};
    for (int run = 0; run < 4; run++) {
        bark_exec ex;
        bark_gpt g;
        assert_int_equal(bark_exec_init(&ex, 1 + run % 2, isa[run / 2], BARK_GEMM_INT8, &err), BARK_OK);
        assert_int_equal(bark_gpt_init(&g, w, 1, &ex, &err), BARK_OK);
        assert_int_equal(bark_gpt_forward(&g, (const int32_t *)ids->data, NULL, T, run ? logits : first, &err),
                         BARK_OK);
        size_t count[4];
        bark_attention_refined(&g, count);
        assert_true(count[2] > count[0] / 2);
        assert_true(g.aq.heads[1] == g.aq.heads[0] && g.aq.heads[0] > 0);
        if (run) assert_memory_equal(logits, first, (size_t)V * sizeof *first);
        bark_gpt_free(&g);
        bark_exec_free(&ex);
    }
    free(logits), free(first);
    bark_model_close(model);
    unlink(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_trained), cmocka_unit_test(test_sharp),
                                       cmocka_unit_test(test_refined_same_everywhere)};
    int fails = cmocka_run_group_tests_name("trained", tests, NULL, NULL);
    src_set_free(&gold);
    return fails;
}
