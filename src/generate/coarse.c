/* generate_coarse.c: semantic tokens -> 2 coarse codebooks (Suno's generate_coarse, sliding windows). */
#include "core/bark_constants.h"
#include "core/error.h"
#include "generate/generate.h"
#include "gpt/gpt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define COARSE_SEM_WINDOW 256 /* semantic tokens at the head of every window */

/* Coarse tokens (2 per frame) per semantic token: 75 / 49.9 * 2, in this operation order. */
static double coarse_ratio(void) {
    return (double)BARK_COARSE_RATE_HZ / BARK_SEMANTIC_RATE_HZ * BARK_N_COARSE_CODEBOOKS;
}

bark_coarse_params bark_coarse_default_params(void) {
    bark_coarse_params p = {.sample = {0.7f, 0, -1.0f, 0}, .max_coarse_history = 630, .sliding_window_len = 60};
    return p;
}

size_t bark_coarse_frames(size_t n_semantic) {
    return (size_t)floor((double)n_semantic * coarse_ratio() / BARK_N_COARSE_CODEBOOKS);
}

/* Python round() on a double: half to even (rint in the default rounding mode). */
static long round_even(double x) { return (long)rint(x); }

/* The voice's histories trimmed as Suno does: *hs and *n_hs point into the voice's semantic prompt,
 * hc[0..*n_hc) receives the interleaved coarse tokens (offset 10000 / 11024). */
static bark_status voice_history(const bark_voice *v, int max_sem_hist, double ratio, const int32_t **hs,
                                 size_t *n_hs, int32_t *hc, size_t *n_hc, bark_error *err) {
    size_t ns = v->n_semantic, nc = 2 * v->n_coarse;
    if (ns == 0) return bark_fail(err, BARK_ERR_ARG, "coarse: the voice has no semantic prompt");
    /* Suno asserts round(coarse_width / semantic_len, 1) == round(ratio / 2, 1) = 1.5 */
    double r = (double)v->n_coarse / (double)ns;
    if (!(r >= 1.45 && r < 1.55))
        return bark_fail(err, BARK_ERR_FORMAT, "coarse: the voice has %zu coarse frames for %zu semantic tokens "
                         "(ratio %.3f, Bark needs 1.5)", v->n_coarse, ns, r);
    size_t n_sem = (size_t)max_sem_hist;
    if (ns - ns % 2 < n_sem) n_sem = ns - ns % 2;
    size_t by_coarse = (size_t)floor((double)nc / ratio);
    if (by_coarse < n_sem) n_sem = by_coarse;
    size_t n_coar = (size_t)round_even((double)n_sem * ratio);
    /* Python's x[-0:] keeps the whole array */
    size_t keep_s = n_sem == 0 || n_sem > ns ? ns : n_sem;
    size_t keep_c = n_coar == 0 || n_coar > nc ? nc : n_coar;
    *hs = v->semantic + (ns - keep_s);
    *n_hs = keep_s;
    keep_c = keep_c >= 2 ? keep_c - 2 : 0; /* Suno drops the last frame (an alignment hack) */
    for (size_t i = 0; i < keep_c; i++) {
        size_t j = nc - (keep_c + 2) + i; /* index into the interleaved history */
        size_t t = j / 2, k = j % 2;
        hc[i] = v->coarse[k * v->n_coarse + t] + BARK_SEMANTIC_VOCAB_SIZE + (int32_t)k * BARK_CODEBOOK_SIZE;
    }
    *n_hc = keep_c;
    return BARK_OK;
}

