/* fuzz_speech.c: libFuzzer target for the body of POST /v1/audio/speech (srv_speech_check) against the tiny model. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve/srv.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static serve g_serve; /* only its context is read: the voices a request may name */

/* The tiny test model (tests/data/tiny/hf, run from the repository's root) converted once, then opened. */
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    char path[] = "/tmp/fuzz_speech_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) abort();
    close(fd);
    const char *src[] = {"tests/data/tiny/hf"};
    bark_convert_params p = bark_convert_default_params();
    bark_context *ctx;
    bark_error err;
    if (bark_convert(src, 1, path, &p, &err) || bark_context_open(path, &ctx, &err)) {
        fprintf(stderr, "fuzz_speech: %s (run from the repository's root)\n", err.msg);
        abort();
    }
    unlink(path); /* mapped: the name is not needed any more */
    g_serve.ctx = ctx;
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
