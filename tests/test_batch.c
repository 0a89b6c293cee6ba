/* test_batch.c: a sequence gives the same logits, codes and samples alone and in any batch, with others joining and
 * leaving, on every kernel table and thread count (the batched engine's rule). */
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
#include "core/exec.h"
#include "gpt/gpt.h"
#include "model/model.h"
#include "util/testutil.h"

#define TARGET "Hello there, friend. The tiny bark speaks in batches, piece by piece."
#define MAXB 8

static const char *isas[] = {"c", "avx2", "avx512", "neon"};

typedef struct fixture {
    char *dir;
    bark_context *q8, *f16, *q4; /* the tiny model in q8_0, f16 and q4_0 */
} fixture;

static bark_context *open_tiny(const char *dir, const char *type) {
    char model[512], out[4096];
    snprintf(model, sizeof model, "%s/tiny_%s.gguf", dir, type);
    bark_context *c = NULL;
    bark_error err;
    if (tu_convert_tiny(model, type, out, sizeof out) || bark_context_open(model, &c, &err)) {
        fprintf(stderr, "tiny model: %s\n", out);
        return NULL;
    }
    return c;
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    f->q8 = open_tiny(f->dir, "q8_0");
    f->f16 = open_tiny(f->dir, "f16");
    f->q4 = open_tiny(f->dir, "q4_0");
    *state = f;
    return f->q8 && f->f16 && f->q4 ? 0 : -1;
}

static int teardown(void **state) {
    fixture *f = *state;
    bark_context_free(f->q8);
    bark_context_free(f->f16);
    bark_context_free(f->q4);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* ---- the batched step against each sequence alone ---- */

/* Sequence b's token at step t (a fixed pseudo-random walk over the input ids). */
static int32_t token(int b, int t, int V) { return (int32_t)(((uint32_t)(b * 7919 + t * 104729 + 13) * 2654435761u) % (uint32_t)V); }

/* 8 sequences with prefills of different lengths, joining the batch at different steps and leaving at others: every
 * logit row of every step equals the one-token forward of that sequence alone. */
static void check_steps(const bark_model *m, bark_stage stage, const char *isa, int threads) {
    const bark_gpt_weights *w;
    bark_error err;
    assert_int_equal(bark_model_gpt(m, stage, &w, &err), BARK_OK);
    bark_exec ex;
    bark_status st = bark_exec_init(&ex, threads, isa, BARK_GEMM_INT8, &err);
    if (st == BARK_ERR_UNSUPPORTED) return;
    assert_int_equal(st, BARK_OK);
    int V = w->hp.input_vocab, NV = w->hp.output_vocab, steps = 12;
    int prefill[MAXB] = {20, 3, 1, 9, 33, 2, 15, 8}, join[MAXB] = {0, 0, 2, 5, 1, 0, 7, 3};
    int leave[MAXB] = {12, 8, 12, 9, 8, 12, 12, 11};
    bark_gpt batch, alone;
    bark_kv kv[MAXB];
    assert_int_equal(bark_gpt_init_scratch(&batch, w, 1, &ex, &err), BARK_OK);
    assert_int_equal(bark_gpt_init(&alone, w, 1, &ex, &err), BARK_OK);
    float *got = malloc((size_t)MAXB * steps * NV * sizeof *got), *want = malloc((size_t)NV * sizeof *want);
    int32_t ids[64];
    for (int b = 0; b < MAXB; b++) {
        assert_int_equal(bark_kv_alloc(&kv[b], bark_kv_bytes(w), &err), BARK_OK);
        assert_int_equal(bark_kv_bind(&kv[b], w, &err), BARK_OK);
        for (int i = 0; i < prefill[b]; i++) ids[i] = token(b, -1 - i, V);
        assert_int_equal(bark_gpt_forward_kv(&batch, &kv[b], ids, NULL, prefill[b], want, &err), BARK_OK);
    }
    int largest = 0;
    for (int t = 0; t < steps; t++) {
        bark_kv *kvs[MAXB];
        int32_t tok[MAXB];
        float *lg[MAXB];
        int B = 0;
        for (int b = 0; b < MAXB; b++)
            if (t >= join[b] && t < leave[b]) {
                kvs[B] = &kv[b], tok[B] = token(b, t, V), lg[B] = got + ((size_t)b * steps + t) * NV;
                B++;
            }
        largest = B > largest ? B : largest;
        assert_int_equal(bark_gpt_step_batch(&batch, kvs, tok, B, lg, &err), BARK_OK);
    }
    assert_int_equal(largest, MAXB);
    for (int b = 0; b < MAXB; b++) {
        bark_gpt_reset(&alone);
        for (int i = 0; i < prefill[b]; i++) ids[i] = token(b, -1 - i, V);
        assert_int_equal(bark_gpt_forward(&alone, ids, NULL, prefill[b], want, &err), BARK_OK);
        for (int t = join[b]; t < leave[b]; t++) {
            int32_t tk = token(b, t, V);
            assert_int_equal(bark_gpt_forward(&alone, &tk, NULL, 1, want, &err), BARK_OK);
            assert_memory_equal(got + ((size_t)b * steps + t) * NV, want, (size_t)NV * sizeof *want);
        }
        bark_kv_free(&kv[b]);
    }
    free(got);
    free(want);
    bark_gpt_free(&batch);
    bark_gpt_free(&alone);
    bark_exec_free(&ex);
}

static void test_step_equals_alone(void **state) {
    fixture *f = *state;
    const bark_context *ctx[3] = {f->q8, f->f16, f->q4};
    int checked = 0;
    for (int c = 0; c < 3; c++)
        for (int th = c == 2 ? 2 : 1; th <= (c == 2 ? 2 : 3); th++) /* q4_0: its GEMVs on 2 threads */
            for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
                if (!bark_kernels_by_name(isas[i])) continue;
                check_steps(bark_context_model(ctx[c]), BARK_STAGE_SEMANTIC, isas[i], th);
                check_steps(bark_context_model(ctx[c]), BARK_STAGE_COARSE, isas[i], th);
                checked++;
            }
    printf("  batched steps equal alone: %d (model, table, threads) paths, semantic and coarse\n", checked);
    assert_true(checked >= 6);
}

