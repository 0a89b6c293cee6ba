/* generate_fine.c: coarse codes -> all 8 codebooks (Suno's generate_fine: 1024-frame windows, step 512). */
#include "core/bark_constants.h"
#include "core/error.h"
#include "generate/generate.h"
#include "gpt/gpt.h"

#include <stdlib.h>
#include <string.h>

#define NQ BARK_N_FINE_CODEBOOKS

bark_fine_params bark_fine_default_params(void) {
    bark_fine_params p = {.sample = {0.5f, 0, -1.0f, 0}};
    return p;
}

bark_status bark_generate_fine(const bark_model *m, const int32_t *coarse, int n_coarse, size_t n_frames,
                               const bark_voice *voice, const bark_fine_params *p, bark_rng *rng, int32_t *out,
                               bark_error *err) {
    const bark_gpt_weights *w;
    bark_status st = bark_model_gpt(m, BARK_STAGE_FINE, &w, err);
    if (st) return st;
    if ((st = bark_sample_params_check(&p->sample, "fine", err))) return st;
    if (p->sample.top_k != 0 || p->sample.top_p >= 0.0f)
        return bark_fail(err, BARK_ERR_ARG, "fine: top-k and top-p are not used by the fine stage");
    if (n_coarse < 1 || n_coarse > NQ - 1)
        return bark_fail(err, BARK_ERR_ARG, "fine: %d given codebooks (need 1..%d)", n_coarse, NQ - 1);
    if (n_frames == 0 || n_frames > 1u << 22)
        return bark_fail(err, BARK_ERR_ARG, "fine: %zu frames (need 1..%u)", n_frames, 1u << 22);
    for (size_t i = 0; i < (size_t)n_coarse * n_frames; i++)
        if (coarse[i] < 0 || coarse[i] >= BARK_CODEBOOK_SIZE)
            return bark_fail(err, BARK_ERR_ARG, "fine: code %d at %zu is outside 0..%d", (int)coarse[i], i,
                             BARK_CODEBOOK_SIZE - 1);
    if (w->hp.n_codes_total != NQ || w->hp.block_size < BARK_FINE_WINDOW || w->hp.input_vocab <= BARK_CODEBOOK_SIZE ||
        w->hp.output_vocab < BARK_CODEBOOK_SIZE || n_coarse < w->hp.n_codes_given)
        return bark_fail(err, BARK_ERR_FORMAT, "fine: the model (%d codebooks, context %d) does not fit Bark's fine "
                         "stage", w->hp.n_codes_total, w->hp.block_size);

    /* B[t][k]: history (last <= 512 voice frames), the input frames, then 1024-padding up to 1024 frames */
    size_t H = voice ? (voice->n_fine < BARK_FINE_STEP ? voice->n_fine : BARK_FINE_STEP) : 0;
    size_t Lt = H + n_frames < BARK_FINE_WINDOW ? BARK_FINE_WINDOW : H + n_frames;
    int32_t *B = malloc(Lt * NQ * sizeof *B);
    int32_t *pred = malloc(BARK_FINE_WINDOW * sizeof *pred);
    float *logits = malloc((size_t)BARK_FINE_WINDOW * (size_t)w->hp.output_vocab * sizeof *logits);
    bark_sched *own = NULL, *sched = p->sched;
    bark_sampler s;
    memset(&s, 0, sizeof s);
    if (!B || !pred || !logits) {
        st = bark_fail(err, BARK_ERR_NOMEM, "fine: out of memory for %zu frames", Lt);
        goto done;
    }
    for (size_t t = 0; t < Lt; t++)
        for (int k = 0; k < NQ; k++) {
            int32_t v = BARK_CODEBOOK_SIZE;
            if (t < H) v = voice->fine[(size_t)k * voice->n_fine + voice->n_fine - H + t];
            else if (t < H + n_frames && k < n_coarse) v = coarse[(size_t)k * n_frames + (t - H)];
            B[t * NQ + k] = v;
        }
    if (!sched && !(st = bark_sched_create(m, p->exec, 1, &own, err))) sched = own;
    if (st || (st = bark_sampler_init(&s, BARK_CODEBOOK_SIZE, err))) goto done;

    /* n_loops = max(0, ceil((T - (1024 - H)) / 512)) + 1 */
    long over = (long)n_frames - (long)(BARK_FINE_WINDOW - H);
    size_t n_loops = (over > 0 ? (size_t)(over + BARK_FINE_STEP - 1) / BARK_FINE_STEP : 0) + 1;
    int V = w->hp.output_vocab;
    size_t emitted = 0; /* frames already copied to out (and reported) */
    for (size_t n = 0; n < n_loops && !st; n++) {
        size_t start = n * BARK_FINE_STEP < Lt - BARK_FINE_WINDOW ? n * BARK_FINE_STEP : Lt - BARK_FINE_WINDOW;
        size_t fill = H + n * BARK_FINE_STEP < Lt - BARK_FINE_STEP ? H + n * BARK_FINE_STEP : Lt - BARK_FINE_STEP;
        int r = (int)(fill - start);
        int32_t *win = B + start * NQ; /* a view: predictions land in B and feed later codebooks */
        for (int q = n_coarse; q < NQ && !st; q++) {
            if ((st = bark_sched_forward_fine(sched, win, BARK_FINE_WINDOW, q, r, logits, err))) break;
            for (int i = 0; i < BARK_FINE_WINDOW - r && !st; i++) {
                const float *row = logits + (size_t)i * V;
                if (p->sample.greedy) {
                    pred[i] = bark_argmax(row, BARK_CODEBOOK_SIZE);
                } else {
                    st = bark_sampler_probs(&s, row, BARK_CODEBOOK_SIZE, &p->sample, err);
                    pred[i] = bark_sampler_pick(&s, BARK_CODEBOOK_SIZE, &p->sample, rng);
                }
            }
            if (st) break;
            for (int i = 0; i < BARK_FINE_WINDOW - r; i++) win[(size_t)(r + i) * NQ + q] = pred[i];
            size_t done = n * (size_t)(NQ - n_coarse) + (size_t)(q - n_coarse + 1), total = n_loops * (NQ - n_coarse);
            if (p->progress.fn && p->progress.fn(p->progress.user, BARK_STAGE_FINE, done, total))
                st = bark_fail(err, BARK_ERR_INTERRUPTED, "fine: stopped after %zu of %zu passes", done, total);
        }
        if (st) break;
        /* later windows only write from their fill point on: everything before the next one is final */
        size_t next_fill = H + (n + 1) * BARK_FINE_STEP < Lt - BARK_FINE_STEP ? H + (n + 1) * BARK_FINE_STEP
                                                                             : Lt - BARK_FINE_STEP;
        size_t final_end = n + 1 == n_loops ? n_frames : next_fill - H < n_frames ? next_fill - H : n_frames;
        if (final_end <= emitted) continue;
        for (int k = 0; k < NQ; k++)
            for (size_t t = emitted; t < final_end; t++) out[(size_t)k * n_frames + t] = B[(H + t) * NQ + k];
        if (p->on_window && p->on_window(p->window_user, out, n_frames, emitted, final_end))
            st = bark_fail(err, BARK_ERR_INTERRUPTED, "fine: stopped after frame %zu of %zu", final_end, n_frames);
        emitted = final_end;
    }
done:
    bark_sampler_free(&s);
    bark_sched_free(own);
    free(B);
    free(pred);
    free(logits);
    return st;
}
