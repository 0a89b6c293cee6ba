/* test_audio_file.c: audio reading (mixdown, resampling, from memory) and writing (WAV/FLAC/OGG/.npy, tags, codes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/audio_file.h"
#include "formats/npy_write.h"
#include "formats/source.h"

static char tmp_path[128];

static const char *tmp(const char *ext) {
    snprintf(tmp_path, sizeof tmp_path, "/tmp/test_audio_file_%d%s", (int)getpid(), ext);
    return tmp_path;
}

static void write_sine(const char *path, int rate, size_t n, float amp, float hz) {
    bark_audio_writer *w = NULL;
    bark_error err = {0};
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = (float)(amp * sin(2 * M_PI * hz * (double)i / rate));
    assert_int_equal(bark_audio_writer_open(path, rate, &w, &err), BARK_OK);
    assert_int_equal(bark_audio_writer_write(w, x, n / 2, &err), BARK_OK);
    assert_int_equal(bark_audio_writer_write(w, x + n / 2, n - n / 2, &err), BARK_OK);
    assert_int_equal(bark_audio_writer_close(w, 1, &err), BARK_OK);
    free(x);
}

/* Reads the whole file at `rate` in small blocks; returns the samples (count in *n). */
static float *read_all(const char *path, int rate, size_t *n) {
    bark_audio_reader *r = NULL;
    bark_error err = {0};
    assert_int_equal(bark_audio_reader_open(path, rate, &r, &err), BARK_OK);
    size_t cap = 1 << 16, len = 0, got = 0;
    float *x = malloc(cap * sizeof *x);
    for (;;) {
        if (len + 1000 > cap) x = realloc(x, (cap *= 2) * sizeof *x);
        assert_int_equal(bark_audio_reader_read(r, x + len, 1000, &got, &err), BARK_OK);
        if (!got) break;
        len += got;
    }
    bark_audio_reader_close(r);
    *n = len;
    return x;
}

static void test_wav_round_trip(void **state) {
    const char *p = tmp(".wav");
    write_sine(p, 24000, 24000, 0.5f, 440.0f);
    size_t n = 0;
    float *x = read_all(p, 24000, &n);
    assert_int_equal(n, 24000);
    double e = 0;
    for (size_t i = 0; i < n; i++) e = fmax(e, fabs(x[i] - 0.5 * sin(2 * M_PI * 440.0 * (double)i / 24000.0)));
    printf("[ INFO     ] 16-bit WAV round trip max |err| %.3g\n", e);
    assert_true(e < 1.0 / 32768 + 1e-5);
    free(x);
    unlink(p);
}

/* Every format libsndfile writes names the software and says the audio is synthetic speech. */
static void test_tags(void **state) {
    const char *ext[3] = {".wav", ".flac", ".ogg"};
    for (int i = 0; i < 3; i++) {
        const char *p = tmp(ext[i]);
        write_sine(p, 24000, 2400, 0.5f, 440.0f);
        SF_INFO info = {0};
        SNDFILE *f = sf_open(p, SFM_READ, &info);
        assert_non_null(f);
        const char *sw = sf_get_string(f, SF_STR_SOFTWARE), *cm = sf_get_string(f, SF_STR_COMMENT);
        assert_non_null(sw);
        assert_non_null(strstr(sw, "bark.c " BARK_VERSION));
        assert_non_null(cm);
        assert_non_null(strstr(cm, "synthetic speech"));
        sf_close(f);
        unlink(p);
    }
}

static void test_resample(void **state) {
    const char *p = tmp(".flac");
    write_sine(p, 16000, 16000, 0.5f, 300.0f);
    size_t n = 0;
    float *x = read_all(p, 24000, &n);
    assert_true(n >= 23990 && n <= 24010);
    double e = 0;
    for (size_t i = 2000; i < 22000; i++) e = fmax(e, fabs(x[i] - 0.5 * sin(2 * M_PI * 300.0 * (double)i / 24000.0)));
    printf("[ INFO     ] 16 kHz FLAC read at 24 kHz: %zu samples, max |err| %.3g away from the edges\n", n, e);
    assert_true(e < 5e-3);
    free(x);
    unlink(p);
}

