/* test_encodec_tiny.c: EnCodec at the tiny widths vs transformers, other widths, and all voice presets decoded to WAV. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "formats/source.h"
#include "codec/encodec.h"
#include "util/testutil.h"

#define DATA "tests/data/encodec/"
#define VOICES "models/voices"

typedef struct fixture {
    char *dir;
    char path[512];
    bark_model *bm;
    encodec_model em;
    src_set gold;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    bark_error err = {0};
    if (!f || !(f->dir = tu_tmpdir())) return -1;
    snprintf(f->path, sizeof f->path, "%s/tiny.gguf", f->dir);
    const char *src[1] = {"tests/data/tiny/hf"};
    bark_convert_params p = bark_convert_default_params();
    p.wtype = BARK_WTYPE_F32;
    if (bark_convert(src, 1, f->path, &p, &err) || bark_model_open(f->path, &f->bm, &err) ||
        encodec_load(f->bm, &f->em, &err)) {
        fprintf(stderr, "tiny codec: %s\n", err.msg);
        return -1;
    }
    src_set_init(&f->gold);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    encodec_free(&f->em);
    bark_model_close(f->bm);
    src_set_free(&f->gold);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* A golden array tests/data/encodec/<name>.npy (int32 or float32); dims[] gets its shape. */
static const void *gold(fixture *f, const char *name, src_dtype want, size_t dims[2]) {
    const src_tensor *t = src_set_find(&f->gold, name);
    if (!t) {
        char file[128];
        bark_error err;
        snprintf(file, sizeof file, DATA "%s.npy", name);
        if (src_read_npy(&f->gold, file, name, &err)) fail_msg("%s", err.msg);
        t = src_set_find(&f->gold, name);
    }
    assert_non_null(t);
    assert_int_equal(t->dtype, want);
    assert_true(t->n_dims >= 1 && t->n_dims <= 2);
    dims[0] = (size_t)t->shape[0];
    dims[1] = t->n_dims == 2 ? (size_t)t->shape[1] : 1;
    return t->data;
}


static void test_tiny_hparams(void **state) {
    fixture *f = *state;
    const encodec_model *m = &f->em;
    assert_int_equal(m->hp.n_filters, 4);
    assert_int_equal(m->hp.dimension, 16);
    assert_int_equal(m->hp.n_ratios, 4);
    assert_int_equal(m->hop, 320);
    assert_int_equal(m->dec_lstm.dim, 64);
    assert_int_equal(m->enc_lstm.dim, 64);
    assert_int_equal(m->dec_in.cin, 16);
    assert_int_equal(m->dec_out.cin, 4);
    assert_int_equal(m->dec_res[3].block1.cout, 2); /* 4 / compress 2 */
    assert_int_equal(m->has_encoder, 1);
    assert_int_equal(m->hp.n_q, 32);
}

static void decode_case(fixture *f, const char *codes_name, const char *audio_name) {
    size_t cd[2], ad[2];
    const int32_t *codes = gold(f, codes_name, SRC_I32, cd);
    const float *want = gold(f, audio_name, SRC_F32, ad);
    const size_t nq = cd[0], T = cd[1];
    assert_int_equal(ad[0], 320 * T);
    float *out = malloc(320 * T * sizeof *out);
    bark_error err = {0};
    assert_int_equal(encodec_decode(&f->em, codes, (int)nq, T, out, &err), BARK_OK);
    double snr, e = tu_max_err(want, out, 320 * T, &snr);
    print_message("tiny decode %s (%zu x %zu): max |err| %.3g, SNR %.1f dB\n", codes_name, nq, T, e, snr);
    assert_true(e <= 1e-4);
    free(out);
}

static void test_tiny_decode(void **state) {
    fixture *f = *state;
    decode_case(f, "tiny_codes", "tiny_audio");
    decode_case(f, "tiny_codes32", "tiny_audio32");
    decode_case(f, "tiny_codes_short", "tiny_audio_short");
}

/* Chunked decoding of the tiny codec equals its whole decode bit for bit. */
static void test_tiny_stream(void **state) {
    fixture *f = *state;
    size_t cd[2];
    const int32_t *codes = gold(f, "tiny_codes", SRC_I32, cd);
    const size_t T = cd[1], N = 320 * T;
    float *whole = malloc(N * sizeof *whole), *out = malloc((N + 320 * 8) * sizeof *out);
    bark_error err = {0};
    assert_int_equal(encodec_decode(&f->em, codes, 8, T, whole, &err), BARK_OK);
    static const size_t chunks[] = {1, 2, 3, 7, 13, 16, 40, 100};
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        encodec_dec_stream *s = NULL;
        assert_int_equal(encodec_dec_stream_create(&f->em, 8, &s, &err), BARK_OK);
        size_t total = 0, got = 0;
        for (size_t done = 0; done < T; done += chunks[c]) {
            const size_t n = T - done < chunks[c] ? T - done : chunks[c];
            assert_int_equal(encodec_dec_stream_push(s, codes + done, T, n, out + total, N + 2560 - total, &got, &err),
                             BARK_OK);
            total += got;
        }
        assert_int_equal(encodec_dec_stream_finish(s, out + total, N + 2560 - total, &got, &err), BARK_OK);
        total += got;
        assert_int_equal(total, N);
        assert_memory_equal(out, whole, N * sizeof *out);
        encodec_dec_stream_free(s);
    }
    free(whole);
    free(out);
}

