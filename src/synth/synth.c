/* synth.c: the public synthesis calls: text -> pieces -> semantic -> coarse -> fine -> EnCodec -> on_audio. */
#include <stdlib.h>
#include <string.h>

#include "core/bark_constants.h"
#include "core/error.h"
#include "synth/stream.h"

bark_synth_params bark_synth_default_params(void) {
    bark_synth_params p = {
        .text_temp = 0.7f,
        .waveform_temp = 0.7f,
        .fine_temp = 0.5f,
        .top_p = -1.0f,
        .min_eos_p = 0.2f,
        .max_piece = TEXT_SPLIT_DEFAULT_MAX,
    };
    return p;
}

/* The three stages' parameters from the public ones (values are checked by the stages themselves). */
static bark_gen_params gen_params(const bark_synth_params *p, const bark_exec *ex, bark_sched *sched) {
    bark_gen_params g = bark_gen_default_params();
    g.semantic.sample.temp = p->text_temp;
    g.coarse.sample.temp = p->waveform_temp;
    g.fine.sample.temp = p->fine_temp;
    g.semantic.sample.top_k = g.coarse.sample.top_k = p->top_k;
    g.semantic.sample.top_p = g.coarse.sample.top_p = p->top_p;
    g.semantic.sample.greedy = g.coarse.sample.greedy = g.fine.sample.greedy = p->greedy != 0;
    g.semantic.min_eos_p = p->min_eos_p;
    g.semantic.max_gen_duration_s = p->max_seconds;
    g.semantic.exec = g.coarse.exec = g.fine.exec = ex;
    g.semantic.sched = g.coarse.sched = g.fine.sched = sched;
    return g;
}

/* The voice the parameters name, copied into *v (zeroed when there is none); *use points at it or is NULL. */
static bark_status load_voice(const bark_context *c, const bark_synth_params *p, bark_voice *v, const bark_voice **use,
                              bark_error *err) {
    memset(v, 0, sizeof *v);
    *use = NULL;
    if (p->voice_prompt) {
        *use = p->voice_prompt;
        return BARK_OK;
    }
    if (!p->voice || !*p->voice) return BARK_OK;
    bark_status st = bark_voice_find(c->model, p->voices_dir, p->voice, v, err);
    if (!st) *use = v;
    return st;
}

/* What every call checks first: the stages it needs, the parameters and the voice. */
static bark_status prepare(const bark_context *c, const char *text, const bark_synth_params *p, bark_stage last,
                           bark_voice *v, const bark_voice **use, bark_error *err) {
    if (!c || !text || !p) return bark_fail(err, BARK_ERR_ARG, "synthesize: no context, text or parameters");
    if (p->pacing != BARK_PACE_NONE && p->pacing != BARK_PACE_PIECE && p->pacing != BARK_PACE_NO_GAPS)
        return bark_fail(err, BARK_ERR_ARG, "synthesize: unknown pacing %d", (int)p->pacing);
    if (p->n_threads < 0) return bark_fail(err, BARK_ERR_ARG, "synthesize: %d threads", p->n_threads);
    bark_status st = bark_context_require(c, last, err);
    if (!st) st = load_voice(c, p, v, use, err);
    return st;
}

bark_status synth_say(const bark_context *c, bark_sched *sched, const bark_exec *ex, int max_batch, const char *text,
                      const bark_synth_params *p, bark_synth_result *result, bark_error *err) {
    bark_voice v = {0};
    const bark_voice *voice = NULL;
    text_piece *pieces = NULL;
    size_t n_pieces = 0;
    char *styled = NULL;
    if (result) memset(result, 0, sizeof *result);
    bark_status st = prepare(c, text, p, BARK_STAGE_CODEC, &v, &voice, err);
    if (!st && p->style) st = bark_style_apply(p->style, text, &styled, err);
    if (styled) text = styled;
    if (!st) st = text_split(text, strlen(text), p->max_piece ? p->max_piece : (size_t)-1, &pieces, &n_pieces, err);
    if (!st) st = text_split_lead(text, &pieces, &n_pieces, err);
    synth_job j = {.ctx = c, .text = text, .pieces = pieces, .n_pieces = n_pieces, .voice = voice,
                   .max_batch = max_batch, .p = p, .first_audio = -1};
    if (!st) {
        j.gen = gen_params(p, ex, sched);
        st = synth_stream_run(&j, err);
    }
    if (result) {
        double audio = (double)j.frames / BARK_COARSE_RATE_HZ;
        *result = (bark_synth_result){n_pieces, j.frames, j.samples, bark_pool_threads(ex->pool), ex->k->name, audio,
                                      j.first_audio, j.gen_end, synth_now() - j.start, audio > 0 ? j.gen_end / audio : 0};
    }
    free(pieces);
    free(styled);
    bark_voice_free(&v);
    return st;
}

bark_status bark_synthesize(const bark_context *c, const char *text, const bark_synth_params *p,
                            bark_synth_result *result, bark_error *err) {
    bark_engine_params ep = bark_engine_default_params();
    if (result) memset(result, 0, sizeof *result);
    if (!c || !text || !p) return bark_fail(err, BARK_ERR_ARG, "synthesize: no context, text or parameters");
    ep.n_threads = p->n_threads, ep.isa = p->isa, ep.gemm = p->gemm;
    /* one piece at a time: on the 2-CPU machine measured (make bench), 10 pieces batched 8 at once ran slower than
     * pieces one after another (rtf_long 3.0 against ~2.2); an engine of the caller's batches them */
    ep.max_batch = 1;
    bark_engine *e;
    bark_status st = bark_engine_open(c, &ep, &e, err);
    if (!st) st = bark_engine_synthesize(e, text, p, result, err);
    bark_engine_free(e);
    return st;
}

static int report_codes(void *user, bark_stage stage, size_t done, size_t total) {
    return synth_report(user, stage, done, total);
}

bark_status bark_text_to_codes(const bark_context *c, const char *text, const bark_synth_params *p, bark_stage last,
                               bark_codes *out, bark_error *err) {
    bark_exec ex = {0};
    bark_voice v = {0};
    const bark_voice *voice = NULL;
    memset(out, 0, sizeof *out);
    if (last != BARK_STAGE_SEMANTIC && last != BARK_STAGE_COARSE && last != BARK_STAGE_FINE)
        return bark_fail(err, BARK_ERR_ARG, "codes: the last stage is semantic, coarse or fine");
    char *styled = NULL;
    bark_status st = prepare(c, text, p, last, &v, &voice, err);
    if (!st && p->style) st = bark_style_apply(p->style, text, &styled, err);
    if (styled) text = styled;
    if (!st) st = bark_exec_init(&ex, p->n_threads, p->isa, p->gemm, err);
    int32_t ids[256];
    size_t n_text;
    int truncated;
    if (!st) st = bark_text_to_semantic_input(c->tok, text, strlen(text), ids, &n_text, &truncated, err);
    if (!st) {
        synth_reporter r = {p, 0, 1, strlen(text), synth_now(), 0};
        bark_gen_params g = gen_params(p, &ex, NULL);
        bark_steps steps = {report_codes, &r};
        g.semantic.progress = g.coarse.progress = g.fine.progress = steps;
        g.last = last;
        bark_rng rng;
        synth_piece_rng(&rng, p->seed, 0);
        st = bark_generate_codes(c->model, ids, voice, &g, &rng, out, err);
    }
    free(styled);
    bark_voice_free(&v);
    bark_exec_free(&ex);
    return st;
}
