/* style.c: a request's "style" field: the text with that speaking style's cues (bark_style_apply), as the CLI's
 * --style applies them. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/srv.h"

int srv_styled_text(const cJSON *style, const char *text, char **out, char *why, size_t cap) {
    *out = NULL;
    if (!style || cJSON_IsNull(style)) {
        *out = strdup(text);
        return 0;
    }
    if (!cJSON_IsString(style)) {
        snprintf(why, cap, "'style' must be a string");
        return -1;
    }
    bark_error err;
    char *t = NULL;
    if (bark_style_apply(style->valuestring, text, &t, &err)) {
        snprintf(why, cap, "%s", err.msg);
        return err.status == BARK_ERR_NOMEM ? 0 : -1; /* out of memory: *out stays NULL, the caller says so */
    }
    *out = strdup(t);
    bark_free(t);
    return 0;
}