static void test_tiny_encode(void **state) {
    fixture *f = *state;
    size_t wd[2], ld[2], c6d[2], c24d[2];
    const float *wav = gold(f, "tiny_wave", SRC_F32, wd);
    const float *lat = gold(f, "tiny_latent", SRC_F32, ld);
    const int32_t *c6 = gold(f, "tiny_codes_6k", SRC_I32, c6d);
    const int32_t *c24 = gold(f, "tiny_codes_24k", SRC_I32, c24d);
    const size_t N = wd[0], T = encodec_frames(&f->em, N);
    assert_int_equal(ld[0], 16);
    assert_int_equal(ld[1], T);
    assert_int_equal(c6d[0], 8);
    assert_int_equal(c24d[0], 32);
    assert_int_equal(encodec_n_q_for_bandwidth(&f->em, 6.0), 8);
    assert_int_equal(encodec_n_q_for_bandwidth(&f->em, 24.0), 32);
    float *z = malloc(16 * T * sizeof *z);
    int32_t *codes = malloc(32 * T * sizeof *codes);
    bark_error err = {0};
    const int nqs[2] = {8, 32};
    const int32_t *want[2] = {c6, c24};
    for (int k = 0; k < 2; k++) {
        float margin = 0;
        assert_int_equal(encodec_encode(&f->em, wav, N, nqs[k], codes, z, &margin, &err), BARK_OK);
        double snr, e = tu_max_err(lat, z, 16 * T, &snr);
        size_t diff = 0;
        for (size_t i = 0; i < (size_t)nqs[k] * T; i++) diff += codes[i] != want[k][i];
        print_message("tiny encode %zu samples, %d codebooks: latent max |err| %.3g (SNR %.1f dB), %zu/%zu codes "
                      "differ, smallest best-vs-second RVQ distance gap %.3g\n",
                      N, nqs[k], e, snr, diff, (size_t)nqs[k] * T, margin);
        assert_true(e <= 1e-4);
        assert_int_equal(diff, 0);
    }
    free(z);
    free(codes);
}

/* Widths, ratio counts and kernels of the family other than 24 kHz/tiny: built, streamed, encoded. */
static void test_family(void **state) {
    bark_error err = {0};
    encodec_hparams hp = encodec_hparams_24khz();
    hp.n_filters = 2;
    hp.dimension = 8;
    hp.n_ratios = 3;
    hp.ratios[0] = 6, hp.ratios[1] = 4, hp.ratios[2] = 3;
    hp.kernel_size = 5, hp.last_kernel_size = 9, hp.residual_kernel_size = 5;
    hp.codebook_size = 64, hp.n_q = 4;
    encodec_model m;
    assert_int_equal(encodec_init_random(&m, &hp, 99, &err), BARK_OK);
    assert_int_equal(m.hop, 72);
    assert_int_equal(m.dec_lstm.dim, 16);
    assert_int_equal(m.dec_up[0].k, 12);
    const size_t T = 23, N = 72 * T;
    int32_t codes[4 * 23];
    for (size_t i = 0; i < 4 * T; i++) codes[i] = (int32_t)((i * 37 + 5) % 64);
    float *whole = malloc(N * sizeof *whole), *out = malloc((N + 72 * 8) * sizeof *out);
    assert_int_equal(encodec_decode(&m, codes, 4, T, whole, &err), BARK_OK);
    encodec_dec_stream *s = NULL;
    assert_int_equal(encodec_dec_stream_create(&m, 4, &s, &err), BARK_OK);
    size_t total = 0, got = 0;
    for (size_t t = 0; t < T; t++) {
        assert_int_equal(encodec_dec_stream_push(s, codes + t, T, 1, out + total, N + 576 - total, &got, &err), BARK_OK);
        total += got;
    }
    assert_int_equal(encodec_dec_stream_finish(s, out + total, N + 576 - total, &got, &err), BARK_OK);
    assert_int_equal(total + got, N);
    assert_memory_equal(out, whole, N * sizeof *out);
    encodec_dec_stream_free(s);
    for (size_t i = 0; i < N; i++) assert_true(isfinite(whole[i]));
    int32_t back[4 * 23];
    float z[8 * 23];
    assert_int_equal(encodec_encode(&m, whole, N - 5, 4, back, z, NULL, &err), BARK_OK);
    assert_int_equal(encodec_frames(&m, N - 5), T);
    for (size_t i = 0; i < 4 * T; i++) assert_true(back[i] >= 0 && back[i] < 64);
    encodec_free(&m);
    free(whole);
    free(out);

    /* what the family does not cover is refused, naming the key */
    struct { const char *key; int which; } bad[] = {
        {"channels", 0}, {"n_residual_layers", 1}, {"lstm_layers", 2}, {"sample_rate", 3}, {"compress", 4},
        {"ratios", 5}, {"n_filters", 6}, {"residual kernel", 7}, {"ratios[1]", 8}, {"wider", 9},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hp = encodec_hparams_24khz();
        switch (bad[i].which) {
        case 0: hp.channels = 2; break;
        case 1: hp.n_residual_layers = 3; break;
        case 2: hp.lstm_layers = 1; break;
        case 3: hp.sample_rate = 48000; break;
        case 4: hp.compress = 64; break;
        case 5: hp.n_ratios = 9; break;
        case 6: hp.n_filters = 0; break;
        case 7: hp.ratios[0] = 2; break;
        case 8: hp.ratios[1] = 0; break;
        case 9: hp.n_filters = 512; break;
        }
        assert_int_equal(encodec_hparams_check(&hp, &err), BARK_ERR_UNSUPPORTED);
        if (!strstr(err.msg, bad[i].key)) fail_msg("'%s' does not name '%s'", err.msg, bad[i].key);
    }
}

