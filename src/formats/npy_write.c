/* npy_write.c: NPY v1.0 headers and little-endian data, written whole or grown value by value / column by column. */
#include "formats/npy_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/staged_file.h"

#define NPY_BLOCK 1024       /* values encoded per write */
#define NPY_STREAM_HEADER 128 /* fits any 1-D or 2-D shape, so the final header overwrites the first exactly */

size_t npy_dtype_size(npy_dtype dt) { return dt == NPY_I8 ? 8 : 4; }

static const char *descr(npy_dtype dt) { return dt == NPY_I4 ? "<i4" : dt == NPY_I8 ? "<i8" : "<f4"; }

size_t npy_header(char *out, npy_dtype dt, int fortran, const size_t *shape, int n_dims, size_t min_len) {
    char dims[64];
    if (n_dims == 1) snprintf(dims, sizeof dims, "%zu,", shape[0]);
    else snprintf(dims, sizeof dims, "%zu, %zu", shape[0], shape[1]);
    int len = snprintf(out + 10, NPY_HEADER_MAX - 10, "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }",
                       descr(dt), fortran ? "True" : "False", dims);
    size_t total = 10 + (size_t)len + 1, pad = (64 - total % 64) % 64;
    while (total + pad < min_len) pad += 64;
    const size_t hl = (size_t)len + pad + 1;
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (char)(hl & 0xff), out[9] = (char)(hl >> 8);
    memset(out + 10 + len, ' ', pad);
    out[10 + hl - 1] = '\n';
    return 10 + hl;
}

void npy_encode(uint8_t *out, npy_dtype dt, const void *v, size_t n) {
    const int width = (int)npy_dtype_size(dt);
    for (size_t i = 0; i < n; i++) {
        uint64_t u;
        if (dt == NPY_F4) {
            uint32_t b;
            memcpy(&b, (const float *)v + i, 4);
            u = b;
        } else {
            u = (uint64_t)(int64_t)((const int32_t *)v)[i];
        }
        for (int k = 0; k < width; k++) *out++ = (uint8_t)(u >> (8 * k));
    }
}

/* Encodes and appends n values, a block at a time. */
static bark_status put_values(staged_file *f, npy_dtype dt, const void *v, size_t n, bark_error *err) {
    uint8_t buf[NPY_BLOCK * 8];
    const size_t el = 4; /* int32_t and float: the caller's element size */
    for (size_t done = 0; done < n;) {
        const size_t k = n - done < NPY_BLOCK ? n - done : NPY_BLOCK;
        npy_encode(buf, dt, (const uint8_t *)v + done * el, k);
        bark_status st = staged_file_write(f, buf, k * npy_dtype_size(dt), err);
        if (st) return st;
        done += k;
    }
    return BARK_OK;
}

bark_status npy_save(const char *path, npy_dtype dt, const size_t *shape, int n_dims, const void *data,
                     bark_error *err) {
    if (n_dims != 1 && n_dims != 2)
        return bark_fail(err, BARK_ERR_ARG, "%s: %d-D arrays are not written", path, n_dims);
    size_t n = shape[0];
    if (n_dims == 2) {
        if (shape[1] && n > SIZE_MAX / 8 / shape[1]) return bark_fail(err, BARK_ERR_ARG, "%s: array too large", path);
        n *= shape[1];
    }
    char head[NPY_HEADER_MAX];
    const size_t hl = npy_header(head, dt, 0, shape, n_dims, 0);
    staged_file f;
    bark_status st = staged_file_open(&f, path, err);
    if (st) return st;
    st = staged_file_write(&f, head, hl, err);
    if (!st) st = put_values(&f, dt, data, n, err);
    bark_status cst = staged_file_close(&f, !st, err);
    return st ? st : cst;
}

struct npy_stream {
    staged_file f;
    npy_dtype dt;
    size_t rows, n; /* n: values (rows = 0) or columns written */
    bark_status st; /* the first failure */
};

/* The header for the shape written so far. */
static size_t stream_header(const npy_stream *s, char *head) {
    const size_t shape[2] = {s->rows ? s->rows : s->n, s->n};
    return npy_header(head, s->dt, s->rows > 0, shape, s->rows ? 2 : 1, NPY_STREAM_HEADER);
}

bark_status npy_stream_open(const char *path, npy_dtype dt, size_t rows, npy_stream **out, bark_error *err) {
    *out = NULL;
    npy_stream *s = calloc(1, sizeof *s);
    if (!s) return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", path);
    s->dt = dt, s->rows = rows;
    char head[NPY_HEADER_MAX];
    bark_status st = staged_file_open(&s->f, path, err);
    if (!st) st = staged_file_write(&s->f, head, stream_header(s, head), err);
    if (st) {
        staged_file_close(&s->f, 0, NULL);
        free(s);
        return st;
    }
    *out = s;
    return BARK_OK;
}

bark_status npy_stream_write(npy_stream *s, const void *v, size_t n, bark_error *err) {
    if (s->st) return bark_fail(err, s->st, "%s: an earlier write failed", s->f.path);
    const size_t per = s->rows ? s->rows : 1, lim = SIZE_MAX / 8 / per; /* what a size_t byte count holds */
    if (n > lim - s->n) return s->st = bark_fail(err, BARK_ERR_ARG, "%s: too many values", s->f.path);
    s->st = put_values(&s->f, s->dt, v, n * per, err);
    if (!s->st) s->n += n;
    return s->st;
}

bark_status npy_stream_close(npy_stream *s, int keep, bark_error *err) {
    if (!s) return BARK_OK;
    bark_status st = keep ? s->st : BARK_OK;
    if (keep && st) bark_fail(err, st, "%s: the file is incomplete", s->f.path);
    char head[NPY_HEADER_MAX];
    if (keep && !st) st = staged_file_pwrite(&s->f, head, stream_header(s, head), 0, err);
    bark_status cst = staged_file_close(&s->f, keep && !st, err);
    free(s);
    return st ? st : cst;
}
