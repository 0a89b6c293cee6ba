/* fuzz_npz.c: libFuzzer target for the npy header parser and the npz (zip + inflate) reader. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;

static void check(const src_set *s) {
    for (size_t i = 0; i < s->n; i++) {
        const src_tensor *t = &s->t[i];
        size_t want;
        if (src_shape_bytes(t->dtype, t->n_dims, t->shape, &want) != BARK_OK || want != t->nbytes) abort();
        for (size_t k = 0; k < t->nbytes; k++) sink ^= t->data[k]; /* touch every byte: ASan checks the views */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    src_set s;
    bark_error err;
    src_set_init(&s);
    if (src_parse_npz_mem(&s, data, size, "v.", "fuzz.npz", &err) == BARK_OK) check(&s);
    else if (!strstr(err.msg, "fuzz.npz")) abort();
    src_set_free(&s);
    src_set_init(&s);
    if (src_parse_npy_mem(&s, data, size, "x", "fuzz.npy", &err) == BARK_OK) check(&s);
    else if (!strstr(err.msg, "fuzz.npy")) abort();
    src_set_free(&s);
    return 0;
}
