/* jsondoc.h: JSON documents of untrusted files, parsed by cJSON and checked further; checked integers. */
#ifndef BARK_JSONDOC_H
#define BARK_JSONDOC_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "core/error.h"

/* Parses the whole of text[0..len) (which need not end in NUL) with cJSON and refuses, besides what cJSON
 * refuses, text after the value, an object with a key twice, and a string or key that is not UTF-8. On
 * failure *root is NULL and the message reads "JSON line L column C: <problem>" with no file name: callers
 * prefix it (bark_err_prefix). Free the tree with cJSON_Delete. */
bark_status json_parse(const char *text, size_t len, cJSON **root, bark_error *err);

/* Sets *out and returns 1 when v is a number with an integral value from lo to hi; else returns 0.
 * cJSON keeps numbers as doubles: above 2^53 the value is the nearest double's. */
int json_int(const cJSON *v, int64_t lo, int64_t hi, int64_t *out);

#endif
