/* audio_file.h: what libbark's audio files share beyond bark.h: the tags every file carries, reading from memory. */
#ifndef BARK_AUDIO_FILE_H
#define BARK_AUDIO_FILE_H

#include <stddef.h>

#include "bark.h"
#include "formats/npy_write.h"

/* Every audio file bark writes names the software and says the audio is synthetic speech. */
#define BARK_AUDIO_SOFTWARE "bark.c " BARK_VERSION
#define BARK_AUDIO_COMMENT "synthetic speech made by bark.c (Bark text-to-speech), not a recording of a real person"

/* bark_audio_reader_open over a file held in memory (buf must outlive the reader); label names it in messages. */
BARK_NODISCARD bark_status bark_audio_reader_open_mem(const void *buf, size_t len, const char *label, int rate,
                                                      bark_audio_reader **out, bark_error *err);

#endif
