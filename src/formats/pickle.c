/* pickle.c: a restricted unpickler for torch.save zip checkpoints (tensors, numbers, strings, containers). */
#include "formats/pickle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "formats/zip.h"

#define PK_MAX_STACK (1u << 20)
#define PK_MAX_MARKS 4096u
#define PK_BLOCK 512

/* Kinds that exist only while unpickling; pk_kind_of reports them as PK_NONE. */
enum { PKX_GLOBAL = 100, PKX_STORAGE };

enum { G_ODICT, G_REBUILD_TENSOR, G_REBUILD_PARAM, G_STORAGE };

typedef struct pk_storage {
    src_dtype dt;
    const uint8_t *data;
    size_t numel;
} pk_storage;

typedef struct pk_tensor_rec {
    src_tensor t;
    int contiguous;
} pk_tensor_rec;

struct pk_obj {
    uint8_t kind;
    uint8_t frozen;   /* lists/dicts: already placed inside another object, so no longer modified */
    uint8_t gid;      /* PKX_GLOBAL: which global */
    uint8_t gdt;      /* PKX_GLOBAL of a storage type: its src_dtype */
    union {
        int64_t i;
        double f;
        struct { char *s; size_t len; } str;                   /* PK_STR, PK_BYTES */
        struct { pk_obj **items; size_t n, cap; } seq;         /* tuple, list; dict as key,value pairs */
        pk_tensor_rec *tensor;
        pk_storage *storage;
    } u;
};

typedef struct pk_block {
    pk_obj obj[PK_BLOCK];
    size_t used;
    struct pk_block *next;
} pk_block;

struct torch_file {
    char *label;
    void *map;               /* the mapping when opened from a path */
    size_t map_len;
    zip_archive zip;
    pk_block *blocks;
    void **owned;            /* inflated members */
    size_t n_owned, cap_owned;
    pk_storage **storages;   /* per zip entry, resolved storages */
    pk_obj *root;
};

static pk_obj NONE_OBJ = { .kind = PK_NONE }, TRUE_OBJ = { .kind = PK_BOOL, .u.i = 1 },
              FALSE_OBJ = { .kind = PK_BOOL, .u.i = 0 }, EMPTY_TUPLE_OBJ = { .kind = PK_TUPLE };

typedef struct unpickler {
    torch_file *f;
    const char *prefix;       /* "archive/" */
    const uint8_t *p, *end, *start;
    pk_obj **stack;
    size_t sp, stack_cap;
    size_t *marks;
    size_t n_marks, marks_cap;
    pk_obj **memo;
    size_t memo_cap, memo_count;
    size_t ops;
    bark_error *err;
} unpickler;

static bark_status bad(unpickler *u, const char *what) {
    return bark_fail(u->err, BARK_ERR_FORMAT, "%s: data.pkl at byte %zu: %s", u->f->label,
                     (size_t)(u->p - u->start), what);
}

static bark_status oom(unpickler *u) {
    return bark_fail(u->err, BARK_ERR_NOMEM, "%s: out of memory", u->f->label);
}

static pk_obj *new_obj(torch_file *f, uint8_t kind) {
    if (!f->blocks || f->blocks->used == PK_BLOCK) {
        pk_block *b = calloc(1, sizeof *b);
        if (!b) return NULL;
        b->next = f->blocks;
        f->blocks = b;
    }
    pk_obj *o = &f->blocks->obj[f->blocks->used++];
    o->kind = kind;
    return o;
}

/* ---- stack ---- */

static bark_status push(unpickler *u, pk_obj *o) {
    if (!o) return oom(u);
    if (u->sp >= PK_MAX_STACK) return bark_fail(u->err, BARK_ERR_UNSUPPORTED, "%s: data.pkl: pickle stack too deep", u->f->label);
    if (src_grow((void **)&u->stack, &u->stack_cap, u->sp + 1, sizeof *u->stack) != 0) return oom(u);
    u->stack[u->sp++] = o;
    return BARK_OK;
}

static size_t floor_of(const unpickler *u) { return u->n_marks ? u->marks[u->n_marks - 1] : 0; }

static bark_status pop(unpickler *u, pk_obj **o) {
    if (u->sp <= floor_of(u)) return bad(u, "pickle stack underflow");
    *o = u->stack[--u->sp];
    return BARK_OK;
}

/* Pops the topmost mark; the items above it are u->stack[*from .. u->sp). */
static bark_status pop_mark(unpickler *u, size_t *from) {
    if (!u->n_marks) return bad(u, "no MARK on the pickle stack");
    *from = u->marks[--u->n_marks];
    return BARK_OK;
}

/* ---- input ---- */

