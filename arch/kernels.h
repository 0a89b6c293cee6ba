/* kernels.h: the compute kernels of the GPT stages, one table per instruction set, chosen at run time. */
#ifndef BARK_KERNELS_H
#define BARK_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "model/quant.h"

/* Determinism rule (every ISA path gives the same bits, so the same seed gives the same samples):
 * - q8_0 x activation GEMV (decode) dot products are integer: a block's 32 products are summed in 8 exact int32 lanes
 *   (lane j holds elements 4j..4j+3); each lane is converted to float, multiplied by the block's scale
 *   product (weight scale * activation scale, one float multiply) and added to float accumulator j.
 * - q4_0 weights take the same rule on their values q - 8 (-8..7): a q4_0 row's result is bit for bit the q8_0
 *   kernel's on the same row stored as q8_0 blocks (bark_q4_0_to_q8_0), which is also how prefills run them.
 * - f32/f16 dot products and reductions use 8 accumulators too (element i goes to lane i % 8).
 * - Lanes are reduced by one fixed tree: h[j] = a[j] + a[j+4]; (h[0] + h[2]) + (h[1] + h[3]).
 * - No fused multiply-add anywhere: each product is rounded, then added (the C twins do the same).
 * - exp() and erf() are the same polynomials, evaluated in the same order, in every table.
 * Each output element is computed by one call in one thread, so the thread count never changes a result.
 * (OpenBLAS, which src/gpt/gpt.c and src/gpt/attention.c also call for sgemm-mode Linear layers and f32 prefill attention, is
 * the same code whatever table runs; they run it single-threaded inside the pool's tasks, split by the pool's thread
 * count.) */

/* Activations quantized per 32-block: n int8 values and n/32 float scales (amax / 127). */
typedef struct bark_kernels {
    const char *name; /* "c", "avx2", "avx512" (avx2 with the AVX-512 kernels below), "neon", "neon-dotprod" */
    /* q[i] = nearest-even(x[i] * (1 / d[b])) with d[b] = max|x| / 127 over the block (0, and q = 0, when that is
     * below FLT_MIN: its inverse would overflow), and s[b] the block's int32 sum of q unless s is NULL (the int8
     * GEMM's kernels that bias weights to unsigned bytes need it); n a multiple of 32 */
    void (*quantize_q8)(const float *x, int8_t *q, float *d, int32_t *s, int n);
    /* y[o * ystride] = W[o] . x for o in [0, rows): W rows of n/32 q8_0 blocks, row_bytes apart */
    void (*gemv_q8_0)(const void *W, size_t row_bytes, int rows, const int8_t *xq, const float *xd, int n,
                      float *y, int ystride);
    /* Y[t * ldy + o] = W[o] . X[t] for o < rows, t < T (prefills and the fine stage in int8 mode), by the block
     * rule: block b's 32 products summed exactly in int32 (I), then acc += (float)I * (weight scale * activation
     * scale), one float accumulator per output starting at 0, blocks in order. X[t] is row t of the quantized
     * activations (xq + t*n, xd + t*n/32) and xs[t * n/32 + b] the int32 sum of its block b (kernels that bias the
     * weights to unsigned bytes need it). No result depends on T, on the tiling or on the thread count. */
    void (*gemm_q8_0)(const void *W, size_t row_bytes, int rows, const int8_t *xq, const float *xd, const int32_t *xs,
                      int n, int T, float *Y, int ldy);
    /* y[o * ystride] = W[o] . x for f16 and f32 weight rows of n elements */
    void (*gemv_f16)(const uint16_t *W, size_t ldw, int rows, const float *x, int n, float *y, int ystride);
    void (*gemv_f32)(const float *W, size_t ldw, int rows, const float *x, int n, float *y, int ystride);
    float (*dot_f32)(const float *a, const float *b, int n);
    void (*axpy_f32)(float *y, float a, const float *x, int n); /* y += a * x */
    /* y[i] = sum over s = 0..rows-1, in that order from 0, of p[s] * V[s * ldv + i] (attention's P.V row) */
    void (*wsum_f32)(float *y, const float *p, const float *V, size_t ldv, int rows, int n);
    /* y = (x - mean) / sqrt(var + 1e-5) * w (+ b); b may be NULL */
    void (*layernorm_f32)(float *y, const float *x, const float *w, const float *b, int n);
    void (*gelu_f32)(float *x, int n); /* in place, exact-erf GELU (polynomial erf, |error| < 2e-7) */
    /* x[i] = exp(x[i] - max) / sum over n values, in place */
    void (*softmax_f32)(float *x, int n);
    /* wsum_f32 over f16 rows (the f16 KV cache's values) */
    void (*wsum_f16)(float *y, const float *p, const uint16_t *V, size_t ldv, int rows, int n);
    void (*f32_to_f16)(const float *x, uint16_t *y, int n); /* round to nearest even, as bark_f32_to_f16 */
    /* y[i] = d * q[i] for the n / 32 q8_0 blocks of one weight row (bark_dequantize_row's q8_0 case) */
    void (*dequant_q8_0)(const void *row, float *y, int n);
    /* Attention weights for the int8 P.V product, unnormalized: e[i] = exp(x[i] - max of x[0..n)) for i < n and 0
     * for n <= i < np (np a multiple of 32), quantized per 32-block as quantize_q8 does (q, d), with s[b] the int32
     * sum of block b's q */
    void (*softmax_q8)(const float *x, int n, int np, int8_t *q, float *d, int32_t *s);
    /* The batched decode step (several sequences, one token each): Y[b * ldy + o] = W[o] . X[b] for o < rows and
     * b < B, each weight row read from memory once for all B rows. Every Y[b] is bit-identical to the single-row
     * kernel's result for X[b] alone (gemv_q8_0 on xq + b * n, xd + b * n/32; gemv_f16 / gemv_f32 on X + b * ldx),
     * so a sequence's results never depend on the batch it runs in. */
    void (*gemv_q8_0_batch)(const void *W, size_t row_bytes, int rows, const int8_t *xq, const float *xd, int n, int B,
                            float *Y, int ldy);
    void (*gemv_f16_batch)(const uint16_t *W, size_t ldw, int rows, const float *X, int ldx, int n, int B, float *Y,
                           int ldy);
    void (*gemv_f32_batch)(const float *W, size_t ldw, int rows, const float *X, int ldx, int n, int B, float *Y,
                           int ldy);
    /* gemv_q8_0 and gemv_q8_0_batch for W rows of n/32 q4_0 blocks (the q4_0 lane rule above) */
    void (*gemv_q4_0)(const void *W, size_t row_bytes, int rows, const int8_t *xq, const float *xd, int n, float *y,
                      int ystride);
    void (*gemv_q4_0_batch)(const void *W, size_t row_bytes, int rows, const int8_t *xq, const float *xd, int n, int B,
                            float *Y, int ldy);
} bark_kernels;

