/* voice_origin.c: a stored voice's record (method, source digest and length, date) to and from JSON via cJSON. */
#include "voices/voice_origin.h"

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/staged_file.h"
#include "formats/jsondoc.h"

#define MAX_RECORD 16384 /* bytes: a record is a few hundred */

void voice_origin_now(char out[32]) {
    const time_t t = time(NULL);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm)) out[0] = '\0';
}

bark_status voice_origin_write(const char *path, const char *name, const bark_voice_origin *o, bark_error *err) {
    cJSON *root = cJSON_CreateObject();
    char *text = NULL;
    if (root && cJSON_AddStringToObject(root, "name", name) && cJSON_AddStringToObject(root, "method", o->method) &&
        cJSON_AddStringToObject(root, "source", o->source) &&
        cJSON_AddStringToObject(root, "source_sha256", o->source_sha256) &&
        cJSON_AddNumberToObject(root, "source_seconds", o->source_seconds) &&
        cJSON_AddNumberToObject(root, "kept_seconds", o->kept_seconds) &&
        cJSON_AddStringToObject(root, "created", o->created) &&
        cJSON_AddStringToObject(root, "software", "bark.c " BARK_VERSION))
        text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory for the voice's record", path);
    staged_file f;
    bark_status st = staged_file_open(&f, path, err);
    if (!st) st = staged_file_write(&f, text, strlen(text), err);
    if (!st) st = staged_file_write(&f, "\n", 1, err);
    const bark_status cl = staged_file_close(&f, !st, err);
    free(text);
    return st ? st : cl;
}

/* Copies the string member key of root into out (cap bytes, cut at cap - 1); absent is "", another type fails. */
static int take_string(const cJSON *root, const char *key, char *out, size_t cap) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    out[0] = '\0';
    if (!v) return 0;
    if (!cJSON_IsString(v)) return -1;
    snprintf(out, cap, "%s", v->valuestring);
    return 0;
}

static int take_number(const cJSON *root, const char *key, double *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    *out = 0.0;
    if (!v) return 0;
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0.0 && v->valuedouble < 1e9)) return -1;
    *out = v->valuedouble;
    return 0;
}

bark_status voice_origin_parse(const char *text, size_t n, const char *label, bark_voice_origin *o, bark_error *err) {
    memset(o, 0, sizeof *o);
    cJSON *root = NULL;
    bark_status st;
    if (n > MAX_RECORD) st = bark_fail(err, BARK_ERR_FORMAT, "%s: larger than a voice record (%d bytes)", label,
                                       MAX_RECORD);
    else if ((st = json_parse(text, n, &root, err))) bark_err_prefix(err, "%s: ", label);
    else if (!cJSON_IsObject(root) || take_string(root, "method", o->method, sizeof o->method) ||
             take_string(root, "source", o->source, sizeof o->source) ||
             take_string(root, "source_sha256", o->source_sha256, sizeof o->source_sha256) ||
             take_string(root, "created", o->created, sizeof o->created) ||
             take_number(root, "source_seconds", &o->source_seconds) ||
             take_number(root, "kept_seconds", &o->kept_seconds))
        st = bark_fail(err, BARK_ERR_FORMAT, "%s: not a voice record (a member has the wrong type)", label);
    cJSON_Delete(root);
    if (st) memset(o, 0, sizeof *o);
    return st;
}

bark_status voice_origin_read(const char *path, bark_voice_origin *o, bark_error *err) {
    memset(o, 0, sizeof *o);
    FILE *f = fopen(path, "rb");
    if (!f) return bark_fail(err, errno == ENOENT ? BARK_ERR_MISSING : BARK_ERR_IO, "%s: %s", path, strerror(errno));
    char *text = malloc(MAX_RECORD + 1);
    size_t n = text ? fread(text, 1, MAX_RECORD + 1, f) : 0;
    const int bad = ferror(f);
    fclose(f);
    if (!text) return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", path);
    const bark_status st = bad ? bark_fail(err, BARK_ERR_IO, "%s: read error", path)
                               : voice_origin_parse(text, n, path, o, err);
    free(text);
    return st;
}
