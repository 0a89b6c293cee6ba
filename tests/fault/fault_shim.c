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
/* a call made by the shim itself (dlsym, the log) is neither counted nor failed; initial-exec: no __tls_get_addr,
 * which a sanitizer intercepts and cannot serve before it starts */
static __thread int t_inside __attribute__((tls_model("initial-exec")));

/* Own string helpers: under a sanitizer the libc ones are its interceptors, unusable before it starts (and
 * the shim's malloc runs then). */
static size_t s_len(const char *a) {
    size_t n = 0;
    while (a[n]) n++;
    return n;
}

static int s_has(const char *hay, const char *needle) {
    const size_t n = s_len(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] == needle[i]) i++;
        if (i == n) return 1;
    }
    return !n;
}

static int s_eq(const char *a, const char *b) { return s_len(a) == s_len(b) && s_has(a, b); }

extern char **environ;
static const char *env(const char *name) {
    const size_t n = s_len(name);
    for (char **e = environ; e && *e; e++) {
        size_t i = 0;
        while (i < n && (*e)[i] == name[i]) i++;
        if (i == n && (*e)[n] == '=') return *e + n + 1;
    }
    return NULL;
}

/* Appends text, or a number in base 10 or 16, at out[*at] (cap bytes in all, kept NUL-terminated). */
static void put(char *out, size_t cap, size_t *at, const char *text) {
    while (*text && *at + 1 < cap) out[(*at)++] = *text++;
    out[*at] = '\0';
}

static void put_num(char *out, size_t cap, size_t *at, unsigned long v, unsigned base) {
    char d[24];
    int k = 0;
    do d[k++] = "0123456789abcdef"[v % base]; while ((v /= base) && k < 23);
    char r[24];
    for (int i = 0; i < k; i++) r[i] = d[k - 1 - i];
    r[k] = '\0';
    put(out, cap, at, r);
}

static void read_env(void) {
    if (g_kind >= 0 || !environ) return; /* a sanitizer allocates before libc has the environment */
    const char *k = env("BARK_FAULT_KIND"), *n = env("BARK_FAULT_N");
    long v = 0;
    for (; n && *n >= '0' && *n <= '9'; n++) v = v * 10 + (*n - '0');
    g_n = v;
    g_after = env("BARK_FAULT_AFTER");
    g_log = env("BARK_FAULT_LOG");
    g_from = env("BARK_FAULT_FROM");
    atomic_store(&g_started, !g_after || !*g_after);
    g_kind = !k ? KIND_NONE : s_eq(k, "alloc") ? KIND_ALLOC : s_eq(k, "io") ? KIND_IO : KIND_NONE;
}