static bark_status take(unpickler *u, size_t n, const uint8_t **q) {
    if ((size_t)(u->end - u->p) < n) return bad(u, "truncated pickle");
    *q = u->p;
    u->p += n;
    return BARK_OK;
}

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* ---- containers ---- */

static bark_status seq_add(unpickler *u, pk_obj *c, pk_obj *item) {
    if (src_grow((void **)&c->u.seq.items, &c->u.seq.cap, c->u.seq.n + 1, sizeof *c->u.seq.items) != 0) return oom(u);
    c->u.seq.items[c->u.seq.n++] = item;
    return BARK_OK;
}

static pk_obj *freeze(pk_obj *o) {
    if (o->kind == PK_LIST || o->kind == PK_DICT) o->frozen = 1;
    return o;
}

static bark_status make_tuple(unpickler *u, size_t from) {
    size_t n = u->sp - from;
    if (n == 0) {
        u->sp = from;
        return push(u, &EMPTY_TUPLE_OBJ);
    }
    pk_obj *t = new_obj(u->f, PK_TUPLE);
    if (!t) return oom(u);
    t->u.seq.items = malloc(n * sizeof *t->u.seq.items);
    if (!t->u.seq.items) return oom(u);
    for (size_t i = 0; i < n; i++) t->u.seq.items[i] = freeze(u->stack[from + i]);
    t->u.seq.n = t->u.seq.cap = n;
    u->sp = from;
    return push(u, t);
}

static int placeable(const pk_obj *o) { return o->kind < PKX_GLOBAL; }

static bark_status check_target(unpickler *u, const pk_obj *c, uint8_t kind) {
    if (c->kind != kind) return bad(u, kind == PK_DICT ? "SETITEM on a non-dict" : "APPEND on a non-list");
    if (c->frozen) return bad(u, "container modified after it was placed in another");
    return BARK_OK;
}

/* Adds items stack[from..sp) to the list below them. */
static bark_status do_appends(unpickler *u, size_t from) {
    if (from == 0 || from <= floor_of(u)) return bad(u, "pickle stack underflow");
    pk_obj *list = u->stack[from - 1];
    bark_status st = check_target(u, list, PK_LIST);
    for (size_t i = from; i < u->sp && st == BARK_OK; i++) {
        pk_obj *v = u->stack[i];
        if (v == list || !placeable(v)) st = bad(u, "bad list item");
        else st = seq_add(u, list, freeze(v));
    }
    u->sp = from;
    return st;
}

static bark_status do_setitems(unpickler *u, size_t from) {
    if (from == 0 || from <= floor_of(u)) return bad(u, "pickle stack underflow");
    if ((u->sp - from) % 2) return bad(u, "odd number of items for SETITEMS");
    pk_obj *d = u->stack[from - 1];
    bark_status st = check_target(u, d, PK_DICT);
    for (size_t i = from; i < u->sp && st == BARK_OK; i += 2) {
        pk_obj *k = u->stack[i], *v = u->stack[i + 1];
        if (k->kind != PK_STR && k->kind != PK_INT) st = bad(u, "dict key is not a string or an integer");
        else if (v == d || !placeable(v)) st = bad(u, "bad dict value");
        else if ((st = seq_add(u, d, k)) == BARK_OK) st = seq_add(u, d, freeze(v));
    }
    u->sp = from;
    return st;
}

/* ---- globals, storages, tensors ---- */

static bark_status do_global(unpickler *u) {
    char mod[128], name[128];
    char *dst[2] = { mod, name };
    for (int k = 0; k < 2; k++) {
        const uint8_t *nl = memchr(u->p, '\n', (size_t)(u->end - u->p));
        if (!nl) return bad(u, "truncated GLOBAL");
        size_t n = (size_t)(nl - u->p);
        if (n >= sizeof mod || memchr(u->p, 0, n)) return bad(u, "bad GLOBAL name");
        memcpy(dst[k], u->p, n);
        dst[k][n] = '\0';
        u->p = nl + 1;
    }
    static const struct { const char *mod, *name; int gid; src_dtype dt; } allowed[] = {
        { "collections", "OrderedDict", G_ODICT, SRC_F32 },
        { "torch._utils", "_rebuild_tensor_v2", G_REBUILD_TENSOR, SRC_F32 },
        { "torch._utils", "_rebuild_parameter", G_REBUILD_PARAM, SRC_F32 },
        { "torch", "FloatStorage", G_STORAGE, SRC_F32 },
        { "torch", "HalfStorage", G_STORAGE, SRC_F16 },
        { "torch", "BFloat16Storage", G_STORAGE, SRC_BF16 },
        { "torch", "DoubleStorage", G_STORAGE, SRC_F64 },
        { "torch", "LongStorage", G_STORAGE, SRC_I64 },
        { "torch", "IntStorage", G_STORAGE, SRC_I32 },
        { "torch", "ShortStorage", G_STORAGE, SRC_I16 },
        { "torch", "CharStorage", G_STORAGE, SRC_I8 },
        { "torch", "ByteStorage", G_STORAGE, SRC_U8 },
        { "torch", "BoolStorage", G_STORAGE, SRC_BOOL },
    };
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        if (strcmp(mod, allowed[i].mod) == 0 && strcmp(name, allowed[i].name) == 0) {
            pk_obj *g = new_obj(u->f, PKX_GLOBAL);
            if (!g) return oom(u);
            g->gid = (uint8_t)allowed[i].gid;
            g->gdt = (uint8_t)allowed[i].dt;
            return push(u, g);
        }
    for (char *c = mod; *c; c++)
        if (*c < 0x20 || *c > 0x7e) *c = '?';
    for (char *c = name; *c; c++)
        if (*c < 0x20 || *c > 0x7e) *c = '?';
    return bark_fail(u->err, BARK_ERR_UNSUPPORTED, "%s: pickle global %s.%s is not allowed", u->f->label, mod, name);
}