/* Decodes codes [8][T] of one voice to a WAV file and checks the file holds exactly 320*T samples at 24 kHz. */
static void decode_voice_to_wav(fixture *f, const char *npz, const char *wav, size_t *frames, float *buf) {
    bark_voice v = {0};
    bark_error err = {0};
    if (bark_voice_load_npz(npz, &v, &err)) fail_msg("%s", err.msg);
    assert_true(v.n_fine >= 1);
    encodec_dec_stream *s = NULL;
    bark_audio_writer *w = NULL;
    assert_int_equal(encodec_dec_stream_create(&f->em, 8, &s, &err), BARK_OK);
    assert_int_equal(bark_audio_writer_open(wav, 24000, &w, &err), BARK_OK);
    size_t got = 0;
    for (size_t done = 0; done < v.n_fine; done += 75) {
        const size_t n = v.n_fine - done < 75 ? v.n_fine - done : 75;
        if (encodec_dec_stream_push(s, v.fine + done, v.n_fine, n, buf, 320 * 90, &got, &err)) fail_msg("%s: %s", npz, err.msg);
        assert_int_equal(bark_audio_writer_write(w, buf, got, &err), BARK_OK);
    }
    assert_int_equal(encodec_dec_stream_finish(s, buf, 320 * 90, &got, &err), BARK_OK);
    assert_int_equal(bark_audio_writer_write(w, buf, got, &err), BARK_OK);
    assert_int_equal(bark_audio_writer_close(w, 1, &err), BARK_OK);
    encodec_dec_stream_free(s);
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *sf = sf_open(wav, SFM_READ, &info);
    assert_non_null(sf);
    sf_close(sf);
    assert_int_equal(info.samplerate, 24000);
    assert_int_equal(info.channels, 1);
    assert_int_equal((size_t)info.frames, 320 * v.n_fine);
    assert_int_equal(info.format, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
    *frames = v.n_fine;
    bark_voice_free(&v);
    unlink(wav);
}

static int has_npz_suffix(const char *s) {
    size_t n = strlen(s);
    return n > 4 && !strcmp(s + n - 4, ".npz");
}

static void test_all_voice_presets(void **state) {
    fixture *f = *state;
    const char *dirs[2] = {VOICES, VOICES "/v2"};
    float *buf = malloc(320 * 90 * sizeof *buf);
    char npz[600], wav[600];
    size_t count = 0, frames_total = 0, fmin = (size_t)-1, fmax = 0;
    double t0 = tu_now();
    for (int d = 0; d < 2; d++) {
        DIR *dir = opendir(dirs[d]);
        if (!dir) fail_msg("cannot list %s", dirs[d]);
        struct dirent *e;
        while ((e = readdir(dir))) {
            if (!has_npz_suffix(e->d_name)) continue;
            snprintf(npz, sizeof npz, "%s/%s", dirs[d], e->d_name);
            snprintf(wav, sizeof wav, "%s/voice.wav", f->dir);
            size_t frames = 0;
            decode_voice_to_wav(f, npz, wav, &frames, buf);
            count++;
            frames_total += frames;
            if (frames < fmin) fmin = frames;
            if (frames > fmax) fmax = frames;
        }
        closedir(dir);
    }
    print_message("%zu voice presets: fine_prompt codes decoded to 24 kHz WAV files of exactly frames x 320 samples "
                  "(%zu..%zu frames, %zu in all) in %.2f s\n", count, fmin, fmax, frames_total, tu_now() - t0);
    assert_int_equal(count, 131);
    free(buf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiny_hparams),
        cmocka_unit_test(test_tiny_decode),
        cmocka_unit_test(test_tiny_stream),
        cmocka_unit_test(test_tiny_encode),
        cmocka_unit_test(test_family),
        cmocka_unit_test(test_all_voice_presets),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
