/* threadpool.c: the worker threads behind bark_pool_run (generation counter, short spin, condvar) and the CPU count. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_ALLOC */
#include "core/threadpool.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
