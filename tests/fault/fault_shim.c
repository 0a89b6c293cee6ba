/* fault_shim.c: an LD_PRELOAD library that makes the Nth allocation or the Nth I/O call of a process fail. */
/*
 * Environment (read once, at the first intercepted call):
 *   BARK_FAULT_KIND   alloc (malloc, calloc, realloc, aligned_alloc, posix_memalign) or
 *                     io (open, openat, fopen, read, pread, write, pwrite, mmap, fread, fwrite); unset: count only
 *   BARK_FAULT_N      the call to fail, 1-based; only that one call fails (0 or unset: none)
 *   BARK_FAULT_AFTER  counting starts at the first open/fopen of a path containing this text (the program's
 *                     start-up and its libraries' constructors are not counted, so N names the same call on every
 *                     run of a single-threaded path); unset: from the first call
 *   BARK_FAULT_FROM   only calls made from a library (or program) whose file name contains this text count
 *   BARK_FAULT_LOG    a file that gets "fired N FUNCTION CALLER" when the fault fires, and "count C" at exit
 * A failed allocation returns NULL with errno ENOMEM; a failed I/O call returns -1 (NULL, MAP_FAILED, 0 for the
 * stdio calls) with errno EIO (ENOSPC for writes, EMFILE for opens).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

enum { KIND_NONE, KIND_ALLOC, KIND_IO };

static int g_kind = -1; /* -1: the environment is not read yet */
static long g_n;
static const char *g_after, *g_from, *g_log;
static atomic_long g_count;
static atomic_int g_started;
static __thread int t_inside; /* a call made by the shim itself (dlsym, the log) is neither counted nor failed */

static void read_env(void) {
    if (g_kind >= 0) return;
    const char *k = getenv("BARK_FAULT_KIND"), *n = getenv("BARK_FAULT_N");
    g_n = n ? atol(n) : 0;
    g_after = getenv("BARK_FAULT_AFTER");
    g_log = getenv("BARK_FAULT_LOG");
    g_from = getenv("BARK_FAULT_FROM");
    atomic_store(&g_started, !g_after || !*g_after);
    g_kind = !k ? KIND_NONE : !strcmp(k, "alloc") ? KIND_ALLOC : !strcmp(k, "io") ? KIND_IO : KIND_NONE;
}

/* Appends a line to the log with raw system calls (no allocation, no stdio, nothing intercepted). */
static void log_line(const char *line) {
    if (!g_log) return;
    int fd = (int)syscall(SYS_openat, AT_FDCWD, g_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return;
    syscall(SYS_write, fd, line, strlen(line));
    syscall(SYS_close, fd);
}

/* The caller as "library+0xoffset" (dladdr allocates nothing). */
static void caller_name(void *ra, char *out, size_t cap) {
    Dl_info d;
    t_inside++; /* nothing here is counted */
    if (dladdr(ra, &d) && d.dli_fname) {
        const char *base = strrchr(d.dli_fname, '/');
        snprintf(out, cap, "%s+0x%lx%s%s", base ? base + 1 : d.dli_fname,
                 (unsigned long)((char *)ra - (char *)d.dli_fbase), d.dli_sname ? " " : "",
                 d.dli_sname ? d.dli_sname : "");
    } else {
        snprintf(out, cap, "%p", ra);
    }
    t_inside--;
}

/* Counts a call of `kind`; 1 if this one is to fail. */
static int should_fail(int kind, const char *fn, void *ra) {
    if (t_inside) return 0;
    read_env();
    if (g_kind != kind || !atomic_load(&g_started)) return 0;
    char who[256], line[400];
    if (g_from) {
        caller_name(ra, who, sizeof who);
        if (!strstr(who, g_from)) return 0;
    }
    long c = atomic_fetch_add(&g_count, 1) + 1;
    if (c != g_n) return 0;
    caller_name(ra, who, sizeof who);
    snprintf(line, sizeof line, "fired %ld %s %s\n", c, fn, who);
    t_inside++;
    log_line(line);
    t_inside--;
    return 1;
}

/* An open of a path containing BARK_FAULT_AFTER starts the count (itself not counted). */
static void note_open(const char *path) {
    read_env();
    if (!atomic_load(&g_started) && path && strstr(path, g_after)) atomic_store(&g_started, 1);
}

__attribute__((destructor)) static void report_count(void) {
    char line[64];
    snprintf(line, sizeof line, "count %ld\n", atomic_load(&g_count));
    t_inside++;
    log_line(line);
    t_inside--;
}

/* ---- the real functions: dlsym(RTLD_NEXT) (which may itself allocate: served from a static arena) ---- */

static _Alignas(16) char g_arena[65536];
static atomic_size_t g_arena_used;

static void *arena_alloc(size_t n) {
    n = (n + 15) & ~(size_t)15;
    size_t at = atomic_fetch_add(&g_arena_used, n);
    return at + n <= sizeof g_arena ? g_arena + at : NULL;
}

static int in_arena(const void *p) { return (const char *)p >= g_arena && (const char *)p < g_arena + sizeof g_arena; }

#define REAL(name, type)                                                                                              \
    static type real_##name;                                                                                           \
    if (!real_##name) {                                                                                                \
        t_inside++;                                                                                                    \
        real_##name = (type)dlsym(RTLD_NEXT, #name);                                                                   \
        t_inside--;                                                                                                    \
    }

typedef void *(*malloc_fn)(size_t);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*realloc_fn)(void *, size_t);
typedef void (*free_fn)(void *);
typedef void *(*aligned_alloc_fn)(size_t, size_t);
typedef int (*posix_memalign_fn)(void **, size_t, size_t);

