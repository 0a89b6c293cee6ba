/* threadpool.h: one process-wide pool of worker threads (pthreads) that runs numbered tasks in parallel. */
#ifndef BARK_THREADPOOL_H
#define BARK_THREADPOOL_H

/* Task i of n (0 <= i < n). Tasks must write disjoint outputs; which thread runs a task never matters. */
typedef void (*bark_task_fn)(void *ctx, int i, int n);

/* Sets the number of threads (1..64) the pool uses from the next bark_pool_run on; 0 = BARK_THREADS from
 * the environment, else the number of online CPUs. Call it while no run is in progress. Returns the count. */
int bark_pool_set_threads(int n);
/* The number of threads runs use (the pool is created on first use, once per thread count). */
int bark_pool_threads(void);

/* Runs fn(ctx, i, n_tasks) for every i, the caller's thread taking part, and returns when all are done.
 * If the worker threads cannot be created the tasks run in the caller's thread (same results). Runs from
 * several threads take turns; a task must not start a run of its own. */
void bark_pool_run(int n_tasks, bark_task_fn fn, void *ctx);

#endif
