/* threadpool.c: the worker threads behind bark_pool_run: a generation counter, short spinning, then a condvar. */
#include "core/threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_THREADS 64
#define SPIN_ROUNDS 20000 /* polls before a worker sleeps (decode steps run ~60 jobs per token) */

typedef struct pool {
    pthread_mutex_t mu;
    pthread_cond_t wake, done_cv;
    pthread_t th[MAX_THREADS];
    int n_workers;            /* threads beside the caller */
    atomic_uint gen;          /* bumped for every job; workers start when it changes */
    atomic_int next;          /* next task index to take */
    atomic_int pending;       /* workers still inside the current job */
    int stop;
    int n_tasks;
    bark_task_fn fn;
    void *ctx;
} pool;

static pool P = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER, .done_cv = PTHREAD_COND_INITIALIZER};
static pthread_mutex_t run_mu = PTHREAD_MUTEX_INITIALIZER; /* one run at a time across caller threads */
static int want_threads;   /* 0: not chosen yet */
static int started_threads; /* workers + 1 the pool was built for; 0: not built */

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __asm__ volatile("pause");
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

static void take_tasks(void) {
    for (;;) {
        int i = atomic_fetch_add(&P.next, 1);
        if (i >= P.n_tasks) break;
        P.fn(P.ctx, i, P.n_tasks);
    }
}

static void *worker(void *arg) {
    unsigned seen = (unsigned)(size_t)arg;
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load(&P.gen)) == seen && spins < SPIN_ROUNDS) {
            cpu_relax();
            spins++;
        }
        if (g == seen) {
            pthread_mutex_lock(&P.mu);
            while ((g = atomic_load(&P.gen)) == seen && !P.stop) pthread_cond_wait(&P.wake, &P.mu);
            pthread_mutex_unlock(&P.mu);
        }
        if (P.stop) return NULL;
        seen = g;
        take_tasks();
        if (atomic_fetch_sub(&P.pending, 1) == 1) {
            pthread_mutex_lock(&P.mu);
            pthread_cond_signal(&P.done_cv);
            pthread_mutex_unlock(&P.mu);
        }
    }
}

static void stop_workers(void) {
    pthread_mutex_lock(&P.mu);
    P.stop = 1;
    atomic_fetch_add(&P.gen, 1);
    pthread_cond_broadcast(&P.wake);
    pthread_mutex_unlock(&P.mu);
    for (int i = 0; i < P.n_workers; i++) pthread_join(P.th[i], NULL);
    P.n_workers = 0;
    P.stop = 0;
}

static int env_threads(void) {
    const char *e = getenv("BARK_THREADS");
    long n = e ? strtol(e, NULL, 10) : 0;
    if (n <= 0) n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
}

int bark_pool_set_threads(int n) {
    want_threads = n <= 0 ? env_threads() : n > MAX_THREADS ? MAX_THREADS : n;
    return want_threads;
}

int bark_pool_threads(void) {
    if (!want_threads) want_threads = env_threads();
    return want_threads;
}

/* (Re)builds the workers for the wanted count; on failure keeps however many started. */
static void ensure_pool(void) {
    int n = bark_pool_threads();
    if (started_threads == n) return;
    if (P.n_workers) stop_workers();
    unsigned g = atomic_load(&P.gen);
    for (int i = 0; i < n - 1; i++) {
        if (pthread_create(&P.th[i], NULL, worker, (void *)(size_t)g)) break;
        P.n_workers++;
    }
    started_threads = n;
}

void bark_pool_run(int n_tasks, bark_task_fn fn, void *ctx) {
    if (n_tasks <= 0) return;
    pthread_mutex_lock(&run_mu);
    ensure_pool();
    if (n_tasks == 1 || P.n_workers == 0) {
        for (int i = 0; i < n_tasks; i++) fn(ctx, i, n_tasks);
        pthread_mutex_unlock(&run_mu);
        return;
    }
    P.fn = fn;
    P.ctx = ctx;
    P.n_tasks = n_tasks;
    atomic_store(&P.next, 0);
    atomic_store(&P.pending, P.n_workers);
    pthread_mutex_lock(&P.mu);
    atomic_fetch_add(&P.gen, 1);
    pthread_cond_broadcast(&P.wake);
    pthread_mutex_unlock(&P.mu);
    take_tasks();
    int spins = 0;
    while (atomic_load(&P.pending) > 0 && spins < SPIN_ROUNDS) {
        cpu_relax();
        spins++;
    }
    if (atomic_load(&P.pending) > 0) {
        pthread_mutex_lock(&P.mu);
        while (atomic_load(&P.pending) > 0) pthread_cond_wait(&P.done_cv, &P.mu);
        pthread_mutex_unlock(&P.mu);
    }
    pthread_mutex_unlock(&run_mu);
}
