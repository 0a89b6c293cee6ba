/* codec_api.c: the public EnCodec calls: codes to audio (bark_codes_to_audio) and the streaming bark_encoder. */
#include <stdlib.h>

#include "codec/encodec.h"
#include "core/error.h"
#include "synth/context.h"

#define DECODE_CHUNK 75 /* frames per decoder push (one second) */

/* Codebook counts of EnCodec's bandwidths 1.5, 3, 6, 12 and 24 kbps. */
static int valid_n_q(int n) { return n == 2 || n == 4 || n == 8 || n == 16 || n == 32; }

/* Hands n samples to the caller; a nonzero return stops the decode. */
static bark_status deliver(bark_audio_fn fn, void *user, const float *pcm, size_t n, bark_error *err) {
    if (n && fn(user, pcm, n)) return bark_fail(err, BARK_ERR_INTERRUPTED, "decoding stopped by the caller");
    return BARK_OK;
}

/* Checks every code, then decodes with m a chunk at a time. */
static bark_status decode(const encodec_model *m, const int32_t *codes, int n_q, size_t ld, size_t n_frames,
                          bark_audio_fn fn, void *user, bark_error *err) {
    bark_status st = encodec_check_codes(m, codes, n_q, ld, n_frames, err);
    encodec_dec_stream *s = NULL;
    if (!st) st = encodec_dec_stream_create(m, n_q, &s, err);
    const size_t cap = (size_t)m->hop * (DECODE_CHUNK + (size_t)m->hp.kernel_size);
    float *buf = st ? NULL : malloc(cap * sizeof *buf);
    if (!st && !buf) st = bark_fail(err, BARK_ERR_NOMEM, "out of memory for the decoder's output");
    size_t got = 0;
    for (size_t done = 0; !st && done < n_frames; done += DECODE_CHUNK) {
        const size_t n = n_frames - done < DECODE_CHUNK ? n_frames - done : DECODE_CHUNK;
        st = encodec_dec_stream_push(s, codes + done, ld, n, buf, cap, &got, err);
        if (!st) st = deliver(fn, user, buf, got, err);
    }
    if (!st) st = encodec_dec_stream_finish(s, buf, cap, &got, err);
    if (!st) st = deliver(fn, user, buf, got, err);
    free(buf);
    encodec_dec_stream_free(s);
    return st;
}

bark_status bark_codes_to_audio(const bark_context *ctx, const int32_t *codes, int n_q, size_t ld, size_t n_frames,
                                bark_audio_fn fn, void *user, bark_error *err) {
    if (!valid_n_q(n_q))
        return bark_fail(err, BARK_ERR_ARG, "%d codebooks: EnCodec codes have 2, 4, 8, 16 or 32", n_q);
    if (ld < n_frames) return bark_fail(err, BARK_ERR_ARG, "code row stride %zu < %zu frames", ld, n_frames);
    if (!fn) return bark_fail(err, BARK_ERR_ARG, "no audio callback");
    bark_status st = bark_context_require(ctx, BARK_STAGE_CODEC, err);
    if (st) return st;
    if (n_q <= ctx->codec.hp.n_q) return decode(&ctx->codec, codes, n_q, ld, n_frames, fn, user, err);
    encodec_model more; /* the context holds Bark's 8 codebooks; more are read for this call */
    st = encodec_load_part(ctx->model, 0, n_q, &more, err);
    if (!st && more.hp.n_q < n_q)
        st = bark_fail(err, BARK_ERR_MISSING, "%s: %d codebooks asked, the model stores %d",
                       bark_model_path(ctx->model), n_q, more.hp.n_q);
    if (!st) st = decode(&more, codes, n_q, ld, n_frames, fn, user, err);
    encodec_free(&more);
    return st;
}

struct bark_encoder {
    encodec_model em;
    encodec_enc_stream *s;
    int n_q;
};

bark_status bark_encoder_create(const bark_context *ctx, double kbps, bark_encoder **out, bark_error *err) {
    *out = NULL;
    bark_status st = bark_context_require(ctx, BARK_STAGE_CODEC, err);
    if (st) return st;
    bark_encoder *e = calloc(1, sizeof *e);
    if (!e) return bark_fail(err, BARK_ERR_NOMEM, "out of memory");
    st = encodec_load(ctx->model, &e->em, err);
    if (!st && !(e->n_q = encodec_n_q_for_bandwidth(&e->em, kbps)))
        st = bark_fail(err, BARK_ERR_ARG, "bandwidth %g kbps is not available (1.5, 3, 6, 12 or 24, using at most "
                       "the %d codebooks of the model)", kbps, e->em.hp.n_q);
    if (!st) st = encodec_enc_stream_create(&e->em, e->n_q, &e->s, err);
    if (st) {
        bark_encoder_free(e);
        return st;
    }
    *out = e;
    return BARK_OK;
}

int bark_encoder_n_q(const bark_encoder *e) { return e->n_q; }

size_t bark_encoder_max_frames(const bark_encoder *e, size_t n) { return encodec_enc_stream_out_frames(e->s, n); }

bark_status bark_encoder_push(bark_encoder *e, const float *pcm, size_t n, int last, int32_t *codes, size_t ld,
                              size_t cap, size_t *n_frames, bark_error *err) {
    size_t f1 = 0, f2 = 0;
    *n_frames = 0;
    bark_status st = n ? encodec_enc_stream_push(e->s, pcm, n, codes, NULL, ld, cap, &f1, err) : BARK_OK;
    if (!st && last) st = encodec_enc_stream_finish(e->s, codes + f1, NULL, ld, cap - f1, &f2, err);
    if (!st) *n_frames = f1 + f2;
    return st;
}

void bark_encoder_free(bark_encoder *e) {
    if (!e) return;
    encodec_enc_stream_free(e->s);
    encodec_free(&e->em);
    free(e);
}
