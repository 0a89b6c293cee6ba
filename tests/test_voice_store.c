/* test_voice_store.c: the voice library in libbark: names, add/list/load/export/remove, records, atomic failures,
 * the bounds on recordings, finding a voice by name (store first, then the model). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bark.h"
#include "util/testutil.h"

static char *g_dir;

static int setup(void **state) {
    g_dir = tu_tmpdir();
    return g_dir ? 0 : -1;
}

static int teardown(void **state) {
    tu_rmtree(g_dir);
    free(g_dir);
    return 0;
}

/* A voice of n_sem tokens and T frames with values drawn from seed (in range). */
static void make_voice(bark_voice *v, size_t n_sem, size_t T, unsigned seed) {
    v->n_semantic = n_sem, v->n_coarse = v->n_fine = T;
    v->semantic = malloc(n_sem * sizeof *v->semantic);
    v->coarse = malloc(2 * T * sizeof *v->coarse);
    v->fine = malloc(8 * T * sizeof *v->fine);
    assert_true(v->semantic && v->coarse && v->fine);
    for (size_t i = 0; i < n_sem; i++) v->semantic[i] = (int32_t)((seed += 2654435761u) % 10000);
    for (size_t i = 0; i < 2 * T; i++) v->coarse[i] = (int32_t)((seed += 2654435761u) % 1024);
    for (size_t i = 0; i < 8 * T; i++) v->fine[i] = (int32_t)((seed += 2654435761u) % 1024);
}

static void assert_same_voice(const bark_voice *a, const bark_voice *b) {
    assert_int_equal(a->n_semantic, b->n_semantic);
    assert_int_equal(a->n_fine, b->n_fine);
    assert_int_equal(a->n_coarse, b->n_coarse);
    assert_memory_equal(a->semantic, b->semantic, a->n_semantic * sizeof(int32_t));
    assert_memory_equal(a->coarse, b->coarse, 2 * a->n_coarse * sizeof(int32_t));
    assert_memory_equal(a->fine, b->fine, 8 * a->n_fine * sizeof(int32_t));
}

static void test_names(void **state) {
    static const char *const good[] = {"alice", "Bob_2", "kiosk.lobby", "a-b", "x"};
    static const char *const bad[] = {"", ".hidden", "-opt", "a/b", "..", "../x", "v2/en_speaker_6", "tab\there",
                                      "bell\a", "sp ace", "caf\xc3\xa9"};
    bark_error err;
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) assert_int_equal(bark_voice_name_check(good[i], &err), 0);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(bark_voice_name_check(bad[i], &err), BARK_ERR_ARG);
        assert_null(strchr(err.msg, '\n'));
    }
    char longest[BARK_VOICE_NAME_MAX + 2];
    memset(longest, 'a', sizeof longest);
    longest[BARK_VOICE_NAME_MAX] = '\0';
    assert_int_equal(bark_voice_name_check(longest, &err), 0);
    longest[BARK_VOICE_NAME_MAX] = 'a', longest[BARK_VOICE_NAME_MAX + 1] = '\0';
    assert_int_equal(bark_voice_name_check(longest, &err), BARK_ERR_ARG);
    assert_int_equal(bark_voice_name_check("a/b", &err), BARK_ERR_ARG);
    assert_non_null(strstr(err.msg, "'/'"));
}

