/* say_options.c: the options of `bark say` and `bark tokens`, every value checked, and the text they say. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/say.h"

#define MAX_TEXT_BYTES (16u << 20) /* text read from stdin */

static int usage_audio; /* which usage the --help of this run prints */

static void usage(FILE *f) {
    const char *cmd = usage_audio ? "say" : "tokens";
    fprintf(f, "usage: bark %s [options] [TEXT...]   (no TEXT, or -: the text is read from stdin)\n"
            "  -m, --model FILE         model file (default: $BARK_MODEL, else the first of ./models/, "
            "$XDG_DATA_HOME/bark/\n"
            "                           (~/.local/share/bark/) and %s/ that holds bark-small.gguf)\n"
            "  -v, --voice NAME|FILE    voice: a name stored in the model (bark voices lists them) or a Suno .npz\n",
            cmd, cli_datadir());
    if (usage_audio)
        fputs("  -o, --output FILE        write FILE instead of playing: .wav, .flac, .ogg, .opus or .mp3 (-: WAV on stdout);\n"
              "                           also --output-file, --output_file\n"
              "      --output-raw         raw 16-bit little-endian 24 kHz mono samples on stdout\n"
              "  -D, --device NAME        ALSA device to play on (default: default)\n"
              "      --lines              say each line of stdin as it arrives (with -o out.wav: out-0001.wav, ...)\n"
              "      --json               with --lines: each line is {\"text\": ..., \"voice\": ..., \"seed\": ...,"
              " \"output\": ...}\n"
              "      --no-gaps            wait before playing until the rest can play without a break\n",
              f);
    else
        fputs("      --stage S            last stage to run: semantic, coarse or fine (default fine)\n"
              "  -d, --dump DIR           write semantic.npy, coarse.npy and fine.npy into DIR (made if need be)\n",
              f);
    fputs("  -s, --seed N             random seed (default: from the clock; printed so a run can be repeated)\n"
          "  -t, --threads N          threads (default $BARK_THREADS, else the CPUs this process may use; more is "
          "clamped)\n", f);
    say_sampling_usage(f, usage_audio);
    fputs("  -q, --quiet              no progress or messages (errors still)\n"
          "      --verbose            timings: each piece, first audio, total, ALSA underruns\n"
          "      --version            bark's version\n",
          f);
}

void say_sampling_usage(FILE *f, int pieces) {
    fputs("      --text-temp T        semantic temperature in (0, 100] (0.7)\n"
          "      --waveform-temp T    coarse temperature in (0, 100] (0.7)\n"
          "      --fine-temp T        fine temperature in (0, 100] (0.5)\n"
          "      --top-k K            semantic and coarse top-k, a whole number (0: off, the default)\n"
          "      --top-p P            semantic and coarse top-p in (0, 1], or off (the default)\n"
          "      --min-eos-p P        stop once the end-of-speech probability reaches P in (0, 1], or off (0.2)\n"
          "      --max-seconds S      stop the semantic stage after S > 0 seconds of speech, or off (the default)\n"
          "      --greedy             take the most likely token everywhere instead of sampling\n"
          "      --voices-dir DIR     the user's voices (`bark voices add`), looked up by -v NAME before the model's\n"
          "                           (default $BARK_VOICES, else $XDG_DATA_HOME/bark/voices)\n"
          "      --style NAME         text cues Bark knows, around the text:\n",
          f);
    for (size_t i = 0; i < bark_style_count(); i++) {
        const bark_style *s = bark_style_at(i);
        fprintf(f, "                             %-10s \"%sTEXT%s\": %s\n", s->name, s->prefix, s->suffix, s->description);
    }
    if (pieces)
        fprintf(f, "      --no-split           say a long text as one generation (Bark then stops after ~15 s)\n"
                "      --max-piece N        split texts longer than N bytes into pieces (default %zu, ~13 s each)\n",
                bark_synth_default_params().max_piece);
}

enum { OPT_VERBOSE = SAY_OPT_OWN, OPT_NO_GAPS, OPT_LINES, OPT_JSON, OPT_RAW, OPT_STAGE };

