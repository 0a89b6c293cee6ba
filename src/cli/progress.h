/* progress.h: one status line on stderr while `bark say` generates (piece, stage, percent, ETA, real-time factor)
 * or `bark render` works through its texts (texts done, audio, elapsed, ETA). */
#ifndef BARK_PROGRESS_H
#define BARK_PROGRESS_H

#include <stddef.h>
#include <stdio.h>

#include "bark.h"

typedef struct progress {
    FILE *out;          /* NULL: silent */
    double t0, last;    /* start time and the time of the last redraw (monotonic seconds) */
    int drawn;          /* a line is on the screen */
    size_t piece;       /* the piece and stage being timed, and when and where (done) that stage began */
    bark_stage stage;
    double stage_t0;
    size_t stage_done0;
} progress;

/* Monotonic seconds. */
double progress_now(void);
/* Shows the line only when `out` is a terminal and not quiet. */
void progress_init(progress *p, FILE *out, int quiet);
/* Redraws (at most 10 times a second, and whenever force is set): piece k of n, the stage, its percent and the
 * time left in it at the speed measured so far (against the library's estimate of the semantic length: shown
 * with a ~), and the real-time factor once there is audio. */
void progress_update(progress *p, const bark_progress_info *i, int force);
/* The same line for many texts (at most 10 times a second, and whenever force is set): texts done of total, the
 * audio seconds made, the time elapsed and the time left at the rate of texts so far. */
void progress_batch(progress *p, size_t done, size_t total, double audio_seconds, int force);
/* Clears the line, so the next message starts on a clean one. */
void progress_end(progress *p);

#endif