/* A missing folder lists as empty without being made; create = 1 makes it, private. */
static void test_open(void **state) {
    char dir[600];
    snprintf(dir, sizeof dir, "%s/open/deeper/voices", g_dir);
    bark_voice_store *s = NULL;
    bark_error err;
    assert_int_equal(bark_voice_store_open(dir, 0, &s, &err), 0);
    assert_int_equal(bark_voice_store_count(s), 0);
    assert_false(tu_exists(dir));
    bark_voice_store_close(s);
    assert_int_equal(bark_voice_store_open(dir, 1, &s, &err), 0);
    struct stat sb;
    assert_int_equal(stat(dir, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(sb.st_mode & 077, 0);
    bark_voice_store_close(s);
    char file[700];
    snprintf(file, sizeof file, "%s/plain", dir);
    assert_int_equal(tu_write_file(file, "x", 1), 0);
    assert_int_equal(bark_voice_store_open(file, 0, &s, &err), BARK_ERR_ARG);
    assert_null(s);
}

/* add, list (sorted), record, load, refuse a second add, replace, export, remove. */
static void test_add_list_load_export_remove(void **state) {
    char dir[600], out[700];
    snprintf(dir, sizeof dir, "%s/lib", g_dir);
    bark_voice_store *s = NULL;
    bark_error err;
    assert_int_equal(bark_voice_store_open(dir, 1, &s, &err), 0);
    bark_voice a = {0}, b = {0}, got = {0};
    make_voice(&a, 120, 170, 1);
    make_voice(&b, 90, 130, 2);
    bark_voice_origin o = {0};
    snprintf(o.method, sizeof o.method, "hubert");
    snprintf(o.source, sizeof o.source, "ref.wav");
    snprintf(o.source_sha256, sizeof o.source_sha256, "%064d", 7);
    o.source_seconds = 12.5, o.kept_seconds = 10.25;
    if (bark_voice_store_add(s, "zed", &a, &o, 0, &err)) fail_msg("%s", err.msg);
    if (bark_voice_store_add(s, "amy", &b, NULL, 0, &err)) fail_msg("%s", err.msg);
    assert_int_equal(bark_voice_store_count(s), 2);
    assert_string_equal(bark_voice_store_name(s, 0), "amy");
    assert_string_equal(bark_voice_store_name(s, 1), "zed");
    assert_int_equal(tu_count_entries(dir), 4); /* two .npz, two .json, no temporaries */

    bark_voice_origin r;
    assert_int_equal(bark_voice_store_origin(s, "zed", &r, &err), 0);
    assert_string_equal(r.method, "hubert");
    assert_string_equal(r.source, "ref.wav");
    assert_string_equal(r.source_sha256, o.source_sha256);
    assert_true(r.source_seconds == 12.5 && r.kept_seconds == 10.25);
    assert_int_equal(strlen(r.created), 20); /* filled in: 2026-01-31T12:00:00Z */
    assert_int_equal(r.created[19], 'Z');

    assert_int_equal(bark_voice_store_load(s, "zed", &got, &err), 0);
    assert_same_voice(&a, &got);
    bark_voice_free(&got);

    /* the name is taken: refused, the stored voice unchanged */
    assert_int_equal(bark_voice_store_add(s, "zed", &b, NULL, 0, &err), BARK_ERR_ARG);
    assert_non_null(strstr(err.msg, "exists"));
    /* a second store on the same folder (another process) loses the race the same way */
    bark_voice_store *s2 = NULL;
    assert_int_equal(bark_voice_store_remove(s, "amy", &err), 0);
    assert_int_equal(bark_voice_store_open(dir, 0, &s2, &err), 0); /* s2 lists no amy */
    assert_int_equal(bark_voice_store_add(s, "amy", &a, NULL, 0, &err), 0);
    assert_int_equal(bark_voice_store_add(s2, "amy", &b, NULL, 0, &err), BARK_ERR_ARG); /* the file is there */
    assert_non_null(strstr(err.msg, "exists"));
    bark_voice_store_close(s2);
    assert_int_equal(tu_count_entries(dir), 4);
    assert_int_equal(bark_voice_store_load(s, "amy", &got, &err), 0);
    assert_same_voice(&a, &got);
    bark_voice_free(&got);
    assert_int_equal(bark_voice_store_load(s, "zed", &got, &err), 0);
    assert_same_voice(&a, &got);
    bark_voice_free(&got);
    assert_int_equal(bark_voice_store_add(s, "zed", &b, NULL, 1, &err), 0); /* replace */
    assert_int_equal(bark_voice_store_load(s, "zed", &got, &err), 0);
    assert_same_voice(&b, &got);
    bark_voice_free(&got);

    snprintf(out, sizeof out, "%s/exported.npz", g_dir);
    assert_int_equal(bark_voice_store_export(s, "zed", out, &err), 0);
    assert_int_equal(bark_voice_load_npz(out, &got, &err), 0);
    assert_same_voice(&b, &got);
    bark_voice_free(&got);

    assert_int_equal(bark_voice_store_remove(s, "zed", &err), 0);
    assert_int_equal(bark_voice_store_count(s), 1);
    assert_false(bark_voice_store_has(s, "zed"));
    assert_int_equal(bark_voice_store_remove(s, "zed", &err), BARK_ERR_MISSING);
    assert_int_equal(bark_voice_store_load(s, "zed", &got, &err), BARK_ERR_MISSING);
    assert_int_equal(bark_voice_store_load(s, "../lib/amy", &got, &err), BARK_ERR_ARG);
    assert_int_equal(bark_voice_store_export(s, "nobody", out, &err), BARK_ERR_MISSING);
    assert_int_equal(tu_count_entries(dir), 2);
    bark_voice_free(&a);
    bark_voice_free(&b);
    bark_voice_store_close(s);
}

/* A voice that cannot be stored, a bad name, a corrupt record: nothing half-stored, clear messages. */
static void test_failures_leave_nothing(void **state) {
    char dir[600], rec[700];
    snprintf(dir, sizeof dir, "%s/fail", g_dir);
    bark_voice_store *s = NULL;
    bark_error err;
    assert_int_equal(bark_voice_store_open(dir, 1, &s, &err), 0);
    bark_voice v = {0};
    make_voice(&v, 50, 80, 3);
    v.n_coarse = 79; /* not as many coarse as fine frames */
    assert_int_equal(bark_voice_store_add(s, "broken", &v, NULL, 0, &err), BARK_ERR_ARG);
    assert_int_equal(tu_count_entries(dir), 0);
    v.n_coarse = 80;
    assert_int_equal(bark_voice_store_add(s, "../escape", &v, NULL, 0, &err), BARK_ERR_ARG);
    assert_int_equal(bark_voice_store_add(s, "a/b", &v, NULL, 0, &err), BARK_ERR_ARG);
    assert_int_equal(tu_count_entries(dir), 0);
    snprintf(rec, sizeof rec, "%s/../escape.npz", dir);
    assert_false(tu_exists(rec));

    assert_int_equal(bark_voice_store_add(s, "ok", &v, NULL, 0, &err), 0);
    snprintf(rec, sizeof rec, "%s/ok.json", dir);
    assert_int_equal(tu_write_file(rec, "{\"method\": 3", 12), 0);
    bark_voice_origin o;
    assert_int_equal(bark_voice_store_origin(s, "ok", &o, &err), BARK_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "ok.json"));
    assert_int_equal(tu_write_file(rec, "{\"method\": 3}", 13), 0);
    assert_int_equal(bark_voice_store_origin(s, "ok", &o, &err), BARK_ERR_FORMAT);
    remove(rec); /* a voice copied in by hand: no record, still listed and loaded */
    assert_int_equal(bark_voice_store_origin(s, "ok", &o, &err), 0);
    assert_string_equal(o.method, "");
    bark_voice got;
    assert_int_equal(bark_voice_store_load(s, "ok", &got, &err), 0);
    bark_voice_free(&got);
    bark_voice_free(&v);
    bark_voice_store_close(s);
}

/* A corrupt .npz is refused by bark_voice_from_npz; a good one gets an "npz-import" record with its digest. */
static void test_from_npz(void **state) {
    char bad[600], good[600];
    snprintf(bad, sizeof bad, "%s/corrupt.npz", g_dir);
    snprintf(good, sizeof good, "%s/good.npz", g_dir);
    static const char junk[] = "PK\003\004 this is not a zip archive";
    assert_int_equal(tu_write_file(bad, junk, sizeof junk - 1), 0);
    bark_voice v = {0};
    bark_voice_origin o;
    bark_error err;
    assert_true(bark_voice_from_npz(bad, &v, &o, &err) != 0);
    assert_null(v.semantic);
    assert_non_null(strstr(err.msg, "corrupt.npz"));
    make_voice(&v, 40, 60, 4);
    assert_int_equal(bark_voice_save_npz(&v, good, &err), 0);
    bark_voice_free(&v);
    assert_int_equal(bark_voice_from_npz(good, &v, &o, &err), 0);
    assert_string_equal(o.method, "npz-import");
    assert_string_equal(o.source, "good.npz");
    assert_int_equal(strlen(o.source_sha256), 64);
    assert_int_equal(v.n_semantic, 40);
    bark_voice_free(&v);
}

static void write_wav(const char *path, int rate, size_t frames) {
    SF_INFO info = {0};
    info.samplerate = rate, info.channels = 1, info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    if (!f) fail_msg("%s: %s", path, sf_strerror(NULL));
    short z[256] = {0};
    for (size_t i = 0; i < frames; i += 256) sf_writef_short(f, z, (sf_count_t)(frames - i < 256 ? frames - i : 256));
    sf_close(f);
}

/* Refused from the header, before the model is needed: no samples, longer than the bound, not audio. */
static void test_recording_bounds(void **state) {
    char empty[600], longer[600], text[600];
    snprintf(empty, sizeof empty, "%s/empty.wav", g_dir);
    snprintf(longer, sizeof longer, "%s/long.wav", g_dir);
    snprintf(text, sizeof text, "%s/notes.wav", g_dir);
    write_wav(empty, 16000, 0);
    write_wav(longer, 1000, 61000);
    assert_int_equal(tu_write_file(text, "not audio at all", 16), 0);
    bark_voice v = {0};
    bark_voice_origin o;
    bark_error err;
    assert_int_equal(bark_voice_from_recording(NULL, empty, NULL, 60, &v, &o, NULL, &err), BARK_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "no samples"));
    assert_int_equal(bark_voice_from_recording(NULL, longer, NULL, 60, &v, &o, NULL, &err), BARK_ERR_ARG);
    assert_non_null(strstr(err.msg, "61 s"));
    assert_int_equal(bark_voice_from_recording(NULL, text, NULL, 60, &v, &o, NULL, &err), BARK_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "notes.wav"));
    assert_null(v.semantic);
}

