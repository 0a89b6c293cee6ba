/* sampler.c: Suno's filtering order (top-p, top-k, temperature, softmax) and the categorical draw. */
#include "gpt/sampler.h"

#include <math.h>
#include <stdlib.h>

bark_status bark_sampler_init(bark_sampler *s, int cap, bark_error *err) {
    s->cap = 0;
    s->order = NULL;
    s->logits = s->probs = NULL;
    if (cap <= 0) return bark_fail(err, BARK_ERR_ARG, "sampler: capacity %d is not positive", cap);
    s->order = malloc((size_t)cap * sizeof *s->order);
    s->logits = malloc((size_t)cap * sizeof *s->logits);
    s->probs = malloc((size_t)cap * sizeof *s->probs);
    if (!s->order || !s->logits || !s->probs) {
        bark_sampler_free(s);
        return bark_fail(err, BARK_ERR_NOMEM, "sampler: out of memory for %d logits", cap);
    }
    s->cap = cap;
    return BARK_OK;
}

void bark_sampler_free(bark_sampler *s) {
    if (!s) return;
    free(s->order);
    free(s->logits);
    free(s->probs);
    s->order = NULL;
    s->logits = s->probs = NULL;
    s->cap = 0;
}

bark_status bark_sample_params_check(const bark_sample_params *p, const char *what, bark_error *err) {
    if (!(p->temp > 0.0f) || isinf(p->temp))
        return bark_fail(err, BARK_ERR_ARG, "%s: temperature %g must be positive and finite", what, p->temp);
    if (p->top_k < 0) return bark_fail(err, BARK_ERR_ARG, "%s: top-k %d is negative", what, p->top_k);
    if (isnan(p->top_p)) return bark_fail(err, BARK_ERR_ARG, "%s: top-p is NaN", what);
    return BARK_OK;
}

/* Heapsort of idx[0..n) by v[idx[]] ascending, the fallback of NumPy's introsort (1-based heap). */
static void heap_argsort(const float *v, int *idx, int n) {
    int *a = idx - 1;
    for (int l = n >> 1; l > 0; --l) {
        int tmp = a[l], i = l, j = l << 1;
        while (j <= n) {
            if (j < n && v[a[j]] < v[a[j + 1]]) j++;
            if (!(v[tmp] < v[a[j]])) break;
            a[i] = a[j];
            i = j;
            j += j;
        }
        a[i] = tmp;
    }
    while (n > 1) {
        int tmp = a[n], i = 1, j = 2;
        a[n] = a[1];
        n--;
        while (j <= n) {
            if (j < n && v[a[j]] < v[a[j + 1]]) j++;
            if (!(v[tmp] < v[a[j]])) break;
            a[i] = a[j];
            i = j;
            j += j;
        }
        a[i] = tmp;
    }
}

static void swap_int(int *a, int *b) {
    int t = *a;
    *a = *b;
    *b = t;
}

/* np.argsort(v) (kind "quicksort") of NumPy 1.24 for NaN-free float32, reproduced step for step because
 * Suno's top-p depends on the order it gives equal values: an introsort with median-of-three pivots,
 * insertion sort for runs of at most 16, heapsort after 2*floor(log2 n) levels, larger part stacked. */
static void numpy_argsort(const float *v, int *idx, int n) {
    enum { SMALL = 15, STACK = 128 };
    int lo_stack[STACK], hi_stack[STACK], depth_stack[STACK], sp = 0;
    for (int i = 0; i < n; i++) idx[i] = i;
    int depth = 0;
    for (unsigned u = (unsigned)n; u > 1; u >>= 1) depth++;
    depth *= 2;
    int pl = 0, pr = n - 1;
    for (;;) {
        if (depth < 0) {
            heap_argsort(v, idx + pl, pr - pl + 1);
        } else {
            while (pr - pl > SMALL) {
                int pm = pl + ((pr - pl) >> 1);
                if (v[idx[pm]] < v[idx[pl]]) swap_int(&idx[pm], &idx[pl]);
                if (v[idx[pr]] < v[idx[pm]]) swap_int(&idx[pr], &idx[pm]);
                if (v[idx[pm]] < v[idx[pl]]) swap_int(&idx[pm], &idx[pl]);
                float vp = v[idx[pm]];
                int pi = pl, pj = pr - 1;
                swap_int(&idx[pm], &idx[pj]);
                for (;;) {
                    do ++pi; while (v[idx[pi]] < vp);
                    do --pj; while (vp < v[idx[pj]]);
                    if (pi >= pj) break;
                    swap_int(&idx[pi], &idx[pj]);
                }
                swap_int(&idx[pi], &idx[pr - 1]);
                if (pi - pl < pr - pi) {
                    lo_stack[sp] = pi + 1, hi_stack[sp] = pr;
                    pr = pi - 1;
                } else {
                    lo_stack[sp] = pl, hi_stack[sp] = pi - 1;
                    pl = pi + 1;
                }
                depth_stack[sp++] = --depth;
            }
            for (int pi = pl + 1; pi <= pr; ++pi) {
                int vi = idx[pi], pj = pi;
                float vv = v[vi];
                while (pj > pl && vv < v[idx[pj - 1]]) {
                    idx[pj] = idx[pj - 1];
                    pj--;
                }
                idx[pj] = vi;
            }
        }
        if (sp == 0) break;
        sp--;
        pl = lo_stack[sp], pr = hi_stack[sp], depth = depth_stack[sp];
    }
}

