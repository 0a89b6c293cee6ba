/* cmd_say.c: `bark say` (text -> speech on ALSA or into a file, streamed) and the option parser `bark tokens` shares. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audio/audio_file.h"
#include "cli/cli.h"
#include "core/error.h"
#include "synth/stream.h"
#include "core/threadpool.h"

#define MAX_TEXT_BYTES (16u << 20) /* text read from stdin */

/* Everything the command line decides. */
typedef struct say_opts {
    const char *model, *voice, *output, *device, *dump;
    char *text;             /* the positional words joined by spaces, or stdin (owned) */
    bark_gen_params gen;
    uint64_t seed;
    size_t max_piece;
    int have_seed, greedy, quiet, verbose, threads, no_split, no_gaps;
} say_opts;

static void usage(const char *cmd, int audio) {
    printf("usage: bark %s [options] [TEXT...]   (no TEXT, or -: the text is read from stdin)\n"
           "  -m, --model FILE         model file (default $BARK_MODEL or models/bark-small.gguf)\n"
           "  -v, --voice NAME|FILE    voice: a name stored in the model (bark voices lists them) or a Suno .npz\n",
           cmd);
    if (audio)
        printf("  -o, --output FILE        write FILE instead of playing: .wav, .flac or .ogg (- : WAV on stdout)\n"
               "  -D, --device NAME        ALSA device to play on (default: default)\n"
               "      --no-split           say a long text as one generation (Bark then stops after ~15 s)\n"
               "      --max-piece N        split texts longer than N bytes into pieces (default %d, ~13 s each)\n"
               "      --no-gaps            wait before playing until the rest can play without a break\n",
               TEXT_SPLIT_DEFAULT_MAX);
    else
        printf("      --stage S            last stage to run: semantic, coarse or fine (default fine)\n"
               "  -d, --dump DIR           write semantic.npy, coarse.npy and fine.npy into DIR\n");
    printf("  -s, --seed N             random seed (default: from the clock; printed so a run can be repeated)\n"
           "  -t, --threads N          threads for the kernels, 1..64 (default $BARK_THREADS or every CPU)\n"
           "      --text-temp T        semantic temperature (0.7)\n"
           "      --waveform-temp T    coarse temperature (0.7)\n"
           "      --fine-temp T        fine temperature (0.5)\n"
           "      --top-k K            semantic and coarse top-k (off)\n"
           "      --top-p P            semantic and coarse top-p (off)\n"
           "      --min-eos-p P        stop once the end-of-speech probability reaches P (0.2; negative: off)\n"
           "      --max-seconds S      stop the semantic stage after S seconds of speech (off)\n"
           "      --greedy             take the most likely token everywhere instead of sampling\n"
           "  -q, --quiet              no progress or messages (errors still)\n"
           "      --verbose            timings: each piece, first audio, total, ALSA underruns\n");
}

static int parse_num(const char *cmd, const char *opt, const char *s, double *out) {
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    if (errno || end == s || *end || isnan(*out)) {
        fprintf(stderr, "bark %s: %s needs a number, got '%s'\n", cmd, opt, s);
        return -1;
    }
    return 0;
}

static int whole(double x, double lo, double hi) { return x >= lo && x <= hi && x == floor(x); }

static int add_word(say_opts *o, size_t *len, const char *a) {
    size_t l = strlen(a);
    char *t = realloc(o->text, *len + l + 2);
    if (!t) return -1;
    o->text = t;
    if (*len) t[(*len)++] = ' ';
    memcpy(t + *len, a, l + 1);
    *len += l;
    return 0;
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
                fprintf(stderr, "bark %s: the text on stdin is over %u bytes\n", cmd, MAX_TEXT_BYTES);
                free(t);
                return 2;
            }
            t = u, cap *= 2;
        }
    }
    if (!t || ferror(stdin)) {
        fprintf(stderr, "bark %s: cannot read the text from stdin\n", cmd);
        free(t);
        return 2;
    }
    t[n] = '\0';
    free(o->text);
    o->text = t;
    return 0;
}

