/* staged_file.h: a file written under a temporary name beside its final one and renamed into place when done. */
#ifndef BARK_STAGED_FILE_H
#define BARK_STAGED_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "bark.h"

typedef struct staged_file {
    int fd;           /* the temporary file, open for writing; -1 once closed */
    char *path, *tmp; /* the final name and "<path>.part-XXXXXX" */
} staged_file;

/* Creates the temporary file (mode 0666 less the umask, as fopen would). On failure nothing is left. */
BARK_NODISCARD bark_status staged_file_open(staged_file *f, const char *path, bark_error *err);
/* Appends n bytes. */
BARK_NODISCARD bark_status staged_file_write(staged_file *f, const void *p, size_t n, bark_error *err);
/* Overwrites n bytes at offset off (a header finished at the end). */
BARK_NODISCARD bark_status staged_file_pwrite(staged_file *f, const void *p, size_t n, off_t off, bark_error *err);
/* keep = 1: flushed to the disk and renamed to its final name; keep = 0, or a failure: removed. Either way the
 * descriptor is closed and the names freed. Accepts a file whose open failed (then does nothing). */
bark_status staged_file_close(staged_file *f, int keep, bark_error *err);

/* write(2) of all n bytes through short writes and EINTR; 0, or the errno of the failure. */
int fd_write_all(int fd, const void *p, size_t n);

#endif