/* Appends a line to the log with raw system calls (no allocation, no stdio, nothing intercepted). */
static void log_line(const char *line) {
    if (!g_log) return;
    int fd = (int)syscall(SYS_openat, AT_FDCWD, g_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return;
    syscall(SYS_write, fd, line, s_len(line));
    syscall(SYS_close, fd);
}

/* The caller as "library+0xoffset symbol" (dladdr allocates nothing). */
static void caller_name(void *ra, char *out, size_t cap) {
    Dl_info d;
    size_t at = 0;
    out[0] = '\0';
    t_inside++; /* nothing here is counted */
    if (dladdr(ra, &d) && d.dli_fname) {
        const char *base = d.dli_fname;
        for (const char *c = d.dli_fname; *c; c++)
            if (*c == '/') base = c + 1;
        put(out, cap, &at, base);
        put(out, cap, &at, "+0x");
        put_num(out, cap, &at, (unsigned long)((char *)ra - (char *)d.dli_fbase), 16);
        if (d.dli_sname) put(out, cap, &at, " "), put(out, cap, &at, d.dli_sname);
    } else {
        put(out, cap, &at, "0x");
        put_num(out, cap, &at, (unsigned long)ra, 16);
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
        if (!s_has(who, g_from)) return 0;
    }
    long c = atomic_fetch_add(&g_count, 1) + 1;
    if (c != g_n) return 0;
    caller_name(ra, who, sizeof who);
    size_t at = 0;
    put(line, sizeof line, &at, "fired "), put_num(line, sizeof line, &at, (unsigned long)c, 10);
    put(line, sizeof line, &at, " "), put(line, sizeof line, &at, fn), put(line, sizeof line, &at, " ");
    put(line, sizeof line, &at, who), put(line, sizeof line, &at, "\n");
    t_inside++;
    log_line(line);
    t_inside--;
    return 1;
}

/* An open of a path containing BARK_FAULT_AFTER starts the count (itself not counted). */
static void note_open(const char *path) {
    read_env();
    if (!atomic_load(&g_started) && path && s_has(path, g_after)) atomic_store(&g_started, 1);
}

__attribute__((destructor)) static void report_count(void) {
    char line[64];
    size_t at = 0;
    put(line, sizeof line, &at, "count "), put_num(line, sizeof line, &at, (unsigned long)atomic_load(&g_count), 10);
    put(line, sizeof line, &at, "\n");
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

static malloc_fn real_malloc;
static calloc_fn real_calloc;
static realloc_fn real_realloc;
static free_fn real_free;
static aligned_alloc_fn real_aligned_alloc;
static posix_memalign_fn real_posix_memalign;
static int g_resolving; /* inside dlsym for the allocators: allocations come from the arena */

/* Every allocator at once, at the first call of any (dlsym must not run again later: free runs inside dlerror's
 * own cleanup, and a dlsym there corrupts it). 0 while resolving. */
static int resolve_alloc(void) {
    if (real_free) return 1;
    if (g_resolving) return 0;
    g_resolving = 1;
    t_inside++;
    real_malloc = (malloc_fn)dlsym(RTLD_NEXT, "malloc");
    real_calloc = (calloc_fn)dlsym(RTLD_NEXT, "calloc");
    real_realloc = (realloc_fn)dlsym(RTLD_NEXT, "realloc");
    real_aligned_alloc = (aligned_alloc_fn)dlsym(RTLD_NEXT, "aligned_alloc");
    real_posix_memalign = (posix_memalign_fn)dlsym(RTLD_NEXT, "posix_memalign");
    real_free = (free_fn)dlsym(RTLD_NEXT, "free");
    t_inside--;
    g_resolving = 0;
    return 1;
}

static void *fail_alloc(void) {
    errno = ENOMEM;
    return NULL;
}

void *malloc(size_t n) {
    if (!resolve_alloc()) return arena_alloc(n);
    return should_fail(KIND_ALLOC, "malloc", __builtin_return_address(0)) ? fail_alloc() : real_malloc(n);
}

void *calloc(size_t a, size_t b) {
    if (!resolve_alloc()) return arena_alloc(a * b); /* the arena is zero and never reused */
    return should_fail(KIND_ALLOC, "calloc", __builtin_return_address(0)) ? fail_alloc() : real_calloc(a, b);
}

void free(void *p) {
    if (!p || in_arena(p) || !resolve_alloc()) return;
    real_free(p);
}

void *realloc(void *p, size_t n) {
    if (!resolve_alloc()) return NULL;
    if (in_arena(p)) { /* an arena block grows into a real one (its old size is unknown: copy what fits) */
        const size_t room = (size_t)(g_arena + sizeof g_arena - (char *)p);
        void *q = malloc(n);
        if (q) memcpy(q, p, room < n ? room : n);
        return q;
    }
    return should_fail(KIND_ALLOC, "realloc", __builtin_return_address(0)) ? fail_alloc() : real_realloc(p, n);
}

void *aligned_alloc(size_t al, size_t n) {
    if (!resolve_alloc()) return NULL;
    return should_fail(KIND_ALLOC, "aligned_alloc", __builtin_return_address(0)) ? fail_alloc()
                                                                                  : real_aligned_alloc(al, n);
}

int posix_memalign(void **out, size_t al, size_t n) {
    if (!resolve_alloc()) return ENOMEM;
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