/* Fills o from argv; returns 0, or the exit status to return (help printed: *done = 1; error: 2). */
static int parse(int argc, char **argv, const char *cmd, int audio, say_opts *o, int *done) {
    memset(o, 0, sizeof *o);
    o->gen = bark_gen_default_params();
    o->max_piece = TEXT_SPLIT_DEFAULT_MAX;
    *done = 0;
    size_t text_len = 0;
    int from_stdin = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        double x;
        int takes = 1;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(cmd, audio);
            *done = 1;
            return 0;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            o->quiet = 1, takes = 0;
        } else if (!strcmp(a, "--verbose")) {
            o->verbose = 1, takes = 0;
        } else if (!strcmp(a, "--greedy")) {
            o->greedy = 1, takes = 0;
        } else if (audio && !strcmp(a, "--no-split")) {
            o->no_split = 1, takes = 0;
        } else if (audio && !strcmp(a, "--no-gaps")) {
            o->no_gaps = 1, takes = 0;
        } else if (!strcmp(a, "-")) {
            from_stdin = 1, takes = 0;
        } else if (a[0] != '-') {
            if (add_word(o, &text_len, a)) return 2;
            takes = 0;
        } else if (!v) {
            fprintf(stderr, "bark %s: option '%s' needs a value (or is unknown; see --help)\n", cmd, a);
            return 2;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            o->model = v;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--voice")) {
            o->voice = v;
        } else if (audio && (!strcmp(a, "-o") || !strcmp(a, "--output"))) {
            o->output = v;
        } else if (audio && (!strcmp(a, "-D") || !strcmp(a, "--device"))) {
            o->device = v;
        } else if (!audio && (!strcmp(a, "-d") || !strcmp(a, "--dump"))) {
            o->dump = v;
        } else if (!audio && !strcmp(a, "--stage")) {
            if (!strcmp(v, "semantic")) o->gen.last = BARK_STAGE_SEMANTIC;
            else if (!strcmp(v, "coarse")) o->gen.last = BARK_STAGE_COARSE;
            else if (!strcmp(v, "fine")) o->gen.last = BARK_STAGE_FINE;
            else {
                fprintf(stderr, "bark %s: --stage is semantic, coarse or fine, not '%s'\n", cmd, v);
                return 2;
            }
        } else {
            if (parse_num(cmd, a, v, &x)) return 2;
            if (!strcmp(a, "-s") || !strcmp(a, "--seed")) {
                if (!whole(x, 0, 18446744073709549568.0)) {
                    fprintf(stderr, "bark %s: the seed is a whole number >= 0\n", cmd);
                    return 2;
                }
                o->seed = (uint64_t)x, o->have_seed = 1;
            } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
                if (!whole(x, 1, 64)) {
                    fprintf(stderr, "bark %s: --threads is a whole number from 1 to 64\n", cmd);
                    return 2;
                }
                o->threads = (int)x;
            } else if (audio && !strcmp(a, "--max-piece")) {
                if (!whole(x, 16, 1e6)) {
                    fprintf(stderr, "bark %s: --max-piece is a whole number of bytes from 16 to 1000000\n", cmd);
                    return 2;
                }
                o->max_piece = (size_t)x;
            } else if (!strcmp(a, "--text-temp")) {
                o->gen.semantic.sample.temp = (float)x;
            } else if (!strcmp(a, "--waveform-temp")) {
                o->gen.coarse.sample.temp = (float)x;
            } else if (!strcmp(a, "--fine-temp")) {
                o->gen.fine.sample.temp = (float)x;
            } else if (!strcmp(a, "--top-k")) {
                if (!whole(x, 0, 1e9)) {
                    fprintf(stderr, "bark %s: --top-k is a whole number >= 0 (0: off)\n", cmd);
                    return 2;
                }
                o->gen.semantic.sample.top_k = o->gen.coarse.sample.top_k = (int)x;
            } else if (!strcmp(a, "--top-p")) {
                o->gen.semantic.sample.top_p = o->gen.coarse.sample.top_p = (float)x;
            } else if (!strcmp(a, "--min-eos-p")) {
                o->gen.semantic.min_eos_p = (float)x;
            } else if (!strcmp(a, "--max-seconds")) {
                o->gen.semantic.max_gen_duration_s = x;
            } else {
                fprintf(stderr, "bark %s: unknown option '%s' (see --help)\n", cmd, a);
                return 2;
            }
        }
        i += takes;
    }
    if (from_stdin && o->text) {
        fprintf(stderr, "bark %s: give the text either as arguments or on stdin (-), not both\n", cmd);
        return 2;
    }
    if (!o->text) {
        if (!from_stdin && isatty(STDIN_FILENO)) {
            fprintf(stderr, "bark %s: no text given (usage: bark %s [options] TEXT..., or the text on stdin)\n", cmd,
                    cmd);
            return 2;
        }
        int rc = read_stdin(cmd, o);
        if (rc) return rc;
    }
    o->gen.semantic.sample.greedy = o->gen.coarse.sample.greedy = o->gen.fine.sample.greedy = o->greedy;
    if (!o->have_seed) o->seed = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
    return 0;
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig) {
    (void)sig;
    interrupted = 1;
}

