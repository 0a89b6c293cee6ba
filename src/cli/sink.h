/* sink.h: where `bark say` sends samples: one small vtable (open, write, drain, drop, close), libout123 style. */
#ifndef BARK_AUDIO_SINK_H
#define BARK_AUDIO_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "bark.h"

typedef struct audio_sink audio_sink;

/* One backend. Every call gets the sink; errors fill err with one line. */
typedef struct audio_sink_ops {
    const char *name;
    /* target: ALSA device name (NULL: "default") or file path ("-": WAV on stdout); mono 16-bit at rate */
    bark_status (*open)(audio_sink *s, const char *target, int rate, bark_error *err);
    /* n samples as 16-bit and as float (the same values: x16 / 32767, from bark_audio_to_s16) */
    bark_status (*write)(audio_sink *s, const float *x, const int16_t *x16, size_t n, bark_error *err);
    bark_status (*drain)(audio_sink *s, bark_error *err); /* returns once everything written is played / stored */
    void (*drop)(audio_sink *s);                          /* stops at once; queued samples are discarded */
    /* frees the backend; keep = 0 after a failure: a file being written is removed */
    bark_status (*close)(audio_sink *s, int keep, bark_error *err);
} audio_sink_ops;

extern const audio_sink_ops audio_sink_alsa; /* audio_sink_alsa.c */
extern const audio_sink_ops audio_sink_file; /* sink_file.c: bark_audio_writer (.wav .flac .ogg .npy, or "-") */
extern const audio_sink_ops audio_sink_raw;  /* sink_raw.c: 16-bit little-endian samples on stdout */

struct audio_sink {
    const audio_sink_ops *ops;
    void *impl;               /* the backend's state */
    int rate;
    uint64_t samples;         /* written so far */
    double first_write;       /* CLOCK_MONOTONIC seconds of the first write; 0 before it */
    unsigned underruns;       /* ALSA: underruns recovered */
    int16_t *x16;             /* conversion buffer [AUDIO_SINK_BLOCK] */
};

#define AUDIO_SINK_BLOCK 4096

/* Opens a sink of the given backend. */
BARK_NODISCARD bark_status audio_sink_open(const audio_sink_ops *ops, const char *target, int rate, audio_sink **out,
                                           bark_error *err);
/* Writes n float samples (blocks while a device's buffer is full). */
BARK_NODISCARD bark_status audio_sink_write(audio_sink *s, const float *x, size_t n, bark_error *err);
BARK_NODISCARD bark_status audio_sink_drain(audio_sink *s, bark_error *err);
void audio_sink_drop(audio_sink *s);
/* Closes and frees s (accepts NULL): keep = 1 finishes a file with a valid header, 0 removes it. */
BARK_NODISCARD bark_status audio_sink_close(audio_sink *s, int keep, bark_error *err);

#endif
