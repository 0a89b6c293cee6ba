/* encodec.h: the EnCodec 24 kHz codec inside libbark: weights, RVQ, whole and streaming encoder/decoder. */
#ifndef BARK_ENCODEC_H
#define BARK_ENCODEC_H

#include <stddef.h>
#include <stdint.h>

#include "bark.h"
#include "core/threadpool.h"
#include "model/model.h"

#define ENCODEC_MAX_RATIOS 8
#define ENCODEC_MAX_Q 32

/* Hyper-parameters as the model file records them (encodec.* keys, models/FORMAT.md). The 24 kHz SEANet
 * family (mono, causal, one residual unit per stage, two LSTM layers) at any width: n_filters, dimension,
 * ratios (1..8 stages), kernel sizes, compress, codebook_size and n_q (codebooks stored) may vary. */
typedef struct encodec_hparams {
    int sample_rate, channels, n_filters, dimension;
    int n_ratios;
    int ratios[ENCODEC_MAX_RATIOS]; /* decoder order: 8, 5, 4, 2 */
    int kernel_size, last_kernel_size, residual_kernel_size;
    int n_residual_layers, lstm_layers, compress;
    int codebook_size, n_q;
} encodec_hparams;

/* A causal conv (w[k][cin][cout]) or transposed conv (w[cin][k][cout]) as GEMM panels (encodec_ops.h); b[cout]. */
typedef struct encodec_conv {
    int cin, cout, k, stride;
    float *w, *b;
} encodec_conv;

/* SEANet residual unit: y = shortcut(x) + block3(elu(block1(elu(x)))). */
typedef struct encodec_resunit {
    encodec_conv block1, block3, shortcut;
} encodec_resunit;

/* Two stacked LSTM layers (gates i, f, g, o), w_*[dim][4*dim] (PyTorch's transposed) as GEMM panels,
 * bias = b_ih + b_hh; output h1 + x. */
typedef struct encodec_lstm {
    int dim;
    float *w_ih[2], *w_hh[2], *bias[2];
} encodec_lstm;

typedef struct encodec_model {
    encodec_hparams hp;
    int hop;         /* samples per frame: the product of the ratios (320) */
    int has_encoder; /* 0 for decoder-only files */
    encodec_conv enc_in, enc_down[ENCODEC_MAX_RATIOS], enc_out;
    encodec_resunit enc_res[ENCODEC_MAX_RATIOS];
    encodec_lstm enc_lstm;
    encodec_conv dec_in, dec_up[ENCODEC_MAX_RATIOS], dec_out;
    encodec_resunit dec_res[ENCODEC_MAX_RATIOS];
    encodec_lstm dec_lstm;
    float *codebooks;   /* [n_q][codebook_size][dimension] */
    float *codebook_sq; /* [n_q][codebook_size]: squared norm of every entry */
    float *mem;         /* the one allocation every pointer above points into */
} encodec_model;

/* The hyper-parameters of Meta's encodec_24khz (32 codebooks). */
encodec_hparams encodec_hparams_24khz(void);
/* Fails with BARK_ERR_UNSUPPORTED naming the first key outside the supported family: sample_rate 24000,
 * channels 1, n_residual_layers 1, lstm_layers 2; widths, ratios and kernels within sane bounds. */
bark_status encodec_hparams_check(const encodec_hparams *hp, bark_error *err);

/* Reads the encodec.* hyper-parameters and every tensor (exact shapes; f32, f16 or q8_0) into f32
 * buffers owned by out. A file without encoder tensors loads with has_encoder = 0. */
BARK_NODISCARD bark_status encodec_load(const bark_model *m, encodec_model *out, bark_error *err);
/* The same, keeping less in memory: the encoder only if want_encoder, and only the first max_q codebooks
 * (all if max_q <= 0). Bark's decode needs encodec_load_part(m, 0, 8, ...): 34 MB instead of 76 MB. */
BARK_NODISCARD bark_status encodec_load_part(const bark_model *m, int want_encoder, int max_q, encodec_model *out,
                                             bark_error *err);

/* Fills every weight from the deterministic generator below (same as tools/make_encodec_goldens.py):
 *   mix(x) = splitmix64 finaliser of x + 0x9E3779B97F4A7C15
 *   u = mix(mix(seed ^ fnv1a64(gguf tensor name)) + element index in PyTorch (C) order)
 *   value = (float)((int64)(u >> 40) * 2^-23 - 1) * scale(tensor)        (uniform in [-scale, scale))
 * with scale 1/sqrt(fan_in) for conv weights (fan_in = cin*k; 2*cin for transposed convs),
 * 1/sqrt(dim) for LSTM weights and biases, 0.05 for conv biases and 1.0 for codebooks. */
BARK_NODISCARD bark_status encodec_init_random(encodec_model *out, const encodec_hparams *hp, uint64_t seed,
                                               bark_error *err);
void encodec_free(encodec_model *m); /* accepts NULL and zeroed models */

/* Scale of the generator for a GGUF tensor name (exposed for the tests); 0 if the name is unknown. */
float encodec_random_scale(const encodec_hparams *hp, const char *name);

/* ---- residual vector quantizer ---- */

/* Codebooks used at a bandwidth in kbps (1.5, 3, 6, 12 or 24 -> 2, 4, 8, 16, 32); 0 if not one of those
 * or more than the model stores. */
int encodec_n_q_for_bandwidth(const encodec_model *m, double kbps);
/* Checks codes[q*ld + t] (q < n_q, t < n) are in [0, codebook_size) and 1 <= n_q <= stored codebooks. */
bark_status encodec_check_codes(const encodec_model *m, const int32_t *codes, int n_q, size_t ld, size_t n,
                                bark_error *err);
