/* encodec_encoder.c: EnCodec encoder (24 kHz samples -> latent -> RVQ codes), streaming in 320-sample units. */
#include "codec/encodec_ops.h"

#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

struct encodec_enc_stream {
    const encodec_model *m;
    bark_pool *pool; /* NULL: the caller's thread */
    int n_q;
    int finished;
    size_t samples_in, frames_out;
    encodec_conv_state in;
    encodec_res_state res[ENCODEC_MAX_RATIOS];
    encodec_conv_state down[ENCODEC_MAX_RATIOS];
    encodec_lstm_state lstm;
    encodec_conv_state out;
    int unit_len;
    float *unit;  /* [hop] samples waiting for a whole unit */
    float *a, *b; /* ping-pong activations [act] */
    float *lo;    /* LSTM output [lstm rows][C] */
    float *lat;   /* latent frames [lat rows][dimension] */
    float *r, *dist;
    float margin;
    float *mem;
};

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

/* Floats of the whole stream; with s non-NULL also carves mem into its buffers. One unit (hop samples)
 * enters per call, and every stage's bound on its output is the next stage's bound on its input. */
static size_t plan(const encodec_model *m, encodec_enc_stream *s, float *mem) {
    size_t used = 0, act = 0;
#define TAKE(n) (used += (n), mem ? mem + used - (n) : NULL)
    int mi = m->hop;
    const encodec_conv *in = &m->enc_in;
    float *p = TAKE(encodec_conv_state_floats(in, mi));
    if (s) encodec_conv_state_init(&s->in, in, mi, p);
    int mo = encodec_conv_max_out(in, mi);
    act = max_sz(act, (size_t)mo * in->cout);
    for (int i = 0; i < m->hp.n_ratios; i++) {
        const encodec_resunit *u = &m->enc_res[i];
        p = TAKE(encodec_res_state_floats(u, mo));
        if (s) encodec_res_state_init(&s->res[i], u, mo, p);
        mo += u->block1.k;
        act = max_sz(act, (size_t)mo * u->block1.cin);
        const encodec_conv *d = &m->enc_down[i];
        p = TAKE(encodec_conv_state_floats(d, mo));
        if (s) encodec_conv_state_init(&s->down[i], d, mo, p);
        const int mo2 = encodec_conv_max_out(d, mo);
        mo = mo2;
        act = max_sz(act, (size_t)mo * d->cout);
    }
    p = TAKE(encodec_lstm_state_floats(&m->enc_lstm, mo));
    if (s) encodec_lstm_state_init(&s->lstm, &m->enc_lstm, mo, p);
    p = TAKE((size_t)mo * m->enc_lstm.dim);
    if (s) s->lo = p;
    const encodec_conv *o = &m->enc_out;
    p = TAKE(encodec_conv_state_floats(o, mo));
    if (s) encodec_conv_state_init(&s->out, o, mo, p);
    const int mf = encodec_conv_max_out(o, mo);
    p = TAKE((size_t)mf * o->cout);
    if (s) s->lat = p;
    p = TAKE((size_t)m->hop);
    if (s) s->unit = p;
    p = TAKE(act);
    if (s) s->a = p;
    p = TAKE(act);
    if (s) s->b = p;
    p = TAKE((size_t)m->hp.dimension);
    if (s) s->r = p;
    p = TAKE((size_t)m->hp.codebook_size);
    if (s) s->dist = p;
#undef TAKE
    return used;
}

bark_status encodec_enc_stream_create(const encodec_model *m, int n_q, encodec_enc_stream **out, bark_error *err) {
    *out = NULL;
    if (!m->has_encoder)
        return bark_fail(err, BARK_ERR_MISSING, "encodec: the model file has no encoder weights (decoder only)");
    if (n_q < 1 || n_q > m->hp.n_q)
        return bark_fail(err, BARK_ERR_ARG, "encodec: %d codebooks asked, the model has 1..%d", n_q, m->hp.n_q);
    const size_t total = plan(m, NULL, NULL);
    encodec_enc_stream *s = calloc(1, sizeof *s);
    float *mem = calloc(total, sizeof *mem);
    if (!s || !mem) {
        free(s);
        free(mem);
        return bark_fail(err, BARK_ERR_NOMEM, "encodec: cannot allocate an encoder stream (%zu floats)", total);
    }
    s->m = m;
    s->n_q = n_q;
    s->mem = mem;
    s->margin = FLT_MAX;
    plan(m, s, mem);
    *out = s;
    return BARK_OK;
}

void encodec_enc_stream_free(encodec_enc_stream *s) {
    if (!s) return;
    free(s->mem);
    free(s);
}

void encodec_enc_stream_set_pool(encodec_enc_stream *s, bark_pool *pool) { s->pool = pool; }

float encodec_enc_stream_min_margin(const encodec_enc_stream *s) { return s->margin; }

size_t encodec_frames(const encodec_model *m, size_t n_samples) {
    const size_t hop = (size_t)m->hop;
    return n_samples / hop + (n_samples % hop != 0);
}

size_t encodec_enc_stream_out_frames(const encodec_enc_stream *s, size_t n) {
    return encodec_frames(s->m, s->samples_in + n) - s->frames_out;
}

