/* scheduler.c: many sequences' GPT forwards on one exec: decode steps of a stage batched, the rest one at a time. */
#include "generate/scheduler.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"

enum { JOB_STEP, JOB_PREFILL, JOB_FINE };
#define N_CAUSAL 2 /* semantic and coarse hold KV caches */

/* One forward a generating thread waits for. */
typedef struct job {
    int kind;
    bark_stage stage;
    bark_kv *kv;
    const int32_t *ids, *ids2, *codes;
    int T, pred, t0;
    float *logits;
    double since; /* when it was submitted */
    int done;
    bark_status st;
    bark_error *err;
    struct job *next;
} job;

typedef struct slot {
    bark_kv kv;
    int used;
    bark_stage stage;
} slot;

struct bark_sched {
    const bark_model *m;
    const bark_exec *ex;
    bark_exec own_ex;
    bark_gpt gpt[3];     /* run state of each stage, made when first needed */
    int max_batch;
    size_t kv_cap;       /* bytes of each half of a cache: the largest causal stage's */
    slot *slots;         /* [max_batch] */
    pthread_mutex_t mu;
    pthread_cond_t cv;   /* a job done, a cache released */
    job *head;           /* jobs not yet run, oldest first */
    int running;         /* a thread is running jobs */
    int held[N_CAUSAL];  /* caches held per causal stage */
    uint64_t steps, rows, largest;
    job **run;           /* [max_batch] the jobs being run */
    bark_kv **b_kv;      /* [max_batch] a step's caches, ids and logits */
    int32_t *b_ids;
    float **b_logits;
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

bark_status bark_sched_create(const bark_model *m, const bark_exec *ex, int max_batch, bark_sched **out,
                              bark_error *err) {
    *out = NULL;
    if (max_batch < 1 || max_batch > 64) return bark_fail(err, BARK_ERR_ARG, "engine: a batch of %d (1..64)", max_batch);
    bark_sched *s = calloc(1, sizeof *s);
    if (!s) return bark_fail(err, BARK_ERR_NOMEM, "engine: out of memory");
    s->m = m;
    s->max_batch = max_batch;
    s->slots = calloc((size_t)max_batch, sizeof *s->slots);
    s->run = calloc((size_t)max_batch, sizeof *s->run);
    s->b_kv = calloc((size_t)max_batch, sizeof *s->b_kv);
    s->b_ids = calloc((size_t)max_batch, sizeof *s->b_ids);
    s->b_logits = calloc((size_t)max_batch, sizeof *s->b_logits);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    bark_status st = BARK_OK;
    if (!s->slots || !s->run || !s->b_kv || !s->b_ids || !s->b_logits)
        st = bark_fail(err, BARK_ERR_NOMEM, "engine: out of memory");
    if (!st && !ex && !(st = bark_exec_init(&s->own_ex, 0, NULL, BARK_GEMM_AUTO, err))) ex = &s->own_ex;
    s->ex = ex;
    for (int k = 0; k < N_CAUSAL && !st; k++) {
        const bark_gpt_weights *w;
        bark_error ignore;
        if (bark_model_gpt(m, (bark_stage)k, &w, &ignore) == BARK_OK && bark_kv_bytes(w) > s->kv_cap)
            s->kv_cap = bark_kv_bytes(w);
    }
    if (st) {
        bark_sched_free(s);
        return st;
    }
    *out = s;
    return BARK_OK;
}

void bark_sched_free(bark_sched *s) {
    if (!s) return;
    for (int k = 0; k < 3; k++) bark_gpt_free(&s->gpt[k]);
    for (int i = 0; s->slots && i < s->max_batch; i++) bark_kv_free(&s->slots[i].kv);
    free(s->slots), free(s->run), free(s->b_kv), free(s->b_ids), free(s->b_logits);
    bark_exec_free(&s->own_ex);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

bark_status bark_sched_acquire(bark_sched *s, bark_stage stage, bark_kv **kv, bark_error *err) {
    *kv = NULL;
    const bark_gpt_weights *w;
    bark_status st = bark_model_gpt(s->m, stage, &w, err);
    if (st) return st;
    if (stage != BARK_STAGE_SEMANTIC && stage != BARK_STAGE_COARSE)
        return bark_fail(err, BARK_ERR_ARG, "engine: only the semantic and coarse stages keep a KV cache");
    pthread_mutex_lock(&s->mu);
    int i = -1;
    while (i < 0) {
        for (int k = 0; k < s->max_batch; k++) /* a cache already allocated first */
            if (!s->slots[k].used && (i < 0 || (s->slots[k].kv.k && !s->slots[i].kv.k))) i = k;
        if (i < 0) pthread_cond_wait(&s->cv, &s->mu);
    }
    slot *sl = &s->slots[i];
    sl->used = 1;
    sl->stage = stage;
    s->held[stage]++;
    pthread_mutex_unlock(&s->mu);
    if (!sl->kv.k) st = bark_kv_alloc(&sl->kv, s->kv_cap, err); /* the slot is ours: no lock needed */
    if (!st) st = bark_kv_bind(&sl->kv, w, err);
    if (st) {
        bark_sched_release(s, &sl->kv);
        return st;
    }
    *kv = &sl->kv;
    return BARK_OK;
}

void bark_sched_release(bark_sched *s, bark_kv *kv) {
    if (!kv) return;
    pthread_mutex_lock(&s->mu);
    for (int k = 0; k < s->max_batch; k++)
        if (&s->slots[k].kv == kv && s->slots[k].used) {
            s->slots[k].used = 0;
            s->held[s->slots[k].stage]--;
        }
    pthread_cond_broadcast(&s->cv); /* a waiting step may now be complete, a waiting sequence may take the cache */
    pthread_mutex_unlock(&s->mu);
}

/* ---- choosing and running work (under mu / by the one running thread) ---- */

/* Takes the jobs to run now out of the queue into s->run; returns their count, or 0 and when to look again. */
static int pick(bark_sched *s, double now, double *wake) {
    int n_step[N_CAUSAL] = {0}, n_wait[N_CAUSAL] = {0};
    double first[N_CAUSAL] = {INFINITY, INFINITY};
    job *other = NULL;
    for (job *j = s->head; j; j = j->next) {
        if (j->kind != JOB_FINE) n_wait[j->stage]++;
        if (j->kind == JOB_STEP) {
            n_step[j->stage]++;
            if (j->since < first[j->stage]) first[j->stage] = j->since;
        } else if (!other) {
            other = j;
        }
    }
    int stage = -1;
    for (int k = 0; k < N_CAUSAL; k++) /* every sequence of the stage is waiting: its step is complete */
        if (n_step[k] && n_wait[k] >= s->held[k] && (stage < 0 || first[k] < first[stage])) stage = k;
    if (stage < 0 && other) { /* else a prefill or fine pass, oldest first */
        job **p = &s->head;
        while (*p != other) p = &(*p)->next;
        *p = other->next;
        s->run[0] = other;
        return 1;
    }
    for (int k = 0; k < N_CAUSAL && stage < 0; k++)
        if (n_step[k] && now - first[k] >= BARK_SCHED_WAIT_S) stage = k;
    if (stage < 0) {
        *wake = fmin(first[0], first[1]) + BARK_SCHED_WAIT_S;
        return 0;
    }
    int n = 0;
    for (job **p = &s->head; *p && n < s->max_batch;) {
        if ((*p)->kind == JOB_STEP && (int)(*p)->stage == stage) {
            s->run[n++] = *p;
            *p = (*p)->next;
        } else {
            p = &(*p)->next;
        }
    }
    return n;
}

static bark_status stage_gpt(bark_sched *s, bark_stage stage, bark_gpt **g, bark_error *err) {
    *g = &s->gpt[stage];
    if ((*g)->w) return BARK_OK;
    const bark_gpt_weights *w;
    bark_status st = bark_model_gpt(s->m, stage, &w, err);
    if (!st) st = bark_gpt_init_scratch(*g, w, stage != BARK_STAGE_FINE, s->ex, err);
    return st;
}

/* A step's jobs whose cache or token the batch would refuse fail alone; the rest run as one batched step. */
static void run_steps(bark_sched *s, int n) {
    bark_gpt *g;
    bark_stage stage = s->run[0]->stage;
    bark_status st = stage_gpt(s, stage, &g, s->run[0]->err);
    job *batch[64];
    int B = 0;
    for (int i = 0; i < n; i++) {
        job *j = s->run[i];
        if (st) {
            j->st = st;
            if (j != s->run[0]) *j->err = *s->run[0]->err;
        } else if (j->kv->n_ctx != g->n_ctx || j->kv->f16 != bark_gpt_kv_f16(g->w)) {
            j->st = bark_fail(j->err, BARK_ERR_ARG, "gpt: the KV cache is not bound to this stage");
        } else if (j->kv->n_past >= g->n_ctx) {
            j->st = bark_fail(j->err, BARK_ERR_ARG, "gpt: 1 new token after %d does not fit the context of %d",
                              j->kv->n_past, g->n_ctx);
        } else if (j->ids[0] < 0 || j->ids[0] >= g->w->hp.input_vocab) {
            j->st = bark_fail(j->err, BARK_ERR_ARG, "gpt: token id %d is outside 0..%d", (int)j->ids[0],
                              g->w->hp.input_vocab - 1);
        } else {
            s->b_kv[B] = j->kv, s->b_ids[B] = j->ids[0], s->b_logits[B] = j->logits;
            batch[B++] = j;
        }
    }
    if (!B) return;
    bark_error e;
    bark_status bst = bark_gpt_step_batch(g, s->b_kv, s->b_ids, B, s->b_logits, &e);
    for (int i = 0; i < B; i++) {
        batch[i]->st = bst;
        if (bst) *batch[i]->err = e;
    }
    s->steps++;
    s->rows += (uint64_t)B;
    if ((uint64_t)B > s->largest) s->largest = (uint64_t)B;
}

static void run_one(bark_sched *s, job *j) {
    bark_gpt *g;
    j->st = stage_gpt(s, j->stage, &g, j->err);
    if (j->st) return;
    if (j->kind == JOB_FINE) j->st = bark_gpt_forward_fine(g, j->codes, j->T, j->pred, j->t0, j->logits, j->err);
    else j->st = bark_gpt_forward_kv(g, j->kv, j->ids, j->ids2, j->T, j->logits, j->err);
}

/* Queues j and waits until it has run, running whatever is ready whenever no other thread is. */
static bark_status submit(bark_sched *s, job *j) {
    pthread_mutex_lock(&s->mu);
    j->since = now_s();
    job **p = &s->head;
    while (*p) p = &(*p)->next;
    *p = j;
    while (!j->done) {
        double wake = 0;
        int n = s->running ? 0 : pick(s, now_s(), &wake);
        if (n) {
            s->running = 1;
            pthread_mutex_unlock(&s->mu);
            if (s->run[0]->kind == JOB_STEP) run_steps(s, n);
            else run_one(s, s->run[0]);
            pthread_mutex_lock(&s->mu);
            for (int i = 0; i < n; i++) s->run[i]->done = 1;
            s->running = 0;
            pthread_cond_broadcast(&s->cv);
        } else if (!s->running && wake > 0) {
            struct timespec ts = {(time_t)wake, (long)((wake - floor(wake)) * 1e9)};
            pthread_cond_timedwait(&s->cv, &s->mu, &ts);
        } else {
            pthread_cond_wait(&s->cv, &s->mu);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return j->st;
}

bark_status bark_sched_forward(bark_sched *s, bark_stage stage, bark_kv *kv, const int32_t *ids, const int32_t *ids2,
                               int T, float *logits, bark_error *err) {
    if (stage != BARK_STAGE_SEMANTIC && stage != BARK_STAGE_COARSE)
        return bark_fail(err, BARK_ERR_ARG, "engine: a causal forward of the %s stage", bark_stage_name(stage));
    job j = {T == 1 && !ids2 ? JOB_STEP : JOB_PREFILL, stage, kv, ids, ids2, NULL, T, 0, 0, logits, 0, 0, BARK_OK,
             err, NULL};
    return submit(s, &j);
}

bark_status bark_sched_forward_fine(bark_sched *s, const int32_t *codes, int T, int pred, int t0, float *logits,
                                    bark_error *err) {
    job j = {JOB_FINE, BARK_STAGE_FINE, NULL, NULL, NULL, codes, T, pred, t0, logits, 0, 0, BARK_OK, err, NULL};
    return submit(s, &j);
}

void bark_sched_stats(bark_sched *s, bark_engine_stats *out) {
    pthread_mutex_lock(&s->mu);
    out->max_batch = s->max_batch;
    out->n_threads = bark_pool_threads(s->ex->pool);
    out->kv_bytes = out->scratch_bytes = 0;
    for (int i = 0; i < s->max_batch; i++) out->kv_bytes += s->slots[i].kv.cap * 2;
    for (int k = 0; k < 3; k++) out->scratch_bytes += s->gpt[k].bytes;
    out->active = s->held[0] + s->held[1];
    out->decode_steps = s->steps;
    out->decode_rows = s->rows;
    out->largest_batch = s->largest;
    pthread_mutex_unlock(&s->mu);
}
