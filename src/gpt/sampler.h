/* sampler.h: Suno's token sampling: top-p on raw logits, then top-k, then temperature, softmax and a draw. */
#ifndef BARK_SAMPLER_H
#define BARK_SAMPLER_H

#include "core/error.h"
#include "core/rng.h"

/* How one token is chosen from a vector of logits. */
typedef struct bark_sample_params {
    float temp;  /* > 0; the logits are divided by it before the softmax */
    int top_k;   /* 0: off; else keep every logit >= the top_k-th largest (ties kept) */
    float top_p; /* < 0: off (Suno's None); else nucleus cut on the untempered softmax */
    int greedy;  /* 1: take the argmax of the final distribution instead of drawing from it */
} bark_sample_params;

/* Work buffers for vectors of up to `cap` logits, allocated once. */
typedef struct bark_sampler {
    int cap;
    int *order;              /* [cap] indices of the logits in NumPy's argsort order (ascending) */
    float *logits;           /* [cap] the filtered logits (-inf where removed) */
    float *probs;            /* [cap] the final distribution softmax(logits / temp) */
} bark_sampler;

BARK_NODISCARD bark_status bark_sampler_init(bark_sampler *s, int cap, bark_error *err);
void bark_sampler_free(bark_sampler *s); /* accepts NULL and zeroed samplers */

/* Checks a parameter set (temp > 0, top_k >= 0, top_p NaN-free); fills err naming `what`. */
BARK_NODISCARD bark_status bark_sample_params_check(const bark_sample_params *p, const char *what,
                                                    bark_error *err);

/* Filters logits[0..n) in Suno's order into s->logits and writes s->probs[0..n):
 *   top-p (if set): sort descending as Suno does (NumPy 1.24's argsort, reversed: equal values come in
 *     the order that introsort leaves them),
 *     float32 softmax and running sum c; drop entry i when c[i-1] > top_p (the first is always kept);
 *   top-k (if set): drop every logit below the min(top_k, n)-th largest (ties with it are kept);
 *   probs = softmax(logits / temp) in float32.
 * Fails with BARK_ERR_ARG if n is out of range, a logit is NaN or every logit is -inf. */
BARK_NODISCARD bark_status bark_sampler_probs(bark_sampler *s, const float *logits, int n,
                                              const bark_sample_params *p, bark_error *err);

/* Chooses an index from s->probs[0..n): the first maximum when p->greedy, else one categorical draw
 * (one bark_rng_uniform call). */
int bark_sampler_pick(const bark_sampler *s, int n, const bark_sample_params *p, bark_rng *rng);

/* Index of the first maximum of x[0..n). */
int bark_argmax(const float *x, int n);

#endif
