/* codes_npy.c: integer code arrays in and out of .npy files (bark_codes_load_npy, bark_codes_save_npy). */
#include <stdlib.h>

#include "core/error.h"
#include "formats/npy_write.h"
#include "formats/source.h"

void bark_free(void *p) { free(p); }

bark_status bark_codes_load_npy(const char *path, int32_t **codes, size_t *rows, size_t *cols, bark_error *err) {
    *codes = NULL;
    *rows = *cols = 0;
    src_set set;
    src_set_init(&set);
    bark_status st = src_read_npy(&set, path, "codes", err);
    const src_tensor *t = st ? NULL : src_set_find(&set, "codes");
    if (!st && (!t || t->n_dims < 1 || t->n_dims > 2))
        st = bark_fail(err, BARK_ERR_FORMAT, "%s: expected codes in a 1-D or 2-D array, not %d-D", path,
                       t ? t->n_dims : 0);
    if (!st && !src_dtype_is_int(t->dtype))
        st = bark_fail(err, BARK_ERR_FORMAT, "%s: codes must be integers, not %s", path, src_dtype_name(t->dtype));
    const size_t r = st ? 0 : t->n_dims == 2 ? (size_t)t->shape[0] : 0, c = st ? 0 : (size_t)t->shape[t->n_dims - 1];
    const size_t n = (r ? r : 1) * c; /* the reader checked the bytes of the shape fit in memory */
    int32_t *v = st ? NULL : malloc((n ? n : 1) * sizeof *v);
    if (!st && !v) st = bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory for %zu codes", path, n);
    for (size_t i = 0; !st && i < n; i++) {
        const int64_t x = src_int_at(t, i);
        if (x < INT32_MIN || x > INT32_MAX)
            st = bark_fail(err, BARK_ERR_FORMAT, "%s: code %lld at row %zu column %zu does not fit in 32 bits", path,
                           (long long)x, r ? i / c : 0, r ? i % c : i);
        else
            v[i] = (int32_t)x;
    }
    src_set_free(&set);
    if (st) {
        free(v);
        return st;
    }
    *codes = v;
    *rows = r;
    *cols = c;
    return BARK_OK;
}

bark_status bark_codes_save_npy(const char *path, const int32_t *codes, size_t rows, size_t cols, bark_error *err) {
    const size_t shape[2] = {rows ? rows : cols, cols};
    return npy_save(path, NPY_I4, shape, rows ? 2 : 1, codes, err);
}

#define CODES_BLOCK 1024 /* values transposed per write */

struct bark_codes_writer {
    npy_stream *s;
    size_t rows;
    int32_t cols[CODES_BLOCK];
};

bark_status bark_codes_writer_open(const char *path, size_t rows, bark_codes_writer **out, bark_error *err) {
    *out = NULL;
    if (rows < 1 || rows > CODES_BLOCK)
        return bark_fail(err, BARK_ERR_ARG, "%s: %zu rows of codes (1..%d)", path, rows, CODES_BLOCK);
    bark_codes_writer *w = calloc(1, sizeof *w);
    if (!w) return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", path);
    w->rows = rows;
    bark_status st = npy_stream_open(path, NPY_I4, rows, &w->s, err);
    if (st) {
        free(w);
        return st;
    }
    *out = w;
    return BARK_OK;
}

bark_status bark_codes_writer_write(bark_codes_writer *w, const int32_t *codes, size_t ld, size_t n_frames,
                                    bark_error *err) {
    const size_t per = CODES_BLOCK / w->rows; /* frames (columns) per block */
    for (size_t done = 0; done < n_frames;) {
        const size_t k = n_frames - done < per ? n_frames - done : per;
        for (size_t j = 0; j < k; j++)
            for (size_t q = 0; q < w->rows; q++) w->cols[j * w->rows + q] = codes[q * ld + done + j];
        bark_status st = npy_stream_write(w->s, w->cols, k, err);
        if (st) return st;
        done += k;
    }
    return BARK_OK;
}

bark_status bark_codes_writer_close(bark_codes_writer *w, int keep, bark_error *err) {
    if (!w) return BARK_OK;
    bark_status st = npy_stream_close(w->s, keep, err);
    free(w);
    return st;
}
