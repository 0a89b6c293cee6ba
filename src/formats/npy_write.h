/* npy_write.h: writing NumPy files: .npy arrays (whole, or grown frame by frame) and .npz archives of them. */
#ifndef BARK_NPY_WRITE_H
#define BARK_NPY_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "bark.h"

/* The element types bark writes; values come from int32_t (NPY_I4, NPY_I8) or float (NPY_F4) arrays. */
typedef enum npy_dtype {
    NPY_I4, /* "<i4" */
    NPY_I8, /* "<i8" (Suno's semantic and coarse prompts) */
    NPY_F4  /* "<f4" */
} npy_dtype;

#define NPY_HEADER_MAX 256

/* The NPY v1.0 header of an array with n_dims (1 or 2) dimensions into out[NPY_HEADER_MAX], padded with spaces
 * so the data starts at a multiple of 64 bytes and at least at byte min_len; returns its length. */
size_t npy_header(char *out, npy_dtype dt, int fortran, const size_t *shape, int n_dims, size_t min_len);

/* Bytes of one element, and n values of v (int32_t or float as dt says) as little-endian elements into out. */
size_t npy_dtype_size(npy_dtype dt);
void npy_encode(uint8_t *out, npy_dtype dt, const void *v, size_t n);

/* A whole C-order array, written through a temporary name (a failure leaves nothing). */
BARK_NODISCARD bark_status npy_save(const char *path, npy_dtype dt, const size_t *shape, int n_dims, const void *data,
                                    bark_error *err);

/* A .npy that grows, in bounded memory: rows = 0 is a 1-D array appended value by value; rows > 0 is an array
 * [rows][cols] appended column by column (v[j * rows + q] is row q of column j), stored in Fortran order so that
 * numpy.load gives [rows][cols]. The final shape is written at the close. */
typedef struct npy_stream npy_stream;

BARK_NODISCARD bark_status npy_stream_open(const char *path, npy_dtype dt, size_t rows, npy_stream **out,
                                           bark_error *err);
/* Appends n values (rows = 0) or n columns. */
BARK_NODISCARD bark_status npy_stream_write(npy_stream *s, const void *v, size_t n, bark_error *err);
/* keep = 1 finishes the file under its name; keep = 0, or a failure, removes it. Frees s (NULL accepted). */
BARK_NODISCARD bark_status npy_stream_close(npy_stream *s, int keep, bark_error *err);

/* One array of an .npz: stored as "<name>.npy", C order, n_dims 1 or 2. */
typedef struct npz_member {
    const char *name;
    npy_dtype dt;
    int n_dims;
    size_t shape[2];
    const void *data;
} npz_member;

/* An uncompressed .npz (zip, method 0) of n (<= 16) arrays of 1 GiB in all at most, through a temporary name. */
BARK_NODISCARD bark_status npz_save(const char *path, const npz_member *m, size_t n, bark_error *err);

#endif
