/* audio_file.h: reading audio files in bounded blocks (mono, resampled) and writing WAV/FLAC/OGG/.npy audio. */
#ifndef BARK_AUDIO_FILE_H
#define BARK_AUDIO_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "bark.h"
#include "formats/npy_write.h"

typedef struct audio_reader audio_reader;

/* Opens any file libsndfile reads (WAV, FLAC, OGG, ...); samples come out mono (channel mean) at `rate`. */
BARK_NODISCARD bark_status audio_reader_open(const char *path, int rate, audio_reader **out, bark_error *err);
/* The same over a file held in memory (buf must outlive the reader); label names it in messages. */
BARK_NODISCARD bark_status audio_reader_open_mem(const void *buf, size_t len, const char *label, int rate,
                                                 audio_reader **out, bark_error *err);
/* Reads up to cap samples; *n = 0 only at the end of the file. */
BARK_NODISCARD bark_status audio_reader_read(audio_reader *r, float *out, size_t cap, size_t *n, bark_error *err);
/* The file's own sample rate and channel count. */
void audio_reader_format(const audio_reader *r, int *rate, int *channels);
void audio_reader_close(audio_reader *r); /* accepts NULL */

typedef struct audio_writer audio_writer;

/* Creates a mono file at `rate`; the format follows the extension: .wav (16-bit PCM), .flac (16-bit),
 * .ogg (Vorbis) or .npy (float32; exactly n_total samples must then be written). Samples beyond +-1 are
 * clipped in the PCM formats. */
BARK_NODISCARD bark_status audio_writer_open(const char *path, int rate, size_t n_total, audio_writer **out,
                                             bark_error *err);
BARK_NODISCARD bark_status audio_writer_write(audio_writer *w, const float *x, size_t n, bark_error *err);
/* Finishes the file; returns the first error of the whole write. Frees w. */
BARK_NODISCARD bark_status audio_writer_close(audio_writer *w, bark_error *err);

/* TRANSITIONAL, for cmd_say.c's `tokens --dump` until it calls bark_codes_save_npy: the old npy_write name over the
 * one .npy writer (formats/npy_write.h). Remove with that call. */
static inline bark_status npy_write(const char *path, int is_int, const size_t *shape, int n_dims, const void *data,
                                    bark_error *err) {
    return npy_save(path, is_int ? NPY_I4 : NPY_F4, shape, n_dims, data, err);
}

#endif