/* NumPy's pairwise float32 sum (np.sum of a contiguous float32 vector): 8 running sums per block of
 * up to 128 values, halves above that. top-p with top_p near 1 depends on its exact rounding. */
static float pairwise_sum(const float *a, int n) {
    if (n < 8) {
        float r = 0.0f;
        for (int i = 0; i < n; i++) r += a[i];
        return r;
    }
    if (n <= 128) {
        float r[8];
        for (int k = 0; k < 8; k++) r[k] = a[k];
        int i;
        for (i = 8; i < n - n % 8; i += 8)
            for (int k = 0; k < 8; k++) r[k] += a[i + k];
        float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) res += a[i];
        return res;
    }
    int n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

/* Keeps the smallest prefix of the descending order whose float32 probability mass exceeds top_p. */
static void filter_top_p(bark_sampler *s, int n, float top_p) {
    float *l = s->logits, *e = s->probs; /* probs serves as scratch here */
    int *ord = s->order;
    numpy_argsort(l, ord, n);
    float mx = l[ord[n - 1]];
    for (int j = 0; j < n; j++) e[j] = expf(l[ord[n - 1 - j]] - mx); /* descending order */
    float fsum = pairwise_sum(e, n), c = 0.0f;
    int drop = 0; /* the drop mark of the previous entry (shifted right by one) */
    for (int j = 0; j < n; j++) {
        if (drop) l[ord[n - 1 - j]] = -INFINITY;
        c += e[j] / fsum;
        drop = c > top_p;
    }
}

static void filter_top_k(bark_sampler *s, int n, int top_k) {
    int k = top_k < n ? top_k : n;
    numpy_argsort(s->logits, s->order, n);
    float thr = s->logits[s->order[n - k]]; /* the k-th largest value */
    for (int j = 0; j < n; j++)
        if (s->logits[j] < thr) s->logits[j] = -INFINITY;
}

bark_status bark_sampler_probs(bark_sampler *s, const float *logits, int n, const bark_sample_params *p,
                               bark_error *err) {
    if (n <= 0 || n > s->cap)
        return bark_fail(err, BARK_ERR_ARG, "sampler: %d logits for a capacity of %d", n, s->cap);
    bark_status st = bark_sample_params_check(p, "sampler", err);
    if (st != BARK_OK) return st;
    float mx = -INFINITY;
    for (int j = 0; j < n; j++) {
        if (isnan(logits[j])) return bark_fail(err, BARK_ERR_ARG, "sampler: logit %d is NaN", j);
        s->logits[j] = logits[j];
        if (logits[j] > mx) mx = logits[j];
    }
    if (mx == -INFINITY) return bark_fail(err, BARK_ERR_ARG, "sampler: every logit is -inf");
    if (p->top_p >= 0.0f) filter_top_p(s, n, p->top_p);
    if (p->top_k > 0) filter_top_k(s, n, p->top_k);
    float t = p->temp, m = -INFINITY;
    for (int j = 0; j < n; j++) {
        s->probs[j] = s->logits[j] / t;
        if (s->probs[j] > m) m = s->probs[j];
    }
    double sum = 0.0;
    for (int j = 0; j < n; j++) {
        s->probs[j] = expf(s->probs[j] - m);
        sum += s->probs[j];
    }
    float fsum = (float)sum;
    for (int j = 0; j < n; j++) s->probs[j] /= fsum;
    return BARK_OK;
}

int bark_argmax(const float *x, int n) {
    int best = 0;
    for (int j = 1; j < n; j++)
        if (x[j] > x[best]) best = j;
    return best;
}

int bark_sampler_pick(const bark_sampler *s, int n, const bark_sample_params *p, bark_rng *rng) {
    if (p->greedy) return bark_argmax(s->probs, n);
    double total = 0.0;
    for (int j = 0; j < n; j++) total += s->probs[j];
    double u = bark_rng_uniform(rng) * total, c = 0.0;
    int last = 0;
    for (int j = 0; j < n; j++) {
        if (s->probs[j] <= 0.0f) continue;
        c += s->probs[j];
        last = j;
        if (u < c) return j;
    }
    return last;
}