/* z[dimension] = sum over q < n_q of codebook q entry codes[q*ld], added in order from 0.0. */
void encodec_rvq_decode_frame(const encodec_model *m, const int32_t *codes, int n_q, size_t ld, float *z);
/* Greedy residual nearest neighbour of one latent frame z[dimension]: codes[q*ld] for q < n_q, using the
 * reference's distance (|r|^2 - 2 r.e) + |e|^2, lowest index on ties. margin (may be NULL) receives the
 * smallest gap between the best and second-best distance over the n_q choices. r: scratch[dimension],
 * dist: scratch[codebook_size]. */
void encodec_rvq_encode_frame(const encodec_model *m, const float *z, int n_q, int32_t *codes, size_t ld,
                              float *r, float *dist, float *margin);

/* ---- decoder: codes [n_q][T] -> hop*T samples (hop = 320 at 24 kHz; K = kernel_size, 7) ---- */

typedef struct encodec_dec_stream encodec_dec_stream;

/* Streaming decoder for codes with n_q rows. Memory is fixed at creation (independent of chunk sizes):
 * frames are decoded one at a time in a fixed order, so any chunking gives bit-identical samples. */
BARK_NODISCARD bark_status encodec_dec_stream_create(const encodec_model *m, int n_q, encodec_dec_stream **out,
                                                     bark_error *err);
void encodec_dec_stream_free(encodec_dec_stream *s); /* accepts NULL */
/* Runs the stream's products on pool's threads from now on (NULL, the default: the caller's thread alone). The
 * samples never depend on it. The pool must outlive the stream's use of it and not run anything else meanwhile. */
void encodec_dec_stream_set_pool(encodec_dec_stream *s, bark_pool *pool);
/* Samples the next push of n frames can produce: 0 while fewer than K frames were seen in total, then
 * hop * (frames seen so far) on the push that reaches K, afterwards hop * n. At most hop * (n + K - 1). */
size_t encodec_dec_stream_out_size(const encodec_dec_stream *s, size_t n);
/* Decodes n >= 1 frames codes[q*ld + t]; writes *n_out samples to out (cap floats available). */
BARK_NODISCARD bark_status encodec_dec_stream_push(encodec_dec_stream *s, const int32_t *codes, size_t ld,
                                                   size_t n, float *out, size_t cap, size_t *n_out,
                                                   bark_error *err);
/* Ends the stream: a stream shorter than K frames is decoded now (hop * frames samples), otherwise 0. */
BARK_NODISCARD bark_status encodec_dec_stream_finish(encodec_dec_stream *s, float *out, size_t cap,
                                                     size_t *n_out, bark_error *err);

/* Whole-sequence decode of codes[q*T + t] (n_q rows, T frames) into out[hop*T]. */
BARK_NODISCARD bark_status encodec_decode(const encodec_model *m, const int32_t *codes, int n_q, size_t T,
                                          float *out, bark_error *err);
/* The same on pool's threads (NULL: the caller's); the same samples whatever the pool. */
BARK_NODISCARD bark_status encodec_decode_pool(const encodec_model *m, const int32_t *codes, int n_q, size_t T,
                                               float *out, bark_pool *pool, bark_error *err);

/* ---- encoder: samples -> latent [dimension][T] -> codes [n_q][T], T = ceil(N/hop) ---- */

size_t encodec_frames(const encodec_model *m, size_t n_samples);

typedef struct encodec_enc_stream encodec_enc_stream;

/* Streaming encoder (bounded memory; the whole encode runs through it, so both agree bit for bit). */
BARK_NODISCARD bark_status encodec_enc_stream_create(const encodec_model *m, int n_q, encodec_enc_stream **out,
                                                     bark_error *err);
void encodec_enc_stream_free(encodec_enc_stream *s); /* accepts NULL */
/* As encodec_dec_stream_set_pool: the products on pool's threads, the same codes and latents whatever it is. */
void encodec_enc_stream_set_pool(encodec_enc_stream *s, bark_pool *pool);
/* Upper bound of the frames a push of n samples (or the finish call, n = 0) can produce. */
size_t encodec_enc_stream_out_frames(const encodec_enc_stream *s, size_t n);
/* Encodes n samples; writes *n_frames frames: codes[q*ld + j] and, if latent is non-NULL,
 * latent[c*ld + j] (j < *n_frames <= cap_frames <= ld). */
BARK_NODISCARD bark_status encodec_enc_stream_push(encodec_enc_stream *s, const float *x, size_t n,
                                                   int32_t *codes, float *latent, size_t ld, size_t cap_frames,
                                                   size_t *n_frames, bark_error *err);
/* Ends the stream (right reflect padding of the last partial frame, or the whole of a short stream). */
BARK_NODISCARD bark_status encodec_enc_stream_finish(encodec_enc_stream *s, int32_t *codes, float *latent,
                                                     size_t ld, size_t cap_frames, size_t *n_frames,
                                                     bark_error *err);
/* Smallest best-vs-second-best distance gap seen by the RVQ so far (FLT_MAX if none). */
float encodec_enc_stream_min_margin(const encodec_enc_stream *s);

/* Whole encode of x[n]: codes[q*T + t] (n_q rows) and optionally latent[c*T + t], T = encodec_frames(n). */
BARK_NODISCARD bark_status encodec_encode(const encodec_model *m, const float *x, size_t n, int n_q,
                                          int32_t *codes, float *latent, float *min_margin, bark_error *err);
/* The same on pool's threads (NULL: the caller's); the same results whatever the pool. */
BARK_NODISCARD bark_status encodec_encode_pool(const encodec_model *m, const float *x, size_t n, int n_q,
                                               int32_t *codes, float *latent, float *min_margin, bark_pool *pool,
                                               bark_error *err);

#endif
