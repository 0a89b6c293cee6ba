/* tokenizer.c: the slow mBERT BertTokenizer of Bark (cleaning, CJK, NFC, splitting, WordPiece) and text block. */
#include "text/tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bark_constants.h"
#include "core/error.h"
#include "text/unicode_tables.h"

#define MAX_WORD_CHARS 100   /* WordPiece's max_input_chars_per_word */
#define SEG_CAP 512          /* code points of one NFC segment held for exact normalisation */
#define OVERLONG 0x110000u   /* stands for > MAX_WORD_CHARS letters from an over-long NFC segment */
#define N_SPECIAL 5

static const char *const special_str[N_SPECIAL] = {"[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"};

typedef struct slot {
    uint32_t hash;
    uint32_t idx1; /* token index + 1; 0 = empty */
} slot;

struct bark_tokenizer {
    char *pool;      /* bytes of every token */
    size_t *off;     /* token i = pool[off[i] .. off[i] + len[i]) */
    uint32_t *len;
    size_t n;
    slot *slots;
    size_t mask;
    uint32_t max_len;
    int32_t special[N_SPECIAL]; /* ids of special_str */
};

/* ---- vocabulary hash table (FNV-1a) ---- */

#define FNV_BASIS 2166136261u
#define FNV_PRIME 16777619u

static uint32_t fnv(uint32_t h, const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * FNV_PRIME;
    return h;
}

/* Id of ("##" if cont) + bytes[0..n), or -1. */
static int32_t vocab_find(const bark_tokenizer *t, int cont, const unsigned char *bytes, size_t n) {
    size_t total = n + (cont ? 2 : 0);
    if (total > t->max_len) return -1;
    uint32_t h = fnv(FNV_BASIS, (const unsigned char *)"##", cont ? 2 : 0);
    h = fnv(h, bytes, n);
    for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
        const slot *s = &t->slots[i];
        if (!s->idx1) return -1;
        if (s->hash != h) continue;
        size_t k = s->idx1 - 1;
        const char *tok = t->pool + t->off[k];
        if (t->len[k] == total && (!cont || memcmp(tok, "##", 2) == 0) &&
            memcmp(tok + (cont ? 2 : 0), bytes, n) == 0)
            return (int32_t)k;
    }
}

static void vocab_insert(bark_tokenizer *t, size_t k) {
    const unsigned char *tok = (const unsigned char *)t->pool + t->off[k];
    uint32_t h = fnv(FNV_BASIS, tok, t->len[k]);
    for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
        slot *s = &t->slots[i];
        if (!s->idx1) {
            s->hash = h;
            s->idx1 = (uint32_t)k + 1;
            return;
        }
        size_t o = s->idx1 - 1;
        if (s->hash == h && t->len[o] == t->len[k] && memcmp(t->pool + t->off[o], tok, t->len[k]) == 0) {
            s->idx1 = (uint32_t)k + 1; /* a repeated token keeps its last id, as a Python dict does */
            return;
        }
    }
}

bark_status bark_tokenizer_create(const char *const *tokens, const uint32_t *lens, size_t n,
                                  bark_tokenizer **out, bark_error *err) {
    if (!out || (n && (!tokens || !lens))) return bark_fail(err, BARK_ERR_ARG, "tokenizer: NULL argument");
    *out = NULL;
    if (n == 0 || n > ((size_t)1 << 30))
        return bark_fail(err, BARK_ERR_FORMAT, "tokenizer: vocabulary of %zu tokens (need 1 .. 2^30)", n);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (!tokens[i] && lens[i]) return bark_fail(err, BARK_ERR_ARG, "tokenizer: token %zu is NULL", i);
        if (lens[i] > SIZE_MAX - total) return bark_fail(err, BARK_ERR_FORMAT, "tokenizer: vocabulary too large");
        total += lens[i];
    }
    size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    bark_tokenizer *t = calloc(1, sizeof *t);
    if (t) {
        t->pool = malloc(total ? total : 1);
        t->off = malloc(n * sizeof *t->off);
        t->len = malloc(n * sizeof *t->len);
        t->slots = calloc(cap, sizeof *t->slots);
    }
    if (!t || !t->pool || !t->off || !t->len || !t->slots) {
        bark_tokenizer_free(t);
        return bark_fail(err, BARK_ERR_NOMEM, "tokenizer: out of memory for %zu tokens", n);
    }
    t->n = n;
    t->mask = cap - 1;
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        if (lens[i]) memcpy(t->pool + pos, tokens[i], lens[i]);
        t->off[i] = pos;
        t->len[i] = lens[i];
        pos += lens[i];
        if (lens[i] > t->max_len) t->max_len = lens[i];
        vocab_insert(t, i);
    }
    for (int k = 0; k < N_SPECIAL; k++) {
        t->special[k] = vocab_find(t, 0, (const unsigned char *)special_str[k], strlen(special_str[k]));
        if (t->special[k] < 0) {
            bark_tokenizer_free(t);
            return bark_fail(err, BARK_ERR_FORMAT, "tokenizer: vocabulary lacks the special token %s", special_str[k]);
        }
    }
    *out = t;
    return BARK_OK;
}

