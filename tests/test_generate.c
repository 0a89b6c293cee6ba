/* test_generate.c: Bark's semantic, coarse and fine generation on the tiny model against Suno's greedy run. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bark.h"
#include "formats/source.h"
#include "generate/generate.h"
#include "text/tokenizer.h"

#define VOICE_NPZ "models/voices/v2/en_speaker_0.npz"
#define VOCAB "models/bert-base-multilingual-cased/vocab.txt"
/* The text of tools/make_gpt_goldens.py. */
#define TEXT "Hello there, this is the tiny bark speaking [laughs]. How are you today?"

typedef struct fixture {
    char path[64];
    bark_model *m;
    src_set gold;
} fixture;

static int convert_to_temp(char *path, size_t cap, const char *const *src, size_t n, bark_error *err) {
    snprintf(path, cap, "/tmp/bark_test_gen_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    close(fd);
    bark_convert_params p = bark_convert_default_params();
    p.wtype = BARK_WTYPE_F32;
    p.vocab_path = VOCAB;
    return bark_convert(src, n, path, &p, err) ? -1 : 0;
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    const char *src[1] = {"tests/data/tiny/hf"};
    bark_error err;
    if (!f || convert_to_temp(f->path, sizeof f->path, src, 1, &err) || bark_model_open(f->path, &f->m, &err)) {
        fprintf(stderr, "tiny model: %s\n", err.msg);
        return -1;
    }
    src_set_init(&f->gold);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    bark_model_close(f->m);
    unlink(f->path);
    src_set_free(&f->gold);
    free(f);
    return 0;
}

/* A golden int32 array by file stem (tests/data/gpt/<name>.npy); *n gets its element count. */
static const int32_t *gold(fixture *f, const char *name, size_t *n) {
    const src_tensor *t = src_set_find(&f->gold, name);
    if (!t) {
        char file[128];
        bark_error err;
        snprintf(file, sizeof file, "tests/data/gpt/%s.npy", name);
        if (src_read_npy(&f->gold, file, name, &err)) fail_msg("%s", err.msg);
        t = src_set_find(&f->gold, name);
    }
    assert_non_null(t);
    assert_int_equal(t->dtype, SRC_I32);
    *n = t->nbytes / 4;
    return (const int32_t *)t->data;
}

/* Index of the first difference of two int arrays, or -1. */
static long first_diff(const int32_t *a, const int32_t *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return (long)i;
    return -1;
}

/* Runs the three stages greedily, each from the previous stage's golden, and compares codes exactly. */
static void greedy_run(fixture *f, const char *tag, const bark_voice *voice, double max_s) {
    char name[64];
    size_t n_text, n_sem, n_coarse, n_fine;
    bark_error err;
    const int32_t *text = gold(f, "text_ids", &n_text);
    assert_int_equal(n_text, 256);
    snprintf(name, sizeof name, "greedy_%s_semantic", tag);
    const int32_t *sem_ref = gold(f, name, &n_sem);
    snprintf(name, sizeof name, "greedy_%s_coarse", tag);
    const int32_t *coarse_ref = gold(f, name, &n_coarse);
    snprintf(name, sizeof name, "greedy_%s_fine", tag);
    const int32_t *fine_ref = gold(f, name, &n_fine);

    bark_semantic_params sp = bark_semantic_default_params();
    sp.sample.greedy = 1;
    sp.max_gen_duration_s = max_s;
    int32_t sem[BARK_SEMANTIC_MAX_TOKENS];
    size_t n_out = 0;
    assert_int_equal(bark_generate_semantic(f->m, text, voice, &sp, NULL, sem, &n_out, &err), BARK_OK);
    assert_int_equal(n_out, n_sem);
    long d = first_diff(sem, sem_ref, n_sem);
    if (d >= 0) fail_msg("%s semantic: token %ld is %d, Suno's is %d", tag, d, sem[d], sem_ref[d]);

    size_t frames = bark_coarse_frames(n_sem);
    assert_int_equal(2 * frames, n_coarse);
    assert_true(2 * frames > 60); /* more than one sliding window */
    int32_t *coarse = malloc(n_coarse * sizeof *coarse), *fine = malloc(n_fine * sizeof *fine);
    bark_coarse_params cp = bark_coarse_default_params();
    cp.sample.greedy = 1;
    assert_int_equal(bark_generate_coarse(f->m, sem_ref, n_sem, voice, &cp, NULL, coarse, &err), BARK_OK);
    d = first_diff(coarse, coarse_ref, n_coarse);
    if (d >= 0) fail_msg("%s coarse: code %ld is %d, Suno's is %d", tag, d, coarse[d], coarse_ref[d]);

    assert_int_equal(8 * frames, n_fine);
    bark_fine_params fp = bark_fine_default_params();
    fp.sample.greedy = 1;
    assert_int_equal(bark_generate_fine(f->m, coarse_ref, 2, frames, voice, &fp, NULL, fine, &err), BARK_OK);
    d = first_diff(fine, fine_ref, n_fine);
    if (d >= 0)
        fail_msg("%s fine: codebook %ld frame %ld is %d, Suno's is %d", tag, d / (long)frames, d % (long)frames,
                 fine[d], fine_ref[d]);
    print_message("greedy %s: %zu semantic tokens, %zu frames, all codes identical to Suno's\n", tag, n_sem, frames);
    free(coarse);
    free(fine);
}

static void test_greedy_no_voice(void **state) { greedy_run(*state, "novoice", NULL, 7.0); }

/* With v2/en_speaker_0: histories trimmed as Suno does (512 fine frames = a second fine window). */
static void test_greedy_voice(void **state) {
    fixture *f = *state;
    bark_voice npz, emb;
    bark_error err;
    assert_int_equal(bark_voice_load_npz(VOICE_NPZ, &npz, &err), BARK_OK);
    assert_int_equal(npz.n_semantic, 341);
    assert_int_equal(npz.n_coarse, 512);
    assert_int_equal(npz.n_fine, 512);
    /* the voice embedded by the converter is the same data */
    assert_int_equal(bark_model_voice(f->m, "v2/en_speaker_0", &emb, &err), BARK_OK);
    assert_int_equal(emb.n_semantic, npz.n_semantic);
    assert_int_equal(emb.n_coarse, npz.n_coarse);
    assert_int_equal(emb.n_fine, npz.n_fine);
    assert_memory_equal(emb.semantic, npz.semantic, npz.n_semantic * 4);
    assert_memory_equal(emb.coarse, npz.coarse, 2 * npz.n_coarse * 4);
    assert_memory_equal(emb.fine, npz.fine, 8 * npz.n_fine * 4);
    greedy_run(f, "voice", &emb, 7.0);
    bark_voice_free(&emb);
    bark_voice_free(&npz);
    bark_voice_free(&npz); /* a freed voice is zeroed: freeing again is harmless */
}

/* A 10-token, 15-frame history (the first part of en_speaker_0): Suno keeps 9 semantic tokens and an odd
 * 27-token coarse cut, so the coarse history starts on codebook 1; the fine history is 15 frames. */
static void test_greedy_short_voice(void **state) {
    bark_voice npz, v;
    bark_error err;
    assert_int_equal(bark_voice_load_npz(VOICE_NPZ, &npz, &err), BARK_OK);
    int32_t sem[10], coarse[2 * 15], fine[8 * 15];
    memcpy(sem, npz.semantic, sizeof sem);
    for (int k = 0; k < 8; k++)
        for (int t = 0; t < 15; t++) {
            if (k < 2) coarse[k * 15 + t] = npz.coarse[(size_t)k * npz.n_coarse + t];
            fine[k * 15 + t] = npz.fine[(size_t)k * npz.n_fine + t];
        }
    v.semantic = sem, v.coarse = coarse, v.fine = fine;
    v.n_semantic = 10, v.n_coarse = 15, v.n_fine = 15;
    greedy_run(*state, "shortvoice", &v, 2.0);
    bark_voice_free(&npz);
}

/* The EOS rule: min_eos_p 0 stops before the first token (p_eos >= 0 always holds), as in Suno; without
 * early stop the duration limit decides: 0.5 s = 25 tokens (the token that passes it is kept). */
static void test_semantic_stops(void **state) {
    fixture *f = *state;
    size_t n_text, n;
    const int32_t *text = gold(f, "text_ids", &n_text);
    bark_error err;
    int32_t out[BARK_SEMANTIC_MAX_TOKENS];
    bark_semantic_params sp = bark_semantic_default_params();
    sp.sample.greedy = 1;
    sp.min_eos_p = 0.0f;
    assert_int_equal(bark_generate_semantic(f->m, text, NULL, &sp, NULL, out, &n, &err), BARK_OK);
    assert_int_equal(n, 0);
    sp = bark_semantic_default_params();
    sp.sample.greedy = 1;
    sp.allow_early_stop = 0;
    sp.min_eos_p = 0.0f; /* ignored without early stop */
    sp.max_gen_duration_s = 0.5;
    assert_int_equal(bark_generate_semantic(f->m, text, NULL, &sp, NULL, out, &n, &err), BARK_OK);
    assert_int_equal(n, 25);
    size_t n_ref;
    const int32_t *ref = gold(f, "greedy_novoice_semantic", &n_ref);
    assert_memory_equal(out, ref, 25 * 4); /* the EOS logit never won here, so dropping it changes nothing */
}

/* Our tokenizer gives the text block Suno's tokenizer gave; long text is cut with a flag, empty text fails. */
static void test_text_block(void **state) {
    fixture *f = *state;
    bark_tokenizer *tok;
    bark_error err;
    size_t n_ref, n_text;
    int truncated;
    const int32_t *ref = gold(f, "text_ids", &n_ref);
    assert_int_equal(bark_tokenizer_load_vocab(VOCAB, &tok, &err), BARK_OK);
    int32_t ids[256];
    assert_int_equal(bark_text_to_semantic_input(tok, TEXT, strlen(TEXT), ids, &n_text, &truncated, &err), BARK_OK);
    assert_memory_equal(ids, ref, sizeof ids);
    assert_int_equal(truncated, 0);
    char *long_text = malloc(4000);
    long_text[0] = '\0';
    for (int i = 0; i < 300; i++) strcat(long_text, "word ");
    assert_int_equal(bark_text_to_semantic_input(tok, long_text, strlen(long_text), ids, &n_text, &truncated, &err),
                     BARK_OK);
    assert_int_equal(truncated, 1);
    assert_int_equal(n_text, 256);
    assert_int_equal(bark_text_to_semantic_input(tok, " \t\n ", 4, ids, &n_text, &truncated, &err), BARK_ERR_ARG);
    assert_non_null(strstr(err.msg, "empty"));
    free(long_text);
    bark_tokenizer_free(tok);
}

/* Sampling: the same seed gives the same codes in every stage, another seed other codes. */
static void test_seeded_sampling(void **state) {
    fixture *f = *state;
    size_t n_text;
    const int32_t *text = gold(f, "text_ids", &n_text);
    bark_error err;
    bark_semantic_params sp = bark_semantic_default_params();
    sp.max_gen_duration_s = 1.0;
    int32_t a[BARK_SEMANTIC_MAX_TOKENS], b[BARK_SEMANTIC_MAX_TOKENS], c[BARK_SEMANTIC_MAX_TOKENS];
    size_t na, nb, nc;
    bark_rng r;
    bark_rng_seed(&r, 1);
    assert_int_equal(bark_generate_semantic(f->m, text, NULL, &sp, &r, a, &na, &err), BARK_OK);
    bark_rng_seed(&r, 1);
    assert_int_equal(bark_generate_semantic(f->m, text, NULL, &sp, &r, b, &nb, &err), BARK_OK);
    bark_rng_seed(&r, 2);
    assert_int_equal(bark_generate_semantic(f->m, text, NULL, &sp, &r, c, &nc, &err), BARK_OK);
    assert_int_equal(na, nb);
    assert_true(na >= 10);
    assert_memory_equal(a, b, na * 4);
    assert_true(na != nc || memcmp(a, c, na * 4) != 0);

    size_t frames = bark_coarse_frames(na);
    int32_t *ca = malloc(2 * frames * 4), *cb = malloc(2 * frames * 4);
    int32_t *fa = malloc(8 * frames * 4), *fb = malloc(8 * frames * 4);
    bark_coarse_params cp = bark_coarse_default_params();
    bark_fine_params fp = bark_fine_default_params();
    bark_rng_seed(&r, 5);
    assert_int_equal(bark_generate_coarse(f->m, a, na, NULL, &cp, &r, ca, &err), BARK_OK);
    assert_int_equal(bark_generate_fine(f->m, ca, 2, frames, NULL, &fp, &r, fa, &err), BARK_OK);
    bark_rng_seed(&r, 5);
    assert_int_equal(bark_generate_coarse(f->m, a, na, NULL, &cp, &r, cb, &err), BARK_OK);
    assert_int_equal(bark_generate_fine(f->m, cb, 2, frames, NULL, &fp, &r, fb, &err), BARK_OK);
    assert_memory_equal(ca, cb, 2 * frames * 4);
    assert_memory_equal(fa, fb, 8 * frames * 4);
    assert_memory_equal(fa, ca, 2 * frames * 4); /* the given codebooks pass through */
    for (size_t i = 0; i < 8 * frames; i++) assert_true(fa[i] >= 0 && fa[i] < 1024);
    bark_rng_seed(&r, 6);
    assert_int_equal(bark_generate_coarse(f->m, a, na, NULL, &cp, &r, cb, &err), BARK_OK);
    assert_true(memcmp(ca, cb, 2 * frames * 4) != 0);
    free(ca);
    free(cb);
    free(fa);
    free(fb);
}

typedef struct counter {
    size_t calls, last_done, last_total, stop_at;
    bark_stage stage;
} counter;

static int count_calls(void *user, bark_stage stage, size_t done, size_t total) {
    counter *c = user;
    c->calls++;
    c->last_done = done, c->last_total = total, c->stage = stage;
    return c->stop_at && c->calls >= c->stop_at;
}

/* Progress reports arrive once per token / fine pass and a nonzero return stops the stage. */
static void test_progress(void **state) {
    fixture *f = *state;
    size_t n_text, n, n_sem;
    const int32_t *text = gold(f, "text_ids", &n_text);
    const int32_t *sem = gold(f, "greedy_novoice_semantic", &n_sem);
    bark_error err;
    int32_t out[BARK_SEMANTIC_MAX_TOKENS];
    counter c = {0, 0, 0, 5, BARK_STAGE_CODEC};
    bark_semantic_params sp = bark_semantic_default_params();
    sp.sample.greedy = 1;
    sp.progress.fn = count_calls, sp.progress.user = &c;
    assert_int_equal(bark_generate_semantic(f->m, text, NULL, &sp, NULL, out, &n, &err), BARK_ERR_INTERRUPTED);
    assert_int_equal(c.calls, 5);
    assert_int_equal(c.last_done, 5);
    assert_int_equal(c.last_total, 768);
    assert_int_equal(c.stage, BARK_STAGE_SEMANTIC);

    size_t frames = bark_coarse_frames(30);
    int32_t *co = malloc(2 * frames * 4), *fi = malloc(8 * frames * 4);
    bark_coarse_params cp = bark_coarse_default_params();
    cp.sample.greedy = 1;
    counter cc = {0, 0, 0, 0, BARK_STAGE_CODEC};
    cp.progress.fn = count_calls, cp.progress.user = &cc;
    assert_int_equal(bark_generate_coarse(f->m, sem, 30, NULL, &cp, NULL, co, &err), BARK_OK);
    assert_int_equal(cc.calls, 2 * frames);
    assert_int_equal(cc.last_done, 2 * frames);
    assert_int_equal(cc.stage, BARK_STAGE_COARSE);
    bark_fine_params fp = bark_fine_default_params();
    fp.sample.greedy = 1;
    counter fc = {0, 0, 0, 0, BARK_STAGE_CODEC};
    fp.progress.fn = count_calls, fp.progress.user = &fc;
    assert_int_equal(bark_generate_fine(f->m, co, 2, frames, NULL, &fp, NULL, fi, &err), BARK_OK);
    assert_int_equal(fc.calls, 6);
    assert_int_equal(fc.last_done, 6);
    assert_int_equal(fc.last_total, 6);
    fc.calls = 0, fc.stop_at = 2;
    assert_int_equal(bark_generate_fine(f->m, co, 2, frames, NULL, &fp, NULL, fi, &err), BARK_ERR_INTERRUPTED);
    assert_int_equal(fc.calls, 2);
    free(co);
    free(fi);
}

/* The announcer preset stores uint16 arrays. */
static void test_uint16_voice(void **state) {
    (void)state;
    bark_voice v;
    bark_error err;
    assert_int_equal(bark_voice_load_npz("models/voices/announcer.npz", &v, &err), BARK_OK);
    assert_int_equal(v.n_semantic, 499);
    assert_int_equal(v.n_coarse, 750);
    assert_int_equal(v.n_fine, 750);
    assert_memory_equal(v.coarse, v.fine, 2 * 750 * 4); /* coarse_prompt == fine_prompt[0:2] */
    bark_voice_free(&v);
}

/* Bad input gives one clear line: unknown voices list the known ones, missing stages are named. */
static void test_bad_input(void **state) {
    fixture *f = *state;
    bark_error err;
    bark_voice v;
    assert_int_equal(bark_model_has_voice(f->m, "v2/xx_speaker_9"), 0);
    assert_int_equal(bark_model_has_voice(f->m, "v2/en_speaker"), 0); /* a prefix of one is not one */
    assert_int_equal(bark_model_has_voice(f->m, "v2/en_speaker_0"), 1);
    assert_int_equal(bark_model_voice(f->m, "v2/xx_speaker_9", &v, &err), BARK_ERR_MISSING);
    assert_non_null(strstr(err.msg, "v2/xx_speaker_9"));
    assert_non_null(strstr(err.msg, "v2/en_speaker_0"));
    assert_non_null(strstr(err.msg, "v2/de_speaker_1"));
    assert_int_equal(bark_voice_load_npz("tests/data/gpt/no_such.npz", &v, &err) < 0, 1);
    assert_int_equal(bark_voice_load_npz("tests/data/gpt/text_ids.npy", &v, &err) < 0, 1);

    int32_t sem[4] = {1, 2, 3, 10000}, out[64];
    bark_coarse_params cp = bark_coarse_default_params();
    cp.sample.greedy = 1;
    assert_int_equal(bark_generate_coarse(f->m, sem, 4, NULL, &cp, NULL, out, &err), BARK_ERR_ARG);
    assert_non_null(strstr(err.msg, "10000"));
    assert_int_equal(bark_generate_coarse(f->m, sem, 0, NULL, &cp, NULL, out, &err), BARK_ERR_ARG);
    cp.max_coarse_history = 700;
    assert_int_equal(bark_generate_coarse(f->m, sem, 3, NULL, &cp, NULL, out, &err), BARK_ERR_ARG);
    cp = bark_coarse_default_params();
    cp.sample.temp = 0.0f;
    assert_int_equal(bark_generate_coarse(f->m, sem, 3, NULL, &cp, NULL, out, &err), BARK_ERR_ARG);

    /* a voice whose coarse prompt does not fit its semantic prompt (Suno's assertion) */
    int32_t vs[10] = {0}, vc[2 * 5] = {0}, vf[8 * 5] = {0};
    bark_voice odd = {vs, vc, vf, 10, 5, 5};
    cp = bark_coarse_default_params();
    assert_int_equal(bark_generate_coarse(f->m, sem, 3, &odd, &cp, NULL, out, &err), BARK_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "ratio"));

    bark_fine_params fp = bark_fine_default_params();
    int32_t codes[2 * 4] = {1, 2, 3, 4, 5, 6, 7, 1024}, fo[8 * 4];
    assert_int_equal(bark_generate_fine(f->m, codes, 2, 4, NULL, &fp, NULL, fo, &err), BARK_ERR_ARG);
    assert_int_equal(bark_generate_fine(f->m, codes, 0, 4, NULL, &fp, NULL, fo, &err), BARK_ERR_ARG);
    assert_int_equal(bark_generate_fine(f->m, codes, 8, 1, NULL, &fp, NULL, fo, &err), BARK_ERR_ARG);
    fp.sample.top_k = 5;
    assert_int_equal(bark_generate_fine(f->m, codes, 1, 4, NULL, &fp, NULL, fo, &err), BARK_ERR_ARG);

    /* a model file with only the coarse and fine stages */
    char path[64];
    const char *src[2] = {"tests/data/tiny/suno/coarse.pt", "tests/data/tiny/suno/fine.pt"};
    bark_model *part;
    assert_int_equal(convert_to_temp(path, sizeof path, src, 2, &err), 0);
    assert_int_equal(bark_model_open(path, &part, &err), BARK_OK);
    int32_t text[256], gen[BARK_SEMANTIC_MAX_TOKENS];
    for (int i = 0; i < 256; i++) text[i] = 129595;
    size_t n = 99;
    bark_semantic_params sp = bark_semantic_default_params();
    assert_int_equal(bark_generate_semantic(part, text, NULL, &sp, NULL, gen, &n, &err), BARK_ERR_MISSING);
    assert_non_null(strstr(err.msg, "semantic"));
    assert_int_equal(n, 0);
    bark_model_close(part);
    unlink(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greedy_no_voice), cmocka_unit_test(test_greedy_voice),
        cmocka_unit_test(test_greedy_short_voice), cmocka_unit_test(test_semantic_stops),
        cmocka_unit_test(test_text_block),      cmocka_unit_test(test_seeded_sampling),
        cmocka_unit_test(test_progress),        cmocka_unit_test(test_uint16_voice),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