/* ('storage', torch.XStorage, key, location, numel) -> the zip member <archive>/data/<key>. */
static bark_status do_persid(unpickler *u) {
    pk_obj *pid = NULL;
    bark_status st = pop(u, &pid);
    if (st != BARK_OK) return st;
    if (pid->kind != PK_TUPLE || pid->u.seq.n != 5) return bad(u, "persistent id is not a 5-tuple");
    pk_obj **it = pid->u.seq.items;
    if (it[0]->kind != PK_STR || strcmp(it[0]->u.str.s, "storage") != 0 || it[1]->kind != PKX_GLOBAL ||
        it[1]->gid != G_STORAGE || it[2]->kind != PK_STR || it[3]->kind != PK_STR || it[4]->kind != PK_INT ||
        it[4]->u.i < 0)
        return bad(u, "persistent id is not ('storage', type, key, location, numel)");
    src_dtype dt = (src_dtype)it[1]->gdt;
    const char *key = it[2]->u.str.s;
    char member[320];
    if (strlen(key) > 200) return bad(u, "storage key too long");
    snprintf(member, sizeof member, "%sdata/%s", u->prefix, key);
    const zip_entry *e = zip_find(&u->f->zip, member);
    if (!e) return bark_fail(u->err, BARK_ERR_FORMAT, "%s: storage %s is missing from the archive", u->f->label, member);
    uint64_t numel = (uint64_t)it[4]->u.i;
    size_t el = src_dtype_size(dt);
    pk_storage *s = u->f->storages[e - u->f->zip.e];
    if (s) {
        if (s->dt != dt || s->numel != numel)
            return bark_fail(u->err, BARK_ERR_FORMAT, "%s: storage %s is used with two types or sizes", u->f->label, member);
    } else {
        if (numel > SIZE_MAX / el || e->size != numel * el)
            return bark_fail(u->err, BARK_ERR_FORMAT, "%s: storage %s holds %llu bytes, not %llu elements of %zu bytes",
                             u->f->label, member, (unsigned long long)e->size, (unsigned long long)numel, el);
        const uint8_t *data;
        size_t size;
        void *owned;
        if ((st = zip_read(&u->f->zip, e, &data, &size, &owned, u->err)) != BARK_OK) return st;
        if (owned) {
            if (src_grow((void **)&u->f->owned, &u->f->cap_owned, u->f->n_owned + 1, sizeof *u->f->owned) != 0) {
                free(owned);
                return oom(u);
            }
            u->f->owned[u->f->n_owned++] = owned;
        }
        s = calloc(1, sizeof *s);
        if (!s) return oom(u);
        s->dt = dt;
        s->data = data;
        s->numel = (size_t)numel;
        u->f->storages[e - u->f->zip.e] = s;
    }
    pk_obj *o = new_obj(u->f, PKX_STORAGE);
    if (!o) return oom(u);
    o->u.storage = s;
    return push(u, o);
}

static int int_tuple(const pk_obj *t, int64_t *out, int *n) {
    if (t->kind != PK_TUPLE || t->u.seq.n > SRC_MAX_DIMS) return 0;
    for (size_t i = 0; i < t->u.seq.n; i++) {
        if (t->u.seq.items[i]->kind != PK_INT || t->u.seq.items[i]->u.i < 0) return 0;
        out[i] = t->u.seq.items[i]->u.i;
    }
    *n = (int)t->u.seq.n;
    return 1;
}

