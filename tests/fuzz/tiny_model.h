/* tiny_model.h: the tiny test model, and a server around it, for the fuzz targets of the service's parsers. */
#ifndef BARK_FUZZ_TINY_MODEL_H
#define BARK_FUZZ_TINY_MODEL_H

#include "serve/srv.h"

/* tests/data/tiny/hf converted into a temporary file and opened (run from the repository's root); aborts with one
 * line naming who when it cannot. */
bark_context *fuzz_tiny_context(const char *who);
/* s as `bark serve --chimes DIR` has it for checking requests: cJSON's hooks, the tiny model, and the announcer (its
 * threads idle: nothing is queued) with a chimes folder holding ding.wav (24 kHz), gong.wav (44.1 kHz) and
 * readme.txt (not a sound). Aborts when it cannot. */
void fuzz_tiny_server(serve *s, const char *who);

#endif
