/* test_readers.c: the checkpoint readers (safetensors, npy/npz, torch zip/pickle, zip, JSON) on real and hostile files. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "formats/jsondoc.h"
#include "formats/pickle.h"
#include "formats/source.h"
#include "formats/zip.h"

#define DIR "tests/data/readers/"

/* ---- helpers ---- */

static uint8_t *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return buf;
}

static double half_to_double(uint16_t h) {
    int e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, e - 25);
    return (h & 0x8000) ? -v : v;
}

static double elem(const src_tensor *t, size_t i) {
    const uint8_t *p = t->data + i * src_dtype_size(t->dtype);
    switch (t->dtype) {
    case SRC_F32: { float v; memcpy(&v, p, 4); return v; }
    case SRC_F64: { double v; memcpy(&v, p, 8); return v; }
    case SRC_F16: { uint16_t v; memcpy(&v, p, 2); return half_to_double(v); }
    case SRC_BF16: { uint16_t v; memcpy(&v, p, 2); uint32_t b = (uint32_t)v << 16; float f; memcpy(&f, &b, 4); return f; }
    case SRC_I64: { int64_t v; memcpy(&v, p, 8); return (double)v; }
    case SRC_I32: { int32_t v; memcpy(&v, p, 4); return v; }
    case SRC_I16: { int16_t v; memcpy(&v, p, 2); return v; }
    case SRC_U16: { uint16_t v; memcpy(&v, p, 2); return v; }
    case SRC_I8: return (int8_t)p[0];
    case SRC_U8: case SRC_BOOL: return p[0];
    }
    return NAN;
}

static int64_t elem_i64(const src_tensor *t, size_t i) {
    int64_t v;
    assert_int_equal(t->dtype, SRC_I64);
    memcpy(&v, t->data + 8 * i, 8);
    return v;
}

/* Asserts a failure with one of the allowed statuses and a message naming `label`. */
static void expect_refusal(bark_status st, const bark_error *err, const char *label, const char *needle) {
    if (st != BARK_ERR_FORMAT && st != BARK_ERR_UNSUPPORTED && st != BARK_ERR_IO)
        fail_msg("%s: status %d (%s)", label, (int)st, st == BARK_OK ? "accepted" : err->msg);
    assert_int_equal(err->status, st);
    if (!strstr(err->msg, label)) fail_msg("message does not name %s: %s", label, err->msg);
    if (needle && !strstr(err->msg, needle)) fail_msg("message lacks \"%s\": %s", needle, err->msg);
    if (strchr(err->msg, '\n')) fail_msg("message is not one line: %s", err->msg);
}

static const src_tensor *need(const src_set *s, const char *name) {
    const src_tensor *t = src_set_find(s, name);
    if (!t) fail_msg("tensor %s missing", name);
    return t;
}

/* ---- expected values written by tools/make_reader_fixtures.py ---- */

static void load(const char *loader, const char *file, src_set *s, torch_file **tf) {
    char path[256];
    bark_error err;
    bark_status st;
    snprintf(path, sizeof path, DIR "%s", file);
    if (strcmp(loader, "safetensors") == 0) st = src_read_safetensors(s, path, "", &err);
    else if (strcmp(loader, "npy") == 0) st = src_read_npy(s, path, "x", &err);
    else if (strcmp(loader, "npz") == 0) st = src_read_npz(s, path, "", &err);
    else {
        st = torch_open(path, tf, &err);
        if (st == BARK_OK) {
            const pk_obj *d = torch_root(*tf);
            if (strcmp(loader, "ptmodel") == 0) d = pk_dict_get(d, "model");
            st = torch_dict_tensors(*tf, d, strcmp(loader, "ptmodel") == 0 ? "_orig_mod." : "", s, &err);
        }
    }
    if (st != BARK_OK) fail_msg("%s", err.msg);
}

static void test_expected_values(void **state) {
    (void)state;
    FILE *f = fopen(DIR "expected.txt", "r");
    assert_non_null(f);
    char line[1024];
    int checked = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        char loader[32], file[64], name[128], dtype[16];
        int nd, off, nv;
        assert_int_equal(sscanf(line, "%31s %63s %127s %15s %d%n", loader, file, name, dtype, &nd, &off), 5);
        src_set s;
        src_set_init(&s);
        torch_file *tf = NULL;
        load(loader, file, &s, &tf);
        const src_tensor *t = need(&s, name);
        assert_string_equal(src_dtype_name(t->dtype), dtype);
        assert_int_equal(t->n_dims, nd);
        const char *p = line + off;
        size_t numel = 1;
        for (int i = 0; i < nd; i++) {
            long long d;
            int used;
            assert_int_equal(sscanf(p, "%lld%n", &d, &used), 1);
            p += used;
            assert_int_equal(t->shape[i], d);
            numel *= (size_t)d;
        }
        assert_int_equal(t->nbytes, numel * src_dtype_size(t->dtype));
        int used;
        assert_int_equal(sscanf(p, "%d%n", &nv, &used), 1);
        p += used;
        for (int i = 0; i < nv; i++) {
            double v;
            assert_int_equal(sscanf(p, "%lf%n", &v, &used), 1);
            p += used;
            if (elem(t, (size_t)i) != v) fail_msg("%s %s[%d] = %g, expected %g", file, name, i, elem(t, (size_t)i), v);
        }
        torch_close(tf);
        src_set_free(&s);
        checked++;
    }
    fclose(f);
    assert_true(checked >= 40);
    print_message("checked %d tensors against expected.txt\n", checked);
}

