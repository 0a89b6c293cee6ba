/* encodec_lstm.c: EnCodec's two-layer LSTM with skip connection, one frame at a time with carried state. */
#include "codec/encodec_ops.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

size_t encodec_lstm_state_floats(const encodec_lstm *l) { return (size_t)4 * l->dim + (size_t)4 * l->dim; }

void encodec_lstm_state_init(encodec_lstm_state *s, const encodec_lstm *l, float *mem) {
    const size_t d = (size_t)l->dim;
    s->l = l;
    for (int i = 0; i < 2; i++) {
        s->h[i] = mem + (2 * i) * d;
        s->c[i] = mem + (2 * i + 1) * d;
    }
    s->gates = mem + 4 * d;
    memset(mem, 0, 8 * d * sizeof *mem);
}

static float sigmoid(float v) { return 1.0f / (1.0f + expf(-v)); }

/* One step of layer i: (h, c) <- LSTM(u, h, c). */
static void step(encodec_lstm_state *s, int i, const float *u) {
    const encodec_lstm *l = s->l;
    const int d = l->dim;
    float *g = s->gates, *h = s->h[i], *c = s->c[i];
    memcpy(g, l->bias[i], (size_t)4 * d * sizeof *g);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, 4 * d, d, 1.0f, l->w_ih[i], d, u, 1, 1.0f, g, 1);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, 4 * d, d, 1.0f, l->w_hh[i], d, h, 1, 1.0f, g, 1);
    for (int j = 0; j < d; j++) {
        const float ig = sigmoid(g[j]), fg = sigmoid(g[d + j]);
        const float cg = tanhf(g[2 * d + j]), og = sigmoid(g[3 * d + j]);
        c[j] = fg * c[j] + ig * cg;
        h[j] = og * tanhf(c[j]);
    }
}

void encodec_lstm_push(encodec_lstm_state *s, const float *x, int n, float *y) {
    const int d = s->l->dim;
    for (int t = 0; t < n; t++) {
        const float *xt = x + (size_t)t * d;
        step(s, 0, xt);
        step(s, 1, s->h[0]);
        float *yt = y + (size_t)t * d;
        for (int j = 0; j < d; j++) yt[j] = s->h[1][j] + xt[j];
    }
}
