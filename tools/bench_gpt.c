/* bench_gpt.c: Bark end to end on a random-weight model, each stage held against this machine's measured limits. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "codec/encodec.h"
#include "generate/generate.h"
#include "gpt/attention.h"
#include "gpt/gpt.h"
#include "kernels.h"
#include "model/model.h"
#include "core/exec.h"
#include "text/tokenizer.h"

#define TEXT "Hello, my name is Suno. And, uh, I like pizza. [laughs] But I also have other interests."
#define MAX_STEPS 4096

static bark_exec EX; /* the kernels, GEMM rule and threads every measurement runs on */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- machine limits ---- */

typedef struct copy_job {
    char *dst;
    const char *src;
    size_t n;
} copy_job;

static void copy_task(void *ctx, int i, int n) {
    copy_job *j = ctx;
    size_t a = j->n * (size_t)i / (size_t)n, b = j->n * (size_t)(i + 1) / (size_t)n;
    memcpy(j->dst + a, j->src + a, b - a);
}

/* STREAM-style copy bandwidth (bytes read + bytes written per second) with the pool's threads, best of 10
 * copies of 128 MB (far beyond the caches). */
static double copy_gbs(void) {
    size_t n = (size_t)128 << 20;
    char *a = malloc(n), *b = malloc(n);
    if (!a || !b) return 0.0;
    memset(a, 1, n);
    memset(b, 2, n);
    copy_job j = {b, a, n};
    double best = 1e9;
    for (int r = 0; r < 10; r++) {
        double t0 = now_s();
        bark_pool_run(EX.pool, bark_pool_threads(EX.pool), copy_task, &j);
        double dt = now_s() - t0;
        best = dt < best ? dt : best;
    }
    free(a);
    free(b);
    return 2.0 * (double)n / best / 1e9;
}

typedef struct i8_job {
    const bark_kernels *k;
    const block_q8_0 *W;
    const int8_t *xq;
    const float *xd;
    const int32_t *xs;
    float *Y;
    int rows, n, T;
} i8_job;

/* As the library tiles it: 32 weight rows per task, every token. */
static void i8_task(void *ctx, int i, int n_tasks) {
    i8_job *j = ctx;
    int o0 = i * 32, o1 = o0 + 32 < j->rows ? o0 + 32 : j->rows;
    size_t rb = (size_t)j->n / QK8_0 * sizeof(block_q8_0);
    j->k->gemm_q8_0((const uint8_t *)j->W + (size_t)o0 * rb, rb, o1 - o0, j->xq, j->xd, j->xs, j->n, j->T, j->Y + o0,
                    j->rows);
}

typedef struct sgemm_job {
    const float *A, *B;
    float *Y;
    int T, N, K;
} sgemm_job;

/* The library's split: output columns 16-aligned over the pool's threads, OpenBLAS single-threaded in each. */
static void sgemm_task(void *ctx, int i, int n) {
    sgemm_job *j = ctx;
    int units = (j->N + 15) / 16, o0 = units * i / n * 16, o1 = units * (i + 1) / n * 16;
    o1 = o1 < j->N ? o1 : j->N;
    if (o1 > o0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->T, o1 - o0, j->K, 1.0f, j->A, j->K,
                    j->B + (size_t)o0 * j->K, j->K, 0.0f, j->Y + o0, j->N);
}

/* GFLOP/s of the prefill's biggest product (T x 4C x C), best of 3: the int8 kernel, sgemm split over the pool as
 * the library runs it, and OpenBLAS's own threads (last: its idle threads spin a while after each call, which
 * would slow whatever the pool runs next). *sgemm is the better of the two sgemm figures. */
