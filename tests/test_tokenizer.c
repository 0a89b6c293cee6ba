/* test_tokenizer.c: the C tokenizer against transformers' slow BertTokenizer and Bark's text block goldens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/bark_constants.h"
#include "text/tokenizer.h"
#include "util/testutil.h"

#define VOCAB "models/bert-base-multilingual-cased/vocab.txt"
#define DATA "tests/data/tokenizer/"
#define MAX_LINES 4096

static bark_tokenizer *tok;

/* A golden text file split into NUL-terminated lines (the buffer is modified in place). */
typedef struct lines {
    char *buf;
    char *line[MAX_LINES];
    size_t n;
} lines;

static void read_lines(const char *path, lines *l) {
    size_t len;
    l->buf = (char *)tu_read_file(path, &len);
    assert_non_null(l->buf);
    l->n = 0;
    char *p = l->buf;
    while (p < l->buf + len) {
        char *e = memchr(p, '\n', (size_t)(l->buf + len - p));
        assert_non_null(e);
        *e = '\0';
        assert_true(l->n < MAX_LINES);
        l->line[l->n++] = p;
        p = e + 1;
    }
}

static size_t put_utf8(uint32_t c, char *o) {
    if (c < 0x80) { o[0] = (char)c; return 1; }
    if (c < 0x800) { o[0] = (char)(0xC0 | c >> 6); o[1] = (char)(0x80 | (c & 63)); return 2; }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | c >> 12); o[1] = (char)(0x80 | (c >> 6 & 63)); o[2] = (char)(0x80 | (c & 63));
        return 3;
    }
    o[0] = (char)(0xF0 | c >> 18); o[1] = (char)(0x80 | (c >> 12 & 63));
    o[2] = (char)(0x80 | (c >> 6 & 63)); o[3] = (char)(0x80 | (c & 63));
    return 4;
}

static uint32_t hex4(const char *s) {
    char h[5] = {s[0], s[1], s[2], s[3], 0};
    return (uint32_t)strtoul(h, NULL, 16);
}

/* Decodes one JSON string literal (the whole line) into UTF-8 bytes; returns their count. */
static size_t json_string(const char *s, char *out) {
    size_t n = 0;
    assert_int_equal(*s, '"');
    for (s++; *s != '"'; s++) {
        assert_true(*s != '\0');
        if (*s != '\\') { out[n++] = *s; continue; }
        s++;
        switch (*s) {
        case 'n': out[n++] = '\n'; break;
        case 't': out[n++] = '\t'; break;
        case 'r': out[n++] = '\r'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'u': {
            uint32_t c = hex4(s + 1);
            s += 4;
            if (c >= 0xD800 && c < 0xDC00) { /* a surrogate pair */
                assert_true(s[1] == '\\' && s[2] == 'u');
                c = 0x10000 + ((c - 0xD800) << 10) + (hex4(s + 3) - 0xDC00);
                s += 6;
            }
            n += put_utf8(c, out + n);
            break;
        }
        default: out[n++] = *s; break; /* \" \\ \/ */
        }
    }
    assert_int_equal(s[1], '\0');
    return n;
}

/* Parses up to cap space-separated integers. */
static size_t parse_ids(const char *s, int32_t *ids, size_t cap) {
    size_t n = 0;
    char *e;
    for (;;) {
        while (*s == ' ') s++;
        if (!*s) return n;
        long v = strtol(s, &e, 10);
        assert_true(e != s && n < cap);
        ids[n++] = (int32_t)v;
        s = e;
    }
}