/* ---- torch checkpoints ---- */

static void test_torch_state_dict(void **state) {
    (void)state;
    bark_error err;
    torch_file *tf;
    assert_int_equal(torch_open(DIR "state.pt", &tf, &err), BARK_OK);
    const pk_obj *root = torch_root(tf);
    assert_int_equal(pk_kind_of(root), PK_DICT);
    assert_int_equal(pk_len(root), 12);
    assert_string_equal(pk_str(pk_dict_key(root, 0)), "lin.weight"); /* insertion order kept */
    src_set s;
    src_set_init(&s);
    assert_int_equal(torch_dict_tensors(tf, root, NULL, &s, &err), BARK_OK);
    assert_int_equal(s.n, 12);
    /* the tied pair: two names, one storage */
    assert_ptr_equal(need(&s, "tied.a")->data, need(&s, "lin.weight")->data);
    /* a view at offset 4 of a 12-element storage */
    const src_tensor *row = need(&s, "row");
    for (int i = 0; i < 4; i++) assert_true(elem(row, (size_t)i) == 4 + i);
    /* the boolean mask: [1,1,4,4], lower triangle */
    const src_tensor *m = need(&s, "attn.bias");
    assert_int_equal(m->dtype, SRC_BOOL);
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) assert_true(elem(m, (size_t)(r * 4 + c)) == (c <= r));
    assert_int_equal(need(&s, "scale")->n_dims, 0);
    assert_true(elem(need(&s, "scale"), 0) == 2.5);
    src_set_free(&s);
    torch_close(tf);
}

static void test_torch_suno_layout(void **state) {
    (void)state;
    bark_error err;
    torch_file *tf;
    assert_int_equal(torch_open(DIR "suno.pt", &tf, &err), BARK_OK);
    const pk_obj *root = torch_root(tf);
    const pk_obj *args = pk_dict_get(root, "model_args");
    assert_int_equal(pk_kind_of(args), PK_DICT);
    assert_int_equal(pk_int(pk_dict_get(args, "n_layer")), 1);
    assert_int_equal(pk_int(pk_dict_get(args, "n_embd")), 4);
    assert_int_equal(pk_kind_of(pk_dict_get(args, "bias")), PK_BOOL);
    assert_int_equal(pk_int(pk_dict_get(args, "bias")), 0);
    assert_int_equal(pk_kind_of(pk_dict_get(args, "dropout")), PK_FLOAT);
    assert_true(pk_float(pk_dict_get(args, "dropout")) == 0.0);
    assert_string_equal(pk_str(pk_dict_get(args, "name")), "tiny");
    assert_null(pk_dict_get(args, "absent"));
    assert_true(pk_int(pk_dict_get(root, "iter_num")) == 123456789012LL); /* LONG1 */
    const src_tensor *loss = pk_tensor(pk_dict_get(root, "best_val_loss"));
    assert_non_null(loss);
    assert_int_equal(loss->n_dims, 0);
    assert_true(elem(loss, 0) == 1.25);
    const pk_obj *cfg = pk_dict_get(root, "config");
    assert_int_equal(pk_int(pk_dict_get(cfg, "neg")), -7);
    assert_true(pk_float(pk_dict_get(cfg, "lr")) == 6e-4);
    /* optimizer nesting: int keys, tuples, None */
    const pk_obj *opt = pk_dict_get(root, "optimizer");
    const pk_obj *st0 = pk_dict_value(pk_dict_get(opt, "state"), 0);
    assert_int_equal(pk_kind_of(pk_dict_key(pk_dict_get(opt, "state"), 0)), PK_INT);
    assert_non_null(pk_tensor(pk_dict_get(st0, "exp_avg")));
    const pk_obj *pg = pk_item(pk_dict_get(opt, "param_groups"), 0);
    const pk_obj *betas = pk_dict_get(pg, "betas");
    assert_int_equal(pk_kind_of(betas), PK_TUPLE);
    assert_true(pk_float(pk_item(betas, 1)) == 0.95);
    assert_int_equal(pk_kind_of(pk_dict_get(pg, "foreach")), PK_NONE);
    assert_int_equal(pk_len(pk_dict_get(pg, "params")), 2);
    /* the state dict with its prefix dropped */
    src_set s;
    src_set_init(&s);
    assert_int_equal(torch_dict_tensors(tf, pk_dict_get(root, "model"), "_orig_mod.", &s, &err), BARK_OK);
    assert_int_equal(s.n, 4);
    assert_ptr_equal(need(&s, "lm_head.weight")->data, need(&s, "transformer.wte.weight")->data);
    const src_tensor *mask = need(&s, "transformer.h.0.attn.bias");
    assert_int_equal(mask->dtype, SRC_BOOL);
    assert_int_equal(mask->shape[3], 8);
    /* not a dict of tensors */
    assert_int_equal(torch_dict_tensors(tf, pk_dict_get(root, "iter_num"), "", &s, &err), BARK_ERR_FORMAT);
    assert_int_equal(s.n, 4);
    src_set_free(&s);
    torch_close(tf);
}

