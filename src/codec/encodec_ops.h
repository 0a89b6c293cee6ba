/* encodec_ops.h: internal pieces shared by the EnCodec files: tensor table, layer stages and their state. */
#ifndef BARK_ENCODEC_OPS_H
#define BARK_ENCODEC_OPS_H

#include "codec/encodec.h"
#include "core/threadpool.h"

/* ---- the tensor table (encodec_weights.c) ---- */

/* GEMM weights (convs, transposed convs, LSTM) are stored as panels of ENCODEC_PANEL columns: element (r, c)
 * of a rows x cols matrix at encodec_panel_at(rows, r, c), the last panel zero-padded, so that the GEMM reads
 * each panel as one contiguous stream. */
#define ENCODEC_PANEL 16

static inline size_t encodec_panel_floats(int64_t rows, int64_t cols) {
    return (size_t)rows * (size_t)((cols + ENCODEC_PANEL - 1) / ENCODEC_PANEL * ENCODEC_PANEL);
}

static inline size_t encodec_panel_at(int64_t rows, int64_t r, int64_t c) {
    return (size_t)((c / ENCODEC_PANEL) * ENCODEC_PANEL * rows + r * ENCODEC_PANEL + c % ENCODEC_PANEL);
}

typedef enum encodec_tkind {
    ENCODEC_T_CONV,     /* torch [cout][cin][k] -> panels of [k][cin][cout];  GGUF ne {k, cin, cout} */
    ENCODEC_T_CONVTR,   /* torch [cin][cout][2S] -> panels of [2][cin][S][cout]; GGUF ne {k, cout, cin}
                         * (first the taps S..2S-1, which meet the previous input, then 0..S-1) */
    ENCODEC_T_VEC,      /* [n];                                                GGUF ne {n} */
    ENCODEC_T_MAT,      /* torch [rows][cols] unchanged;                       GGUF ne {cols, rows} */
    ENCODEC_T_LSTM,     /* torch [rows][cols] -> panels of [cols][rows];       GGUF ne {cols, rows} */
} encodec_tkind;

typedef struct encodec_tref {
    char name[64];     /* GGUF name */
    encodec_tkind kind;
    int n_dims;
    int64_t shape[3];  /* PyTorch order */
    float *dst;        /* NULL while only sizing */
    int accumulate;    /* LSTM bias_hh: added to the bias_ih already stored at dst */
    int encoder;       /* belongs to the encoder */
    float scale;       /* of the random generator */
} encodec_tref;

/* Number of tensors of a model with these hyper-parameters (checked ones). */
int encodec_tensor_count(const encodec_hparams *hp);
/* Fills refs[encodec_tensor_count(hp)] for m (m->hp must be set and m laid out). */
void encodec_tensor_list(const encodec_model *m, encodec_tref *refs);
/* Sets m->hp/hop and every weight pointer into one allocation (m->mem); encoder too if with_encoder. */
bark_status encodec_alloc(encodec_model *m, const encodec_hparams *hp, int with_encoder, bark_error *err);
/* Stores src (PyTorch order, all elements of r) at r->dst in the kernel layout. */
void encodec_store(const encodec_tref *r, const float *src);
/* Precomputes codebook_sq once the codebooks are filled. */
void encodec_finish_codebooks(encodec_model *m);
int64_t encodec_tref_numel(const encodec_tref *r);

/* ---- GEMM and ELU (encodec_gemm.c) ---- */

/* y[t*ldy + o] = (sum over i = 0..k-1, in that order from 0, of x[t*ldx + i] * W(i, o)) + b[o] (+ 0 if b is
 * NULL) for t < m, o < n, W the k x n panels at w, then that added to y's value if add; without fused
 * multiply-adds: every output the same bits whatever m, the other rows and columns, or the CPU's instruction set. */
void encodec_gemm(int m, int n, int k, const float *x, size_t ldx, const float *w, const float *b, float *y,
                  size_t ldy, int add);
/* The same on a pool's threads (NULL or one thread: the caller's); the same bits whatever the thread count. */
void encodec_gemm_pool(bark_pool *pool, int m, int n, int k, const float *x, size_t ldx, const float *w,
                       const float *b, float *y, size_t ldy, int add);
/* y = elu(x) (y may be x; polynomial exp, the same bits on every CPU) on a pool's threads (NULL: the caller's). */
void encodec_elu_pool(bark_pool *pool, const float *x, float *y, size_t n);
/* One LSTM cell update from the gates g[4*d] (i, f, g, o): c = sig(f) c + sig(i) tanh(g),
 * h = sig(o) tanh(c) (polynomial exp; the same bits on every CPU). */
void encodec_lstm_cell(const float *g, float *c, float *h, int d);
/* For the tests: the most capable x86 clone the functions here may take from now on (2 AVX-512, 1 AVX2, 0 generic,
 * never above the CPU's); returns the previous cap (2 at start; elsewhere than x86 there is only the generic code). */
