/* test_audio_sink.c: the file sink (WAV/FLAC/OGG, metadata, temp+rename, stdout WAV)
 * and the ALSA sink through the `file` PCM plugin. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <pthread.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/sink.h"
#include "util/testutil.h"
#include "audio/wav_stream.h"

/* ---- file sink ---- */

static float *test_signal(size_t n) {
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = 1.2f * (float)((i * 7919) % 1000) / 1000.0f - 0.6f; /* some clip */
    return x;
}

static void write_file(const char *path, const float *x, size_t n, int keep) {
    audio_sink *s;
    bark_error err;
    assert_int_equal(audio_sink_open(&audio_sink_file, path, 24000, &s, &err), BARK_OK);
    for (size_t i = 0; i < n; i += 1000) assert_int_equal(audio_sink_write(s, x + i, n - i < 1000 ? n - i : 1000, &err), BARK_OK);
    assert_int_equal(audio_sink_drain(s, &err), BARK_OK);
    assert_int_equal(audio_sink_close(s, keep, &err), BARK_OK);
}

static int files_in(const char *dir) {
    char cmd[512], out[64];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
    tu_run(cmd, out, sizeof out);
    return atoi(out);
}

static void file_formats_and_metadata(void **state) {
    (void)state;
    char *dir = tu_tmpdir(), path[512];
    size_t n = 30000;
    float *x = test_signal(n);
    int16_t *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
    bark_audio_to_s16(x, n, want);
    const char *ext[3] = {"wav", "flac", "ogg"};
    for (int e = 0; e < 3; e++) {
        snprintf(path, sizeof path, "%s/out.%s", dir, ext[e]);
        write_file(path, x, n, 1);
        SF_INFO info;
        memset(&info, 0, sizeof info);
        SNDFILE *f = sf_open(path, SFM_READ, &info);
        assert_non_null(f);
        assert_int_equal(info.frames, n);
        assert_int_equal(info.samplerate, 24000);
        assert_int_equal(info.channels, 1);
        const char *sw = sf_get_string(f, SF_STR_SOFTWARE), *cm = sf_get_string(f, SF_STR_COMMENT);
        assert_non_null(sw);
        assert_non_null(strstr(sw, "bark.c " BARK_VERSION));
        assert_non_null(cm);
        assert_non_null(strstr(cm, "synthetic speech"));
        assert_int_equal(sf_read_short(f, got, (sf_count_t)n), n);
        if (e < 2) assert_memory_equal(got, want, n * sizeof *got); /* lossless: bit-exact 16-bit samples */
        sf_close(f);
    }
    assert_int_equal(files_in(dir), 3); /* no temporary file left */
    /* a failed write (keep = 0) leaves nothing behind, not even under the final name */
    snprintf(path, sizeof path, "%s/failed.wav", dir);
    write_file(path, x, n, 0);
    assert_false(tu_exists(path));
    assert_int_equal(files_in(dir), 3);
    /* unknown extension, impossible path: one line each, no file */
    audio_sink *s;
    bark_error err;
    snprintf(path, sizeof path, "%s/out.aiff", dir);
    assert_int_equal(audio_sink_open(&audio_sink_file, path, 24000, &s, &err), BARK_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "unknown extension"));
    snprintf(path, sizeof path, "%s/no/such/dir/out.wav", dir);
    assert_int_equal(audio_sink_open(&audio_sink_file, path, 24000, &s, &err), BARK_ERR_IO);
    assert_non_null(strstr(err.msg, "cannot create"));
    assert_null(strchr(err.msg, '\n'));
    assert_int_equal(files_in(dir), 3);
    free(x), free(want), free(got);
    tu_rmtree(dir);
    free(dir);
}

