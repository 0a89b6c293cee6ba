/* source.h: tensors read from checkpoint files (safetensors, torch zip/pickle, npy/npz), one shape for all. */
#ifndef BARK_SOURCE_H
#define BARK_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef enum src_dtype {
    SRC_F32, SRC_F16, SRC_BF16, SRC_F64,
    SRC_I64, SRC_I32, SRC_I16, SRC_I8,
    SRC_U16, SRC_U8, SRC_BOOL
} src_dtype;

#define SRC_MAX_DIMS 8

/* One tensor, C-contiguous (row-major, PyTorch order: shape[0] is outermost). */
typedef struct src_tensor {
    char *name;                 /* NUL-terminated, owned by the set */
    src_dtype dtype;
    int n_dims;                 /* 0 for a scalar */
    int64_t shape[SRC_MAX_DIMS];
    const uint8_t *data;        /* little-endian elements; into a mapping or a buffer owned by the set */
    size_t nbytes;              /* = element size * product(shape), checked by the reader */
} src_tensor;

/* A growing collection of tensors plus the resources (mappings, buffers) their data lives in. */
typedef struct src_set {
    src_tensor *t;
    size_t n, cap;
    void **owned;               /* heap buffers freed with the set */
    size_t n_owned, cap_owned;
    struct src_map *maps;       /* file mappings unmapped with the set */
} src_set;

size_t src_dtype_size(src_dtype d);
/* Grows *arr (elements of size el, capacity *cap, doubling) to hold at least need elements; -1 on overflow
 * or allocation failure (then *arr is unchanged). */
int src_grow(void **arr, size_t *cap, size_t need, size_t el);
const char *src_dtype_name(src_dtype d);

/* 1 for the integer dtypes (i64, i32, i16, u16, i8, u8; not bool). */
int src_dtype_is_int(src_dtype d);
/* Element i of an integer tensor as int64 (little-endian hosts, like every reader here); 0 for other dtypes. */
int64_t src_int_at(const src_tensor *t, size_t i);

void src_set_init(src_set *s);
void src_set_free(src_set *s);
/* Adds a tensor (name copied); data must stay valid as long as the set (see src_set_own). */
bark_status src_set_add(src_set *s, const char *name, src_dtype dt, int n_dims, const int64_t *shape,
                        const uint8_t *data, size_t nbytes, bark_error *err);
/* Hands a malloc'd buffer to the set; it is freed with the set. */
bark_status src_set_own(src_set *s, void *buf, bark_error *err);
/* Maps a whole file read-only; the mapping lives until the set is freed. */
bark_status src_set_map_file(src_set *s, const char *path, const uint8_t **data, size_t *size, bark_error *err);
const src_tensor *src_set_find(const src_set *s, const char *name);
/* Drops the tensors added after the set held n (a failed reader undoes its partial work with it). */
void src_set_truncate(src_set *s, size_t n);
/* Bytes of a tensor of that dtype and shape; BARK_ERR_FORMAT on a negative dim or a size_t overflow. */
bark_status src_shape_bytes(src_dtype dt, int n_dims, const int64_t *shape, size_t *out);
/* Maps a whole regular file read-only (open+fstat+mmap); an empty file is BARK_ERR_FORMAT. Undo with munmap. */
bark_status src_map_file(const char *path, void **addr, size_t *size, bark_error *err);

/* Reads every tensor of a .safetensors file; each name is prefixed with `prefix` (may be ""). */
bark_status src_read_safetensors(src_set *s, const char *path, const char *prefix, bark_error *err);

/* Reads one .npy file as a tensor named `name` (Fortran order is transposed to C order). */
bark_status src_read_npy(src_set *s, const char *path, const char *name, bark_error *err);
/* Reads every array of an .npz (stored or deflated zip) as tensors "<prefix><member without .npy>". */
bark_status src_read_npz(src_set *s, const char *path, const char *prefix, bark_error *err);

/* The same readers over bytes in memory (for fuzzers and tests). buf must outlive the set; `label` is
 * the file name used in messages. */
bark_status src_parse_safetensors_mem(src_set *s, const uint8_t *buf, size_t size, const char *prefix,
                                      const char *label, bark_error *err);
bark_status src_parse_npy_mem(src_set *s, const uint8_t *buf, size_t size, const char *name, const char *label,
                              bark_error *err);
bark_status src_parse_npz_mem(src_set *s, const uint8_t *buf, size_t size, const char *prefix, const char *label,
                              bark_error *err);

#endif
