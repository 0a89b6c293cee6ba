/* generate.h: Bark's three generation procedures, as Suno's generation.py runs them (semantic, coarse, fine). */
#ifndef BARK_GENERATE_H
#define BARK_GENERATE_H

#include "bark.h"
#include "core/bark_constants.h"
#include "core/exec.h"
#include "gpt/sampler.h"
#include "generate/scheduler.h"

#define BARK_SEMANTIC_MAX_TOKENS 768 /* generate_text_semantic's n_tot_steps */
#define BARK_FINE_WINDOW 1024        /* frames the fine model sees at once */
#define BARK_FINE_STEP 512           /* frames the fine window advances by; also its maximum history */

/* Progress report: called after every semantic or coarse token and after every fine codebook pass with
 * done <= total (the semantic total is the 768-token maximum). A nonzero return stops the stage with
 * BARK_ERR_INTERRUPTED. */
typedef int (*bark_step_fn)(void *user, bark_stage stage, size_t done, size_t total);

typedef struct bark_steps {
    bark_step_fn fn; /* NULL: no reports */
    void *user;
} bark_steps;

/* generate_text_semantic's options (Suno defaults from bark_semantic_default_params). */
typedef struct bark_semantic_params {
    bark_sample_params sample; /* temp 0.7, top-k off, top-p off, sampled */
    float min_eos_p;           /* 0.2: stop once the tempered EOS probability reaches it; < 0: off */
    double max_gen_duration_s; /* <= 0: off; else stop after the token that passes it (1/49.9 s each) */
    int allow_early_stop;      /* 1: the EOS logit (id 10000) joins the softmax and can stop generation */
    bark_steps progress;
    const bark_exec *exec;     /* kernels, GEMM rule, threads; NULL: a default exec for this call */
    bark_sched *sched;         /* where the forwards run (shared with other sequences); NULL: one of its own on exec */
} bark_semantic_params;

/* generate_coarse's options. */
typedef struct bark_coarse_params {
    bark_sample_params sample; /* temp 0.7, top-k off, top-p off, sampled */
    int max_coarse_history;    /* 630; 60..630 */
    int sliding_window_len;    /* 60; max_coarse_history + sliding_window_len <= 768 */
    bark_steps progress;
    const bark_exec *exec;     /* kernels, GEMM rule, threads; NULL: a default exec for this call */
    bark_sched *sched;         /* where the forwards run (shared with other sequences); NULL: one of its own on exec */
} bark_coarse_params;

/* Streaming report of the fine stage: frames [from, to) of out[8][ld] are final (they never change again).
 * Called after every fine window that completes frames, the last call with to = n_frames. A nonzero return
 * stops the stage with BARK_ERR_INTERRUPTED. */
typedef int (*bark_fine_window_fn)(void *user, const int32_t *out, size_t ld, size_t from, size_t to);

/* generate_fine's options: sample.greedy = 1 is Suno's temp=None (argmax of the raw logits). */
typedef struct bark_fine_params {
    bark_sample_params sample; /* temp 0.5, sampled; top-k and top-p must be off (Suno has none here) */
    bark_steps progress;
    const bark_exec *exec;     /* kernels, GEMM rule, threads; NULL: a default exec for this call */
    bark_sched *sched;         /* where the forwards run (shared with other sequences); NULL: one of its own on exec */
    bark_fine_window_fn on_window; /* NULL: no reports */
    void *window_user;
} bark_fine_params;

bark_semantic_params bark_semantic_default_params(void);
bark_coarse_params bark_coarse_default_params(void);
bark_fine_params bark_fine_default_params(void);

/* Semantic tokens from the 256 padded text ids (bark_text_to_semantic_input) and an optional voice.
 * out must hold BARK_SEMANTIC_MAX_TOKENS values; *n_out gets the count (0..768, values 0..9999). */
BARK_NODISCARD bark_status bark_generate_semantic(const bark_model *m, const int32_t *text_ids,
                                                  const bark_voice *voice, const bark_semantic_params *p,
                                                  bark_rng *rng, int32_t *out, size_t *n_out, bark_error *err);

/* Frames generate_coarse makes from n_semantic tokens: floor(n_semantic * (75/49.9*2) / 2). */
size_t bark_coarse_frames(size_t n_semantic);

/* Coarse codes out[2][bark_coarse_frames(n_semantic)] (row-major, values 0..1023) from semantic tokens. */
BARK_NODISCARD bark_status bark_generate_coarse(const bark_model *m, const int32_t *semantic, size_t n_semantic,
                                                const bark_voice *voice, const bark_coarse_params *p, bark_rng *rng,
                                                int32_t *out, bark_error *err);

/* All 8 codebooks out[8][n_frames] from the first n_coarse (1..7) given in coarse[n_coarse][n_frames]. */
BARK_NODISCARD bark_status bark_generate_fine(const bark_model *m, const int32_t *coarse, int n_coarse,
                                              size_t n_frames, const bark_voice *voice, const bark_fine_params *p,
                                              bark_rng *rng, int32_t *out, bark_error *err);

/* ---- the three stages in a row ---- */

typedef struct bark_gen_params {
    bark_semantic_params semantic;
    bark_coarse_params coarse;
    bark_fine_params fine;
    bark_stage last;   /* BARK_STAGE_SEMANTIC, _COARSE or _FINE: where to stop */
} bark_gen_params;

/* Suno's defaults for all three stages (bark.api.generate_audio), running up to the fine stage. */
bark_gen_params bark_gen_default_params(void);

/* Runs semantic -> coarse -> fine (up to p->last) on the 256 text ids, drawing from rng in that order.
 * Fails with BARK_ERR_ARG if the semantic stage produced no token (nothing to speak). */
BARK_NODISCARD bark_status bark_generate_codes(const bark_model *m, const int32_t *text_ids, const bark_voice *voice,
                                               const bark_gen_params *p, bark_rng *rng, bark_codes *out,
                                               bark_error *err);

#endif
