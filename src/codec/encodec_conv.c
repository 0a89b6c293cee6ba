/* encodec_conv.c: EnCodec's causal conv, transposed conv, residual unit and reflect padding, all streamable. */
#include "codec/encodec_ops.h"

#include <string.h>

#include "core/error.h"

void encodec_pad_reflect(float *buf, int L, int C, int pl, int pr) {
    const int m = pl > pr ? pl : pr;
    const int z = L <= m ? m - L + 1 : 0; /* temporary zero extension of a too short input */
    const size_t cb = (size_t)C * sizeof *buf;
    memmove(buf + (size_t)pl * C, buf, (size_t)L * cb);
    const float *x = buf + (size_t)pl * C;
    for (int j = 0; j < pl; j++) {
        const int src = pl - j;
        if (src < L)
            memcpy(buf + (size_t)j * C, x + (size_t)src * C, cb);
        else
            memset(buf + (size_t)j * C, 0, cb);
    }
    float *right = buf + (size_t)(pl + L) * C;
    for (int j = 0; j < pr; j++) {
        const int src = L + z - 2 - (j - z);
        if (j < z || src >= L)
            memset(right + (size_t)j * C, 0, cb);
        else
            memcpy(right + (size_t)j * C, x + (size_t)src * C, cb);
    }
}

void encodec_conv1x1(bark_pool *pool, const encodec_conv *c, const float *x, int m, float *y, int add) {
    encodec_gemm_pool(pool, m, c->cout, c->cin, x, (size_t)c->cin, c->w, c->b, y, (size_t)c->cout, add);
}

/* ---- causal conv ---- */

static int conv_cap(const encodec_conv *c, int max_in) { return max_in + 2 * c->k + 2; }

size_t encodec_conv_state_floats(const encodec_conv *c, int max_in) {
    return (size_t)conv_cap(c, max_in) * c->cin;
}

int encodec_conv_max_out(const encodec_conv *c, int max_in) { return conv_cap(c, max_in) / c->stride + 1; }

void encodec_conv_state_init(encodec_conv_state *s, const encodec_conv *c, int max_in, float *mem) {
    s->c = c;
    s->pad = c->k - c->stride;
    s->started = 0;
    s->len = 0;
    s->cap = conv_cap(c, max_in);
    s->buf = mem;
}

float *encodec_conv_next(encodec_conv_state *s, int n) {
    if (n < 0 || s->len + n + s->pad + s->c->stride > s->cap) return NULL;
    return s->buf + (size_t)s->len * s->c->cin;
}

bark_status encodec_conv_push(bark_pool *pool, encodec_conv_state *s, const float *x, int n, int final, float *y,
                              int *m, bark_error *err) {
    const encodec_conv *c = s->c;
    const int K = c->k, S = c->stride, C = c->cin;
    *m = 0;
    float *dst = encodec_conv_next(s, n);
    if (!dst)
        return bark_fail(err, BARK_ERR_ARG, "encodec_conv.c: %d columns overflow a stream buffer of %d", n, s->cap);
    if (n > 0 && x != dst) memcpy(dst, x, (size_t)n * C * sizeof *x);
    s->len += n;
    int short_input = 0;
    if (!s->started) {
        if (s->len >= s->pad + 1) {
            encodec_pad_reflect(s->buf, s->len, C, s->pad, 0);
            s->len += s->pad;
        } else if (final && s->len > 0) { /* the whole stream is shorter than the left padding */
            const int extra = (S - s->len % S) % S;
            encodec_pad_reflect(s->buf, s->len, C, s->pad, extra);
            s->len += s->pad + extra;
            short_input = 1;
        } else {
            return BARK_OK;
        }
        s->started = 1;
    }
    if (final && !short_input) {
        /* right reflect padding so that the real columns not yet used fill whole strides */
        const int extra = (S - (s->len - s->pad) % S) % S;
        for (int j = 0; j < extra; j++)
            memcpy(s->buf + (size_t)(s->len + j) * C, s->buf + (size_t)(s->len - 2 - j) * C, (size_t)C * sizeof *x);
        s->len += extra;
    }
    const int nw = s->len >= K ? (s->len - K) / S + 1 : 0;
    if (nw > 0) {
        /* window j is the K * C contiguous floats from column j * S */
        encodec_gemm_pool(pool, nw, c->cout, K * C, s->buf, (size_t)S * C, c->w, c->b, y, (size_t)c->cout, 0);
        const int used = nw * S;
        memmove(s->buf, s->buf + (size_t)used * C, (size_t)(s->len - used) * C * sizeof *x);
        s->len -= used;
    }
    *m = nw;
    return BARK_OK;
}

