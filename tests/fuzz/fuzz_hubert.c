/* fuzz_hubert.c: libFuzzer target: a model file in memory -> hubert_load / hubq_load and, when they accept it
 * and it is small, one forward pass of each (seed: corpus/hubert/micro.gguf, see tools/make_hubert_goldens.py). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clone/hubert.h"
#include "model/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    bark_model *m = NULL;
    bark_error err;
    if (bark_model_from_buffer(data, size, "fuzz.gguf", &m, &err)) return 0;
    hubert_model h;
    hubq_model q;
    const size_t n = 2000; /* 5 frames at the base strides */
    if (!hubert_load(m, &h, &err) && (size_t)h.hp.n_embd * (size_t)(h.hp.n_ff + h.hp.conv_dim) < 100000 &&
        h.hp.n_layer <= 4 && h.hp.pos_kernel <= 64) {
        const size_t T = hubert_frames(&h.hp, n);
        float *x = calloc(n, sizeof *x), *out = calloc(T ? T * (size_t)h.hp.n_embd : 1, sizeof *out);
        for (size_t i = 0; x && i < n; i++) x[i] = (float)((i * 37) % 101) / 101.0f - 0.5f;
        if (x && out && T) (void)hubert_forward(&h, x, n, out, &err);
        free(x);
        free(out);
    }
    if (!hubq_load(m, &q, &err)) {
        if ((size_t)q.n_out * (size_t)(q.n_inter + q.n_hidden) < 1000000 && q.n_in <= 1024) {
            float *f = calloc(4 * (size_t)q.n_in, sizeof *f);
            int32_t tok[4];
            if (f) (void)hubq_tokens(&q, f, 4, tok, NULL, &err);
            free(f);
        }
        hubq_free(&q);
    }
    bark_model_close(m);
    return 0;
}
