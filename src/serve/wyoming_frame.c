/* wyoming_frame.c: the Wyoming protocol's framing parsed from and written into memory; where streamed text's
 * sentences end. */
#include "serve/wyoming_frame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* p[0, n) as one JSON object with nothing but blanks after it, or NULL. */
static cJSON *json_object(const unsigned char *p, size_t n) {
    const char *s = (const char *)p, *end = NULL;
    cJSON *v = cJSON_ParseWithLengthOpts(s, n, &end, 0);
    if (!v) return NULL;
    while (end < s + n && *end && strchr(" \t\r\n", *end)) end++;
    if (end != s + n || !cJSON_IsObject(v)) {
        cJSON_Delete(v);
        return NULL;
    }
    return v;
}

/* A length field of the header: 0 when absent or null (*out 0) or a whole number in [0, max]; -1 otherwise. */
static int length_field(const cJSON *h, const char *name, size_t max, size_t *out, char *why, size_t cap) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(h, name);
    *out = 0;
    if (!v || cJSON_IsNull(v)) return 0;
    const double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
    if (!(d >= 0 && d <= (double)max && d == (double)(size_t)d)) {
        snprintf(why, cap, "'%s' must be a whole number in [0, %zu]", name, max);
        return -1;
    }
    *out = (size_t)d;
    return 0;
}

/* data updated with the keys of block (which is emptied). */
static void merge(cJSON *data, cJSON *block) {
    while (block->child) {
        cJSON *it = cJSON_DetachItemViaPointer(block, block->child);
        cJSON_DeleteItemFromObjectCaseSensitive(data, it->string);
        cJSON_AddItemToObject(data, it->string, it);
    }
}

wy_result wy_parse(const unsigned char *buf, size_t len, wy_event *ev, size_t *used, char *why, size_t cap) {
    memset(ev, 0, sizeof *ev);
    *used = 0;
    const unsigned char *nl = memchr(buf, '\n', len < WY_MAX_LINE ? len : WY_MAX_LINE);
    if (!nl) {
        if (len < WY_MAX_LINE) return WY_MORE;
        snprintf(why, cap, "a header line longer than %d bytes", WY_MAX_LINE);
        return WY_BAD_STREAM;
    }
    const size_t line = (size_t)(nl - buf) + 1;
    cJSON *h = json_object(buf, line);
    if (!h) {
        *used = line;
        snprintf(why, cap, "the header line is not a JSON object");
        return WY_BAD_EVENT;
    }
    size_t dl, pl;
    if (length_field(h, "data_length", WY_MAX_DATA, &dl, why, cap) ||
        length_field(h, "payload_length", WY_MAX_PAYLOAD, &pl, why, cap)) {
        cJSON_Delete(h);
        return WY_BAD_STREAM;
    }
    if (len - line < dl + pl) {
        cJSON_Delete(h);
        return WY_MORE;
    }
    *used = line + dl + pl;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(h, "type");
    cJSON *data = cJSON_DetachItemFromObjectCaseSensitive(h, "data");
    cJSON *block = dl ? json_object(buf + line, dl) : NULL;
    wy_result r = WY_BAD_EVENT;
    if (!cJSON_IsString(type) || !type->valuestring[0] || strlen(type->valuestring) > WY_MAX_TYPE)
        snprintf(why, cap, "'type' must be a string of 1 to %d bytes", WY_MAX_TYPE);
    else if (data && !cJSON_IsNull(data) && !cJSON_IsObject(data))
        snprintf(why, cap, "'data' must be an object");
    else if (dl && !block)
        snprintf(why, cap, "the data block is not a JSON object");
    else if (!(data && cJSON_IsObject(data)) && (cJSON_Delete(data), !(data = cJSON_CreateObject())))
        snprintf(why, cap, "out of memory");
    else {
        if (block) merge(data, block);
        snprintf(ev->type, sizeof ev->type, "%s", type->valuestring);
        ev->data = data, data = NULL;
        ev->payload = pl ? buf + line + dl : NULL;
        ev->payload_len = pl;
        r = WY_EVENT;
    }
    cJSON_Delete(data);
    cJSON_Delete(block);
    cJSON_Delete(h);
    return r;
}

void wy_event_free(wy_event *ev) {
    cJSON_Delete(ev->data);
    ev->data = NULL;
}

char *wy_frame(const char *type, const cJSON *data, size_t payload_len, size_t *len) {
    cJSON *h = cJSON_CreateObject();
    char *block = data && data->child ? cJSON_PrintUnformatted(data) : NULL, *line = NULL, *out = NULL;
    const size_t dl = block ? strlen(block) : 0;
    if (h && cJSON_AddStringToObject(h, "type", type) && cJSON_AddStringToObject(h, "version", WY_VERSION) &&
        (!dl || cJSON_AddNumberToObject(h, "data_length", (double)dl)) &&
        (!payload_len || cJSON_AddNumberToObject(h, "payload_length", (double)payload_len)) &&
        (!data || !data->child || block) && (line = cJSON_PrintUnformatted(h))) {
        const size_t ln = strlen(line);
        if ((out = malloc(ln + 1 + dl + 1))) {
            memcpy(out, line, ln);
            out[ln] = '\n';
            if (dl) memcpy(out + ln + 1, block, dl);
            out[ln + 1 + dl] = '\0';
            *len = ln + 1 + dl;
        }
    }
    free(line);
    free(block);
    cJSON_Delete(h);
    return out;
}

/* The bytes of an end mark at text[i] (. ! ? or a CJK full stop, exclamation or question mark), or 0. */
static size_t end_mark(const char *t, size_t i, size_t len) {
    if (t[i] == '.' || t[i] == '!' || t[i] == '?') return 1;
    static const char *const cjk[] = {"\xE3\x80\x82", "\xEF\xBC\x81", "\xEF\xBC\x9F"};
    for (size_t k = 0; k < 3; k++)
        if (len - i >= 3 && !memcmp(t + i, cjk[k], 3)) return 3;
    return 0;
}

/* The bytes of a closing quote or bracket at text[i] (" ' ) ] and the curly closing quotes), or 0. */
static size_t closer(const char *t, size_t i, size_t len) {
    if (t[i] == '"' || t[i] == '\'' || t[i] == ')' || t[i] == ']') return 1;
    if (len - i >= 3 && (!memcmp(t + i, "\xE2\x80\x9D", 3) || !memcmp(t + i, "\xE2\x80\x99", 3))) return 3;
    return 0;
}

static int blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t wy_sentence_end(const char *text, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n' && i + 1 < len && text[i + 1] == '\n') return i + 2;
        size_t m = end_mark(text, i, len), j = i, k;
        if (!m) continue;
        const int cjk = m == 3;
        while (j < len && (m = end_mark(text, j, len))) j += m;
        while (j < len && (k = closer(text, j, len))) j += k;
        if (j < len && (cjk || blank(text[j]))) return j;
        i = j - 1;
    }
    return 0;
}
