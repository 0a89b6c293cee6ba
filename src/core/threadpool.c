/* threadpool.c: the worker threads behind bark_pool_run (tagged claims; spin, yield, then sleep) and the CPU count. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_ALLOC */
#include "core/threadpool.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A waiting thread first polls with a pause between polls (a job usually follows within microseconds when the
 * cores are free), then with sched_yield() between polls (if the thread it waits for shares its core, that one
 * runs now; if not, a poll costs under a microsecond), then sleeps on a condition variable. The budgets are
 * counted in polls, not time: on a shared core every yield lets the others run a time slice, so a pool squeezed
 * onto one core stays awake and needs no wake-up calls while jobs keep coming. */
#define SPIN_POLLS 256   /* about 10 us of pause */
#define YIELD_POLLS 2000 /* about 1 ms of yields when nothing else wants the core */

/* The claim word holds the job's generation (high 32 bits) and the next task index to hand out (low 32). A task
 * is claimed by a compare-exchange of the whole word, so a claim decided on a stale look (the job finished, closed
 * or replaced since) fails; the generation keeps the word from coming back to an old value in between. */
#define CLAIM(gen, index) ((uint64_t)(gen) << 32 | (uint32_t)(index))
#define CLOSED UINT32_MAX /* the index of a finished job: at or above every n_tasks, so no claim succeeds */

struct bark_pool {
    _Alignas(64) _Atomic uint64_t claim; /* its own cache line: every claim writes it */
    _Alignas(64) atomic_int done;         /* tasks of the current job finished, by everyone */
    atomic_int caller_waiting;            /* the caller sleeps on done_cv: a worker finishing tasks signals */
    atomic_int sleeping_workers;          /* workers asleep on work_cv: the caller broadcasts a new job */
    atomic_int stop;                      /* set by bark_pool_free */
    /* The current job, written by the caller before it publishes the job's claim word. Atomics because a late
     * worker may read them while the caller writes the next job's (its claim then fails; see claim_tasks). */
    _Atomic int n_tasks;
    _Atomic(bark_task_fn) fn;
    _Atomic(void *) ctx;
    pthread_mutex_t mu; /* guards only the sleeps on the two condition variables */
    pthread_cond_t work_cv, done_cv;
    int n_threads; /* as created */
    int n_workers; /* threads beside the caller that started */
    pthread_t workers[BARK_POOL_MAX_THREADS];
};

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __asm__ volatile("pause");
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

/* What a waiting thread does after its poll number `poll` came up empty. */
static void back_off(int poll) {
    if (poll < SPIN_POLLS)
        cpu_relax();
    else
        sched_yield();
}

static uint32_t claim_gen(bark_pool *P) { return (uint32_t)(atomic_load(&P->claim) >> 32); }

/* Claims and runs tasks of the current job until none is left; returns how many this thread ran. The task count is
 * read before the claim: if it is already the next job's, the caller closed this job's word before writing it
 * (acquire here, release there), so the compare-exchange sees the change and fails. fn and ctx are read after a
 * successful claim, when the caller cannot move on until this task is reported done. */
static int claim_tasks(bark_pool *P) {
    int ran = 0;
    uint64_t word = atomic_load_explicit(&P->claim, memory_order_acquire);
    for (;;) {
        uint32_t index = (uint32_t)word;
        int n_tasks = atomic_load_explicit(&P->n_tasks, memory_order_acquire);
        if (index >= (uint32_t)n_tasks) return ran;
        if (!atomic_compare_exchange_weak_explicit(&P->claim, &word, word + 1, memory_order_acquire,
                                                   memory_order_acquire))
            continue; /* word now holds the current value */
        bark_task_fn fn = atomic_load_explicit(&P->fn, memory_order_relaxed);
        fn(atomic_load_explicit(&P->ctx, memory_order_relaxed), (int)index, n_tasks);
        ran++;
        word = atomic_load_explicit(&P->claim, memory_order_acquire);
    }
}

/* Adds a worker's finished tasks to the job's count (release: the caller reads the tasks' outputs after it sees the
 * count) and wakes the caller if it sleeps. The add and the flag load are sequentially consistent, pairing with
 * the caller's flag store and count load in wait_for_done, so either it sees the flag or the caller sees the count. */
static void report_done(bark_pool *P, int ran) {
    atomic_fetch_add(&P->done, ran);
    if (atomic_load(&P->caller_waiting)) {
        pthread_mutex_lock(&P->mu);
        pthread_cond_signal(&P->done_cv);
        pthread_mutex_unlock(&P->mu);
    }
}

