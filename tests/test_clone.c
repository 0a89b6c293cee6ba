/* test_clone.c: `bark clone` and clone_reference: trimming, the .npz it writes (keys, dtypes, shapes), bad
 * input (silence, clipping, corrupt and unsupported files), bounded memory on a long file, and a round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clone/clone.h"
#include "convert/convert_hubert.h"
#include "formats/source.h"
#include "util/clone_models.h"
#include "util/testutil.h"

static char *g_dir;
static char g_bark[512], g_hub[512];

/* A mono or stereo 16-bit WAV (or FLAC) of f(t) at `rate`, with `lead`/`tail` seconds of exact silence. */
static void write_audio(const char *path, int format, int rate, int channels, double lead, double body, double tail,
                        double amp) {
    if (tu_write_voiced(path, format, rate, channels, lead, body, tail, amp)) fail_msg("%s: cannot write", path);
}

static int setup(void **state) {
    g_dir = tu_tmpdir();
    if (!g_dir) return -1;
    snprintf(g_bark, sizeof g_bark, "%s/tiny.gguf", g_dir);
    snprintf(g_hub, sizeof g_hub, "%s/hubert.gguf", g_dir);
    return tu_clone_models(g_bark, g_hub);
}

static int teardown(void **state) {
    tu_rmtree(g_dir);
    free(g_dir);
    return 0;
}

/* The models clone_reference needs, loaded from the two files. */
typedef struct models {
    bark_model *m, *hm;
    encodec_model em;
    hubert_model h;
    hubq_model q;
} models;

static void load_models(models *s) {
    bark_error err = {BARK_OK, ""};
    memset(s, 0, sizeof *s);
    if (bark_model_open(g_bark, &s->m, &err) || bark_model_open(g_hub, &s->hm, &err) ||
        encodec_load_part(s->m, 1, 8, &s->em, &err) || hubert_load(s->hm, &s->h, &err) || hubq_load(s->hm, &s->q, &err))
        fail_msg("%s", err.msg);
}

static void free_models(models *s) {
    encodec_free(&s->em);
    hubq_free(&s->q);
    bark_model_close(s->m);
    bark_model_close(s->hm);
}

/* 44.1 kHz stereo with 1 s of silence before and 2 s after 6 s of sound: trimmed to ~6.1 s, codes and tokens
 * consistent in length and range. */
static void test_trim_and_shapes(void **state) {
    char path[600];
    snprintf(path, sizeof path, "%s/ref.wav", g_dir);
    write_audio(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 2, 1.0, 6.0, 2.0, 0.3);
    models s;
    load_models(&s);
    bark_voice v;
    clone_info info;
    bark_error err = {BARK_OK, ""};
    clone_params p = clone_default_params();
    if (clone_reference(path, &s.em, &s.h, &s.q, &p, &v, &info, &err)) fail_msg("%s", err.msg);
    printf("  %d Hz %d ch %.2f s -> kept %.3f s (trimmed %.3f / %.3f), %zu frames, %zu tokens, margins %.3g / %.3g\n",
           info.file_rate, info.file_channels, info.file_seconds, info.kept_seconds, info.lead_trimmed,
           info.tail_trimmed, v.n_fine, v.n_semantic, info.codes_margin, info.tokens_margin);
    assert_int_equal(info.file_rate, 44100);
    assert_int_equal(info.file_channels, 2);
    assert_true(fabs(info.file_seconds - 9.0) < 0.01);
    assert_true(fabs(info.kept_seconds - 6.1) < 0.03); /* 6 s of sound plus 50 ms each side */
    assert_true(fabs(info.lead_trimmed - 0.95) < 0.02 && fabs(info.tail_trimmed - 1.95) < 0.02);
    assert_int_equal(info.cut, 0);
    assert_true(info.clipped_fraction == 0.0);
    assert_int_equal(v.n_fine, (size_t)ceil(info.kept_seconds * 75.0 - 1e-9));
    assert_int_equal(v.n_coarse, v.n_fine);
    assert_memory_equal(v.coarse, v.fine, 2 * v.n_fine * sizeof(int32_t));
    const double ratio = (double)v.n_fine / (double)v.n_semantic; /* 75 Hz codes over 50 Hz HuBERT frames */
    assert_true(ratio > 1.49 && ratio < 1.52);
    /* clone_align_prompt: Suno's generate_coarse accepts only round(T / N, 1) == 1.5 */
    const int32_t last7 = v.fine[7 * v.n_fine + v.n_fine - 1], last1 = v.coarse[2 * v.n_coarse - 1];
    v.n_semantic = v.n_fine / 2;
    clone_align_prompt(&v);
    assert_int_equal(v.fine[7 * v.n_fine + v.n_fine - 1], last7); /* the newest frames are kept */
    assert_int_equal(v.coarse[2 * v.n_coarse - 1], last1);
    assert_true((double)v.n_fine / (double)v.n_semantic > 1.45 && (double)v.n_fine / (double)v.n_semantic < 1.55);
    assert_int_equal(v.n_semantic, 229);
    assert_memory_equal(v.coarse, v.fine, 2 * v.n_fine * sizeof(int32_t));
    for (size_t i = 0; i < 8 * v.n_fine; i++) assert_true(v.fine[i] >= 0 && v.fine[i] < 1024);
    for (size_t i = 0; i < v.n_semantic; i++) assert_true(v.semantic[i] >= 0 && v.semantic[i] < s.q.n_out);
    bark_voice_free(&v);
    free_models(&s);
}

