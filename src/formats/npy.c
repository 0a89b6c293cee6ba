/* npy.c: reads NumPy .npy arrays (v1-v3 headers, plain numeric dtypes) and .npz archives of them. */
#include "formats/source.h"
#include "formats/zip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPY_MAX_HEADER 65536

typedef struct npy_header {
    char descr[16];
    int have_descr, have_order, have_shape;
    int fortran;
    int n_dims;
    int64_t shape[SRC_MAX_DIMS];
} npy_header;

typedef struct lit {
    const char *p, *end;
} lit;

static void lit_ws(lit *l) {
    while (l->p < l->end && (*l->p == ' ' || *l->p == '\t' || *l->p == '\n' || *l->p == '\r')) l->p++;
}

static int lit_eat(lit *l, char c) {
    lit_ws(l);
    if (l->p < l->end && *l->p == c) {
        l->p++;
        return 1;
    }
    return 0;
}

/* A quoted Python string without escapes, copied into out (size cap). */
static int lit_string(lit *l, char *out, size_t cap) {
    lit_ws(l);
    if (l->p >= l->end || (*l->p != '\'' && *l->p != '"')) return 0;
    char q = *l->p++;
    size_t n = 0;
    while (l->p < l->end && *l->p != q) {
        if (*l->p == '\\' || n + 1 >= cap) return 0;
        out[n++] = *l->p++;
    }
    if (l->p >= l->end) return 0;
    l->p++;
    out[n] = '\0';
    return 1;
}

static int lit_word(lit *l, const char *w) {
    lit_ws(l);
    size_t n = strlen(w);
    if ((size_t)(l->end - l->p) < n || memcmp(l->p, w, n) != 0) return 0;
    l->p += n;
    return 1;
}

/* The shape tuple: "()", "(5,)", "(2, 3)"; Python 2 "L" suffixes allowed. */
static int lit_shape(lit *l, npy_header *h) {
    if (!lit_eat(l, '(')) return 0;
    h->n_dims = 0;
    for (;;) {
        if (lit_eat(l, ')')) return 1;
        lit_ws(l);
        if (l->p >= l->end || *l->p < '0' || *l->p > '9') return 0;
        uint64_t v = 0;
        while (l->p < l->end && *l->p >= '0' && *l->p <= '9') {
            uint64_t d = (uint64_t)(*l->p++ - '0');
            if (v > ((uint64_t)INT64_MAX - d) / 10) return 0;
            v = v * 10 + d;
        }
        if (l->p < l->end && *l->p == 'L') l->p++;
        if (h->n_dims == SRC_MAX_DIMS) return 0;
        h->shape[h->n_dims++] = (int64_t)v;
        if (lit_eat(l, ',')) continue;
        if (lit_eat(l, ')')) return 1;
        return 0;
    }
}

static bark_status parse_header(const char *text, size_t len, npy_header *h, const char *label, bark_error *err) {
    lit l = { text, text + len };
    memset(h, 0, sizeof *h);
    if (len == 0 || text[len - 1] != '\n') return bark_fail(err, BARK_ERR_FORMAT, "%s: npy header does not end with a newline", label);
    if (!lit_eat(&l, '{')) return bark_fail(err, BARK_ERR_FORMAT, "%s: npy header is not a dict", label);
    for (;;) {
        if (lit_eat(&l, '}')) break;
        char key[32];
        if (!lit_string(&l, key, sizeof key) || !lit_eat(&l, ':'))
            return bark_fail(err, BARK_ERR_FORMAT, "%s: bad npy header", label);
        if (strcmp(key, "descr") == 0 && !h->have_descr) {
            lit_ws(&l);
            if (l.p < l.end && *l.p == '[')
                return bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: structured npy dtypes are not supported", label);
            if (!lit_string(&l, h->descr, sizeof h->descr))
                return bark_fail(err, BARK_ERR_FORMAT, "%s: bad npy descr", label);
            h->have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0 && !h->have_order) {
            if (lit_word(&l, "True")) h->fortran = 1;
            else if (!lit_word(&l, "False")) return bark_fail(err, BARK_ERR_FORMAT, "%s: bad npy fortran_order", label);
            h->have_order = 1;
        } else if (strcmp(key, "shape") == 0 && !h->have_shape) {
            if (!lit_shape(&l, h))
                return bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: bad or too large npy shape", label);
            h->have_shape = 1;
        } else {
            return bark_fail(err, BARK_ERR_FORMAT, "%s: unexpected npy header key '%s'", label, key);
        }
        if (lit_eat(&l, ',')) continue;
        if (lit_eat(&l, '}')) break;
        return bark_fail(err, BARK_ERR_FORMAT, "%s: bad npy header", label);
    }
    lit_ws(&l);
    if (l.p != l.end || !h->have_descr || !h->have_order || !h->have_shape)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: incomplete npy header", label);
    return BARK_OK;
}

