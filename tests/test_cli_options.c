/* test_cli_options.c: the one option parser of every `bark` subcommand, and each behaviour the CLI issue fixed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sndfile.h>

#include "util/testutil.h"

static char *dir, out[1 << 16], args[4096]; /* args: those of the last run */

static int setup(void **state) {
    (void)state;
    char cmd[1024];
    dir = tu_tmpdir();
    snprintf(cmd, sizeof cmd, "%s/tiny.gguf", dir);
    if (!dir || tu_convert_tiny(cmd, "f32", out, sizeof out) != 0) {
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

/* Runs `bark ARGS` (printf-style; stdin from /dev/null) with stderr+stdout in out; returns the exit status. */
static int bark(const char *fmt, ...) {
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s %s < /dev/null", tu_bark(), args);
    return tu_run(cmd, out, sizeof out);
}

/* Runs `bark ARGS` and expects exit status rc_expected and exactly one line of output holding needle. */
#define CHECK(rc_expected, needle, ...)                                                                            \
    do {                                                                                                           \
        int rc_ = bark(__VA_ARGS__);                                                                               \
        if (rc_ != (rc_expected) || tu_lines(out) != 1 || ((needle) && !strstr(out, (needle))))                    \
            fail_msg("`bark %s` exited %d (expected %d), want one line with '%s':\n%s", args, rc_,                \
                     (rc_expected), (needle) ? (needle) : "", out);                                                \
    } while (0)

/* ---- the table: every subcommand x every shared flag ---- */

static const char *const commands[] = {"say", "tokens", "clone", "encode", "decode", "convert", "info", "voices",
                                       "random-model", "render"};
/* which shared flags each command takes: t m q s o */
static const char *const takes[] = {"tmqso", "tmqs", "tmqso", "tmqo", "tmqo", "qo", "mq", "tmqso", "qso", "tmqso"};

static const struct {
    const char *args; /* the flag, as typed */
    char letter;      /* its shared letter; 0: taken by every command */
} flags[] = {
    {"-t 2", 't'}, {"--threads=2", 't'}, {"-t2", 't'}, {"-m x.gguf", 'm'}, {"--model=x.gguf", 'm'}, {"-q", 'q'},
    {"--quiet", 'q'}, {"-s 3", 's'}, {"--seed=3", 's'}, {"-o x.wav", 'o'}, {"-ox.wav", 'o'}, {"--output=x.wav", 'o'},
    {"--output-file x.wav", 'o'}, {"--output_file=x.wav", 'o'},
};

static void table(void **state) {
    (void)state;
    for (size_t c = 0; c < sizeof commands / sizeof *commands; c++) {
        const char *cmd = commands[c];
        /* help and version everywhere, on stdout, exit 0 */
        assert_int_equal(bark("%s -h", cmd), 0);
        assert_non_null(strstr(out, "usage: bark"));
        assert_int_equal(bark("%s --help", cmd), 0);
        assert_non_null(strstr(out, "usage: bark"));
        CHECK(0, "bark 0.", "%s --version", cmd);
        /* a flag, then --version: exit 0 only if the flag was taken (options are read in order) */
        for (size_t f = 0; f < sizeof flags / sizeof *flags; f++) {
            const int ok = strchr(takes[c], flags[f].letter) != NULL;
            int rc = bark("%s %s --version", cmd, flags[f].args);
            if (ok && (rc != 0 || !strstr(out, "bark 0.")))
                fail_msg("`bark %s %s --version` exited %d:\n%s", cmd, flags[f].args, rc, out);
            if (!ok && (rc != 2 || tu_lines(out) != 1 || !strstr(out, "does not apply")))
                fail_msg("`bark %s %s` should not apply (exit 2, one line), got %d:\n%s", cmd, flags[f].args, rc, out);
        }
        /* bundled short options */
        if (strchr(takes[c], 't')) CHECK(0, "bark 0.", "%s -qt2 --version", cmd);
        if (strchr(takes[c], 's')) CHECK(0, "bark 0.", "%s -qs3 --version", cmd);
        /* an unknown option: reported as unknown, with the nearest one */
        CHECK(2, "did you mean --help?", "%s --hepl", cmd);
        CHECK(2, "unknown option '-Z'", "%s -Z", cmd);
        CHECK(2, "takes no value", "%s --quiet=1", cmd);
        /* a value range error: one line, exit 2 */
        if (strchr(takes[c], 't')) CHECK(2, "--threads", "%s -t 0", cmd);
        if (strchr(takes[c], 's')) CHECK(2, "--seed", "%s --seed=-4", cmd);
        if (strchr(takes[c], 'o')) CHECK(2, "needs a value", "%s -o", cmd);
    }
    /* `--` ends the options: what follows is an operand even if it looks like one */
    CHECK(1, "--version", "info -- --version");
    CHECK(1, "-x.npy", "decode -o %s/x.wav -- -x.npy", dir);
}

static void value_ranges(void **state) {
    (void)state;
    static const struct { const char *args, *needle; } bad[] = {
        {"--top-p 2", "--top-p is a number in (0, 1]"}, {"--top-p -1", "--top-p"}, {"--top-p 0", "--top-p"},
        {"--max-seconds -5", "--max-seconds"}, {"--max-seconds 0", "--max-seconds"},
        {"--fine-temp 1e30", "--fine-temp"}, {"--text-temp -1", "--text-temp"}, {"--waveform-temp 0", "--waveform"},
        {"--text-temp nan", "--text-temp"}, {"--min-eos-p 5", "--min-eos-p"}, {"--min-eos-p -0.5", "--min-eos-p"},
        {"--top-k -1", "--top-k"}, {"--top-k 2.5", "--top-k"}, {"-t 0", "--threads"}, {"-t 1.5", "--threads"},
        {"-s -1", "--seed"}, {"-s 1e3", "--seed"}, {"-s 99999999999999999999", "--seed"}, {"--max-piece 3", "16"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        /* before the model is looked at: a missing model does not matter */
        CHECK(2, bad[i].needle, "say -m /nonexistent.gguf %s Hi.", bad[i].args);
        if (strcmp(bad[i].args, "--max-piece 3")) CHECK(2, bad[i].needle, "tokens -m /nonexistent.gguf %s Hi.", bad[i].args);
        CHECK(2, bad[i].needle, "render -m /nonexistent.gguf -o x.wav %s", bad[i].args);
    }
    CHECK(2, "--batch is a whole number from 1", "render -o x.wav --batch 0");
    CHECK(2, "--batch is a whole number from 1", "render -o x.wav --batch=2000");
    /* the documented good ends: off, 1, 100 */
    CHECK(0, "bark 0.", "say --top-p off --top-p 1 --min-eos-p off --min-eos-p 1 --text-temp 100 --max-seconds off "
          "--top-k 0 --version");
    CHECK(2, "--type is f32, f16, q8_0, q4_0 or q8_0_attn_f16", "convert x -o y --type q4_1");
    CHECK(2, "the weight type is --type f32", "convert x -o y -t f32");
    CHECK(2, "--bandwidth", "encode in.wav -o x.npy --bandwidth=fast");
    CHECK(2, "--max-seconds", "clone in.wav -o x.npz --max-seconds 0.1");
}

/* Each misleading line of the issue, now. */
static void issue_lines(void **state) {
    (void)state;
    CHECK(2, "unknown option '--dump'", "say --dump x Hi.");
    CHECK(2, "needs a value", "say --output_file");
    CHECK(2, "unknown option '--ouput' (did you mean --output?", "say --ouput x.wav Hi.");
    CHECK(2, "ambiguous", "say --t 2 Hi.");
    CHECK(2, "with --lines the text comes from stdin", "say --lines Hi.");
    CHECK(2, "--output-raw writes to stdout", "say --output-raw -o x.wav Hi.");
    /* piper's flag writes the file */
    assert_int_equal(bark("say -q -m %s/tiny.gguf -s 1 --max-seconds 0.3 --output_file %s/piper.wav Hi.", dir, dir), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/piper.wav", dir);
    assert_true(tu_exists(path));
}

/* Cheap failures come before the generation. */
static void checked_first(void **state) {
    (void)state;
    char cmd[2048], sub[512];
    /* -o a folder: one line, and no generation (no seed line printed) */
    CHECK(1, "is a folder", "say -m %s/tiny.gguf -o %s Hi.", dir, dir);
    CHECK(1, "cannot write into the folder", "say -m %s/tiny.gguf -o /nonexistent/x.wav Hi.", dir);
    /* --dump new/sub is made before the codes (a bad voice then stops it) */
    snprintf(sub, sizeof sub, "%s/new/sub", dir);
    CHECK(1, "no voice 'nobody'", "tokens -q -m %s/tiny.gguf --dump %s -v nobody Hi.", dir, sub);
    assert_true(tu_exists(sub));
    /* the unknown-voice line is short */
    CHECK(1, "bark voices", "say -m %s/tiny.gguf -v v2/en_speker_0 Hi.", dir);
    assert_non_null(strstr(out, "did you mean v2/en_speaker_0"));
    assert_true(strlen(out) < 200);
    CHECK(1, "bark voices", "say -m %s/tiny.gguf -v nobody -o %s/v.wav Hi.", dir, dir);
    snprintf(cmd, sizeof cmd, "%s/v.wav", dir);
    assert_false(tu_exists(cmd));
}

/* -m, $BARK_MODEL, ./models, $XDG_DATA_HOME/bark (~/.local/share/bark), then the install prefix. */
static void model_search_path(void **state) {
    (void)state;
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "mkdir -p %s/xdg/bark %s/home/.local/share/bark %s/elsewhere && "
             "cp %s/tiny.gguf %s/home/.local/share/bark/bark-small.gguf", dir, dir, dir, dir, dir);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    char cwd[1024];
    assert_non_null(getcwd(cwd, sizeof cwd));
    /* found under ~/.local/share/bark from another folder */
    snprintf(cmd, sizeof cmd, "cd %s/elsewhere && env -u BARK_MODEL -u XDG_DATA_HOME HOME=%s/home %s/%s voices", dir,
             dir, cwd, tu_bark());
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "v2/en_speaker_0"));
    /* XDG_DATA_HOME wins over HOME: an empty one means no model, and the line says where it looked */
    snprintf(cmd, sizeof cmd, "cd %s/elsewhere && env -u BARK_MODEL XDG_DATA_HOME=%s/xdg HOME=%s/home %s/%s say Hi.",
             dir, dir, dir, cwd, tu_bark());
    assert_int_equal(tu_run(cmd, out, sizeof out), 1);
    assert_int_equal(tu_lines(out), 1);
    assert_non_null(strstr(out, "xdg/bark/bark-small.gguf"));
    assert_non_null(strstr(out, "share/bark/bark-small.gguf"));
    assert_non_null(strstr(out, "models/download.sh"));
    /* BARK_MODEL names the file */
    snprintf(cmd, sizeof cmd, "cd %s/elsewhere && BARK_MODEL=%s/tiny.gguf %s/%s voices", dir, dir, cwd, tu_bark());
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
}

/* The 16-bit samples in a sound file; -1 if it is not a valid one. */
static long frames_of(const char *path) {
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    if (!f) return -1;
    sf_close(f);
    return (long)info.frames;
}

static void lines_mode(void **state) {
    (void)state;
    char cmd[4096], path[512];
    snprintf(cmd, sizeof cmd, "printf 'One line.\\n\\nTwo line.\\nThree.\\n' | %s say --lines -q -m %s/tiny.gguf -s 2 "
             "--max-seconds 0.3 -o %s/lines/out.wav", tu_bark(), dir, dir);
    snprintf(path, sizeof path, "mkdir -p %s/lines", dir);
    tu_run(path, out, sizeof out);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    for (int k = 1; k <= 3; k++) {
        snprintf(path, sizeof path, "%s/lines/out-%04d.wav", dir, k);
        if (frames_of(path) <= 0) fail_msg("%s: not a sound file (%s)", path, out);
    }
    snprintf(path, sizeof path, "%s/lines/out-0004.wav", dir);
    assert_false(tu_exists(path)); /* the empty line was skipped */
    /* JSON lines: a bad line is one error line, the others are said, the status says one failed */
    snprintf(cmd, sizeof cmd, "printf '%%s\\n' '{\"text\": \"Hi there.\", \"seed\": 4, \"output\": \"%s/lines/j.wav\"}' "
             "'{\"text\": \"Hi\" oops' '{\"text\": \"Again.\", \"voice\": \"v2/de_speaker_1\"}' | %s say --json -q "
             "-m %s/tiny.gguf --max-seconds 0.3 -o %s/lines/n.wav", dir, tu_bark(), dir, dir);
    assert_int_equal(tu_run(cmd, out, sizeof out), 1);
    assert_int_equal(tu_lines(out), 1);
    assert_non_null(strstr(out, "line 2: bad JSON"));
    snprintf(path, sizeof path, "%s/lines/j.wav", dir);
    assert_true(frames_of(path) > 0);
    snprintf(path, sizeof path, "%s/lines/n-0003.wav", dir);
    assert_true(frames_of(path) > 0);
}

static void raw_output(void **state) {
    (void)state;
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s say -q -m %s/tiny.gguf -s 1 --max-seconds 0.3 --output-raw Hi. > %s/raw.s16; "
             "wc -c < %s/raw.s16; head -c 4 %s/raw.s16 | grep -c RIFF", tu_bark(), dir, dir, dir, dir);
    tu_run(cmd, out, sizeof out);
    long bytes = strtol(out, NULL, 10);
    assert_true(bytes > 0 && bytes % 2 == 0);
    assert_non_null(strstr(out, "\n0\n")); /* no WAV header */
}

