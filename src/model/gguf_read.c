/* gguf_read.c: a GGUF v3 parser that checks every field against the buffer before anything uses it. */
#include "model/gguf.h"

#include <stdlib.h>
#include <string.h>

#include "model/gguf_keys.h"
#include "model/quant.h"

#define MAX_KV (1u << 20)
#define MAX_TENSORS (1u << 20)
#define MAX_ALIGNMENT (1u << 16)

typedef struct cursor {
    const uint8_t *p;
    uint64_t pos, len;
    const char *label;
    bark_error *err;
} cursor;

static bark_status trunc_err(cursor *c, const char *what) {
    return bark_fail(c->err, BARK_ERR_FORMAT, "%s: truncated GGUF file: %s at byte %llu runs past the end (%llu bytes)",
                     c->label, what, (unsigned long long)c->pos, (unsigned long long)c->len);
}

static bark_status need(cursor *c, uint64_t n, const char *what) {
    return (n > c->len - c->pos) ? trunc_err(c, what) : BARK_OK;
}

static uint64_t rd(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static bark_status get(cursor *c, int n, uint64_t *v, const char *what) {
    bark_status st = need(c, (uint64_t)n, what);
    if (st) return st;
    *v = rd(c->p + c->pos, n);
    c->pos += (uint64_t)n;
    return BARK_OK;
}

static bark_status get_str(cursor *c, gguf_str *s, const char *what) {
    uint64_t n;
    bark_status st = get(c, 8, &n, what);
    if (st) return st;
    if (need(c, n, what)) return BARK_ERR_FORMAT;
    s->p = (const char *)c->p + c->pos;
    s->n = n;
    c->pos += n;
    return BARK_OK;
}

static int scalar_size(uint32_t t) {
    switch (t) {
    case GGUF_T_UINT8: case GGUF_T_INT8: case GGUF_T_BOOL: return 1;
    case GGUF_T_UINT16: case GGUF_T_INT16: return 2;
    case GGUF_T_UINT32: case GGUF_T_INT32: case GGUF_T_FLOAT32: return 4;
    case GGUF_T_UINT64: case GGUF_T_INT64: case GGUF_T_FLOAT64: return 8;
    }
    return 0;
}

static void decode_scalar(uint32_t t, const uint8_t *p, gguf_value *v) {
    int n = scalar_size(t);
    uint64_t raw = rd(p, n);
    switch (t) {
    case GGUF_T_INT8: v->v.i = (int8_t)raw; break;
    case GGUF_T_INT16: v->v.i = (int16_t)raw; break;
    case GGUF_T_INT32: v->v.i = (int32_t)raw; break;
    case GGUF_T_INT64: v->v.i = (int64_t)raw; break;
    case GGUF_T_FLOAT32: { uint32_t b = (uint32_t)raw; float f; memcpy(&f, &b, 4); v->v.f = f; break; }
    case GGUF_T_FLOAT64: { double d; memcpy(&d, &raw, 8); v->v.f = d; break; }
    default: v->v.u = raw;
    }
}

static bark_status get_value(cursor *c, uint32_t type, gguf_value *v, const char *key) {
    v->type = type;
    if (type == GGUF_T_STRING) return get_str(c, &v->v.s, key);
    if (type == GGUF_T_ARRAY) {
        uint64_t at, n;
        if (get(c, 4, &at, key) || get(c, 8, &n, key)) return BARK_ERR_FORMAT;
        if (at == GGUF_T_ARRAY || at >= GGUF_T_COUNT)
            return bark_fail(c->err, BARK_ERR_FORMAT, "%s: metadata array '%s' has element type %llu (unsupported)",
                             c->label, key, (unsigned long long)at);
        v->arr_type = (uint32_t)at;
        v->arr_n = n;
        v->arr_data = c->p + c->pos;
        if (at == GGUF_T_STRING) {
            for (uint64_t i = 0; i < n; i++) {
                gguf_str s;
                if (get_str(c, &s, key)) return BARK_ERR_FORMAT;
            }
            return BARK_OK;
        }
        uint64_t sz = (uint64_t)scalar_size((uint32_t)at);
        if (n > (c->len - c->pos) / sz) return trunc_err(c, key);
        c->pos += n * sz;
        return BARK_OK;
    }
    int sz = scalar_size(type);
    if (!sz)
        return bark_fail(c->err, BARK_ERR_FORMAT, "%s: metadata '%s' has value type %u (unknown)", c->label, key, type);
    if (need(c, (uint64_t)sz, key)) return BARK_ERR_FORMAT;
    decode_scalar(type, c->p + c->pos, v);
    c->pos += (uint64_t)sz;
    return BARK_OK;
}

static void str_to_c(gguf_str s, char *out, size_t cap) {
    size_t n = s.n < cap - 1 ? (size_t)s.n : cap - 1;
    memcpy(out, s.p, n);
    out[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)out[i] < 32) out[i] = '?';
}