/* Returns the generation of the next job once it differs from `seen`. The sleep pairs with bark_pool_run like
 * report_done with wait_for_done: the worker counts itself asleep, then loads the word; the caller stores the word,
 * then loads the count. */
static uint32_t wait_for_job(bark_pool *P, uint32_t seen) {
    uint32_t gen;
    for (int poll = 0; poll < SPIN_POLLS + YIELD_POLLS; poll++) {
        if ((gen = claim_gen(P)) != seen) return gen;
        back_off(poll);
    }
    pthread_mutex_lock(&P->mu);
    atomic_fetch_add(&P->sleeping_workers, 1);
    while ((gen = claim_gen(P)) == seen) pthread_cond_wait(&P->work_cv, &P->mu);
    atomic_fetch_sub(&P->sleeping_workers, 1);
    pthread_mutex_unlock(&P->mu);
    return gen;
}

static void *worker_main(void *arg) {
    bark_pool *P = arg;
    uint32_t seen = 0; /* the pool starts at generation 0, closed */
    for (;;) {
        seen = wait_for_job(P, seen);
        if (atomic_load(&P->stop)) return NULL;
        int ran = claim_tasks(P);
        if (ran) report_done(P, ran);
    }
}

/* Waits until all n_tasks of the current job are done: only for tasks that other threads claimed and still run,
 * never for workers that have not come by (they find the job closed when they do). */
static void wait_for_done(bark_pool *P, int n_tasks) {
    for (int poll = 0; poll < SPIN_POLLS + YIELD_POLLS; poll++) {
        if (atomic_load_explicit(&P->done, memory_order_acquire) == n_tasks) return;
        back_off(poll);
    }
    pthread_mutex_lock(&P->mu);
    atomic_store(&P->caller_waiting, 1);
    while (atomic_load(&P->done) != n_tasks) pthread_cond_wait(&P->done_cv, &P->mu);
    atomic_store(&P->caller_waiting, 0);
    pthread_mutex_unlock(&P->mu);
}

void bark_pool_run(bark_pool *P, int n_tasks, bark_task_fn fn, void *ctx) {
    if (n_tasks <= 0) return;
    if (n_tasks == 1 || P->n_workers == 0) {
        for (int i = 0; i < n_tasks; i++) fn(ctx, i, n_tasks);
        return;
    }
    uint32_t gen = claim_gen(P) + 1; /* wraps after 2^32 jobs; only a claim stalled that long could be fooled */
    atomic_store_explicit(&P->done, 0, memory_order_relaxed);
    atomic_store_explicit(&P->fn, fn, memory_order_relaxed);
    atomic_store_explicit(&P->ctx, ctx, memory_order_relaxed);
    atomic_store_explicit(&P->n_tasks, n_tasks, memory_order_release); /* after the last job's close: claim_tasks */
    atomic_store(&P->claim, CLAIM(gen, 0));                             /* publishes the job (see wait_for_job) */
    if (atomic_load(&P->sleeping_workers) > 0) {
        pthread_mutex_lock(&P->mu);
        pthread_cond_broadcast(&P->work_cv);
        pthread_mutex_unlock(&P->mu);
    }
    int ran = claim_tasks(P);
    if (atomic_fetch_add(&P->done, ran) + ran != n_tasks) wait_for_done(P, n_tasks);
    atomic_store_explicit(&P->claim, CLAIM(gen, CLOSED), memory_order_relaxed);
}

bark_pool *bark_pool_create(int n_threads) {
    bark_pool *P = aligned_alloc(_Alignof(bark_pool), sizeof *P); /* the size is a multiple of the alignment */
    if (!P) return NULL;
    memset(P, 0, sizeof *P);
    atomic_init(&P->claim, CLAIM(0, CLOSED));
    P->n_threads = n_threads < 1 ? 1 : n_threads > BARK_POOL_MAX_THREADS ? BARK_POOL_MAX_THREADS : n_threads;
    pthread_mutex_init(&P->mu, NULL);
    pthread_cond_init(&P->work_cv, NULL);
    pthread_cond_init(&P->done_cv, NULL);
    for (int i = 0; i < P->n_threads - 1; i++) {
        if (pthread_create(&P->workers[i], NULL, worker_main, P)) break;
        P->n_workers++;
    }
    return P;
}

