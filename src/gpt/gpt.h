/* gpt.h: forward pass of Bark's GPT stages: causal with a KV cache (semantic, coarse), non-causal (fine). */
#ifndef BARK_GPT_H
#define BARK_GPT_H

#include "core/exec.h"
#include "model/model.h"

/* Buffers of int8 attention (src/gpt/attention.c), allocated for q8_0 / q4_0 models only. hdp: head_dim rounded up to 32;
 * kb = hdp / 32 blocks per key, vb = T_max / 32 rounded up blocks per transposed value row. */
typedef struct bark_att_q8 {
    int hdp, kb, vb;
    block_q8_0 *k;   /* [n_head][T_max][kb] keys as q8_0 rows (zero-padded to hdp) */
    block_q8_0 *vt;  /* [n_head][head_dim][vb] values transposed: row i holds value element i of every key */
    int8_t *q;       /* [n_head][T_max][hdp] queries quantized per 32 */
    float *qd;       /* [n_head][T_max][kb] their scales, times 1 / sqrt(head_dim) */
    int32_t *qs;     /* [n_head][T_max][kb] their block sums */
    int8_t *p;       /* [T_max][vb * 32] attention weights of the query blocks in flight (per slot, like att) */
    float *pd;       /* [T_max][vb] their scales */
    int32_t *ps;     /* [T_max][vb] their block sums */
    float *norm;     /* [T_max] each weight row's dequantized sum */
    float *stage;    /* [n_head][32 * hdp] floats staged for quantization (32 keys or queries of a head) */
    int8_t *stage_q; /* [n_head][32 * hdp] their int8 values */
    float *stage_d;  /* [n_head][hdp] their scales */
    float *kdmax;    /* [n_head][kb] per key block: the largest key scale (as stored, f16) of the current run */
    float *knmax;    /* [n_head][kb] and the largest key block norm (dequantized) */
    float refine_above; /* a query row whose estimated int8 score error is above this is done in f32 over its top
                           keys (BARK_ATT_REFINE_ABOVE by default; INFINITY: never, int8 only) */
    float two_part_above; /* a prefill's head whose estimate (bark_attention_peaked_heads) is above this takes its
                             queries and keys from c_attn's input in two int8 parts (src/gpt/gpt.c;
                             BARK_ATT_TWO_PART_ABOVE by default; INFINITY: never) */
    int *peaked;     /* [n_head] the heads bark_attention_peaked_heads found, in order */
    float *pmax;     /* [8][n_head][kb][4] its tasks' maxima: query scale and norm, key scale and norm */
    size_t heads[2]; /* running totals: heads it estimated, heads it found (took the two-part input) */
    int *ref_idx;    /* [slots][64] a refined row's top keys (at most 64: REFINE_KEYS in attention.c) */
    float *ref_out;  /* [T_max][head_dim] the f32 output rows of the query blocks in flight (per slot, like att) */
    size_t *refined; /* [slots][4] per slot of a block run, running totals: score rows, scores, rows refined, scores
                        recomputed in f32 (slots = T_max / 64) */
    size_t bytes;    /* allocated in all */
} bark_att_q8;

/* The keys and values of one sequence's past positions in a causal stage (its KV cache). Each sequence of a batch has
 * its own; a bark_gpt runs the forward pass of whichever it is given. */
typedef struct bark_kv {
    void *k;        /* [n_layer][n_head][n_ctx][head_dim] keys: each head's rows contiguous */
    void *v;        /* [n_layer][n_head][n_ctx][head_dim] values, same layout */
    size_t cap;     /* bytes allocated for each of k and v */
    int n_past;     /* positions already held */
    int n_ctx;      /* positions it can hold (the stage's block size) */
    int f16;        /* holds f16 (models with f16 / q8_0 / q4_0 weights), else f32 (f32 models: exact) */
} bark_kv;

/* Bytes each of k and v needs for a causal stage of these weights. */
size_t bark_kv_bytes(const bark_gpt_weights *w);
/* Allocates a cache of cap bytes per half (at least bark_kv_bytes of the stages it will serve). */
BARK_NODISCARD bark_status bark_kv_alloc(bark_kv *kv, size_t cap, bark_error *err);
/* Makes the cache serve a stage of these weights from position 0 (its capacity must hold them). */
BARK_NODISCARD bark_status bark_kv_bind(bark_kv *kv, const bark_gpt_weights *w, bark_error *err);
void bark_kv_free(bark_kv *kv); /* accepts NULL and zeroed caches */

/* Run state of one GPT stage: every buffer allocated once by bark_gpt_init, none in the forward pass.
 * T_max = block_size (1024 in Bark), C = n_embd. The kernels come from arch/kernels.h (chosen at run time)
 * and the work is split over the threads of its exec (core/exec.h). Results never depend
 * on the kernel table nor on the pool's thread count (the rule in arch/kernels.h); prefills and the fine
 * stage also call OpenBLAS sgemm (attention, but for q8_0 models in BARK_GEMM_INT8 mode, and Linear layers in
 * BARK_GEMM_SGEMM mode) from the pool's tasks, single-threaded (bark_gpt_init sets OpenBLAS to one thread), split
 * by the pool's thread count: same seed + same thread count = same samples on every path. */
