/* test_threadpool.c: each task runs exactly once (many sizes, thread counts, two pools at once); CPU quota parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/threadpool.h"

#define MAX_TASKS 1000
#define RUNS_PER_SIZE 200

static const int task_counts[] = {1, 2, 3, 7, 64, 1000};
static const int thread_counts[] = {1, 2, 3, 8};
#define N_TASK_COUNTS (int)(sizeof task_counts / sizeof task_counts[0])

/* What the tasks of one run write: plain ints, one slot per task, so a task run twice at once is a data race
 * under ThreadSanitizer, and the caller reading them after the run checks that the pool publishes them. */
typedef struct {
    int runs[MAX_TASKS];     /* times task i ran */
    int n_seen[MAX_TASKS];   /* the n it was given */
} run_record;

static void record_task(void *ctx, int i, int n) {
    run_record *r = ctx;
    r->runs[i]++;
    r->n_seen[i] = n;
}

/* Runs RUNS_PER_SIZE rounds of every task count on pool, the size changing on every run (so a worker late for one
 * job meets a differently sized next one); returns how many tasks ran other than exactly once or saw a wrong n. */
static int run_all_sizes(bark_pool *pool, run_record *r) {
    int wrong = 0;
    for (int round = 0; round < RUNS_PER_SIZE; round++)
        for (int s = 0; s < N_TASK_COUNTS; s++) {
            int n = task_counts[(s + round) % N_TASK_COUNTS];
            memset(r, 0, sizeof *r);
            bark_pool_run(pool, n, record_task, r);
            for (int i = 0; i < MAX_TASKS; i++) wrong += i < n ? r->runs[i] != 1 || r->n_seen[i] != n : r->runs[i] != 0;
        }
    return wrong;
}

static void every_task_runs_once(void **state) {
    (void)state;
    static run_record record;
    for (size_t t = 0; t < sizeof thread_counts / sizeof thread_counts[0]; t++) {
        bark_pool *pool = bark_pool_create(thread_counts[t]);
        assert_non_null(pool);
        assert_int_equal(bark_pool_threads(pool), thread_counts[t]);
        assert_int_equal(run_all_sizes(pool, &record), 0);
        bark_pool_free(pool);
    }
}

typedef struct {
    int n_threads, wrong;
    run_record record;
} pool_driver;

static void *drive_own_pool(void *arg) {
    pool_driver *d = arg;
    bark_pool *pool = bark_pool_create(d->n_threads);
    d->wrong = pool ? run_all_sizes(pool, &d->record) : -1;
    bark_pool_free(pool);
    return NULL;
}

/* Two syntheses on two threads, each with its own pool, more threads in all than this machine likely has. */
static void two_pools_at_once(void **state) {
    (void)state;
    static pool_driver drivers[2] = {{.n_threads = 2}, {.n_threads = 3}};
    pthread_t threads[2];
    for (int k = 0; k < 2; k++) assert_int_equal(pthread_create(&threads[k], NULL, drive_own_pool, &drivers[k]), 0);
    for (int k = 0; k < 2; k++) {
        pthread_join(threads[k], NULL);
        assert_int_equal(drivers[k].wrong, 0);
    }
}

static void never_called(void *ctx, int i, int n) {
    (void)ctx, (void)i, (void)n;
    fail_msg("a task ran in a run of no tasks");
}

static void no_tasks_runs_nothing(void **state) {
    (void)state;
    bark_pool *pool = bark_pool_create(3);
    assert_non_null(pool);
    bark_pool_run(pool, 0, never_called, NULL);
    bark_pool_run(pool, -5, never_called, NULL);
    bark_pool_free(pool);
    bark_pool_free(NULL);
}

