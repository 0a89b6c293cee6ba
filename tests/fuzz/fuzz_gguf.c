/* fuzz_gguf.c: libFuzzer entry for the GGUF parser and the model validation built on it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *copy = malloc(size ? size : 1); /* exact size: ASan catches any over-read */
    if (!copy) return 0;
    memcpy(copy, data, size);
    bark_model *m = NULL;
    bark_error err;
    if (bark_model_from_buffer(copy, size, "fuzz.gguf", &m, &err) == BARK_OK) {
        for (size_t i = 0; i < bark_model_voice_count(m); i++) (void)bark_model_voice_name(m, i);
        const char *const *tok;
        const uint32_t *len;
        size_t n = bark_model_vocab(m, &tok, &len);
        volatile unsigned sum = 0;
        for (size_t i = 0; i < n; i++) sum += len[i] ? (unsigned char)tok[i][len[i] - 1] : 0;
        bark_model_close(m);
    }
    free(copy);
    return 0;
}