static int g_resolving; /* inside dlsym for an allocator: allocations come from the arena */

void *malloc(size_t n) {
    static malloc_fn real_malloc;
    if (!real_malloc) {
        if (g_resolving) return arena_alloc(n);
        g_resolving = 1;
        real_malloc = (malloc_fn)dlsym(RTLD_NEXT, "malloc");
        g_resolving = 0;
    }
    if (should_fail(KIND_ALLOC, "malloc", __builtin_return_address(0))) {
        errno = ENOMEM;
        return NULL;
    }
    return real_malloc(n);
}

void *calloc(size_t a, size_t b) {
    static calloc_fn real_calloc;
    if (!real_calloc) {
        if (g_resolving) return arena_alloc(a * b); /* the arena is zero and never reused */
        g_resolving = 1;
        real_calloc = (calloc_fn)dlsym(RTLD_NEXT, "calloc");
        g_resolving = 0;
    }
    if (should_fail(KIND_ALLOC, "calloc", __builtin_return_address(0))) {
        errno = ENOMEM;
        return NULL;
    }
    return real_calloc(a, b);
}

void free(void *p) {
    static free_fn real_free;
    if (!p || in_arena(p)) return;
    if (!real_free) real_free = (free_fn)dlsym(RTLD_NEXT, "free");
    real_free(p);
}

void *realloc(void *p, size_t n) {
    REAL(realloc, realloc_fn)
    if (in_arena(p)) { /* an arena block grows into a real one (its old size is unknown: copy what fits) */
        void *q = malloc(n);
        if (q) memcpy(q, p, (size_t)(g_arena + sizeof g_arena - (char *)p) < n ? (size_t)(g_arena + sizeof g_arena - (char *)p) : n);
        return q;
    }
    if (should_fail(KIND_ALLOC, "realloc", __builtin_return_address(0))) {
        errno = ENOMEM;
        return NULL;
    }
    return real_realloc(p, n);
}

void *aligned_alloc(size_t al, size_t n) {
    REAL(aligned_alloc, aligned_alloc_fn)
    if (should_fail(KIND_ALLOC, "aligned_alloc", __builtin_return_address(0))) {
        errno = ENOMEM;
        return NULL;
    }
    return real_aligned_alloc(al, n);
}

int posix_memalign(void **out, size_t al, size_t n) {
    REAL(posix_memalign, posix_memalign_fn)
    if (should_fail(KIND_ALLOC, "posix_memalign", __builtin_return_address(0))) return ENOMEM;
    return real_posix_memalign(out, al, n);
}

/* ---- I/O ---- */

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef FILE *(*fopen_fn)(const char *, const char *);
typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pread_fn)(int, void *, size_t, off_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);
typedef size_t (*fread_fn)(void *, size_t, size_t, FILE *);
typedef size_t (*fwrite_fn)(const void *, size_t, size_t, FILE *);

static mode_t open_mode(int flags, va_list ap) { return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0; }

