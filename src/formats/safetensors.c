/* safetensors.c: reads .safetensors files (JSON header, then raw little-endian tensors) as views. */
#include "formats/jsondoc.h"
#include "formats/source.h"

#include <stdlib.h>
#include <string.h>

#define ST_MAX_HEADER ((uint64_t)256 << 20)

typedef struct span {
    uint64_t begin, end;
    const char *name;
} span;

static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static int parse_dtype(const char *s, src_dtype *dt) {
    static const struct { const char *name; src_dtype dt; } tab[] = {
        { "F32", SRC_F32 }, { "F16", SRC_F16 }, { "BF16", SRC_BF16 }, { "F64", SRC_F64 },
        { "I64", SRC_I64 }, { "I32", SRC_I32 }, { "I16", SRC_I16 }, { "I8", SRC_I8 },
        { "U16", SRC_U16 }, { "U8", SRC_U8 }, { "BOOL", SRC_BOOL },
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (strcmp(s, tab[i].name) == 0) {
            *dt = tab[i].dt;
            return 1;
        }
    return 0;
}

/* Checks one header entry and adds its tensor. */
static bark_status add_entry(src_set *s, const char *key, const cJSON *v, const uint8_t *data, uint64_t data_size,
                             const char *prefix, const char *label, span *sp, bark_error *err) {
    const cJSON *jdt = cJSON_GetObjectItemCaseSensitive(v, "dtype");
    const cJSON *jshape = cJSON_GetObjectItemCaseSensitive(v, "shape");
    const cJSON *joff = cJSON_GetObjectItemCaseSensitive(v, "data_offsets");
    if (!cJSON_IsObject(v) || !cJSON_IsString(jdt) || !cJSON_IsArray(jshape) || !cJSON_IsArray(joff) ||
        cJSON_GetArraySize(joff) != 2)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: tensor %s: needs dtype, shape and data_offsets", label, key);
    src_dtype dt;
    if (!parse_dtype(jdt->valuestring, &dt))
        return bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: tensor %s: dtype %s is not supported", label, key,
                         jdt->valuestring);
    int n_dims = cJSON_GetArraySize(jshape);
    if (n_dims > SRC_MAX_DIMS)
        return bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: tensor %s: %d dimensions", label, key, n_dims);
    int64_t shape[SRC_MAX_DIMS];
    for (int i = 0; i < n_dims; i++)
        if (!json_int(cJSON_GetArrayItem(jshape, i), 0, INT64_MAX, &shape[i]))
            return bark_fail(err, BARK_ERR_FORMAT, "%s: tensor %s: bad shape", label, key);
    int64_t b, e;
    if (!json_int(cJSON_GetArrayItem(joff, 0), 0, INT64_MAX, &b) ||
        !json_int(cJSON_GetArrayItem(joff, 1), b, INT64_MAX, &e) || (uint64_t)e > data_size)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: tensor %s: data_offsets out of range", label, key);
    size_t nbytes;
    if (src_shape_bytes(dt, n_dims, shape, &nbytes) != BARK_OK || (uint64_t)(e - b) != nbytes)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: tensor %s: %lld data bytes do not match its shape", label, key,
                         (long long)(e - b));
    size_t plen = strlen(prefix), klen = strlen(key);
    char *name = malloc(plen + klen + 1);
    if (!name) return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", label);
    memcpy(name, prefix, plen);
    memcpy(name + plen, key, klen + 1);
    bark_status st = src_set_add(s, name, dt, n_dims, shape, data + b, nbytes, err);
    free(name);
    if (st != BARK_OK) return bark_err_prefix(err, "%s: ", label);
    sp->begin = (uint64_t)b;
    sp->end = (uint64_t)e;
    sp->name = key;
    return BARK_OK;
}

bark_status src_parse_safetensors_mem(src_set *s, const uint8_t *buf, size_t size, const char *prefix,
                                      const char *label, bark_error *err) {
    if (!prefix) prefix = "";
    if (size < 8) return bark_fail(err, BARK_ERR_FORMAT, "%s: too short for safetensors", label);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | buf[i];
    if (hlen > size - 8) return bark_fail(err, BARK_ERR_FORMAT, "%s: header length %llu past the end", label,
                                          (unsigned long long)hlen);
    if (hlen > ST_MAX_HEADER) return bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: header of %llu bytes is too large",
                                               label, (unsigned long long)hlen);
    if (hlen < 2 || buf[8] != '{') return bark_fail(err, BARK_ERR_FORMAT, "%s: not a safetensors header", label);
    cJSON *root = NULL;
    bark_status st = json_parse((const char *)buf + 8, (size_t)hlen, &root, err);
    if (st != BARK_OK) return bark_err_prefix(err, "%s: header: ", label);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return bark_fail(err, BARK_ERR_FORMAT, "%s: header is not a JSON object", label);
    }
    const uint8_t *data = buf + 8 + hlen;
    uint64_t data_size = size - 8 - hlen;
    size_t n0 = s->n, n = (size_t)cJSON_GetArraySize(root), used = 0;
    span *sp = calloc(n ? n : 1, sizeof *sp);
    if (!sp) {
        cJSON_Delete(root);
        return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", label);
    }
    for (const cJSON *v = root->child; v && st == BARK_OK; v = v->next) {
        if (strcmp(v->string, "__metadata__") == 0) continue;
        st = add_entry(s, v->string, v, data, data_size, prefix, label, &sp[used], err);
        if (st == BARK_OK) used++;
    }
    if (st == BARK_OK) {
        qsort(sp, used, sizeof *sp, cmp_span);
        for (size_t i = 1; i < used && st == BARK_OK; i++)
            if (sp[i].begin < sp[i - 1].end)
                st = bark_fail(err, BARK_ERR_FORMAT, "%s: tensors %s and %s overlap", label, sp[i - 1].name,
                               sp[i].name);
    }
    free(sp);
    cJSON_Delete(root);
    if (st != BARK_OK) src_set_truncate(s, n0);
    return st;
}

bark_status src_read_safetensors(src_set *s, const char *path, const char *prefix, bark_error *err) {
    const uint8_t *buf;
    size_t size;
    bark_status st = src_set_map_file(s, path, &buf, &size, err);
    if (st != BARK_OK) return st;
    return src_parse_safetensors_mem(s, buf, size, prefix, path, err);
}
