/* text_split.c: long text -> pieces for one generation each, cut at sentence, clause or word boundaries. */
#include "text/text_split.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

static int is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

/* Bytes of a full-width sentence end at s[i] (U+3002, U+FF01, U+FF1F), which needs no space after it. */
static size_t cjk_stop(const unsigned char *s, size_t i, size_t end) {
    if (i + 3 > end) return 0;
    if (s[i] == 0xE3 && s[i + 1] == 0x80 && s[i + 2] == 0x82) return 3;
    if (s[i] == 0xEF && s[i + 1] == 0xBC && (s[i + 2] == 0x81 || s[i + 2] == 0x9F)) return 3;
    return 0;
}

/* How good a cut right before s[i] is (start < i < end): 3 sentence end, 2 clause end, 1 word gap, 0 none. */
static int cut_rank(const unsigned char *s, size_t i, size_t start, size_t end) {
    if (!is_space(s[i])) return i >= start + 3 && cjk_stop(s, i - 3, i) ? 3 : 0;
    if (is_space(s[i - 1])) return 0; /* cut at the first space of a run */
    if (s[i] == '\n' && i + 1 < end && s[i + 1] == '\n') return 3;
    size_t j = i;
    while (j > start && (s[j - 1] == '"' || s[j - 1] == '\'' || s[j - 1] == ')' || s[j - 1] == ']')) j--;
    if (j > start) {
        unsigned char c = s[j - 1];
        if (c == '.' || c == '!' || c == '?') return 3;
        if (j >= start + 3 && s[j - 3] == 0xE2 && s[j - 2] == 0x80 && c == 0xA6) return 3; /* U+2026 */
        if (c == ',' || c == ';' || c == ':' || c == '-') return 2;
        if (j >= start + 3 && s[j - 3] == 0xE2 && s[j - 2] == 0x80 && (c == 0x93 || c == 0x94)) return 2; /* dashes */
    }
    return 1;
}

bark_status text_split(const char *text, size_t len, size_t max_len, text_piece **out, size_t *n, bark_error *err) {
    const unsigned char *s = (const unsigned char *)text;
    *out = NULL;
    *n = 0;
    if (max_len < 1) return bark_fail(err, BARK_ERR_ARG, "text split: the piece limit must be at least 1 byte");
    size_t b = 0, e = len;
    while (b < e && is_space(s[b])) b++;
    while (e > b && is_space(s[e - 1])) e--;
    if (b == e) return bark_fail(err, BARK_ERR_ARG, "empty text");
    size_t cap = (e - b) / (max_len / 2 + 1) + 2, count = 0; /* every piece but the last is > max_len/3 or a word */
    text_piece *p = malloc(cap * sizeof *p);
    if (!p) return bark_fail(err, BARK_ERR_NOMEM, "text split: out of memory");
    size_t pos = b;
    while (pos < e) {
        size_t cut;
        if (e - pos <= max_len) {
            cut = e;
        } else {
            /* the best cut inside the limit: a sentence end past a third of it, else a clause end, else a gap */
            size_t best[4] = {0, 0, 0, 0}, lim = pos + max_len;
            for (size_t i = pos + 1; i <= lim; i++) {
                int r = cut_rank(s, i, pos, e);
                if (r) best[r] = i;
            }
            size_t third = pos + max_len / 3;
            cut = best[3] > third ? best[3] : best[2] > third ? best[2] : best[1] ? best[1] : best[3] ? best[3] : best[2];
            if (!cut) { /* one word longer than the limit: it stays whole */
                cut = lim;
                while (cut < e && !is_space(s[cut])) cut++;
            }
        }
        size_t pe = cut;
        while (pe > pos && is_space(s[pe - 1])) pe--;
        if (count == cap) {
            text_piece *q = realloc(p, 2 * cap * sizeof *p);
            if (!q) {
                free(p);
                return bark_fail(err, BARK_ERR_NOMEM, "text split: out of memory");
            }
            p = q, cap *= 2;
        }
        p[count].off = pos, p[count].len = pe - pos, count++;
        pos = cut;
        while (pos < e && is_space(s[pos])) pos++;
    }
    *out = p;
    *n = count;
    return BARK_OK;
}

bark_status text_split_lead(const char *text, text_piece **pieces, size_t *n, bark_error *err) {
    if (*n < 2) return BARK_OK;
    const unsigned char *s = (const unsigned char *)text;
    size_t pos = (*pieces)[0].off, e = pos + (*pieces)[0].len, best[4] = {0, 0, 0, 0};
    for (size_t i = pos + TEXT_SPLIT_LEAD_MIN; i < e; i++) {
        int r = cut_rank(s, i, pos, e);
        if (r >= 2 && !best[r]) best[r] = i;
    }
    size_t cut = best[3] ? best[3] : best[2];
    if (!cut) return BARK_OK;
    text_piece *p = realloc(*pieces, (*n + 1) * sizeof *p);
    if (!p) return bark_fail(err, BARK_ERR_NOMEM, "text split: out of memory");
    memmove(p + 1, p, *n * sizeof *p);
    size_t pe = cut, rest = cut;
    while (pe > pos && is_space(s[pe - 1])) pe--;
    while (rest < e && is_space(s[rest])) rest++;
    p[0].len = pe - pos;
    p[1].off = rest, p[1].len = e - rest;
    *pieces = p;
    (*n)++;
    return BARK_OK;
}
