/* source.c: the src_set container of checkpoint tensors (growth, ownership of buffers and file mappings). */
#include "formats/source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct src_map {
    void *addr;
    size_t len;
    struct src_map *next;
};

size_t src_dtype_size(src_dtype d) {
    switch (d) {
    case SRC_F64: case SRC_I64: return 8;
    case SRC_F32: case SRC_I32: return 4;
    case SRC_F16: case SRC_BF16: case SRC_I16: case SRC_U16: return 2;
    case SRC_I8: case SRC_U8: case SRC_BOOL: return 1;
    }
    return 0;
}

const char *src_dtype_name(src_dtype d) {
    switch (d) {
    case SRC_F32: return "f32";
    case SRC_F16: return "f16";
    case SRC_BF16: return "bf16";
    case SRC_F64: return "f64";
    case SRC_I64: return "i64";
    case SRC_I32: return "i32";
    case SRC_I16: return "i16";
    case SRC_I8: return "i8";
    case SRC_U16: return "u16";
    case SRC_U8: return "u8";
    case SRC_BOOL: return "bool";
    }
    return "?";
}

int src_dtype_is_int(src_dtype d) {
    return d == SRC_I64 || d == SRC_I32 || d == SRC_I16 || d == SRC_U16 || d == SRC_I8 || d == SRC_U8;
}

int64_t src_int_at(const src_tensor *t, size_t i) {
    const uint8_t *p = t->data + i * src_dtype_size(t->dtype);
    switch (t->dtype) {
    case SRC_I64: { int64_t v; memcpy(&v, p, 8); return v; }
    case SRC_I32: { int32_t v; memcpy(&v, p, 4); return v; }
    case SRC_I16: { int16_t v; memcpy(&v, p, 2); return v; }
    case SRC_U16: { uint16_t v; memcpy(&v, p, 2); return v; }
    case SRC_I8: return (int8_t)p[0];
    case SRC_U8: return p[0];
    default: return 0;
    }
}

bark_status src_shape_bytes(src_dtype dt, int n_dims, const int64_t *shape, size_t *out) {
    if (n_dims < 0 || n_dims > SRC_MAX_DIMS) return BARK_ERR_UNSUPPORTED;
    size_t total = src_dtype_size(dt);
    if (total == 0) return BARK_ERR_ARG;
    for (int i = 0; i < n_dims; i++) {
        if (shape[i] < 0) return BARK_ERR_FORMAT;
        if ((uint64_t)shape[i] > SIZE_MAX) return BARK_ERR_FORMAT;
        size_t d = (size_t)shape[i];
        if (d != 0 && total > SIZE_MAX / d) return BARK_ERR_FORMAT;
        total *= d;
    }
    *out = total;
    return BARK_OK;
}

void src_set_init(src_set *s) {
    memset(s, 0, sizeof *s);
}

void src_set_free(src_set *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) free(s->t[i].name);
    free(s->t);
    for (size_t i = 0; i < s->n_owned; i++) free(s->owned[i]);
    free(s->owned);
    struct src_map *m = s->maps;
    while (m) {
        struct src_map *next = m->next;
        munmap(m->addr, m->len);
        free(m);
        m = next;
    }
    memset(s, 0, sizeof *s);
}

int src_grow(void **arr, size_t *cap, size_t need, size_t el) {
    if (need <= *cap) return 0;
    size_t nc = *cap ? *cap : 16;
    while (nc < need) {
        if (nc > SIZE_MAX / 2) return -1;
        nc *= 2;
    }
    if (nc > SIZE_MAX / el) return -1;
    void *p = realloc(*arr, nc * el);
    if (!p) return -1;
    *arr = p;
    *cap = nc;
    return 0;
}

bark_status src_set_add(src_set *s, const char *name, src_dtype dt, int n_dims, const int64_t *shape,
                        const uint8_t *data, size_t nbytes, bark_error *err) {
    size_t want;
    if (!name) return bark_fail(err, BARK_ERR_ARG, "tensor without a name");
    bark_status st = src_shape_bytes(dt, n_dims, shape, &want);
    if (st != BARK_OK) return bark_fail(err, st, "tensor %s: bad shape", name);
    if (want != nbytes)
        return bark_fail(err, BARK_ERR_FORMAT, "tensor %s: %zu bytes for a shape of %zu bytes", name, nbytes, want);
    if (s->n == SIZE_MAX || src_grow((void **)&s->t, &s->cap, s->n + 1, sizeof *s->t) != 0)
        return bark_fail(err, BARK_ERR_NOMEM, "tensor %s: out of memory", name);
    src_tensor *t = &s->t[s->n];
    memset(t, 0, sizeof *t);
    size_t len = strlen(name);
    t->name = malloc(len + 1);
    if (!t->name) return bark_fail(err, BARK_ERR_NOMEM, "tensor %s: out of memory", name);
    memcpy(t->name, name, len + 1);
    t->dtype = dt;
    t->n_dims = n_dims;
    for (int i = 0; i < n_dims; i++) t->shape[i] = shape[i];
    t->data = data;
    t->nbytes = nbytes;
    s->n++;
    return BARK_OK;
}

bark_status src_set_own(src_set *s, void *buf, bark_error *err) {
    if (!buf) return BARK_OK;
    if (s->n_owned == SIZE_MAX || src_grow((void **)&s->owned, &s->cap_owned, s->n_owned + 1, sizeof *s->owned) != 0) {
        free(buf);
        return bark_fail(err, BARK_ERR_NOMEM, "out of memory");
    }
    s->owned[s->n_owned++] = buf;
    return BARK_OK;
}

bark_status src_map_file(const char *path, void **addr, size_t *size, bark_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return bark_fail(err, BARK_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat stt;
    if (fstat(fd, &stt) != 0) {
        int e = errno;
        close(fd);
        return bark_fail(err, BARK_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(stt.st_mode)) {
        close(fd);
        return bark_fail(err, BARK_ERR_IO, "%s: not a regular file", path);
    }
    if (stt.st_size <= 0) {
        close(fd);
        return bark_fail(err, BARK_ERR_FORMAT, "%s: empty file", path);
    }
    if ((uint64_t)stt.st_size > SIZE_MAX) {
        close(fd);
        return bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: too large to map on this system", path);
    }
    size_t len = (size_t)stt.st_size;
    void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED) return bark_fail(err, BARK_ERR_IO, "%s: cannot map: %s", path, strerror(e));
    *addr = p;
    *size = len;
    return BARK_OK;
}

bark_status src_set_map_file(src_set *s, const char *path, const uint8_t **data, size_t *size, bark_error *err) {
    struct src_map *m = malloc(sizeof *m);
    if (!m) return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", path);
    bark_status st = src_map_file(path, &m->addr, &m->len, err);
    if (st != BARK_OK) {
        free(m);
        return st;
    }
    m->next = s->maps;
    s->maps = m;
    *data = m->addr;
    *size = m->len;
    return BARK_OK;
}

void src_set_truncate(src_set *s, size_t n) {
    while (s->n > n) free(s->t[--s->n].name);
}

const src_tensor *src_set_find(const src_set *s, const char *name) {
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->t[i].name, name) == 0) return &s->t[i];
    return NULL;
}