static void test_stereo_mixdown(void **state) {
    const char *p = tmp(".wav");
    SF_INFO info = {0};
    info.samplerate = 24000;
    info.channels = 2;
    info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    SNDFILE *f = sf_open(p, SFM_WRITE, &info);
    assert_non_null(f);
    float lr[2 * 100];
    for (int i = 0; i < 100; i++) {
        lr[2 * i] = 0.25f;
        lr[2 * i + 1] = (float)i / 100.0f;
    }
    assert_int_equal(sf_writef_float(f, lr, 100), 100);
    sf_close(f);
    size_t n = 0;
    float *x = read_all(p, 24000, &n);
    assert_int_equal(n, 100);
    for (int i = 0; i < 100; i++) assert_true(fabsf(x[i] - (0.25f + (float)i / 100.0f) / 2) < 1e-6f);
    free(x);
    unlink(p);
}

/* Opus and MP3 (lossy, with codec delay): a 440 Hz tone read back as about a second of a 440 Hz tone at its level. */
static void test_opus_and_mp3(void **state) {
    const char *ext[2] = {".opus", ".mp3"};
    for (int e = 0; e < 2; e++) {
        const char *p = tmp(ext[e]);
        write_sine(p, 24000, 24000, 0.5f, 440.0f);
        size_t n = 0;
        float *x = read_all(p, 24000, &n);
        double energy = 0;
        int crossings = 0;
        for (size_t i = 2400; i + 2400 < n; i++) energy += (double)x[i] * x[i], crossings += (x[i] < 0) != (x[i + 1] < 0);
        const double secs = (double)(n - 4800) / 24000, rms = sqrt(energy / (double)(n - 4800));
        printf("[ INFO     ] %s: %zu samples back, rms %.3f (0.354 written), %.0f zero crossings a second (880)\n",
               ext[e], n, rms, crossings / secs);
        assert_true(n >= 23000 && n <= 26000);
        assert_true(fabs(rms - 0.3536) < 0.05);
        assert_true(fabs(crossings / secs - 880) < 20);
        free(x);
        unlink(p);
    }
}

static void test_ogg_and_npy(void **state) {
    const char *p = tmp(".ogg");
    write_sine(p, 24000, 12000, 0.5f, 440.0f);
    size_t n = 0;
    float *x = read_all(p, 24000, &n);
    assert_int_equal(n, 12000);
    free(x);
    unlink(p);

    p = tmp(".npy");
    const float v[3] = {1.0f, -2.5f, 0.125f};
    bark_audio_writer *w = NULL;
    bark_error err = {0};
    assert_int_equal(bark_audio_writer_open(p, 24000, &w, &err), BARK_OK);
    assert_int_equal(bark_audio_writer_write(w, v, 3, &err), BARK_OK);
    assert_int_equal(bark_audio_writer_close(w, 0, &err), BARK_OK);
    assert_int_equal(access(p, F_OK), -1); /* a failed file is removed */
    assert_int_equal(bark_audio_writer_open(p, 24000, &w, &err), BARK_OK);
    assert_int_equal(bark_audio_writer_write(w, v, 2, &err), BARK_OK);
    assert_int_equal(bark_audio_writer_write(w, v + 2, 1, &err), BARK_OK);
    assert_int_equal(bark_audio_writer_close(w, 1, &err), BARK_OK);
    FILE *f = fopen(p, "rb");
    unsigned char buf[128 + 12];
    assert_int_equal(fread(buf, 1, sizeof buf, f), 128 + 12);
    fclose(f);
    assert_memory_equal(buf, "\x93NUMPY\x01\x00", 8);
    assert_int_equal(buf[8] | buf[9] << 8, 118); /* 10 + 118 = 128 bytes of header */
    assert_non_null(strstr((char *)buf + 10, "'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"));
    assert_int_equal(buf[127], '\n');
    float back[3];
    memcpy(back, buf + 128, sizeof back);
    assert_memory_equal(back, v, sizeof v); /* the samples as given, not clipped */
    unlink(p);

    const int32_t codes[6] = {1, 2, 3, 4, 5, 1023};
    assert_int_equal(bark_codes_save_npy(p, codes, 2, 3, &err), BARK_OK);
    f = fopen(p, "rb");
    unsigned char b2[128 + 24];
    assert_int_equal(fread(b2, 1, sizeof b2, f), sizeof b2);
    assert_int_equal(fgetc(f), EOF);
    fclose(f);
    assert_int_equal(10 + (b2[8] | b2[9] << 8), 128);
    b2[127] = 0;
    assert_non_null(strstr((char *)b2 + 10, "'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }"));
    assert_memory_equal(b2 + 128, codes, sizeof codes);
    unlink(p);
}

