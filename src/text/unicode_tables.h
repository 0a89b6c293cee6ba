/* unicode_tables.h: generated Unicode property, combining-class and NFC tables of the BERT tokenizer. */
#ifndef BARK_UNICODE_TABLES_H
#define BARK_UNICODE_TABLES_H

#include <stddef.h>
#include <stdint.h>

/* Flag bits of ut_flags (one byte per code point, from Python's unicodedata). */
enum {
    UT_DROP = 1,      /* removed by BERT's cleaner: U+0000, U+FFFD, category C* except TAB, LF, CR */
    UT_TOSPACE = 2,   /* turned into ' ' by the cleaner: SPACE, TAB, LF, CR, category Zs */
    UT_PUNCT = 4,     /* BERT punctuation: ASCII 33-47, 58-64, 91-96, 123-126 or category P* */
    UT_SPACE = 8,     /* Python str.isspace() (also regex \s) */
    UT_BOUNDARY = 16, /* NFC never acts across the point before this char */
    UT_NFC_SELF = 32  /* NFC of this char alone is itself */
};

#define UT_MAX_DECOMP 4 /* longest full canonical decomposition */

typedef struct ut_decomp {
    uint32_t cp;
    uint16_t off, len; /* into ut_decomp_pool */
} ut_decomp;

typedef struct ut_pair {
    uint64_t key; /* first << 21 | second */
    uint32_t composite;
} ut_pair;

extern const uint16_t ut_flags_index[0x110000 / 256];
extern const uint8_t ut_flags_blocks[][256];
extern const uint16_t ut_ccc_index[0x110000 / 256];
extern const uint8_t ut_ccc_blocks[][256];
extern const uint32_t ut_decomp_pool[];
extern const ut_decomp ut_decomps[]; /* sorted by cp; Hangul syllables are not listed */
extern const size_t ut_n_decomps;
extern const ut_pair ut_pairs[]; /* sorted by key; Hangul compositions are not listed */
extern const size_t ut_n_pairs;

/* cp must be < 0x110000. */
static inline unsigned ut_flags(uint32_t cp) { return ut_flags_blocks[ut_flags_index[cp >> 8]][cp & 255]; }
static inline unsigned ut_ccc(uint32_t cp) { return ut_ccc_blocks[ut_ccc_index[cp >> 8]][cp & 255]; }

#endif
