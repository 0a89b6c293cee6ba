/* say_lines.c: `bark say --lines`: each line of stdin said as soon as it arrives, the model kept between lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/say.h"

/* Says one non-empty line (item k); returns the exit status of that line. */
static int say_line(const bark_context *ctx, const say_opts *o, const char *text, size_t lineno, size_t k) {
    char where[32], why[256];
    snprintf(where, sizeof where, "line %zu", lineno);
    say_item it;
    if (say_line_item(text, o->json, &o->c, k, &it, why, sizeof why)) {
        fprintf(stderr, "bark say: %s: %s\n", where, why);
        return 1;
    }
    const say_job job = {it.text, it.voice, it.output, it.seed, where};
    const int rc = say_text(ctx, o, &job);
    say_item_free(&it);
    return rc;
}

int say_lines(const bark_context *ctx, const say_opts *o) {
    say_line_reader r = {stdin, "say", NULL, 0, 0, 0, 0};
    int failed = 0, rc = 0;
    const char *text;
    while (rc != 130 && (text = say_line_next(&r))) {
        rc = say_line(ctx, o, text, r.lineno, r.k);
        failed |= rc != 0;
        if (rc && o->raw && ferror(stdout)) break; /* stdout is gone: no line can be said any more */
    }
    say_line_reader_free(&r);
    if (rc == 130 || say_signalled()) return 130;
    if (ferror(stdin)) {
        fprintf(stderr, "bark say: cannot read the lines from stdin\n");
        return 1;
    }
    return failed || r.failed ? 1 : 0;
}