/* bark_voice_find: a .npz path, then the store, then the model (a user voice shadows a model voice of its name). */
static void test_find(void **state) {
    char model[600], dir[600], npz[600], log[4096];
    snprintf(model, sizeof model, "%s/tiny.gguf", g_dir);
    snprintf(dir, sizeof dir, "%s/find", g_dir);
    snprintf(npz, sizeof npz, "%s/file.npz", g_dir);
    char flat[600], cmd[2400];
    bark_error err;
    bark_voice mine = {0}, shadow = {0}, got = {0}, ref = {0};
    make_voice(&mine, 30, 45, 5);
    make_voice(&shadow, 31, 46, 6);
    /* the model holds a flat-named voice too ("announcer", embedded from announcer.npz), as a user may convert */
    snprintf(flat, sizeof flat, "%s/announcer.npz", g_dir);
    assert_int_equal(bark_voice_save_npz(&mine, flat, &err), 0);
    snprintf(cmd, sizeof cmd, "%s convert tests/data/tiny/hf %s -o %s --type f32 -q", tu_bark(), flat, model);
    if (tu_run(cmd, log, sizeof log)) fail_msg("%s", log);
    bark_model *m = NULL;
    assert_int_equal(bark_model_open(model, &m, &err), 0);
    const char *model_voice = "announcer";
    assert_int_equal(bark_model_voice(m, model_voice, &ref, &err), 0);
    bark_voice_free(&ref);
    bark_voice_store *s = NULL;
    assert_int_equal(bark_voice_store_open(dir, 1, &s, &err), 0);
    assert_int_equal(bark_voice_store_add(s, "mine", &mine, NULL, 0, &err), 0);
    assert_int_equal(bark_voice_save_npz(&shadow, npz, &err), 0);

    assert_int_equal(bark_voice_find(m, dir, "mine", &got, &err), 0);
    assert_same_voice(&mine, &got);
    bark_voice_free(&got);
    assert_int_equal(bark_voice_find(m, NULL, "mine", &got, &err), BARK_ERR_MISSING); /* no store given */
    assert_int_equal(bark_voice_find(m, dir, npz, &got, &err), 0);
    assert_same_voice(&shadow, &got);
    bark_voice_free(&got);
    assert_int_equal(bark_voice_find(m, dir, model_voice, &got, &err), 0);
    assert_int_equal(bark_model_voice(m, model_voice, &ref, &err), 0);
    assert_same_voice(&ref, &got);
    bark_voice_free(&got);
    assert_int_equal(bark_voice_find(m, dir, "nobody", &got, &err), BARK_ERR_MISSING);
    /* a model voice's name in the store (the CLI allows it with --force) is the user's */
    assert_int_equal(bark_voice_store_add(s, model_voice, &shadow, NULL, 0, &err), 0);
    assert_int_equal(bark_voice_find(m, dir, model_voice, &got, &err), 0);
    assert_same_voice(&shadow, &got);
    bark_voice_free(&got);
    bark_voice_free(&ref);
    bark_voice_free(&mine);
    bark_voice_free(&shadow);
    bark_voice_store_close(s);
    bark_model_close(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_open),
        cmocka_unit_test(test_add_list_load_export_remove),
        cmocka_unit_test(test_failures_leave_nothing),
        cmocka_unit_test(test_from_npz),
        cmocka_unit_test(test_recording_bounds),
        cmocka_unit_test(test_find),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
