/* test_cli_voices.c: `bark voices` through build/bark: add from a recording (the tiny HuBERT found beside the
 * model) and from a .npz, list, say and render by name, export (Suno's layout), remove; the folder from
 * --voices-dir, $BARK_VOICES or $XDG_DATA_HOME; a transcript instead of HuBERT; one clear line and nothing
 * stored for each bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/source.h"
#include "util/clone_models.h"
#include "util/testutil.h"

static char *g_dir;
static char g_bark[512], g_hub[512], g_ref[512], g_voices[512], g_tiny[512];

static int setup(void **state) {
    char log[8192], cmd[2048];
    g_dir = tu_tmpdir();
    if (!g_dir) return -1;
    snprintf(g_bark, sizeof g_bark, "%s/tiny.gguf", g_dir);
    snprintf(g_hub, sizeof g_hub, "%s/hubert.gguf", g_dir); /* beside the model: found without --hubert */
    snprintf(g_ref, sizeof g_ref, "%s/ref.wav", g_dir);
    snprintf(g_voices, sizeof g_voices, "%s/voices", g_dir);
    snprintf(g_tiny, sizeof g_tiny, "%s/named/tiny.gguf", g_dir);
    if (tu_clone_models(g_bark, g_hub) ||
        tu_write_voiced(g_ref, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 0.3, 3.0, 0.3, 0.3))
        return -1;
    /* a model (no EnCodec encoder) holding a flat-named voice, "announcer", besides v2/... */
    snprintf(cmd, sizeof cmd, "mkdir -p %s/named && %s clone %s -o %s/announcer.npz -m %s -q && "
             "%s convert tests/data/tiny/hf %s/announcer.npz -o %s --type f32 -q", g_dir, tu_bark(), g_ref, g_dir,
             g_bark, tu_bark(), g_dir, g_tiny);
    if (tu_run(cmd, log, sizeof log)) {
        fprintf(stderr, "%s\n%s\n", cmd, log);
        return -1;
    }
    return 0;
}

static int teardown(void **state) {
    tu_rmtree(g_dir);
    free(g_dir);
    return 0;
}

