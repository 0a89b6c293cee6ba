/* wav_stream.h: a 16-bit mono WAV written to a file descriptor that may be a pipe (header sized for streaming). */
#ifndef BARK_WAV_STREAM_H
#define BARK_WAV_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "bark.h"

typedef struct wav_stream wav_stream;

/* Writes the header at once: RIFF and data sizes are 0xFFFFFFFF ("until the end of the stream"), the way
 * WAV goes through pipes; a LIST/INFO chunk carries `software` (ISFT) and `comment` (ICMT). When fd can
 * seek, wav_stream_close writes the real sizes. label names fd in messages. fd stays open. */
BARK_NODISCARD bark_status wav_stream_open(int fd, const char *label, int rate, const char *software,
                                           const char *comment, wav_stream **out, bark_error *err);
BARK_NODISCARD bark_status wav_stream_write(wav_stream *w, const int16_t *x, size_t n, bark_error *err);
/* Fixes the sizes if it can; frees w (accepts NULL). */
BARK_NODISCARD bark_status wav_stream_close(wav_stream *w, bark_error *err);

#endif