void bark_tokenizer_free(bark_tokenizer *t) {
    if (!t) return;
    free(t->pool);
    free(t->off);
    free(t->len);
    free(t->slots);
    free(t);
}

size_t bark_tokenizer_size(const bark_tokenizer *t) { return t ? t->n : 0; }

/* ---- UTF-8 ---- */

/* Decodes one code point of p[0..n) (n > 0) into *cp; an ill-formed sequence gives U+FFFD and consumes
 * its maximal subpart, as Python's "replace" error handler does. Returns the bytes consumed. */
static size_t utf8_next(const unsigned char *p, size_t n, uint32_t *cp) {
    unsigned b0 = p[0], need, lo = 0x80, hi = 0xBF;
    if (b0 < 0x80) {
        *cp = b0;
        return 1;
    }
    *cp = 0xFFFD;
    if (b0 < 0xC2 || b0 > 0xF4) return 1;
    if (b0 < 0xE0) {
        need = 1;
    } else if (b0 < 0xF0) {
        need = 2;
        if (b0 == 0xE0) lo = 0xA0;
        if (b0 == 0xED) hi = 0x9F;
    } else {
        need = 3;
        if (b0 == 0xF0) lo = 0x90;
        if (b0 == 0xF4) hi = 0x8F;
    }
    uint32_t v = b0 & (0x3Fu >> need);
    for (unsigned k = 1; k <= need; k++) {
        if (k >= n) return k;
        unsigned b = p[k];
        if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return k;
        v = (v << 6) | (b & 0x3F);
    }
    *cp = v;
    return need + 1;
}

static size_t utf8_put(uint32_t cp, unsigned char *o) {
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- NFC pieces ---- */

#define SBASE 0xAC00u
#define LBASE 0x1100u
#define VBASE 0x1161u
#define TBASE 0x11A7u
#define LCOUNT 19u
#define VCOUNT 21u
#define TCOUNT 28u
#define SCOUNT (LCOUNT * VCOUNT * TCOUNT)

static unsigned flags_of(uint32_t cp) { return cp < 0x110000 ? ut_flags(cp) : 0; }

static int is_cjk(uint32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* Writes the full canonical decomposition of cp to o (room for UT_MAX_DECOMP); returns its length. */
static size_t decompose(uint32_t cp, uint32_t *o) {
    if (cp >= SBASE && cp < SBASE + SCOUNT) {
        uint32_t s = cp - SBASE;
        o[0] = LBASE + s / (VCOUNT * TCOUNT);
        o[1] = VBASE + s % (VCOUNT * TCOUNT) / TCOUNT;
        if (s % TCOUNT == 0) return 2;
        o[2] = TBASE + s % TCOUNT;
        return 3;
    }
    size_t lo = 0, hi = ut_n_decomps;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ut_decomps[mid].cp < cp) lo = mid + 1;
        else hi = mid;
    }
    if (lo < ut_n_decomps && ut_decomps[lo].cp == cp) {
        const ut_decomp *d = &ut_decomps[lo];
        memcpy(o, ut_decomp_pool + d->off, d->len * sizeof *o);
        return d->len;
    }
    o[0] = cp;
    return 1;
}

