/* progress.c: the rewritten-in-place status line, only on a terminal and rate-limited. */
#include "cli/progress.h"

#include <time.h>
#include <unistd.h>

double progress_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void progress_init(progress *p, FILE *out, int quiet) {
    p->out = !quiet && out && isatty(fileno(out)) ? out : NULL;
    p->t0 = progress_now();
    p->last = 0.0;
    p->drawn = 0;
}

void progress_update(progress *p, size_t k, size_t n, bark_stage stage, size_t done, size_t total, double audio_s,
                     int force) {
    if (!p->out) return;
    double t = progress_now();
    if (!force && t - p->last < 0.1) return;
    p->last = t;
    int pct = total ? (int)(100.0 * (double)done / (double)total) : 0;
    fprintf(p->out, "\r\033[Kpiece %zu/%zu  %-8s %3d%%", k, n, bark_stage_name(stage), pct > 100 ? 100 : pct);
    if (audio_s > 0) fprintf(p->out, "  %.1f s of audio, real-time factor %.2f", audio_s, (t - p->t0) / audio_s);
    fflush(p->out);
    p->drawn = 1;
}

void progress_end(progress *p) {
    if (p->out && p->drawn) {
        fputs("\r\033[K", p->out);
        fflush(p->out);
    }
    p->drawn = 0;
}
