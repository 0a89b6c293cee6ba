/* attention.h: multi-head attention of the GPT stages, f32 (OpenBLAS sgemm) or int8 (the q8_0 GEMM's block rule). */
#ifndef BARK_ATTENTION_H
#define BARK_ATTENTION_H

#include "gpt/gpt.h"

/* Default of g->aq.refine_above: a query row whose estimated int8 score error (one standard deviation) exceeds it is
 * done in f32 over the keys that can matter (src/gpt/attention.c: refine_row). */
#define BARK_ATT_REFINE_ABOVE 0.02f

/* Default of g->aq.two_part_above: a prefill's head whose estimated int8 score error (bark_attention_peaked_heads)
 * exceeds it takes its queries and keys from c_attn's input in two int8 parts (src/gpt/gpt.c: two_part_heads). On
 * the trained test GPT (tests/data/trained) with its queries scaled, one part held the bounds of tests/test_trained.c
 * up to x8 (KL max 2.1e-3 over 720 rows) and broke them at x12 (1.9e-2). At 0.1 no head of the trained model nor of a
 * random-weight one takes two parts; with queries x4 13% of prefill heads do, x8 98%, x12 99.8%, x20 all: below x12
 * with a margin, for deeper models, whose errors add over more layers. */
#define BARK_ATT_TWO_PART_ABOVE 0.1f

/* Allocates g->aq for int8 attention (n_head, head_dim, n_ctx set); 0, or -1 out of memory. */
int bark_attention_q8_alloc(bark_gpt *g);
void bark_attention_q8_free(bark_gpt *g);
/* Totals since g->aq was allocated (zeros without it): int8 score rows, their scores, rows refined, scores recomputed
 * in f32. */
void bark_attention_refined(const bark_gpt *g, size_t count[4]);

/* Of the T rows of g->qkv (a prefill in int8 mode, before bark_attention): the heads whose int8 score error, as
 * estimated for the refinement but from the f32 queries and keys and with each block's largest query scale and norm
 * over the rows (a bound on every row's estimate), is above g->aq.two_part_above. Writes them, in order, to
 * g->aq.peaked and returns how many (0 without g->aq). */
int bark_attention_peaked_heads(bark_gpt *g, int T);

/* Multi-head attention of T queries (rows of g->qkv) against keys k and values v: head h's keys at k + h * hs, rows
 * ld elements apart; query t sees keys 0..n_past+t when causal, all T keys otherwise. Head h goes to
 * g->xb[t][h * head_dim ..].
 * - Few queries (T < 8): one task per head; k and v hold f32, or f16 when f16 != 0.
 * - Many: (query block x head) items over the pool, k and v f32. By OpenBLAS sgemm (single-threaded in each task),
 *   or, with int8 != 0 (g->aq allocated), by the int8 GEMM: keys and queries quantized per 32 along the head
 *   dimension (zero-padded to a multiple of 32), values per 32 keys, and the attention weights exp(s - max) per 32
 *   keys by softmax_q8; each output row is scaled by 1 / the sum of its dequantized weights. A row whose estimated
 *   score error is above g->aq.refine_above and which has few keys near its max is done in f32 over those keys. */
void bark_attention(bark_gpt *g, int T, const void *k, const void *v, int f16, int int8, size_t ld, size_t hs);

/* A batched decode step: row b of g->qkv is the one new token of the sequence whose cache is kvs[b] (its key and value
 * already appended at kvs[b]->n_past, in the layer starting at element `layer`); head h goes to g->xb[b][h * head_dim
 * ..]. Each (sequence, head) by the few-queries rule above, so a row's result is the same as alone. */
void bark_attention_step_batch(bark_gpt *g, bark_kv *const *kvs, int B, size_t layer);

#endif
