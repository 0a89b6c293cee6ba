/* gguf.h: GGUF v3 files: a validating parser over a memory buffer, and a writer. */
#ifndef BARK_GGUF_H
#define BARK_GGUF_H

#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

#define GGUF_MAGIC 0x46554747u /* "GGUF" little-endian */
#define GGUF_VERSION 3
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_DIMS 4

typedef enum gguf_vtype {
    GGUF_T_UINT8 = 0, GGUF_T_INT8 = 1, GGUF_T_UINT16 = 2, GGUF_T_INT16 = 3,
    GGUF_T_UINT32 = 4, GGUF_T_INT32 = 5, GGUF_T_FLOAT32 = 6, GGUF_T_BOOL = 7,
    GGUF_T_STRING = 8, GGUF_T_ARRAY = 9, GGUF_T_UINT64 = 10, GGUF_T_INT64 = 11,
    GGUF_T_FLOAT64 = 12, GGUF_T_COUNT
} gguf_vtype;

/* A string inside the buffer (not NUL-terminated). */
typedef struct gguf_str {
    const char *p;
    uint64_t n;
} gguf_str;

typedef struct gguf_value {
    uint32_t type;
    union {
        uint64_t u; /* unsigned integers and bool */
        int64_t i;  /* signed integers */
        double f;   /* float32 and float64 */
        gguf_str s;
    } v;
    /* arrays: element type, count and the first element's bytes (strings: validated, walk them
     * with gguf_str_next) */
    uint32_t arr_type;
    uint64_t arr_n;
    const uint8_t *arr_data;
} gguf_value;

typedef struct gguf_kv {
    gguf_str key;
    gguf_value val;
} gguf_kv;

typedef struct gguf_tensor_info {
    gguf_str name;
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS]; /* unused dims are 1 */
    uint32_t type;
    uint64_t offset;           /* from the start of the data section */
    uint64_t nbytes;
    const void *data;
} gguf_tensor_info;

typedef struct gguf_file {
    const uint8_t *buf;
    uint64_t size;
    uint32_t version, alignment;
    uint64_t n_kv, n_tensors, data_offset;
    gguf_kv *kv;
    gguf_tensor_info *tensors;
} gguf_file;

/* Parses and validates the whole header of buf[0..len): counts, every string and array length,
 * value types, duplicate keys and names, dims, tensor types, offsets (aligned, inside the file,
 * not overlapping). `label` names the file in messages. */
bark_status gguf_parse(gguf_file *g, const uint8_t *buf, uint64_t len, const char *label, bark_error *err);
void gguf_release(gguf_file *g);

const gguf_kv *gguf_find_kv(const gguf_file *g, const char *key);
int gguf_str_eq(gguf_str s, const char *c);
/* Walks an already validated string array: *p starts at arr_data. */
gguf_str gguf_str_next(const uint8_t **p);
int64_t gguf_arr_int(const gguf_value *v, uint64_t i); /* element i of an integer array */

/* ---- writer ---- */

typedef struct gguf_writer gguf_writer;

gguf_writer *gguf_writer_new(void);
void gguf_writer_free(gguf_writer *w);
/* Metadata (keys copied). Each returns BARK_ERR_NOMEM on allocation failure. */
bark_status gguf_set_u32(gguf_writer *w, const char *key, uint32_t v);
bark_status gguf_set_f32(gguf_writer *w, const char *key, float v);
bark_status gguf_set_bool(gguf_writer *w, const char *key, int v);
bark_status gguf_set_str(gguf_writer *w, const char *key, const char *v);
bark_status gguf_set_u32_array(gguf_writer *w, const char *key, const uint32_t *v, size_t n);
/* n strings, each strs[i] of lens[i] bytes */
bark_status gguf_set_str_array(gguf_writer *w, const char *key, const char *const *strs, const size_t *lens,
                               size_t n);
/* Adds a tensor; data (nbytes, matching type and ne) is copied into the writer. */
bark_status gguf_add_tensor(gguf_writer *w, const char *name, uint32_t type, int n_dims, const int64_t *ne,
                            const void *data, size_t nbytes);
int gguf_writer_has_tensor(const gguf_writer *w, const char *name);
/* Writes the file to path through a temporary file renamed at the end: on failure nothing is left. */
bark_status gguf_write_file(const gguf_writer *w, const char *path, bark_error *err);

#endif