/* _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata]). */
static bark_status rebuild_tensor(unpickler *u, const pk_obj *args) {
    if (args->kind != PK_TUPLE || args->u.seq.n < 4 || args->u.seq.n > 7) return bad(u, "bad _rebuild_tensor_v2 arguments");
    pk_obj **a = args->u.seq.items;
    int64_t size[SRC_MAX_DIMS], stride[SRC_MAX_DIMS];
    int nd, nds;
    if (a[0]->kind != PKX_STORAGE || a[1]->kind != PK_INT || a[1]->u.i < 0 || !int_tuple(a[2], size, &nd) ||
        !int_tuple(a[3], stride, &nds) || nd != nds)
        return bad(u, "bad _rebuild_tensor_v2 arguments");
    const pk_storage *s = a[0]->u.storage;
    uint64_t offset = (uint64_t)a[1]->u.i, last = offset, numel = 1, expect = 1;
    int contiguous = 1;
    for (int k = nd - 1; k >= 0; k--) {
        uint64_t d = (uint64_t)size[k], st = (uint64_t)stride[k];
        if (d != 0 && numel > UINT64_MAX / d) return bad(u, "tensor size overflows");
        numel *= d;
        if (d > 1) {
            if (st != 0 && d - 1 > (UINT64_MAX - last) / st) return bad(u, "tensor extent overflows");
            last += (d - 1) * st;
            if (st != expect) contiguous = 0;
            expect *= d; /* bounded by numel */
        }
    }
    if (numel > 0 && last >= s->numel) return bad(u, "tensor reaches past its storage");
    if (numel == 0 && offset > s->numel) return bad(u, "tensor offset past its storage");
    size_t el = src_dtype_size(s->dt);
    pk_tensor_rec *r = calloc(1, sizeof *r);
    pk_obj *o = r ? new_obj(u->f, PK_TENSOR) : NULL;
    if (!o) {
        free(r);
        return oom(u);
    }
    o->u.tensor = r;
    r->contiguous = contiguous;
    r->t.dtype = s->dt;
    r->t.n_dims = nd;
    memcpy(r->t.shape, size, (size_t)nd * sizeof *size);
    r->t.data = s->data + (size_t)offset * el;
    r->t.nbytes = (size_t)numel * el; /* numel <= storage numel (contiguous) or is only described */
    if (!contiguous) r->t.nbytes = 0;
    return push(u, o);
}

static bark_status do_reduce(unpickler *u) {
    pk_obj *args = NULL, *fn = NULL;
    bark_status st = pop(u, &args);
    if (st == BARK_OK) st = pop(u, &fn);
    if (st != BARK_OK) return st;
    if (fn->kind != PKX_GLOBAL || args->kind != PK_TUPLE) return bad(u, "REDUCE needs an allowed global and a tuple");
    switch (fn->gid) {
    case G_ODICT:
        if (args->u.seq.n != 0) return bad(u, "OrderedDict with arguments");
        return push(u, new_obj(u->f, PK_DICT));
    case G_REBUILD_TENSOR:
        return rebuild_tensor(u, args);
    case G_REBUILD_PARAM:
        if (args->u.seq.n < 1 || args->u.seq.items[0]->kind != PK_TENSOR) return bad(u, "bad _rebuild_parameter arguments");
        return push(u, args->u.seq.items[0]);
    default:
        return bad(u, "storage types cannot be called");
    }
}

/* ---- duplicate dict keys ---- */

static int cmp_key(const void *a, const void *b) {
    const pk_obj *x = *(pk_obj *const *)a, *y = *(pk_obj *const *)b;
    if (x->kind != y->kind) return x->kind < y->kind ? -1 : 1;
    if (x->kind == PK_INT) return x->u.i < y->u.i ? -1 : x->u.i > y->u.i;
    size_t n = x->u.str.len < y->u.str.len ? x->u.str.len : y->u.str.len;
    int c = memcmp(x->u.str.s, y->u.str.s, n);
    if (c) return c;
    return x->u.str.len < y->u.str.len ? -1 : x->u.str.len > y->u.str.len;
}

static bark_status check_dicts(torch_file *f, bark_error *err) {
    pk_obj **keys = NULL;
    size_t cap = 0;
    bark_status st = BARK_OK;
    for (pk_block *b = f->blocks; b && st == BARK_OK; b = b->next)
        for (size_t i = 0; i < b->used && st == BARK_OK; i++) {
            pk_obj *d = &b->obj[i];
            size_t n = d->kind == PK_DICT ? d->u.seq.n / 2 : 0;
            if (n < 2) continue;
            if (src_grow((void **)&keys, &cap, n, sizeof *keys) != 0) {
                st = bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", f->label);
                break;
            }
            for (size_t k = 0; k < n; k++) keys[k] = d->u.seq.items[2 * k];
            qsort(keys, n, sizeof *keys, cmp_key);
            for (size_t k = 1; k < n; k++)
                if (cmp_key(&keys[k - 1], &keys[k]) == 0) {
                    st = bark_fail(err, BARK_ERR_FORMAT, "%s: data.pkl: a dict has a duplicate key", f->label);
                    break;
                }
        }
    free(keys);
    return st;
}

