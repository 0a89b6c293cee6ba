/* staged_file.c: write to "<path>.part-XXXXXX", then fsync and rename (keep) or unlink, so no half file is seen. */
#include "core/staged_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

int fd_write_all(int fd, const void *p, size_t n) {
    const unsigned char *b = p;
    while (n > 0) {
        ssize_t r = write(fd, b, n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return errno;
        if (r == 0) return EIO;
        b += r, n -= (size_t)r;
    }
    return 0;
}

bark_status staged_file_open(staged_file *f, const char *path, bark_error *err) {
    memset(f, 0, sizeof *f);
    f->fd = -1;
    const size_t l = strlen(path);
    if (!(f->path = strdup(path)) || !(f->tmp = malloc(l + 16))) {
        free(f->path);
        f->path = NULL;
        return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", path);
    }
    snprintf(f->tmp, l + 16, "%s.part-XXXXXX", path);
    int fd = mkstemp(f->tmp), e = errno;
    if (fd >= 0) {
        mode_t mask = umask(0);
        umask(mask);
        if (fchmod(fd, 0666 & ~mask) != 0) {
            e = errno;
            close(fd);
            unlink(f->tmp);
            fd = -1;
        }
    }
    if (fd < 0) {
        free(f->path);
        free(f->tmp);
        f->path = f->tmp = NULL;
        return bark_fail(err, BARK_ERR_IO, "%s: cannot create: %s", path, strerror(e));
    }
    f->fd = fd;
    return BARK_OK;
}

bark_status staged_file_write(staged_file *f, const void *p, size_t n, bark_error *err) {
    int e = fd_write_all(f->fd, p, n);
    return e ? bark_fail(err, BARK_ERR_IO, "%s: write failed: %s", f->path, strerror(e)) : BARK_OK;
}

bark_status staged_file_pwrite(staged_file *f, const void *p, size_t n, off_t off, bark_error *err) {
    const unsigned char *b = p;
    while (n > 0) {
        ssize_t r = pwrite(f->fd, b, n, off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0)
            return bark_fail(err, BARK_ERR_IO, "%s: write failed: %s", f->path, r < 0 ? strerror(errno) : "no progress");
        b += r, n -= (size_t)r, off += r;
    }
    return BARK_OK;
}

bark_status staged_file_close(staged_file *f, int keep, bark_error *err) {
    if (f->fd < 0) return BARK_OK;
    bark_status st = BARK_OK;
    if (keep && fsync(f->fd) != 0) st = bark_fail(err, BARK_ERR_IO, "%s: cannot write: %s", f->path, strerror(errno));
    if (close(f->fd) != 0 && keep && !st)
        st = bark_fail(err, BARK_ERR_IO, "%s: cannot write: %s", f->path, strerror(errno));
    if (keep && !st && rename(f->tmp, f->path) != 0)
        st = bark_fail(err, BARK_ERR_IO, "%s: cannot rename the finished file: %s", f->path, strerror(errno));
    if (!keep || st) unlink(f->tmp);
    free(f->path);
    free(f->tmp);
    f->path = f->tmp = NULL;
    f->fd = -1;
    return st;
}
