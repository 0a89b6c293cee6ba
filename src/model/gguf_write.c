/* gguf_write.c: builds a GGUF v3 file in memory and writes it atomically (temporary file, then rename). */
#include "model/gguf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/quant.h"

typedef struct wkv {
    char *key;
    uint32_t type, arr_type;
    uint8_t *payload; /* encoded value bytes (after the type field) */
    size_t n;
} wkv;

typedef struct wtensor {
    char *name;
    uint32_t type;
    int n_dims;
    int64_t ne[GGUF_MAX_DIMS];
    void *data;
    size_t nbytes;
} wtensor;

struct gguf_writer {
    wkv *kv;
    size_t n_kv, cap_kv;
    wtensor *t;
    size_t n_t, cap_t;
};

gguf_writer *gguf_writer_new(void) { return calloc(1, sizeof(gguf_writer)); }

void gguf_writer_free(gguf_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kv[i].key);
        free(w->kv[i].payload);
    }
    for (size_t i = 0; i < w->n_t; i++) {
        free(w->t[i].name);
        free(w->t[i].data);
    }
    free(w->kv);
    free(w->t);
    free(w);
}

static void put_le(uint8_t *p, uint64_t v, int n) {
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static bark_status add_kv(gguf_writer *w, const char *key, uint32_t type, uint8_t *payload, size_t n) {
    if (w->n_kv == w->cap_kv) {
        size_t cap = w->cap_kv ? w->cap_kv * 2 : 32;
        wkv *k = realloc(w->kv, cap * sizeof *k);
        if (!k) { free(payload); return BARK_ERR_NOMEM; }
        w->kv = k;
        w->cap_kv = cap;
    }
    char *kc = strdup(key);
    if (!kc) { free(payload); return BARK_ERR_NOMEM; }
    w->kv[w->n_kv++] = (wkv){kc, type, 0, payload, n};
    return BARK_OK;
}

static bark_status set_scalar(gguf_writer *w, const char *key, uint32_t type, uint64_t bits, int n) {
    uint8_t *p = malloc((size_t)n);
    if (!p) return BARK_ERR_NOMEM;
    put_le(p, bits, n);
    return add_kv(w, key, type, p, (size_t)n);
}

bark_status gguf_set_u32(gguf_writer *w, const char *key, uint32_t v) { return set_scalar(w, key, GGUF_T_UINT32, v, 4); }
bark_status gguf_set_bool(gguf_writer *w, const char *key, int v) { return set_scalar(w, key, GGUF_T_BOOL, v != 0, 1); }

bark_status gguf_set_f32(gguf_writer *w, const char *key, float v) {
    uint32_t b;
    memcpy(&b, &v, 4);
    return set_scalar(w, key, GGUF_T_FLOAT32, b, 4);
}

bark_status gguf_set_str(gguf_writer *w, const char *key, const char *v) {
    size_t n = strlen(v);
    uint8_t *p = malloc(8 + n);
    if (!p) return BARK_ERR_NOMEM;
    put_le(p, n, 8);
    memcpy(p + 8, v, n);
    return add_kv(w, key, GGUF_T_STRING, p, 8 + n);
}

bark_status gguf_set_u32_array(gguf_writer *w, const char *key, const uint32_t *v, size_t n) {
    uint8_t *p = malloc(12 + 4 * n);
    if (!p) return BARK_ERR_NOMEM;
    put_le(p, GGUF_T_UINT32, 4);
    put_le(p + 4, n, 8);
    for (size_t i = 0; i < n; i++) put_le(p + 12 + 4 * i, v[i], 4);
    return add_kv(w, key, GGUF_T_ARRAY, p, 12 + 4 * n);
}

bark_status gguf_set_str_array(gguf_writer *w, const char *key, const char *const *strs, const size_t *lens,
                               size_t n) {
    size_t total = 12;
    for (size_t i = 0; i < n; i++) total += 8 + lens[i];
    uint8_t *p = malloc(total), *q;
    if (!p) return BARK_ERR_NOMEM;
    put_le(p, GGUF_T_STRING, 4);
    put_le(p + 4, n, 8);
    q = p + 12;
    for (size_t i = 0; i < n; i++) {
        put_le(q, lens[i], 8);
        memcpy(q + 8, strs[i], lens[i]);
        q += 8 + lens[i];
    }
    return add_kv(w, key, GGUF_T_ARRAY, p, total);
}

int gguf_writer_has_tensor(const gguf_writer *w, const char *name) {
    for (size_t i = 0; i < w->n_t; i++)
        if (!strcmp(w->t[i].name, name)) return 1;
    return 0;
}

bark_status gguf_add_tensor(gguf_writer *w, const char *name, uint32_t type, int n_dims, const int64_t *ne,
                            const void *data, size_t nbytes) {
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS) return BARK_ERR_ARG;
    if (w->n_t == w->cap_t) {
        size_t cap = w->cap_t ? w->cap_t * 2 : 256;
        wtensor *t = realloc(w->t, cap * sizeof *t);
        if (!t) return BARK_ERR_NOMEM;
        w->t = t;
        w->cap_t = cap;
    }
    wtensor t = {strdup(name), type, n_dims, {1, 1, 1, 1}, malloc(nbytes ? nbytes : 1), nbytes};
    if (!t.name || !t.data) {
        free(t.name);
        free(t.data);
        return BARK_ERR_NOMEM;
    }
    for (int d = 0; d < n_dims; d++) t.ne[d] = ne[d];
    memcpy(t.data, data, nbytes);
    w->t[w->n_t++] = t;
    return BARK_OK;
}