static bark_status parse_descr(const char *d, src_dtype *dt, const char *label, bark_error *err) {
    static const struct { const char *code; src_dtype dt; } tab[] = {
        { "i8", SRC_I64 }, { "i4", SRC_I32 }, { "i2", SRC_I16 }, { "i1", SRC_I8 }, { "u2", SRC_U16 },
        { "u1", SRC_U8 }, { "f4", SRC_F32 }, { "f8", SRC_F64 }, { "f2", SRC_F16 }, { "b1", SRC_BOOL },
    };
    char order = d[0];
    if (order == '>') return bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: big-endian npy data (%s) is not supported", label, d);
    if (order != '<' && order != '|' && order != '=')
        return bark_fail(err, BARK_ERR_FORMAT, "%s: bad npy descr '%s'", label, d);
    if (d[1] == 'O') return bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: npy object arrays are not supported", label);
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (strcmp(d + 1, tab[i].code) == 0) {
            /* '|' (no byte order) only makes sense for one-byte elements. */
            if (order == '|' && src_dtype_size(tab[i].dt) != 1) break;
            *dt = tab[i].dt;
            return BARK_OK;
        }
    return bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: npy dtype '%s' is not supported", label, d);
}

/* Copies Fortran-order (first index fastest) elements into C order. */
static void fortran_to_c(uint8_t *dst, const uint8_t *src, int n_dims, const int64_t *shape, size_t el, size_t count) {
    size_t cstride[SRC_MAX_DIMS], idx[SRC_MAX_DIMS] = { 0 };
    size_t acc = 1;
    for (int k = n_dims - 1; k >= 0; k--) {
        cstride[k] = acc;
        acc *= (size_t)shape[k];
    }
    for (size_t f = 0; f < count; f++) {
        size_t c = 0;
        for (int k = 0; k < n_dims; k++) c += idx[k] * cstride[k];
        memcpy(dst + c * el, src + f * el, el);
        for (int k = 0; k < n_dims; k++) {
            if (++idx[k] < (size_t)shape[k]) break;
            idx[k] = 0;
        }
    }
}

