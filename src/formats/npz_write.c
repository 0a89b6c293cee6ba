/* npz_write.c: a voice prompt as an .npz: stored (method 0) zip members of NPY v1.0 arrays, CRC-32 from zlib. */
#include "formats/npz_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/error.h"

typedef struct bytes {
    uint8_t *p;
    size_t n, cap;
    int oom;
} bytes;

static void put(bytes *b, const void *src, size_t n) {
    if (b->oom) return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n) cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void put_le(bytes *b, uint64_t v, int n) {
    uint8_t t[8];
    for (int i = 0; i < n; i++) t[i] = (uint8_t)(v >> (8 * i));
    put(b, t, (size_t)n);
}

/* One .npy: header padded so the data starts at a multiple of 64, then n values of `width` bytes. */
static void npy(bytes *b, const char *descr, const size_t *shape, int n_dims, const int32_t *v, int width) {
    char dict[160], dims[64];
    size_t n = 1;
    if (n_dims == 1) snprintf(dims, sizeof dims, "%zu,", shape[0]);
    else snprintf(dims, sizeof dims, "%zu, %zu", shape[0], shape[1]);
    for (int i = 0; i < n_dims; i++) n *= shape[i];
    int len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, dims);
    int pad = (64 - (10 + len + 1) % 64) % 64;
    put(b, "\x93NUMPY\x01\x00", 8);
    put_le(b, (uint64_t)(len + pad + 1), 2);
    put(b, dict, (size_t)len);
    for (int i = 0; i < pad; i++) put(b, " ", 1);
    put(b, "\n", 1);
    for (size_t i = 0; i < n; i++) put_le(b, (uint64_t)(int64_t)v[i], width);
}

typedef struct member {
    const char *name;
    size_t offset, size;
    uint32_t crc;
} member;

static void local_header(bytes *z, const member *m) {
    put_le(z, 0x04034b50, 4);
    put_le(z, 20, 2); /* version needed */
    put_le(z, 0, 2);  /* flags */
    put_le(z, 0, 2);  /* stored */
    put_le(z, 0, 2);  /* time */
    put_le(z, 0x21, 2); /* date 1980-01-01 */
    put_le(z, m->crc, 4);
    put_le(z, m->size, 4);
    put_le(z, m->size, 4);
    put_le(z, strlen(m->name), 2);
    put_le(z, 0, 2);
    put(z, m->name, strlen(m->name));
}

static void central_header(bytes *z, const member *m) {
    put_le(z, 0x02014b50, 4);
    put_le(z, 20, 2);
    put_le(z, 20, 2);
    put_le(z, 0, 2);
    put_le(z, 0, 2);
    put_le(z, 0, 2);
    put_le(z, 0x21, 2);
    put_le(z, m->crc, 4);
    put_le(z, m->size, 4);
    put_le(z, m->size, 4);
    put_le(z, strlen(m->name), 2);
    put_le(z, 0, 2); /* extra */
    put_le(z, 0, 2); /* comment */
    put_le(z, 0, 2); /* disk */
    put_le(z, 0, 2); /* internal attributes */
    put_le(z, 0, 4); /* external attributes */
    put_le(z, m->offset, 4);
    put(z, m->name, strlen(m->name));
}

bark_status voice_write_npz(const char *path, const bark_voice *v, bark_error *err) {
    if (!v->n_semantic || !v->n_fine || v->n_coarse != v->n_fine)
        return bark_fail(err, BARK_ERR_ARG, "%s: a voice needs semantic tokens and as many coarse as fine frames", path);
    if (v->n_fine > (1u << 24) || v->n_semantic > (1u << 24))
        return bark_fail(err, BARK_ERR_ARG, "%s: voice prompt too long for an .npz member", path);
    bytes arr[3] = {{0}}, z = {0};
    const size_t s_shape[1] = {v->n_semantic}, c_shape[2] = {2, v->n_coarse}, f_shape[2] = {8, v->n_fine};
    npy(&arr[0], "<i8", s_shape, 1, v->semantic, 8);
    npy(&arr[1], "<i8", c_shape, 2, v->coarse, 8);
    npy(&arr[2], "<i4", f_shape, 2, v->fine, 4);
    member m[3] = {{"semantic_prompt.npy", 0, 0, 0}, {"coarse_prompt.npy", 0, 0, 0}, {"fine_prompt.npy", 0, 0, 0}};
    int oom = 0;
    for (int i = 0; i < 3; i++) {
        oom |= arr[i].oom;
        m[i].offset = z.n;
        m[i].size = arr[i].n;
        m[i].crc = (uint32_t)crc32(0L, arr[i].p, (uInt)arr[i].n);
        local_header(&z, &m[i]);
        put(&z, arr[i].p, arr[i].n);
    }
    const size_t cd = z.n;
    for (int i = 0; i < 3; i++) central_header(&z, &m[i]);
    const size_t cd_size = z.n - cd;
    put_le(&z, 0x06054b50, 4);
    put_le(&z, 0, 2);
    put_le(&z, 0, 2);
    put_le(&z, 3, 2);
    put_le(&z, 3, 2);
    put_le(&z, cd_size, 4);
    put_le(&z, cd, 4);
    put_le(&z, 0, 2);
    oom |= z.oom;
    bark_status st = BARK_OK;
    char tmp[4200];
    if (oom) st = bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", path);
    else if (snprintf(tmp, sizeof tmp, "%s.partial", path) >= (int)sizeof tmp)
        st = bark_fail(err, BARK_ERR_ARG, "%s: path too long", path);
    if (!st) {
        FILE *f = fopen(tmp, "wb");
        int bad = !f || fwrite(z.p, 1, z.n, f) != z.n;
        if (f) bad |= fclose(f) != 0;
        if (bad || rename(tmp, path) != 0) {
            remove(tmp);
            st = bark_fail(err, BARK_ERR_IO, "%s: cannot write the voice file", path);
        }
    }
    for (int i = 0; i < 3; i++) free(arr[i].p);
    free(z.p);
    return st;
}
