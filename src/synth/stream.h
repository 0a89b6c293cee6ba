/* say_stream.h: `bark say`'s pipeline: a generation thread and a playback thread joined by a ring of fine frames. */
#ifndef BARK_SAY_STREAM_H
#define BARK_SAY_STREAM_H

#include <signal.h>
#include <stddef.h>

#include "cli/sink.h"
#include "codec/encodec.h"
#include "generate/generate.h"
#include "cli/progress.h"
#include "text/text_split.h"
#include "text/tokenizer.h"

typedef struct say_job {
    /* inputs */
    const bark_model *model;
    const encodec_model *codec;
    const bark_tokenizer *tok;
    const char *text;
    const text_piece *pieces;
    size_t n_pieces;
    const bark_voice *voice;  /* NULL: each piece after the first speaks with the voice of the one before */
    bark_gen_params gen;
    uint64_t seed;
    audio_sink *sink;
    int realtime;             /* the sink plays in real time: apply the waiting policy below */
    int no_gaps;              /* wait at the start until the whole rest can play without a break */
    int quiet;
    progress *prog;
    volatile sig_atomic_t *stop; /* set by Ctrl-C */
    /* results, in seconds since `start` */
    double start;             /* monotonic time the job began */
    double *piece_done;       /* [n_pieces] when each piece's last frame was generated (caller allocates) */
    double gen_end, play_end;
    size_t frames;            /* EnCodec frames generated (75 per second of audio) */
    uint64_t samples;         /* samples written to the sink */
} say_job;

/* Generates every piece in this thread while a second thread decodes the finished fine windows and writes
 * them to the sink. Returns BARK_ERR_INTERRUPTED after *stop was set; the sink is left open for the caller
 * (drained after success, dropped after a stop or error). */
BARK_NODISCARD bark_status say_stream_run(say_job *j, bark_error *err);

#endif