#define OPEN_LIKE(name)                                                                                               \
    int name(const char *path, int flags, ...) {                                                                       \
        REAL(name, open_fn)                                                                                            \
        va_list ap;                                                                                                    \
        va_start(ap, flags);                                                                                           \
        mode_t mode = open_mode(flags, ap);                                                                            \
        va_end(ap);                                                                                                    \
        if (should_fail(KIND_IO, #name, __builtin_return_address(0))) {                                               \
            errno = EMFILE;                                                                                            \
            return -1;                                                                                                 \
        }                                                                                                              \
        int fd = real_##name(path, flags, mode);                                                                       \
        note_open(path);                                                                                               \
        return fd;                                                                                                     \
    }
OPEN_LIKE(open)
OPEN_LIKE(open64)

#define OPENAT_LIKE(name)                                                                                             \
    int name(int dir, const char *path, int flags, ...) {                                                              \
        REAL(name, openat_fn)                                                                                          \
        va_list ap;                                                                                                    \
        va_start(ap, flags);                                                                                           \
        mode_t mode = open_mode(flags, ap);                                                                            \
        va_end(ap);                                                                                                    \
        if (should_fail(KIND_IO, #name, __builtin_return_address(0))) {                                               \
            errno = EMFILE;                                                                                            \
            return -1;                                                                                                 \
        }                                                                                                              \
        int fd = real_##name(dir, path, flags, mode);                                                                  \
        note_open(path);                                                                                               \
        return fd;                                                                                                     \
    }
OPENAT_LIKE(openat)
OPENAT_LIKE(openat64)

#define FOPEN_LIKE(name)                                                                                              \
    FILE *name(const char *path, const char *mode) {                                                                   \
        REAL(name, fopen_fn)                                                                                           \
        if (should_fail(KIND_IO, #name, __builtin_return_address(0))) {                                               \
            errno = EMFILE;                                                                                            \
            return NULL;                                                                                               \
        }                                                                                                              \
        FILE *f = real_##name(path, mode);                                                                             \
        note_open(path);                                                                                               \
        return f;                                                                                                      \
    }
FOPEN_LIKE(fopen)
FOPEN_LIKE(fopen64)

ssize_t read(int fd, void *buf, size_t n) {
    REAL(read, read_fn)
    if (should_fail(KIND_IO, "read", __builtin_return_address(0))) {
        errno = EIO;
        return -1;
    }
    return real_read(fd, buf, n);
}

ssize_t write(int fd, const void *buf, size_t n) {
    REAL(write, write_fn)
    if (fd > 2 && should_fail(KIND_IO, "write", __builtin_return_address(0))) { /* not the messages themselves */
        errno = ENOSPC;
        return -1;
    }
    return real_write(fd, buf, n);
}

#define PREAD_LIKE(name)                                                                                              \
    ssize_t name(int fd, void *buf, size_t n, off_t at) {                                                              \
        REAL(name, pread_fn)                                                                                           \
        if (should_fail(KIND_IO, #name, __builtin_return_address(0))) {                                               \
            errno = EIO;                                                                                               \
            return -1;                                                                                                 \
        }                                                                                                              \
        return real_##name(fd, buf, n, at);                                                                            \
    }
PREAD_LIKE(pread)
PREAD_LIKE(pread64)

#define PWRITE_LIKE(name)                                                                                             \
    ssize_t name(int fd, const void *buf, size_t n, off_t at) {                                                        \
        REAL(name, pwrite_fn)                                                                                          \
        if (should_fail(KIND_IO, #name, __builtin_return_address(0))) {                                               \
            errno = ENOSPC;                                                                                            \
            return -1;                                                                                                 \
        }                                                                                                              \
        return real_##name(fd, buf, n, at);                                                                            \
    }
PWRITE_LIKE(pwrite)
PWRITE_LIKE(pwrite64)

#define MMAP_LIKE(name)                                                                                               \
    void *name(void *addr, size_t n, int prot, int flags, int fd, off_t at) {                                          \
        REAL(name, mmap_fn)                                                                                            \
        if (fd >= 0 && should_fail(KIND_IO, #name, __builtin_return_address(0))) { /* file mappings only */           \
            errno = ENOMEM;                                                                                            \
            return MAP_FAILED;                                                                                         \
        }                                                                                                              \
        return real_##name(addr, n, prot, flags, fd, at);                                                              \
    }
MMAP_LIKE(mmap)
MMAP_LIKE(mmap64)

size_t fread(void *buf, size_t size, size_t n, FILE *f) {
    REAL(fread, fread_fn)
    if (should_fail(KIND_IO, "fread", __builtin_return_address(0))) {
        errno = EIO;
        return 0;
    }
    return real_fread(buf, size, n, f);
}

size_t fwrite(const void *buf, size_t size, size_t n, FILE *f) {
    REAL(fwrite, fwrite_fn)
    if (f != stdout && f != stderr && should_fail(KIND_IO, "fwrite", __builtin_return_address(0))) {
        errno = ENOSPC;
        return 0;
    }
    return real_fwrite(buf, size, n, f);
}
