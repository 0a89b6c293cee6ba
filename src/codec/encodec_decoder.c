/* encodec_decoder.c: EnCodec decoder (codes -> 24 kHz samples), streaming frame by frame and whole-sequence. */
#include "codec/encodec_ops.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* Frames decoded together after dec.0: the LSTM's input projections and every later conv take this many
 * frames' rows in one product (each output's arithmetic never depends on it, see encodec_gemm). */
#define DEC_BLOCK 16

struct encodec_dec_stream {
    const encodec_model *m;
    bark_pool *pool; /* NULL: the caller's thread */
    int n_q;
    int finished;
    size_t frames_in;
    encodec_conv_state in;
    encodec_lstm_state lstm;
    encodec_convtr_state up[ENCODEC_MAX_RATIOS];
    encodec_res_state res[ENCODEC_MAX_RATIOS];
    encodec_conv_state out;
    float *lat;   /* [DEC_BLOCK][dimension] latent frames */
    float *rows;  /* dec.0 output [DEC_BLOCK + k - 1][C] */
    float *lo;    /* LSTM output [DEC_BLOCK][C] */
    float *a, *b; /* ping-pong activations [act] */
    float *mem;
};

/* Floats a decoder stream needs: per-stage state and the scratch of one block's pass. */
typedef struct dec_sizes {
    size_t state, act, rows;
} dec_sizes;

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

/* Rows dec.0 can give for one push of DEC_BLOCK frames: all frames held back by its left padding come out
 * with the frame that completes it (dec.0 has stride 1, encodec_weights.c's layout). */
static int in_rows(const encodec_model *m) { return DEC_BLOCK + m->dec_in.k - 1; }

static dec_sizes sizes(const encodec_model *m) {
    dec_sizes z = {0, 0, 0};
    const encodec_conv *in = &m->dec_in;
    z.state += encodec_conv_state_floats(in, DEC_BLOCK);
    z.rows = (size_t)in_rows(m) * in->cout;
    z.state += encodec_lstm_state_floats(&m->dec_lstm, DEC_BLOCK);
    int rows = DEC_BLOCK;
    for (int i = 0; i < m->hp.n_ratios; i++) {
        const encodec_conv *up = &m->dec_up[i];
        z.state += encodec_convtr_state_floats(up, rows);
        rows *= up->stride;
        z.act = max_sz(z.act, (size_t)rows * up->cout);
        z.state += encodec_res_state_floats(&m->dec_res[i], rows);
    }
    z.state += encodec_conv_state_floats(&m->dec_out, rows);
    return z;
}

bark_status encodec_dec_stream_create(const encodec_model *m, int n_q, encodec_dec_stream **out, bark_error *err) {
    *out = NULL;
    if (n_q < 1 || n_q > m->hp.n_q)
        return bark_fail(err, BARK_ERR_ARG, "encodec: %d codebooks asked, the model has 1..%d", n_q, m->hp.n_q);
    const dec_sizes z = sizes(m);
    const size_t total = z.state + (size_t)DEC_BLOCK * m->hp.dimension + z.rows +
                         (size_t)DEC_BLOCK * m->dec_lstm.dim + 2 * z.act;
    encodec_dec_stream *s = calloc(1, sizeof *s);
    float *mem = calloc(total, sizeof *mem);
    if (!s || !mem) {
        free(s);
        free(mem);
        return bark_fail(err, BARK_ERR_NOMEM, "encodec: cannot allocate a decoder stream (%zu floats)", total);
    }
    s->m = m;
    s->n_q = n_q;
    s->mem = mem;
    encodec_conv_state_init(&s->in, &m->dec_in, DEC_BLOCK, mem);
    mem += encodec_conv_state_floats(&m->dec_in, DEC_BLOCK);
    encodec_lstm_state_init(&s->lstm, &m->dec_lstm, DEC_BLOCK, mem);
    mem += encodec_lstm_state_floats(&m->dec_lstm, DEC_BLOCK);
    int rows = DEC_BLOCK;
    for (int i = 0; i < m->hp.n_ratios; i++) {
        encodec_convtr_state_init(&s->up[i], &m->dec_up[i], rows, mem);
        mem += encodec_convtr_state_floats(&m->dec_up[i], rows);
        rows *= m->dec_up[i].stride;
        encodec_res_state_init(&s->res[i], &m->dec_res[i], rows, mem);
        mem += encodec_res_state_floats(&m->dec_res[i], rows);
    }
    encodec_conv_state_init(&s->out, &m->dec_out, rows, mem);
    mem += encodec_conv_state_floats(&m->dec_out, rows);
    s->lat = mem;
    mem += (size_t)DEC_BLOCK * m->hp.dimension;
    s->rows = mem;
    mem += z.rows;
    s->lo = mem;
    mem += (size_t)DEC_BLOCK * m->dec_lstm.dim;
    s->a = mem;
    mem += z.act;
    s->b = mem;
    *out = s;
    return BARK_OK;
}