/* Many pools made and freed, some never used, some freed right after one run (valgrind checks for leaks). */
static void create_and_free_many(void **state) {
    (void)state;
    static run_record record;
    for (int k = 0; k < 200; k++) {
        bark_pool *pool = bark_pool_create(1 + k % 4);
        assert_non_null(pool);
        if (k % 2) {
            memset(&record, 0, sizeof record);
            bark_pool_run(pool, 7, record_task, &record);
            for (int i = 0; i < 7; i++) assert_int_equal(record.runs[i], 1);
        }
        bark_pool_free(pool);
    }
    bark_pool *low = bark_pool_create(0), *high = bark_pool_create(BARK_POOL_MAX_THREADS + 100);
    assert_int_equal(bark_pool_threads(low), 1);
    assert_int_equal(bark_pool_threads(high), BARK_POOL_MAX_THREADS);
    bark_pool_free(low);
    bark_pool_free(high);
}

static void parses_cpu_max(void **state) {
    (void)state;
    static const struct {
        const char *text;
        int has_quota, cpus;
    } cases[] = {
        {"max 100000\n", 0, 0},
        {"max 100000", 0, 0},
        {"150000 100000\n", 1, 2},
        {"200000 100000\n", 1, 2},
        {"50000 100000\n", 1, 1},
        {"1000 100000\n", 1, 1},
        {"0 100000\n", 1, 1},
        {"100000000 1000\n", 1, BARK_POOL_MAX_THREADS},
        {"9223372036854775807 1\n", 1, BARK_POOL_MAX_THREADS},
        {"9223372036854775808 100000\n", 0, 0}, /* one past LLONG_MAX */
        {"150000 99999999999999999999999\n", 0, 0},
        {"150000 0\n", 0, 0},
        {"-1 100000\n", 0, 0},
        {"150000 -100000\n", 0, 0},
        {"150000\n", 0, 0},
        {"150000 \n", 0, 0},
        {" 150000 100000\n", 0, 0},
        {"150000  100000\n", 0, 0},
        {"150000 100000\n\n", 0, 0},
        {"150000 100000 7\n", 0, 0},
        {"maxx 100000\n", 0, 0},
        {"max\n", 0, 0},
        {"1.5 1\n", 0, 0},
        {"garbage", 0, 0},
        {"\n", 0, 0},
        {"", 0, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int cpus = -7;
        int has_quota = bark_pool_parse_cpu_max(cases[k].text, &cpus);
        if (has_quota != cases[k].has_quota || (has_quota && cpus != cases[k].cpus) || (!has_quota && cpus != -7))
            fail_msg("cpu.max \"%s\": got %d (%d CPUs), want %d (%d CPUs)", cases[k].text, has_quota, cpus,
                     cases[k].has_quota, cases[k].cpus);
    }
}

static void parses_cfs_quota(void **state) {
    (void)state;
    static const struct {
        const char *quota, *period;
        int has_quota, cpus;
    } cases[] = {
        {"-1\n", "100000\n", 0, 0},
        {"150000\n", "100000\n", 1, 2},
        {"50000\n", "100000\n", 1, 1},
        {"300000", "100000", 1, 3},
        {"150000\n", "0\n", 0, 0},
        {"150000\n", "\n", 0, 0},
        {"99999999999999999999\n", "100000\n", 0, 0},
        {"12abc\n", "100000\n", 0, 0},
        {"", "100000\n", 0, 0},
        {"150000\n", "", 0, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int cpus = -7;
        int has_quota = bark_pool_parse_cfs_quota(cases[k].quota, cases[k].period, &cpus);
        if (has_quota != cases[k].has_quota || (has_quota && cpus != cases[k].cpus) || (!has_quota && cpus != -7))
            fail_msg("cfs quota \"%s\" / \"%s\": got %d (%d CPUs), want %d (%d CPUs)", cases[k].quota,
                     cases[k].period, has_quota, cpus, cases[k].has_quota, cases[k].cpus);
    }
}

static void cpu_count_in_range(void **state) {
    (void)state;
    int cpus = bark_pool_cpu_count();
    assert_in_range(cpus, 1, BARK_POOL_MAX_THREADS);
    assert_int_equal(bark_pool_cpu_count(), cpus);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_task_runs_once), cmocka_unit_test(two_pools_at_once),
        cmocka_unit_test(no_tasks_runs_nothing), cmocka_unit_test(create_and_free_many),
        cmocka_unit_test(parses_cpu_max),       cmocka_unit_test(parses_cfs_quota),
        cmocka_unit_test(cpu_count_in_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
