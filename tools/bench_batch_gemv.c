/* bench_batch_gemv.c: times a bark-small decode step of batched q8_0 GEMVs (gemv_q8_0_batch), B = 1..16 sequences. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels.h"

#define N_EMBD 768
#define N_LAYER 12
#define N_VOCAB 10048 /* the semantic stage's lm_head */
#define N_MATS (4 * N_LAYER + 1)
#define MAX_B 16
#define MAX_THREADS 2

typedef struct {
    int n, rows; /* input width, output rows */
    block_q8_0 *w;
} mat;

typedef struct bench {
    const bark_kernels *k;
    mat m[N_MATS];
    int8_t *xq[2];  /* B rows of activations, n = 768 and 3072 */
    float *xd[2];
    float *y;       /* B rows of up to N_VOCAB outputs */
    int B, threads, steps;
    pthread_barrier_t start, end;
} bench;

typedef struct {
    bench *b;
    int part;
} worker;

static unsigned rnd(unsigned *s) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One decode step's GEMVs over this part's share of every matrix's output rows. */
static void step(bench *b, int part) {
    for (int i = 0; i < N_MATS; i++) {
        const mat *m = &b->m[i];
        int lo = m->rows * part / b->threads, hi = m->rows * (part + 1) / b->threads, x = m->n == N_EMBD ? 0 : 1;
        size_t rb = (size_t)m->n / QK8_0 * sizeof(block_q8_0);
        b->k->gemv_q8_0_batch((const uint8_t *)m->w + (size_t)lo * rb, rb, hi - lo, b->xq[x], b->xd[x], m->n, b->B,
                              b->y + lo, N_VOCAB);
    }
}

static void *run_worker(void *arg) {
    worker *w = arg;
    for (int s = 0; s < w->b->steps; s++) {
        pthread_barrier_wait(&w->b->start);
        step(w->b, w->part);
        pthread_barrier_wait(&w->b->end);
    }
    return NULL;
}

/* Median milliseconds of one step (threads started once, lined up by barriers around each step). */
static double time_steps(bench *b) {
    enum { STEPS = 21 };
    double ms[STEPS];
    b->steps = STEPS + 1; /* one warm-up step */
    worker w[MAX_THREADS];
    pthread_t th[MAX_THREADS];
    pthread_barrier_init(&b->start, NULL, (unsigned)b->threads + 1);
    pthread_barrier_init(&b->end, NULL, (unsigned)b->threads + 1);
    for (int t = 0; t < b->threads; t++) {
        w[t] = (worker){b, t};
        if (pthread_create(&th[t], NULL, run_worker, &w[t])) exit(1);
    }
    for (int s = 0; s < b->steps; s++) {
        pthread_barrier_wait(&b->start);
        double t0 = now_s();
        pthread_barrier_wait(&b->end);
        if (s > 0) ms[s - 1] = (now_s() - t0) * 1e3;
    }
    for (int t = 0; t < b->threads; t++) pthread_join(th[t], NULL);
    pthread_barrier_destroy(&b->start);
    pthread_barrier_destroy(&b->end);
    for (int i = 1; i < STEPS; i++) /* insertion sort for the median */
        for (int j = i; j > 0 && ms[j] < ms[j - 1]; j--) {
            double v = ms[j];
            ms[j] = ms[j - 1];
            ms[j - 1] = v;
        }
    return ms[STEPS / 2];
}

int main(int argc, char **argv) {
    bench b = {.k = argc > 1 ? bark_kernels_by_name(argv[1]) : bark_kernels_get()};
    if (!b.k) {
        fprintf(stderr, "bench_batch_gemv: no kernel table %s on this CPU\n", argv[1]);
        return 2;
    }
    unsigned s = 1;
    size_t bytes = 0;
    for (int i = 0; i < N_MATS; i++) {
        static const int shape[4][2] = {{N_EMBD, 3 * N_EMBD}, {N_EMBD, N_EMBD}, {N_EMBD, 4 * N_EMBD},
                                        {4 * N_EMBD, N_EMBD}}; /* qkv, out, up, down */
        mat *m = &b.m[i];
        m->n = i == N_MATS - 1 ? N_EMBD : shape[i % 4][0];
        m->rows = i == N_MATS - 1 ? N_VOCAB : shape[i % 4][1];
        size_t nb = (size_t)m->rows * m->n / QK8_0;
        if (!(m->w = malloc(nb * sizeof *m->w))) return 1;
        for (size_t j = 0; j < nb; j++) {
            m->w[j].d = bark_f32_to_f16((float)(rnd(&s) % 1000 + 1) * 1e-5f);
            for (int q = 0; q < QK8_0; q++) m->w[j].qs[q] = (int8_t)(rnd(&s) % 255 - 127);
        }
        bytes += nb * sizeof *m->w;
    }
    for (int x = 0; x < 2; x++) {
        int n = x ? 4 * N_EMBD : N_EMBD;
        b.xq[x] = malloc((size_t)MAX_B * n);
        b.xd[x] = malloc((size_t)MAX_B * n / QK8_0 * sizeof *b.xd[x]);
        if (!b.xq[x] || !b.xd[x]) return 1;
        for (int i = 0; i < MAX_B * n; i++) b.xq[x][i] = (int8_t)(rnd(&s) % 255 - 127);
        for (int i = 0; i < MAX_B * n / QK8_0; i++) b.xd[x][i] = (float)(rnd(&s) % 1000 + 1) * 1e-3f;
    }
    if (!(b.y = malloc((size_t)MAX_B * N_VOCAB * sizeof *b.y))) return 1;
    printf("table %s\nweight_bytes_per_step %zu\n", b.k->name, bytes);
    double t_b1[MAX_THREADS + 1] = {0}, t_b8[MAX_THREADS + 1] = {0};
    for (int threads = 1; threads <= MAX_THREADS; threads++)
        for (int B = 1; B <= MAX_B; B *= 2) {
            b.B = B;
            b.threads = threads;
            double ms = time_steps(&b);
            if (B == 1) t_b1[threads] = ms;
            if (B == 8) t_b8[threads] = ms;
            printf("gemv_step_ms_b%d_t%d %.3f\n", B, threads, ms);
            fflush(stdout);
        }
    for (int threads = 1; threads <= MAX_THREADS; threads++)
        printf("ratio_b8_b1_t%d %.2f\n", threads, t_b8[threads] / t_b1[threads]);
    for (int i = 0; i < N_MATS; i++) free(b.m[i].w);
    for (int x = 0; x < 2; x++) free(b.xq[x]), free(b.xd[x]);
    free(b.y);
    return 0;
}
