/* test_styles.c: speaking styles: the table applied as it says (prefix + text + suffix), the same text reaching the
 * tokenizer through the library (bark_synth_params.style), the CLI (--style) and the service ("style"), and unknown
 * styles refused in one line. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bark.h"
#include "serve/serve.h"
#include "util/serve_client.h"
#include "util/testutil.h"

typedef struct fixture {
    char *dir, model[512];
    bark_context *ctx;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (!f || !(f->dir = tu_tmpdir()) || ts_open_tiny(f->dir, f->model, sizeof f->model, &f->ctx)) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    bark_context_free(f->ctx);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* prefix + text + suffix of style s, by hand (malloc'd). */
static char *by_hand(const bark_style *s, const char *text) {
    const size_t n = strlen(s->prefix) + strlen(text) + strlen(s->suffix) + 1;
    char *t = malloc(n);
    assert_non_null(t);
    snprintf(t, n, "%s%s%s", s->prefix, text, s->suffix);
    return t;
}

static void test_table(void **state) {
    bark_error err;
    assert_true(bark_style_count() >= 4);
    assert_null(bark_style_at(bark_style_count()));
    for (size_t i = 0; i < bark_style_count(); i++) {
        const bark_style *s = bark_style_at(i);
        assert_ptr_equal(bark_style_find(s->name), s);
        assert_true(s->prefix[0] || s->suffix[0]); /* every style puts a cue somewhere */
        assert_non_null(s->description);
        for (size_t j = 0; j < i; j++) assert_string_not_equal(bark_style_at(j)->name, s->name);
        char *got = NULL, *want = by_hand(s, "The train leaves at nine.");
        assert_int_equal(bark_style_apply(s->name, "The train leaves at nine.", &got, &err), 0);
        assert_string_equal(got, want);
        bark_free(got);
        free(want);
    }
    char *got = (char *)"x";
    assert_int_equal(bark_style_apply("whispering", "Hi.", &got, &err), BARK_ERR_ARG);
    assert_null(got);
    assert_non_null(strstr(err.msg, "unknown style 'whispering'"));
    assert_non_null(strstr(err.msg, bark_style_at(0)->name));
    assert_null(bark_style_find(NULL));
}

/* The library: codes of a text in style s equal the codes of the table's text without a style, for every style. */
static void test_library(void **state) {
    fixture *f = *state;
    bark_error err;
    int differ = 0; /* styles whose codes differ from the plain text's: the cues do reach the model */
    for (size_t i = 0; i < bark_style_count(); i++) {
        const bark_style *s = bark_style_at(i);
        bark_synth_params p = bark_synth_default_params();
        p.seed = 11, p.max_seconds = 1.0;
        bark_codes a, b, plain;
        if (bark_text_to_codes(f->ctx, "Hello there.", &p, BARK_STAGE_SEMANTIC, &plain, &err)) fail_msg("%s", err.msg);
        char *hand = by_hand(s, "Hello there.");
        if (bark_text_to_codes(f->ctx, hand, &p, BARK_STAGE_SEMANTIC, &a, &err)) fail_msg("%s", err.msg);
        p.style = s->name;
        if (bark_text_to_codes(f->ctx, "Hello there.", &p, BARK_STAGE_SEMANTIC, &b, &err)) fail_msg("%s", err.msg);
        assert_int_equal(a.n_semantic, b.n_semantic);
        assert_memory_equal(a.semantic, b.semantic, a.n_semantic * sizeof *a.semantic);
        differ += plain.n_semantic != a.n_semantic ||
                  memcmp(plain.semantic, a.semantic, a.n_semantic * sizeof *a.semantic) != 0;
        bark_codes_free(&a), bark_codes_free(&b), bark_codes_free(&plain);
        free(hand);
    }
    printf("  %d of %zu styles change the codes of the plain text\n", differ, bark_style_count());
    assert_true(differ > 0);
    bark_synth_params p = bark_synth_default_params();
    p.style = "nope";
    bark_codes c;
    assert_int_equal(bark_text_to_codes(f->ctx, "Hi.", &p, BARK_STAGE_SEMANTIC, &c, &err), BARK_ERR_ARG);
    tu_pcm pcm = {0};
    p.on_audio = tu_collect, p.audio_user = &pcm;
    assert_int_equal(bark_synthesize(f->ctx, "Hi.", &p, NULL, &err), BARK_ERR_ARG);
    assert_int_equal(pcm.n, 0);
}