bark_status src_parse_npy_mem(src_set *s, const uint8_t *buf, size_t size, const char *name, const char *label,
                              bark_error *err) {
    if (size < 10 || memcmp(buf, "\x93NUMPY", 6) != 0)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: not an npy file (bad magic)", label);
    unsigned major = buf[6];
    size_t hlen, hstart;
    if (major == 1) {
        hlen = (size_t)buf[8] | ((size_t)buf[9] << 8);
        hstart = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12) return bark_fail(err, BARK_ERR_FORMAT, "%s: truncated npy header", label);
        uint32_t v = (uint32_t)buf[8] | ((uint32_t)buf[9] << 8) | ((uint32_t)buf[10] << 16) | ((uint32_t)buf[11] << 24);
        if (v > NPY_MAX_HEADER) return bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: npy header too large", label);
        hlen = v;
        hstart = 12;
    } else {
        return bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: npy version %u is not supported", label, major);
    }
    if (hlen > size - hstart) return bark_fail(err, BARK_ERR_FORMAT, "%s: npy header past the end", label);
    npy_header h;
    bark_status st = parse_header((const char *)buf + hstart, hlen, &h, label, err);
    if (st != BARK_OK) return st;
    src_dtype dt = SRC_F32;
    if ((st = parse_descr(h.descr, &dt, label, err)) != BARK_OK) return st;
    size_t nbytes, have = size - hstart - hlen;
    if (src_shape_bytes(dt, h.n_dims, h.shape, &nbytes) != BARK_OK || nbytes != have)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: npy data is %zu bytes, its shape needs another size", label, have);
    const uint8_t *data = buf + hstart + hlen;
    if (h.fortran && h.n_dims > 1 && nbytes > 0) {
        uint8_t *c = malloc(nbytes);
        if (!c) return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", label);
        size_t el = src_dtype_size(dt);
        fortran_to_c(c, data, h.n_dims, h.shape, el, nbytes / el);
        if ((st = src_set_own(s, c, err)) != BARK_OK) return bark_err_prefix(err, "%s: ", label);
        data = c;
    }
    st = src_set_add(s, name, dt, h.n_dims, h.shape, data, nbytes, err);
    return st == BARK_OK ? st : bark_err_prefix(err, "%s: ", label);
}

bark_status src_read_npy(src_set *s, const char *path, const char *name, bark_error *err) {
    const uint8_t *buf;
    size_t size;
    bark_status st = src_set_map_file(s, path, &buf, &size, err);
    if (st != BARK_OK) return st;
    return src_parse_npy_mem(s, buf, size, name, path, err);
}

bark_status src_parse_npz_mem(src_set *s, const uint8_t *buf, size_t size, const char *prefix, const char *label,
                              bark_error *err) {
    if (!prefix) prefix = "";
    zip_archive z;
    bark_status st = zip_open_mem(&z, buf, size, label, err);
    if (st != BARK_OK) return st;
    size_t n0 = s->n;
    for (size_t i = 0; i < z.n && st == BARK_OK; i++) {
        const zip_entry *e = &z.e[i];
        size_t nlen = strlen(e->name), plen = strlen(prefix);
        if (nlen <= 4 || strcmp(e->name + nlen - 4, ".npy") != 0) {
            st = bark_fail(err, BARK_ERR_FORMAT, "%s: npz member %s is not an .npy file", label, e->name);
            break;
        }
        const uint8_t *data;
        size_t dsize;
        void *owned;
        if ((st = zip_read(&z, e, &data, &dsize, &owned, err)) != BARK_OK) break;
        if ((st = src_set_own(s, owned, err)) != BARK_OK) {
            bark_err_prefix(err, "%s: ", label);
            break;
        }
        char *name = malloc(plen + nlen - 4 + 1), *where = malloc(strlen(label) + nlen + 2);
        if (!name || !where) {
            free(name);
            free(where);
            st = bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", label);
            break;
        }
        memcpy(name, prefix, plen);
        memcpy(name + plen, e->name, nlen - 4);
        name[plen + nlen - 4] = '\0';
        sprintf(where, "%s:%s", label, e->name);
        st = src_parse_npy_mem(s, data, dsize, name, where, err);
        free(name);
        free(where);
    }
    zip_close(&z);
    if (st != BARK_OK) src_set_truncate(s, n0);
    return st;
}

bark_status src_read_npz(src_set *s, const char *path, const char *prefix, bark_error *err) {
    const uint8_t *buf;
    size_t size;
    bark_status st = src_set_map_file(s, path, &buf, &size, err);
    if (st != BARK_OK) return st;
    return src_parse_npz_mem(s, buf, size, prefix, path, err);
}