/* Every signal that ends `bark say -o` leaves a valid file or nothing, never a .part file. */
static void signals_leave_a_file_or_nothing(void **state) {
    (void)state;
    static const char *const sigs[] = {"HUP", "TERM", "QUIT"};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        char cmd[4096], path[512];
        snprintf(path, sizeof path, "%s/sig%s.wav", dir, sigs[i]);
        snprintf(cmd, sizeof cmd,
                 "{ %s say -m %s/tiny.gguf -s 1 --max-piece 45 -q -o %s 'The quick brown fox jumps over the dog. "
                 "A second sentence follows here now. And the third one ends the text.' & p=$!; i=0; "
                 "while [ $(cat %s.part-* 2>/dev/null | wc -c) -lt 20000 ] && [ $i -lt 300 ]; do sleep 0.05; "
                 "i=$((i+1)); done; kill -%s $p; wait $p; echo rc=$?; ls %s | grep -c part; }",
                 tu_bark(), dir, path, path, sigs[i], dir);
        tu_run(cmd, out, sizeof out);
        if (!strstr(out, "rc=130") && !strstr(out, "rc=0")) fail_msg("SIG%s: %s", sigs[i], out);
        assert_non_null(strstr(out, "\n0\n")); /* no .part file left */
        if (tu_exists(path) && frames_of(path) < 0) fail_msg("SIG%s left an invalid %s", sigs[i], path);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table),
        cmocka_unit_test(value_ranges),
        cmocka_unit_test(issue_lines),
        cmocka_unit_test(checked_first),
        cmocka_unit_test(model_search_path),
        cmocka_unit_test(lines_mode),
        cmocka_unit_test(raw_output),
        cmocka_unit_test(signals_leave_a_file_or_nothing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