static int cmp_str(gguf_str a, gguf_str b) {
    uint64_t n = a.n < b.n ? a.n : b.n;
    int r = memcmp(a.p, b.p, (size_t)n);
    return r ? r : (a.n < b.n ? -1 : a.n > b.n);
}

static int cmp_kv(const void *a, const void *b) {
    return cmp_str(((const gguf_kv *)a)->key, ((const gguf_kv *)b)->key);
}
static int cmp_ti_name(const void *a, const void *b) {
    return cmp_str((*(const gguf_tensor_info *const *)a)->name, (*(const gguf_tensor_info *const *)b)->name);
}
static int cmp_ti_off(const void *a, const void *b) {
    uint64_t x = (*(const gguf_tensor_info *const *)a)->offset, y = (*(const gguf_tensor_info *const *)b)->offset;
    return (x > y) - (x < y);
}

static bark_status check_unique_keys(const gguf_file *g, const char *label, bark_error *err) {
    if (g->n_kv < 2) return BARK_OK;
    gguf_kv *copy = malloc(sizeof *copy * g->n_kv);
    if (!copy) return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", label);
    memcpy(copy, g->kv, sizeof *copy * g->n_kv);
    qsort(copy, g->n_kv, sizeof *copy, cmp_kv);
    bark_status st = BARK_OK;
    for (uint64_t i = 1; i < g->n_kv && !st; i++)
        if (!cmp_str(copy[i - 1].key, copy[i].key)) {
            char k[80];
            str_to_c(copy[i].key, k, sizeof k);
            st = bark_fail(err, BARK_ERR_FORMAT, "%s: metadata key '%s' appears twice", label, k);
        }
    free(copy);
    return st;
}