int encodec_isa_cap(int cap);

/* ---- primitive operators (encodec_conv.c); pool: where the products run (NULL: the caller's thread) ---- */

/* Reflect padding of x[L][C] (time-major) held at buf[0..L): moves it to buf[pl..pl+L) and fills pl
 * columns before and pr after exactly like PyTorch's pad1d(mode='reflect') with EnCodec's small-input
 * zero extension. buf must hold pl + L + pr columns. */
void encodec_pad_reflect(float *buf, int L, int C, int pl, int pr);
/* y[m][cout] = bias + x[m][cin] * w (a 1x1 conv, time-major), added to y's values if add. */
void encodec_conv1x1(bark_pool *pool, const encodec_conv *c, const float *x, int m, float *y, int add);

/* A causal conv with its streaming state: left reflect padding k - stride at the start, right reflect
 * padding at the end of a stream whose length is not a multiple of the stride. */
typedef struct encodec_conv_state {
    const encodec_conv *c;
    int pad;      /* k - stride */
    int started;  /* the left padding has been built */
    int len, cap; /* columns held in buf (history + not yet used), capacity */
    float *buf;   /* [cap][cin] */
} encodec_conv_state;

/* Floats a conv state needs when pushes bring at most max_in columns. */
size_t encodec_conv_state_floats(const encodec_conv *c, int max_in);
/* Largest output count of one push of at most max_in columns. */
int encodec_conv_max_out(const encodec_conv *c, int max_in);
void encodec_conv_state_init(encodec_conv_state *s, const encodec_conv *c, int max_in, float *mem);
/* Where the next push's n columns go in the stream buffer (NULL if they would overflow it): a caller may write
 * them there and push that pointer, saving a copy. */
float *encodec_conv_next(encodec_conv_state *s, int n);
/* Pushes x[n][cin] (n <= max_in); writes *m rows y[*m][cout]. final marks the end of the stream. */
bark_status encodec_conv_push(bark_pool *pool, encodec_conv_state *s, const float *x, int n, int final, float *y,
                              int *m, bark_error *err);

/* A transposed conv (k = 2 * stride, causal right trim) after an ELU, as one product: output rows t*S .. t*S+S-1
 * are b + [x[t-1], x[t]] . W' (W' the 2*cin x S*cout panels of encodec_store), x[-1] = 0. */
typedef struct encodec_convtr_state {
    const encodec_conv *c;
    int max_in;
    float *bias; /* [stride][cout]: b repeated for the product's columns */
    float *buf;  /* [1 + max_in][cin]: the previous input row, then this push's elu(x) */
} encodec_convtr_state;

size_t encodec_convtr_state_floats(const encodec_conv *c, int max_in);
void encodec_convtr_state_init(encodec_convtr_state *s, const encodec_conv *c, int max_in, float *mem);
/* x[n][cin] -> y[n*stride][cout] = convtr(elu(x)), n <= max_in. */
bark_status encodec_convtr_push(bark_pool *pool, encodec_convtr_state *s, const float *x, int n, float *y,
                                bark_error *err);

/* A residual unit with its k3 conv state and the raw inputs whose output is still pending. */
typedef struct encodec_res_state {
    const encodec_resunit *u;
    encodec_conv_state conv1;
    int pend_len, pend_cap;
    float *pend; /* [max_in + pad][C] raw inputs not yet output */
    float *mid;  /* [max_out][H] */
} encodec_res_state;

size_t encodec_res_state_floats(const encodec_resunit *u, int max_in);
void encodec_res_state_init(encodec_res_state *s, const encodec_resunit *u, int max_in, float *mem);
/* x[n][C] -> y[*m][C]. */
bark_status encodec_res_push(bark_pool *pool, encodec_res_state *s, const float *x, int n, int final, float *y,
                             int *m, bark_error *err);

/* ---- LSTM (encodec_lstm.c) ---- */

typedef struct encodec_lstm_state {
    const encodec_lstm *l;
    int max_n;          /* frames whose input projections are computed together */
    float *h[2], *c[2]; /* [dim] each */
    float *gates;       /* [4*dim] */
    float *proj;        /* [max_n][4*dim] input projections (w_ih x + bias) */
    float *h0;          /* [max_n][dim] layer 0's outputs */
} encodec_lstm_state;

size_t encodec_lstm_state_floats(const encodec_lstm *l, int max_n);
void encodec_lstm_state_init(encodec_lstm_state *s, const encodec_lstm *l, int max_n, float *mem);
/* y[t] = h1_t + x[t] for n frames x[n][dim] (any n: max_n at a time; y may not alias x). */
void encodec_lstm_push(bark_pool *pool, encodec_lstm_state *s, const float *x, int n, float *y);

#endif
