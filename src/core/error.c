/* error.c: status names and one-line error messages. */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *bark_status_str(bark_status s) {
    switch (s) {
    case BARK_OK: return "ok";
    case BARK_ERR_ARG: return "invalid argument";
    case BARK_ERR_IO: return "i/o error";
    case BARK_ERR_FORMAT: return "malformed input";
    case BARK_ERR_UNSUPPORTED: return "unsupported";
    case BARK_ERR_NOMEM: return "out of memory";
    case BARK_ERR_MISSING: return "missing";
    case BARK_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown status";
}

bark_status bark_fail(bark_error *err, bark_status st, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->status = st;
    }
    return st;
}

bark_status bark_err_prefix(bark_error *err, const char *fmt, ...) {
    if (!err) return BARK_ERR_ARG;
    char head[256], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%.255s%.255s", head, old);
    return err->status;
}