static void gemm_peaks(int T, int N, int K, int threads, double *sgemm, double *int8) {
    float *A = malloc((size_t)T * K * sizeof *A), *B = malloc((size_t)N * K * sizeof *B), *Y = malloc((size_t)T * N * 4);
    block_q8_0 *W = malloc((size_t)N * K / QK8_0 * sizeof *W);
    int8_t *xq = malloc((size_t)T * K);
    float *xd = malloc((size_t)T * K / QK8_0 * sizeof *xd);
    int32_t *xs = malloc((size_t)T * K / QK8_0 * sizeof *xs);
    *sgemm = *int8 = 0.0;
    if (!A || !B || !Y || !W || !xq || !xd || !xs) return;
    for (size_t i = 0; i < (size_t)T * K; i++) A[i] = (float)((i * 2654435761u >> 9) % 1000) / 500.0f - 1.0f;
    for (size_t i = 0; i < (size_t)N * K; i++) B[i] = (float)((i * 40503u >> 5) % 1000) / 500.0f - 1.0f;
    for (int o = 0; o < N; o++) bark_quantize_row_q8_0(B + (size_t)o * K, W + (size_t)o * K / QK8_0, K);
    const bark_kernels *k = EX.k;
    for (int t = 0; t < T; t++)
        k->quantize_q8(A + (size_t)t * K, xq + (size_t)t * K, xd + (size_t)t * K / QK8_0, xs + (size_t)t * K / QK8_0, K);
    double flop = 2.0 * T * N * K, bi = 1e9, bp = 1e9, bo = 1e9;
    i8_job j = {k, W, xq, xd, xs, Y, N, K, T};
    sgemm_job sj = {A, B, Y, T, N, K};
    for (int r = 0; r < 3; r++) {
        double t0 = now_s();
        bark_pool_run(EX.pool, (N + 31) / 32, i8_task, &j);
        double dt = now_s() - t0;
        bi = dt < bi ? dt : bi;
    }
    openblas_set_num_threads(1);
    for (int r = 0; r < 3; r++) {
        double t0 = now_s();
        bark_pool_run(EX.pool, threads, sgemm_task, &sj);
        double dt = now_s() - t0;
        bp = dt < bp ? dt : bp;
    }
    openblas_set_num_threads(threads);
    for (int r = 0; r < 3; r++) {
        double t0 = now_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, N, K, 1.0f, A, K, B, K, 0.0f, Y, N);
        double dt = now_s() - t0;
        bo = dt < bo ? dt : bo;
    }
    openblas_set_num_threads(1);
    *sgemm = flop / (bp < bo ? bp : bo) / 1e9;
    *int8 = flop / bi / 1e9;
    free(A), free(B), free(Y), free(W), free(xq), free(xd), free(xs);
}

/* ---- model figures ---- */

static double params_per_position(const bark_gpt_weights *w) { /* multiply-adds per position in the blocks */
    double C = w->hp.n_embd;
    return 12.0 * C * C * w->hp.n_layer;
}

/* Bytes per cached key or value element, as the forward pass keeps them. */
static double kv_bytes(const bark_gpt_weights *w) { return bark_gpt_kv_f16(w) ? 2.0 : 4.0; }

/* Attention flops of T queries over keys: causal sees n_past + t + 1 keys, 4 C flops per (query, key). */
static double attention_flop(const bark_gpt_weights *w, double T, double n_past, int causal) {
    double keys = causal ? T * n_past + T * (T + 1) / 2 : T * T;
    return 4.0 * w->hp.n_embd * keys * w->hp.n_layer;
}

typedef struct stamps {
    double t[MAX_STEPS];
    size_t n;
    double first_window; /* fine: when the first frames became final */
} stamps;

static int on_progress(void *user, bark_stage s, size_t done, size_t total) {
    stamps *st = user;
    if (st->n < MAX_STEPS) st->t[st->n++] = now_s();
    return 0;
}

static int on_window(void *user, const int32_t *out, size_t ld, size_t from, size_t to) {
    stamps *st = user;
    if (st->first_window == 0.0) st->first_window = now_s();
    return 0;
}

typedef struct figures {
    double sem_s, sem_prefill_s, sem_ms_tok, coarse_s, coarse_ms_tok, coarse_prefill_s, coarse_prefill_gflop;
    double fine_s, fine_gflop, first_window_s, codec_s, codec_first_s, audio_s, sem_gbs, coarse_gbs, coarse_ctx;
    size_t n_sem, n_frames;
} figures;

