/* threadpool.h: a pool of worker threads (pthreads) that runs numbered tasks in parallel; one per synthesis. */
#ifndef BARK_THREADPOOL_H
#define BARK_THREADPOOL_H

#include <stdint.h>

/* Task i of n (0 <= i < n). Tasks must write disjoint outputs; which thread runs a task never matters. */
typedef void (*bark_task_fn)(void *ctx, int i, int n);

typedef struct bark_pool bark_pool;

/* A pool of n_threads (1..BARK_POOL_MAX_THREADS, the caller's thread counted): n_threads - 1 workers. Workers
 * that cannot be started are done without (the tasks still all run). NULL only when out of memory. */
#define BARK_POOL_MAX_THREADS 64
bark_pool *bark_pool_create(int n_threads);
void bark_pool_free(bark_pool *p); /* accepts NULL */

/* The thread count it was created with (tasks are split by it, so results may depend on it only where a rule
 * says they may not). */
int bark_pool_threads(const bark_pool *p);

/* Runs fn(ctx, i, n_tasks) for every i, the caller's thread taking part, and returns when all are done (n_tasks
 * <= 0: at once). One run at a time per pool (a pool belongs to one synthesis; pools are independent, so several
 * can run at once from different threads); a task must not start a run of its own. Waits spin briefly, then
 * yield the core, then sleep, so a pool with more threads than free cores slows down little. */
void bark_pool_run(bark_pool *p, int n_tasks, bark_task_fn fn, void *ctx);

/* Task i of n's share of count items (rows, heads): [i * count / n, (i + 1) * count / n). */
static inline void bark_task_rows(int i, int n, int count, int *r0, int *r1) {
    *r0 = (int)((int64_t)count * i / n);
    *r1 = (int)((int64_t)count * (i + 1) / n);
}

/* The CPUs this process may run on (bark_cpu_count in bark.h): the affinity mask's count, capped by a cgroup CPU
 * quota (v2 cpu.max, v1 cpu.cfs_quota_us) on its cgroup or an ancestor, rounded up; 1..BARK_POOL_MAX_THREADS.
 * Unreadable or malformed cgroup files count as no quota. */
int bark_pool_cpu_count(void);

/* Exposed for the tests: the quota parsers behind bark_pool_cpu_count. They return 1 and set *out to the quota in
 * CPUs (rounded up, 1..BARK_POOL_MAX_THREADS) when the text sets one, 0 when it sets none ("max", "-1") or is not
 * understood. cpu.max text is "QUOTA PERIOD" or "max PERIOD"; the v1 texts are the two files' contents. */
int bark_pool_parse_cpu_max(const char *text, int *out);
int bark_pool_parse_cfs_quota(const char *quota_text, const char *period_text, int *out);

#endif
