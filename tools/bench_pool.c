/* bench_pool.c: time many runs of small jobs on bark_pool (decode-like: 64 tasks of about half a microsecond). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/threadpool.h"

#define TASKS_PER_RUN 64
#define TASK_WORDS 256 /* words summed by one task: a few hundred nanoseconds of work */

typedef struct {
    int n_threads, runs;
    unsigned words[TASKS_PER_RUN][TASK_WORDS];
    unsigned sums[TASKS_PER_RUN];
    long tasks_run; /* tasks that left a sum, counted after each run */
    double seconds;
} bench_job;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sum_task(void *ctx, int i, int n) {
    bench_job *b = ctx;
    unsigned s = 0;
    for (int k = 0; k < TASK_WORDS; k++) s = s * 31 + b->words[i][k];
    b->sums[i] = s + 1; /* never 0, so a task that did not run shows */
}

/* One pool of b->n_threads doing b->runs jobs; the result lands in b. */
static void *bench_pool(void *arg) {
    bench_job *b = arg;
    for (int i = 0; i < TASKS_PER_RUN; i++)
        for (int k = 0; k < TASK_WORDS; k++) b->words[i][k] = (unsigned)(i * 7919 + k);
    bark_pool *pool = bark_pool_create(b->n_threads);
    if (!pool) return NULL;
    double t0 = now_s();
    for (int r = 0; r < b->runs; r++) {
        for (int i = 0; i < TASKS_PER_RUN; i++) b->sums[i] = 0;
        bark_pool_run(pool, TASKS_PER_RUN, sum_task, b);
        for (int i = 0; i < TASKS_PER_RUN; i++) b->tasks_run += b->sums[i] != 0;
    }
    b->seconds = now_s() - t0;
    bark_pool_free(pool);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_pool THREADS [RUNS (20000)] [POOLS (1), each driven from its own thread]\n");
        return 2;
    }
    int n_threads = atoi(argv[1]), runs = argc > 2 ? atoi(argv[2]) : 20000, n_pools = argc > 3 ? atoi(argv[3]) : 1;
    if (n_threads < 1 || runs < 1 || n_pools < 1 || n_pools > 8) {
        fprintf(stderr, "bench_pool: THREADS and RUNS must be >= 1, POOLS 1..8\n");
        return 2;
    }
    bench_job *jobs = calloc((size_t)n_pools, sizeof *jobs);
    pthread_t drivers[8];
    if (!jobs) return 1;
    for (int p = 0; p < n_pools; p++) {
        jobs[p].n_threads = n_threads;
        jobs[p].runs = runs;
        if (pthread_create(&drivers[p], NULL, bench_pool, &jobs[p])) return 1;
    }
    int failed = 0;
    for (int p = 0; p < n_pools; p++) {
        pthread_join(drivers[p], NULL);
        long expected = (long)runs * TASKS_PER_RUN;
        printf("pool %d: threads %d runs %d tasks/run %d: %.3f s, %.2f us/run%s\n", p, n_threads, runs, TASKS_PER_RUN,
               jobs[p].seconds, jobs[p].seconds * 1e6 / runs, jobs[p].tasks_run == expected ? "" : " (TASKS MISSING)");
        failed |= jobs[p].tasks_run != expected;
    }
    printf("cpus %d\n", bark_pool_cpu_count());
    free(jobs);
    return failed;
}
