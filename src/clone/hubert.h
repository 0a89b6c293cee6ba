/* hubert.h: HuBERT base (16 kHz speech -> 50 Hz features of one intermediate layer) and the quantizer that
 * turns those features into Bark's semantic tokens (gitmylo's bark-voice-cloning-HuBERT-quantizer). */
#ifndef BARK_HUBERT_H
#define BARK_HUBERT_H

#include <stddef.h>
#include <stdint.h>

#include "bark.h"
#include "model/model.h"

#define HUBERT_MAX_CONV 8
#define HUBERT_MAX_LAYERS 24
#define HUBERT_SAMPLE_RATE 16000
#define HUBERT_OUTPUT_LAYER 9 /* the layer the quantizer reads (fairseq output_layer=9, HF hidden_states[9]) */

/* Hyper-parameters (hubert.* keys and tensor shapes, models/FORMAT.md). */
typedef struct hubert_hparams {
    int n_conv, conv_dim;                                        /* 7, 512 */
    int conv_kernel[HUBERT_MAX_CONV], conv_stride[HUBERT_MAX_CONV];
    int conv_bias;                                               /* 0 for the base model */
    int n_embd, n_head, n_ff, n_layer;                           /* 768, 12, 3072, layers stored (9) */
    int pos_kernel, pos_groups;                                  /* 128, 16 */
} hubert_hparams;

/* One post-LN transformer layer: x = ln1(x + attn(x)); x = ln2(x + down(gelu(up(x)))). */
typedef struct hubert_layer {
    bark_tensor q_w, q_b, k_w, k_b, v_w, v_b, o_w, o_b; /* ne {C, C}, [C] */
    bark_tensor ln1_w, ln1_b, ln2_w, ln2_b;             /* [C] */
    bark_tensor up_w, up_b, down_w, down_b;             /* ne {C, F}, [F]; ne {F, C}, [C] */
} hubert_layer;

/* Views into the model file (no copies). Conv weights are stored [Cout][K][Cin] (ne {Cin, K, Cout}) so that
 * each output channel is one contiguous row over a window of time-major input. */
typedef struct hubert_model {
    hubert_hparams hp;
    bark_tensor conv_w[HUBERT_MAX_CONV], conv_b[HUBERT_MAX_CONV]; /* conv_b.data NULL without conv bias */
    bark_tensor gn_w, gn_b;                                       /* group norm of conv 0, [conv_dim] */
    bark_tensor fp_ln_w, fp_ln_b, fp_w, fp_b;                     /* feature projection */
    bark_tensor pos_w, pos_b;                                     /* ne {C/groups, K, C}, weight norm folded */
    bark_tensor enc_ln_w, enc_ln_b;
    hubert_layer layer[HUBERT_MAX_LAYERS];
} hubert_model;

int bark_model_has_hubert(const bark_model *m);
/* Reads the hyper-parameters and checks every tensor's type and exact shape. */
BARK_NODISCARD bark_status hubert_load(const bark_model *m, hubert_model *out, bark_error *err);

/* Feature frames for n samples at 16 kHz (0 when shorter than the receptive field, 400 samples). */
size_t hubert_frames(const hubert_hparams *hp, size_t n);
/* Hidden states after the stored layers: out[T][n_embd], T = hubert_frames(n) >= 1. Allocates its scratch
 * once per call (about n/10 * 1.5 * conv_dim + T * (6 * n_embd + n_ff) floats). */
BARK_NODISCARD bark_status hubert_forward(const hubert_model *h, const float *x, size_t n, float *out,
                                          bark_error *err);

/* ---- the quantizer: 2-layer LSTM -> [intermediate Linear (version 1)] -> Linear -> argmax ---- */

typedef struct hubq_model {
    int version, n_in, n_hidden, n_inter, n_out; /* n_inter 0 in version 0 */
    bark_tensor w_ih[2], b_ih[2], b_hh[2];       /* ne {in, 4H}; gates i, f, g, o */
    float *w_hh[2];                              /* [4H][H] expanded to f32 once (read every frame) */
    bark_tensor inter_w, inter_b, fc_w, fc_b;
} hubq_model;

int bark_model_has_hubq(const bark_model *m);
BARK_NODISCARD bark_status hubq_load(const bark_model *m, hubq_model *out, bark_error *err);
void hubq_free(hubq_model *q); /* accepts NULL and zeroed models */
/* tokens[t] = argmax of the output logits for feat[T][n_in] (lowest index on ties); *min_margin (may be NULL)
 * gets the smallest gap between the best and second-best logit over all frames. */
BARK_NODISCARD bark_status hubq_tokens(const hubq_model *q, const float *feat, size_t T, int32_t *tokens,
                                       float *min_margin, bark_error *err);

#endif
