/* progress.c: the rewritten-in-place status line, only on a terminal and rate-limited, with an ETA. */
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
    p->piece = (size_t)-1;
    p->stage = BARK_STAGE_COUNT;
}

void progress_update(progress *p, const bark_progress_info *i, int force) {
    if (!p->out) return;
    double t = progress_now();
    if (i->piece != p->piece || i->stage != p->stage) /* a new stage: time it from here */
        p->piece = i->piece, p->stage = i->stage, p->stage_t0 = t, p->stage_done0 = i->done;
    if (!force && t - p->last < 0.1) return;
    p->last = t;
    const int estimate = i->stage == BARK_STAGE_SEMANTIC;
    const size_t total = i->total > i->done ? i->total : i->done;
    int pct = total ? (int)(100.0 * (double)i->done / (double)total) : 0;
    if (estimate && pct > 99) pct = 99; /* it ends when the model says so */
    fprintf(p->out, "\r\033[Kpiece %zu/%zu  %-8s %s%3d%%", i->piece + 1, i->n_pieces, bark_stage_name(i->stage),
            estimate ? "~" : " ", pct);
    const double spent = t - p->stage_t0;
    const size_t made = i->done - p->stage_done0;
    if (made > 0 && spent > 0.2 && total > i->done)
        fprintf(p->out, "  ETA %.0f s", spent / (double)made * (double)(total - i->done) + 0.5);
    if (i->audio_seconds > 0)
        fprintf(p->out, "  %.1f s of audio, real-time factor %.2f", i->audio_seconds, (t - p->t0) / i->audio_seconds);
    fflush(p->out);
    p->drawn = 1;
}

void progress_batch(progress *p, size_t done, size_t total, double audio_seconds, int force) {
    if (!p->out) return;
    const double t = progress_now();
    if (!force && t - p->last < 0.1) return;
    p->last = t;
    const double spent = t - p->t0;
    fprintf(p->out, "\r\033[K%zu/%zu texts  %.1f s of audio  elapsed %.0f s", done, total, audio_seconds, spent);
    if (done > 0 && done < total) fprintf(p->out, "  ETA %.0f s", spent / (double)done * (double)(total - done) + 0.5);
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