/* WAV onto a pipe: streaming sizes, readable up to the end of the data; onto a file: real sizes. */
static void wav_stream_pipe_and_file(void **state) {
    (void)state;
    char *dir = tu_tmpdir(), path[512];
    int16_t x[1000];
    for (int i = 0; i < 1000; i++) x[i] = (int16_t)(i * 37 - 18000);
    int p[2];
    assert_int_equal(pipe(p), 0);
    wav_stream *w;
    bark_error err;
    assert_int_equal(wav_stream_open(p[1], "pipe", 24000, "bark.c test", "synthetic", &w, &err), BARK_OK);
    assert_int_equal(wav_stream_write(w, x, 1000, &err), BARK_OK);
    assert_int_equal(wav_stream_close(w, &err), BARK_OK);
    close(p[1]);
    unsigned char buf[4096];
    ssize_t got = 0, r;
    while ((r = read(p[0], buf + got, sizeof buf - (size_t)got)) > 0) got += r;
    close(p[0]);
    assert_memory_equal(buf, "RIFF\xff\xff\xff\xff" "WAVEfmt ", 16);
    size_t head = (size_t)got - 2000;
    assert_memory_equal(buf + head - 8, "data\xff\xff\xff\xff", 8);
    assert_memory_equal(buf + head, x, 2000); /* little-endian host */
    /* the same bytes saved to a file are read by libsndfile (to the end of the file) */
    snprintf(path, sizeof path, "%s/piped.wav", dir);
    assert_int_equal(tu_write_file(path, buf, (size_t)got), 0);
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    assert_non_null(f);
    assert_int_equal(info.frames, 1000);
    sf_close(f);
    /* seekable: the sizes are written at the end */
    snprintf(path, sizeof path, "%s/seek.wav", dir);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    assert_int_equal(wav_stream_open(fd, path, 24000, "bark.c test", "synthetic", &w, &err), BARK_OK);
    assert_int_equal(wav_stream_write(w, x, 1000, &err), BARK_OK);
    assert_int_equal(wav_stream_close(w, &err), BARK_OK);
    close(fd);
    size_t len;
    uint8_t *d = tu_read_file(path, &len);
    assert_int_equal(d[4] | d[5] << 8 | d[6] << 16 | (uint32_t)d[7] << 24, len - 8);
    assert_int_equal(d[head - 4] | d[head - 3] << 8 | d[head - 2] << 16 | (uint32_t)d[head - 1] << 24, 2000);
    free(d);
    memset(&info, 0, sizeof info);
    assert_non_null(f = sf_open(path, SFM_READ, &info));
    assert_int_equal(info.frames, 1000);
    assert_string_equal(sf_get_string(f, SF_STR_COMMENT), "synthetic");
    sf_close(f);
    tu_rmtree(dir);
    free(dir);
}

/* ---- ALSA sink ---- */

/* Points ALSA at tests/data/say/asoundrc.in with @FILE@ replaced; returns the raw file's path. */
static void alsa_config(const char *dir, char *raw, size_t cap) {
    size_t len;
    char conf[512], *in = (char *)tu_read_file("tests/data/say/asoundrc.in", &len), *at;
    assert_non_null(in);
    snprintf(raw, cap, "%s/played.raw", dir);
    snprintf(conf, sizeof conf, "%s/asoundrc", dir);
    assert_non_null(at = strstr(in, "@FILE@"));
    *at = '\0';
    FILE *f = fopen(conf, "w");
    fprintf(f, "%s%s%s", in, raw, at + 6);
    fclose(f);
    free(in);
    setenv("ALSA_CONFIG_PATH", conf, 1);
}

static void alsa_plays_the_exact_samples(void **state) {
    (void)state;
    char *dir = tu_tmpdir(), raw[512];
    alsa_config(dir, raw, sizeof raw);
    size_t n = 50000;
    float *x = test_signal(n);
    int16_t *want = malloc(n * sizeof *want);
    bark_audio_to_s16(x, n, want);
    audio_sink *s;
    bark_error err;
    assert_int_equal(audio_sink_open(&audio_sink_alsa, NULL, 24000, &s, &err), BARK_OK);
    for (size_t i = 0; i < n; i += 777) assert_int_equal(audio_sink_write(s, x + i, n - i < 777 ? n - i : 777, &err), BARK_OK);
    assert_int_equal(audio_sink_drain(s, &err), BARK_OK);
    assert_true(s->first_write > 0);
    assert_int_equal(s->samples, n);
    assert_int_equal(audio_sink_close(s, 1, &err), BARK_OK);
    size_t len;
    uint8_t *got = tu_read_file(raw, &len);
    assert_non_null(got);
    assert_true(len >= 2 * n);
    assert_memory_equal(got, want, 2 * n);
    for (size_t i = 2 * n; i < len; i++) assert_int_equal(got[i], 0); /* at most silence padding after */
    free(got), free(x), free(want);
    /* no such device: one line naming it */
    assert_int_equal(audio_sink_open(&audio_sink_alsa, "nosuchdevice", 24000, &s, &err), BARK_ERR_IO);
    assert_non_null(strstr(err.msg, "'nosuchdevice'"));
    assert_null(strchr(err.msg, '\n'));
    tu_rmtree(dir);
    free(dir);
}

static void s16_conversion(void **state) {
    (void)state;
    float x[7] = {0.0f, 1.0f, -1.0f, 2.0f, -3.0f, 0.5f, 0.0f / 0.0f};
    int16_t y[7];
    bark_audio_to_s16(x, 7, y);
    int16_t want[7] = {0, 32767, -32767, 32767, -32767, 16384, 0};
    assert_memory_equal(y, want, sizeof want);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(s16_conversion),                  cmocka_unit_test(file_formats_and_metadata),
        cmocka_unit_test(wav_stream_pipe_and_file),        cmocka_unit_test(alsa_plays_the_exact_samples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
