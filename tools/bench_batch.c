/* bench_batch.c: many sequences at once on a random-weight model: decode step time per batch size, and a long text
 * of 10 pieces said through the batched engine (total time, real-time factor, first audio, peak memory). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/bark_constants.h"
#include "core/exec.h"
#include "generate/generate.h"
#include "generate/scheduler.h"
#include "gpt/gpt.h"
#include "synth/context.h"
#include "synth/stream.h"

#define MAXB 8
#define STEPS 12 /* timed steps per batch size, after 2 warm-up steps */
#define LONG_PIECES 10
#define LONG_TOKENS 640 /* semantic tokens per piece, early stop off */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, const bark_error *err) {
    fprintf(stderr, "bench_batch: %s: %s\n", what, err->msg);
    exit(1);
}

/* Mean ms of one batched decode step of B sequences at position n_past (the caches hold zeros: attention reads
 * n_past keys each, as mid-generation). */
static double step_ms(bark_gpt *g, bark_kv *kv, int B, int n_past, float *logits, int V) {
    bark_kv *kvs[MAXB];
    int32_t ids[MAXB];
    float *lg[MAXB];
    for (int b = 0; b < B; b++) kvs[b] = &kv[b], ids[b] = 100 + 37 * b, lg[b] = logits + (size_t)b * V;
    double t0 = 0;
    for (int s = 0; s < STEPS + 2; s++) {
        if (s == 2) t0 = now_s();
        for (int b = 0; b < B; b++) kv[b].n_past = n_past;
        bark_error err;
        if (bark_gpt_step_batch(g, kvs, ids, B, lg, &err)) die("step", &err);
    }
    return (now_s() - t0) / STEPS * 1e3;
}

static void steps(const bark_model *m, const bark_exec *ex, bark_stage stage, int n_past, FILE *sum) {
    const bark_gpt_weights *w;
    bark_error err;
    bark_gpt g;
    bark_kv kv[MAXB];
    if (bark_model_gpt(m, stage, &w, &err) || bark_gpt_init_scratch(&g, w, 1, ex, &err)) die("stage", &err);
    for (int b = 0; b < MAXB; b++) {
        if (bark_kv_alloc(&kv[b], bark_kv_bytes(w), &err) || bark_kv_bind(&kv[b], w, &err)) die("kv", &err);
        memset(kv[b].k, 0, kv[b].cap);
        memset(kv[b].v, 0, kv[b].cap);
    }
    float *logits = malloc((size_t)MAXB * w->hp.output_vocab * sizeof *logits);
    const char *name = bark_stage_name(stage);
    double wmb = (double)bark_gpt_decode_bytes(w) / 1e6;
    double kvmb = 2.0 * n_past * w->hp.n_embd * w->hp.n_layer * (kv[0].f16 ? 2 : 4) / 1e6;
    printf("%s decode step at position %d: %.1f MB of weights a step, %.1f MB of KV cache per sequence\n", name,
           n_past, wmb, kvmb);
    fprintf(sum, "%s_weight_mb_per_step %.1f\n", name, wmb);
    double t1 = 0;
    for (int B = 1; B <= MAXB; B *= 2) {
        double t = step_ms(&g, kv, B, n_past, logits, w->hp.output_vocab);
        if (B == 1) t1 = t;
        printf("  batch %d: %.2f ms a step (%.2f ms a token, %.2fx batch 1)\n", B, t, t / B, t / t1);
        fprintf(sum, "%s_step_ms_b%d %.3f\n", name, B, t);
    }
    fprintf(sum, "%s_step_b8_over_b1 %.2f\n", name, step_ms(&g, kv, MAXB, n_past, logits, w->hp.output_vocab) / t1);
    free(logits);
    for (int b = 0; b < MAXB; b++) bark_kv_free(&kv[b]);
    bark_gpt_free(&g);
}

