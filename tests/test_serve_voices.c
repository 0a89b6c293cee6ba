/* test_serve_voices.c: the user's voices in `bark serve`, in-process on the cloning test models: GET /v1/voices lists
 * them with "source":"user", speech in a user voice is bark_synthesize's, POST /v1/voices clones an upload (tiny
 * HuBERT) and refuses bad names, taken names, empty, silent, too long and too large bodies, leaving nothing behind. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bark.h"
#include "serve/serve.h"
#include "util/clone_models.h"
#include "util/serve_client.h"
#include "util/testutil.h"

typedef struct fixture {
    char *dir, model[512], hubert[512], voices[600], ref[600];
    bark_context *ctx;
    serve *s;
    int port;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    bark_error err = {BARK_OK, ""};
    if (!f || !(f->dir = tu_tmpdir())) return -1;
    snprintf(f->model, sizeof f->model, "%s/tiny.gguf", f->dir);
    snprintf(f->hubert, sizeof f->hubert, "%s/hubert.gguf", f->dir);
    snprintf(f->voices, sizeof f->voices, "%s/voices", f->dir);
    snprintf(f->ref, sizeof f->ref, "%s/ref.wav", f->dir);
    if (tu_clone_models(f->model, f->hubert) ||
        tu_write_voiced(f->ref, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 0.2, 4.0, 0.2, 0.3) ||
        bark_context_open(f->model, &f->ctx, &err))
        return -1;
    /* alice: stored beforehand, as `bark voices add` would */
    bark_voice v;
    bark_voice_origin o;
    bark_voice_store *st = NULL;
    bark_clone_params p = bark_clone_default_params();
    p.hubert_path = f->hubert;
    if (bark_voice_from_recording(f->ctx, f->ref, &p, 60, &v, &o, NULL, &err) ||
        bark_voice_store_open(f->voices, 1, &st, &err) || bark_voice_store_add(st, "alice", &v, &o, 0, &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    bark_voice_free(&v);
    bark_voice_store_close(st);
    serve_config cfg = serve_default_config();
    cfg.ctx = f->ctx, cfg.model = f->model, cfg.port = 0, cfg.no_speaker = 1;
    cfg.voices_dir = f->voices, cfg.hubert = f->hubert;
    if (serve_open(&cfg, &f->s, &err)) {
        fprintf(stderr, "serve_open: %s\n", err.msg);
        return -1;
    }
    f->port = serve_port(f->s);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    serve_close(f->s);
    bark_context_free(f->ctx);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* POSTs len bytes to path; the whole response. */
static ts_response post_bytes(int port, const char *path, const void *body, size_t len) {
    ts_response r;
    memset(&r, 0, sizeof r);
    const int fd = ts_dial(port);
    assert_true(fd >= 0);
    ts_send_request(fd, "POST", path, "Content-Type: audio/wav\r\n", body, len);
    if (ts_read_response(fd, &r)) fail_msg("no response to POST %s", path);
    close(fd);
    return r;
}

static void test_list(void **state) {
    fixture *f = *state;
    ts_response r = ts_http(f->port, "GET", "/v1/voices", "", NULL);
    assert_int_equal(r.status, 200);
    printf("  GET /v1/voices: %s\n", r.body);
    assert_non_null(strstr((char *)r.body, "{\"name\":\"alice\",\"language\":null,\"source\":\"user\",\"method\":\"hubert\""));
    ts_response_free(&r);
}

/* Speech in alice's voice: the bytes bark_synthesize makes with that voice from the folder. */
static void test_speech_in_user_voice(void **state) {
    fixture *f = *state;
    ts_response r = ts_http(f->port, "POST", "/v1/audio/speech", TS_JSON,
                            "{\"model\":\"bark\",\"input\":\"hi\",\"voice\":\"alice\",\"seed\":5,"
                            "\"response_format\":\"pcm\"}");
    if (r.status != 200) fail_msg("status %d: %s", r.status, r.body);
    tu_pcm pcm = {0};
    bark_synth_params p = bark_synth_default_params();
    p.voice = "alice", p.voices_dir = f->voices, p.seed = 5, p.on_audio = tu_collect, p.audio_user = &pcm;
    bark_error err;
    if (bark_synthesize(f->ctx, "hi", &p, NULL, &err)) fail_msg("%s", err.msg);
    int16_t *want = malloc(pcm.n * sizeof *want);
    bark_audio_to_s16(pcm.x, pcm.n, want);
    assert_int_equal(r.len, pcm.n * 2);
    assert_memory_equal(r.body, want, r.len);
    free(want), free(pcm.x);
    ts_response_free(&r);
    r = ts_http(f->port, "POST", "/v1/audio/speech", TS_JSON,
                "{\"model\":\"bark\",\"input\":\"hi\",\"voice\":\"nobody\"}");
    ts_is_error(&r, 400, "unknown_voice", "nobody");
    ts_response_free(&r);
}

static void test_upload(void **state) {
    fixture *f = *state;
    size_t len;
    uint8_t *wav = tu_read_file(f->ref, &len);
    assert_non_null(wav);
    ts_response r = post_bytes(f->port, "/v1/voices?name=bob", wav, len);
    printf("  POST /v1/voices?name=bob: %d %s\n", r.status, r.body);
    assert_int_equal(r.status, 201);
    assert_non_null(strstr((char *)r.body, "\"method\":\"hubert\""));
    ts_response_free(&r);
    r = ts_http(f->port, "GET", "/v1/voices", "", NULL);
    assert_non_null(strstr((char *)r.body, "{\"name\":\"bob\",\"language\":null,\"source\":\"user\""));
    assert_non_null(strstr((char *)r.body, "\"source_file\":\"upload\""));
    ts_response_free(&r);
    assert_int_equal(tu_count_entries(f->voices), 4);
    r = post_bytes(f->port, "/v1/voices?name=bob", wav, len);
    ts_is_error(&r, 409, "voice_exists", "bob");
    ts_response_free(&r);
    free(wav);
}

/* Bad uploads: one error each, the folder unchanged (no temporary left). */
static void test_bad_uploads(void **state) {
    fixture *f = *state;
    char silent[700], longer[700];
    snprintf(silent, sizeof silent, "%s/silent.wav", f->dir);
    snprintf(longer, sizeof longer, "%s/two-hours.wav", f->dir);
    assert_int_equal(tu_write_voiced(silent, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 2.0, 0.0, 0.0, 0.0), 0);
    assert_int_equal(tu_write_voiced(longer, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8, 1, 0.0, 7200.0, 0.0, 0.3), 0);
    const int before = tu_count_entries(f->voices);
    size_t n_silent, n_long, n_ref;
    uint8_t *b_silent = tu_read_file(silent, &n_silent), *b_long = tu_read_file(longer, &n_long),
            *b_ref = tu_read_file(f->ref, &n_ref);
    assert_true(b_silent && b_long && b_ref);
    ts_response r = post_bytes(f->port, "/v1/voices?name=..%2Fescape", b_ref, n_ref);
    ts_is_error(&r, 400, "invalid_value", "starts with '.'");
    ts_response_free(&r);
    r = post_bytes(f->port, "/v1/voices?name=a%2Fb", b_ref, n_ref);
    ts_is_error(&r, 400, "invalid_value", "'/'");
    ts_response_free(&r);
    r = post_bytes(f->port, "/v1/voices", b_ref, n_ref);
    ts_is_error(&r, 400, "missing_field", "name");
    ts_response_free(&r);
    r = post_bytes(f->port, "/v1/voices?name=alice", b_ref, n_ref);
    ts_is_error(&r, 409, "voice_exists", "alice");
    ts_response_free(&r);
    r = post_bytes(f->port, "/v1/voices?name=empty", "", 0);
    ts_is_error(&r, 400, "missing_body", "empty");
    ts_response_free(&r);
    r = post_bytes(f->port, "/v1/voices?name=quiet", b_silent, n_silent);
    ts_is_error(&r, 400, "bad_recording", "the upload: only silence");
    ts_response_free(&r);
    r = post_bytes(f->port, "/v1/voices?name=long", b_long, n_long);
    ts_is_error(&r, 400, "bad_recording", "7200 s long");
    ts_response_free(&r);
    r = post_bytes(f->port, "/v1/voices?name=junk", "RIFF junk, not a recording", 26);
    ts_is_error(&r, 400, "bad_recording", "the upload");
    ts_response_free(&r);
    const size_t big = 10 * 1024 * 1024 + 1;
    char *huge = calloc(1, big);
    assert_non_null(huge);
    r = post_bytes(f->port, "/v1/voices?name=huge", huge, big);
    ts_is_error(&r, 413, "body_too_large", "10485760");
    ts_response_free(&r);
    free(huge);
    assert_int_equal(tu_count_entries(f->voices), before);
    free(b_silent), free(b_long), free(b_ref);
    ts_still_serving(f->port);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_speech_in_user_voice),
        cmocka_unit_test(test_upload),
        cmocka_unit_test(test_bad_uploads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