void encodec_dec_stream_free(encodec_dec_stream *s) {
    if (!s) return;
    free(s->mem);
    free(s);
}

void encodec_dec_stream_set_pool(encodec_dec_stream *s, bark_pool *pool) { s->pool = pool; }

size_t encodec_dec_stream_out_size(const encodec_dec_stream *s, size_t n) {
    const size_t hop = (size_t)s->m->hop;
    if (s->in.started) return n * hop;
    const size_t seen = s->frames_in + n;
    return seen >= (size_t)s->in.pad + 1 ? seen * hop : 0;
}

/* n <= DEC_BLOCK dec.0 output frames x[n][C] through the rest of the decoder into y[n * hop]. */
static bark_status dec_block(encodec_dec_stream *s, const float *x, int n, float *y, bark_error *err) {
    const encodec_model *m = s->m;
    encodec_lstm_push(s->pool, &s->lstm, x, n, s->lo);
    float *cur = s->lo; /* convtr writes s->a, the residual unit s->b */
    int rows = n;
    for (int i = 0; i < m->hp.n_ratios; i++) {
        bark_status st = encodec_convtr_push(s->pool, &s->up[i], cur, rows, s->a, err);
        if (st != BARK_OK) return st;
        rows *= m->dec_up[i].stride;
        int got = 0;
        st = encodec_res_push(s->pool, &s->res[i], s->a, rows, 0, s->b, &got, err);
        if (st != BARK_OK) return st;
        if (got != rows) return bark_fail(err, BARK_ERR_ARG, "encodec_decoder.c: residual stage %d out of step", i);
        cur = s->b;
    }
    float *in = encodec_conv_next(&s->out, rows); /* elu straight into the conv's stream buffer */
    if (!in) return bark_fail(err, BARK_ERR_ARG, "encodec_decoder.c: %d rows overflow the output stage", rows);
    encodec_elu_pool(s->pool, cur, in, (size_t)rows * m->dec_out.cin);
    int got = 0;
    bark_status st = encodec_conv_push(s->pool, &s->out, in, rows, 0, y, &got, err);
    if (st != BARK_OK) return st;
    if (got != rows) return bark_fail(err, BARK_ERR_ARG, "encodec_decoder.c: output stage out of step");
    return BARK_OK;
}

/* The n dec.0 output rows in s->rows through the rest, DEC_BLOCK at a time. */
static bark_status run_rows(encodec_dec_stream *s, int n, float *out, bark_error *err) {
    const int C = s->m->dec_in.cout;
    for (int r = 0; r < n; r += DEC_BLOCK) {
        const int b = n - r < DEC_BLOCK ? n - r : DEC_BLOCK;
        bark_status st = dec_block(s, s->rows + (size_t)r * C, b, out + (size_t)r * s->m->hop, err);
        if (st != BARK_OK) return st;
    }
    return BARK_OK;
}