static const struct option say_longs[] = {
    SAY_SAMPLING_LONGS,
    SAY_PIECE_LONGS,
    {"verbose", no_argument, NULL, OPT_VERBOSE},
    {"device", required_argument, NULL, 'D'},
    {"no-gaps", no_argument, NULL, OPT_NO_GAPS},
    {"lines", no_argument, NULL, OPT_LINES},
    {"json", no_argument, NULL, OPT_JSON},
    {"output-raw", no_argument, NULL, OPT_RAW},
    {NULL, 0, NULL, 0}};

static const struct option tokens_longs[] = {
    SAY_SAMPLING_LONGS,
    {"verbose", no_argument, NULL, OPT_VERBOSE},
    {"stage", required_argument, NULL, OPT_STAGE},
    {"dump", required_argument, NULL, 'd'},
    {NULL, 0, NULL, 0}};

/* A temperature: (0, 100]. */
static int temperature(const char *cmd, const char *opt, const char *s, float *out) {
    double x;
    if (cli_number(cmd, opt, s, 0, 1, 100, "a number in (0, 100]", &x)) return 2;
    *out = (float)x;
    return 0;
}

/* A probability in (0, 1], or "off" (negative for the library). */
static int probability(const char *cmd, const char *opt, const char *s, float *out) {
    double x;
    if (!strcmp(s, "off")) x = -1;
    else if (cli_number(cmd, opt, s, 0, 1, 1, "a number in (0, 1] or 'off'", &x)) return 2;
    *out = (float)x;
    return 0;
}

int say_take_sampling(const char *cmd, int opt, const char *v, bark_synth_params *p) {
    uint64_t n;
    double x;
    switch (opt) {
    case SAY_OPT_TEXT_TEMP: return temperature(cmd, "--text-temp", v, &p->text_temp);
    case SAY_OPT_WAVE_TEMP: return temperature(cmd, "--waveform-temp", v, &p->waveform_temp);
    case SAY_OPT_FINE_TEMP: return temperature(cmd, "--fine-temp", v, &p->fine_temp);
    case SAY_OPT_TOP_P: return probability(cmd, "--top-p", v, &p->top_p);
    case SAY_OPT_MIN_EOS: return probability(cmd, "--min-eos-p", v, &p->min_eos_p);
    case SAY_OPT_TOP_K:
        if (cli_whole(cmd, "--top-k", v, 0, 1000000000, "a whole number >= 0 (0: off)", &n)) return 2;
        p->top_k = (int)n;
        return 0;
    case SAY_OPT_MAX_SECONDS:
        if (!strcmp(v, "off")) x = 0;
        else if (cli_number(cmd, "--max-seconds", v, 0, 1, 1e6, "a number of seconds > 0, or 'off'", &x)) return 2;
        p->max_seconds = x;
        return 0;
    case SAY_OPT_GREEDY: p->greedy = 1; return 0;
    case SAY_OPT_MAX_PIECE:
        if (cli_whole(cmd, "--max-piece", v, 16, 1000000, "a whole number of bytes from 16 to 1000000", &n)) return 2;
        p->max_piece = (size_t)n;
        return 0;
    case SAY_OPT_NO_SPLIT: p->max_piece = 0; return 0;
    case SAY_OPT_VOICES_DIR: p->voices_dir = v; return 0;
    case SAY_OPT_STYLE: {
        bark_error err;
        char *t = NULL;
        if (bark_style_apply(v, "", &t, &err)) return cli_usage_error(cmd, "--style: %s", err.msg);
        bark_free(t);
        p->style = v;
        return 0;
    }
    default: return -1;
    }
}

/* One of say's or tokens' own options into o; returns 0 or 2. */
static int take(const char *cmd, int opt, const char *v, say_opts *o) {
    const int rc = say_take_sampling(cmd, opt, v, &o->p);
    if (rc >= 0) return rc;
    switch (opt) {
    case OPT_STAGE:
        if (!strcmp(v, "semantic")) o->last = BARK_STAGE_SEMANTIC;
        else if (!strcmp(v, "coarse")) o->last = BARK_STAGE_COARSE;
        else if (!strcmp(v, "fine")) o->last = BARK_STAGE_FINE;
        else return cli_usage_error(cmd, "--stage is semantic, coarse or fine, not '%s'", v);
        return 0;
    case OPT_VERBOSE: o->verbose = 1; return 0;
    case OPT_NO_GAPS: o->no_gaps = 1; return 0;
    case OPT_LINES: o->lines = 1; return 0;
    case OPT_JSON: o->json = o->lines = 1; return 0;
    case OPT_RAW: o->raw = 1; return 0;
    case 'D': o->device = v; return 0;
    default: o->dump = v; return 0; /* 'd' */
    }
}