static int run_workload(const bark_model *m, const int32_t *text, int n_semantic, figures *f, bark_error *err) {
    memset(f, 0, sizeof *f);
    static stamps st;
    bark_rng rng;
    bark_rng_seed(&rng, 42);
    const bark_gpt_weights *ws, *wc, *wf;
    if (bark_model_gpt(m, BARK_STAGE_SEMANTIC, &ws, err) || bark_model_gpt(m, BARK_STAGE_COARSE, &wc, err) ||
        bark_model_gpt(m, BARK_STAGE_FINE, &wf, err))
        return 1;
    /* semantic: early stop off, so it runs to n_semantic tokens */
    bark_semantic_params sp = bark_semantic_default_params();
    sp.exec = &EX;
    sp.allow_early_stop = 0;
    sp.max_gen_duration_s = n_semantic < BARK_SEMANTIC_MAX_TOKENS ? (n_semantic - 0.5) / BARK_SEMANTIC_RATE_HZ : 0.0;
    sp.progress.fn = on_progress;
    sp.progress.user = &st;
    int32_t sem[BARK_SEMANTIC_MAX_TOKENS];
    size_t n_sem = 0;
    st.n = 0;
    double t0 = now_s();
    if (bark_generate_semantic(m, text, NULL, &sp, &rng, sem, &n_sem, err)) return 1;
    double t1 = now_s();
    f->n_sem = n_sem;
    f->sem_s = t1 - t0;
    f->sem_prefill_s = st.n ? st.t[0] - t0 : f->sem_s;
    f->sem_ms_tok = st.n > 1 ? (st.t[st.n - 1] - st.t[0]) / (double)(st.n - 1) * 1e3 : 0.0;
    /* coarse: every 60th step starts a window with a fresh prefill */
    bark_coarse_params cp = bark_coarse_default_params();
    cp.exec = &EX;
    cp.progress.fn = on_progress;
    cp.progress.user = &st;
    size_t nf = bark_coarse_frames(n_sem);
    int32_t *coarse = malloc(2 * nf * sizeof *coarse), *fine = malloc(8 * nf * sizeof *fine);
    if (!coarse || !fine) return 1;
    st.n = 0;
    t0 = now_s();
    if (bark_generate_coarse(m, sem, n_sem, NULL, &cp, &rng, coarse, err)) return 1;
    t1 = now_s();
    f->coarse_s = t1 - t0;
    double dec_sum = 0.0, pre_sum = 0.0;
    size_t n_dec = 0, n_pre = 0, wl = (size_t)cp.sliding_window_len, hist = (size_t)cp.max_coarse_history;
    double ctx_sum = 0.0; /* keys each decode step reads: 257 semantic + history (capped) + this window's steps */
    for (size_t i = 0; i < st.n; i++) {
        double dt = st.t[i] - (i ? st.t[i - 1] : t0);
        if (i % wl == 0) pre_sum += dt, n_pre++;
        else {
            size_t h = i / wl * wl < hist ? i / wl * wl : hist;
            dec_sum += dt, n_dec++, ctx_sum += 257.0 + (double)h + (double)(i % wl);
        }
    }
    f->coarse_ctx = n_dec ? ctx_sum / (double)n_dec : 0.0;
    f->coarse_ms_tok = n_dec ? dec_sum / (double)n_dec * 1e3 : 0.0;
    f->coarse_prefill_s = pre_sum - (double)n_pre * (n_dec ? dec_sum / (double)n_dec : 0.0);
    /* flops of the window prefills: 257 semantic positions + up to 630 coarse history */
    for (size_t w = 0; w < n_pre; w++) {
        double nh = (double)(w * wl < (size_t)cp.max_coarse_history ? w * wl : (size_t)cp.max_coarse_history);
        double T = 257.0 + nh;
        f->coarse_prefill_gflop += (2.0 * params_per_position(wc) * T + attention_flop(wc, T, 0, 1)) / 1e9;
    }
    /* fine */
    bark_fine_params fp = bark_fine_default_params();
    fp.exec = &EX;
    fp.on_window = on_window;
    fp.window_user = &st;
    st.first_window = 0.0;
    t0 = now_s();
    if (bark_generate_fine(m, coarse, 2, nf, NULL, &fp, &rng, fine, err)) return 1;
    t1 = now_s();
    f->fine_s = t1 - t0;
    f->first_window_s = st.first_window - t0;
    long over = (long)nf - BARK_FINE_WINDOW;
    double n_loops = (over > 0 ? (double)((over + BARK_FINE_STEP - 1) / BARK_FINE_STEP) : 0.0) + 1.0;
    double pass = 2.0 * params_per_position(wf) * BARK_FINE_WINDOW + attention_flop(wf, BARK_FINE_WINDOW, 0, 0) +
                  2.0 * (double)wf->hp.n_embd * wf->hp.output_vocab * BARK_FINE_STEP;
    f->fine_gflop = n_loops * 6.0 * pass / 1e9;
    /* EnCodec: the whole utterance, and the first fine window's frames alone */
    f->n_frames = nf;
    f->audio_s = (double)nf / 75.0;
    encodec_model em;
    if (encodec_load(m, &em, err)) return 1;
    float *pcm = malloc(nf * 320 * sizeof *pcm);
    if (!pcm) return 1;
    t0 = now_s();
    if (encodec_decode(&em, fine, 8, nf, pcm, err)) return 1;
    f->codec_s = now_s() - t0;
    size_t first = nf < BARK_FINE_WINDOW - BARK_FINE_STEP ? nf : BARK_FINE_WINDOW - BARK_FINE_STEP;
    int32_t *head = malloc(8 * first * sizeof *head);
    if (!head) return 1;
    for (int k = 0; k < 8; k++) memcpy(head + (size_t)k * first, fine + (size_t)k * nf, first * sizeof *head);
    t0 = now_s();
    if (encodec_decode(&em, head, 8, first, pcm, err)) return 1;
    f->codec_first_s = now_s() - t0;
    encodec_free(&em);
    free(pcm), free(head), free(coarse), free(fine);
    /* decode traffic: weights + the KV cache read (average context) */
    double sem_ctx = 257.0 + n_sem / 2.0, coarse_ctx = f->coarse_ctx;
    double kv_s = 2.0 * ws->hp.n_layer * ws->hp.n_embd * kv_bytes(ws) * sem_ctx;
    double kv_c = 2.0 * wc->hp.n_layer * wc->hp.n_embd * kv_bytes(wc) * coarse_ctx;
    f->sem_gbs = ((double)bark_gpt_decode_bytes(ws) + kv_s) / (f->sem_ms_tok / 1e3) / 1e9;
    f->coarse_gbs = ((double)bark_gpt_decode_bytes(wc) + kv_c) / (f->coarse_ms_tok / 1e3) / 1e9;
    return 0;
}

