/* encodec_lstm.c: EnCodec's two-layer LSTM with skip connection, carried state, input projections batched. */
#include "codec/encodec_ops.h"

#include <string.h>

size_t encodec_lstm_state_floats(const encodec_lstm *l, int max_n) {
    const size_t d = (size_t)l->dim;
    return 4 * d + 4 * d + (size_t)max_n * 4 * d + (size_t)max_n * d;
}

void encodec_lstm_state_init(encodec_lstm_state *s, const encodec_lstm *l, int max_n, float *mem) {
    const size_t d = (size_t)l->dim;
    s->l = l;
    s->max_n = max_n;
    for (int i = 0; i < 2; i++) {
        s->h[i] = mem + (2 * i) * d;
        s->c[i] = mem + (2 * i + 1) * d;
    }
    s->gates = mem + 4 * d;
    s->proj = mem + 8 * d;
    s->h0 = s->proj + (size_t)max_n * 4 * d;
    memset(mem, 0, 8 * d * sizeof *mem);
}

/* One step of layer i: (h, c) <- LSTM(h, c) with the input's projection p[4*dim] (w_ih u + bias) given. */
static void step(bark_pool *pool, encodec_lstm_state *s, int i, const float *p) {
    const encodec_lstm *l = s->l;
    const int d = l->dim;
    float *g = s->gates, *h = s->h[i], *c = s->c[i];
    encodec_gemm_pool(pool, 1, 4 * d, d, h, (size_t)d, l->w_hh[i], p, g, (size_t)4 * d, 0);
    encodec_lstm_cell(g, c, h, d);
}

void encodec_lstm_push(bark_pool *pool, encodec_lstm_state *s, const float *x, int n, float *y) {
    const encodec_lstm *l = s->l;
    const int d = l->dim;
    const size_t g4 = (size_t)4 * d;
    for (int t0 = 0; t0 < n; t0 += s->max_n) {
        const int b = n - t0 < s->max_n ? n - t0 : s->max_n;
        const float *xb = x + (size_t)t0 * d;
        encodec_gemm_pool(pool, b, 4 * d, d, xb, (size_t)d, l->w_ih[0], l->bias[0], s->proj, g4, 0);
        for (int t = 0; t < b; t++) {
            step(pool, s, 0, s->proj + t * g4);
            memcpy(s->h0 + (size_t)t * d, s->h[0], (size_t)d * sizeof *y);
        }
        encodec_gemm_pool(pool, b, 4 * d, d, s->h0, (size_t)d, l->w_ih[1], l->bias[1], s->proj, g4, 0);
        for (int t = 0; t < b; t++) {
            step(pool, s, 1, s->proj + t * g4);
            float *yt = y + (size_t)(t0 + t) * d;
            const float *xt = xb + (size_t)t * d;
            for (int j = 0; j < d; j++) yt[j] = s->h[1][j] + xt[j];
        }
    }
}