/* A bad id or a full cache anywhere in the batch: an error naming it, and no sequence moved. */
static void test_step_refuses_bad_input(void **state) {
    fixture *f = *state;
    const bark_gpt_weights *w;
    bark_error err;
    assert_int_equal(bark_model_gpt(bark_context_model(f->q8), BARK_STAGE_COARSE, &w, &err), BARK_OK);
    bark_gpt g;
    bark_kv kv[2];
    assert_int_equal(bark_gpt_init_scratch(&g, w, 1, NULL, &err), BARK_OK);
    float *lg[2];
    for (int b = 0; b < 2; b++) {
        assert_int_equal(bark_kv_alloc(&kv[b], bark_kv_bytes(w), &err), BARK_OK);
        assert_int_equal(bark_kv_bind(&kv[b], w, &err), BARK_OK);
        lg[b] = malloc((size_t)w->hp.output_vocab * sizeof *lg[b]);
    }
    bark_kv *kvs[2] = {&kv[0], &kv[1]};
    int32_t ids[2] = {3, w->hp.input_vocab};
    assert_int_equal(bark_gpt_step_batch(&g, kvs, ids, 2, lg, &err), BARK_ERR_ARG);
    assert_non_null(strstr(err.msg, "outside"));
    assert_int_equal(kv[0].n_past + kv[1].n_past, 0);
    ids[1] = 4;
    kv[1].n_past = kv[1].n_ctx;
    assert_int_equal(bark_gpt_step_batch(&g, kvs, ids, 2, lg, &err), BARK_ERR_ARG);
    assert_non_null(strstr(err.msg, "context"));
    assert_int_equal(kv[0].n_past, 0);
    assert_int_equal(bark_gpt_step_batch(&g, kvs, ids, 0, lg, &err), BARK_ERR_ARG);
    for (int b = 0; b < 2; b++) bark_kv_free(&kv[b]), free(lg[b]);
    bark_gpt_free(&g);
}

/* ---- whole syntheses through one engine ---- */

typedef struct caller {
    bark_engine *e;
    const char *texts[3]; /* said one after the other (leaving and joining again) */
    uint64_t seed;
    int delay_ms;         /* starts late: joins a running batch */
    tu_pcm out;           /* the first text's samples */
    bark_status st;
} caller;

static bark_synth_params target_params(tu_pcm *out, bark_gemm gemm) {
    bark_synth_params p = bark_synth_default_params();
    p.voice = "v2/en_speaker_0";
    p.seed = 5;
    p.max_seconds = 0.6;
    p.max_piece = 30;
    p.gemm = gemm;
    p.on_audio = tu_collect;
    p.audio_user = out;
    return p;
}

static void *call(void *arg) {
    caller *c = arg;
    usleep((useconds_t)c->delay_ms * 1000);
    for (int i = 0; i < 3 && c->texts[i] && !c->st; i++) {
        tu_pcm other = {0};
        bark_synth_params p = target_params(i ? &other : &c->out, BARK_GEMM_INT8);
        p.seed = c->seed + (uint64_t)i;
        p.voice = c->seed % 2 ? NULL : "v2/de_speaker_1";
        p.max_seconds = 0.2 + 0.1 * (double)(c->seed % 4);
        bark_error err;
        c->st = bark_engine_synthesize(c->e, c->texts[i], &p, NULL, &err);
        if (c->st) fprintf(stderr, "caller %llu: %s\n", (unsigned long long)c->seed, err.msg);
        free(other.x);
    }
    return NULL;
}

/* The target text said through an engine of max_batch sequences while max_batch - 1 other callers come and go. */
static uint64_t most_batched; /* the largest batch any engine ran: a check that batches formed at all */

