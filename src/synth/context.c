/* context.c: bark_context_open: the model mapped once, its tokenizer and the EnCodec decoder, read-only after. */
#include "synth/context.h"

#include <cblas.h>
#include <stdlib.h>

#include "core/bark_constants.h"
#include "core/error.h"
#include "core/threadpool.h"

bark_status bark_context_open(const char *model_path, bark_context **out, bark_error *err) {
    *out = NULL;
    bark_context *c = calloc(1, sizeof *c);
    if (!c) return bark_fail(err, BARK_ERR_NOMEM, "out of memory");
    /* every product runs in a synthesis's own pool, OpenBLAS single-threaded inside its tasks (its own threads
     * would oversubscribe the cores, and its multithreaded drivers end the process when an allocation fails) */
    openblas_set_num_threads(1);
    bark_status st = bark_model_open(model_path, &c->model, err);
    const char *const *vt;
    const uint32_t *vl;
    size_t nv = st ? 0 : bark_model_vocab(c->model, &vt, &vl);
    if (!st && nv) st = bark_tokenizer_create(vt, vl, nv, &c->tok, err);
    if (!st && bark_model_has_stage(c->model, BARK_STAGE_CODEC)) {
        st = encodec_load_part(c->model, 0, BARK_N_FINE_CODEBOOKS, &c->codec, err);
        c->has_codec = !st;
    }
    if (st) {
        bark_context_free(c);
        return st;
    }
    *out = c;
    return BARK_OK;
}

void bark_context_free(bark_context *c) {
    if (!c) return;
    encodec_free(&c->codec);
    bark_tokenizer_free(c->tok);
    bark_model_close(c->model);
    free(c);
}

const bark_model *bark_context_model(const bark_context *c) { return c->model; }

int bark_cpu_count(void) { return bark_pool_cpu_count(); }

bark_status bark_context_require(const bark_context *c, bark_stage last, bark_error *err) {
    for (int s = 0; s <= (int)last; s++)
        if (!bark_model_has_stage(c->model, (bark_stage)s))
            return bark_fail(err, BARK_ERR_MISSING, "%s: the model file has no %s stage", bark_model_path(c->model),
                             bark_stage_name((bark_stage)s));
    if (last != BARK_STAGE_CODEC && !c->tok)
        return bark_fail(err, BARK_ERR_MISSING, "%s: the model file has no vocabulary (convert it with --vocab)",
                         bark_model_path(c->model));
    return BARK_OK;
}