/* The whole of stdin as text. */
static int read_stdin(const char *cmd, say_opts *o) {
    size_t cap = 4096, n = 0;
    char *t = malloc(cap);
    while (t) {
        size_t r = fread(t + n, 1, cap - n - 1, stdin);
        n += r;
        if (r == 0) break;
        if (n + 1 == cap) {
            char *u = cap < MAX_TEXT_BYTES ? realloc(t, cap * 2) : NULL;
            if (!u) {
                free(t);
                return cli_usage_error(cmd, "the text on stdin is over %u bytes", MAX_TEXT_BYTES);
            }
            t = u, cap *= 2;
        }
    }
    if (!t || ferror(stdin)) {
        free(t);
        return cli_usage_error(cmd, "cannot read the text from stdin");
    }
    t[n] = '\0';
    o->text = t;
    return 0;
}

/* The operands joined by spaces into o->text ("-" alone: stdin). */
static int join_words(const char *cmd, int argc, char **argv, int first, say_opts *o) {
    size_t len = 0;
    for (int i = first; i < argc; i++) len += strlen(argv[i]) + 1;
    if (first == argc - 1 && !strcmp(argv[first], "-")) return 0;
    for (int i = first; i < argc; i++)
        if (!strcmp(argv[i], "-"))
            return cli_usage_error(cmd, "give the text either as arguments or on stdin (-), not both");
    if (!(o->text = malloc(len + 1))) return cli_usage_error(cmd, "out of memory");
    o->text[0] = '\0';
    for (int i = first; i < argc; i++) {
        if (i > first) strcat(o->text, " ");
        strcat(o->text, argv[i]);
    }
    return 0;
}

/* The combinations that cannot work, as one line each. */
static int check_combination(const char *cmd, int n_words, const say_opts *o) {
    if (o->raw && o->c.output) return cli_usage_error(cmd, "--output-raw writes to stdout: drop -o %s", o->c.output);
    if (o->lines && n_words) return cli_usage_error(cmd, "with --lines the text comes from stdin, not arguments");
    if (o->lines && o->c.output && !strcmp(o->c.output, "-"))
        return cli_usage_error(cmd, "with --lines, -o - would write one WAV after another: use --output-raw");
    if (!o->lines && !n_words && isatty(STDIN_FILENO))
        return cli_usage_error(cmd, "no text given (usage: bark %s [options] TEXT..., or the text on stdin)", cmd);
    return 0;
}

int say_parse(int argc, char **argv, int audio, say_opts *o) {
    const char *cmd = audio ? "say" : "tokens";
    static const cli_spec say_spec = {"say", CLI_THREADS | CLI_MODEL | CLI_QUIET | CLI_SEED | CLI_OUTPUT | CLI_VOICE,
                                      "D:", say_longs, usage};
    static const cli_spec tokens_spec = {"tokens", CLI_THREADS | CLI_MODEL | CLI_QUIET | CLI_SEED | CLI_VOICE, "d:",
                                         tokens_longs, usage};
    cli_parser ps;
    cli_common c;
    const char *arg;
    int rc, opt;
    memset(o, 0, sizeof *o);
    o->p = bark_synth_default_params();
    o->last = BARK_STAGE_FINE;
    usage_audio = audio;
    cli_parser_init(&ps, audio ? &say_spec : &tokens_spec, argc, argv, &c);
    while ((opt = cli_next(&ps, &arg, &rc)) >= 0)
        if (take(cmd, opt, arg, o)) return 2;
    if (opt != CLI_END) return rc;
    o->c = c;
    const int first = cli_operands(&ps);
    if ((rc = check_combination(cmd, argc - first, o))) return rc;
    o->p.n_threads = c.threads;
    if ((rc = cli_exec_env(cmd, &o->p.n_threads, &o->p.isa, &o->p.gemm))) return rc;
    if (!c.have_seed) o->c.seed = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
    if (o->lines) return -1;
    if (first < argc && (rc = join_words(cmd, argc, argv, first, o))) return rc;
    if (!o->text && (rc = read_stdin(cmd, o))) return rc;
    return -1;
}
