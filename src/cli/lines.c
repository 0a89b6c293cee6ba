/* lines.c: the texts of `bark say --lines` and `bark render`, one a line: reading, trimming, numbering, defaults. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/say.h"

#define MAX_LINE_BYTES (1u << 20)

/* out.wav -> out-0001.wav (the number before the extension; none: at the end). */
static void numbered(const char *out, size_t k, char *buf, size_t cap) {
    const char *slash = strrchr(out, '/'), *dot = strrchr(out, '.');
    if (!dot || (slash && dot < slash) || dot == (slash ? slash + 1 : out)) dot = out + strlen(out);
    snprintf(buf, cap, "%.*s-%04zu%s", (int)(dot - out), out, k, dot);
}

/* Strips the line's end and surrounding blanks in place; returns its start. */
static char *trim(char *s) {
    size_t n = strlen(s);
    while (n && strchr(" \t\r\n", s[n - 1])) s[--n] = '\0';
    while (*s == ' ' || *s == '\t') s++;
    return s;
}

char *say_line_next(say_line_reader *r) {
    ssize_t n;
    while (!say_signalled() && (n = getline(&r->buf, &r->cap, r->in)) >= 0) {
        r->lineno++;
        if ((size_t)n > MAX_LINE_BYTES) {
            fprintf(stderr, "bark %s: line %zu: over %u bytes, skipped\n", r->cmd, r->lineno, MAX_LINE_BYTES);
            r->failed = 1;
            continue;
        }
        char *text = trim(r->buf);
        if (!*text) continue;
        r->k++;
        return text;
    }
    return NULL;
}

void say_line_reader_free(say_line_reader *r) {
    free(r->buf);
    r->buf = NULL, r->cap = 0;
}

/* A copy of s into *out (NULL stays NULL); -1 when out of memory. */
static int copy(const char *s, char **out) {
    if (!s) return 0;
    return (*out = strdup(s)) ? 0 : -1;
}

int say_line_item(const char *line, int json, const cli_common *c, size_t k, say_item *it, char *why, size_t cap) {
    memset(it, 0, sizeof *it);
    if (json && say_json_parse(line, it, why, cap)) return -1;
    char path[4096];
    if (c->output) numbered(c->output, k, path, sizeof path);
    if ((!json && copy(line, &it->text)) || (!it->voice && copy(c->voice, &it->voice)) ||
        (!it->output && copy(c->output ? path : NULL, &it->output))) {
        snprintf(why, cap, "out of memory");
        say_item_free(it);
        return -1;
    }
    if (!it->have_seed) it->seed = c->seed, it->have_seed = 1;
    return 0;
}
