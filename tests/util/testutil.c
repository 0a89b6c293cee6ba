/* testutil.c: temporary folders, whole-file reads and writes, and running commands for the test suites. */
#define _GNU_SOURCE
#include "testutil.h"

#include <math.h>
#include <sndfile.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>

char *tu_tmpdir(void) {
    char tmpl[] = "/tmp/bark-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

void tu_rmtree(const char *path) {
    char cmd[4200];
    if (!path || strncmp(path, "/tmp/bark-test-", 15)) return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", path);
}

int16_t *tu_read_s16(const char *path, size_t *n) {
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    if (!f) return NULL;
    int16_t *x = malloc(((size_t)info.frames + 1) * sizeof *x);
    *n = x ? (size_t)sf_read_short(f, x, info.frames) : 0;
    sf_close(f);
    return x && *n == (size_t)info.frames ? x : (free(x), NULL);
}

uint8_t *tu_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = 0;
        *len = (size_t)n;
    }
    return buf;
}

int tu_write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, len, f);
    return (fclose(f) == 0 && w == len) ? 0 : -1;
}

int tu_exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

int tu_count_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    const struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

int tu_run(const char *cmd, char *out, size_t cap) {
    char full[8192];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int rc = pclose(p);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + (WIFSIGNALED(rc) ? WTERMSIG(rc) : 0);
}

const char *tu_bark(void) {
    static char path[512];
    const char *b = getenv("BUILD");
    snprintf(path, sizeof path, "%s/bark", b && *b ? b : "build");
    return path;
}

int tu_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

double tu_max_err(const float *a, const float *b, size_t n, double *snr) {
    double m = 0, sig = 0, noise = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > m || d != d) m = d;
        sig += (double)a[i] * a[i];
        noise += d * d;
    }
    if (snr) *snr = noise > 0 ? 10 * log10(sig / noise) : INFINITY;
    return m;
}

int tu_convert_tiny(const char *path, const char *type, char *out, size_t cap) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s convert tests/data/tiny/hf -o %s --type %s", tu_bark(), path, type);
    return tu_run(cmd, out, cap);
}

int tu_collect(void *user, const float *x, size_t n) {
    tu_pcm *p = user;
    if (p->n + n > p->cap) {
        size_t cap = (p->n + n) * 2;
        float *y = realloc(p->x, cap * sizeof *y);
        if (!y) return 1;
        p->x = y, p->cap = cap;
    }
    memcpy(p->x + p->n, x, n * sizeof *x);
    p->n += n;
    return 0;
}

double tu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}
