/* clone_api.c: bark_clone_file: a voice prompt from a recording, loading the models it needs for the call. */
#include <stdlib.h>
#include <string.h>

#include "clone/clone.h"
#include "core/bark_constants.h"
#include "core/error.h"
#include "core/exec.h"
#include "core/rng.h"
#include "generate/generate.h"
#include "synth/context.h"

bark_clone_params bark_clone_default_params(void) {
    const clone_params c = clone_default_params();
    bark_clone_params p = {c.max_seconds, c.silence_dbfs, 0, NULL, NULL, 0};
    return p;
}

/* HuBERT and its quantizer from `path` (required; *hm gets that file) or, with no path, from the context's model
 * file if it holds either. *have = 1 once both are loaded. */
static bark_status load_hubert(const bark_context *ctx, const char *path, bark_model **hm, hubert_model *h,
                               hubq_model *q, int *have, bark_error *err) {
    const bark_model *src = ctx->model;
    bark_status st = BARK_OK;
    *have = 0;
    if (!path && !bark_model_has_hubert(src) && !bark_model_has_hubq(src)) return BARK_OK; /* codes only */
    if (path && strcmp(path, bark_model_path(ctx->model)) != 0) {
        if ((st = bark_model_open(path, hm, err))) return st;
        src = *hm;
    }
    st = hubert_load(src, h, err);
    if (!st) st = hubq_load(src, q, err);
    *have = !st;
    return st;
}

/* The weaker way: semantic tokens generated from the transcript, as long as the kept audio. */
static bark_status semantic_from_text(const bark_context *ctx, const bark_clone_params *p, double seconds,
                                      bark_voice *v, bark_error *err) {
    bark_status st = bark_context_require(ctx, BARK_STAGE_SEMANTIC, err);
    if (st) return st;
    int32_t ids[256], *out = malloc(BARK_SEMANTIC_MAX_TOKENS * sizeof *out);
    size_t n_text = 0, n_out = 0;
    int truncated = 0;
    bark_exec ex;
    memset(&ex, 0, sizeof ex);
    if (!out) return bark_fail(err, BARK_ERR_NOMEM, "out of memory");
    st = bark_text_to_semantic_input(ctx->tok, p->transcript, strlen(p->transcript), ids, &n_text, &truncated, err);
    if (!st) st = bark_exec_init(&ex, p->n_threads, NULL, BARK_GEMM_AUTO, err);
    bark_semantic_params sp = bark_semantic_default_params();
    sp.max_gen_duration_s = seconds;
    sp.exec = &ex;
    bark_rng rng;
    bark_rng_seed(&rng, p->seed);
    if (!st) st = bark_generate_semantic(ctx->model, ids, NULL, &sp, &rng, out, &n_out, err);
    if (!st && n_out == 0) st = bark_fail(err, BARK_ERR_ARG, "the semantic model produced no token for the transcript");
    if (!st && n_out < 2)
        st = bark_fail(err, BARK_ERR_ARG, "the semantic model made only %zu token(s) for the transcript", n_out);
    if (!st) {
        v->semantic = out;
        v->n_semantic = n_out;
        out = NULL;
    }
    bark_exec_free(&ex);
    free(out);
    return st;
}

bark_status bark_clone_file(const bark_context *ctx, const char *path, const bark_clone_params *params,
                            bark_voice *out, bark_clone_info *info, bark_error *err) {
    const bark_clone_params p = params ? *params : bark_clone_default_params();
    memset(out, 0, sizeof *out);
    if (info) memset(info, 0, sizeof *info);
    encodec_model em;
    hubert_model h;
    hubq_model q;
    memset(&em, 0, sizeof em);
    memset(&q, 0, sizeof q);
    bark_model *hm = NULL;
    int have_hubert = 0;
    const clone_params cp = {p.max_seconds, p.silence_dbfs};
    clone_info ci;
    bark_status st = bark_context_require(ctx, BARK_STAGE_CODEC, err);
    if (!st && !p.transcript) st = load_hubert(ctx, p.hubert_path, &hm, &h, &q, &have_hubert, err);
    if (!st) st = encodec_load_part(ctx->model, 1, BARK_N_FINE_CODEBOOKS, &em, err); /* the encoder, 6 kbps */
    if (!st)
        st = clone_reference(path, &em, have_hubert ? &h : NULL, have_hubert ? &q : NULL, &cp, out, &ci, err);
    if (!st && p.transcript) st = semantic_from_text(ctx, &p, ci.kept_seconds, out, err);
    if (!st && p.transcript) clone_align_prompt(out);
    if (st) bark_voice_free(out);
    if (!st && info) {
        info->file_rate = ci.file_rate, info->file_channels = ci.file_channels;
        info->file_seconds = ci.file_seconds, info->kept_seconds = ci.kept_seconds;
        info->lead_trimmed = ci.lead_trimmed, info->tail_trimmed = ci.tail_trimmed;
        info->cut = ci.cut, info->clipped_fraction = ci.clipped_fraction;
        info->has_semantic = out->n_semantic > 0;
    }
    encodec_free(&em);
    hubq_free(&q);
    bark_model_close(hm);
    return st;
}