typedef struct bark_gpt {
    const bark_gpt_weights *w;
    const bark_exec *ex; /* kernels, GEMM rule and pool: the caller's, or own_ex */
    bark_exec own_ex;    /* made by bark_gpt_init when the caller gave none */
    int causal;       /* 1: semantic / coarse (masked, cached); 0: fine (no mask, no cache) */
    int n_embd;       /* C */
    int n_head;
    int head_dim;     /* C / n_head */
    int n_ctx;        /* T_max: positions the buffers hold (the stage's block size) */
    bark_kv *kv;      /* the sequence being run (causal stages): own_kv unless a forward names another */
    bark_kv own_kv;   /* allocated by bark_gpt_init for causal stages; none by bark_gpt_init_scratch */
    float *x;         /* [T_max][C] residual stream */
    float *xb;        /* [T_max][C] LayerNorm output, then the concatenated attention heads */
    float *qkv;       /* [T_max][3C] q, k, v of the current tokens */
    float *hb;        /* [T_max][4C] MLP hidden layer */
    float *att;       /* [T_max][T_max] attention scores: prefill slot s's 64 query rows from s*64*T_max;
                         decode: one row per head */
    float *row;       /* [max(4C, C)] one dequantized embedding row */
    int8_t *xq;       /* [T_max][4C] activations quantized per 32-block (q8_0 / q4_0 weights) */
    float *xd;        /* [T_max][4C/32] their scales */
    int32_t *xs;      /* [T_max][4C/32] their block sums (int8 GEMM) */
    float *wbuf;      /* a weight matrix expanded to f32 for sgemm (f16 / q8_0 / q4_0 weights), or q4_0 rows
                         unpacked to q8_0 for the int8 GEMM; or NULL */
    size_t wbuf_len;  /* floats in wbuf */
    size_t bytes;     /* the run state's buffers (not the KV cache), in bytes */
    bark_att_q8 aq;   /* int8 attention (q8_0 / q4_0 models; used in BARK_GEMM_INT8 mode), zeroed otherwise */
} bark_gpt;

/* 1 when a causal stage of these weights keeps its KV cache in f16 (f16 / q8_0 / q4_0 models), 0 for f32. */
int bark_gpt_kv_f16(const bark_gpt_weights *w);
/* Bytes of weights one decode step reads (the blocks, the final LayerNorm and the first head), whatever the batch. */
size_t bark_gpt_decode_bytes(const bark_gpt_weights *w);

/* Allocates the run state for a stage's validated weights (from bark_model_gpt), to run on ex (NULL: an exec of
 * its own with every CPU, the best kernels and the CPU's GEMM rule; freed by bark_gpt_free). */
BARK_NODISCARD bark_status bark_gpt_init(bark_gpt *g, const bark_gpt_weights *w, int causal, const bark_exec *ex,
                                         bark_error *err);
/* The same without a KV cache of its own: causal forwards then name the sequence's cache (a batch engine's stages). */
BARK_NODISCARD bark_status bark_gpt_init_scratch(bark_gpt *g, const bark_gpt_weights *w, int causal,
                                                 const bark_exec *ex, bark_error *err);
void bark_gpt_free(bark_gpt *g); /* accepts NULL and zeroed states */

/* Forgets the own KV cache (the next forward starts at position 0). */
void bark_gpt_reset(bark_gpt *g);

/* Causal stages: runs T new tokens at positions n_past .. n_past+T-1, appends their keys and values
 * to the cache and writes the logits of the last position to logits[output_vocab].
 * Token t's embedding is wte[ids[t]], plus wte[ids2[t]] when ids2 != NULL and ids2[t] >= 0
 * (the semantic stage's merged context). Fails on an id outside the table or a full context. */
BARK_NODISCARD bark_status bark_gpt_forward(bark_gpt *g, const int32_t *ids, const int32_t *ids2, int T,
                                            float *logits, bark_error *err);
/* The same on the sequence whose cache is kv (bound to this stage's weights). */
BARK_NODISCARD bark_status bark_gpt_forward_kv(bark_gpt *g, bark_kv *kv, const int32_t *ids, const int32_t *ids2,
                                               int T, float *logits, bark_error *err);

/* One decode step of B sequences at once (B <= n_ctx / n_head): sequence b's token ids[b] at its position
 * kv[b]->n_past; its logits go to logits[b]. Each weight matrix is read once for all of them (the batched GEMV
 * kernels), attention runs per sequence on its own cache, and every sequence's logits are the same bits as a
 * one-token bark_gpt_forward_kv of it alone. Checks every id and cache before running any. */
BARK_NODISCARD bark_status bark_gpt_step_batch(bark_gpt *g, bark_kv *const *kv, const int32_t *ids, int B,
                                               float *const *logits, bark_error *err);

/* Fine stage: codes[t*n_codes_total + k] (t < T, row-major [T][n_codes_total]) are the input codes;
 * the embedding of position t sums tables 0..pred. Writes the logits of head pred (pred in
 * n_codes_given .. n_codes_total-1) for positions t0..T-1 to logits[(t - t0) * output_vocab + v]. */
BARK_NODISCARD bark_status bark_gpt_forward_fine(bark_gpt *g, const int32_t *codes, int T, int pred, int t0,
                                                 float *logits, bark_error *err);

#endif