static void test_torch_hostile(void **state) {
    (void)state;
    static const struct { const char *file; bark_status st; const char *needle; } cases[] = {
        { "evil.pt", BARK_ERR_UNSUPPORTED, "pickle global os.system is not allowed" },
        { "opcode.pt", BARK_ERR_UNSUPPORTED, "pickle opcode 0x49 not allowed" },
        { "cyclic.pt", BARK_ERR_FORMAT, "bad list item" },
        { "overrun.pt", BARK_ERR_FORMAT, "past its storage" },
        { "bigendian.pt", BARK_ERR_UNSUPPORTED, "little-endian" },
        { "stored.npz", BARK_ERR_FORMAT, "data.pkl" },
        { "c_order.npy", BARK_ERR_FORMAT, "zip" },
        { "does_not_exist.pt", BARK_ERR_IO, "cannot open" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, DIR "%s", cases[i].file);
        bark_error err;
        torch_file *tf = (torch_file *)1;
        bark_status st = torch_open(path, &tf, &err);
        expect_refusal(st, &err, path, cases[i].needle);
        assert_int_equal(st, cases[i].st);
        assert_null(tf);
    }
}

#define PK(lit) lit, sizeof(lit) - 1

/* Wraps a pickle in a stored torch-style zip (t/data.pkl, t/data/0 of 8 zero bytes) and opens it. */
static bark_status open_pickle(const char *pkl, size_t len, torch_file **tf, uint8_t **keep, bark_error *err) {
    uint8_t zipb[1024];
    size_t n = 0;
    const char *names[2] = { "t/data.pkl", "t/data/0" };
    const uint8_t *datas[2] = { (const uint8_t *)pkl, (const uint8_t *)"\0\0\0\0\0\0\0\0" };
    size_t lens[2] = { len, 8 }, offs[2];
    assert_true(len < 256);
    for (int m = 0; m < 2; m++) {
        uint8_t h[30] = { 0x50, 0x4b, 3, 4, 20 };
        size_t nl = strlen(names[m]);
        h[18] = (uint8_t)lens[m]; h[22] = (uint8_t)lens[m]; h[26] = (uint8_t)nl;
        offs[m] = n;
        memcpy(zipb + n, h, 30); n += 30;
        memcpy(zipb + n, names[m], nl); n += nl;
        memcpy(zipb + n, datas[m], lens[m]); n += lens[m];
    }
    size_t cd = n;
    for (int m = 0; m < 2; m++) {
        uint8_t c[46] = { 0x50, 0x4b, 1, 2, 20, 0, 20 };
        size_t nl = strlen(names[m]);
        c[20] = (uint8_t)lens[m]; c[24] = (uint8_t)lens[m]; c[28] = (uint8_t)nl;
        c[42] = (uint8_t)offs[m]; c[43] = (uint8_t)(offs[m] >> 8);
        memcpy(zipb + n, c, 46); n += 46;
        memcpy(zipb + n, names[m], nl); n += nl;
    }
    uint8_t e[22] = { 0x50, 0x4b, 5, 6, 0, 0, 0, 0, 2, 0, 2 };
    e[12] = (uint8_t)(n - cd); e[16] = (uint8_t)cd; e[17] = (uint8_t)(cd >> 8);
    memcpy(zipb + n, e, 22); n += 22;
    *keep = malloc(n); /* exact size: ASan sees any over-read */
    memcpy(*keep, zipb, n);
    *tf = NULL;
    return torch_open_mem(*keep, n, "case.pt", tf, err);
}