/* Names unique; data ranges aligned, inside the data section and not overlapping. */
static bark_status check_tensor_layout(const gguf_file *g, const char *label, bark_error *err) {
    if (g->n_tensors == 0) return BARK_OK;
    const gguf_tensor_info **v = malloc(sizeof *v * g->n_tensors);
    if (!v) return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", label);
    for (uint64_t i = 0; i < g->n_tensors; i++) v[i] = &g->tensors[i];
    bark_status st = BARK_OK;
    char a[80], b[80];
    qsort(v, g->n_tensors, sizeof *v, cmp_ti_name);
    for (uint64_t i = 1; i < g->n_tensors && !st; i++)
        if (!cmp_str(v[i - 1]->name, v[i]->name)) {
            str_to_c(v[i]->name, a, sizeof a);
            st = bark_fail(err, BARK_ERR_FORMAT, "%s: tensor '%s' appears twice", label, a);
        }
    qsort(v, g->n_tensors, sizeof *v, cmp_ti_off);
    for (uint64_t i = 1; i < g->n_tensors && !st; i++)
        if (v[i - 1]->offset + v[i - 1]->nbytes > v[i]->offset) {
            str_to_c(v[i - 1]->name, a, sizeof a);
            str_to_c(v[i]->name, b, sizeof b);
            st = bark_fail(err, BARK_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap", label, a, b);
        }
    free(v);
    return st;
}

static bark_status parse_tensor_info(cursor *c, gguf_tensor_info *t) {
    uint64_t nd, type;
    char name[80];
    if (get_str(c, &t->name, "tensor name") || get(c, 4, &nd, "tensor dims")) return BARK_ERR_FORMAT;
    str_to_c(t->name, name, sizeof name);
    if (t->name.n == 0 || t->name.n > 256)
        return bark_fail(c->err, BARK_ERR_FORMAT, "%s: tensor name of %llu bytes (must be 1..256)", c->label,
                         (unsigned long long)t->name.n);
    if (nd < 1 || nd > GGUF_MAX_DIMS)
        return bark_fail(c->err, BARK_ERR_FORMAT, "%s: tensor '%s' has %llu dims (must be 1..%d)", c->label, name,
                         (unsigned long long)nd, GGUF_MAX_DIMS);
    t->n_dims = (uint32_t)nd;
    uint64_t count = 1;
    for (int d = 0; d < GGUF_MAX_DIMS; d++) {
        uint64_t ne = 1;
        if (d < (int)nd && get(c, 8, &ne, "tensor dim")) return BARK_ERR_FORMAT;
        if (ne < 1 || ne > (1ull << 40) || count > (1ull << 40) / ne)
            return bark_fail(c->err, BARK_ERR_FORMAT, "%s: tensor '%s' has an absurd dimension %llu", c->label, name,
                             (unsigned long long)ne);
        count *= ne;
        t->ne[d] = (int64_t)ne;
    }
    if (get(c, 4, &type, "tensor type") || get(c, 8, &t->offset, "tensor offset")) return BARK_ERR_FORMAT;
    t->type = (uint32_t)type;
    if (!bark_type_known(t->type))
        return bark_fail(c->err, BARK_ERR_UNSUPPORTED, "%s: tensor '%s' has type %u, which bark does not use",
                         c->label, name, t->type);
    size_t row = bark_type_row_size(t->type, t->ne[0]);
    if (row == 0)
        return bark_fail(c->err, BARK_ERR_FORMAT, "%s: tensor '%s' of type %s has a row of %lld elements", c->label,
                         name, bark_type_name(t->type), (long long)t->ne[0]);
    t->nbytes = (uint64_t)row * (count / (uint64_t)t->ne[0]);
    return BARK_OK;
}

bark_status gguf_parse(gguf_file *g, const uint8_t *buf, uint64_t len, const char *label, bark_error *err) {
    memset(g, 0, sizeof *g);
    g->buf = buf;
    g->size = len;
    cursor c = {buf, 0, len, label, err};
    uint64_t magic, version;
    if (get(&c, 4, &magic, "magic")) return BARK_ERR_FORMAT;
    if (magic != GGUF_MAGIC)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: not a GGUF file (bad magic); convert a model with `bark convert`",
                         label);
    if (get(&c, 4, &version, "version")) return BARK_ERR_FORMAT;
    if (version != GGUF_VERSION)
        return bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: GGUF version %llu (bark reads version 3)", label,
                         (unsigned long long)version);
    g->version = (uint32_t)version;
    if (get(&c, 8, &g->n_tensors, "tensor count") || get(&c, 8, &g->n_kv, "metadata count")) return BARK_ERR_FORMAT;
    /* each entry needs at least 8+4+1 (kv) or 8+4+8+4+8 (tensor) bytes: bound the counts by the file */
    if (g->n_kv > MAX_KV || g->n_kv > len / 13 || g->n_tensors > MAX_TENSORS || g->n_tensors > len / 32)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: absurd counts (%llu tensors, %llu metadata entries) for a %llu-byte file",
                         label, (unsigned long long)g->n_tensors, (unsigned long long)g->n_kv, (unsigned long long)len);
    g->kv = calloc(g->n_kv ? g->n_kv : 1, sizeof *g->kv);
    g->tensors = calloc(g->n_tensors ? g->n_tensors : 1, sizeof *g->tensors);
    if (!g->kv || !g->tensors) {
        gguf_release(g);
        return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", label);
    }
    bark_status st = BARK_OK;
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    for (uint64_t i = 0; i < g->n_kv && !st; i++) {
        gguf_kv *kv = &g->kv[i];
        uint64_t type;
        char key[80];
        if ((st = get_str(&c, &kv->key, "metadata key")) || (st = get(&c, 4, &type, "metadata type"))) break;
        str_to_c(kv->key, key, sizeof key);
        if ((st = get_value(&c, (uint32_t)type, &kv->val, key))) break;
        if (gguf_str_eq(kv->key, KEY_ALIGNMENT)) {
            if (kv->val.type != GGUF_T_UINT32 || kv->val.v.u == 0 || kv->val.v.u > MAX_ALIGNMENT ||
                (kv->val.v.u & (kv->val.v.u - 1)))
                st = bark_fail(err, BARK_ERR_FORMAT, "%s: " KEY_ALIGNMENT " must be a u32 power of two up to %u",
                               label, MAX_ALIGNMENT);
            else
                g->alignment = (uint32_t)kv->val.v.u;
        }
    }
    for (uint64_t i = 0; i < g->n_tensors && !st; i++) st = parse_tensor_info(&c, &g->tensors[i]);
    if (!st) st = check_unique_keys(g, label, err);
    if (!st) {
        uint64_t a = g->alignment;
        g->data_offset = (c.pos + a - 1) / a * a;
        if (g->data_offset > len && g->n_tensors)
            st = bark_fail(err, BARK_ERR_FORMAT, "%s: truncated GGUF file: no tensor data after the header", label);
    }
    for (uint64_t i = 0; i < g->n_tensors && !st; i++) {
        gguf_tensor_info *t = &g->tensors[i];
        uint64_t room = len - g->data_offset;
        char name[80];
        str_to_c(t->name, name, sizeof name);
        if (t->offset % g->alignment)
            st = bark_fail(err, BARK_ERR_FORMAT, "%s: tensor '%s' offset %llu is not aligned to %u", label, name,
                           (unsigned long long)t->offset, g->alignment);
        else if (t->offset > room || t->nbytes > room - t->offset)
            st = bark_fail(err, BARK_ERR_FORMAT, "%s: tensor '%s' (%llu bytes at offset %llu) runs past the end of the file; "
                           "the file is truncated or corrupt", label, name, (unsigned long long)t->nbytes,
                           (unsigned long long)t->offset);
        else
            t->data = buf + g->data_offset + t->offset;
    }
    if (!st) st = check_tensor_layout(g, label, err);
    if (st) gguf_release(g);
    return st;
}

