/* test_determinism.c: the same samples for every thread count, kernel table and batch of threads, through bark.h.
 * tests/run.sh runs it twice: with OPENBLAS_CORETYPE=Haswell OPENBLAS_L2_SIZE=512 and without (see the Makefile). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bark.h"
#include "core/bark_constants.h"
#include "core/exec.h"
#include "generate/generate.h"
#include "gpt/gpt.h"
#include "model/model.h"
#include "util/testutil.h"

#define TEXT "Hello there, friend. The tiny bark speaks twice."

typedef struct fixture {
    char *dir;
    bark_context *ctx;     /* the tiny model in q8_0 */
    const bark_model *model; /* its model file */
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    char model[512], out[4096];
    f->dir = tu_tmpdir();
    snprintf(model, sizeof model, "%s/tiny_q8.gguf", f->dir);
    bark_error err;
    if (tu_convert_tiny(model, "q8_0", out, sizeof out) || bark_context_open(model, &f->ctx, &err)) {
        fprintf(stderr, "tiny model: %s\n", out);
        return -1;
    }
    f->model = bark_context_model(f->ctx);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    bark_context_free(f->ctx);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Three pieces of at most ~0.8 s each, sampled, voice v2/en_speaker_0, seed 11. */
static bark_synth_params params(tu_pcm *out) {
    bark_synth_params p = bark_synth_default_params();
    p.voice = "v2/en_speaker_0";
    p.seed = 11;
    p.max_seconds = 0.8;
    p.max_piece = 24;
    p.on_audio = tu_collect;
    p.audio_user = out;
    return p;
}

static void say(const bark_context *ctx, const bark_synth_params *p, bark_synth_result *res) {
    bark_error err;
    bark_status st = bark_synthesize(ctx, TEXT, p, res, &err);
    if (st) fprintf(stderr, "synthesize: %s\n", err.msg);
    assert_int_equal(st, BARK_OK);
}

/* Every GEMM mode: thread counts 1..3 x every kernel table this CPU has give the first run's samples. int8 runs also
 * agree across tables and with sgemm's decode steps by the kernels' rule; sgemm runs are held to one machine. */
static void test_same_samples_every_path(void **state) {
    fixture *f = *state;
    const char *isas[] = {"c", "avx2", "avx512", "neon"};
    const bark_gemm modes[] = {BARK_GEMM_INT8, BARK_GEMM_SGEMM};
    int cpus = bark_cpu_count();
    for (size_t mi = 0; mi < 2; mi++) {
        tu_pcm ref = {0};
        int runs = 0;
        for (int th = 1; th <= 3; th++)
            for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
                tu_pcm out = {0};
                bark_synth_params p = params(runs ? &out : &ref);
                p.n_threads = th;
                p.isa = isas[i];
                p.gemm = modes[mi];
                bark_synth_result res;
                bark_error err;
                bark_status st = bark_synthesize(f->ctx, TEXT, &p, &res, &err);
                if (st == BARK_ERR_UNSUPPORTED) continue; /* a table this CPU lacks */
                assert_int_equal(st, BARK_OK);
                assert_int_equal(res.n_threads, th < cpus ? th : cpus);
                assert_true(res.n_pieces >= 2);
                if (runs) {
                    assert_int_equal(out.n, ref.n);
                    assert_memory_equal(out.x, ref.x, ref.n * sizeof *ref.x);
                }
                free(out.x);
                runs++;
            }
        print_message("%s GEMM: %d runs (threads 1..3 x every kernel table) gave the same %zu samples\n",
                      mi ? "sgemm" : "int8", runs, ref.n);
        assert_true(runs >= 3);
        assert_true(ref.n > 24000);
        free(ref.x);
    }
}

/* The check above can fail: another seed gives other samples. */
static void test_seed_changes_samples(void **state) {
    fixture *f = *state;
    tu_pcm a = {0}, b = {0};
    bark_synth_params p = params(&a);
    say(f->ctx, &p, NULL);
    p = params(&b);
    p.seed = 12;
    say(f->ctx, &p, NULL);
    assert_true(a.n != b.n || memcmp(a.x, b.x, a.n * sizeof *a.x) != 0);
    free(a.x);
    free(b.x);
}

/* ---- the stages themselves on a fixed workload: codes and raw logits ---- */

typedef struct codes {
    int32_t sem[64], coarse[2 * 96], fine[8 * 96];
    float logits[10048];
    size_t n_sem, n_frames;
} codes;