/* Peak resident memory since the last reset_peak_rss (VmHWM), else since the start (ru_maxrss). */
static double peak_rss_mb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = -1.0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) kb = atof(line + 6);
    if (f) fclose(f);
    if (kb < 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        kb = (double)ru.ru_maxrss;
    }
    return kb / 1024.0;
}

/* ---- c_attn's two-part input on peaked attention (int8 mode) ---- */

typedef struct two_part {
    double heads;              /* fraction of prefill heads that took it in the default runs (random weights) */
    double prefill_s, fine_s;  /* best of 3: an 887-token coarse prefill, a 1024-position fine pass; as by default */
    double prefill_all_s, fine_all_s; /* the same with every head taking it, as on peaked attention */
} two_part;

/* One run of the coarse prefill (ids) and of the fine pass (codes) on fresh states, the two-part input taken by the
 * heads whose estimate is above `above` (0: all); adds the heads counts to heads[2]. */
static int two_part_run(const bark_gpt_weights *wc, const bark_gpt_weights *wf, const int32_t *ids,
                        const int32_t *codes, float *logits, float above, double *prefill_s, double *fine_s,
                        size_t heads[2], bark_error *err) {
    bark_gpt gc, gf;
    if (bark_gpt_init(&gc, wc, 1, &EX, err)) return 1;
    if (bark_gpt_init(&gf, wf, 0, &EX, err)) return bark_gpt_free(&gc), 1;
    gc.aq.two_part_above = gf.aq.two_part_above = above;
    double t0 = now_s();
    int bad = bark_gpt_forward(&gc, ids, NULL, 887, logits, err) != BARK_OK;
    double t1 = now_s();
    bad = bad || bark_gpt_forward_fine(&gf, codes, BARK_FINE_WINDOW, 2, 0, logits, err) != BARK_OK;
    double t2 = now_s();
    *prefill_s = fmin(*prefill_s, t1 - t0), *fine_s = fmin(*fine_s, t2 - t1);
    heads[0] += gc.aq.heads[0] + gf.aq.heads[0], heads[1] += gc.aq.heads[1] + gf.aq.heads[1];
    bark_gpt_free(&gc), bark_gpt_free(&gf);
    return bad;
}