static int group_setup(void **state) {
    (void)state;
    bark_error err = {0};
    if (bark_tokenizer_load_vocab(VOCAB, &tok, &err) != BARK_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    bark_tokenizer_free(tok);
    return 0;
}

static void test_vocab_size(void **state) {
    (void)state;
    assert_int_equal(bark_tokenizer_size(tok), 119547);
}

/* Every corpus line gives exactly the slow tokenizer's ids (what suno's Bark runs). */
static void test_corpus_equals_slow(void **state) {
    (void)state;
    static lines corpus, gold;
    read_lines(DATA "corpus.txt", &corpus);
    read_lines(DATA "slow_ids.txt", &gold);
    assert_int_equal(corpus.n, gold.n);
    assert_true(corpus.n >= 2000);
    static char text[1 << 16];
    static int32_t want[8192], got[8192];
    size_t bad = 0, total_ids = 0;
    double secs = 0;
    for (size_t i = 0; i < corpus.n; i++) {
        size_t len = json_string(corpus.line[i], text);
        size_t nw = parse_ids(gold.line[i], want, 8192), ng = 0;
        bark_error err = {0};
        clock_t c0 = clock();
        bark_status st = bark_tokenize(tok, text, len, got, 8192, &ng, &err);
        secs += (double)(clock() - c0) / CLOCKS_PER_SEC;
        assert_int_equal(st, BARK_OK);
        total_ids += ng;
        if (ng != nw || memcmp(got, want, nw * sizeof *got) != 0) {
            if (bad < 10) {
                fprintf(stderr, "line %zu %.60s: got %zu ids, want %zu\n", i + 1, corpus.line[i], ng, nw);
                for (size_t k = 0; k < ng && k < 12; k++) fprintf(stderr, " %d", got[k]);
                fprintf(stderr, " | want");
                for (size_t k = 0; k < nw && k < 12; k++) fprintf(stderr, " %d", want[k]);
                fprintf(stderr, "\n");
            }
            bad++;
        }
    }
    printf("corpus: %zu lines, %zu ids, %zu mismatches, %.1f ms\n", corpus.n, total_ids, bad, secs * 1e3);
    assert_int_equal(bad, 0);
    assert_true(secs < 1.0);
    free(corpus.buf);
    free(gold.buf);
}

/* Byte strings (mostly ill-formed UTF-8) give the slow ids of Python's decode(errors="replace"). */
static void test_bytes_equal_slow(void **state) {
    (void)state;
    static lines hex, gold;
    read_lines(DATA "bytes.txt", &hex);
    read_lines(DATA "bytes_ids.txt", &gold);
    assert_int_equal(hex.n, gold.n);
    for (size_t i = 0; i < hex.n; i++) {
        char b[256];
        size_t n = strlen(hex.line[i]) / 2;
        for (size_t k = 0; k < n; k++) {
            char h[3] = {hex.line[i][2 * k], hex.line[i][2 * k + 1], 0};
            b[k] = (char)strtoul(h, NULL, 16);
        }
        int32_t want[64], got[64];
        size_t nw = parse_ids(gold.line[i], want, 64), ng;
        assert_int_equal(bark_tokenize(tok, b, n, got, 64, &ng, NULL), BARK_OK);
        if (ng != nw || memcmp(got, want, nw * sizeof *got)) fail_msg("bytes %s", hex.line[i]);
    }
    free(hex.buf);
    free(gold.buf);
}

/* Bark's full preprocessing (whitespace normalisation, offset, truncation, padding) on a subset. */
static void test_semantic_input(void **state) {
    (void)state;
    static lines corpus, gold;
    read_lines(DATA "corpus.txt", &corpus);
    read_lines(DATA "bark_inputs.txt", &gold);
    static char text[1 << 16];
    size_t n_err = 0, n_trunc = 0, n_ok = 0;
    for (size_t i = 0; i < gold.n; i++) {
        char *rest;
        size_t li = strtoul(gold.line[i], &rest, 10);
        assert_true(li < corpus.n);
        size_t len = json_string(corpus.line[li], text);
        int32_t out[256], want[256];
        size_t n_text = 999;
        int trunc = -1;
        bark_error err = {0};
        bark_status st = bark_text_to_semantic_input(tok, text, len, out, &n_text, &trunc, &err);
        if (strcmp(rest, " ERR") == 0) {
            assert_int_equal(st, BARK_ERR_ARG);
            assert_non_null(strstr(err.msg, "empty text"));
            n_err++;
            continue;
        }
        int32_t head[260];
        size_t nh = parse_ids(rest, head, 260);
        assert_true(nh >= 3);
        size_t kept = (size_t)head[0];
        assert_int_equal(nh, 3 + kept);
        for (size_t k = 0; k < 256; k++) want[k] = k < kept ? head[3 + k] : head[2];
        if (st != BARK_OK) fail_msg("line %zu: %s", li + 1, err.msg);
        assert_int_equal(n_text, kept);
        assert_int_equal(trunc, head[1]);
        if (memcmp(out, want, sizeof out)) fail_msg("corpus line %zu: text block differs", li + 1);
        n_trunc += (size_t)trunc;
        n_ok++;
    }
    printf("bark inputs: %zu ok (%zu truncated), %zu empty\n", n_ok, n_trunc, n_err);
    assert_true(n_trunc > 0 && n_err > 0 && n_ok > 100);
    free(corpus.buf);
    free(gold.buf);
}

static void test_empty_text(void **state) {
    (void)state;
    const char *cases[] = {"", " ", "\t\n\r\v\f", "\xc2\xa0\xe3\x80\x80", "\xe2\x80\xa8 \xc2\x85", "\x1c\x1d\x1e\x1f"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int32_t out[256];
        size_t n;
        int tr;
        bark_error err = {0};
        assert_int_equal(bark_text_to_semantic_input(tok, cases[i], strlen(cases[i]), out, &n, &tr, &err),
                         BARK_ERR_ARG);
        assert_non_null(strstr(err.msg, "empty text"));
    }
    /* not whitespace, so Bark accepts it, but it has no ids: an all-pad block */
    int32_t out[256];
    size_t n = 9;
    int tr = 9;
    assert_int_equal(bark_text_to_semantic_input(tok, "\x01\xe2\x80\x8b", 4, out, &n, &tr, NULL), BARK_OK);
    assert_int_equal(n, 0);
    assert_int_equal(tr, 0);
    for (int k = 0; k < 256; k++) assert_int_equal(out[k], BARK_TEXT_PAD_TOKEN);
}

static void test_buffer_too_small(void **state) {
    (void)state;
    const char *s = "Hello, my name is Suno [laughter]";
    int32_t all[64], few[4] = {-1, -1, -1, -1};
    size_t n_all, n;
    assert_int_equal(bark_tokenize(tok, s, strlen(s), all, 64, &n_all, NULL), BARK_OK);
    assert_true(n_all > 4);
    bark_error err = {0};
    assert_int_equal(bark_tokenize(tok, s, strlen(s), few, 3, &n, &err), BARK_ERR_ARG);
    assert_int_equal(n, n_all);
    assert_non_null(strstr(err.msg, "too small"));
    assert_memory_equal(few, all, 3 * sizeof *few);
    assert_int_equal(few[3], -1);
    assert_int_equal(bark_tokenize(tok, s, strlen(s), NULL, 0, &n, NULL), BARK_ERR_ARG); /* size query */
    assert_int_equal(n, n_all);
    assert_int_equal(bark_tokenize(tok, s, strlen(s), all, n_all, &n, NULL), BARK_OK);
    assert_int_equal(bark_tokenize(NULL, s, 1, all, 64, &n, &err), BARK_ERR_ARG);
    assert_int_equal(bark_tokenize(tok, NULL, 1, all, 64, &n, &err), BARK_ERR_ARG);
    assert_int_equal(bark_tokenize(tok, s, 1, NULL, 64, &n, &err), BARK_ERR_ARG);
}

/* Random bytes never crash and give the same ids whatever the buffer size. */
static void test_random_bytes(void **state) {
    (void)state;
    uint64_t x = 88172645463325252ull;
    char b[300];
    int32_t a[1024], c[8];
    for (int it = 0; it < 20000; it++) {
        size_t n = (size_t)(it % 300);
        for (size_t k = 0; k < n; k++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            unsigned v = (unsigned)(x >> 24);
            b[k] = (char)((v & 3) == 0 ? "[UNK] \xcc\x81\xe4\xb8\x80"[v >> 2 & 7] : (int)(v >> 8 & 0xFF));
        }
        size_t na, nc;
        assert_int_equal(bark_tokenize(tok, b, n, a, 1024, &na, NULL), BARK_OK);
        bark_status st = bark_tokenize(tok, b, n, c, 8, &nc, NULL);
        assert_int_equal(nc, na);
        assert_int_equal(st, na > 8 ? BARK_ERR_ARG : BARK_OK);
        assert_memory_equal(a, c, (na < 8 ? na : 8) * sizeof *a);
        for (size_t k = 0; k < na; k++) assert_true(a[k] >= 0 && a[k] < 119547);
    }
}

static bark_tokenizer *tiny(const char *const *v, size_t n, bark_error *err) {
    uint32_t lens[32];
    for (size_t i = 0; i < n; i++) lens[i] = (uint32_t)strlen(v[i]);
    bark_tokenizer *t = NULL;
    return bark_tokenizer_create(v, lens, n, &t, err) == BARK_OK ? t : NULL;
}

/* Greedy longest-match WordPiece, whole-word [UNK], repeated tokens keep their last id. */
static void test_wordpiece_rules(void **state) {
    (void)state;
    const char *v[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "unaff", "##a",
                       "b", "un", ",", "##é"};
    bark_error err = {0};
    bark_tokenizer *t = tiny(v, 14, &err);
    assert_non_null(t);
    int32_t ids[16];
    size_t n;
    assert_int_equal(bark_tokenize(t, "unaffable", 9, ids, 16, &n, NULL), BARK_OK);
    assert_int_equal(n, 2); /* "unaff" then "##able" (longest match first) */
    assert_int_equal(ids[0], 8);
    assert_int_equal(ids[1], 7);
    assert_int_equal(bark_tokenize(t, "un,unx b", 8, ids, 16, &n, NULL), BARK_OK);
    assert_int_equal(n, 4); /* "un" is id 11 (last), ",", whole "unx" -> [UNK], "b" */
    assert_int_equal(ids[0], 11);
    assert_int_equal(ids[1], 12);
    assert_int_equal(ids[2], 1);
    assert_int_equal(ids[3], 10);
    assert_int_equal(bark_tokenize(t, "une\xcc\x81", 5, ids, 16, &n, NULL), BARK_OK); /* NFC makes "##é" */
    assert_int_equal(n, 2);
    assert_int_equal(ids[1], 13);
    bark_tokenizer_free(t);
    const char *nounk[] = {"[PAD]", "[CLS]", "[SEP]", "[MASK]", "a"};
    assert_null(tiny(nounk, 5, &err));
    assert_int_equal(err.status, BARK_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "[UNK]"));
}

