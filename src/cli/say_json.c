/* say_json.c: one line of `bark say --lines --json`: {"text": ..., "voice": ..., "seed": ..., "output": ...} (cJSON). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "cli/say.h"

void say_item_free(say_item *it) {
    free(it->text), free(it->voice), free(it->output);
    memset(it, 0, sizeof *it);
}

/* A key given twice (cJSON keeps both) is refused: the line is ambiguous. */
static int twice(const cJSON *m, char *why, size_t cap) {
    snprintf(why, cap, "\"%s\" is given twice", m->string);
    return -1;
}

/* A string member into *out (a copy). */
static int take_string(const cJSON *m, char **out, char *why, size_t cap) {
    if (*out) return twice(m, why, cap);
    if (!cJSON_IsString(m) || !m->valuestring) {
        snprintf(why, cap, "\"%s\" must be a string", m->string);
        return -1;
    }
    if (!(*out = strdup(m->valuestring))) {
        snprintf(why, cap, "out of memory");
        return -1;
    }
    return 0;
}

/* "seed": a whole number from 0 to 2^53 (every one a JSON number holds exactly). */
static int take_seed(const cJSON *m, say_item *it, char *why, size_t cap) {
    if (it->have_seed) return twice(m, why, cap);
    const double x = cJSON_IsNumber(m) ? m->valuedouble : -1;
    if (!(x >= 0 && x <= 9007199254740992.0 && x == floor(x))) {
        snprintf(why, cap, "\"seed\" must be a whole number from 0 to 2^53");
        return -1;
    }
    it->seed = (uint64_t)x, it->have_seed = 1;
    return 0;
}

int say_json_parse(const char *line, say_item *it, char *why, size_t cap) {
    memset(it, 0, sizeof *it);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(line, &end, 1);
    if (!root || !cJSON_IsObject(root)) {
        if (root) snprintf(why, cap, "not a JSON object (want {\"text\": \"...\"})");
        else snprintf(why, cap, "bad JSON near column %zu (want {\"text\": \"...\"})", (size_t)(end - line) + 1);
        cJSON_Delete(root);
        return -1;
    }
    int rc = 0;
    for (const cJSON *m = root->child; m && !rc; m = m->next) {
        if (!strcmp(m->string, "text")) rc = take_string(m, &it->text, why, cap);
        else if (!strcmp(m->string, "voice")) rc = take_string(m, &it->voice, why, cap);
        else if (!strcmp(m->string, "output")) rc = take_string(m, &it->output, why, cap);
        else if (!strcmp(m->string, "seed")) rc = take_seed(m, it, why, cap);
        else {
            snprintf(why, cap, "unknown key \"%.60s\" (text, voice, seed, output)", m->string);
            rc = -1;
        }
    }
    if (!rc && (!it->text || !it->text[0])) {
        snprintf(why, cap, "no \"text\" to say");
        rc = -1;
    }
    cJSON_Delete(root);
    if (rc) say_item_free(it);
    for (char *c = why; rc && *c; c++) /* a key with control characters in it still makes one line */
        if ((unsigned char)*c < 0x20) *c = '?';
    return rc;
}
