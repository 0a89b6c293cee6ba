/* npz_write.c: .npz archives: stored (method 0) zip members of NPY v1.0 arrays, CRC-32 from zlib. */
#include "formats/npy_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/error.h"
#include "core/staged_file.h"

#define NPZ_MAX_MEMBERS 16
#define NPZ_MAX_NAME 64

/* Bytes gathered in memory (an .npz of voice prompts is small). */
typedef struct bytes {
    uint8_t *p;
    size_t n, cap;
    int oom;
} bytes;

static uint8_t *grow(bytes *b, size_t n) {
    if (b->oom) return NULL;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n) cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return NULL;
        }
        b->p = p, b->cap = cap;
    }
    uint8_t *at = b->p + b->n;
    b->n += n;
    return at;
}

static void put(bytes *b, const void *src, size_t n) {
    uint8_t *at = grow(b, n);
    if (at) memcpy(at, src, n);
}

static void put_le(bytes *b, uint64_t v, int n) {
    uint8_t t[8];
    for (int i = 0; i < n; i++) t[i] = (uint8_t)(v >> (8 * i));
    put(b, t, (size_t)n);
}

typedef struct entry {
    char name[NPZ_MAX_NAME + 8];
    size_t offset, size;
    uint32_t crc;
} entry;

/* The fields a local and a central header share, from "version needed" to the name length. */
static void common_fields(bytes *z, const entry *e) {
    put_le(z, 20, 2);   /* version needed */
    put_le(z, 0, 2);    /* flags */
    put_le(z, 0, 2);    /* stored */
    put_le(z, 0, 2);    /* time */
    put_le(z, 0x21, 2); /* date 1980-01-01 */
    put_le(z, e->crc, 4);
    put_le(z, e->size, 4);
    put_le(z, e->size, 4);
    put_le(z, strlen(e->name), 2);
}

/* One member: local header, then the .npy (header and values). */
static void member(bytes *z, const npz_member *m, entry *e) {
    char head[NPY_HEADER_MAX];
    const size_t hl = npy_header(head, m->dt, 0, m->shape, m->n_dims, 0);
    const size_t n = m->shape[0] * (m->n_dims == 2 ? m->shape[1] : 1), data = n * npy_dtype_size(m->dt);
    e->offset = z->n;
    e->size = hl + data;
    const size_t at = z->n + 30 + strlen(e->name);
    put_le(z, 0x04034b50, 4);
    common_fields(z, e); /* the CRC is patched in below, once the bytes exist */
    put_le(z, 0, 2);     /* extra */
    put(z, e->name, strlen(e->name));
    put(z, head, hl);
    uint8_t *p = grow(z, data);
    if (!p) return;
    npy_encode(p, m->dt, m->data, n);
    e->crc = (uint32_t)crc32(0L, z->p + at, (uInt)e->size);
    for (int i = 0; i < 4; i++) z->p[e->offset + 14 + i] = (uint8_t)(e->crc >> (8 * i));
}

static void central(bytes *z, const entry *e) {
    put_le(z, 0x02014b50, 4);
    put_le(z, 20, 2); /* version made by */
    common_fields(z, e);
    put_le(z, 0, 2); /* extra */
    put_le(z, 0, 2); /* comment */
    put_le(z, 0, 2); /* disk */
    put_le(z, 0, 2); /* internal attributes */
    put_le(z, 0, 4); /* external attributes */
    put_le(z, e->offset, 4);
    put(z, e->name, strlen(e->name));
}

bark_status npz_save(const char *path, const npz_member *m, size_t n, bark_error *err) {
    if (n > NPZ_MAX_MEMBERS) return bark_fail(err, BARK_ERR_ARG, "%s: too many arrays for an .npz", path);
    entry e[NPZ_MAX_MEMBERS];
    uint64_t total = 0; /* bytes of values: the zip's 32-bit sizes and offsets must hold them */
    for (size_t i = 0; i < n; i++) {
        const uint64_t rows = m[i].shape[0], cols = m[i].n_dims == 2 ? m[i].shape[1] : 1;
        if ((m[i].n_dims != 1 && m[i].n_dims != 2) || strlen(m[i].name) > NPZ_MAX_NAME || rows > (1u << 30) ||
            cols > (1u << 30) || (total += rows * cols * npy_dtype_size(m[i].dt)) > (1u << 30))
            return bark_fail(err, BARK_ERR_ARG, "%s: array %s is too large or oddly shaped for an .npz member", path,
                             m[i].name);
        snprintf(e[i].name, sizeof e[i].name, "%s.npy", m[i].name);
        e[i].crc = 0;
    }
    bytes z = {0};
    for (size_t i = 0; i < n; i++) member(&z, &m[i], &e[i]);
    const size_t cd = z.n;
    for (size_t i = 0; i < n; i++) central(&z, &e[i]);
    const size_t cd_size = z.n - cd;
    put_le(&z, 0x06054b50, 4);
    put_le(&z, 0, 2);
    put_le(&z, 0, 2);
    put_le(&z, n, 2);
    put_le(&z, n, 2);
    put_le(&z, cd_size, 4);
    put_le(&z, cd, 4);
    put_le(&z, 0, 2);
    staged_file f;
    bark_status st = z.oom ? bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", path)
                           : staged_file_open(&f, path, err);
    if (!st) {
        st = staged_file_write(&f, z.p, z.n, err);
        bark_status cst = staged_file_close(&f, !st, err);
        if (!st) st = cst;
    }
    free(z.p);
    return st;
}