/* Runs n samples (one unit or the last partial one) through every stage; emits frames at codes/latent. */
static bark_status run(encodec_enc_stream *s, const float *x, int n, int final, int32_t *codes, float *latent,
                       size_t ld, size_t cap, size_t *n_frames, bark_error *err) {
    const encodec_model *m = s->m;
    int mo = 0, mr = 0;
    bark_status st = encodec_conv_push(s->pool, &s->in, x, n, final, s->a, &mo, err);
    for (int i = 0; st == BARK_OK && i < m->hp.n_ratios; i++) {
        st = encodec_res_push(s->pool, &s->res[i], s->a, mo, final, s->b, &mr, err);
        if (st != BARK_OK) break;
        encodec_elu_pool(s->pool, s->b, s->b, (size_t)mr * m->enc_res[i].block1.cin);
        st = encodec_conv_push(s->pool, &s->down[i], s->b, mr, final, s->a, &mo, err);
    }
    if (st != BARK_OK) return st;
    encodec_lstm_push(s->pool, &s->lstm, s->a, mo, s->lo);
    encodec_elu_pool(s->pool, s->lo, s->lo, (size_t)mo * m->enc_lstm.dim);
    int mf = 0;
    st = encodec_conv_push(s->pool, &s->out, s->lo, mo, final, s->lat, &mf, err);
    if (st != BARK_OK) return st;
    if (*n_frames + (size_t)mf > cap)
        return bark_fail(err, BARK_ERR_ARG, "encodec_encoder.c: %zu frames exceed the output capacity %zu",
                         *n_frames + (size_t)mf, cap);
    const int D = m->hp.dimension;
    for (int j = 0; j < mf; j++) {
        const size_t f = *n_frames + (size_t)j;
        const float *z = s->lat + (size_t)j * D;
        encodec_rvq_encode_frame(m, z, s->n_q, codes + f, ld, s->r, s->dist, &s->margin);
        if (latent)
            for (int c = 0; c < D; c++) latent[(size_t)c * ld + f] = z[c];
    }
    *n_frames += (size_t)mf;
    s->frames_out += (size_t)mf;
    return BARK_OK;
}

bark_status encodec_enc_stream_push(encodec_enc_stream *s, const float *x, size_t n, int32_t *codes, float *latent,
                                    size_t ld, size_t cap_frames, size_t *n_frames, bark_error *err) {
    *n_frames = 0;
    if (s->finished) return bark_fail(err, BARK_ERR_ARG, "encodec: push after the encoder stream finished");
    if (n > SIZE_MAX - s->samples_in - (size_t)s->m->hop)
        return bark_fail(err, BARK_ERR_ARG, "encodec: %zu samples overflow the stream length", n);
    if (cap_frames > ld) return bark_fail(err, BARK_ERR_ARG, "encodec: capacity %zu > row stride %zu", cap_frames, ld);
    const size_t need = encodec_enc_stream_out_frames(s, n);
    if (cap_frames < need)
        return bark_fail(err, BARK_ERR_ARG, "encodec: room for %zu frames, this push may produce %zu", cap_frames, need);
    const int hop = s->m->hop;
    while (n > 0) {
        size_t take = (size_t)(hop - s->unit_len);
        if (take > n) take = n;
        memcpy(s->unit + s->unit_len, x, take * sizeof *x);
        s->unit_len += (int)take;
        s->samples_in += take;
        x += take;
        n -= take;
        if (s->unit_len == hop) {
            s->unit_len = 0;
            bark_status st = run(s, s->unit, hop, 0, codes, latent, ld, cap_frames, n_frames, err);
            if (st != BARK_OK) return st;
        }
    }
    return BARK_OK;
}

bark_status encodec_enc_stream_finish(encodec_enc_stream *s, int32_t *codes, float *latent, size_t ld,
                                      size_t cap_frames, size_t *n_frames, bark_error *err) {
    *n_frames = 0;
    if (s->finished) return BARK_OK;
    if (cap_frames > ld) return bark_fail(err, BARK_ERR_ARG, "encodec: capacity %zu > row stride %zu", cap_frames, ld);
    const size_t need = encodec_enc_stream_out_frames(s, 0);
    if (cap_frames < need)
        return bark_fail(err, BARK_ERR_ARG, "encodec: room for %zu frames, finish produces %zu", cap_frames, need);
    s->finished = 1;
    if (s->samples_in == 0) return BARK_OK;
    const int n = s->unit_len;
    s->unit_len = 0;
    bark_status st = run(s, s->unit, n, 1, codes, latent, ld, cap_frames, n_frames, err);
    if (st != BARK_OK) return st;
    if (s->frames_out != encodec_frames(s->m, s->samples_in))
        return bark_fail(err, BARK_ERR_ARG, "encodec_encoder.c: %zu frames for %zu samples", s->frames_out,
                         s->samples_in);
    return BARK_OK;
}

bark_status encodec_encode(const encodec_model *m, const float *x, size_t n, int n_q, int32_t *codes, float *latent,
                           float *min_margin, bark_error *err) {
    return encodec_encode_pool(m, x, n, n_q, codes, latent, min_margin, NULL, err);
}

bark_status encodec_encode_pool(const encodec_model *m, const float *x, size_t n, int n_q, int32_t *codes,
                                float *latent, float *min_margin, bark_pool *pool, bark_error *err) {
    if (n < 1) return bark_fail(err, BARK_ERR_ARG, "encodec: nothing to encode (0 samples)");
    encodec_enc_stream *s = NULL;
    bark_status st = encodec_enc_stream_create(m, n_q, &s, err);
    if (st != BARK_OK) return st;
    encodec_enc_stream_set_pool(s, pool);
    const size_t T = encodec_frames(m, n);
    size_t f1 = 0, f2 = 0;
    st = encodec_enc_stream_push(s, x, n, codes, latent, T, T, &f1, err);
    if (st == BARK_OK)
        st = encodec_enc_stream_finish(s, codes + f1, latent ? latent + f1 : NULL, T, T - f1, &f2, err);
    if (st == BARK_OK && f1 + f2 != T)
        st = bark_fail(err, BARK_ERR_ARG, "encodec_encoder.c: encoded %zu frames, expected %zu", f1 + f2, T);
    if (min_margin) *min_margin = s->margin;
    encodec_enc_stream_free(s);
    return st;
}