/* Primary composite of (a, b), or 0. */
static uint32_t compose(uint32_t a, uint32_t b) {
    if (a >= LBASE && a < LBASE + LCOUNT && b >= VBASE && b < VBASE + VCOUNT)
        return SBASE + ((a - LBASE) * VCOUNT + (b - VBASE)) * TCOUNT;
    if (a >= SBASE && a < SBASE + SCOUNT && (a - SBASE) % TCOUNT == 0 && b > TBASE && b < TBASE + TCOUNT)
        return a + (b - TBASE);
    uint64_t key = (uint64_t)a << 21 | b;
    size_t lo = 0, hi = ut_n_pairs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ut_pairs[mid].key < key) lo = mid + 1;
        else hi = mid;
    }
    return lo < ut_n_pairs && ut_pairs[lo].key == key ? ut_pairs[lo].composite : 0;
}

/* NFC of seg[0..n) into d (room for n * UT_MAX_DECOMP); returns the output length. */
static size_t nfc_segment(const uint32_t *seg, size_t n, uint32_t *d) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++) m += decompose(seg[i], d + m);
    for (size_t i = 1; i < m; i++) { /* canonical order: stable sort of each run of non-starters */
        uint32_t c = d[i];
        unsigned cc = ut_ccc(c);
        if (!cc) continue;
        size_t j = i;
        while (j > 0 && ut_ccc(d[j - 1]) > cc) {
            d[j] = d[j - 1];
            j--;
        }
        d[j] = c;
    }
    size_t starter = 0, o = 1;
    unsigned last = ut_ccc(d[0]) ? 256 : 0;
    for (size_t i = 1; i < m; i++) {
        uint32_t c = d[i];
        unsigned cc = ut_ccc(c);
        uint32_t comp = compose(d[starter], c);
        if (comp && (last < cc || last == 0)) {
            d[starter] = comp;
            continue;
        }
        if (cc == 0) starter = o;
        last = cc;
        d[o++] = c;
    }
    return o;
}

/* ---- the streaming pipeline: chars -> NFC segments -> words -> WordPiece tokens -> ids ---- */

typedef struct run_state {
    const bark_tokenizer *t;
    int32_t *ids;
    size_t cap, n; /* ids written up to cap; n counts all */
    /* current NFC segment (starts at a UT_BOUNDARY char) */
    uint32_t seg[SEG_CAP];
    size_t seg_n;
    int seg_over;         /* more than SEG_CAP chars arrived */
    int run_done;         /* over-long segments: the first run of non-starters after the lead has ended */
    uint32_t first_ccc1;  /* first char of class 1 in that run (the only class that composes with '<=>') */
    /* current whitespace-delimited word: its first chars are held back to spot "[UNK]" and friends */
    uint32_t head[6];
    size_t wlen;          /* chars seen, saturating at 7 */
    /* current WordPiece token */
    unsigned char tb[4 * MAX_WORD_CHARS];
    uint16_t toff[MAX_WORD_CHARS + 1];
    size_t tn;
    int tover;            /* longer than MAX_WORD_CHARS */
    int32_t pieces[MAX_WORD_CHARS];
    uint32_t dbuf[SEG_CAP * UT_MAX_DECOMP];
} run_state;

static void emit(run_state *s, int32_t id) {
    if (s->n < s->cap) s->ids[s->n] = id;
    s->n++;
}

static void wordpiece(run_state *s) {
    const bark_tokenizer *t = s->t;
    size_t start = 0, np = 0;
    while (start < s->tn) {
        int32_t id = -1;
        size_t end = s->tn;
        for (; end > start; end--) {
            id = vocab_find(t, start > 0, s->tb + s->toff[start], (size_t)(s->toff[end] - s->toff[start]));
            if (id >= 0) break;
        }
        if (id < 0) {
            emit(s, t->special[0]);
            return;
        }
        s->pieces[np++] = id;
        start = end;
    }
    for (size_t i = 0; i < np; i++) emit(s, s->pieces[i]);
}

