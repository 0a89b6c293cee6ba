/* fuzz_pickle.c: libFuzzer target for torch zip checkpoints and the restricted unpickler. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/pickle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;

#define N_STORAGES 8

/* Walks the object tree with a visit budget (shared objects can make a small DAG with many paths). */
static void walk(const pk_obj *root) {
    const pk_obj *todo[256];
    size_t n = 0, budget = 20000;
    todo[n++] = root;
    while (n && budget--) {
        const pk_obj *o = todo[--n];
        const src_tensor *t;
        switch (pk_kind_of(o)) {
        case PK_STR: if (strlen(pk_str(o)) != pk_str_len(o)) abort(); break;
        case PK_TENSOR:
            if ((t = pk_tensor(o)) != NULL) {
                for (size_t k = 0; k < t->nbytes; k++) sink ^= t->data[k]; /* touch every byte: ASan checks the views */
            }
            break;
        case PK_TUPLE: case PK_LIST:
            for (size_t i = 0; i < pk_len(o) && n < 256; i++) todo[n++] = pk_item(o, i);
            break;
        case PK_DICT:
            for (size_t i = 0; i < pk_len(o) && n < 255; i++) {
                todo[n++] = pk_dict_key(o, i);
                todo[n++] = pk_dict_value(o, i);
                if (pk_str(pk_dict_key(o, i)) && !pk_dict_get(o, pk_str(pk_dict_key(o, i)))) abort();
            }
            break;
        default: (void)pk_int(o); (void)pk_float(o); break;
        }
    }
}

static void run(const uint8_t *zip, size_t size) {
    torch_file *f = NULL;
    bark_error err;
    if (torch_open_mem(zip, size, "fuzz.pt", &f, &err) != BARK_OK) {
        if (f || !strstr(err.msg, "fuzz.pt")) abort();
        return;
    }
    walk(torch_root(f));
    const pk_obj *dicts[2] = { torch_root(f), pk_dict_get(torch_root(f), "model") };
    for (int d = 0; d < 2; d++) {
        src_set s;
        src_set_init(&s);
        if (torch_dict_tensors(f, dicts[d], "_orig_mod.", &s, &err) != BARK_OK && !strstr(err.msg, "fuzz.pt")) abort();
        src_set_free(&s);
    }
    torch_close(f);
}

static void put16(uint8_t *p, size_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, size_t v) { put16(p, v & 0xffff); put16(p + 2, v >> 16); }

/* A stored zip holding a/data.pkl = pkl and a/data/<k> with 8*(k+1) bytes each (CRCs are not checked
 * for stored members, so they stay zero). */
static void run_raw_pickle(const uint8_t *pkl, size_t len) {
    if (len > (1u << 20)) return;
    size_t cap = len + 4096, n = 0, cd, offs[N_STORAGES + 1], lens[N_STORAGES + 1];
    uint8_t *z = calloc(1, cap);
    char names[N_STORAGES + 1][16];
    if (!z) return;
    for (int m = 0; m <= N_STORAGES; m++) {
        if (m == 0) strcpy(names[m], "a/data.pkl");
        else { memcpy(names[m], "a/data/", 7); names[m][7] = (char)('0' + m - 1); names[m][8] = 0; }
        lens[m] = m == 0 ? len : (size_t)8 * (size_t)m;
        size_t nl = strlen(names[m]);
        offs[m] = n;
        memcpy(z + n, "PK\3\4\24", 5);
        put32(z + n + 18, lens[m]); put32(z + n + 22, lens[m]); put16(z + n + 26, nl);
        n += 30;
        memcpy(z + n, names[m], nl); n += nl;
        if (m == 0) memcpy(z + n, pkl, len);
        else for (size_t k = 0; k < lens[m]; k++) z[n + k] = (uint8_t)(k * 37 + (size_t)m);
        n += lens[m];
    }
    cd = n;
    for (int m = 0; m <= N_STORAGES; m++) {
        size_t nl = strlen(names[m]);
        memcpy(z + n, "PK\1\2\24\0\24", 7);
        put32(z + n + 20, lens[m]); put32(z + n + 24, lens[m]); put16(z + n + 28, nl); put32(z + n + 42, offs[m]);
        n += 46;
        memcpy(z + n, names[m], nl); n += nl;
    }
    memcpy(z + n, "PK\5\6", 4);
    put16(z + n + 8, N_STORAGES + 1); put16(z + n + 10, N_STORAGES + 1); put32(z + n + 12, n - cd); put32(z + n + 16, cd);
    n += 22;
    uint8_t *exact = malloc(n); /* exact size: ASan sees any over-read */
    if (exact) {
        memcpy(exact, z, n);
        run(exact, n);
        free(exact);
    }
    free(z);
}

/* First byte: even = the rest is a whole torch zip; odd = the rest is a bare data.pkl. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    if (data[0] & 1) {
        run_raw_pickle(data + 1, size - 1);
    } else {
        uint8_t *copy = malloc(size - 1 ? size - 1 : 1);
        if (!copy) return 0;
        memcpy(copy, data + 1, size - 1);
        run(copy, size - 1);
        free(copy);
    }
    return 0;
}