/* Without silence to trim, the fine prompt is exactly EnCodec's codes of the whole file (no sample lost or
 * shifted between the two reading passes). */
static void test_codes_match_encoder(void **state) {
    char path[600];
    snprintf(path, sizeof path, "%s/plain.wav", g_dir);
    write_audio(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 24000, 1, 0.0, 3.0, 0.0, 0.3);
    models s;
    load_models(&s);
    bark_error err = {BARK_OK, ""};
    bark_audio_reader *r = NULL;
    float *x = malloc(72000 * sizeof *x);
    assert_non_null(x);
    size_t n = 0, got = 0;
    if (bark_audio_reader_open(path, 24000, &r, &err)) fail_msg("%s", err.msg);
    while (!bark_audio_reader_read(r, x + n, 72000 - n, &got, &err) && got) n += got;
    bark_audio_reader_close(r);
    assert_int_equal(n, 72000);
    int32_t *codes = malloc(8 * 225 * sizeof *codes);
    assert_non_null(codes);
    if (encodec_encode(&s.em, x, n, 8, codes, NULL, NULL, &err)) fail_msg("%s", err.msg);
    bark_voice v;
    clone_info info;
    clone_params p = clone_default_params();
    if (clone_reference(path, &s.em, NULL, NULL, &p, &v, &info, &err)) fail_msg("%s", err.msg);
    assert_int_equal(v.n_fine, 225);
    assert_int_equal(v.n_semantic, 0);
    int same = 0;
    for (size_t i = 0; i < 8 * 225; i++) same += v.fine[i] == codes[i];
    printf("  %d/1800 codes equal to encodec_encode of the whole file\n", same);
    assert_int_equal(same, 1800);
    bark_voice_free(&v);
    free(codes);
    free(x);
    free_models(&s);
}