void bark_pool_free(bark_pool *P) {
    if (!P) return;
    /* Under the lock, so a worker between its check and its sleep cannot miss the change. */
    pthread_mutex_lock(&P->mu);
    atomic_store(&P->stop, 1);
    atomic_store(&P->claim, CLAIM(claim_gen(P) + 1, CLOSED));
    pthread_cond_broadcast(&P->work_cv);
    pthread_mutex_unlock(&P->mu);
    for (int i = 0; i < P->n_workers; i++) pthread_join(P->workers[i], NULL);
    pthread_mutex_destroy(&P->mu);
    pthread_cond_destroy(&P->work_cv);
    pthread_cond_destroy(&P->done_cv);
    free(P);
}

int bark_pool_threads(const bark_pool *P) { return P->n_threads; }

/* ---- CPU count ---- */

/* Reads a whole small file into buf as a string; false when it is missing, unreadable or does not fit. */
static bool read_small_file(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    size_t len = 0;
    bool failed = false;
    for (;;) {
        if (len == size - 1) { /* full: a cut-off file is refused rather than parsed in part */
            char extra;
            failed = read(fd, &extra, 1) != 0;
            break;
        }
        ssize_t got = read(fd, buf + len, size - 1 - len);
        if (got == 0) break;
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            failed = true;
            break;
        }
        len += (size_t)got;
    }
    close(fd);
    buf[len] = '\0';
    return !failed && len > 0;
}

/* Parses decimal digits at *s (no sign, no spaces) into *out and moves *s past them; false without digits or when
 * the number does not fit a long long. */
static bool parse_count(const char **s, long long *out) {
    const char *p = *s;
    long long v = 0;
    if (*p < '0' || *p > '9') return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        int digit = *p - '0';
        if (v > (LLONG_MAX - digit) / 10) return false;
        v = v * 10 + digit;
    }
    *s = p;
    *out = v;
    return true;
}

/* True when only an optional newline is left at s. */
static bool at_end(const char *s) { return s[0] == '\0' || (s[0] == '\n' && s[1] == '\0'); }

/* A quota of `quota` microseconds per `period` in whole CPUs: rounded up (1.5 CPUs can keep 2 threads busy part of
 * the time), at least 1, at most BARK_POOL_MAX_THREADS. */
static int quota_cpus(long long quota, long long period) {
    long long cpus = quota / period + (quota % period != 0);
    return cpus < 1 ? 1 : cpus > BARK_POOL_MAX_THREADS ? BARK_POOL_MAX_THREADS : (int)cpus;
}

int bark_pool_parse_cpu_max(const char *text, int *out) {
    const char *s = text;
    long long quota = -1, period;
    if (!strncmp(s, "max", 3))
        s += 3;
    else if (!parse_count(&s, &quota))
        return 0;
    if (*s++ != ' ' || !parse_count(&s, &period) || period == 0 || !at_end(s) || quota < 0) return 0;
    *out = quota_cpus(quota, period);
    return 1;
}

int bark_pool_parse_cfs_quota(const char *quota_text, const char *period_text, int *out) {
    const char *q = quota_text, *p = period_text;
    long long quota, period;
    if (!parse_count(&q, &quota) || !at_end(q)) return 0; /* "-1": no quota */
    if (!parse_count(&p, &period) || period == 0 || !at_end(p)) return 0;
    *out = quota_cpus(quota, period);
    return 1;
}

/* The quota in CPUs set on one cgroup (dir is its folder), 0 when it sets none or its files cannot be read. */
static int cgroup_dir_quota(const char *dir, bool v2) {
    char path[PATH_MAX], text[64], period_text[64];
    int cpus = 0;
    if (v2) {
        if (snprintf(path, sizeof path, "%s/cpu.max", dir) < (int)sizeof path &&
            read_small_file(path, text, sizeof text))
            bark_pool_parse_cpu_max(text, &cpus);
        return cpus;
    }
    if (snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", dir) >= (int)sizeof path ||
        !read_small_file(path, text, sizeof text))
        return 0;
    if (snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dir) >= (int)sizeof path ||
        !read_small_file(path, period_text, sizeof period_text))
        return 0;
    bark_pool_parse_cfs_quota(text, period_text, &cpus);
    return cpus;
}

/* The smallest quota in CPUs on the cgroup `path` (from /proc/self/cgroup) under the hierarchy mounted at `mount`,
 * or on any of its ancestors up to the mount's root; 0 when none sets one. A path that leaves the hierarchy (a
 * ".." component, shown for a cgroup outside this namespace) is not followed. */
