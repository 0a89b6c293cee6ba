/* fuzz_safetensors.c: libFuzzer target for the safetensors reader (header JSON, offsets, dtypes). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    src_set s;
    bark_error err;
    src_set_init(&s);
    if (src_parse_safetensors_mem(&s, data, size, "p.", "fuzz.safetensors", &err) == BARK_OK) {
        /* every tensor must lie inside the input */
        for (size_t i = 0; i < s.n; i++) {
            const src_tensor *t = &s.t[i];
            if (t->nbytes && (t->data < data || t->data + t->nbytes > data + size)) abort();
            if (src_set_find(&s, t->name) == NULL) abort();
        }
    } else if (!strstr(err.msg, "fuzz.safetensors")) {
        abort();
    }
    src_set_free(&s);
    return 0;
}