/* Hand-made pickles inside a valid torch archive, built around the storage of state.pt. */
static void test_pickle_opcodes(void **state) {
    (void)state;
    static const struct { const char *pkl; size_t len; bark_status st; const char *needle; } cases[] = {
        { PK("\x80\x02K\x05."), BARK_OK, NULL },
        { PK("\x80\x02K\x05"), BARK_ERR_FORMAT, "without STOP" },
        { PK("\x80\x02K\x05K\x06."), BARK_ERR_FORMAT, "STOP" },
        { PK("\x80\x02h\x00."), BARK_ERR_FORMAT, "memo" },
        { PK("\x80\x02K\x01r\xff\xff\xff\x7f."), BARK_ERR_FORMAT, "memo index" },
        { PK("\x80\x02(t(t(."), BARK_ERR_FORMAT, NULL },
        { PK("\x80\x02}K\x01K\x02s."), BARK_OK, NULL },
        { PK("\x80\x02}(K\x01K\x02K\x01K\x03u."), BARK_ERR_FORMAT, "duplicate key" },
        { PK("\x80\x02}(G?\xf0\x00\x00\x00\x00\x00\x00K\x02u."), BARK_ERR_FORMAT, "dict key" },
        { PK("\x80\x02]q\x00\x85h\x00K\x02" "a."), BARK_ERR_FORMAT, "modified after" },
        { PK("\x80\x02" "ctorch\nFloatStorage\n)R."), BARK_ERR_FORMAT, "storage types cannot be called" },
        { PK("\x80\x02" "ccollections\nOrderedDict\nK\x01\x85R."), BARK_ERR_FORMAT, "OrderedDict" },
        { PK("\x80\x02" "c__builtin__\neval\n."), BARK_ERR_UNSUPPORTED, "pickle global __builtin__.eval is not allowed" },
        { PK("\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00."), BARK_ERR_UNSUPPORTED, "pickle opcode 0x95 not allowed" },
        { PK("\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01."), BARK_ERR_UNSUPPORTED, "64 bits" },
        { PK("\x80\x02X\xff\xff\xff\xff."), BARK_ERR_FORMAT, "truncated" },
        { PK("\x80\x02X\x01\x00\x00\x00\x00."), BARK_ERR_FORMAT, "NUL" },
        { PK("\x80\x02(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00" "9X\x03\x00\x00\x00" "cpuK\x01tQ."),
          BARK_ERR_FORMAT, "missing from the archive" },
        { PK("\x80\x07."), BARK_ERR_UNSUPPORTED, "protocol 7" },
        { PK("\x80\x02K\x01K\x02\x86N."), BARK_ERR_FORMAT, "STOP" },
        { PK("\x80\x02\x8a\x02\xff\x7f\x8a\x01\xfe\x86."), BARK_OK, NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *exact;
        bark_error err;
        torch_file *tf;
        bark_status st = open_pickle(cases[i].pkl, cases[i].len, &tf, &exact, &err);
        if (cases[i].st == BARK_OK) {
            if (st != BARK_OK) fail_msg("case %zu: %s", i, err.msg);
        } else {
            expect_refusal(st, &err, "case.pt", cases[i].needle);
            if (st != cases[i].st) fail_msg("case %zu: status %d: %s", i, (int)st, err.msg);
        }
        if (i == 0) assert_int_equal(pk_int(torch_root(tf)), 5);
        if (i == sizeof cases / sizeof cases[0] - 1) { /* LONG1: 0x7fff and -2 */
            assert_int_equal(pk_int(pk_item(torch_root(tf), 0)), 32767);
            assert_int_equal(pk_int(pk_item(torch_root(tf), 1)), -2);
        }
        torch_close(tf);
        free(exact);
    }
    /* SHORT_BINBYTES keeps NULs; MEMOIZE numbers memo entries itself */
    uint8_t *keep;
    torch_file *tf;
    bark_error err;
    assert_int_equal(open_pickle(PK("\x80\x02" "C\x03" "a\x00" "b\x94K\x07\x94\x85h\x01\x87."), &tf, &keep, &err), BARK_OK);
    const pk_obj *b = pk_item(torch_root(tf), 0);
    assert_int_equal(pk_kind_of(b), PK_BYTES);
    assert_int_equal(pk_str_len(b), 3);
    assert_memory_equal(pk_bytes(b), "a\0b", 3);
    assert_null(pk_str(b));
    assert_int_equal(pk_int(pk_item(pk_item(torch_root(tf), 1), 0)), 7);
    assert_int_equal(pk_int(pk_item(torch_root(tf), 2)), 7);
    torch_close(tf);
    free(keep);
}

/* _rebuild_tensor_v2 over the 2-float storage t/data/0: bounds and strides. */
#define PID(numel) "(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuK" numel "tQ"
#define REBUILD(numel, off, size, stride) \
    "\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n(" PID(numel) "K" off "(" size "t(" stride "t\x89" \
    "ccollections\nOrderedDict\n)RtR."

static void test_pickle_tensors(void **state) {
    (void)state;
    static const struct { const char *pkl; size_t len; bark_status st; int contiguous; size_t at; const char *needle; } cases[] = {
        { PK(REBUILD("\x02", "\x00", "K\x02", "K\x01")), BARK_OK, 1, 0, NULL },
        { PK(REBUILD("\x02", "\x01", "K\x01", "K\x07")), BARK_OK, 1, 4, NULL },     /* size-1 dim, any stride */
        { PK(REBUILD("\x02", "\x00", "K\x02", "K\x00")), BARK_OK, 0, 0, NULL },     /* a broadcast view */
        { PK(REBUILD("\x02", "\x00", "K\x00K\x05", "K\x05K\x01")), BARK_OK, 1, 0, NULL }, /* empty */
        { PK(REBUILD("\x03", "\x00", "K\x02", "K\x01")), BARK_ERR_FORMAT, 0, 0, "not 3 elements" },
        { PK(REBUILD("\x02", "\x00", "K\x02", "K\x02")), BARK_ERR_FORMAT, 0, 0, "past its storage" },
        { PK(REBUILD("\x02", "\x02", "K\x01", "K\x01")), BARK_ERR_FORMAT, 0, 0, "past its storage" },
        { PK(REBUILD("\x02", "\x00", "J\xff\xff\xff\x7f" "J\xff\xff\xff\x7f" "J\xff\xff\xff\x7f",
                     "J\xff\xff\xff\x7f" "J\xff\xff\xff\x7f" "J\xff\xff\xff\x7f")), BARK_ERR_FORMAT, 0, 0, "overflows" },
        { PK(REBUILD("\x02", "\x00", "J\xff\xff\xff\x7f" "J\xff\xff\xff\x7f",
                     "J\xff\xff\xff\x7f" "K\x01")), BARK_ERR_FORMAT, 0, 0, "past its storage" },
        { PK(REBUILD("\x02", "\x00", "J\xff\xff\xff\xff", "K\x01")), BARK_ERR_FORMAT, 0, 0, "_rebuild_tensor_v2" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *keep;
        torch_file *tf;
        bark_error err;
        bark_status st = open_pickle(cases[i].pkl, cases[i].len, &tf, &keep, &err);
        if (st != cases[i].st) fail_msg("case %zu: status %d: %s", i, (int)st, st ? err.msg : "ok");
        if (st == BARK_OK) {
            const pk_obj *root = torch_root(tf);
            assert_int_equal(pk_kind_of(root), PK_TENSOR);
            const src_tensor *t = pk_tensor(root);
            assert_int_equal(t != NULL, cases[i].contiguous);
            if (t) assert_ptr_equal(t->data, keep + (30 + 10 + cases[i].len) + 30 + 8 + cases[i].at);
        } else {
            expect_refusal(st, &err, "case.pt", cases[i].needle);
        }
        torch_close(tf);
        free(keep);
    }
}

/* ---- npy / npz ---- */

static void test_real_voice(void **state) {
    (void)state;
    src_set s;
    src_set_init(&s);
    bark_error err;
    bark_status st = src_read_npz(&s, "models/voices/v2/en_speaker_0.npz", "v.", &err);
    if (st != BARK_OK) fail_msg("%s", err.msg);
    assert_int_equal(s.n, 3);
    const src_tensor *sem = need(&s, "v.semantic_prompt"), *co = need(&s, "v.coarse_prompt"),
                     *fi = need(&s, "v.fine_prompt");
    assert_int_equal(sem->n_dims, 1);
    assert_int_equal(sem->shape[0], 341);
    const int64_t sem0[5] = { 6579, 6579, 6579, 2456, 2456 };
    for (int i = 0; i < 5; i++) assert_int_equal(elem_i64(sem, (size_t)i), sem0[i]);
    /* coarse_prompt is int64 in Fortran order in the file: C order here */
    assert_int_equal(co->n_dims, 2);
    assert_int_equal(co->shape[0], 2);
    assert_int_equal(co->shape[1], 512);
    assert_int_equal(elem_i64(co, 0), 582);
    assert_int_equal(elem_i64(co, 512), 482);
    assert_int_equal(fi->dtype, SRC_I32);
    assert_int_equal(fi->shape[0], 8);
    assert_int_equal(fi->shape[1], 512);
    const int fine_col0[8] = { 582, 482, 798, 363, 967, 360, 776, 538 };
    for (int r = 0; r < 8; r++) assert_true(elem(fi, (size_t)r * 512) == fine_col0[r]);
    assert_true(elem(fi, 2 * 512 + 2) == 730);
    /* the first two codebooks of fine equal coarse */
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 512; c++) assert_true(elem(fi, (size_t)(r * 512 + c)) == (double)elem_i64(co, (size_t)(r * 512 + c)));
    src_set_free(&s);
}

static void test_npy_refusals(void **state) {
    (void)state;
    static const struct { const char *file; bark_status st; const char *needle; } cases[] = {
        { "bigendian.npy", BARK_ERR_UNSUPPORTED, "big-endian" },
        { "unicode.npy", BARK_ERR_UNSUPPORTED, "<U" },
        { "structured.npy", BARK_ERR_UNSUPPORTED, "structured" },
        { "model.safetensors", BARK_ERR_FORMAT, "magic" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, DIR "%s", cases[i].file);
        src_set s;
        src_set_init(&s);
        bark_error err;
        bark_status st = src_read_npy(&s, path, "x", &err);
        expect_refusal(st, &err, path, cases[i].needle);
        assert_int_equal(st, cases[i].st);
        assert_int_equal(s.n, 0);
        src_set_free(&s);
    }
    /* an npz with a float array and an object array: refused whole, naming the member */
    src_set s;
    src_set_init(&s);
    bark_error err;
    bark_status st = src_read_npz(&s, DIR "object.npz", "", &err);
    expect_refusal(st, &err, DIR "object.npz", "bad.npy: npy object arrays are not supported");
    assert_int_equal(s.n, 0);
    src_set_free(&s);
    /* hand-made headers */
    static const char *hdrs[] = {
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
        "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
        "{'descr': '|f4', 'fortran_order': False, 'shape': (1,), }",
        "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }",
        "{'descr': '<f4', 'shape': (1,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
        "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } junk",
    };
    for (size_t i = 0; i < sizeof hdrs / sizeof hdrs[0]; i++) {
        uint8_t buf[256];
        size_t hl = strlen(hdrs[i]) + 1;
        memcpy(buf, "\x93NUMPY\x01\x00", 8);
        buf[8] = (uint8_t)hl;
        buf[9] = 0;
        memcpy(buf + 10, hdrs[i], hl - 1);
        buf[10 + hl - 1] = '\n';
        memset(buf + 10 + hl, 0, 4); /* 4 data bytes: one f4 */
        src_set_init(&s);
        st = src_parse_npy_mem(&s, buf, 10 + hl + 4, "x", "hand.npy", &err);
        expect_refusal(st, &err, "hand.npy", NULL);
        src_set_free(&s);
    }
}

/* ---- safetensors ---- */

static bark_status st_parse(const char *header, size_t data_len, src_set *s, bark_error *err) {
    size_t hl = strlen(header), n = 8 + hl + data_len;
    uint8_t *buf = calloc(1, n);
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, header, hl);
    bark_status st = src_parse_safetensors_mem(s, buf, n, "p.", "hand.safetensors", err);
    if (st != BARK_OK) {
        free(buf);
        return st;
    }
    assert_int_equal(src_set_own(s, buf, err), BARK_OK);
    return st;
}

