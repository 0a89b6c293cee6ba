/* fuzz_tokenizer.c: libFuzzer target: random bytes through bark_tokenize (small buffer) and the text block. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/tokenizer.h"

#define VOCAB "models/bert-base-multilingual-cased/vocab.txt"

/* A small vocabulary used when the real one is not at hand (fuzzing from another directory). */
static bark_tokenizer *tiny(void) {
    static const char *const v[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "##a", "é", "##\xcc\x81",
                                    "[", "]", ".", "\xe4\xb8\x80", "ab", "##b", "=", "\xe2\x89\xa0"};
    uint32_t lens[sizeof v / sizeof *v];
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) lens[i] = (uint32_t)strlen(v[i]);
    bark_tokenizer *t = NULL;
    if (bark_tokenizer_create(v, lens, sizeof v / sizeof *v, &t, NULL) != BARK_OK) abort();
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static bark_tokenizer *t;
    if (!t && bark_tokenizer_load_vocab(VOCAB, &t, NULL) != BARK_OK) t = tiny();
    size_t n_big = 0, n_small = 0, n_text = 0;
    int32_t small[4], big[2048], block[256];
    int truncated = 0;
    bark_error err;
    bark_status st = bark_tokenize(t, (const char *)data, size, small, 4, &n_small, &err);
    if (st != BARK_OK && (st != BARK_ERR_ARG || n_small <= 4)) abort();
    if (bark_tokenize(t, (const char *)data, size, big, 2048, &n_big, &err) == BARK_OK) {
        if (n_big != n_small || memcmp(big, small, (n_big < 4 ? n_big : 4) * sizeof *big)) abort();
        for (size_t i = 0; i < n_big; i++)
            if (big[i] < 0 || (size_t)big[i] >= bark_tokenizer_size(t)) abort();
    }
    st = bark_text_to_semantic_input(t, (const char *)data, size, block, &n_text, &truncated, &err);
    if (st == BARK_OK && (n_text > 256 || (truncated && n_text != 256))) abort();
    return 0;
}
