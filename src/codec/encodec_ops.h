/* encodec_ops.h: internal pieces shared by the EnCodec files: tensor table, layer stages and their state. */
#ifndef BARK_ENCODEC_OPS_H
#define BARK_ENCODEC_OPS_H

#include "codec/encodec.h"

/* ---- the tensor table (encodec_weights.c) ---- */

typedef enum encodec_tkind {
    ENCODEC_T_CONV,     /* torch [cout][cin][k] -> w[k][cin][cout];  GGUF ne {k, cin, cout} */
    ENCODEC_T_CONVTR,   /* torch [cin][cout][k] -> w[cin][k][cout];  GGUF ne {k, cout, cin} */
    ENCODEC_T_VEC,      /* [n];                                       GGUF ne {n} */
    ENCODEC_T_MAT,      /* torch [rows][cols] unchanged;              GGUF ne {cols, rows} */
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

/* ---- primitive operators (encodec_conv.c) ---- */

float encodec_elu(float v);
void encodec_elu_inplace(float *x, size_t n);
/* Reflect padding of x[L][C] (time-major) held at buf[0..L): moves it to buf[pl..pl+L) and fills pl
 * columns before and pr after exactly like PyTorch's pad1d(mode='reflect') with EnCodec's small-input
 * zero extension. buf must hold pl + L + pr columns. */
void encodec_pad_reflect(float *buf, int L, int C, int pl, int pr);
/* y[m][cout] = bias + x[m][cin] * w (a 1x1 conv, time-major). */
void encodec_conv1x1(const encodec_conv *c, const float *x, int m, float *y);

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
/* Pushes x[n][cin] (n <= max_in); writes *m rows y[*m][cout]. final marks the end of the stream.
 * col: im2col scratch of encodec_conv_max_out * k * cin floats. */
bark_status encodec_conv_push(encodec_conv_state *s, const float *x, int n, int final, float *y, int *m,
                              float *col, bark_error *err);

/* A transposed conv (k = 2 * stride, causal right trim) with its overlap tail (bias-free). */
typedef struct encodec_convtr_state {
    const encodec_conv *c;
    int has_tail;
    float *tail; /* [stride][cout] */
} encodec_convtr_state;

void encodec_convtr_state_init(encodec_convtr_state *s, const encodec_conv *c, float *mem);
/* x[n][cin] -> y[n*stride][cout]; raw: scratch of n * k * cout floats. */
void encodec_convtr_push(encodec_convtr_state *s, const float *x, int n, float *y, float *raw);

/* A residual unit with its k3 conv state and the raw inputs whose output is still pending. */
typedef struct encodec_res_state {
    const encodec_resunit *u;
    encodec_conv_state conv1;
    int pend_len, pend_cap;
    float *pend; /* [max_in + pad][C] raw inputs not yet output */
    float *act;  /* [max_in][C] elu(x) */
    float *mid;  /* [max_out][H] */
    float *sc;   /* [max_out][C] */
} encodec_res_state;

size_t encodec_res_state_floats(const encodec_resunit *u, int max_in);
void encodec_res_state_init(encodec_res_state *s, const encodec_resunit *u, int max_in, float *mem);
/* x[n][C] -> y[*m][C]; col as for encodec_conv_push of block1. */
bark_status encodec_res_push(encodec_res_state *s, const float *x, int n, int final, float *y, int *m,
                             float *col, bark_error *err);

/* ---- LSTM (encodec_lstm.c) ---- */

typedef struct encodec_lstm_state {
    const encodec_lstm *l;
    float *h[2], *c[2]; /* [dim] each */
    float *gates;       /* [4*dim] */
} encodec_lstm_state;

size_t encodec_lstm_state_floats(const encodec_lstm *l);
void encodec_lstm_state_init(encodec_lstm_state *s, const encodec_lstm *l, float *mem);
/* y[t] = h1_t + x[t] for n frames x[n][dim] (y may not alias x). */
void encodec_lstm_push(encodec_lstm_state *s, const float *x, int n, float *y);

#endif
