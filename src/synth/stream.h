/* stream.h: one synthesis: its pieces generated on threads of their own, decoded and played in order on the caller's. */
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
    const bark_voice *voice;     /* NULL: every piece after the first speaks with the voice the first one made */
    bark_gen_params gen;         /* with its exec and scheduler */
    int max_batch;               /* pieces generated at once, at most */
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

/* The random stream of piece k: seeded with seed for the first piece, so that a one-piece text draws what
 * bark_text_to_codes draws; each piece's own, whatever runs beside it. */
void synth_piece_rng(bark_rng *rng, uint64_t seed, size_t k);

/* What the callbacks are told of a running generation: piece k of n, piece_len bytes of text. */
typedef struct synth_reporter {
    const bark_synth_params *p;
    size_t piece, n_pieces, piece_len;
    double start, audio_s; /* when the call began; audio generated so far */
} synth_reporter;
/* After a token or fine pass: nonzero when should_abort or on_progress asks to stop (the semantic total shown is an
 * estimate from the text's length, not the 768-token maximum). */
int synth_report(const synth_reporter *r, bark_stage stage, size_t done, size_t total);

/* Generates the pieces on up to max_batch threads (the first alone; the others once it has made their voice, or
 * reached its fine stage when there is a voice), their forwards batched by j->gen's scheduler, while this thread
 * decodes each piece's finished fine windows in order and hands them to p->on_audio, and makes the progress and abort
 * calls. Returns BARK_ERR_INTERRUPTED when a callback stopped it. */
BARK_NODISCARD bark_status synth_stream_run(synth_job *j, bark_error *err);

/* bark_synthesize on an engine's scheduler and exec (synth.c): checks, voice, pieces, then synth_stream_run. */
BARK_NODISCARD bark_status synth_say(const bark_context *c, bark_sched *sched, const bark_exec *ex, int max_batch,
                                     const char *text, const bark_synth_params *p, bark_synth_result *result,
                                     bark_error *err);

#endif