/* ---- the opcode loop ---- */

static bark_status new_string(unpickler *u, uint8_t kind, size_t n) {
    const uint8_t *q = NULL;
    bark_status st = take(u, n, &q);
    if (st != BARK_OK) return st;
    if (kind == PK_STR && memchr(q, 0, n)) return bad(u, "string holds a NUL byte");
    pk_obj *o = new_obj(u->f, kind);
    if (!o) return oom(u);
    o->u.str.s = malloc(n + 1);
    if (!o->u.str.s) return oom(u);
    memcpy(o->u.str.s, q, n);
    o->u.str.s[n] = '\0';
    o->u.str.len = n;
    return push(u, o);
}

static bark_status new_int(unpickler *u, int64_t v) {
    pk_obj *o = new_obj(u->f, PK_INT);
    if (o) o->u.i = v;
    return push(u, o);
}

static bark_status memo_put(unpickler *u, size_t idx) {
    if (u->sp <= floor_of(u)) return bad(u, "memo of an empty stack");
    if (idx > u->ops) return bad(u, "memo index out of range");
    if (src_grow((void **)&u->memo, &u->memo_cap, idx + 1, sizeof *u->memo) != 0) return oom(u);
    for (size_t i = u->memo_count; i <= idx; i++) u->memo[i] = NULL;
    if (idx >= u->memo_count) u->memo_count = idx + 1;
    u->memo[idx] = u->stack[u->sp - 1];
    return BARK_OK;
}

static bark_status memo_get(unpickler *u, size_t idx) {
    if (idx >= u->memo_count || !u->memo[idx]) return bad(u, "memo index not set");
    return push(u, u->memo[idx]);
}