/* Ctrl-C and SIGTERM set the flag (no SA_RESTART: blocked calls return); a closed pipe on stdout becomes EPIPE. */
static void catch_signals(struct sigaction old[3]) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    interrupted = 0;
    sigaction(SIGINT, &sa, &old[0]);
    sigaction(SIGTERM, &sa, &old[1]);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, &old[2]);
}

static void restore_signals(const struct sigaction old[3]) {
    sigaction(SIGINT, &old[0], NULL);
    sigaction(SIGTERM, &old[1], NULL);
    sigaction(SIGPIPE, &old[2], NULL);
}

/* Opens the model, saying how to get one when the default is missing. */
static bark_model *open_model(const char *cmd, const char *given) {
    const char *path = cli_model_path(given);
    struct stat sb;
    if (stat(path, &sb) != 0 && errno == ENOENT) {
        if (given || getenv("BARK_MODEL"))
            fprintf(stderr, "bark %s: %s: no such model file\n", cmd, path);
        else
            fprintf(stderr, "bark %s: no model at %s: run `models/download.sh` to fetch and convert bark-small "
                    "(about 1.7 GB to download, a 0.5 GB file), or pass -m FILE or set BARK_MODEL\n", cmd, path);
        return NULL;
    }
    return cli_open_model(cmd, given);
}

static bark_status load_voice(const bark_model *m, const char *name, bark_voice *v, bark_error *err) {
    size_t l = strlen(name);
    return l > 4 && !strcmp(name + l - 4, ".npz") ? bark_voice_load_npz(name, v, err) : bark_model_voice(m, name, v, err);
}

static void print_timings(const say_job *j, const audio_sink *sink) {
    for (size_t k = 0; k < j->n_pieces; k++)
        if (j->piece_done[k] > 0)
            fprintf(stderr, "say: piece %zu/%zu generated at %.3f s\n", k + 1, j->n_pieces, j->piece_done[k]);
    double audio = (double)j->frames / BARK_COARSE_RATE_HZ;
    fprintf(stderr, "say: first audio at %.3f s, generation done at %.3f s, playback done at %.3f s\n",
            sink->first_write > 0 ? sink->first_write - j->start : -1.0, j->gen_end, j->play_end);
    fprintf(stderr, "say: %.2f s of audio (%zu frames, %llu samples), real-time factor %.3f, %u underruns\n", audio,
            j->frames, (unsigned long long)sink->samples, audio > 0 ? j->gen_end / audio : 0.0, sink->underruns);
}

