/* json.h: a strict, depth-limited JSON parser for config and index files (a read-only tree). */
#ifndef BARK_JSON_H
#define BARK_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef enum json_type {
    JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT
} json_type;

typedef struct json_node json_node;

#define JSON_MAX_DEPTH 64

/* Parses the whole of text[0..len) (RFC 8259: one value, whitespace around it, UTF-8 checked, no
 * duplicate keys, no "\u0000" in strings, nesting at most JSON_MAX_DEPTH). On failure the message reads
 * "JSON line L column C: <problem>" with no file name: callers prefix it (bark_err_prefix). */
bark_status json_parse(const char *text, size_t len, json_node **root, bark_error *err);
void json_free(json_node *root); /* accepts NULL */

/* Accessors accept NULL and wrong types: they then return NULL / 0 / "no". */
json_type json_type_of(const json_node *v);         /* JSON_NULL for NULL */
const json_node *json_get(const json_node *obj, const char *key); /* NULL if absent or not an object */
size_t json_len(const json_node *v);                /* items of an array, members of an object, else 0 */
const json_node *json_at(const json_node *arr, size_t i);
const char *json_key(const json_node *obj, size_t i);           /* member i, in document order */
const json_node *json_value(const json_node *obj, size_t i);
double json_num(const json_node *v);                /* 0 unless a number */
/* Sets *out and returns 1 when v is a number with an integral value that int64 holds exactly
 * (an integer literal, or a float literal like 2.0 below 2^53); else returns 0. */
int json_int(const json_node *v, int64_t *out);
const char *json_str(const json_node *v);           /* NUL-terminated UTF-8; NULL unless a string */
size_t json_str_len(const json_node *v);
int json_bool(const json_node *v);                  /* 1 for true, 0 otherwise */

#endif
