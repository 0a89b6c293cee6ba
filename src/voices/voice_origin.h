/* voice_origin.h: a stored voice's record (how it was made) as a small JSON file beside its .npz (internal). */
#ifndef BARK_VOICE_ORIGIN_H
#define BARK_VOICE_ORIGIN_H

#include "bark.h"

/* Writes o (and the voice's name) as JSON at path through a temporary name. */
BARK_NODISCARD bark_status voice_origin_write(const char *path, const char *name, const bark_voice_origin *o,
                                              bark_error *err);
/* Reads the record at path (untrusted: bounded size, checked types; unknown keys ignored). */
BARK_NODISCARD bark_status voice_origin_read(const char *path, bark_voice_origin *o, bark_error *err);
/* The record's text (n bytes, untrusted; label names it in messages), as voice_origin_read checks it. */
BARK_NODISCARD bark_status voice_origin_parse(const char *text, size_t n, const char *label, bark_voice_origin *o,
                                              bark_error *err);
/* "YYYY-MM-DDTHH:MM:SSZ" of now, UTC. */
void voice_origin_now(char out[32]);

#endif