static void test_safetensors_headers(void **state) {
    (void)state;
    src_set s;
    bark_error err;
    src_set_init(&s);
    assert_int_equal(st_parse("{\"__metadata__\":{\"a\":\"b\"},\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                              "\"y\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[8,9]}}  ", 9, &s, &err), BARK_OK);
    assert_int_equal(s.n, 2);
    assert_int_equal(need(&s, "p.y")->n_dims, 0);
    src_set_free(&s);
    static const struct { const char *h; size_t data; const char *needle; } bad[] = {
        { "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,9]}}", 9, "do not match" },
        { "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 8, "out of range" },
        { "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "out of range" },
        { "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", 8, "out of range" },
        { "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "overlap" },
        { "{\"x\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4611686018427387904],\"data_offsets\":[0,0]}}", 8, "do not match" },
        { "{\"x\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 8, "dimensions" },
        { "{\"x\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 8, "bad shape" },
        { "{\"x\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 8, "bad shape" },
        { "{\"x\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, "dtype C64" },
        { "{\"x\":{\"dtype\":\"F32\",\"shape\":[1]}}", 8, "data_offsets" },
        { "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "duplicate key" },
        { "[1,2]", 0, "not a safetensors header" },
        { "{\"x\":[]}", 0, "needs dtype" },
        { "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},}", 8, "JSON" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        src_set_init(&s);
        bark_status st = st_parse(bad[i].h, bad[i].data, &s, &err);
        expect_refusal(st, &err, "hand.safetensors", bad[i].needle);
        assert_int_equal(s.n, 0);
        src_set_free(&s);
    }
    /* a header length past the end, and a file shorter than the length field */
    uint8_t buf[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}' };
    src_set_init(&s);
    expect_refusal(src_parse_safetensors_mem(&s, buf, 10, "", "h.safetensors", &err), &err, "h.safetensors", "past the end");
    expect_refusal(src_parse_safetensors_mem(&s, buf, 7, "", "h.safetensors", &err), &err, "h.safetensors", "too short");
    src_set_free(&s);
}

/* ---- every prefix of every small valid file is refused cleanly ---- */

typedef bark_status (*mem_reader)(const uint8_t *buf, size_t n, const char *label, bark_error *err);

static bark_status rd_safetensors(const uint8_t *buf, size_t n, const char *label, bark_error *err) {
    src_set s;
    src_set_init(&s);
    bark_status st = src_parse_safetensors_mem(&s, buf, n, "", label, err);
    src_set_free(&s);
    return st;
}

static bark_status rd_npy(const uint8_t *buf, size_t n, const char *label, bark_error *err) {
    src_set s;
    src_set_init(&s);
    bark_status st = src_parse_npy_mem(&s, buf, n, "x", label, err);
    src_set_free(&s);
    return st;
}

static bark_status rd_npz(const uint8_t *buf, size_t n, const char *label, bark_error *err) {
    src_set s;
    src_set_init(&s);
    bark_status st = src_parse_npz_mem(&s, buf, n, "", label, err);
    src_set_free(&s);
    return st;
}

static bark_status rd_torch(const uint8_t *buf, size_t n, const char *label, bark_error *err) {
    torch_file *tf = NULL;
    bark_status st = torch_open_mem(buf, n, label, &tf, err);
    if (st == BARK_OK) {
        src_set s;
        src_set_init(&s);
        st = torch_dict_tensors(tf, torch_root(tf), "", &s, err);
        src_set_free(&s);
    }
    torch_close(tf);
    return st;
}

static bark_status rd_json(const uint8_t *buf, size_t n, const char *label, bark_error *err) {
    cJSON *root = NULL;
    bark_status st = json_parse((const char *)buf, n, &root, err);
    cJSON_Delete(root);
    if (st != BARK_OK) bark_err_prefix(err, "%s: ", label);
    return st;
}

static void test_truncation_every_prefix(void **state) {
    (void)state;
    static const struct { const char *file; mem_reader rd; } files[] = {
        { "model.safetensors", rd_safetensors }, { "c_order.npy", rd_npy }, { "f_order.npy", rd_npy },
        { "v2.npy", rd_npy }, { "v3.npy", rd_npy }, { "stored.npz", rd_npz }, { "compressed.npz", rd_npz },
        { "comment.npz", rd_npz }, { "zip64.npz", rd_npz }, { "state.pt", rd_torch }, { "suno.pt", rd_torch },
    };
    size_t total = 0;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char path[128];
        snprintf(path, sizeof path, DIR "%s", files[f].file);
        size_t size;
        uint8_t *all = slurp(path, &size);
        bark_error err;
        if (files[f].rd == rd_torch) {
            /* the whole file reads (the root is a dict; suno.pt's root holds no tensor directly) */
            assert_int_equal(files[f].rd(all, size, files[f].file, &err), BARK_OK);
        } else if (files[f].rd(all, size, files[f].file, &err) != BARK_OK) {
            fail_msg("%s", err.msg);
        }
        for (size_t n = 0; n < size; n++) {
            uint8_t *part = malloc(n ? n : 1); /* exact size: ASan sees any over-read */
            memcpy(part, all, n);
            bark_status st = files[f].rd(part, n, files[f].file, &err);
            expect_refusal(st, &err, files[f].file, NULL);
            free(part);
            total++;
        }
        free(all);
    }
    const char *doc = "{\"a\": [1, -2.5e3, true, false, null, \"x\\u00e9\\ud83d\\ude00\"], \"b\": {\"c\": \"\"}}";
    for (size_t n = 0; n < strlen(doc); n++) {
        bark_error err;
        char *part = malloc(n ? n : 1);
        memcpy(part, doc, n);
        expect_refusal(rd_json((const uint8_t *)part, n, "doc.json", &err), &err, "doc.json", "JSON");
        free(part);
        total++;
    }
    print_message("refused %zu truncated inputs\n", total);
    assert_true(total > 10000);
}

/* ---- zip ---- */

static void test_zip_damage(void **state) {
    (void)state;
    size_t size;
    uint8_t *orig = slurp(DIR "compressed.npz", &size), *buf = malloc(size);
    zip_archive z;
    bark_error err;
    assert_int_equal(zip_open_mem(&z, orig, size, "c.npz", &err), BARK_OK);
    assert_int_equal(z.n, 6);
    const zip_entry *e = zip_find(&z, "coarse.npy");
    assert_non_null(e);
    assert_int_equal(e->method, 8);
    uint64_t data_off = e->data_offset, comp = e->comp_size, hdr = e->header_offset;
    zip_close(&z);
    /* find coarse.npy's central directory record */
    size_t cd = 0;
    for (size_t i = 0; i + 46 < size; i++)
        if (memcmp(orig + i, "PK\1\2", 4) == 0 && memcmp(orig + i + 46, "coarse.npy", 10) == 0) cd = i;
    assert_true(cd > 0);
    static const struct { const char *what; bark_status st; const char *needle; } cases[] = {
        { "flip a deflated byte", BARK_ERR_FORMAT, "coarse.npy" },
        { "wrong CRC", BARK_ERR_FORMAT, "CRC-32" },
        { "larger declared size", BARK_ERR_FORMAT, "corrupt or not" },
        { "smaller declared size", BARK_ERR_FORMAT, "corrupt or not" },
        { "absurd declared size", BARK_ERR_UNSUPPORTED, "too large" },
        { "encrypted", BARK_ERR_UNSUPPORTED, "encrypted" },
        { "method 12", BARK_ERR_UNSUPPORTED, "method 12" },
        { "offset past the directory", BARK_ERR_FORMAT, "out of range" },
        { "offset into another member", BARK_ERR_FORMAT, "local header" },
        { "compressed size past the directory", BARK_ERR_FORMAT, "out of range" },
        { "no end record", BARK_ERR_FORMAT, "end of central directory" },
        { "entry count too large", BARK_ERR_FORMAT, "does not fit" },
        { "local header name length", BARK_ERR_FORMAT, "disagrees" },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        memcpy(buf, orig, size);
        switch (c) {
        case 0: buf[data_off + comp / 2] ^= 0x55; break;
        case 1: buf[cd + 16] ^= 1; break;
        case 2: buf[cd + 24] += 1; break;
        case 3: buf[cd + 24] -= 1; break;
        case 4: buf[cd + 24] = 0xfe; buf[cd + 25] = 0xff; buf[cd + 26] = 0xff; buf[cd + 27] = 0x7f; break;
        case 5: buf[cd + 8] |= 1; break;
        case 6: buf[cd + 10] = 12; break;
        case 7: buf[cd + 43] = 0xff; break;
        case 8: buf[cd + 42] = (uint8_t)(hdr + 1); buf[cd + 43] = (uint8_t)((hdr + 1) >> 8); break;
        case 9: buf[cd + 22] = 0xff; break;
        case 10: memset(buf + size - 22, 0, 4); break;
        case 11: buf[size - 22 + 10] = 0xff; buf[size - 22 + 8] = 0xff; break;
        case 12: buf[hdr + 26] += 1; break;
        }
        src_set s;
        src_set_init(&s);
        bark_status st = src_parse_npz_mem(&s, buf, size, "", "c.npz", &err);
        if (st != cases[c].st) fail_msg("%s: status %d: %s", cases[c].what, (int)st, err.msg);
        expect_refusal(st, &err, "c.npz", cases[c].needle);
        assert_int_equal(s.n, 0);
        src_set_free(&s);
    }
    free(buf);
    free(orig);
}

static void test_empty_and_missing_files(void **state) {
    (void)state;
    char path[] = "/tmp/bark_readers_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    src_set s;
    src_set_init(&s);
    bark_error err;
    bark_status st = src_read_safetensors(&s, path, "", &err);
    expect_refusal(st, &err, path, "empty file");
    st = src_read_npz(&s, path, "", &err);
    expect_refusal(st, &err, path, "empty file");
    torch_file *tf;
    st = torch_open(path, &tf, &err);
    expect_refusal(st, &err, path, "empty file");
    remove(path);
    st = src_read_npy(&s, path, "x", &err);
    expect_refusal(st, &err, path, "cannot open");
    assert_int_equal(st, BARK_ERR_IO);
    st = src_read_npy(&s, "tests", "x", &err);
    expect_refusal(st, &err, "tests", "not a regular file");
    src_set_free(&s);
}

/* ---- JSON ---- */

static void test_json_documents(void **state) {
    (void)state;
    const char *doc = " {\"int\": 9007199254740992, \"min\": -9223372036854775808, \"big\": 1e400, \"f\": -0.5e-2,"
                      " \"two\": 2.0, \"s\": \"a\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u20ac\\ud83d\\ude00\", \"t\": true,"
                      " \"n\": null, \"arr\": [[], {}, [1]], \"huge\": 123456789012345678901234567890} ";
    cJSON *root;
    bark_error err;
    assert_int_equal(json_parse(doc, strlen(doc), &root, &err), BARK_OK);
    int64_t v;
    assert_true(json_int(cJSON_GetObjectItemCaseSensitive(root, "int"), 0, INT64_MAX, &v) && v == 9007199254740992LL);
    assert_false(json_int(cJSON_GetObjectItemCaseSensitive(root, "int"), 0, 9007199254740991LL, &v));
    assert_true(json_int(cJSON_GetObjectItemCaseSensitive(root, "min"), INT64_MIN, 0, &v) && v == INT64_MIN);
    assert_false(json_int(cJSON_GetObjectItemCaseSensitive(root, "big"), INT64_MIN, INT64_MAX, &v));
    assert_false(json_int(cJSON_GetObjectItemCaseSensitive(root, "f"), INT64_MIN, INT64_MAX, &v));
    assert_true(json_int(cJSON_GetObjectItemCaseSensitive(root, "two"), 2, 2, &v) && v == 2);
    assert_false(json_int(cJSON_GetObjectItemCaseSensitive(root, "two"), 3, 9, &v));
    assert_false(json_int(cJSON_GetObjectItemCaseSensitive(root, "huge"), INT64_MIN, INT64_MAX, &v));
    assert_false(json_int(cJSON_GetObjectItemCaseSensitive(root, "s"), INT64_MIN, INT64_MAX, &v));
    assert_false(json_int(NULL, INT64_MIN, INT64_MAX, &v));
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "s")),
                        "a\"\\/\b\f\n\r\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    assert_null(cJSON_GetObjectItemCaseSensitive(root, "INT")); /* keys are case-sensitive */
    assert_int_equal(cJSON_GetArraySize(root), 10);
    cJSON_Delete(root);
    /* what cJSON refuses, and what json_parse refuses besides: text after the value, a key twice, not UTF-8 */
    static const struct { const char *doc; const char *needle; } bad[] = {
        { "", "line 1 column 1" }, { " ", "JSON line" }, { "[1,]", "JSON line" }, { "{\"a\":1,}", "JSON line" },
        { "-", "JSON line" }, { ".5", "JSON line" }, { "1e", "column 2" }, { "+1", "JSON line" },
        { "\"\\x\"", "JSON line" }, { "\"\\ud800\"", "JSON line" }, { "\"\\udc00\"", "JSON line" },
        { "\"\\ud800\\u0041\"", "JSON line" }, { "\"\\u12\"", "JSON line" }, { "\"abc", "JSON line" },
        { "tru", "JSON line" }, { "nul", "JSON line" }, { "nullx", "text after" }, { "{1:2}", "JSON line" },
        { "{\"a\" 1}", "JSON line" }, { "[1 2]", "JSON line" }, { "NaN", "JSON line" },
        { "[1]\n 2", "line 2 column 2: text after the value" }, { "{}\x01", "text after" },
        { "{\"a\":1,\"b\":{\"a\":2,\"a\":3}}", "duplicate key \"a\"" }, { "\"\xff\"", "not UTF-8" },
        { "[\"\xc0\xaf\"]", "not UTF-8" }, { "\"\xed\xa0\x80\"", "not UTF-8" }, { "\"\xf4\x90\x80\x80\"", "not UTF-8" },
        { "\"\xe2\x82\"", "not UTF-8" }, { "{\"\xe9\":1}", "key is not UTF-8" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        root = (cJSON *)1;
        bark_status st = json_parse(bad[i].doc, strlen(bad[i].doc), &root, &err);
        if (st == BARK_OK) fail_msg("accepted %s", bad[i].doc);
        assert_int_equal(st, BARK_ERR_FORMAT);
        assert_null(root);
        if (!strstr(err.msg, "JSON") || !strstr(err.msg, bad[i].needle)) fail_msg("%s: %s", bad[i].doc, err.msg);
    }
    /* nesting past cJSON's limit is refused, not a deep recursion */
    enum { DEEP = CJSON_NESTING_LIMIT + 1 };
    char *deep = malloc(2 * DEEP);
    assert_non_null(deep);
    memset(deep, '[', DEEP);
    memset(deep + DEEP, ']', DEEP);
    assert_int_equal(json_parse(deep, 2 * DEEP, &root, &err), BARK_ERR_FORMAT);
    assert_int_equal(json_parse(deep + 1, 2 * DEEP - 2, &root, &err), BARK_OK);
    cJSON_Delete(root);
    free(deep);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expected_values),      cmocka_unit_test(test_torch_state_dict),
        cmocka_unit_test(test_torch_suno_layout),    cmocka_unit_test(test_torch_hostile),
        cmocka_unit_test(test_pickle_opcodes),       cmocka_unit_test(test_pickle_tensors),       cmocka_unit_test(test_real_voice),
        cmocka_unit_test(test_npy_refusals),         cmocka_unit_test(test_safetensors_headers),
        cmocka_unit_test(test_truncation_every_prefix), cmocka_unit_test(test_zip_damage),
        cmocka_unit_test(test_empty_and_missing_files), cmocka_unit_test(test_json_documents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
