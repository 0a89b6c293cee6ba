/* cli_error.c: the command line's one-line error messages: filling a bark_error, printing it. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int cli_fail(const char *cmd, const bark_error *err) {
    fprintf(stderr, "bark %s: %s\n", cmd, err->msg[0] ? err->msg : bark_status_str(err->status));
    return 1;
}

bark_status cli_error(bark_error *err, bark_status st, const char *fmt, ...) {
    if (!err) return st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return err->status = st;
}

void cli_error_prefix(bark_error *err, const char *name) {
    char old[sizeof err->msg];
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%.255s: %.250s", name, old);
}