/* The .npz clone writes reads back with our loader and has Suno's keys, dtypes and shapes. */
static void test_npz_layout(void **state) {
    char ref[600], out[600], cmd[2400], log[4096];
    snprintf(ref, sizeof ref, "%s/ref8.flac", g_dir);
    snprintf(out, sizeof out, "%s/me.npz", g_dir);
    write_audio(ref, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 22050, 1, 0.5, 8.0, 0.5, 0.3);
    snprintf(cmd, sizeof cmd, "%s clone %s -o %s -m %s --hubert %s", tu_bark(), ref, out, g_bark, g_hub);
    int rc = tu_run(cmd, log, sizeof log);
    printf("  %s", log);
    assert_int_equal(rc, 0);
    bark_voice v;
    bark_error err = {BARK_OK, ""};
    if (bark_voice_load_npz(out, &v, &err)) fail_msg("%s", err.msg);
    src_set s;
    src_set_init(&s);
    if (src_read_npz(&s, out, "", &err)) fail_msg("%s", err.msg);
    assert_int_equal(s.n, 3);
    const src_tensor *sem = src_set_find(&s, "semantic_prompt"), *co = src_set_find(&s, "coarse_prompt"),
                     *fi = src_set_find(&s, "fine_prompt");
    assert_non_null(sem);
    assert_non_null(co);
    assert_non_null(fi);
    assert_int_equal(sem->dtype, SRC_I64);
    assert_int_equal(sem->n_dims, 1);
    assert_int_equal(co->dtype, SRC_I64);
    assert_int_equal(co->n_dims, 2);
    assert_int_equal(co->shape[0], 2);
    assert_int_equal(fi->dtype, SRC_I32);
    assert_int_equal(fi->n_dims, 2);
    assert_int_equal(fi->shape[0], 8);
    assert_int_equal(co->shape[1], fi->shape[1]);
    assert_int_equal((size_t)sem->shape[0], v.n_semantic);
    assert_int_equal((size_t)fi->shape[1], v.n_fine);
    /* the same keys and dtypes as Suno's own preset, when the shared copy is at hand */
    src_set suno;
    src_set_init(&suno);
    if (!src_read_npz(&suno, "../shared/data/bark-voices/v2/en_speaker_0.npz", "", &err)) {
        const char *keys[3] = {"semantic_prompt", "coarse_prompt", "fine_prompt"};
        for (int k = 0; k < 3; k++) {
            const src_tensor *a = src_set_find(&suno, keys[k]), *b = src_set_find(&s, keys[k]);
            assert_non_null(a);
            assert_int_equal(a->dtype, b->dtype);
            assert_int_equal(a->n_dims, b->n_dims);
            if (a->n_dims == 2) assert_int_equal(a->shape[0], b->shape[0]);
        }
        printf("  keys, dtypes and ranks equal to v2/en_speaker_0.npz's\n");
    }
    src_set_free(&suno);
    src_set_free(&s);
    bark_voice_free(&v);
}

/* Clone, then `bark say --voice` with the result on the tiny models. */
static void test_round_trip(void **state) {
    char voice[600], wav[600], cmd[2400], log[8192];
    snprintf(voice, sizeof voice, "%s/me.npz", g_dir);
    snprintf(wav, sizeof wav, "%s/said.wav", g_dir);
    snprintf(cmd, sizeof cmd, "%s say -m %s --voice %s -s 3 -q -o %s 'hello there'", tu_bark(), g_bark, voice, wav);
    int rc = tu_run(cmd, log, sizeof log);
    if (rc) printf("%s\n", log);
    assert_int_equal(rc, 0);
    size_t len = 0;
    uint8_t *b = tu_read_file(wav, &len);
    assert_non_null(b);
    assert_true(len > 44);
    free(b);
}

/* Only silence: a clear error and no output file. */
static void test_silence(void **state) {
    char ref[600], out[600], cmd[2400], log[4096];
    snprintf(ref, sizeof ref, "%s/quiet.wav", g_dir);
    snprintf(out, sizeof out, "%s/quiet.npz", g_dir);
    write_audio(ref, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 24000, 1, 3.0, 0.0, 0.0, 0.0);
    snprintf(cmd, sizeof cmd, "%s clone %s -o %s -m %s --hubert %s", tu_bark(), ref, out, g_bark, g_hub);
    assert_int_equal(tu_run(cmd, log, sizeof log), 1);
    printf("  %s", log);
    assert_non_null(strstr(log, "only silence"));
    assert_int_equal(tu_lines(log), 1);
    assert_false(tu_exists(out));
}

/* Hard clipping: a result, with a warning. */
static void test_clipping(void **state) {
    char ref[600], out[600], cmd[2400], log[4096];
    snprintf(ref, sizeof ref, "%s/loud.wav", g_dir);
    snprintf(out, sizeof out, "%s/loud.npz", g_dir);
    write_audio(ref, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 24000, 1, 0.0, 6.0, 0.0, 3.0);
    snprintf(cmd, sizeof cmd, "%s clone %s -o %s -m %s --hubert %s", tu_bark(), ref, out, g_bark, g_hub);
    assert_int_equal(tu_run(cmd, log, sizeof log), 0);
    printf("  %s", log);
    assert_non_null(strstr(log, "clipped"));
    assert_true(tu_exists(out));
}