/* Everything of `bark say` once the options are known. */
static int run_say(say_opts *o) {
    const char *cmd = "say";
    bark_error err = {BARK_OK, ""};
    bark_model *m = open_model(cmd, o->model);
    if (!m) return 1;
    bark_voice voice = {0};
    encodec_model codec;
    memset(&codec, 0, sizeof codec);
    bark_tokenizer *tok = NULL;
    text_piece *pieces = NULL;
    audio_sink *sink = NULL;
    double *done_at = NULL;
    size_t n_pieces = 0;
    const char *const *vt;
    const uint32_t *vl;
    size_t nv = bark_model_vocab(m, &vt, &vl);
    bark_status st = BARK_OK;
    for (int s = 0; s < BARK_STAGE_COUNT && !st; s++)
        if (!bark_model_has_stage(m, (bark_stage)s))
            st = bark_fail(&err, BARK_ERR_MISSING, "%s: the model file has no %s stage", bark_model_path(m),
                           bark_stage_name((bark_stage)s));
    if (!st && nv == 0) st = bark_fail(&err, BARK_ERR_MISSING, "%s: the model file has no vocabulary", bark_model_path(m));
    if (!st) st = bark_tokenizer_create(vt, vl, nv, &tok, &err);
    if (!st && o->voice) st = load_voice(m, o->voice, &voice, &err);
    if (!st) st = text_split(o->text, strlen(o->text), o->no_split ? (size_t)-1 : o->max_piece, &pieces, &n_pieces, &err);
    if (!st && !(done_at = calloc(n_pieces, sizeof *done_at))) st = bark_fail(&err, BARK_ERR_NOMEM, "out of memory");
    if (!st) st = encodec_load_part(m, 0, BARK_N_FINE_CODEBOOKS, &codec, &err);
    if (!st) st = o->output ? audio_sink_open(&audio_sink_file, o->output, BARK_SAMPLE_RATE, &sink, &err)
                            : audio_sink_open(&audio_sink_alsa, o->device, BARK_SAMPLE_RATE, &sink, &err);
    if (st) goto out;
    if (!o->quiet)
        fprintf(stderr, "seed %llu%s, %zu piece%s\n", (unsigned long long)o->seed, o->greedy ? " (greedy)" : "",
                n_pieces, n_pieces == 1 ? "" : "s");
    progress prog;
    progress_init(&prog, stderr, o->quiet);
    say_job j = {.model = m, .codec = &codec, .tok = tok, .text = o->text, .pieces = pieces, .n_pieces = n_pieces,
                 .voice = o->voice ? &voice : NULL, .gen = o->gen, .seed = o->seed, .sink = sink,
                 .realtime = !o->output, .no_gaps = o->no_gaps, .quiet = o->quiet, .prog = &prog,
                 .stop = &interrupted, .piece_done = done_at};
    struct sigaction old[3];
    catch_signals(old);
    st = say_stream_run(&j, &err);
    restore_signals(old);
    if (o->verbose) print_timings(&j, sink);
    /* an interrupted file is still finished with a valid header; a failed one is removed */
    bark_error cerr = {BARK_OK, ""};
    bark_status cst = audio_sink_close(sink, !st || st == BARK_ERR_INTERRUPTED, &cerr);
    sink = NULL;
    if (!st && cst) st = cst, err = cerr;
    if (!st && !o->quiet && o->output && strcmp(o->output, "-"))
        fprintf(stderr, "wrote %s (%.2f s of audio)\n", o->output, (double)j.frames / BARK_COARSE_RATE_HZ);
out:
    if (st == BARK_ERR_INTERRUPTED) fprintf(stderr, "bark %s: interrupted%s\n", cmd, o->output ? " (the file holds what was made)" : "");
    else if (st) cli_fail(cmd, &err);
    if (sink) {
        bark_error e2;
        if (audio_sink_close(sink, 0, &e2)) {}
    }
    free(done_at);
    free(pieces);
    bark_tokenizer_free(tok);
    encodec_free(&codec);
    bark_voice_free(&voice);
    bark_model_close(m);
    return st == BARK_ERR_INTERRUPTED ? 130 : st ? 1 : 0;
}

static void print_codes(const char *what, const int32_t *c, size_t rows, size_t n) {
    for (size_t r = 0; r < rows; r++) {
        printf("%s", what);
        if (rows > 1) printf("[%zu]", r);
        printf(":");
        for (size_t t = 0; t < n; t++) printf(" %d", (int)c[r * n + t]);
        printf("\n");
    }
}

