/* fuzz_voices.c: libFuzzer target for what the user's voice store reads: the first byte picks a NAME.json record
 * (voice_origin_parse), a NAME.npz prompt (voice_parse_npz, as bark_voice_load_npz reads it) or the body of
 * POST /v1/voices (a recording: bark_voice_from_recording, as `bark serve` and `bark voices add` call it, on the
 * tiny model and HuBERT, at most 1 s read so that each run stays short). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bark_constants.h"
#include "model/model.h"
#include "tiny_model.h"
#include "voices/voice_origin.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bark_context *g_ctx;
static char g_hubert[] = "/tmp/fuzz_hubert_XXXXXX", g_upload[] = "/tmp/fuzz_upload_XXXXXX";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    g_ctx = fuzz_tiny_context("fuzz_voices");
    const char *src[] = {"tests/data/hubert/tiny_hf", "tests/data/hubert/quant_v1.pth"};
    bark_convert_params p = bark_convert_default_params();
    bark_error err;
    int fd = mkstemp(g_hubert), up = mkstemp(g_upload);
    if (fd < 0 || up < 0) abort();
    close(fd), close(up);
    if (bark_convert(src, 2, g_hubert, &p, &err)) {
        fprintf(stderr, "fuzz_voices: %s (run from the repository's root)\n", err.msg);
        abort();
    }
    return 0; /* the two files are left in /tmp: a fuzz run ends by exit */
}

static void check_voice(const bark_voice *v) {
    if (!v->n_semantic || !v->semantic || !v->coarse || !v->fine) abort();
    for (size_t i = 0; i < v->n_semantic; i++)
        if (v->semantic[i] < 0 || v->semantic[i] >= BARK_SEMANTIC_VOCAB_SIZE) abort();
    for (size_t i = 0; i < 2 * v->n_coarse; i++)
        if (v->coarse[i] < 0 || v->coarse[i] >= BARK_CODEBOOK_SIZE) abort();
    for (size_t i = 0; i < 8 * v->n_fine; i++)
        if (v->fine[i] < 0 || v->fine[i] >= BARK_CODEBOOK_SIZE) abort();
}

static const bark_voice none;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!size) return 0;
    const int what = data[0] % 3;
    data++, size--;
    bark_error err = {BARK_OK, ""};
    bark_voice v;
    bark_voice_origin o;
    if (what == 0) {
        if (voice_origin_parse((const char *)data, size, "fuzz.json", &o, &err) == BARK_OK) {
            if (!memchr(o.method, 0, sizeof o.method) || !memchr(o.source, 0, sizeof o.source) ||
                !memchr(o.created, 0, sizeof o.created) || !(o.source_seconds >= 0) || !(o.kept_seconds >= 0))
                abort();
        } else if (!strstr(err.msg, "fuzz.json") || o.method[0]) {
            abort();
        }
    } else if (what == 1) {
        if (voice_parse_npz(data, size, "fuzz.npz", &v, &err) == BARK_OK) check_voice(&v);
        else if (!strstr(err.msg, "fuzz.npz") || memcmp(&v, &none, sizeof v)) abort();
        bark_voice_free(&v);
    } else {
        FILE *f = fopen(g_upload, "wb");
        if (!f || fwrite(data, 1, size, f) != size || fclose(f)) abort();
        bark_clone_params p = bark_clone_default_params();
        p.hubert_path = g_hubert;
        p.n_threads = 1;
        if (bark_voice_from_recording(g_ctx, g_upload, &p, 1.0, &v, &o, NULL, &err) == BARK_OK) {
            check_voice(&v);
            if (!o.method[0] || !o.source_sha256[0]) abort();
        } else if (!err.msg[0] || memcmp(&v, &none, sizeof v) || o.method[0]) {
            abort();
        }
        bark_voice_free(&v);
    }
    return 0;
}
