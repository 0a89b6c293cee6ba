/* test_say.c: `bark say` end to end on the tiny model: ALSA (file plugin) = WAV, streaming order, determinism,
 * bounded memory on 2,000 words, failures that leave no corrupt file, Ctrl-C; and the fine-window callback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/sink.h"
#include "codec/encodec.h"
#include "generate/generate.h"
#include "model/model.h"
#include "text/tokenizer.h"
#include "util/testutil.h"

#define THREE "The quick brown fox jumps over the dog. A second sentence follows here now. And the third one ends the text."
/* three pieces of the text above, short generations (3 s each) so the suite stays fast */
#define FAST "-m %s/tiny.gguf -s 7 -v v2/en_speaker_0 --max-seconds 3"

static char *dir;
static char out[1 << 16];

static int setup(void **state) {
    (void)state;
    char cmd[1024];
    dir = tu_tmpdir();
    snprintf(cmd, sizeof cmd, "%s/tiny.gguf", dir);
    if (tu_convert_tiny(cmd, "f32", out, sizeof out) != 0) {
        fprintf(stderr, "cannot convert the tiny model: %s\n", out);
        return -1;
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    tu_rmtree(dir);
    free(dir);
    return 0;
}

/* Runs `bark <args>` (printf-style) with stderr+stdout in `out`; returns the exit status. */
static int bark(const char *fmt, ...) {
    char args[4096], cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s%s %s", strchr(args, '}') ? "{ " : "", tu_bark(), args);
    return tu_run(cmd, out, sizeof out);
}

/* The number after `key` in out, or -1. */
static double figure(const char *key) {
    const char *p = strstr(out, key);
    return p ? atof(p + strlen(key)) : -1.0;
}

/* Writes the test ALSA configuration (tests/data/say/asoundrc.in) playing into DIR/played.raw. */
static void alsa_env(char *env, size_t cap) {
    size_t len;
    char *in = (char *)tu_read_file("tests/data/say/asoundrc.in", &len), *at, conf[512], raw[512];
    assert_non_null(in);
    assert_non_null(at = strstr(in, "@FILE@"));
    *at = '\0';
    snprintf(conf, sizeof conf, "%s/asoundrc", dir);
    snprintf(raw, sizeof raw, "%s/played.raw", dir);
    FILE *f = fopen(conf, "w");
    fprintf(f, "%s%s%s", in, raw, at + 6);
    fclose(f);
    free(in);
    unlink(raw);
    snprintf(env, cap, "ALSA_CONFIG_PATH=%s", conf);
}

static void alsa_equals_wav_and_streams(void **state) {
    (void)state;
    char env[600], path[512];
    alsa_env(env, sizeof env);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s say " FAST " --max-piece 45 --verbose '" THREE "'", env, tu_bark(), dir);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    double first = figure("first audio at "), last = figure("piece 3/3 generated at "), total = figure("playback done at ");
    printf("  ALSA, 3 pieces: first audio at %.3f s, last piece generated at %.3f s, done at %.3f s\n", first, last, total);
    assert_true(first > 0 && last > 0);
    assert_true(first < last); /* playback began before the last piece was generated */
    assert_non_null(strstr(out, "0 underruns"));
    size_t raw_len, n_wav;
    snprintf(path, sizeof path, "%s/played.raw", dir);
    uint8_t *raw = tu_read_file(path, &raw_len);
    assert_non_null(raw);
    snprintf(path, sizeof path, "%s/three.wav", dir);
    assert_int_equal(bark("say " FAST " --max-piece 45 -q -o %s '" THREE "'", dir, path), 0);
    int16_t *wav = tu_read_s16(path, &n_wav);
    assert_non_null(wav);
    printf("  ALSA got %zu samples, the WAV holds %zu\n", raw_len / 2, n_wav);
    assert_true(raw_len >= 2 * n_wav && n_wav > 3 * 24000);
    assert_memory_equal(raw, wav, 2 * n_wav); /* the same samples, bit for bit */
    for (size_t i = 2 * n_wav; i < raw_len; i++) assert_int_equal(raw[i], 0);
    free(raw);
    free(wav);
}

/* Three sentences, a voice, a seed -> the expected sample count, and the same bytes twice. */
static void deterministic_wav(void **state) {
    (void)state;
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/a.wav", dir);
    snprintf(b, sizeof b, "%s/b.wav", dir);
    assert_int_equal(bark("say " FAST " --verbose -o %s '" THREE "'", dir, a), 0);
    double frames = figure("s of audio (");
    assert_int_equal(bark("say " FAST " -q -o %s '" THREE "'", dir, b), 0);
    size_t la, lb, n;
    uint8_t *da = tu_read_file(a, &la), *db = tu_read_file(b, &lb);
    assert_non_null(da);
    assert_non_null(db);
    assert_int_equal(la, lb);
    assert_memory_equal(da, db, la);
    int16_t *x = tu_read_s16(a, &n);
    assert_non_null(x);
    /* one piece (the text is under the 200-byte limit) of 150 semantic tokens (3 s at 49.9/s, then the stop):
     * bark_coarse_frames(150) EnCodec frames of 320 samples */
    size_t want = bark_coarse_frames(150) * 320;
    printf("  %zu bytes twice identical; %zu samples (%g frames reported), expected %zu\n", la, n, frames, want);
    assert_int_equal(n, want);
    assert_int_equal((size_t)frames * 320, want);
    free(da), free(db), free(x);
}

/* One piece streamed through the CLI = the codes generated in one call and decoded as a whole. */
static void streamed_equals_whole(void **state) {
    (void)state;
    const char *text = "Hello there, this is one short piece.";
    char path[512];
    snprintf(path, sizeof path, "%s/one.wav", dir);
    assert_int_equal(bark("say " FAST " -q -o %s '%s'", dir, path, text), 0);
    size_t n;
    int16_t *wav = tu_read_s16(path, &n);
    assert_non_null(wav);

    bark_model *m;
    bark_error err;
    snprintf(path, sizeof path, "%s/tiny.gguf", dir);
    assert_int_equal(bark_model_open(path, &m, &err), BARK_OK);
    const char *const *vt;
    const uint32_t *vl;
    size_t nv = bark_model_vocab(m, &vt, &vl), n_text;
    bark_tokenizer *tok;
    int32_t ids[256];
    int trunc;
    assert_int_equal(bark_tokenizer_create(vt, vl, nv, &tok, &err), BARK_OK);
    assert_int_equal(bark_text_to_semantic_input(tok, text, strlen(text), ids, &n_text, &trunc, &err), BARK_OK);
    bark_voice v;
    assert_int_equal(bark_model_voice(m, "v2/en_speaker_0", &v, &err), BARK_OK);
    bark_gen_params p = bark_gen_default_params();
    p.semantic.max_gen_duration_s = 3;
    bark_rng rng;
    bark_rng_seed(&rng, 7);
    bark_codes c;
    assert_int_equal(bark_generate_codes(m, ids, &v, &p, &rng, &c, &err), BARK_OK);
    encodec_model codec;
    assert_int_equal(encodec_load(m, &codec, &err), BARK_OK);
    float *pcm = malloc(c.n_frames * 320 * sizeof *pcm);
    int16_t *whole = malloc(c.n_frames * 320 * sizeof *whole);
    assert_int_equal(encodec_decode(&codec, c.fine, 8, c.n_frames, pcm, &err), BARK_OK);
    bark_audio_to_s16(pcm, c.n_frames * 320, whole);
    printf("  streamed %zu samples, whole decode %zu\n", n, c.n_frames * 320);
    assert_int_equal(n, c.n_frames * 320);
    assert_memory_equal(wav, whole, n * sizeof *wav);
    free(pcm), free(whole), free(wav);
    encodec_free(&codec);
    bark_codes_free(&c);
    bark_voice_free(&v);
    bark_tokenizer_free(tok);
    bark_model_close(m);
}

/* Peak RSS in kB of `cmd`, run in a child whose only waited-for descendants are this command. */
static long peak_rss_kb(const char *cmd, int *rc) {
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        char o[4096];
        int r = tu_run(cmd, o, sizeof o);
        struct rusage ru;
        getrusage(RUSAGE_CHILDREN, &ru);
        long v[2] = {ru.ru_maxrss, r};
        if (write(p[1], v, sizeof v) != sizeof v) _exit(1);
        _exit(0);
    }
    long v[2] = {-1, -1};
    close(p[1]);
    if (read(p[0], v, sizeof v) != sizeof v) v[0] = -1;
    close(p[0]);
    waitpid(pid, NULL, 0);
    *rc = (int)v[1];
    return v[0];
}

static void words_file(const char *path, int n_words) {
    FILE *f = fopen(path, "w");
    static const char *w[] = {"the", "voice", "reads", "a", "long", "story", "about", "rivers", "and", "hills"};
    for (int i = 0; i < n_words; i++) fprintf(f, "%s%s", w[(i * 7) % 10], i % 12 == 11 ? ". " : i % 5 == 4 ? ", " : " ");
    fclose(f);
}

/* 4,000 words stream (from stdin, ~23 pieces of <= 1000 bytes) in the memory 2,000 words (~12 pieces) take. */
static void long_text_bounded_memory(void **state) {
    (void)state;
    char small[512], big[512], cmd[4096];
    /* both far longer than one piece: memory is bounded by the sequences generated at once, not by the text */
    snprintf(small, sizeof small, "%s/2000.txt", dir);
    snprintf(big, sizeof big, "%s/4000.txt", dir);
    words_file(small, 2000);
    words_file(big, 4000);
    int rc;
    long rss[2];
    double secs[2];
    for (int i = 0; i < 2; i++) {
        /* under ASan, freed blocks wait in a quarantine that would count as growth: keep it off */
        snprintf(cmd, sizeof cmd, "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0 "
                 "%s say -m %s/tiny.gguf -s 3 --max-seconds 0.2 --max-piece 1000 -q -o %s/long.wav < %s",
                 tu_bark(), dir, dir, i ? big : small);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rss[i] = peak_rss_kb(cmd, &rc);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        secs[i] = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        assert_int_equal(rc, 0);
    }
    snprintf(cmd, sizeof cmd, "%s/long.wav", dir);
    size_t n;
    int16_t *x = tu_read_s16(cmd, &n);
    assert_non_null(x);
    free(x);
    printf("  peak RSS: 2,000 words %ld kB (%.1f s), 4,000 words %ld kB (%.1f s, %zu samples)\n", rss[0], secs[0], rss[1],
           secs[1], n);
    assert_true(rss[0] > 0 && rss[1] > 0);
    assert_true(rss[1] < rss[0] + 8 * 1024); /* no growth with the text beyond a few MB */
    assert_true(n >= 22 * 15 * 320);          /* 22 pieces of >= 15 frames (10 semantic tokens) each */
}

/* Exactly one line on stderr/stdout. */
static void one_line(void) {
    printf("  -> %s", out);
    assert_int_equal(tu_lines(out), 1);
    assert_non_null(strstr(out, "bark say: "));
}

static void failures_leave_nothing(void **state) {
    (void)state;
    char cmd[4096], sub[600];
    /* no sound device: a configuration whose default device does not exist */
    snprintf(sub, sizeof sub, "%s/nodevice.conf", dir);
    assert_int_equal(tu_write_file(sub, "pcm.!default { type hw card 7 }\n", 32), 0);
    snprintf(cmd, sizeof cmd, "ALSA_CONFIG_PATH=%s %s say " FAST " -q Hi.", sub, tu_bark(), dir);
    assert_int_equal(tu_run(cmd, out, sizeof out), 1);
    one_line();
    assert_int_equal(bark("say " FAST " -q -D nosuchdevice Hi.", dir), 1);
    one_line();
    /* an unwritable path */
    assert_int_equal(bark("say " FAST " -q -o /etc/passwd/x.wav Hi.", dir), 1);
    one_line();
    /* a full disk: a 64 kB tmpfs if this test may mount one, and always stdout on /dev/full */
    snprintf(sub, sizeof sub, "%s/small", dir);
    snprintf(cmd, sizeof cmd, "mkdir -p %s && mount -t tmpfs -o size=64k tmpfs %s 2>/dev/null", sub, sub);
    if (tu_run(cmd, out, sizeof out) == 0) {
        assert_int_equal(bark("say " FAST " -q -o %s/x.wav 'Hi there.'", dir, sub), 1);
        one_line();
        assert_non_null(strstr(out, "No space left on device"));
        snprintf(cmd, sizeof cmd, "ls -A %s | wc -l; umount %s", sub, sub);
        tu_run(cmd, out, sizeof out);
        assert_int_equal(atoi(out), 0); /* neither the file nor its temporary name is left */
    } else {
        printf("  (cannot mount a tmpfs here: only /dev/full is tried)\n");
    }
    assert_int_equal(bark("say " FAST " -q -o - Hi. > /dev/full; }", dir), 1);
    one_line();
    assert_non_null(strstr(out, "No space left on device"));
}

static void ctrl_c_finishes_the_file(void **state) {
    (void)state;
    char path[512], cmd[4096];
    snprintf(path, sizeof path, "%s/cut.wav", dir);
    /* six full-length pieces (768 semantic tokens each); Ctrl-C once 100 kB of audio are in the file */
    snprintf(cmd, sizeof cmd,
             "%s say -m %s/tiny.gguf -s 1 --max-piece 45 -q -o %s '" THREE " " THREE "' & p=$!; i=0; "
             "while [ $(cat %s.part-* 2>/dev/null | wc -c) -lt 100000 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; "
             "kill -INT $p; t0=$(date +%%s%%N); wait $p; rc=$?; t1=$(date +%%s%%N); "
             "echo rc=$rc ms=$(( (t1 - t0) / 1000000 ))",
             tu_bark(), dir, path, path);
    tu_run(cmd, out, sizeof out);
    printf("  %s", out);
    assert_non_null(strstr(out, "rc=130"));
    assert_true(figure("ms=") < 1000); /* stopped promptly */
    size_t n, len;
    int16_t *x = tu_read_s16(path, &n);
    assert_non_null(x); /* a valid file with what was made before the stop */
    uint8_t *d = tu_read_file(path, &len);
    assert_true(n > 0 && len >= 2 * n + 44);
    printf("  interrupted file: %zu samples (%.2f s), %zu bytes\n", n, n / 24000.0, len);
    free(x), free(d);
    snprintf(cmd, sizeof cmd, "ls %s | grep -c part", dir);
    tu_run(cmd, out, sizeof out);
    assert_int_equal(atoi(out), 0);
}

static void messages_and_help(void **state) {
    (void)state;
    char cmd[4096];
    /* no model: how to get one */
    char cwd[1024];
    assert_non_null(getcwd(cwd, sizeof cwd));
    snprintf(cmd, sizeof cmd, "cd %s && env -u BARK_MODEL %s/%s say Hi.", dir, cwd, tu_bark());
    assert_int_equal(tu_run(cmd, out, sizeof out), 1);
    one_line();
    assert_non_null(strstr(out, "models/download.sh"));
    assert_non_null(strstr(out, "1.7 GB"));
    assert_int_equal(bark("say --help"), 0);
    assert_non_null(strstr(out, "--device"));
    assert_non_null(strstr(out, "--no-gaps"));
    assert_int_equal(bark("tokens --help"), 0);
    assert_non_null(strstr(out, "--stage"));
    assert_int_equal(bark("say -t x Hi."), 2);
    assert_int_equal(bark("say --max-piece 3 Hi."), 2);
}

/* ---- the fine stage's window reports ---- */

typedef struct windows {
    int32_t *snap; /* copies of the frames when they were reported */
    size_t next, calls;
} windows;

static int on_window(void *user, const int32_t *o, size_t ld, size_t from, size_t to) {
    windows *w = user;
    assert_int_equal(from, w->next); /* contiguous, in order */
    assert_true(to > from && to <= ld);
    for (int q = 0; q < 8; q++) memcpy(w->snap + (size_t)q * ld + from, o + (size_t)q * ld + from, (to - from) * 4);
    w->next = to;
    w->calls++;
    return 0;
}

static void fine_windows_are_final(void **state) {
    (void)state;
    char path[512];
    bark_model *m;
    bark_error err;
    snprintf(path, sizeof path, "%s/tiny.gguf", dir);
    assert_int_equal(bark_model_open(path, &m, &err), BARK_OK);
    const size_t T = 2000; /* 3 windows without a voice, 4 with 512 frames of history */
    int32_t *coarse = malloc(2 * T * 4), *a = malloc(8 * T * 4), *b = malloc(8 * T * 4);
    for (size_t i = 0; i < 2 * T; i++) coarse[i] = (int32_t)(((i * 2654435761u) >> 7) % 1024);
    bark_voice v;
    assert_int_equal(bark_model_voice(m, "v2/en_speaker_0", &v, &err), BARK_OK);
    for (int with_voice = 0; with_voice < 2; with_voice++) {
        windows w = {malloc(8 * T * 4), 0, 0};
        bark_fine_params p = bark_fine_default_params();
        bark_rng r1, r2;
        bark_rng_seed(&r1, 5);
        bark_rng_seed(&r2, 5);
        assert_int_equal(bark_generate_fine(m, coarse, 2, T, with_voice ? &v : NULL, &p, &r1, a, &err), BARK_OK);
        p.on_window = on_window, p.window_user = &w;
        assert_int_equal(bark_generate_fine(m, coarse, 2, T, with_voice ? &v : NULL, &p, &r2, b, &err), BARK_OK);
        printf("  %s voice: %zu window reports\n", with_voice ? "with a" : "without", w.calls);
        assert_int_equal(w.next, T);
        assert_true(w.calls >= 3);
        assert_memory_equal(a, b, 8 * T * 4);      /* reporting changes nothing */
        assert_memory_equal(w.snap, b, 8 * T * 4); /* what was reported never changed afterwards */
        free(w.snap);
    }
    bark_voice_free(&v);
    free(coarse), free(a), free(b);
    bark_model_close(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fine_windows_are_final),      cmocka_unit_test(alsa_equals_wav_and_streams),
        cmocka_unit_test(deterministic_wav),           cmocka_unit_test(streamed_equals_whole),
        cmocka_unit_test(long_text_bounded_memory),    cmocka_unit_test(failures_leave_nothing),
        cmocka_unit_test(ctrl_c_finishes_the_file),    cmocka_unit_test(messages_and_help),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