/* A corrupt WAV, a file of another kind, an empty WAV and a missing file: one-line errors, nothing written. */
static void test_bad_files(void **state) {
    char bad[600], txt[600], empty[600], out[600], cmd[2400], log[4096];
    snprintf(bad, sizeof bad, "%s/corrupt.wav", g_dir);
    snprintf(empty, sizeof empty, "%s/empty.wav", g_dir);
    write_audio(empty, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 0.0, 0.0, 0.0, 0.0);
    snprintf(txt, sizeof txt, "%s/notes.mp4", g_dir);
    snprintf(out, sizeof out, "%s/bad.npz", g_dir);
    uint8_t junk[3000];
    memcpy(junk, "RIFF\x10\x00\x00\x00WAVEfmt ", 16);
    for (size_t i = 16; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 131 + 7);
    assert_int_equal(tu_write_file(bad, junk, sizeof junk), 0);
    assert_int_equal(tu_write_file(txt, "just some text, not audio\n", 26), 0);
    const char *inputs[4] = {bad, txt, empty, "/nonexistent/ref.wav"};
    for (int i = 0; i < 4; i++) {
        snprintf(cmd, sizeof cmd, "%s clone %s -o %s -m %s --hubert %s", tu_bark(), inputs[i], out, g_bark, g_hub);
        assert_int_equal(tu_run(cmd, log, sizeof log), 1);
        printf("  %s", log);
        assert_int_equal(tu_lines(log), 1);
        assert_non_null(strstr(log, "bark clone: "));
        assert_false(tu_exists(out));
    }
}

/* Without HuBERT weights (none beside the model: it is linked from a folder of its own): an error naming both ways
 * out; with --semantic-from-text: a labelled result. With hubert.gguf beside the model, found without --hubert. */
static void test_no_hubert_fallback(void **state) {
    char out[600], alone[600], cmd[2400], log[4096];
    snprintf(out, sizeof out, "%s/text.npz", g_dir);
    snprintf(alone, sizeof alone, "%s/alone/tiny.gguf", g_dir);
    snprintf(cmd, sizeof cmd, "mkdir -p %s/alone && ln -sf %s %s", g_dir, g_bark, alone);
    assert_int_equal(tu_run(cmd, log, sizeof log), 0);
    snprintf(cmd, sizeof cmd, "%s clone %s/ref8.flac -o %s -m %s", tu_bark(), g_dir, out, alone);
    assert_int_equal(tu_run(cmd, log, sizeof log), 1);
    printf("  %s", log);
    assert_non_null(strstr(log, "--semantic-from-text"));
    snprintf(cmd, sizeof cmd, "%s clone %s/ref8.flac -o %s -m %s -q", tu_bark(), g_dir, out, g_bark);
    assert_int_equal(tu_run(cmd, log, sizeof log), 0); /* hubert.gguf beside tiny.gguf */
    snprintf(cmd, sizeof cmd, "%s clone %s/ref8.flac -o %s -m %s -s 1 --semantic-from-text 'a test sentence'",
             tu_bark(), g_dir, out, alone);
    assert_int_equal(tu_run(cmd, log, sizeof log), 0);
    printf("  %s", log);
    assert_non_null(strstr(log, "weaker"));
    bark_voice v;
    bark_error err = {BARK_OK, ""};
    if (bark_voice_load_npz(out, &v, &err)) fail_msg("%s", err.msg);
    assert_true(v.n_semantic > 0);
    bark_voice_free(&v);
}

/* bark_clone_file: codes only from a model file without HuBERT, semantic tokens with hubert_path, and a required
 * HuBERT that is absent fails. */
static void test_clone_api(void **state) {
    char ref[600];
    snprintf(ref, sizeof ref, "%s/api.wav", g_dir);
    write_audio(ref, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 0.2, 3.0, 0.2, 0.3);
    bark_context *ctx = NULL;
    bark_error err = {BARK_OK, ""};
    if (bark_context_open(g_bark, &ctx, &err)) fail_msg("%s", err.msg);
    bark_voice v;
    bark_clone_info info;
    if (bark_clone_file(ctx, ref, NULL, &v, &info, &err)) fail_msg("%s", err.msg);
    assert_int_equal(info.has_semantic, 0);
    assert_int_equal(v.n_semantic, 0);
    assert_int_equal(info.file_rate, 16000);
    assert_true(v.n_fine > 200 && v.n_coarse == v.n_fine);
    bark_voice_free(&v);
    bark_clone_params p = bark_clone_default_params();
    p.hubert_path = g_hub;
    if (bark_clone_file(ctx, ref, &p, &v, &info, &err)) fail_msg("%s", err.msg);
    assert_int_equal(info.has_semantic, 1);
    const double ratio = (double)v.n_fine / (double)v.n_semantic;
    assert_true(ratio > 1.45 && ratio < 1.55);
    bark_voice_free(&v);
    p.hubert_path = g_bark;
    assert_int_equal(bark_clone_file(ctx, ref, &p, &v, &info, &err), BARK_ERR_MISSING);
    assert_non_null(strstr(err.msg, "HuBERT"));
    assert_null(v.fine);
    bark_context_free(ctx);
}

