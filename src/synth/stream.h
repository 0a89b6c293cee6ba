/* stream.h: one synthesis as two threads: generation pushes finished fine frames into a ring, decoding plays them. */
#ifndef BARK_SYNTH_STREAM_H
#define BARK_SYNTH_STREAM_H

#include <stddef.h>

#include "bark.h"
#include "generate/generate.h"
#include "synth/context.h"
#include "text/text_split.h"

typedef struct synth_job {
    /* inputs */
    const bark_context *ctx;
    const char *text;
    const text_piece *pieces;
    size_t n_pieces;
    const bark_voice *voice;     /* NULL: each piece after the first speaks with the voice of the one before */
    bark_gen_params gen;         /* with its exec */
    const bark_synth_params *p;  /* seed, pacing and the callbacks */
    /* results, in seconds since `start` */
    double start;                /* monotonic time the job began */
    double gen_end;              /* the last code generated */
    double first_audio;          /* the first on_audio call; < 0 before it */
    size_t frames;               /* EnCodec frames generated (75 per second of audio) */
    uint64_t samples;            /* samples handed to on_audio */
} synth_job;

/* Monotonic seconds. */
double synth_now(void);

/* What the callbacks are told of a running generation: piece k of n, piece_len bytes of text. */
typedef struct synth_reporter {
    const bark_synth_params *p;
    size_t piece, n_pieces, piece_len;
    double start, audio_s; /* when the call began; audio generated so far */
} synth_reporter;
/* After a token or fine pass: nonzero when should_abort or on_progress asks to stop (the semantic total shown is an
 * estimate from the text's length, not the 768-token maximum). */
int synth_report(const synth_reporter *r, bark_stage stage, size_t done, size_t total);

/* Generates every piece on this thread while a second thread decodes the finished fine windows and hands them to
 * p->on_audio. Returns BARK_ERR_INTERRUPTED when a callback stopped it. */
BARK_NODISCARD bark_status synth_stream_run(synth_job *j, bark_error *err);

#endif
