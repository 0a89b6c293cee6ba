/* fuzz_announce.c: libFuzzer target for the body of POST /v1/announce (ann_check) against the tiny model and a
 * chimes folder (tiny_model.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve/announce.h"
#include "tiny_model.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static serve g_serve; /* its context (the voices) and its announcer (the chimes folder; nothing is queued) */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_tiny_server(&g_serve, "fuzz_announce");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ann_request q = {0};
    srv_refusal r = {.code = NULL};
    if (ann_check(&g_serve, (const char *)data, size, &q, &r) == 0) {
        if (!q.text || !q.voice || !srv_known_voice(&g_serve, q.voice) || !(q.priority < ANN_N_PRIORITIES) ||
            !(q.volume >= 0 && q.volume <= 1) || (q.n_chime && !q.chime) ||
            q.n_chime > (size_t)ANN_MAX_CHIME_SECONDS * BARK_SAMPLE_RATE_HZ)
            abort();
        free(q.text), free(q.voice), free(q.chime);
    } else if (!r.code || !r.msg[0] || q.text || q.voice || q.chime) {
        abort(); /* a refusal names its code and leaves nothing allocated */
    }
    return 0;
}