/* Runs `bark ARGS` (printf-style), echoing the command and its output; returns the exit status. */
static int bark(char *log, size_t cap, const char *fmt, ...) {
    char args[3000], cmd[3600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s %s", tu_bark(), args);
    const int rc = tu_run(cmd, log, cap);
    printf("  $ bark %s\n%s", args, log);
    return rc;
}

/* add (HuBERT), list, say and render by name, export in Suno's layout, remove. */
static void test_session(void **state) {
    char log[8192], wav[600], out[600], texts[600], rendered[600];
    const char *V = g_voices;
    snprintf(wav, sizeof wav, "%s/said.wav", g_dir);
    snprintf(out, sizeof out, "%s/alice.npz", g_dir);
    assert_int_equal(bark(log, sizeof log, "voices add alice %s -m %s --voices-dir %s", g_ref, g_bark, V), 0);
    assert_non_null(strstr(log, "added 'alice'"));
    assert_non_null(strstr(log, "hubert from ref.wav"));
    assert_int_equal(bark(log, sizeof log, "voices -m %s --voices-dir %s", g_bark, V), 0);
    assert_non_null(strstr(log, "alice"));
    assert_non_null(strstr(log, "user   hubert from ref.wav (sha256 "));

    assert_int_equal(bark(log, sizeof log, "say -m %s --voices-dir %s -v alice -s 3 -q -o %s 'hello there'", g_bark,
                          V, wav), 0);
    size_t n = 0;
    int16_t *pcm = tu_read_s16(wav, &n);
    assert_non_null(pcm);
    assert_true(n > 0);
    free(pcm);
    snprintf(texts, sizeof texts, "%s/texts.txt", g_dir);
    snprintf(rendered, sizeof rendered, "%s/r.wav", g_dir);
    assert_int_equal(tu_write_file(texts, "hi there\n", 9), 0);
    assert_int_equal(bark(log, sizeof log, "render -m %s --voices-dir %s -v alice -s 3 -q -o %s %s", g_bark, V,
                          rendered, texts), 0);
    snprintf(rendered, sizeof rendered, "%s/r-0001.wav", g_dir);
    assert_true(tu_exists(rendered));

    assert_int_equal(bark(log, sizeof log, "voices export alice -o %s --voices-dir %s", out, V), 0);
    src_set s;
    bark_error err;
    src_set_init(&s);
    if (src_read_npz(&s, out, "", &err)) fail_msg("%s", err.msg);
    const src_tensor *sem = src_set_find(&s, "semantic_prompt"), *co = src_set_find(&s, "coarse_prompt"),
                     *fi = src_set_find(&s, "fine_prompt");
    assert_true(s.n == 3 && sem && co && fi);
    assert_true(sem->dtype == SRC_I64 && sem->n_dims == 1);
    assert_true(co->dtype == SRC_I64 && co->n_dims == 2 && co->shape[0] == 2);
    assert_true(fi->dtype == SRC_I32 && fi->n_dims == 2 && fi->shape[0] == 8 && fi->shape[1] == co->shape[1]);
    src_set_free(&s);

    assert_int_equal(bark(log, sizeof log, "voices rm alice --voices-dir %s", V), 0);
    assert_int_equal(tu_count_entries(V), 0);
    assert_int_equal(bark(log, sizeof log, "say -m %s --voices-dir %s -v alice -q -o %s hi", g_bark, V, wav), 1);
    assert_non_null(strstr(log, "no voice 'alice'"));
    assert_int_equal(bark(log, sizeof log, "voices rm alice --voices-dir %s", V), 1);
    assert_int_equal(tu_lines(log), 1);
}

/* The folder: --voices-dir, else $BARK_VOICES, else $XDG_DATA_HOME/bark/voices. */
static void test_folder_from_environment(void **state) {
    char log[8192], npz[600], env_dir[600], xdg[600];
    snprintf(npz, sizeof npz, "%s/announcer.npz", g_dir);
    snprintf(env_dir, sizeof env_dir, "%s/from-env", g_dir);
    snprintf(xdg, sizeof xdg, "%s/xdg", g_dir);
    char cmd[2400];
    snprintf(cmd, sizeof cmd, "BARK_VOICES=%s XDG_DATA_HOME=%s %s voices add bob %s -m %s", env_dir, xdg, tu_bark(),
             npz, g_bark);
    assert_int_equal(tu_run(cmd, log, sizeof log), 0);
    printf("  %s", log);
    assert_non_null(strstr(log, "npz-import from announcer.npz"));
    snprintf(cmd, sizeof cmd, "%s/bob.npz", env_dir);
    assert_true(tu_exists(cmd));
    snprintf(cmd, sizeof cmd, "env -u BARK_VOICES XDG_DATA_HOME=%s %s voices add carol %s -m %s -q", xdg, tu_bark(),
             npz, g_bark);
    assert_int_equal(tu_run(cmd, log, sizeof log), 0);
    snprintf(cmd, sizeof cmd, "%s/bark/voices/carol.npz", xdg);
    assert_true(tu_exists(cmd));
    snprintf(cmd, sizeof cmd, "env -u BARK_VOICES XDG_DATA_HOME=%s %s voices -m %s", xdg, tu_bark(), g_bark);
    assert_int_equal(tu_run(cmd, log, sizeof log), 0);
    assert_non_null(strstr(log, "carol"));
    assert_null(strstr(log, "bob"));
}

/* --text: the semantic prompt from the transcript, recorded as such, with a warning. */
static void test_transcript(void **state) {
    char log[8192], dir[600];
    snprintf(dir, sizeof dir, "%s/transcript", g_dir);
    assert_int_equal(bark(log, sizeof log, "voices add tina %s -m %s --voices-dir %s -s 1 --text 'a test sentence'",
                          g_ref, g_bark, dir), 0);
    assert_non_null(strstr(log, "transcript from ref.wav"));
    assert_non_null(strstr(log, "warning: the semantic prompt came from the transcript"));
    assert_int_equal(bark(log, sizeof log, "voices -m %s --voices-dir %s", g_bark, dir), 0);
    assert_non_null(strstr(log, "tina                     user   transcript from ref.wav"));
}

/* A model voice's name: refused, then with --force the user's voice answers to it (and the list says so). */
static void test_model_name(void **state) {
    char log[8192], npz[600], dir[600];
    snprintf(npz, sizeof npz, "%s/announcer.npz", g_dir);
    snprintf(dir, sizeof dir, "%s/shadow", g_dir);
    assert_int_equal(bark(log, sizeof log, "voices add announcer %s -m %s --voices-dir %s", npz, g_tiny, dir), 1);
    assert_int_equal(tu_lines(log), 1);
    assert_non_null(strstr(log, "is a voice of the model file"));
    assert_int_equal(tu_count_entries(dir), 0);
    assert_int_equal(bark(log, sizeof log, "voices add announcer %s -m %s --voices-dir %s --force -q", npz, g_tiny,
                          dir), 0);
    assert_int_equal(bark(log, sizeof log, "voices -m %s --voices-dir %s", g_tiny, dir), 0);
    assert_non_null(strstr(log, "a user voice has its name and is used"));
}

/* Bad input: one line each, a non-zero status, nothing stored (no half file, no temporary). */
static void test_bad_input(void **state) {
    char log[8192], dir[600], silent[600], empty[600], longer[600], corrupt[600], npz[600];
    snprintf(dir, sizeof dir, "%s/bad", g_dir);
    snprintf(silent, sizeof silent, "%s/silent.wav", g_dir);
    snprintf(empty, sizeof empty, "%s/empty.wav", g_dir);
    snprintf(longer, sizeof longer, "%s/two-hours.wav", g_dir);
    snprintf(corrupt, sizeof corrupt, "%s/corrupt.npz", g_dir);
    snprintf(npz, sizeof npz, "%s/announcer.npz", g_dir);
    assert_int_equal(tu_write_voiced(silent, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 3.0, 0.0, 0.0, 0.0), 0);
    assert_int_equal(tu_write_voiced(empty, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 0.0, 0.0, 0.0, 0.0), 0);
    /* two hours at 8 Hz: the header says 7200 s, the file is 115 KB */
    assert_int_equal(tu_write_voiced(longer, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8, 1, 0.0, 7200.0, 0.0, 0.3), 0);
    uint8_t junk[600];
    memcpy(junk, "PK\003\004", 4);
    for (size_t i = 4; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 37 + 11);
    assert_int_equal(tu_write_file(corrupt, junk, sizeof junk), 0);
    assert_int_equal(bark(log, sizeof log, "voices add keep %s -m %s --voices-dir %s -q", npz, g_bark, dir), 0);
    assert_int_equal(tu_count_entries(dir), 2);

    static const struct {
        int rc;
        const char *name, *source, *says;
    } cases[] = {
        {2, "a/b", "announcer.npz", "holds a '/'"},
        {2, "..", "announcer.npz", "starts with '.'"},
        {2, "../escape", "announcer.npz", "starts with '.'"},
        {1, "keep", "announcer.npz", "exists already"},
        {1, "quiet", "silent.wav", "only silence"},
        {1, "nothing", "empty.wav", "no samples (0 s)"},
        {1, "long", "two-hours.wav", "7200 s long"},
        {1, "broken", "corrupt.npz", "corrupt.npz"},
        {1, "missing", "no-such-file.wav", "no-such-file.wav"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const int rc = bark(log, sizeof log, "voices add '%s' %s/%s -m %s --voices-dir %s", cases[i].name, g_dir,
                            cases[i].source, g_bark, dir);
        assert_int_equal(rc, cases[i].rc);
        assert_int_equal(tu_lines(log), 1);
        assert_non_null(strstr(log, "bark voices: "));
        if (!strstr(log, cases[i].says)) fail_msg("case %zu: no '%s' in: %s", i, cases[i].says, log);
        assert_int_equal(tu_count_entries(dir), 2); /* keep.npz and keep.json only */
    }
    assert_int_equal(bark(log, sizeof log, "voices export nobody -o %s/x.npz --voices-dir %s", g_dir, dir), 1);
    assert_int_equal(tu_lines(log), 1);
    assert_int_equal(bark(log, sizeof log, "voices export keep -o %s/x.wav --voices-dir %s", g_dir, dir), 2);
    assert_int_equal(bark(log, sizeof log, "voices rm --force keep --voices-dir %s", dir), 2);
    assert_int_equal(bark(log, sizeof log, "voices frobnicate --voices-dir %s", dir), 2);
    assert_int_equal(tu_lines(log), 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session),
        cmocka_unit_test(test_folder_from_environment),
        cmocka_unit_test(test_transcript),
        cmocka_unit_test(test_model_name),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
