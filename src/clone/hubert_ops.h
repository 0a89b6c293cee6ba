/* hubert_ops.h: the float kernels HuBERT and its quantizer share: dot, linear over stored rows, norms, GELU. */
#ifndef BARK_HUBERT_OPS_H
#define BARK_HUBERT_OPS_H

#include <stddef.h>

#include "model/model.h"

float hb_dot(const float *a, const float *b, size_t n);
/* Element i of a 1-D f32/f16 tensor. */
float hb_vec(const bark_tensor *t, size_t i);
/* The weight's rows are its last dim, each of hb_row_len(W) elements (the product of the other dims). */
size_t hb_row_len(const bark_tensor *W);
#define HB_ROW_BLOCK 8 /* weight rows expanded together, so each input row is read once per block */

/* y[t*ys + o] = W[o] . x[t*xs ..] (+ b[o]) for t < T and every row o. Each weight row is expanded once into
 * row[HB_ROW_BLOCK * hb_row_len(W)] (a block at a time) and used for all T steps. */
void hb_linear(float *y, size_t ys, const float *x, size_t xs, size_t T, const bark_tensor *W, const bark_tensor *b,
               float *row);
/* In place: x[t] = LayerNorm(x[t]) * w + b over C channels (eps 1e-5, biased variance). */
void hb_layernorm(float *x, size_t T, size_t C, const bark_tensor *w, const bark_tensor *b);
float hb_gelu(float x); /* exact (erf) GELU */

#endif