static void tok_end(run_state *s) {
    if (s->tover) emit(s, s->t->special[0]);
    else if (s->tn) wordpiece(s);
    s->tn = 0;
    s->tover = 0;
}

static void tok_in(run_state *s, uint32_t cp) {
    if (flags_of(cp) & UT_PUNCT) {
        tok_end(s);
        unsigned char b[4];
        int32_t id = vocab_find(s->t, 0, b, utf8_put(cp, b));
        emit(s, id >= 0 ? id : s->t->special[0]);
        return;
    }
    if (cp == OVERLONG || s->tn == MAX_WORD_CHARS) {
        s->tover = 1;
        return;
    }
    s->toff[s->tn + 1] = (uint16_t)(s->toff[s->tn] + utf8_put(cp, s->tb + s->toff[s->tn]));
    s->tn++;
}

/* Id of the special token spelled by the word's chars, or -1 (BasicTokenizer never splits those). */
static int32_t special_word(const run_state *s) {
    for (int k = 0; k < N_SPECIAL; k++) {
        const char *w = special_str[k];
        size_t i = 0;
        while (i < s->wlen && w[i] && s->head[i] == (unsigned char)w[i]) i++;
        if (i == s->wlen && !w[i]) return s->t->special[k];
    }
    return -1;
}

static void word_end(run_state *s) {
    if (s->wlen <= 6) {
        int32_t id = s->wlen >= 5 ? special_word(s) : -1;
        if (id >= 0) {
            emit(s, id);
            s->wlen = 0;
            return;
        }
        for (size_t i = 0; i < s->wlen; i++) tok_in(s, s->head[i]);
    }
    tok_end(s);
    s->wlen = 0;
}

static void word_in(run_state *s, uint32_t cp) {
    if (flags_of(cp) & UT_SPACE) {
        word_end(s);
        return;
    }
    if (s->wlen < 6) {
        s->head[s->wlen++] = cp;
        return;
    }
    if (s->wlen == 6) {
        for (size_t i = 0; i < 6; i++) tok_in(s, s->head[i]);
        s->wlen = 7;
    }
    tok_in(s, cp);
}

/* Notes the decomposition chars after a segment's lead for the over-long path of nfc_flush. */
static void track_run(run_state *s, const uint32_t *d, size_t n) {
    for (size_t i = 0; i < n && !s->run_done; i++) {
        unsigned cc = ut_ccc(d[i]);
        if (cc == 0) s->run_done = 1;
        else if (cc == 1 && !s->first_ccc1) s->first_ccc1 = d[i];
    }
}

static void nfc_flush(run_state *s) {
    size_t n = s->seg_n;
    if (!n) return;
    s->seg_n = 0;
    if (s->seg_over) {
        /* NFC output >= (SEG_CAP + 1) / 4 chars, none punctuation or space but perhaps the first: the
         * lead's first decomposed char p, unless p is '<', '=' or '>' and composes with U+0338
         * (tools/gen_unicode_tables.py checks these facts). The rest makes its token [UNK]. */
        s->seg_over = 0;
        uint32_t d[UT_MAX_DECOMP];
        decompose(s->seg[0], d);
        uint32_t p = d[0];
        if ((ut_flags(p) & (UT_PUNCT | UT_SPACE)) && !(s->first_ccc1 && compose(p, s->first_ccc1))) word_in(s, p);
        word_in(s, OVERLONG);
        return;
    }
    if (n == 1 && (ut_flags(s->seg[0]) & UT_NFC_SELF)) {
        word_in(s, s->seg[0]);
        return;
    }
    size_t m = nfc_segment(s->seg, n, s->dbuf);
    for (size_t i = 0; i < m; i++) word_in(s, s->dbuf[i]);
}

static void track_char(run_state *s, uint32_t cp, int skip_first) {
    uint32_t d[UT_MAX_DECOMP];
    size_t k = decompose(cp, d);
    if (k > (size_t)skip_first) track_run(s, d + skip_first, k - (size_t)skip_first);
}