/* Peak resident kB of `bark clone REF` measured by /usr/bin/time; -1 when that tool is absent. */
static long clone_peak_kb(const char *ref) {
    if (!tu_exists("/usr/bin/time")) return -1;
    char cmd[2400], log[8192], out[600];
    snprintf(out, sizeof out, "%s/peak.npz", g_dir);
    snprintf(cmd, sizeof cmd, "/usr/bin/time -f 'maxrss_kb %%M' %s clone %s -o %s -m %s --hubert %s -q", tu_bark(),
             ref, out, g_bark, g_hub);
    assert_int_equal(tu_run(cmd, log, sizeof log), 0);
    const char *p = strstr(log, "maxrss_kb ");
    assert_non_null(p);
    return atol(p + 10);
}

/* Three minutes in bounded memory: only the last 15 s are kept, and the peak memory of the CLI is that of a
 * 15 s reference (reading the whole file would add 16.5 MB at 24 kHz, and far more through HuBERT). */
static void test_long_file(void **state) {
    char ref[600], ref15[600];
    snprintf(ref, sizeof ref, "%s/long.wav", g_dir);
    snprintf(ref15, sizeof ref15, "%s/r15.wav", g_dir);
    write_audio(ref, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 48000, 1, 0.0, 180.0, 0.0, 0.3);
    write_audio(ref15, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 48000, 1, 0.0, 15.0, 0.0, 0.3);
    models s;
    load_models(&s);
    bark_voice v;
    clone_info info;
    bark_error err = {BARK_OK, ""};
    clone_params p = clone_default_params();
    if (clone_reference(ref, &s.em, &s.h, &s.q, &p, &v, &info, &err)) fail_msg("%s", err.msg);
    assert_int_equal(info.cut, 1);
    assert_true(fabs(info.kept_seconds - 15.0) < 1e-6);
    assert_int_equal(v.n_fine, 1125);
    bark_voice_free(&v);
    free_models(&s);
    const long kb_long = clone_peak_kb(ref), kb_15 = clone_peak_kb(ref15);
    printf("  %.1f s file -> kept %.2f s; CLI peak RSS %.1f MB (a 15 s file: %.1f MB)\n", info.file_seconds,
           info.kept_seconds, kb_long / 1024.0, kb_15 / 1024.0);
    if (kb_long >= 0) assert_true(kb_long - kb_15 < 8 * 1024);
}

/* bark_voice_save_npz refuses voices it cannot write correctly. */
static void test_npz_write_errors(void **state) {
    int32_t sem[2] = {1, 2}, co[4] = {0}, fi[16] = {0};
    bark_voice v = {sem, co, fi, 2, 2, 2};
    char out[600];
    bark_error err = {BARK_OK, ""};
    snprintf(out, sizeof out, "%s/w.npz", g_dir);
    assert_int_equal(bark_voice_save_npz(&v, out, &err), BARK_OK);
    v.n_coarse = 1;
    assert_int_equal(bark_voice_save_npz(&v, out, &err), BARK_ERR_ARG);
    v.n_coarse = 2;
    v.n_semantic = 0;
    assert_int_equal(bark_voice_save_npz(&v, out, &err), BARK_ERR_ARG);
    v.n_semantic = 2;
    assert_int_equal(bark_voice_save_npz(&v, "/nonexistent/dir/w.npz", &err), BARK_ERR_IO);
    printf("  %s\n", err.msg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trim_and_shapes), cmocka_unit_test(test_codes_match_encoder),
        cmocka_unit_test(test_npz_layout),
        cmocka_unit_test(test_round_trip),      cmocka_unit_test(test_silence),
        cmocka_unit_test(test_clipping),        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_no_hubert_fallback), cmocka_unit_test(test_clone_api),
        cmocka_unit_test(test_long_file),
        cmocka_unit_test(test_npz_write_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