/* Ten pieces with a voice, LONG_TOKENS semantic tokens each, through one scheduler of 8 sequences. */
static void long_text(const bark_context *ctx, const bark_exec *ex, int max_batch, FILE *sum) {
    static const char *text =
        "The morning train to the coast leaves from platform four. Passengers are asked to keep their luggage with "
        "them. The buffet car is open until noon. Tickets bought on board cost more. Please mind the gap between the "
        "train and the platform. The next stop is the harbour. Bicycles travel in the last coach. Quiet seats are in "
        "coach two. Thank you for travelling with us today. Have a pleasant journey.";
    text_piece pieces[LONG_PIECES];
    size_t n = 0, off = 0, len = strlen(text);
    for (size_t i = 0; i < len && n < LONG_PIECES; i++)
        if (text[i] == '.') {
            pieces[n++] = (text_piece){off, i + 1 - off};
            off = i + 2;
        }
    bark_error err;
    bark_voice voice;
    bark_sched *sched;
    if (bark_model_voice(ctx->model, "v2/en_speaker_6", &voice, &err)) die("voice", &err);
    if (bark_sched_create(ctx->model, ex, max_batch, &sched, &err)) die("engine", &err);
    bark_synth_params p = bark_synth_default_params();
    p.seed = 1;
    synth_job j = {.ctx = ctx, .text = text, .pieces = pieces, .n_pieces = n, .voice = &voice, .max_batch = max_batch,
                   .p = &p, .first_audio = -1};
    j.gen = bark_gen_default_params();
    j.gen.semantic.allow_early_stop = 0;
    j.gen.semantic.max_gen_duration_s = (LONG_TOKENS - 0.5) / BARK_SEMANTIC_RATE_HZ; /* stops after token 640 */
    j.gen.semantic.exec = j.gen.coarse.exec = j.gen.fine.exec = ex;
    j.gen.semantic.sched = j.gen.coarse.sched = j.gen.fine.sched = sched;
    printf("long text: %zu pieces of %d semantic tokens, voice v2/en_speaker_6, %d sequences at once ...\n", n,
           LONG_TOKENS, max_batch);
    double t0 = now_s();
    if (synth_stream_run(&j, &err)) die("long text", &err);
    double total = now_s() - t0, audio = (double)j.frames / BARK_COARSE_RATE_HZ;
    bark_engine_stats st;
    bark_sched_stats(sched, &st);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("  %.1f s of audio in %.1f s (generation %.1f s): real-time factor %.3f, first audio after %.2f s\n", audio,
           total, j.gen_end, j.gen_end / audio, j.first_audio);
    printf("  %llu batched steps, %.2f sequences a step on average, %llu at most; KV caches %.0f MB, run state %.0f MB, "
           "peak RSS %.0f MB\n",
           (unsigned long long)st.decode_steps, (double)st.decode_rows / (double)st.decode_steps,
           (unsigned long long)st.largest_batch, st.kv_bytes / 1e6, st.scratch_bytes / 1e6, ru.ru_maxrss / 1024.0);
    fprintf(sum, "long_audio_s %.1f\nlong_total_s %.1f\nrtf_long %.3f\nttfa_long_s %.2f\nlong_mean_batch %.2f\n", audio,
            total, j.gen_end / audio, j.first_audio, (double)st.decode_rows / (double)st.decode_steps);
    fprintf(sum, "kv_mb_8seq %.0f\npeak_rss_8seq_mb %.0f\n", st.kv_bytes / 1e6, ru.ru_maxrss / 1024.0);
    bark_sched_free(sched);
    bark_voice_free(&voice);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_batch MODEL.gguf [threads] [summary file] [steps|long|all] [sequences at once: 8]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    bark_error err;
    bark_exec ex;
    bark_context *ctx;
    if (bark_exec_init(&ex, argc > 2 ? atoi(argv[2]) : 2, NULL, BARK_GEMM_AUTO, &err)) die("threads", &err);
    if (bark_context_open(argv[1], &ctx, &err)) die(argv[1], &err);
    FILE *sum = argc > 3 ? fopen(argv[3], "w") : stdout;
    if (!sum) sum = stdout;
    const char *what = argc > 4 ? argv[4] : "all";
    printf("kernels %s, %d threads\n", ex.k->name, bark_pool_threads(ex.pool));
    if (strcmp(what, "long")) {
        steps(ctx->model, &ex, BARK_STAGE_SEMANTIC, 257 + LONG_TOKENS / 2, sum);
        steps(ctx->model, &ex, BARK_STAGE_COARSE, 887 + 30, sum);
    }
    if (strcmp(what, "steps")) long_text(ctx, &ex, argc > 5 ? atoi(argv[5]) : MAXB, sum);
    if (sum != stdout) fclose(sum);
    bark_context_free(ctx);
    bark_exec_free(&ex);
    return 0;
}