static void nfc_in(run_state *s, uint32_t cp) {
    if (ut_flags(cp) & UT_BOUNDARY) {
        nfc_flush(s);
        s->seg[0] = cp;
        s->seg_n = 1;
        return;
    }
    if (s->seg_n < SEG_CAP) {
        s->seg[s->seg_n++] = cp;
        return;
    }
    if (!s->seg_over) { /* the run is only needed on this rare path: look back over the held chars once */
        s->seg_over = 1;
        s->run_done = 0;
        s->first_ccc1 = 0;
        track_char(s, s->seg[0], 1);
        for (size_t i = 1; i < SEG_CAP; i++) track_char(s, s->seg[i], 0);
    }
    track_char(s, cp, 0);
}

/* BERT's cleaner and CJK isolation, then NFC. */
static void char_in(run_state *s, uint32_t cp) {
    unsigned f = ut_flags(cp);
    if (f & UT_DROP) return;
    if (f & UT_TOSPACE) cp = ' ';
    if (is_cjk(cp)) {
        nfc_in(s, ' ');
        nfc_in(s, cp);
        nfc_in(s, ' ');
    } else {
        nfc_in(s, cp);
    }
}

static void chunk_end(run_state *s) {
    nfc_flush(s);
    word_end(s);
}

/* Length of the special token spelled at p[0..n) ('[' first), and its index in *k; 0 if none. */
static size_t special_at(const unsigned char *p, size_t n, int *k) {
    for (int i = 0; i < N_SPECIAL; i++) {
        size_t l = strlen(special_str[i]);
        if (l <= n && memcmp(p, special_str[i], l) == 0) {
            *k = i;
            return l;
        }
    }
    return 0;
}

static void run(run_state *s, const unsigned char *p, size_t len, int squash_space) {
    size_t i = 0;
    while (i < len) {
        int k;
        size_t l = p[i] == '[' ? special_at(p + i, len - i, &k) : 0;
        if (l) {
            chunk_end(s);
            emit(s, s->t->special[k]);
            i += l;
            continue;
        }
        uint32_t cp;
        i += utf8_next(p + i, len - i, &cp);
        if (squash_space && (ut_flags(cp) & UT_SPACE)) cp = ' ';
        char_in(s, cp);
    }
    chunk_end(s);
}

static bark_status tokenize(const bark_tokenizer *t, const char *utf8, size_t len, int32_t *ids, size_t cap,
                            size_t *n_ids, int squash_space, bark_error *err) {
    run_state st; /* about 12 KiB of stack, no allocation */
    run_state *s = &st;
    s->t = t;
    s->ids = ids;
    s->cap = cap;
    s->n = 0;
    s->seg_n = 0;
    s->seg_over = 0;
    s->wlen = 0;
    s->tn = 0;
    s->toff[0] = 0;
    s->tover = 0;
    run(s, (const unsigned char *)utf8, len, squash_space);
    *n_ids = s->n;
    return BARK_OK;
}

bark_status bark_tokenize(const bark_tokenizer *t, const char *utf8, size_t len, int32_t *ids, size_t cap,
                          size_t *n_ids, bark_error *err) {
    if (!t || !n_ids || (!utf8 && len) || (!ids && cap))
        return bark_fail(err, BARK_ERR_ARG, "tokenizer: NULL argument");
    bark_status st = tokenize(t, utf8, len, ids, cap, n_ids, 0, err);
    if (st) return st;
    if (*n_ids > cap)
        return bark_fail(err, BARK_ERR_ARG, "tokenizer: ids buffer too small (text has %zu ids, room for %zu)",
                         *n_ids, cap);
    return BARK_OK;
}

