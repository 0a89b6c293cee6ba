/* jsondoc.c: JSON documents of untrusted files, parsed by cJSON and checked further; checked integers. */
#include "formats/jsondoc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Fails with the line and column of text + pos. */
static bark_status fail_at(const char *text, size_t pos, bark_error *err, const char *what) {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < pos; i++) {
        if (text[i] == '\n') line++, col = 1;
        else col++;
    }
    return bark_fail(err, BARK_ERR_FORMAT, "JSON line %zu column %zu: %s", line, col, what);
}

/* 1 if s is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF). */
static int utf8_ok(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        size_t n;
        uint32_t cp, min;
        if (c < 0x80) { p++; continue; }
        if (c >= 0xC2 && c <= 0xDF) n = 2, cp = c & 0x1F, min = 0x80;
        else if (c >= 0xE0 && c <= 0xEF) n = 3, cp = c & 0x0F, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4) n = 4, cp = c & 0x07, min = 0x10000;
        else return 0;
        for (size_t k = 1; k < n; k++) {
            if ((p[k] & 0xC0) != 0x80) return 0; /* also stops at the NUL */
            cp = (cp << 6) | (p[k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        p += n;
    }
    return 1;
}

static int key_cmp(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Refuses, under v, a string or key that is not UTF-8 and an object with a key twice. The recursion is as
 * deep as cJSON's nesting limit (CJSON_NESTING_LIMIT) lets a document be. */
static bark_status check_tree(const cJSON *v, bark_error *err) {
    if (cJSON_IsString(v) && !utf8_ok(v->valuestring))
        return bark_fail(err, BARK_ERR_FORMAT, "JSON: a string is not UTF-8");
    if (!cJSON_IsArray(v) && !cJSON_IsObject(v)) return BARK_OK;
    size_t n = 0;
    for (const cJSON *c = v->child; c; c = c->next, n++) {
        if (cJSON_IsObject(v) && !utf8_ok(c->string))
            return bark_fail(err, BARK_ERR_FORMAT, "JSON: a key is not UTF-8");
        bark_status st = check_tree(c, err);
        if (st != BARK_OK) return st;
    }
    if (!cJSON_IsObject(v) || n < 2) return BARK_OK;
    const char **keys = malloc(n * sizeof *keys);
    if (!keys) return bark_fail(err, BARK_ERR_NOMEM, "JSON: out of memory");
    n = 0;
    for (const cJSON *c = v->child; c; c = c->next) keys[n++] = c->string;
    qsort(keys, n, sizeof *keys, key_cmp);
    bark_status st = BARK_OK;
    for (size_t i = 1; i < n && st == BARK_OK; i++)
        if (!strcmp(keys[i - 1], keys[i]))
            st = bark_fail(err, BARK_ERR_FORMAT, "JSON: duplicate key \"%s\" in an object", keys[i]);
    free(keys);
    return st;
}

bark_status json_parse(const char *text, size_t len, cJSON **root, bark_error *err) {
    const char *end = NULL;
    *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    size_t pos = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
    if (!*root) return fail_at(text, pos, err, "not valid JSON");
    while (pos < len && (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' || text[pos] == '\r')) pos++;
    bark_status st = pos < len ? fail_at(text, pos, err, "text after the value") : check_tree(*root, err);
    if (st != BARK_OK) {
        cJSON_Delete(*root);
        *root = NULL;
    }
    return st;
}

int json_int(const cJSON *v, int64_t lo, int64_t hi, int64_t *out) {
    if (!cJSON_IsNumber(v)) return 0;
    double x = v->valuedouble; /* NaN fails the first test, the infinities the range */
    if (!(x == trunc(x) && x >= -0x1p63 && x < 0x1p63)) return 0;
    int64_t i = (int64_t)x;
    if (i < lo || i > hi) return 0;
    *out = i;
    return 1;
}