/* The CLI: `bark tokens --style sad` dumps the codes of "[sighs] ..." said plainly; a bad style: one line, exit 2. */
static void test_cli(void **state) {
    fixture *f = *state;
    const bark_style *s = bark_style_find("sad");
    assert_non_null(s);
    char cmd[4096], log[8192], d1[600], d2[600], p1[700], p2[700];
    snprintf(d1, sizeof d1, "%s/styled", f->dir);
    snprintf(d2, sizeof d2, "%s/plain", f->dir);
    snprintf(cmd, sizeof cmd, "%s tokens -q -m %s -s 4 --max-seconds 1 --style sad --dump %s 'Hello there.'", tu_bark(),
             f->model, d1);
    if (tu_run(cmd, log, sizeof log)) fail_msg("%s", log);
    snprintf(cmd, sizeof cmd, "%s tokens -q -m %s -s 4 --max-seconds 1 --dump %s '%sHello there.%s'", tu_bark(),
             f->model, d2, s->prefix, s->suffix);
    if (tu_run(cmd, log, sizeof log)) fail_msg("%s", log);
    for (int k = 0; k < 3; k++) {
        static const char *const files[3] = {"semantic.npy", "coarse.npy", "fine.npy"};
        snprintf(p1, sizeof p1, "%s/%s", d1, files[k]);
        snprintf(p2, sizeof p2, "%s/%s", d2, files[k]);
        size_t n1, n2;
        uint8_t *a = tu_read_file(p1, &n1), *b = tu_read_file(p2, &n2);
        assert_true(a && b);
        assert_int_equal(n1, n2);
        assert_memory_equal(a, b, n1);
        free(a), free(b);
    }
    snprintf(cmd, sizeof cmd, "%s say -m %s --style whispering -o %s/x.wav Hi.", tu_bark(), f->model, f->dir);
    assert_int_equal(tu_run(cmd, log, sizeof log), 2);
    printf("  %s", log);
    assert_int_equal(tu_lines(log), 1);
    assert_non_null(strstr(log, "unknown style 'whispering'"));
}

/* The service: "style" gives bark_synthesize's samples with that style; unknown or non-string styles get 400. */
static void test_serve(void **state) {
    fixture *f = *state;
    serve_config cfg = serve_default_config();
    cfg.ctx = f->ctx, cfg.model = f->model, cfg.port = 0, cfg.no_speaker = 1;
    serve *s = NULL;
    bark_error err;
    if (serve_open(&cfg, &s, &err)) fail_msg("%s", err.msg);
    const int port = serve_port(s);
    ts_response r = ts_http(port, "POST", "/v1/audio/speech", TS_JSON,
                            "{\"model\":\"bark\",\"input\":\"Hi.\",\"voice\":\"" TS_VOICE "\",\"seed\":3,"
                            "\"response_format\":\"pcm\",\"style\":\"cheerful\"}");
    if (r.status != 200) fail_msg("%d %s", r.status, r.body);
    tu_pcm pcm = {0};
    bark_synth_params p = bark_synth_default_params();
    p.voice = TS_VOICE, p.seed = 3, p.style = "cheerful", p.on_audio = tu_collect, p.audio_user = &pcm;
    if (bark_synthesize(f->ctx, "Hi.", &p, NULL, &err)) fail_msg("%s", err.msg);
    int16_t *want = malloc(pcm.n * sizeof *want);
    bark_audio_to_s16(pcm.x, pcm.n, want);
    assert_int_equal(r.len, pcm.n * 2);
    assert_memory_equal(r.body, want, r.len);
    free(want), free(pcm.x);
    ts_response_free(&r);
    r = ts_http(port, "POST", "/v1/audio/speech", TS_JSON,
                "{\"model\":\"bark\",\"input\":\"Hi.\",\"voice\":\"" TS_VOICE "\",\"style\":\"whispering\"}");
    ts_is_error(&r, 400, "invalid_value", "unknown style 'whispering'");
    ts_response_free(&r);
    r = ts_http(port, "POST", "/v1/audio/speech", TS_JSON,
                "{\"model\":\"bark\",\"input\":\"Hi.\",\"voice\":\"" TS_VOICE "\",\"style\":3}");
    ts_is_error(&r, 400, "invalid_value", "'style' must be a string");
    ts_response_free(&r);
    serve_close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_library),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_serve),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