/* The fault sweep's clone path: a read of the file that failed in the middle (the shim's EIO) was not reported by
 * libsndfile, whose next read went on from the wrong place: the clone came out different with exit 0. The reader now
 * reads through its own calls: a file cut short under it (a failed read of the same kind) is an error, at the
 * file's rate and resampled, and no samples of the failed block are given. */
static void test_reader_read_failure_reported(void **state) {
    const char *p = tmp(".wav");
    const int rates[2] = {24000, 16000};
    for (int k = 0; k < 2; k++) {
        write_sine(p, 24000, 48000, 0.5f, 440.0f);
        bark_audio_reader *r = NULL;
        bark_error err = {0};
        assert_int_equal(bark_audio_reader_open(p, rates[k], &r, &err), BARK_OK);
        float x[1000];
        size_t got = 0, total = 0;
        assert_int_equal(bark_audio_reader_read(r, x, 1000, &got, &err), BARK_OK);
        assert_true(got > 0);
        assert_int_equal(truncate(p, 44 + 2 * 20000), 0); /* 16-bit samples: 20000 of 48000 left */
        bark_status st;
        while ((st = bark_audio_reader_read(r, x, 1000, &got, &err)) == BARK_OK && got) total += got;
        assert_int_equal(st, BARK_ERR_IO);
        assert_int_equal(got, 0);
        assert_non_null(strstr(err.msg, "read failed"));
        assert_non_null(strstr(err.msg, p));
        assert_true(total < (size_t)rates[k] * 2);
        bark_audio_reader_close(r);
    }
    unlink(p);
}

static void test_errors(void **state) {
    bark_error err = {0};
    bark_audio_reader *r = NULL;
    assert_int_equal(bark_audio_reader_open("/nonexistent/x.wav", 24000, &r, &err), BARK_ERR_IO);
    assert_non_null(strstr(err.msg, "/nonexistent/x.wav"));
    assert_null(r);
    bark_audio_writer *w = NULL;
    assert_int_equal(bark_audio_writer_open(tmp(".aiff"), 24000, &w, &err), BARK_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, ".aiff"));
    assert_int_equal(bark_audio_writer_open(tmp(".opus"), 44100, &w, &err), BARK_ERR_UNSUPPORTED); /* Opus: no 44.1k */
    assert_non_null(strstr(err.msg, ".opus: cannot write"));
    assert_int_equal(bark_audio_writer_open("/nonexistent/x.wav", 24000, &w, &err), BARK_ERR_IO);
    /* not audio */
    const char *p = tmp(".wav");
    FILE *f = fopen(p, "wb");
    fputs("this is not a wave file", f);
    fclose(f);
    assert_int_equal(bark_audio_reader_open(p, 24000, &r, &err), BARK_ERR_IO);
    unlink(p);
}

/* bark_codes_load_npy of p gives want [rows][cols] (rows 0: 1-D). */
static void expect_codes(const char *p, const int32_t *want, size_t rows, size_t cols) {
    bark_error err = {0};
    int32_t *back = NULL;
    size_t r = 99, c = 0;
    if (bark_codes_load_npy(p, &back, &r, &c, &err)) fail_msg("%s", err.msg);
    assert_int_equal(r, rows);
    assert_int_equal(c, cols);
    assert_memory_equal(back, want, (rows ? rows : 1) * cols * sizeof *want);
    bark_free(back);
}