/* Sampled semantic (40 tokens, early stop off) -> coarse (2 windows) -> fine, seed 7, on the q8_0 model. */
static void generate(const bark_model *m, const bark_exec *ex, codes *c) {
    bark_error err;
    bark_rng rng;
    bark_rng_seed(&rng, 7);
    int32_t text[256];
    for (int i = 0; i < 256; i++) text[i] = i < 12 ? BARK_TEXT_ENCODING_OFFSET + 100 + 37 * i : BARK_TEXT_PAD_TOKEN;
    bark_semantic_params sp = bark_semantic_default_params();
    sp.exec = ex;
    sp.allow_early_stop = 0;
    sp.max_gen_duration_s = 39.5 / BARK_SEMANTIC_RATE_HZ;
    assert_int_equal(bark_generate_semantic(m, text, NULL, &sp, &rng, c->sem, &c->n_sem, &err), BARK_OK);
    assert_int_equal(c->n_sem, 40);
    c->n_frames = bark_coarse_frames(c->n_sem);
    bark_coarse_params cp = bark_coarse_default_params();
    cp.exec = ex;
    assert_int_equal(bark_generate_coarse(m, c->sem, c->n_sem, NULL, &cp, &rng, c->coarse, &err), BARK_OK);
    bark_fine_params fp = bark_fine_default_params();
    fp.exec = ex;
    assert_int_equal(bark_generate_fine(m, c->coarse, 2, c->n_frames, NULL, &fp, &rng, c->fine, &err), BARK_OK);
    /* and the raw logits of one prefill + one step */
    const bark_gpt_weights *w;
    bark_gpt g;
    assert_int_equal(bark_model_gpt(m, BARK_STAGE_SEMANTIC, &w, &err), BARK_OK);
    assert_int_equal(bark_gpt_init(&g, w, 1, ex, &err), BARK_OK);
    assert_int_equal(bark_gpt_forward(&g, text, NULL, 256, c->logits, &err), BARK_OK);
    assert_int_equal(bark_gpt_forward(&g, c->sem, NULL, 1, c->logits, &err), BARK_OK);
    bark_gpt_free(&g);
}

/* One result for every kernel table and thread count, in each GEMM mode: the int8 rule makes it so for int8; sgemm
 * runs OpenBLAS single-threaded on fixed column tiles, so no call's shape depends on the thread count. */
static void test_stages_every_path(void **state) {
    fixture *f = *state;
    const char *isas[] = {"c", "avx2", "avx512", "neon"};
    codes *ref = calloc(1, sizeof *ref), *c = calloc(1, sizeof *c);
    assert_non_null(ref);
    assert_non_null(c);
    const bark_gemm modes[] = {BARK_GEMM_INT8, BARK_GEMM_SGEMM};
    for (size_t mi = 0; mi < 2; mi++) {
        int runs = 0;
        for (int th = 1; th <= 3; th++)
            for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
                bark_exec ex;
                bark_error err;
                if (bark_exec_init(&ex, th, isas[i], modes[mi], &err)) continue; /* a table this CPU lacks */
                codes *out = runs ? c : ref;
                memset(out, 0, sizeof *out);
                generate(f->model, &ex, out);
                bark_exec_free(&ex);
                if (runs) {
                    assert_memory_equal(ref->sem, c->sem, sizeof c->sem);
                    assert_memory_equal(ref->coarse, c->coarse, sizeof c->coarse);
                    assert_memory_equal(ref->fine, c->fine, sizeof c->fine);
                    assert_memory_equal(ref->logits, c->logits, sizeof c->logits);
                }
                runs++;
            }
        print_message("%s GEMM, threads 1..3: %d runs (every kernel table) gave the same %zu semantic tokens, %zu "
                      "coarse and fine frames and bit-identical logits\n", mi ? "sgemm" : "int8", runs, ref->n_sem,
                      ref->n_frames);
        assert_true(runs >= 3);
    }
    free(ref);
    free(c);
}

/* ---- two syntheses at once in one process, sharing one context ---- */

typedef struct job {
    const bark_context *ctx;
    const char *text;
    uint64_t seed;
    tu_pcm out;
    bark_status st;
} job;

static void *run_job(void *arg) {
    job *j = arg;
    bark_synth_params p = params(&j->out);
    p.seed = j->seed;
    p.n_threads = 2;
    bark_error err;
    j->st = bark_synthesize(j->ctx, j->text, &p, NULL, &err);
    return NULL;
}

/* Each of two syntheses running side by side on two threads gives exactly what it gives alone. */
static void test_two_at_once(void **state) {
    fixture *f = *state;
    job alone[2] = {{f->ctx, TEXT, 5, {0}, 0}, {f->ctx, "Another voice, another text.", 6, {0}, 0}};
    job both[2] = {alone[0], alone[1]};
    for (int i = 0; i < 2; i++) run_job(&alone[i]);
    pthread_t th[2];
    for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&th[i], NULL, run_job, &both[i]), 0);
    for (int i = 0; i < 2; i++) assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(alone[i].st, BARK_OK);
        assert_int_equal(both[i].st, BARK_OK);
        assert_int_equal(both[i].out.n, alone[i].out.n);
        assert_memory_equal(both[i].out.x, alone[i].out.x, alone[i].out.n * sizeof(float));
        free(alone[i].out.x);
        free(both[i].out.x);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_samples_every_path),
        cmocka_unit_test(test_seed_changes_samples),
        cmocka_unit_test(test_stages_every_path),
        cmocka_unit_test(test_two_at_once),
    };
    return cmocka_run_group_tests_name("determinism", tests, setup, teardown);
}