/* The default and every head taking the two-part input, alternated 3 times on the same random ids and codes. */
static int two_part_cost(const bark_gpt_weights *wc, const bark_gpt_weights *wf, two_part *tp, bark_error *err) {
    int32_t *ids = malloc(887 * sizeof *ids), *codes = malloc(BARK_FINE_WINDOW * 8 * sizeof *codes);
    float *logits = malloc((size_t)BARK_FINE_WINDOW * (size_t)wf->hp.output_vocab * sizeof *logits);
    int bad = !ids || !codes || !logits;
    uint32_t r = 12345; /* ids and codes below 1024: in every table of both stages */
    for (int i = 0; !bad && i < 887 + BARK_FINE_WINDOW * 8; i++) {
        r = r * 1664525u + 1013904223u;
        *(i < 887 ? ids + i : codes + i - 887) = (int32_t)(r >> 8) % 1024;
    }
    size_t heads[2] = {0, 0}, all[2] = {0, 0};
    tp->prefill_s = tp->fine_s = tp->prefill_all_s = tp->fine_all_s = INFINITY;
    for (int k = 0; !bad && k < 3; k++)
        bad = two_part_run(wc, wf, ids, codes, logits, BARK_ATT_TWO_PART_ABOVE, &tp->prefill_s, &tp->fine_s, heads,
                           err) ||
              two_part_run(wc, wf, ids, codes, logits, 0.0f, &tp->prefill_all_s, &tp->fine_all_s, all, err);
    tp->heads = heads[0] ? (double)heads[1] / (double)heads[0] : 0.0;
    free(ids), free(codes), free(logits);
    return bad;
}

