/* error.h: filling a bark_error with a status and a one-line message (internal). */
#ifndef BARK_ERROR_H
#define BARK_ERROR_H

#include "bark.h"

#if defined(__GNUC__)
#define BARK_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define BARK_PRINTF(a, b)
#endif

/* Sets err (if non-NULL) to status st and the formatted message; returns st. */
bark_status bark_fail(bark_error *err, bark_status st, const char *fmt, ...) BARK_PRINTF(3, 4);
/* Prepends context ("model.gguf: ") to an already set message; returns err->status. */
bark_status bark_err_prefix(bark_error *err, const char *fmt, ...) BARK_PRINTF(2, 3);

#endif