static size_t pad_to(size_t x, size_t a) { return (x + a - 1) / a * a; }

static int write_all(FILE *f, const void *p, size_t n) { return fwrite(p, 1, n, f) == n; }

static int write_u(FILE *f, uint64_t v, int n) {
    uint8_t b[8];
    put_le(b, v, n);
    return write_all(f, b, (size_t)n);
}

static int write_body(const gguf_writer *w, FILE *f) {
    const size_t align = GGUF_DEFAULT_ALIGNMENT;
    static const uint8_t zeros[GGUF_DEFAULT_ALIGNMENT];
    int ok = write_u(f, GGUF_MAGIC, 4) && write_u(f, GGUF_VERSION, 4) && write_u(f, w->n_t, 8) &&
             write_u(f, w->n_kv, 8);
    size_t pos = 24;
    /* general.* first, then the others in the order they were set (gguf-py and llama.cpp lead with general.*) */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; ok && i < w->n_kv; i++) {
            size_t kn = strlen(w->kv[i].key);
            if ((strncmp(w->kv[i].key, "general.", 8) == 0) != (pass == 0)) continue;
            ok = write_u(f, kn, 8) && write_all(f, w->kv[i].key, kn) && write_u(f, w->kv[i].type, 4) &&
                 write_all(f, w->kv[i].payload, w->kv[i].n);
            pos += 12 + kn + w->kv[i].n;
        }
    size_t off = 0;
    for (size_t i = 0; ok && i < w->n_t; i++) {
        const wtensor *t = &w->t[i];
        size_t nn = strlen(t->name);
        ok = write_u(f, nn, 8) && write_all(f, t->name, nn) && write_u(f, (uint64_t)t->n_dims, 4);
        for (int d = 0; ok && d < t->n_dims; d++) ok = write_u(f, (uint64_t)t->ne[d], 8);
        ok = ok && write_u(f, t->type, 4) && write_u(f, off, 8);
        pos += 8 + nn + 4 + 8 * (size_t)t->n_dims + 12;
        off = pad_to(off + t->nbytes, align);
    }
    ok = ok && write_all(f, zeros, pad_to(pos, align) - pos);
    for (size_t i = 0; ok && i < w->n_t; i++) {
        ok = write_all(f, w->t[i].data, w->t[i].nbytes);
        ok = ok && write_all(f, zeros, pad_to(w->t[i].nbytes, align) - w->t[i].nbytes);
    }
    return ok;
}

bark_status gguf_write_file(const gguf_writer *w, const char *path, bark_error *err) {
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    if (!tmp) return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", path);
    snprintf(tmp, n + 16, "%s.tmp%ld", path, (long)getpid() % 100000);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        bark_status st = bark_fail(err, BARK_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return st;
    }
    int ok = write_body(w, f);
    int saved = errno;
    ok = (fflush(f) == 0) && ok;
    if (!ok) saved = errno;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        if (ok) saved = errno;
        remove(tmp);
        free(tmp);
        return bark_fail(err, BARK_ERR_IO, "%s: write failed: %s (nothing was written)", path, strerror(saved));
    }
    free(tmp);
    return BARK_OK;
}