/* Writes what `bark tokens --dump DIR` asks for. */
static bark_status dump_codes(const char *dir, const bark_codes *c, bark_error *err) {
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return bark_fail(err, BARK_ERR_IO, "%s: cannot create the dump folder: %s", dir, strerror(errno));
    char path[4096];
    size_t sh[2] = {c->n_semantic, 0};
    snprintf(path, sizeof path, "%s/semantic.npy", dir);
    bark_status st = npy_write(path, 1, sh, 1, c->semantic, err);
    sh[1] = c->n_frames;
    if (!st && c->coarse) {
        sh[0] = 2;
        snprintf(path, sizeof path, "%s/coarse.npy", dir);
        st = npy_write(path, 1, sh, 2, c->coarse, err);
    }
    if (!st && c->fine) {
        sh[0] = 8;
        snprintf(path, sizeof path, "%s/fine.npy", dir);
        st = npy_write(path, 1, sh, 2, c->fine, err);
    }
    return st;
}

/* `bark tokens`: the codes of the whole text as one generation, printed. */
static int run_tokens(say_opts *o) {
    const char *cmd = "tokens";
    bark_error err = {BARK_OK, ""};
    bark_model *m = open_model(cmd, o->model);
    if (!m) return 1;
    bark_voice voice = {0};
    bark_codes codes = {0};
    bark_tokenizer *tok = NULL;
    const char *const *vt;
    const uint32_t *vl;
    size_t nv = bark_model_vocab(m, &vt, &vl), n_text;
    int32_t ids[256];
    int truncated = 0;
    bark_status st = BARK_OK;
    for (int s = 0; s <= (int)o->gen.last && !st; s++)
        if (!bark_model_has_stage(m, (bark_stage)s))
            st = bark_fail(&err, BARK_ERR_MISSING, "%s: the model file has no %s stage", bark_model_path(m),
                           bark_stage_name((bark_stage)s));
    if (!st && nv == 0) st = bark_fail(&err, BARK_ERR_MISSING, "%s: the model file has no vocabulary", bark_model_path(m));
    if (!st) st = bark_tokenizer_create(vt, vl, nv, &tok, &err);
    if (!st && o->voice) st = load_voice(m, o->voice, &voice, &err);
    if (!st) st = bark_text_to_semantic_input(tok, o->text, strlen(o->text), ids, &n_text, &truncated, &err);
    if (!st && truncated && !o->quiet) fprintf(stderr, "warning: text too long, cut to 256 tokens\n");
    if (!st) {
        if (!o->quiet) fprintf(stderr, "seed %llu%s\n", (unsigned long long)o->seed, o->greedy ? " (greedy)" : "");
        bark_rng rng;
        bark_rng_seed(&rng, o->seed);
        st = bark_generate_codes(m, ids, o->voice ? &voice : NULL, &o->gen, &rng, &codes, &err);
    }
    if (!st) {
        print_codes("semantic", codes.semantic, 1, codes.n_semantic);
        if (codes.coarse) print_codes("coarse", codes.coarse, 2, codes.n_frames);
        if (codes.fine) print_codes("fine", codes.fine, 8, codes.n_frames);
        if (o->dump) st = dump_codes(o->dump, &codes, &err);
    }
    if (st) cli_fail(cmd, &err);
    bark_codes_free(&codes);
    bark_tokenizer_free(tok);
    bark_voice_free(&voice);
    bark_model_close(m);
    return st ? 1 : 0;
}

/* Runs a whole `bark say` (audio = 1) or `bark tokens` (audio = 0) command. */
int cli_run_generation(int argc, char **argv, const char *cmd, int audio) {
    say_opts o;
    int done, rc = parse(argc, argv, cmd, audio, &o, &done);
    if (!rc && !done) rc = audio ? run_say(&o) : run_tokens(&o);
    free(o.text);
    return rc;
}

int cmd_say(int argc, char **argv) { return cli_run_generation(argc, argv, "say", 1); }
