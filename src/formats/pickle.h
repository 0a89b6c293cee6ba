/* pickle.h: a safe reader for PyTorch's zip checkpoints (torch.save): state dicts and plain containers only. */
#ifndef BARK_PICKLE_H
#define BARK_PICKLE_H

#include "formats/source.h"

typedef enum pk_kind {
    PK_NONE, PK_BOOL, PK_INT, PK_FLOAT, PK_STR, PK_BYTES,
    PK_TUPLE, PK_LIST, PK_DICT, PK_TENSOR
} pk_kind;

typedef struct pk_obj pk_obj;

/* A parsed checkpoint: the object tree of data.pkl with tensors resolved to their storages. */
typedef struct torch_file torch_file;

/* Opens a torch.save zip file (.bin, .pt, .pth, .th). Only the opcodes and globals a checkpoint of
 * tensors, numbers, strings and containers needs are accepted; anything else is refused. */
bark_status torch_open(const char *path, torch_file **out, bark_error *err);
/* The same over a torch.save archive in memory (for fuzzers and tests): buf must outlive *out; `label` is
 * the file name used in messages (copied). */
bark_status torch_open_mem(const uint8_t *buf, size_t size, const char *label, torch_file **out, bark_error *err);
void torch_close(torch_file *f);  /* accepts NULL */
const pk_obj *torch_root(const torch_file *f);

pk_kind pk_kind_of(const pk_obj *o);
int64_t pk_int(const pk_obj *o);          /* PK_INT or PK_BOOL */
double pk_float(const pk_obj *o);         /* PK_FLOAT or PK_INT */
const char *pk_str(const pk_obj *o);      /* PK_STR (NUL-terminated) */
size_t pk_len(const pk_obj *o);           /* items of a tuple/list, entries of a dict */
const pk_obj *pk_item(const pk_obj *o, size_t i);       /* tuple/list item i */
const pk_obj *pk_dict_key(const pk_obj *o, size_t i);   /* dict entry i, in insertion order */
const pk_obj *pk_dict_value(const pk_obj *o, size_t i);
const pk_obj *pk_dict_get(const pk_obj *o, const char *key); /* string keys; NULL if absent */
size_t pk_str_len(const pk_obj *o);       /* bytes of a PK_STR or PK_BYTES (which may hold NULs) */
const uint8_t *pk_bytes(const pk_obj *o); /* PK_BYTES or PK_STR contents; NULL otherwise */
/* A PK_TENSOR as a tensor description (name NULL; data in the checkpoint's mapping, valid while the
 * torch_file is open); NULL when o is not a tensor or not a contiguous view of its storage. */
const src_tensor *pk_tensor(const pk_obj *o);

/* Adds every tensor value of a dict (a state dict) to s, dropping `strip_prefix` where a name starts with it.
 * Tensor data points into f's mapping: keep f open while s is used.
 * Non-tensor values are skipped. Tensors must be contiguous views (other strides are refused). */
bark_status torch_dict_tensors(const torch_file *f, const pk_obj *dict, const char *strip_prefix, src_set *s,
                               bark_error *err);

#endif
