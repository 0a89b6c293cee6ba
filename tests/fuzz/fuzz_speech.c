/* fuzz_speech.c: libFuzzer target for the body of POST /v1/audio/speech (srv_speech_check) against the tiny model. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve/srv.h"
#include "tiny_model.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static serve g_serve; /* only its context is read: the voices a request may name */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    g_serve.ctx = fuzz_tiny_context("fuzz_speech");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    srv_speech_req q = {0};
    srv_refusal r = {.code = NULL};
    if (srv_speech_check(&g_serve, (const char *)data, size, &q, &r) == 0) {
        if (!q.text || !q.voice || !srv_known_voice(&g_serve, q.voice) || srv_characters(q.text) == 0) abort();
        free(q.text), free(q.voice);
    } else if (!r.code || !r.msg[0] || q.text || q.voice) {
        abort(); /* a refusal names its code and leaves nothing allocated */
    }
    return 0;
}
