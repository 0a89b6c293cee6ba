/* generate_codes.c: text ids -> semantic -> coarse -> fine codes of one utterance, in one call. */
#include "core/error.h"
#include "generate/generate.h"

#include <stdlib.h>
#include <string.h>

bark_gen_params bark_gen_default_params(void) {
    bark_gen_params p;
    p.semantic = bark_semantic_default_params();
    p.coarse = bark_coarse_default_params();
    p.fine = bark_fine_default_params();
    p.last = BARK_STAGE_FINE;
    return p;
}

void bark_codes_free(bark_codes *c) {
    if (!c) return;
    free(c->semantic);
    free(c->coarse);
    free(c->fine);
    memset(c, 0, sizeof *c);
}

bark_status bark_generate_codes(const bark_model *m, const int32_t *text_ids, const bark_voice *voice,
                                const bark_gen_params *p, bark_rng *rng, bark_codes *out, bark_error *err) {
    memset(out, 0, sizeof *out);
    out->semantic = malloc(BARK_SEMANTIC_MAX_TOKENS * sizeof *out->semantic);
    if (!out->semantic) return bark_fail(err, BARK_ERR_NOMEM, "generate: out of memory");
    bark_status st =
        bark_generate_semantic(m, text_ids, voice, &p->semantic, rng, out->semantic, &out->n_semantic, err);
    if (!st && out->n_semantic == 0)
        st = bark_fail(err, BARK_ERR_ARG, "generate: the semantic stage ended at once (end of speech before any "
                       "token); try another seed or text");
    if (st || p->last == BARK_STAGE_SEMANTIC) goto done;
    out->n_frames = bark_coarse_frames(out->n_semantic);
    out->coarse = malloc(2 * out->n_frames * sizeof *out->coarse);
    if (!out->coarse) {
        st = bark_fail(err, BARK_ERR_NOMEM, "generate: out of memory for %zu frames", out->n_frames);
        goto done;
    }
    st = bark_generate_coarse(m, out->semantic, out->n_semantic, voice, &p->coarse, rng, out->coarse, err);
    if (st || p->last == BARK_STAGE_COARSE) goto done;
    out->fine = malloc(8 * out->n_frames * sizeof *out->fine);
    if (!out->fine) {
        st = bark_fail(err, BARK_ERR_NOMEM, "generate: out of memory for %zu frames", out->n_frames);
        goto done;
    }
    st = bark_generate_fine(m, out->coarse, 2, out->n_frames, voice, &p->fine, rng, out->fine, err);
done:
    if (st) bark_codes_free(out);
    return st;
}