/* Codes written a few frames at a time come back (via numpy's Fortran order) as the same [rows][cols] array. */
static void test_npy_columns(void **state) {
    const char *p = tmp("_cols.npy");
    bark_error err = {0};
    bark_codes_writer *w = NULL;
    int32_t v[3 * 50]; /* [3][50] */
    for (int i = 0; i < 150; i++) v[i] = i * 7 - 3;
    assert_int_equal(bark_codes_writer_open(p, 3, &w, &err), BARK_OK);
    assert_int_equal(bark_codes_writer_write(w, v, 50, 20, &err), BARK_OK); /* frames 0..19: v[q * 50 + j] */
    assert_int_equal(bark_codes_writer_write(w, v + 20, 50, 0, &err), BARK_OK);
    assert_int_equal(bark_codes_writer_write(w, v + 20, 50, 30, &err), BARK_OK);
    assert_int_equal(bark_codes_writer_close(w, 1, &err), BARK_OK);
    src_set s;
    src_set_init(&s);
    if (src_read_npy(&s, p, "c", &err)) fail_msg("%s", err.msg);
    const src_tensor *t = src_set_find(&s, "c");
    assert_int_equal(t->dtype, SRC_I32);
    assert_int_equal(t->n_dims, 2);
    assert_int_equal(t->shape[0], 3);
    assert_int_equal(t->shape[1], 50);
    assert_memory_equal(t->data, v, sizeof v);
    src_set_free(&s);
    expect_codes(p, v, 3, 50); /* and through the public reader */
    /* a writer closed after a failure leaves no file (and an older file of that name as it was) */
    unlink(p);
    assert_int_equal(bark_codes_writer_open(p, 8, &w, &err), BARK_OK);
    assert_int_equal(bark_codes_writer_write(w, v, 2, 2, &err), BARK_OK);
    assert_int_equal(bark_codes_writer_close(w, 0, &err), BARK_OK);
    assert_int_equal(access(p, F_OK), -1);
    assert_int_equal(bark_codes_writer_open("/nonexistent/c.npy", 8, &w, &err), BARK_ERR_IO);
    assert_non_null(strstr(err.msg, "/nonexistent/c.npy"));
}

/* A 1-D .npy (rows = 0) both ways; float arrays are not codes. */
static void test_codes_npy(void **state) {
    const char *p = tmp("_sem.npy");
    bark_error err = {0};
    const int32_t sem[5] = {0, 9999, 42, 7, 10000};
    assert_int_equal(bark_codes_save_npy(p, sem, 0, 5, &err), BARK_OK);
    expect_codes(p, sem, 0, 5);
    int32_t *back = NULL;
    size_t rows = 0, cols = 0;
    const float fl[2] = {1.0f, 2.0f};
    const size_t shape[1] = {2};
    assert_int_equal(npy_save(p, NPY_F4, shape, 1, fl, &err), BARK_OK);
    assert_int_equal(bark_codes_load_npy(p, &back, &rows, &cols, &err), BARK_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "integers"));
    assert_null(back);
    unlink(p);
}

/* The in-memory reader gives the same samples as the file reader (both rates), and rejects junk by label. */
static void test_reader_memory(void **state) {
    const char *p = tmp("_mem.wav");
    write_sine(p, 16000, 7000, 0.4f, 300.0f);
    size_t len = 0, n_file = 0;
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(len);
    assert_int_equal(fread(buf, 1, len, f), len);
    fclose(f);
    const int rates[2] = {16000, 24000};
    for (int k = 0; k < 2; k++) {
        float *a = read_all(p, rates[k], &n_file);
        bark_audio_reader *r = NULL;
        bark_error err = {0};
        assert_int_equal(bark_audio_reader_open_mem(buf, len, "mem.wav", rates[k], &r, &err), BARK_OK);
        float *b = malloc((n_file + 1000) * sizeof *b);
        size_t n = 0, got = 0;
        do {
            assert_int_equal(bark_audio_reader_read(r, b + n, 333, &got, &err), BARK_OK);
            n += got;
            assert_true(n <= n_file);
        } while (got);
        bark_audio_reader_close(r);
        assert_int_equal(n, n_file);
        assert_memory_equal(a, b, n * sizeof *a);
        free(a);
        free(b);
    }
    bark_audio_reader *r = NULL;
    bark_error err = {0};
    assert_int_equal(bark_audio_reader_open_mem(buf, 40, "cut.wav", 24000, &r, &err), BARK_ERR_IO);
    assert_non_null(strstr(err.msg, "cut.wav"));
    assert_int_equal(bark_audio_reader_open_mem(buf, 0, "empty.wav", 24000, &r, &err), BARK_ERR_IO);
    assert_non_null(strstr(err.msg, "empty.wav"));
    free(buf);
    unlink(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wav_round_trip), cmocka_unit_test(test_tags),     cmocka_unit_test(test_resample),
        cmocka_unit_test(test_stereo_mixdown), cmocka_unit_test(test_ogg_and_npy), cmocka_unit_test(test_opus_and_mp3), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_npy_columns),    cmocka_unit_test(test_codes_npy),  cmocka_unit_test(test_reader_memory),
        cmocka_unit_test(test_reader_read_failure_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
