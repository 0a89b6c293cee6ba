/* engine.c: the public bark_engine calls: an exec and a scheduler that every synthesis given to the engine shares. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/exec.h"
#include "generate/scheduler.h"
#include "synth/context.h"
#include "synth/stream.h"

struct bark_engine {
    const bark_context *ctx;
    int max_batch;
    bark_exec ex;
    bark_sched *sched;
};

bark_engine_params bark_engine_default_params(void) {
    bark_engine_params p = {.max_batch = 8};
    return p;
}

bark_status bark_engine_open(const bark_context *ctx, const bark_engine_params *p, bark_engine **out, bark_error *err) {
    *out = NULL;
    bark_engine_params d = bark_engine_default_params();
    if (!p) p = &d;
    if (!ctx) return bark_fail(err, BARK_ERR_ARG, "engine: no context");
    if (p->max_batch < 0 || p->max_batch > 64 || p->n_threads < 0)
        return bark_fail(err, BARK_ERR_ARG, "engine: a batch of %d (0..64) or %d threads", p->max_batch, p->n_threads);
    bark_engine *e = calloc(1, sizeof *e);
    if (!e) return bark_fail(err, BARK_ERR_NOMEM, "engine: out of memory");
    e->ctx = ctx;
    e->max_batch = p->max_batch ? p->max_batch : d.max_batch;
    bark_status st = bark_exec_init(&e->ex, p->n_threads, p->isa, p->gemm, err);
    if (!st) st = bark_sched_create(ctx->model, &e->ex, e->max_batch, &e->sched, err);
    if (st) {
        bark_engine_free(e);
        return st;
    }
    *out = e;
    return BARK_OK;
}

void bark_engine_free(bark_engine *e) {
    if (!e) return;
    bark_sched_free(e->sched);
    bark_exec_free(&e->ex);
    free(e);
}

bark_status bark_engine_synthesize(bark_engine *e, const char *text, const bark_synth_params *p,
                                   bark_synth_result *result, bark_error *err) {
    if (result) memset(result, 0, sizeof *result);
    if (!e || !text || !p) return bark_fail(err, BARK_ERR_ARG, "synthesize: no engine, text or parameters");
    return synth_say(e->ctx, e->sched, &e->ex, e->max_batch, text, p, result, err);
}

void bark_engine_get_stats(bark_engine *e, bark_engine_stats *out) {
    memset(out, 0, sizeof *out);
    if (e) bark_sched_stats(e->sched, out);
}