static int cgroup_quota(const char *mount, const char *path, size_t path_len, bool v2) {
    char dir[PATH_MAX];
    size_t mount_len = strlen(mount);
    if (path_len == 0 || path[0] != '/' || mount_len + path_len >= sizeof dir) return 0;
    for (size_t i = 0; i + 2 < path_len; i++)
        if (path[i] == '/' && path[i + 1] == '.' && path[i + 2] == '.' && (i + 3 == path_len || path[i + 3] == '/'))
            return 0;
    memcpy(dir, mount, mount_len);
    memcpy(dir + mount_len, path, path_len);
    size_t len = mount_len + path_len;
    int smallest = 0;
    for (;;) {
        while (len > mount_len && dir[len - 1] == '/') len--; /* "/" and trailing slashes */
        dir[len] = '\0';
        int cpus = cgroup_dir_quota(dir, v2);
        if (cpus && (!smallest || cpus < smallest)) smallest = cpus;
        if (len == mount_len) return smallest;
        while (len > mount_len && dir[len - 1] != '/') len--; /* up one level */
    }
}

/* True when the comma-separated controller list (len bytes) names "cpu" and is safe as a folder name. */
static bool lists_cpu_controller(const char *list, size_t len) {
    bool has_cpu = false;
    for (size_t i = 0; i < len; i++)
        if (!((list[i] >= 'a' && list[i] <= 'z') || (list[i] >= '0' && list[i] <= '9') || list[i] == '_' ||
              list[i] == ','))
            return false;
    for (size_t start = 0; start < len;) {
        size_t end = start;
        while (end < len && list[end] != ',') end++;
        has_cpu |= end - start == 3 && !memcmp(list + start, "cpu", 3);
        start = end + 1;
    }
    return has_cpu;
}

/* The CPU limit from this process's cgroups (v2 cpu.max, v1 cpu.cfs_quota_us), 0 when there is none. Lines of
 * /proc/self/cgroup are "ID:CONTROLLERS:PATH": "0::PATH" for v2, a list naming "cpu" for the v1 cpu hierarchy,
 * mounted at /sys/fs/cgroup/CONTROLLERS. */
static int cgroup_cpus(void) {
    char text[8192];
    if (!read_small_file("/proc/self/cgroup", text, sizeof text)) return 0;
    int smallest = 0;
    for (char *line = text; *line;) {
        char *eol = strchr(line, '\n');
        if (!eol) break; /* every line ends in a newline; a missing one means garbage */
        char *c1 = memchr(line, ':', (size_t)(eol - line));
        char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(eol - c1 - 1)) : NULL;
        int cpus = 0;
        if (c2) {
            const char *path = c2 + 1;
            size_t list_len = (size_t)(c2 - c1 - 1), path_len = (size_t)(eol - path);
            if (c1 - line == 1 && line[0] == '0' && list_len == 0) {
                cpus = cgroup_quota("/sys/fs/cgroup", path, path_len, true);
            } else if (list_len < 200 && lists_cpu_controller(c1 + 1, list_len)) {
                char mount[256];
                snprintf(mount, sizeof mount, "/sys/fs/cgroup/%.*s", (int)list_len, c1 + 1);
                cpus = cgroup_quota(mount, path, path_len, false);
            }
        }
        if (cpus && (!smallest || cpus < smallest)) smallest = cpus;
        line = eol + 1;
    }
    return smallest;
}

/* The CPUs in this thread's affinity mask; the online count if the mask cannot be had. The mask is grown until it
 * is as large as the kernel's (EINVAL means too small). */
static int affinity_cpus(void) {
    for (int max_cpus = 1024; max_cpus <= 1 << 16; max_cpus *= 2) {
        cpu_set_t *set = CPU_ALLOC(max_cpus);
        if (!set) break;
        size_t size = CPU_ALLOC_SIZE(max_cpus);
        int got = sched_getaffinity(0, size, set);
        int count = got == 0 ? CPU_COUNT_S(size, set) : 0;
        int err = errno;
        CPU_FREE(set);
        if (got == 0) return count;
        if (err != EINVAL) break;
    }
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online < 1 ? 1 : online > INT_MAX ? INT_MAX : (int)online;
}

/* Computed on every call (a few small reads), so it follows changes of the affinity mask. */
int bark_pool_cpu_count(void) {
    int cpus = affinity_cpus(), quota = cgroup_cpus();
    if (quota && quota < cpus) cpus = quota;
    return cpus < 1 ? 1 : cpus > BARK_POOL_MAX_THREADS ? BARK_POOL_MAX_THREADS : cpus;
}