static void say_in_batch(const bark_context *ctx, int max_batch, int threads, const char *isa, bark_gemm gemm,
                         const tu_pcm *ref) {
    bark_engine_params ep = bark_engine_default_params();
    ep.max_batch = max_batch, ep.n_threads = threads, ep.isa = isa, ep.gemm = gemm;
    bark_engine *e;
    bark_error err;
    bark_status st = bark_engine_open(ctx, &ep, &e, &err);
    if (st == BARK_ERR_UNSUPPORTED) return;
    assert_int_equal(st, BARK_OK);
    static const char *others[] = {"A short one.", "Another voice speaks a little longer, then leaves.", "Hi.",
                                   "Counting: one, two, three, four.", "The last caller says goodbye twice. Goodbye."};
    caller c[MAXB];
    pthread_t th[MAXB];
    memset(c, 0, sizeof c);
    for (int i = 1; i < max_batch; i++) {
        c[i].e = e;
        c[i].seed = (uint64_t)(100 + i);
        c[i].delay_ms = 15 * (i % 4);
        for (int k = 0; k < 1 + i % 3; k++) c[i].texts[k] = others[(i + k) % 5];
        assert_int_equal(pthread_create(&th[i], NULL, call, &c[i]), 0);
    }
    tu_pcm out = {0};
    bark_synth_params p = target_params(&out, gemm);
    st = bark_engine_synthesize(e, TARGET, &p, NULL, &err);
    if (st) fprintf(stderr, "target: %s\n", err.msg);
    for (int i = 1; i < max_batch; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(c[i].st, BARK_OK);
        free(c[i].out.x);
    }
    assert_int_equal(st, BARK_OK);
    bark_engine_stats s;
    bark_engine_get_stats(e, &s);
    printf("  batch %d, %d threads, %s: %llu steps, %.2f sequences a step on average, %llu at most; KV %zu kB\n",
           max_batch, threads, isa, (unsigned long long)s.decode_steps,
           s.decode_steps ? (double)s.decode_rows / (double)s.decode_steps : 0.0, (unsigned long long)s.largest_batch,
           s.kv_bytes >> 10);
    /* whether a given run batches depends on timing (a step waits BARK_SCHED_WAIT_S at most for the others) */
    if (s.largest_batch > most_batched) most_batched = s.largest_batch;
    assert_true(s.largest_batch <= (uint64_t)max_batch);
    assert_int_equal(s.active, 0);
    assert_int_equal(out.n, ref->n);
    assert_memory_equal(out.x, ref->x, ref->n * sizeof *ref->x);
    free(out.x);
    bark_engine_free(e);
}

static void test_same_samples_in_any_batch(void **state) {
    fixture *f = *state;
    const bark_gemm modes[] = {BARK_GEMM_INT8, BARK_GEMM_SGEMM};
    for (int mi = 0; mi < 2; mi++) {
        tu_pcm ref = {0}; /* alone: an engine of one sequence, its pieces one after the other */
        bark_synth_params p = target_params(&ref, modes[mi]);
        bark_engine_params ep = bark_engine_default_params();
        ep.max_batch = 1, ep.n_threads = 1, ep.gemm = modes[mi];
        bark_engine *e;
        bark_synth_result res;
        bark_error err;
        assert_int_equal(bark_engine_open(f->q8, &ep, &e, &err), BARK_OK);
        assert_int_equal(bark_engine_synthesize(e, TARGET, &p, &res, &err), BARK_OK);
        bark_engine_free(e);
        assert_true(res.n_pieces >= 3 && ref.n > 0);
        if (modes[mi] == BARK_GEMM_INT8) {
            /* batches of 2, 3 and 8 on 1, 2 and 3 threads, and every kernel table (the step test covers every
             * table x thread count; this one the engine around it) */
            for (int b = 0; b < 3; b++) say_in_batch(f->q8, b == 2 ? 8 : b + 2, b + 1, "auto", modes[mi], &ref);
            for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++)
                if (bark_kernels_by_name(isas[i]) && bark_kernels_by_name(isas[i]) != bark_kernels_get())
                    say_in_batch(f->q8, 3, 2, isas[i], modes[mi], &ref);
            assert_true(most_batched >= 3); /* the runs above did run batches */
            /* q4_0: the same samples alone and batched on every table */
            tu_pcm ref4 = {0};
            bark_synth_params p4 = target_params(&ref4, modes[mi]);
            assert_int_equal(bark_engine_open(f->q4, &ep, &e, &err), BARK_OK);
            assert_int_equal(bark_engine_synthesize(e, TARGET, &p4, &res, &err), BARK_OK);
            bark_engine_free(e);
            for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++)
                if (bark_kernels_by_name(isas[i])) say_in_batch(f->q4, 3, 2, isas[i], modes[mi], &ref4);
            free(ref4.x);
        } else { /* sgemm: held to one machine and table */
            say_in_batch(f->q8, 3, 2, "auto", modes[mi], &ref);
        }
        free(ref.x);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_step_equals_alone),
        cmocka_unit_test(test_step_refuses_bad_input),
        cmocka_unit_test(test_same_samples_in_any_batch),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
