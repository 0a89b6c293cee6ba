/* bench_pool.c: time many runs of small jobs on bark_pool (decode-like: 64 tasks of a few hundred nanoseconds). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/threadpool.h"

#define TASKS_PER_RUN 64

typedef struct {
    int n_threads, runs, task_words; /* words summed by one task (256: a few hundred nanoseconds) */
    unsigned *words;                 /* [TASKS_PER_RUN][task_words] */
    unsigned sums[TASKS_PER_RUN][16]; /* [i][0], a cache line each, as kernels write disjoint rows */
    long tasks_run; /* tasks that left a sum, counted after each run */
    double seconds;
} bench_job;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sum_task(void *ctx, int i, int n) {
    (void)n;
    bench_job *b = ctx;
    unsigned s = 0;
    const unsigned *w = b->words + (size_t)i * b->task_words;
    for (int k = 0; k < b->task_words; k++) s = s * 31 + w[k];
    b->sums[i][0] = s + 1; /* never 0, so a task that did not run shows */
}

/* One pool of b->n_threads doing b->runs jobs; the result lands in b. */
static void *bench_pool(void *arg) {
    bench_job *b = arg;
    b->words = malloc((size_t)TASKS_PER_RUN * b->task_words * sizeof *b->words);
    bark_pool *pool = b->words ? bark_pool_create(b->n_threads) : NULL;
    if (!pool) {
        free(b->words);
        return NULL;
    }
    for (size_t k = 0; k < (size_t)TASKS_PER_RUN * b->task_words; k++) b->words[k] = (unsigned)(k * 7919);
    double t0 = now_s();
    for (int r = 0; r < b->runs; r++) {
        for (int i = 0; i < TASKS_PER_RUN; i++) b->sums[i][0] = 0;
        bark_pool_run(pool, TASKS_PER_RUN, sum_task, b);
        for (int i = 0; i < TASKS_PER_RUN; i++) b->tasks_run += b->sums[i][0] != 0;
    }
    b->seconds = now_s() - t0;
    bark_pool_free(pool);
    free(b->words);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_pool THREADS [RUNS (20000)] [POOLS (1), each driven from its own thread] "
                        "[WORDS per task (256)]\n");
        return 2;
    }
    int n_threads = atoi(argv[1]), runs = argc > 2 ? atoi(argv[2]) : 20000, n_pools = argc > 3 ? atoi(argv[3]) : 1;
    int task_words = argc > 4 ? atoi(argv[4]) : 256;
    if (n_threads < 1 || runs < 1 || n_pools < 1 || n_pools > 8 || task_words < 1 || task_words > 1 << 20) {
        fprintf(stderr, "bench_pool: THREADS and RUNS must be >= 1, POOLS 1..8, WORDS 1..2^20\n");
        return 2;
    }
    bench_job *jobs = calloc((size_t)n_pools, sizeof *jobs);
    pthread_t drivers[8];
    if (!jobs) return 1;
    for (int p = 0; p < n_pools; p++) {
        jobs[p].n_threads = n_threads;
        jobs[p].runs = runs;
        jobs[p].task_words = task_words;
        if (pthread_create(&drivers[p], NULL, bench_pool, &jobs[p])) return 1;
    }
    int failed = 0;
    for (int p = 0; p < n_pools; p++) {
        pthread_join(drivers[p], NULL);
        long expected = (long)runs * TASKS_PER_RUN;
        printf("pool %d: threads %d runs %d tasks/run %d words/task %d: %.3f s, %.2f us/run%s\n", p, n_threads, runs,
               TASKS_PER_RUN, task_words, jobs[p].seconds, jobs[p].seconds * 1e6 / runs,
               jobs[p].tasks_run == expected ? "" : " (TASKS MISSING)");
        failed |= jobs[p].tasks_run != expected;
    }
    printf("cpus %d\n", bark_pool_cpu_count());
    free(jobs);
    return failed;
}
