/* generate_semantic.c: text ids -> semantic tokens (Suno's generate_text_semantic, KV-cached). */
#include "core/bark_constants.h"
#include "core/error.h"
#include "generate/generate.h"
#include "gpt/gpt.h"

#include <stdlib.h>

bark_semantic_params bark_semantic_default_params(void) {
    bark_semantic_params p = {.sample = {0.7f, 0, -1.0f, 0}, .min_eos_p = 0.2f, .allow_early_stop = 1};
    return p;
}

bark_status bark_generate_semantic(const bark_model *m, const int32_t *text_ids, const bark_voice *voice,
                                   const bark_semantic_params *p, bark_rng *rng, int32_t *out, size_t *n_out,
                                   bark_error *err) {
    *n_out = 0;
    const bark_gpt_weights *w;
    bark_status st = bark_model_gpt(m, BARK_STAGE_SEMANTIC, &w, err);
    if (st) return st;
    if ((st = bark_sample_params_check(&p->sample, "semantic", err))) return st;
    if (w->hp.output_vocab <= BARK_SEMANTIC_PAD_TOKEN || w->hp.block_size < BARK_TEXT_BLOCK + 1)
        return bark_fail(err, BARK_ERR_FORMAT, "semantic: %d output ids and context %d are too few for Bark",
                         w->hp.output_vocab, w->hp.block_size);
    if (voice && voice->n_semantic == 0)
        return bark_fail(err, BARK_ERR_ARG, "semantic: the voice has no semantic prompt");

    /* The merged first block: text id i plus history token i, then the infer token (positions 0..256). */
    int32_t ids[BARK_TEXT_BLOCK + 1], ids2[BARK_TEXT_BLOCK + 1];
    size_t nh = voice ? voice->n_semantic : 0, h0 = nh > BARK_TEXT_BLOCK ? nh - BARK_TEXT_BLOCK : 0;
    for (int i = 0; i < BARK_TEXT_BLOCK; i++) {
        ids[i] = text_ids[i];
        if (h0 + (size_t)i < nh) {
            ids2[i] = voice->semantic[h0 + (size_t)i];
            if (ids2[i] < 0 || ids2[i] >= BARK_SEMANTIC_VOCAB_SIZE)
                return bark_fail(err, BARK_ERR_ARG, "semantic: voice token %d is outside 0..%d", (int)ids2[i],
                                 BARK_SEMANTIC_VOCAB_SIZE - 1);
        } else {
            ids2[i] = BARK_SEMANTIC_PAD_TOKEN; /* history shorter than 256: pads before the infer token */
        }
    }
    ids[BARK_TEXT_BLOCK] = BARK_SEMANTIC_INFER_TOKEN;
    ids2[BARK_TEXT_BLOCK] = -1;

    bark_sched *own = NULL, *sched = p->sched;
    bark_kv *kv = NULL;
    bark_sampler s = {0};
    float *logits = malloc((size_t)w->hp.output_vocab * sizeof *logits);
    if (!logits) return bark_fail(err, BARK_ERR_NOMEM, "semantic: out of memory for the logits");
    if (!sched && !(st = bark_sched_create(m, p->exec, 1, &own, err))) sched = own;
    if (!st) st = bark_sched_acquire(sched, BARK_STAGE_SEMANTIC, &kv, err);
    if (!st) st = bark_sampler_init(&s, BARK_SEMANTIC_VOCAB_SIZE + 1, err);
    int n_rel = BARK_SEMANTIC_VOCAB_SIZE + (p->allow_early_stop ? 1 : 0);
    int max_tokens = BARK_SEMANTIC_MAX_TOKENS;
    if (max_tokens > w->hp.block_size - BARK_TEXT_BLOCK) max_tokens = w->hp.block_size - BARK_TEXT_BLOCK;
    double dur = 0.0;
    if (!st) st = bark_sched_forward(sched, BARK_STAGE_SEMANTIC, kv, ids, ids2, BARK_TEXT_BLOCK + 1, logits, err);
    for (int n = 0; !st && n < max_tokens; n++) {
        /* ids 0..9999 and, with early stop, the EOS logit (id 10000 = SEMANTIC_PAD_TOKEN) last */
        if ((st = bark_sampler_probs(&s, logits, n_rel, &p->sample, err))) break;
        int tok = bark_sampler_pick(&s, n_rel, &p->sample, rng);
        if (p->allow_early_stop &&
            (tok == BARK_SEMANTIC_VOCAB_SIZE || (p->min_eos_p >= 0.0f && s.probs[n_rel - 1] >= p->min_eos_p)))
            break;
        out[(*n_out)++] = tok;
        dur += 1.0 / BARK_SEMANTIC_RATE_HZ;
        if (p->max_gen_duration_s > 0.0 && dur > p->max_gen_duration_s) break;
        if (n == max_tokens - 1) break;
        if (p->progress.fn && p->progress.fn(p->progress.user, BARK_STAGE_SEMANTIC, *n_out, (size_t)max_tokens)) {
            st = bark_fail(err, BARK_ERR_INTERRUPTED, "semantic: stopped after %zu tokens", *n_out);
            break;
        }
        int32_t next = tok;
        st = bark_sched_forward(sched, BARK_STAGE_SEMANTIC, kv, &next, NULL, 1, logits, err);
    }
    bark_sampler_free(&s);
    if (kv) bark_sched_release(sched, kv);
    bark_sched_free(own);
    free(logits);
    return st;
}