static bark_status step(unpickler *u, int *done) {
    const uint8_t *q = NULL;
    uint8_t op = *u->p++;
    bark_status st = BARK_OK;
    pk_obj *a = NULL, *b;
    size_t from = 0;
    u->ops++;
    switch (op) {
    case 0x80: /* PROTO */
        if ((st = take(u, 1, &q)) != BARK_OK) return st;
        if (q[0] < 2 || q[0] > 5) return bark_fail(u->err, BARK_ERR_UNSUPPORTED, "%s: pickle protocol %u is not supported",
                                                   u->f->label, (unsigned)q[0]);
        return BARK_OK;
    case '.': /* STOP */
        if (u->n_marks || u->sp != 1) return bad(u, "STOP with a MARK open or not one object on the stack");
        if (!placeable(u->stack[0])) return bad(u, "the pickle's result is not a plain object");
        if (u->p != u->end) return bad(u, "bytes after STOP");
        u->f->root = u->stack[0];
        *done = 1;
        return BARK_OK;
    case '(': /* MARK */
        if (u->n_marks >= PK_MAX_MARKS) return bark_fail(u->err, BARK_ERR_UNSUPPORTED, "%s: data.pkl: too many MARKs", u->f->label);
        if (src_grow((void **)&u->marks, &u->marks_cap, u->n_marks + 1, sizeof *u->marks) != 0) return oom(u);
        u->marks[u->n_marks++] = u->sp;
        return BARK_OK;
    case '}': return push(u, new_obj(u->f, PK_DICT));   /* EMPTY_DICT */
    case ']': return push(u, new_obj(u->f, PK_LIST));   /* EMPTY_LIST */
    case ')': return push(u, &EMPTY_TUPLE_OBJ);          /* EMPTY_TUPLE */
    case 'N': return push(u, &NONE_OBJ);
    case 0x88: return push(u, &TRUE_OBJ);
    case 0x89: return push(u, &FALSE_OBJ);
    case 'X': /* BINUNICODE */
        if ((st = take(u, 4, &q)) != BARK_OK) return st;
        return new_string(u, PK_STR, le32(q));
    case 0x8c: /* SHORT_BINUNICODE */
        if ((st = take(u, 1, &q)) != BARK_OK) return st;
        return new_string(u, PK_STR, q[0]);
    case 'B': /* BINBYTES */
        if ((st = take(u, 4, &q)) != BARK_OK) return st;
        return new_string(u, PK_BYTES, le32(q));
    case 'C': /* SHORT_BINBYTES */
        if ((st = take(u, 1, &q)) != BARK_OK) return st;
        return new_string(u, PK_BYTES, q[0]);
    case 'q': /* BINPUT */
        if ((st = take(u, 1, &q)) != BARK_OK) return st;
        return memo_put(u, q[0]);
    case 'r': /* LONG_BINPUT */
        if ((st = take(u, 4, &q)) != BARK_OK) return st;
        return memo_put(u, le32(q));
    case 0x94: /* MEMOIZE */
        return memo_put(u, u->memo_count);
    case 'h': /* BINGET */
        if ((st = take(u, 1, &q)) != BARK_OK) return st;
        return memo_get(u, q[0]);
    case 'j': /* LONG_BINGET */
        if ((st = take(u, 4, &q)) != BARK_OK) return st;
        return memo_get(u, le32(q));
    case 'J': /* BININT */
        if ((st = take(u, 4, &q)) != BARK_OK) return st;
        return new_int(u, (int32_t)le32(q));
    case 'K': /* BININT1 */
        if ((st = take(u, 1, &q)) != BARK_OK) return st;
        return new_int(u, q[0]);
    case 'M': /* BININT2 */
        if ((st = take(u, 2, &q)) != BARK_OK) return st;
        return new_int(u, q[0] | (q[1] << 8));
    case 0x8a: { /* LONG1 */
        if ((st = take(u, 1, &q)) != BARK_OK) return st;
        size_t n = q[0];
        if (n > 8) return bark_fail(u->err, BARK_ERR_UNSUPPORTED, "%s: data.pkl: integer wider than 64 bits", u->f->label);
        if ((st = take(u, n, &q)) != BARK_OK) return st;
        uint64_t v = 0;
        for (size_t k = 0; k < n; k++) v |= (uint64_t)q[k] << (8 * k);
        if (n > 0 && n < 8 && (q[n - 1] & 0x80)) v |= ~(uint64_t)0 << (8 * n);
        return new_int(u, (int64_t)v);
    }
    case 'G': { /* BINFLOAT, big-endian */
        if ((st = take(u, 8, &q)) != BARK_OK) return st;
        uint64_t bits = 0;
        for (int k = 0; k < 8; k++) bits = (bits << 8) | q[k];
        pk_obj *o = new_obj(u->f, PK_FLOAT);
        if (o) memcpy(&o->u.f, &bits, sizeof bits);
        return push(u, o);
    }
    case 't': /* TUPLE */
        if ((st = pop_mark(u, &from)) != BARK_OK) return st;
        return make_tuple(u, from);
    case 0x85: case 0x86: case 0x87: { /* TUPLE1..3 */
        size_t n = (size_t)(op - 0x84);
        if (u->sp < floor_of(u) + n) return bad(u, "pickle stack underflow");
        return make_tuple(u, u->sp - n);
    }
    case 's': /* SETITEM */
        if (u->sp < floor_of(u) + 3) return bad(u, "pickle stack underflow");
        return do_setitems(u, u->sp - 2);
    case 'u': /* SETITEMS */
        if ((st = pop_mark(u, &from)) != BARK_OK) return st;
        return do_setitems(u, from);
    case 'a': /* APPEND */
        if (u->sp < floor_of(u) + 2) return bad(u, "pickle stack underflow");
        return do_appends(u, u->sp - 1);
    case 'e': /* APPENDS */
        if ((st = pop_mark(u, &from)) != BARK_OK) return st;
        return do_appends(u, from);
    case 'c': return do_global(u);
    case 'R': return do_reduce(u);
    case 'Q': return do_persid(u);
    case 'b': /* BUILD: only the instance __dict__ of an OrderedDict (state dict _metadata), ignored */
        if ((st = pop(u, &a)) != BARK_OK) return st;
        if (u->sp <= floor_of(u)) return bad(u, "pickle stack underflow");
        b = u->stack[u->sp - 1];
        if (b->kind != PK_DICT || (a->kind != PK_DICT && a->kind != PK_NONE)) return bad(u, "BUILD on something else than a dict");
        return BARK_OK;
    default:
        u->p--;
        return bark_fail(u->err, BARK_ERR_UNSUPPORTED, "%s: pickle opcode 0x%02x not allowed (data.pkl byte %zu)",
                         u->f->label, (unsigned)op, (size_t)(u->p - u->start));
    }
}