/* Forgets the peak of the bandwidth and GEMM probes, so the figure is the generation's own. */
static void reset_peak_rss(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_gpt MODEL.gguf [threads] [tokens of the long run: 768] [of the short run: 256] "
                        "[summary file]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *gemm = getenv("BARK_GEMM");
    bark_error e0;
    if (bark_exec_init(&EX, argc > 2 ? atoi(argv[2]) : 2, getenv("BARK_ISA"),
                       !gemm ? BARK_GEMM_AUTO : !strcmp(gemm, "int8") ? BARK_GEMM_INT8 : BARK_GEMM_SGEMM, &e0)) {
        fprintf(stderr, "bench_gpt: %s\n", e0.msg);
        return 1;
    }
    int threads = bark_pool_threads(EX.pool);
    int n_long = argc > 3 ? atoi(argv[3]) : BARK_SEMANTIC_MAX_TOKENS;
    openblas_set_num_threads(threads);
    bark_error err = {BARK_OK, ""};
    bark_model *m = NULL;
    if (bark_model_open(argv[1], &m, &err)) {
        fprintf(stderr, "bench_gpt: %s\n", err.msg);
        return 1;
    }
    const bark_gpt_weights *ws, *wc;
    if (bark_model_gpt(m, BARK_STAGE_SEMANTIC, &ws, &err) || bark_model_gpt(m, BARK_STAGE_COARSE, &wc, &err)) {
        fprintf(stderr, "bench_gpt: %s\n", err.msg);
        return 1;
    }
    printf("kernels %s, %d threads, prefill GEMM %s\n", EX.k->name, threads,
           EX.gemm == BARK_GEMM_INT8 ? "int8" : "sgemm");
    /* the machine's limits, before the workloads and again after them (a shared machine drifts): the best of the
     * two is what the workloads are held against */
    int C = ws->hp.n_embd;
    double copy0 = copy_gbs(), sg0, i80;
    gemm_peaks(887, 4 * C, C, threads, &sg0, &i80);

    const char *const *toks;
    const uint32_t *lens;
    size_t nv = bark_model_vocab(m, &toks, &lens);
    bark_tokenizer *tk = NULL;
    int32_t text[256];
    size_t n_text = 0;
    int trunc = 0;
    if (bark_tokenizer_create(toks, lens, nv, &tk, &err) ||
        bark_text_to_semantic_input(tk, TEXT, strlen(TEXT), text, &n_text, &trunc, &err)) {
        fprintf(stderr, "bench_gpt: %s\n", err.msg);
        return 1;
    }
    bark_tokenizer_free(tk);

    int sizes[2] = {n_long, argc > 4 ? atoi(argv[4]) : 256};
    reset_peak_rss();
    figures f[2];
    for (int r = 0; r < 2; r++)
        if (run_workload(m, text, sizes[r], &f[r], &err)) {
            fprintf(stderr, "bench_gpt: %s\n", err.msg);
            return 1;
        }
    double rss = peak_rss_mb(); /* the workloads' peak, before the measurements below allocate */
    two_part tp = {0, 0, 0, 0, 0};
    const bark_gpt_weights *wf;
    int int8 = EX.gemm == BARK_GEMM_INT8;
    if (int8 && (bark_model_gpt(m, BARK_STAGE_FINE, &wf, &err) || two_part_cost(wc, wf, &tp, &err))) {
        fprintf(stderr, "bench_gpt: %s\n", err.msg);
        return 1;
    }
    double copy1 = copy_gbs(), sg1, i81;
    gemm_peaks(887, 4 * C, C, threads, &sg1, &i81);
    double copy = fmax(copy0, copy1), sg = fmax(sg0, sg1), i8 = fmax(i80, i81), peak = fmax(sg, i8);
    printf("copy bandwidth %.2f GB/s (read + write) before the workloads, %.2f after\n", copy0, copy1);
    printf("gemm 887x%dx%d: sgemm %.1f GFLOP/s, int8 kernel %.1f GFLOP/s before; %.1f, %.1f after\n", 4 * C, C, sg0,
           i80, sg1, i81);
    for (int r = 0; r < 2; r++) {
        figures *x = &f[r];
        double total = x->sem_s + x->coarse_s + x->fine_s + x->codec_s;
        printf("== workload: %zu semantic tokens, %zu frames, %.2f s of audio ==\n", x->n_sem, x->n_frames, x->audio_s);
        printf("semantic: %.2f s, prefill %.3f s, %.2f ms/token (%.1f tokens/s), %.1f MB weights + %.1f MB KV per step, "
               "%.2f GB/s = %.2f of copy bandwidth\n",
               x->sem_s, x->sem_prefill_s, x->sem_ms_tok, 1e3 / x->sem_ms_tok, bark_gpt_decode_bytes(ws) / 1e6,
               2.0 * ws->hp.n_layer * C * kv_bytes(ws) * (257.0 + x->n_sem / 2.0) / 1e6, x->sem_gbs, x->sem_gbs / copy);
        printf("coarse: %.2f s, decode %.2f ms/token (%.1f tokens/s), %.1f MB weights + %.1f MB KV per step, %.2f GB/s "
               "= %.2f of copy bandwidth; prefills %.2f s, %.1f GFLOP, %.1f GFLOP/s = %.2f of best GEMM\n",
               x->coarse_s, x->coarse_ms_tok, 1e3 / x->coarse_ms_tok, bark_gpt_decode_bytes(wc) / 1e6,
               2.0 * wc->hp.n_layer * C * kv_bytes(wc) * x->coarse_ctx / 1e6, x->coarse_gbs,
               x->coarse_gbs / copy, x->coarse_prefill_s, x->coarse_prefill_gflop,
               x->coarse_prefill_gflop / x->coarse_prefill_s, x->coarse_prefill_gflop / x->coarse_prefill_s / peak);
        printf("fine: %.2f s, %.1f GFLOP, %.1f GFLOP/s = %.2f of best GEMM; first window final after %.2f s\n", x->fine_s,
               x->fine_gflop, x->fine_gflop / x->fine_s, x->fine_gflop / x->fine_s / peak, x->first_window_s);
        printf("encodec: %.2f s for %.2f s of audio (real-time factor %.3f)\n", x->codec_s, x->audio_s,
               x->codec_s / x->audio_s);
        printf("total %.2f s, real-time factor %.2f, time to first audio %.2f s\n", total, total / x->audio_s,
               x->sem_s + x->coarse_s + x->first_window_s + x->codec_first_s);
    }
    if (int8)
        printf("c_attn two-part input: %.0f%% of prefill heads by default; every head: 887-token coarse prefill %.3f -> "
               "%.3f s (x%.3f), 1024-position fine pass %.3f -> %.3f s (x%.3f), best of 3\n", 100 * tp.heads,
               tp.prefill_s, tp.prefill_all_s, tp.prefill_all_s / tp.prefill_s, tp.fine_s, tp.fine_all_s,
               tp.fine_all_s / tp.fine_s);
    figures *L = &f[0], *S = &f[1];
    double tl = L->sem_s + L->coarse_s + L->fine_s + L->codec_s, ts = S->sem_s + S->coarse_s + S->fine_s + S->codec_s;
    double bw = (L->sem_gbs * L->n_sem + L->coarse_gbs * 2.0 * L->n_frames) / (L->n_sem + 2.0 * L->n_frames) / copy;
    double gf = (L->coarse_prefill_gflop + L->fine_gflop) / (L->coarse_prefill_s + L->fine_s) / peak;
    FILE *o = argc > 5 ? fopen(argv[5], "w") : NULL;
    FILE *outs[2] = {stdout, o};
    for (int i = 0; i < 2 && outs[i]; i++) {
        FILE *s = outs[i];
        if (i == 0) printf("== figures ==\n");
        fprintf(s, "rtf_768 %.3f\nrtf_256 %.3f\nsemantic_ms_per_token %.3f\ncoarse_ms_per_token %.3f\nfine_s %.3f\n",
                tl / L->audio_s, ts / S->audio_s, L->sem_ms_tok, L->coarse_ms_tok, L->fine_s);
        fprintf(s, "encodec_rtf %.4f\ntime_to_first_audio_s %.3f\ndecode_bw_fraction %.3f\ngemm_fraction %.3f\n",
                L->codec_s / L->audio_s, L->sem_s + L->coarse_s + L->first_window_s + L->codec_first_s, bw, gf);
        fprintf(s, "copy_gbs %.2f\nsgemm_gflops %.1f\nint8_gemm_gflops %.1f\ncoarse_prefill_s %.3f\n", copy, sg, i8,
                L->coarse_prefill_s);
        fprintf(s, "coarse_prefill_gemm_fraction %.3f\nfine_gemm_fraction %.3f\n",
                L->coarse_prefill_gflop / L->coarse_prefill_s / peak, L->fine_gflop / L->fine_s / peak);
        fprintf(s, "peak_rss_mb %.1f\n", rss);
        if (int8)
            fprintf(s, "two_part_heads_fraction %.3f\nprefill_two_part_all_ratio %.3f\nfine_two_part_all_ratio %.3f\n",
                    tp.heads, tp.prefill_all_s / tp.prefill_s, tp.fine_all_s / tp.fine_s);
    }
    if (o) fclose(o);
    bark_model_close(m);
    bark_exec_free(&EX);
    return 0;
}
