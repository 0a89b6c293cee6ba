/* say_lines.c: `bark say --lines`: each line of stdin said as soon as it arrives, the model kept between lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
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

/* Says one non-empty line (item k); returns the exit status of that line. */
static int say_line(const bark_context *ctx, const say_opts *o, char *text, size_t lineno, size_t k) {
    char where[32], path[4096];
    snprintf(where, sizeof where, "line %zu", lineno);
    say_item it = {0};
    if (o->json) {
        char why[256];
        if (say_json_parse(text, &it, why, sizeof why)) {
            fprintf(stderr, "bark say: %s: %s\n", where, why);
            return 1;
        }
    }
    say_job job = {o->json ? it.text : text, o->c.voice, NULL, o->c.seed, where};
    if (it.voice) job.voice = it.voice;
    if (it.have_seed) job.seed = it.seed;
    if (it.output) job.output = it.output;
    else if (o->c.output) numbered(o->c.output, k, path, sizeof path), job.output = path;
    const int rc = say_text(ctx, o, &job);
    say_item_free(&it);
    return rc;
}

int say_lines(const bark_context *ctx, const say_opts *o) {
    char *line = NULL;
    size_t cap = 0, lineno = 0, k = 0;
    int failed = 0, rc = 0;
    ssize_t n;
    while (rc != 130 && !say_signalled() && (n = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        if ((size_t)n > MAX_LINE_BYTES) {
            fprintf(stderr, "bark say: line %zu: over %u bytes, skipped\n", lineno, MAX_LINE_BYTES);
            failed = 1;
            continue;
        }
        char *text = trim(line);
        if (!*text) continue;
        rc = say_line(ctx, o, text, lineno, ++k);
        failed |= rc != 0;
        if (rc && o->raw && ferror(stdout)) break; /* stdout is gone: no line can be said any more */
    }
    free(line);
    if (rc == 130 || say_signalled()) return 130;
    if (ferror(stdin)) {
        fprintf(stderr, "bark say: cannot read the lines from stdin\n");
        return 1;
    }
    return failed ? 1 : 0;
}