static bark_status unpickle(torch_file *f, const char *prefix, const uint8_t *pkl, size_t n, bark_error *err) {
    unpickler u;
    memset(&u, 0, sizeof u);
    u.f = f;
    u.prefix = prefix;
    u.p = u.start = pkl;
    u.end = pkl + n;
    u.err = err;
    int done = 0;
    bark_status st = BARK_OK;
    while (!done && st == BARK_OK) {
        if (u.p >= u.end) st = bad(&u, "pickle ends without STOP");
        else st = step(&u, &done);
    }
    free(u.stack);
    free(u.marks);
    free(u.memo);
    if (st == BARK_OK) st = check_dicts(f, err);
    return st;
}

/* ---- the archive ---- */

void torch_close(torch_file *f) {
    if (!f) return;
    pk_block *b = f->blocks;
    while (b) {
        for (size_t i = 0; i < b->used; i++) {
            pk_obj *o = &b->obj[i];
            if (o->kind == PK_STR || o->kind == PK_BYTES) free(o->u.str.s);
            else if (o->kind == PK_TUPLE || o->kind == PK_LIST || o->kind == PK_DICT) free(o->u.seq.items);
            else if (o->kind == PK_TENSOR) free(o->u.tensor);
        }
        pk_block *next = b->next;
        free(b);
        b = next;
    }
    if (f->storages)
        for (size_t i = 0; i < f->zip.n; i++) free(f->storages[i]);
    free(f->storages);
    for (size_t i = 0; i < f->n_owned; i++) free(f->owned[i]);
    free(f->owned);
    zip_close(&f->zip);
    if (f->map) munmap(f->map, f->map_len);
    free(f->label);
    free(f);
}

static bark_status open_archive(torch_file *f, const uint8_t *buf, size_t size, bark_error *err) {
    if (size >= 2 && buf[0] == 0x80 && buf[1] == 0x02)
        return bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: legacy (pre-1.6) torch.save format; re-save it with a newer torch",
                         f->label);
    bark_status st = zip_open_mem(&f->zip, buf, size, f->label, err);
    if (st != BARK_OK) return st;
    const zip_entry *pkl = NULL;
    for (size_t i = 0; i < f->zip.n; i++) {
        const char *nm = f->zip.e[i].name, *slash = strchr(nm, '/');
        if (slash && strcmp(slash, "/data.pkl") == 0) {
            if (pkl) return bark_fail(err, BARK_ERR_FORMAT, "%s: more than one data.pkl", f->label);
            pkl = &f->zip.e[i];
        }
    }
    if (!pkl) return bark_fail(err, BARK_ERR_FORMAT, "%s: not a torch checkpoint (no <archive>/data.pkl)", f->label);
    size_t plen = strlen(pkl->name) - strlen("data.pkl");
    char prefix[272], member[300];
    if (plen >= 256) return bark_fail(err, BARK_ERR_FORMAT, "%s: archive name too long", f->label);
    memcpy(prefix, pkl->name, plen);
    prefix[plen] = '\0';
    const uint8_t *data;
    size_t n;
    void *owned;
    snprintf(member, sizeof member, "%sbyteorder", prefix);
    const zip_entry *bo = zip_find(&f->zip, member);
    if (bo) {
        if ((st = zip_read(&f->zip, bo, &data, &n, &owned, err)) != BARK_OK) return st;
        int little = n == 6 && memcmp(data, "little", 6) == 0;
        free(owned);
        if (!little) return bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: checkpoint is not little-endian", f->label);
    }
    f->storages = calloc(f->zip.n, sizeof *f->storages);
    if (!f->storages) return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", f->label);
    if ((st = zip_read(&f->zip, pkl, &data, &n, &owned, err)) != BARK_OK) return st;
    st = unpickle(f, prefix, data, n, err);
    free(owned);
    return st;
}

bark_status torch_open_mem(const uint8_t *buf, size_t size, const char *label, torch_file **out, bark_error *err) {
    *out = NULL;
    if (!label) label = "checkpoint";
    torch_file *f = calloc(1, sizeof *f);
    if (!f || !(f->label = strdup(label))) {
        free(f);
        return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", label);
    }
    bark_status st = open_archive(f, buf, size, err);
    if (st != BARK_OK) {
        torch_close(f);
        return st;
    }
    *out = f;
    return BARK_OK;
}

bark_status torch_open(const char *path, torch_file **out, bark_error *err) {
    void *map;
    size_t len;
    *out = NULL;
    bark_status st = src_map_file(path, &map, &len, err);
    if (st != BARK_OK) return st;
    st = torch_open_mem(map, len, path, out, err);
    if (st != BARK_OK) {
        munmap(map, len);
        return st;
    }
    (*out)->map = map;
    (*out)->map_len = len;
    return BARK_OK;
}

/* ---- the read-only tree ---- */

const pk_obj *torch_root(const torch_file *f) { return f ? f->root : NULL; }