bark_status bark_text_to_semantic_input(const bark_tokenizer *t, const char *utf8, size_t len, int32_t out[256],
                                        size_t *n_text, int *truncated, bark_error *err) {
    if (!t || !out || !n_text || !truncated || (!utf8 && len))
        return bark_fail(err, BARK_ERR_ARG, "tokenizer: NULL argument");
    const unsigned char *p = (const unsigned char *)utf8;
    int empty = 1;
    for (size_t i = 0; i < len && empty;) {
        uint32_t cp;
        i += utf8_next(p + i, len - i, &cp);
        if (!(ut_flags(cp) & UT_SPACE)) empty = 0;
    }
    if (empty) return bark_fail(err, BARK_ERR_ARG, "tokenizer: empty text (nothing but whitespace)");
    size_t n;
    bark_status st = tokenize(t, utf8, len, out, BARK_TEXT_BLOCK, &n, 1, err);
    if (st) return st;
    size_t kept = n < BARK_TEXT_BLOCK ? n : BARK_TEXT_BLOCK;
    for (size_t i = 0; i < kept; i++) out[i] += BARK_TEXT_ENCODING_OFFSET;
    for (size_t i = kept; i < BARK_TEXT_BLOCK; i++) out[i] = BARK_TEXT_PAD_TOKEN;
    *n_text = kept;
    *truncated = n > BARK_TEXT_BLOCK;
    return BARK_OK;
}

/* ---- vocab.txt ---- */

static int utf8_valid(const unsigned char *p, size_t n, size_t *bad) {
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = utf8_next(p + i, n - i, &cp);
        if (cp == 0xFFFD && !(k == 3 && p[i] == 0xEF && p[i + 1] == 0xBF && p[i + 2] == 0xBD)) {
            *bad = i;
            return 0;
        }
        i += k;
    }
    return 1;
}

static bark_status read_file(const char *path, unsigned char **data, size_t *size, bark_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return bark_fail(err, BARK_ERR_IO, "%s: cannot open", path);
    size_t cap = 1 << 20, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        unsigned char *nb = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf) return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory reading the file", path);
    if (bad) {
        free(buf);
        return bark_fail(err, BARK_ERR_IO, "%s: read error", path);
    }
    *data = buf;
    *size = n;
    return BARK_OK;
}

bark_status bark_tokenizer_load_vocab(const char *path, bark_tokenizer **out, bark_error *err) {
    if (!path || !out) return bark_fail(err, BARK_ERR_ARG, "tokenizer: NULL argument");
    *out = NULL;
    unsigned char *data = NULL;
    size_t size = 0, bad = 0;
    bark_status st = read_file(path, &data, &size, err);
    if (st) return st;
    if (!utf8_valid(data, size, &bad)) {
        free(data);
        return bark_fail(err, BARK_ERR_FORMAT, "%s: invalid UTF-8 at byte %zu", path, bad);
    }
    size_t n = 0;
    for (size_t i = 0; i < size; i++) /* universal newlines: "\r\n", "\r", "\n" */
        if (data[i] == '\n' || (data[i] == '\r' && (i + 1 == size || data[i + 1] != '\n'))) n++;
    if (size && data[size - 1] != '\n' && data[size - 1] != '\r') n++;
    const char **tok = malloc((n ? n : 1) * sizeof *tok);
    uint32_t *len = malloc((n ? n : 1) * sizeof *len);
    if (!tok || !len) {
        free(tok);
        free(len);
        free(data);
        return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t k = 0, start = 0;
    for (size_t i = 0; i < size && st == BARK_OK; i++) {
        if (data[i] != '\n' && data[i] != '\r') continue;
        if (i - start > UINT32_MAX) st = bark_fail(err, BARK_ERR_FORMAT, "%s: line %zu too long", path, k + 1);
        tok[k] = (const char *)data + start;
        len[k++] = (uint32_t)(i - start);
        if (data[i] == '\r' && i + 1 < size && data[i + 1] == '\n') i++;
        start = i + 1;
    }
    if (st == BARK_OK && start < size) {
        if (size - start > UINT32_MAX) st = bark_fail(err, BARK_ERR_FORMAT, "%s: line %zu too long", path, k + 1);
        tok[k] = (const char *)data + start;
        len[k++] = (uint32_t)(size - start);
    }
    if (st == BARK_OK) {
        st = bark_tokenizer_create(tok, len, k, out, err);
        if (st) bark_err_prefix(err, "%s: ", path);
    }
    free(tok);
    free(len);
    free(data);
    return st;
}