bark_status bark_generate_coarse(const bark_model *m, const int32_t *semantic, size_t n_semantic,
                                 const bark_voice *voice, const bark_coarse_params *p, bark_rng *rng, int32_t *out,
                                 bark_error *err) {
    const bark_gpt_weights *w;
    bark_status st = bark_model_gpt(m, BARK_STAGE_COARSE, &w, err);
    if (st) return st;
    if ((st = bark_sample_params_check(&p->sample, "coarse", err))) return st;
    if (p->max_coarse_history < 60 || p->max_coarse_history > 630 || p->sliding_window_len < 1 ||
        p->max_coarse_history + p->sliding_window_len > BARK_CONTEXT_WINDOW_SIZE - COARSE_SEM_WINDOW)
        return bark_fail(err, BARK_ERR_ARG, "coarse: history %d must be 60..630 and history + window %d at most %d",
                         p->max_coarse_history, p->sliding_window_len, BARK_CONTEXT_WINDOW_SIZE - COARSE_SEM_WINDOW);
    if (n_semantic == 0 || n_semantic > 1u << 20)
        return bark_fail(err, BARK_ERR_ARG, "coarse: %zu semantic tokens (need 1..%u)", n_semantic, 1u << 20);
    for (size_t i = 0; i < n_semantic; i++)
        if (semantic[i] < 0 || semantic[i] >= BARK_SEMANTIC_VOCAB_SIZE)
            return bark_fail(err, BARK_ERR_ARG, "coarse: semantic token %d at %zu is outside 0..%d", (int)semantic[i],
                             i, BARK_SEMANTIC_VOCAB_SIZE - 1);
    int max_len = COARSE_SEM_WINDOW + 1 + p->max_coarse_history + p->sliding_window_len;
    if (w->hp.block_size < max_len || w->hp.output_vocab < BARK_SEMANTIC_VOCAB_SIZE + 2 * BARK_CODEBOOK_SIZE)
        return bark_fail(err, BARK_ERR_FORMAT, "coarse: context %d / %d output ids are too few for Bark",
                         w->hp.block_size, w->hp.output_vocab);

    double ratio = coarse_ratio();
    int max_sem_hist = (int)floor(p->max_coarse_history / ratio);
    size_t n_steps = 2 * bark_coarse_frames(n_semantic);
    size_t n_hc_max = voice ? 2 * voice->n_coarse : 0, n_sem_max = (voice ? voice->n_semantic : 0) + n_semantic;

    /* S: semantic history + input; C: coarse history + generated tokens; X: one window's input ids */
    int32_t *S = malloc(n_sem_max * sizeof *S), *C = malloc((n_hc_max + n_steps) * sizeof *C);
    int32_t *X = malloc((size_t)max_len * sizeof *X);
    float *logits = malloc((size_t)w->hp.output_vocab * sizeof *logits);
    bark_sched *own = NULL, *sched = p->sched;
    bark_kv *kv = NULL;
    bark_sampler s;
    memset(&s, 0, sizeof s);
    if (!S || !C || !X || !logits) {
        st = bark_fail(err, BARK_ERR_NOMEM, "coarse: out of memory for %zu steps", n_steps);
        goto done;
    }
    const int32_t *hs = NULL;
    size_t n_hs = 0, n_hc = 0;
    if (voice && (st = voice_history(voice, max_sem_hist, ratio, &hs, &n_hs, C, &n_hc, err))) goto done;
    if (n_hs) memcpy(S, hs, n_hs * sizeof *S);
    memcpy(S + n_hs, semantic, n_semantic * sizeof *S);
    size_t n_S = n_hs + n_semantic, n_C = n_hc;
    if (!sched && !(st = bark_sched_create(m, p->exec, 1, &own, err))) sched = own;
    if (st || (st = bark_sched_acquire(sched, BARK_STAGE_COARSE, &kv, err)) ||
        (st = bark_sampler_init(&s, BARK_CODEBOOK_SIZE, err)))
        goto done;

    size_t n_step = 0, wl = (size_t)p->sliding_window_len;
    size_t n_windows = (n_steps + wl - 1) / wl;
    for (size_t win = 0; win < n_windows && !st; win++) {
        long sidx = (long)n_hs + round_even((double)n_step / ratio);
        size_t start = sidx - max_sem_hist > 0 ? (size_t)(sidx - max_sem_hist) : 0;
        int nx = 0;
        for (size_t i = 0; i < COARSE_SEM_WINDOW; i++)
            X[nx++] = start + i < n_S ? S[start + i] : BARK_COARSE_SEMANTIC_PAD_TOKEN;
        X[nx++] = BARK_COARSE_INFER_TOKEN;
        size_t nh = n_C < (size_t)p->max_coarse_history ? n_C : (size_t)p->max_coarse_history;
        for (size_t i = 0; i < nh; i++) X[nx++] = C[n_C - nh + i];
        kv->n_past = 0;
        int fed = 0; /* ids of X already in the KV cache */
        for (size_t j = 0; j < wl && n_step < n_steps; j++) {
            if ((st = bark_sched_forward(sched, BARK_STAGE_COARSE, kv, X + fed, NULL, nx - fed, logits, err))) break;
            fed = nx;
            int lo = BARK_SEMANTIC_VOCAB_SIZE + (n_step % 2 ? BARK_CODEBOOK_SIZE : 0);
            if ((st = bark_sampler_probs(&s, logits + lo, BARK_CODEBOOK_SIZE, &p->sample, err))) break;
            int32_t tok = bark_sampler_pick(&s, BARK_CODEBOOK_SIZE, &p->sample, rng) + lo;
            C[n_C++] = tok;
            X[nx++] = tok;
            n_step++;
            if (p->progress.fn && p->progress.fn(p->progress.user, BARK_STAGE_COARSE, n_step, n_steps)) {
                st = bark_fail(err, BARK_ERR_INTERRUPTED, "coarse: stopped after %zu of %zu tokens", n_step, n_steps);
                break;
            }
        }
    }
    if (!st)
        for (size_t f = 0; f < n_steps / 2; f++) {
            out[f] = C[n_hc + 2 * f] - BARK_SEMANTIC_VOCAB_SIZE;
            out[n_steps / 2 + f] = C[n_hc + 2 * f + 1] - BARK_SEMANTIC_VOCAB_SIZE - BARK_CODEBOOK_SIZE;
        }
done:
    bark_sampler_free(&s);
    if (kv) bark_sched_release(sched, kv);
    bark_sched_free(own);
    free(S);
    free(C);
    free(X);
    free(logits);
    return st;
}