pk_kind pk_kind_of(const pk_obj *o) { return o && o->kind < PKX_GLOBAL ? (pk_kind)o->kind : PK_NONE; }

int64_t pk_int(const pk_obj *o) { return o && (o->kind == PK_INT || o->kind == PK_BOOL) ? o->u.i : 0; }

double pk_float(const pk_obj *o) {
    if (!o) return 0.0;
    if (o->kind == PK_FLOAT) return o->u.f;
    if (o->kind == PK_INT) return (double)o->u.i;
    return 0.0;
}

const char *pk_str(const pk_obj *o) { return o && o->kind == PK_STR ? o->u.str.s : NULL; }
size_t pk_str_len(const pk_obj *o) { return o && (o->kind == PK_STR || o->kind == PK_BYTES) ? o->u.str.len : 0; }
const uint8_t *pk_bytes(const pk_obj *o) {
    return o && (o->kind == PK_STR || o->kind == PK_BYTES) ? (const uint8_t *)o->u.str.s : NULL;
}

size_t pk_len(const pk_obj *o) {
    if (!o) return 0;
    if (o->kind == PK_TUPLE || o->kind == PK_LIST) return o->u.seq.n;
    if (o->kind == PK_DICT) return o->u.seq.n / 2;
    return 0;
}

const pk_obj *pk_item(const pk_obj *o, size_t i) {
    return o && (o->kind == PK_TUPLE || o->kind == PK_LIST) && i < o->u.seq.n ? o->u.seq.items[i] : NULL;
}

const pk_obj *pk_dict_key(const pk_obj *o, size_t i) {
    return o && o->kind == PK_DICT && i < o->u.seq.n / 2 ? o->u.seq.items[2 * i] : NULL;
}

const pk_obj *pk_dict_value(const pk_obj *o, size_t i) {
    return o && o->kind == PK_DICT && i < o->u.seq.n / 2 ? o->u.seq.items[2 * i + 1] : NULL;
}

const pk_obj *pk_dict_get(const pk_obj *o, const char *key) {
    size_t n = pk_len(o);
    if (!o || o->kind != PK_DICT || !key) return NULL;
    for (size_t i = 0; i < n; i++) {
        const pk_obj *k = o->u.seq.items[2 * i];
        if (k->kind == PK_STR && strcmp(k->u.str.s, key) == 0) return o->u.seq.items[2 * i + 1];
    }
    return NULL;
}

const src_tensor *pk_tensor(const pk_obj *o) {
    return o && o->kind == PK_TENSOR && o->u.tensor->contiguous ? &o->u.tensor->t : NULL;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

bark_status torch_dict_tensors(const torch_file *f, const pk_obj *dict, const char *strip_prefix, src_set *s,
                               bark_error *err) {
    const char *label = f ? f->label : "checkpoint";
    if (!dict || dict->kind != PK_DICT) return bark_fail(err, BARK_ERR_FORMAT, "%s: not a dict of tensors", label);
    size_t plen = strip_prefix ? strlen(strip_prefix) : 0, n0 = s->n, n = pk_len(dict);
    bark_status st = BARK_OK;
    for (size_t i = 0; i < n && st == BARK_OK; i++) {
        const pk_obj *k = pk_dict_key(dict, i), *v = pk_dict_value(dict, i);
        if (v->kind != PK_TENSOR) continue;
        if (k->kind != PK_STR) {
            st = bark_fail(err, BARK_ERR_FORMAT, "%s: a tensor has a key that is not a string", label);
            break;
        }
        const char *name = k->u.str.s;
        if (plen && strncmp(name, strip_prefix, plen) == 0) name += plen;
        const src_tensor *t = pk_tensor(v);
        if (!t) {
            st = bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: tensor %s is not contiguous", label, k->u.str.s);
            break;
        }
        st = src_set_add(s, name, t->dtype, t->n_dims, t->shape, t->data, t->nbytes, err);
        if (st != BARK_OK) bark_err_prefix(err, "%s: ", label);
    }
    /* Two keys may become one name once the prefix is dropped. */
    size_t added = s->n - n0;
    if (st == BARK_OK && added > 1) {
        const char **names = malloc(added * sizeof *names);
        if (!names) st = bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", label);
        for (size_t i = 0; names && i < added; i++) names[i] = s->t[n0 + i].name;
        if (names) qsort(names, added, sizeof *names, cmp_name);
        for (size_t i = 1; names && i < added && st == BARK_OK; i++)
            if (strcmp(names[i - 1], names[i]) == 0)
                st = bark_fail(err, BARK_ERR_FORMAT, "%s: tensor name %s appears twice", label, names[i]);
        free(names);
    }
    if (st != BARK_OK) src_set_truncate(s, n0);
    return st;
}