/* 1 when this CPU runs the int8 GEMM faster than OpenBLAS sgemm (x86 with AVX512-VNNI): gpt.c's default for
 * prefills then. Decided by the CPU, not by the table in use, so BARK_ISA never changes which rule runs. */
int bark_cpu_prefers_int8_gemm(void);

/* The best table this CPU runs (found once). A synthesis takes it unless its parameters name another. */
const bark_kernels *bark_kernels_get(void);
/* A named table ("c", "avx2", "avx512", "neon": the dotprod table when the CPU has SDOT) if compiled in and
 * supported by this CPU, else NULL. */
const bark_kernels *bark_kernels_by_name(const char *name);

extern const bark_kernels bark_kernels_c;
#if defined(BARK_HAVE_AVX2)
extern const bark_kernels bark_kernels_avx2;
/* The AVX-512 kernels; the "avx512" table is the AVX2 table with them (built in dispatch.c). */
void bark_gemm_q8_0_avx512(const void *W, size_t row_bytes, int rows, const int8_t *xq, const float *xd,
                           const int32_t *xs, int n, int T, float *Y, int ldy);
void bark_quantize_q8_avx512(const float *x, int8_t *q, float *d, int32_t *s, int n);
void bark_softmax_q8_avx512(const float *x, int n, int np, int8_t *q, float *d, int32_t *s);
void bark_gelu_f32_avx512(float *x, int n);
void bark_gemv_q8_0_batch_avx512(const void *W, size_t row_bytes, int rows, const int8_t *xq, const float *xd, int n,
                                 int B, float *Y, int ldy);
void bark_gemv_q4_0_avx512(const void *W, size_t row_bytes, int rows, const int8_t *xq, const float *xd, int n,
                           float *y, int ystride);
void bark_gemv_q4_0_batch_avx512(const void *W, size_t row_bytes, int rows, const int8_t *xq, const float *xd, int n,
                                 int B, float *Y, int ldy);
#endif
#if defined(BARK_HAVE_NEON)
extern const bark_kernels bark_kernels_neon;         /* NEON without the dot-product instructions */
extern const bark_kernels bark_kernels_neon_dotprod; /* the same results with SDOT (ARMv8.2 dotprod) */
#endif

#endif