/* ---- transposed conv ---- */

size_t encodec_convtr_state_floats(const encodec_conv *c, int max_in) {
    return (size_t)c->stride * c->cout + (size_t)(1 + max_in) * c->cin;
}

void encodec_convtr_state_init(encodec_convtr_state *s, const encodec_conv *c, int max_in, float *mem) {
    s->c = c;
    s->max_in = max_in;
    s->bias = mem;
    for (int r = 0; r < c->stride; r++) memcpy(s->bias + (size_t)r * c->cout, c->b, (size_t)c->cout * sizeof *mem);
    s->buf = mem + (size_t)c->stride * c->cout;
    memset(s->buf, 0, (size_t)(1 + max_in) * c->cin * sizeof *mem);
}

bark_status encodec_convtr_push(bark_pool *pool, encodec_convtr_state *s, const float *x, int n, float *y,
                                bark_error *err) {
    const encodec_conv *c = s->c;
    const size_t C = (size_t)c->cin;
    if (n < 0 || n > s->max_in)
        return bark_fail(err, BARK_ERR_ARG, "encodec_conv.c: %d rows overflow a transposed conv buffer of %d", n,
                         s->max_in);
    if (n == 0) return BARK_OK;
    encodec_elu_pool(pool, x, s->buf + C, (size_t)n * C);
    const int N = c->stride * c->cout;
    encodec_gemm_pool(pool, n, N, 2 * c->cin, s->buf, C, c->w, s->bias, y, (size_t)N, 0);
    memcpy(s->buf, s->buf + (size_t)n * C, C * sizeof *s->buf);
    return BARK_OK;
}

/* ---- residual unit ---- */

static int res_pend_cap(const encodec_resunit *u, int max_in) { return max_in + u->block1.k; }

size_t encodec_res_state_floats(const encodec_resunit *u, int max_in) {
    const size_t C = (size_t)u->block1.cin, H = (size_t)u->block1.cout;
    const size_t pc = (size_t)res_pend_cap(u, max_in);
    return encodec_conv_state_floats(&u->block1, max_in) + pc * C + pc * H;
}

void encodec_res_state_init(encodec_res_state *s, const encodec_resunit *u, int max_in, float *mem) {
    const size_t C = (size_t)u->block1.cin;
    const size_t pc = (size_t)res_pend_cap(u, max_in);
    s->u = u;
    encodec_conv_state_init(&s->conv1, &u->block1, max_in, mem);
    mem += encodec_conv_state_floats(&u->block1, max_in);
    s->pend_len = 0;
    s->pend_cap = (int)pc;
    s->pend = mem;
    mem += pc * C;
    s->mid = mem;
}

bark_status encodec_res_push(bark_pool *pool, encodec_res_state *s, const float *x, int n, int final, float *y,
                             int *m, bark_error *err) {
    const encodec_resunit *u = s->u;
    const int C = u->block1.cin;
    const int pc = s->pend_cap;
    *m = 0;
    if (s->pend_len + n > pc)
        return bark_fail(err, BARK_ERR_ARG, "encodec_conv.c: %d columns overflow a residual unit buffer", n);
    memcpy(s->pend + (size_t)s->pend_len * C, x, (size_t)n * C * sizeof *x);
    s->pend_len += n;
    float *act = encodec_conv_next(&s->conv1, n); /* elu(x) goes straight into the conv's stream buffer */
    if (!act) return bark_fail(err, BARK_ERR_ARG, "encodec_conv.c: %d columns overflow a residual unit's conv", n);
    encodec_elu_pool(pool, x, act, (size_t)n * C);
    int m1 = 0;
    bark_status st = encodec_conv_push(pool, &s->conv1, act, n, final, s->mid, &m1, err);
    if (st != BARK_OK) return st;
    if (m1 > s->pend_len) return bark_fail(err, BARK_ERR_ARG, "encodec_conv.c: residual unit out of step");
    if (m1 == 0) return BARK_OK;
    encodec_elu_pool(pool, s->mid, s->mid, (size_t)m1 * u->block1.cout);
    encodec_conv1x1(pool, &u->shortcut, s->pend, m1, y, 0);
    encodec_conv1x1(pool, &u->block3, s->mid, m1, y, 1); /* shortcut + block3, as PyTorch adds them */
    memmove(s->pend, s->pend + (size_t)m1 * C, (size_t)(s->pend_len - m1) * C * sizeof *x);
    s->pend_len -= m1;
    *m = m1;
    return BARK_OK;
}
