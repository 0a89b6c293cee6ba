/* engine.c: the public bark_engine calls (a first version: one synthesis at a time through the engine's settings). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/exec.h"
#include "synth/context.h"

struct bark_engine {
    const bark_context *ctx;
    bark_engine_params p;
    pthread_mutex_t mu;
};

bark_engine_params bark_engine_default_params(void) {
    bark_engine_params p = {.max_batch = 8};
    return p;
}

bark_status bark_engine_open(const bark_context *ctx, const bark_engine_params *p, bark_engine **out, bark_error *err) {
    *out = NULL;
    bark_engine_params d = bark_engine_default_params();
    if (!p) p = &d;
    if (!ctx || p->max_batch < 0 || p->n_threads < 0)
        return bark_fail(err, BARK_ERR_ARG, "engine: no context, or a negative batch or thread count");
    bark_engine *e = calloc(1, sizeof *e);
    if (!e) return bark_fail(err, BARK_ERR_NOMEM, "engine: out of memory");
    e->ctx = ctx;
    e->p = *p;
    if (!e->p.max_batch) e->p.max_batch = 8;
    pthread_mutex_init(&e->mu, NULL);
    *out = e;
    return BARK_OK;
}

void bark_engine_free(bark_engine *e) {
    if (!e) return;
    pthread_mutex_destroy(&e->mu);
    free(e);
}

bark_status bark_engine_synthesize(bark_engine *e, const char *text, const bark_synth_params *p,
                                   bark_synth_result *result, bark_error *err) {
    if (!e || !p) return bark_fail(err, BARK_ERR_ARG, "engine: no engine or parameters");
    bark_synth_params q = *p;
    q.n_threads = e->p.n_threads, q.isa = e->p.isa, q.gemm = e->p.gemm;
    pthread_mutex_lock(&e->mu);
    bark_status st = bark_synthesize(e->ctx, text, &q, result, err);
    pthread_mutex_unlock(&e->mu);
    return st;
}

void bark_engine_get_stats(bark_engine *e, bark_engine_stats *out) {
    memset(out, 0, sizeof *out);
    if (!e) return;
    out->max_batch = e->p.max_batch;
    out->n_threads = e->p.n_threads;
}
