/* threadpool.c: the worker threads behind bark_pool_run: a generation counter, short spinning, then a condvar. */
#include "core/threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#define SPIN_ROUNDS 20000 /* polls before a worker sleeps (decode steps run ~60 jobs per token) */

struct bark_pool {
    pthread_mutex_t mu;
    pthread_cond_t wake, done_cv;
    pthread_t th[BARK_POOL_MAX_THREADS];
    int n_threads;            /* as created */
    int n_workers;            /* threads beside the caller that started */
    atomic_uint gen;          /* bumped for every job; workers start when it changes */
    atomic_int next;          /* next task index to take */
    atomic_int pending;       /* workers still inside the current job */
    atomic_int stop;
    int n_tasks;
    bark_task_fn fn;
    void *ctx;
};

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __asm__ volatile("pause");
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

static void take_tasks(bark_pool *P) {
    for (;;) {
        int i = atomic_fetch_add(&P->next, 1);
        if (i >= P->n_tasks) break;
        P->fn(P->ctx, i, P->n_tasks);
    }
}

static void *worker(void *arg) {
    bark_pool *P = arg;
    unsigned seen = 0;
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load(&P->gen)) == seen && spins < SPIN_ROUNDS) {
            cpu_relax();
            spins++;
        }
        if (g == seen) {
            pthread_mutex_lock(&P->mu);
            while ((g = atomic_load(&P->gen)) == seen && !atomic_load(&P->stop)) pthread_cond_wait(&P->wake, &P->mu);
            pthread_mutex_unlock(&P->mu);
        }
        if (atomic_load(&P->stop)) return NULL;
        seen = g;
        take_tasks(P);
        if (atomic_fetch_sub(&P->pending, 1) == 1) {
            pthread_mutex_lock(&P->mu);
            pthread_cond_signal(&P->done_cv);
            pthread_mutex_unlock(&P->mu);
        }
    }
}

int bark_pool_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > BARK_POOL_MAX_THREADS ? BARK_POOL_MAX_THREADS : (int)n;
}

bark_pool *bark_pool_create(int n_threads) {
    bark_pool *P = calloc(1, sizeof *P);
    if (!P) return NULL;
    P->n_threads = n_threads < 1 ? 1 : n_threads > BARK_POOL_MAX_THREADS ? BARK_POOL_MAX_THREADS : n_threads;
    pthread_mutex_init(&P->mu, NULL);
    pthread_cond_init(&P->wake, NULL);
    pthread_cond_init(&P->done_cv, NULL);
    for (int i = 0; i < P->n_threads - 1; i++) {
        if (pthread_create(&P->th[i], NULL, worker, P)) break;
        P->n_workers++;
    }
    return P;
}

void bark_pool_free(bark_pool *P) {
    if (!P) return;
    pthread_mutex_lock(&P->mu);
    atomic_store(&P->stop, 1);
    atomic_fetch_add(&P->gen, 1);
    pthread_cond_broadcast(&P->wake);
    pthread_mutex_unlock(&P->mu);
    for (int i = 0; i < P->n_workers; i++) pthread_join(P->th[i], NULL);
    pthread_mutex_destroy(&P->mu);
    pthread_cond_destroy(&P->wake);
    pthread_cond_destroy(&P->done_cv);
    free(P);
}

int bark_pool_threads(const bark_pool *P) { return P->n_threads; }

void bark_pool_run(bark_pool *P, int n_tasks, bark_task_fn fn, void *ctx) {
    if (n_tasks <= 0) return;
    if (n_tasks == 1 || P->n_workers == 0) {
        for (int i = 0; i < n_tasks; i++) fn(ctx, i, n_tasks);
        return;
    }
    P->fn = fn;
    P->ctx = ctx;
    P->n_tasks = n_tasks;
    atomic_store(&P->next, 0);
    atomic_store(&P->pending, P->n_workers);
    pthread_mutex_lock(&P->mu);
    atomic_fetch_add(&P->gen, 1);
    pthread_cond_broadcast(&P->wake);
    pthread_mutex_unlock(&P->mu);
    take_tasks(P);
    int spins = 0;
    while (atomic_load(&P->pending) > 0 && spins < SPIN_ROUNDS) {
        cpu_relax();
        spins++;
    }
    if (atomic_load(&P->pending) > 0) {
        pthread_mutex_lock(&P->mu);
        while (atomic_load(&P->pending) > 0) pthread_cond_wait(&P->done_cv, &P->mu);
        pthread_mutex_unlock(&P->mu);
    }
}
