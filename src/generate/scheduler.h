/* scheduler.h: where the GPT forwards of many sequences run: each stage's decode steps batched, prefills and fine
 * passes one at a time, all on one exec. */
#ifndef BARK_SCHEDULER_H
#define BARK_SCHEDULER_H

#include "bark.h"
#include "core/exec.h"
#include "gpt/gpt.h"
#include "model/model.h"

/* Threads that generate (one per sequence) call the forwards below and block until theirs has run. Whichever waiting
 * thread finds work ready runs it for everyone (no thread of its own): the decode steps of every sequence of a stage
 * as one batched step once all of that stage's sequences are waiting (or the oldest has waited BARK_SCHED_WAIT_S),
 * else the oldest prefill or fine pass alone. A sequence holds a KV cache from bark_sched_acquire to
 * bark_sched_release; at most max_batch at once (others wait), allocated when first needed and kept. Results never
 * depend on what else runs (bark_gpt_step_batch's rule). */
typedef struct bark_sched bark_sched;

#define BARK_SCHED_WAIT_S 0.005 /* the longest a step waits for slower sequences of its stage */

/* ex: NULL makes an exec of its own (every CPU, the best kernels). */
BARK_NODISCARD bark_status bark_sched_create(const bark_model *m, const bark_exec *ex, int max_batch, bark_sched **out,
                                             bark_error *err);
void bark_sched_free(bark_sched *s); /* after every sequence has released its cache; accepts NULL */

/* A KV cache bound to stage (SEMANTIC or COARSE) from position 0, waiting while max_batch are held. */
BARK_NODISCARD bark_status bark_sched_acquire(bark_sched *s, bark_stage stage, bark_kv **kv, bark_error *err);
void bark_sched_release(bark_sched *s, bark_kv *kv);

/* bark_gpt_forward_kv of the stage's weights on the sequence whose cache is kv (acquired for that stage). */
BARK_NODISCARD bark_status bark_sched_forward(bark_sched *s, bark_stage stage, bark_kv *kv, const int32_t *ids,
                                              const int32_t *ids2, int T, float *logits, bark_error *err);
/* bark_gpt_forward_fine of the fine stage. */
BARK_NODISCARD bark_status bark_sched_forward_fine(bark_sched *s, const int32_t *codes, int T, int pred, int t0,
                                                   float *logits, bark_error *err);

/* Sizes and counts for bark_engine_get_stats (max_batch, kv_bytes, scratch_bytes, active, decode_*). */
void bark_sched_stats(bark_sched *s, bark_engine_stats *out);

#endif
