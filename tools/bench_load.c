/* bench_load.c: time to open (mmap + validate) a model file, and resident memory right after. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "bark.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double rss_mb(void) {
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        fclose(f);
    }
    return resident * (double)sysconf(_SC_PAGESIZE) / 1e6;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_load MODEL.gguf [runs]\n");
        return 2;
    }
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    double before = rss_mb(), best = 1e9, first = 0, rss_after = 0;
    for (int i = 0; i < runs; i++) {
        bark_model *m = NULL;
        bark_error err;
        double t0 = now_ms();
        if (bark_model_open(argv[1], &m, &err)) {
            fprintf(stderr, "bench_load: %s\n", err.msg);
            return 1;
        }
        double dt = now_ms() - t0;
        if (i == 0) {
            first = dt;
            rss_after = rss_mb();
            printf("model_file_mb %.1f\n", bark_model_file_size(m) / 1e6);
        }
        best = dt < best ? dt : best;
        bark_model_close(m);
    }
    printf("load_ms_first %.2f\nload_ms_best %.2f\nrss_before_load_mb %.1f\nrss_after_load_mb %.1f\n", first, best,
           before, rss_after);
    return 0;
}
