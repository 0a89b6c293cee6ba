/* progress.h: one status line on stderr while `bark say` generates (stage, piece k of n, percent, real-time factor). */
#ifndef BARK_PROGRESS_H
#define BARK_PROGRESS_H

#include <stddef.h>
#include <stdio.h>

#include "bark.h"

typedef struct progress {
    FILE *out;          /* NULL: silent */
    double t0, last;    /* start time and the time of the last redraw (monotonic seconds) */
    int drawn;          /* a line is on the screen */
} progress;

/* Monotonic seconds. */
double progress_now(void);
/* Shows the line only when `out` is a terminal and not quiet. */
void progress_init(progress *p, FILE *out, int quiet);
/* Redraws (at most 10 times a second, and whenever force is set): piece k (from 1) of n, the stage and its
 * percent, and the real-time factor (seconds spent per second of audio) once audio_s > 0. */
void progress_update(progress *p, size_t k, size_t n, bark_stage stage, size_t done, size_t total, double audio_s,
                     int force);
/* Clears the line, so the next message starts on a clean one. */
void progress_end(progress *p);

#endif