static void test_vocab_file_forms(void **state) {
    (void)state;
    char *dir = tu_tmpdir();
    assert_non_null(dir);
    char path[512];
    snprintf(path, sizeof path, "%s/v.txt", dir);
    /* universal newlines: "\r\n", lone "\r", "\n", no final newline; an empty line is a token */
    const char crlf[] = "[PAD]\r\n[UNK]\r[CLS]\n[SEP]\r\n\n[MASK]\r\nab\r\ncd";
    assert_int_equal(tu_write_file(path, crlf, sizeof crlf - 1), 0);
    bark_tokenizer *t = NULL;
    bark_error err = {0};
    assert_int_equal(bark_tokenizer_load_vocab(path, &t, &err), BARK_OK);
    assert_int_equal(bark_tokenizer_size(t), 8);
    int32_t ids[4];
    size_t n;
    assert_int_equal(bark_tokenize(t, "ab cd [MASK]", 12, ids, 4, &n, NULL), BARK_OK);
    assert_int_equal(n, 3);
    assert_int_equal(ids[0], 6);
    assert_int_equal(ids[1], 7);
    assert_int_equal(ids[2], 5);
    bark_tokenizer_free(t);
    const char badutf[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n\xff\n";
    assert_int_equal(tu_write_file(path, badutf, sizeof badutf - 1), 0);
    assert_int_equal(bark_tokenizer_load_vocab(path, &t, &err), BARK_ERR_FORMAT);
    assert_null(t);
    assert_non_null(strstr(err.msg, "UTF-8"));
    assert_int_equal(tu_write_file(path, "", 0), 0);
    assert_int_equal(bark_tokenizer_load_vocab(path, &t, &err), BARK_ERR_FORMAT);
    snprintf(path, sizeof path, "%s/missing.txt", dir);
    assert_int_equal(bark_tokenizer_load_vocab(path, &t, &err), BARK_ERR_IO);
    assert_non_null(strstr(err.msg, "missing.txt"));
    tu_rmtree(dir);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vocab_size),
        cmocka_unit_test(test_corpus_equals_slow),
        cmocka_unit_test(test_bytes_equal_slow),
        cmocka_unit_test(test_semantic_input),
        cmocka_unit_test(test_empty_text),
        cmocka_unit_test(test_buffer_too_small),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_wordpiece_rules),
        cmocka_unit_test(test_vocab_file_forms),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