void gguf_release(gguf_file *g) {
    if (!g) return;
    free(g->kv);
    free(g->tensors);
    g->kv = NULL;
    g->tensors = NULL;
    g->n_kv = g->n_tensors = 0;
}

int gguf_str_eq(gguf_str s, const char *c) {
    size_t n = strlen(c);
    return s.n == n && memcmp(s.p, c, n) == 0;
}

const gguf_kv *gguf_find_kv(const gguf_file *g, const char *key) {
    for (uint64_t i = 0; i < g->n_kv; i++)
        if (gguf_str_eq(g->kv[i].key, key)) return &g->kv[i];
    return NULL;
}

gguf_str gguf_str_next(const uint8_t **p) {
    gguf_str s;
    s.n = rd(*p, 8);
    s.p = (const char *)*p + 8;
    *p += 8 + s.n;
    return s;
}

int64_t gguf_arr_int(const gguf_value *v, uint64_t i) {
    int sz = scalar_size(v->arr_type);
    gguf_value e;
    memset(&e, 0, sizeof e);
    if (!sz || i >= v->arr_n || v->arr_type == GGUF_T_FLOAT32 || v->arr_type == GGUF_T_FLOAT64) return 0;
    decode_scalar(v->arr_type, v->arr_data + i * (uint64_t)sz, &e);
    switch (v->arr_type) {
    case GGUF_T_INT8: case GGUF_T_INT16: case GGUF_T_INT32: case GGUF_T_INT64: return e.v.i;
    }
    return (int64_t)e.v.u;
}