bark_status encodec_dec_stream_push(encodec_dec_stream *s, const int32_t *codes, size_t ld, size_t n, float *out,
                                    size_t cap, size_t *n_out, bark_error *err) {
    *n_out = 0;
    if (s->finished) return bark_fail(err, BARK_ERR_ARG, "encodec: push after the decoder stream finished");
    if (n < 1) return bark_fail(err, BARK_ERR_ARG, "encodec: a decoder push needs at least one frame");
    if (n > SIZE_MAX / (size_t)s->m->hop - 16)
        return bark_fail(err, BARK_ERR_ARG, "encodec: %zu frames is too many for one push", n);
    bark_status st = encodec_check_codes(s->m, codes, s->n_q, ld, n, err);
    if (st != BARK_OK) return st;
    const size_t need = encodec_dec_stream_out_size(s, n);
    if (cap < need)
        return bark_fail(err, BARK_ERR_ARG, "encodec: output buffer of %zu samples, this push needs %zu", cap, need);
    const int D = s->m->hp.dimension;
    for (size_t t0 = 0; t0 < n; t0 += DEC_BLOCK) {
        const int b = n - t0 < DEC_BLOCK ? (int)(n - t0) : DEC_BLOCK;
        for (int t = 0; t < b; t++)
            encodec_rvq_decode_frame(s->m, codes + t0 + t, s->n_q, ld, s->lat + (size_t)t * D);
        int m = 0;
        st = encodec_conv_push(s->pool, &s->in, s->lat, b, 0, s->rows, &m, err);
        if (st != BARK_OK) return st;
        s->frames_in += (size_t)b;
        st = run_rows(s, m, out + *n_out, err);
        if (st != BARK_OK) return st;
        *n_out += (size_t)m * s->m->hop;
    }
    return BARK_OK;
}

bark_status encodec_dec_stream_finish(encodec_dec_stream *s, float *out, size_t cap, size_t *n_out,
                                      bark_error *err) {
    *n_out = 0;
    if (s->finished) return BARK_OK;
    s->finished = 1;
    if (s->in.started || s->frames_in == 0) return BARK_OK;
    const size_t need = s->frames_in * (size_t)s->m->hop;
    if (cap < need)
        return bark_fail(err, BARK_ERR_ARG, "encodec: output buffer of %zu samples, finish needs %zu", cap, need);
    int m = 0;
    bark_status st = encodec_conv_push(s->pool, &s->in, NULL, 0, 1, s->rows, &m, err);
    if (st != BARK_OK) return st;
    st = run_rows(s, m, out, err);
    if (st != BARK_OK) return st;
    *n_out = (size_t)m * s->m->hop;
    return BARK_OK;
}

bark_status encodec_decode(const encodec_model *m, const int32_t *codes, int n_q, size_t T, float *out,
                           bark_error *err) {
    return encodec_decode_pool(m, codes, n_q, T, out, NULL, err);
}

bark_status encodec_decode_pool(const encodec_model *m, const int32_t *codes, int n_q, size_t T, float *out,
                                bark_pool *pool, bark_error *err) {
    if (T < 1) return bark_fail(err, BARK_ERR_ARG, "encodec: nothing to decode (0 frames)");
    bark_status st = encodec_check_codes(m, codes, n_q, T, T, err);
    if (st != BARK_OK) return st;
    encodec_dec_stream *s = NULL;
    st = encodec_dec_stream_create(m, n_q, &s, err);
    if (st != BARK_OK) return st;
    encodec_dec_stream_set_pool(s, pool);
    size_t n1 = 0, n2 = 0;
    const size_t total = T * (size_t)m->hop;
    st = encodec_dec_stream_push(s, codes, T, T, out, total, &n1, err);
    if (st == BARK_OK) st = encodec_dec_stream_finish(s, out + n1, total - n1, &n2, err);
    if (st == BARK_OK && n1 + n2 != total)
        st = bark_fail(err, BARK_ERR_ARG, "encodec_decoder.c: decoded %zu samples, expected %zu", n1 + n2, total);
    encodec_dec_stream_free(s);
    return st;
}
