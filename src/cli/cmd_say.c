/* cmd_say.c: `bark say` (text -> speech on ALSA or into a file, streamed) and `bark tokens`, clients of bark.h. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bark.h"
#include "cli/cli.h"
#include "cli/progress.h"
#include "cli/sink.h"

#define MAX_TEXT_BYTES (16u << 20) /* text read from stdin */

/* Everything the command line decides. */
typedef struct say_opts {
    const char *model, *output, *device, *dump;
    char *text;             /* the positional words joined by spaces, or stdin (owned) */
    bark_synth_params p;    /* voice, seed, sampling, threads, pieces */
    bark_stage last;        /* tokens: the last stage to run */
    int have_seed, quiet, verbose, no_split, no_gaps;
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
               "      --max-piece N        split texts longer than N bytes into pieces (default %zu, ~13 s each)\n"
               "      --no-gaps            wait before playing until the rest can play without a break\n",
               bark_synth_default_params().max_piece);
    else
        printf("      --stage S            last stage to run: semantic, coarse or fine (default fine)\n"
               "  -d, --dump DIR           write semantic.npy, coarse.npy and fine.npy into DIR\n");
    printf("  -s, --seed N             random seed (default: from the clock; printed so a run can be repeated)\n"
           "  -t, --threads N          threads (default $BARK_THREADS, else the CPUs this process may use; more is clamped)\n"
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
    o->p = bark_synth_default_params();
    o->last = BARK_STAGE_FINE;
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
            o->p.greedy = 1, takes = 0;
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
            o->p.voice = v;
        } else if (audio && (!strcmp(a, "-o") || !strcmp(a, "--output"))) {
            o->output = v;
        } else if (audio && (!strcmp(a, "-D") || !strcmp(a, "--device"))) {
            o->device = v;
        } else if (!audio && (!strcmp(a, "-d") || !strcmp(a, "--dump"))) {
            o->dump = v;
        } else if (!audio && !strcmp(a, "--stage")) {
            if (!strcmp(v, "semantic")) o->last = BARK_STAGE_SEMANTIC;
            else if (!strcmp(v, "coarse")) o->last = BARK_STAGE_COARSE;
            else if (!strcmp(v, "fine")) o->last = BARK_STAGE_FINE;
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
                o->p.seed = (uint64_t)x, o->have_seed = 1;
            } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
                if (!whole(x, 1, 1e6)) {
                    fprintf(stderr, "bark %s: --threads is a whole number from 1\n", cmd);
                    return 2;
                }
                o->p.n_threads = (int)x;
            } else if (audio && !strcmp(a, "--max-piece")) {
                if (!whole(x, 16, 1e6)) {
                    fprintf(stderr, "bark %s: --max-piece is a whole number of bytes from 16 to 1000000\n", cmd);
                    return 2;
                }
                o->p.max_piece = (size_t)x;
            } else if (!strcmp(a, "--text-temp")) {
                o->p.text_temp = (float)x;
            } else if (!strcmp(a, "--waveform-temp")) {
                o->p.waveform_temp = (float)x;
            } else if (!strcmp(a, "--fine-temp")) {
                o->p.fine_temp = (float)x;
            } else if (!strcmp(a, "--top-k")) {
                if (!whole(x, 0, 1e9)) {
                    fprintf(stderr, "bark %s: --top-k is a whole number >= 0 (0: off)\n", cmd);
                    return 2;
                }
                o->p.top_k = (int)x;
            } else if (!strcmp(a, "--top-p")) {
                o->p.top_p = (float)x;
            } else if (!strcmp(a, "--min-eos-p")) {
                o->p.min_eos_p = (float)x;
            } else if (!strcmp(a, "--max-seconds")) {
                o->p.max_seconds = x;
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
    if (!o->have_seed) o->p.seed = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
    if (o->no_split) o->p.max_piece = 0;
    return cli_exec_env(cmd, &o->p.n_threads, &o->p.isa, &o->p.gemm);
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

/* What the callbacks of one `bark say` share. */
typedef struct say_run {
    audio_sink *sink;
    progress prog;
    double start;          /* progress_now() when the synthesis began */
    double *piece_done;    /* [n_pieces] seconds at which each piece's codes were done (verbose) */
    size_t n_pieces;
    bark_status sink_status;
    bark_error sink_err;
} say_run;

/* Samples from the synthesis's decoding thread into the sink; a failed write or Ctrl-C stops the synthesis. */
static int on_audio(void *user, const float *pcm, size_t n) {
    say_run *r = user;
    if (interrupted) return 1;
    if ((r->sink_status = audio_sink_write(r->sink, pcm, n, &r->sink_err))) return 1;
    return 0;
}

static int on_progress(void *user, const bark_progress_info *i) {
    say_run *r = user;
    if (!r->piece_done) {
        r->n_pieces = i->n_pieces;
        r->piece_done = calloc(i->n_pieces, sizeof *r->piece_done);
    }
    if (i->stage == BARK_STAGE_FINE && i->done == i->total && r->piece_done && i->piece < r->n_pieces)
        r->piece_done[i->piece] = progress_now() - r->start;
    progress_update(&r->prog, i->piece + 1, i->n_pieces, i->stage, i->done, i->total, i->audio_seconds, 0);
    return 0;
}

static int should_abort(void *user) { return interrupted != 0; }

static void print_timings(const say_run *r, const bark_synth_result *res, double play_end) {
    for (size_t k = 0; k < r->n_pieces && r->piece_done; k++)
        if (r->piece_done[k] > 0)
            fprintf(stderr, "say: piece %zu/%zu generated at %.3f s\n", k + 1, r->n_pieces, r->piece_done[k]);
    fprintf(stderr, "say: first audio at %.3f s, generation done at %.3f s, playback done at %.3f s\n",
            r->sink->first_write > 0 ? r->sink->first_write - r->start : -1.0, res->generation_seconds, play_end);
    fprintf(stderr, "say: %.2f s of audio (%zu frames, %llu samples), real-time factor %.3f, %d threads, %s kernels, "
            "%u underruns\n", res->audio_seconds, res->frames, (unsigned long long)r->sink->samples,
            res->real_time_factor, res->n_threads, res->isa ? res->isa : "?", r->sink->underruns);
}

/* Everything of `bark say` once the options are known. */
static int run_say(say_opts *o) {
    const char *cmd = "say";
    bark_error err = {BARK_OK, ""};
    bark_context *ctx = cli_open_context(cmd, o->model);
    if (!ctx) return 1;
    say_run r = {0};
    bark_status st = o->output ? audio_sink_open(&audio_sink_file, o->output, BARK_SAMPLE_RATE_HZ, &r.sink, &err)
                               : audio_sink_open(&audio_sink_alsa, o->device, BARK_SAMPLE_RATE_HZ, &r.sink, &err);
    bark_synth_result res = {0};
    if (!st) {
        if (!o->quiet)
            fprintf(stderr, "seed %llu%s\n", (unsigned long long)o->p.seed, o->p.greedy ? " (greedy)" : "");
        progress_init(&r.prog, stderr, o->quiet);
        bark_synth_params p = o->p;
        p.pacing = o->output ? BARK_PACE_NONE : o->no_gaps ? BARK_PACE_NO_GAPS : BARK_PACE_PIECE;
        p.on_audio = on_audio, p.audio_user = &r;
        p.on_progress = on_progress, p.progress_user = &r;
        p.should_abort = should_abort;
        struct sigaction old[3];
        catch_signals(old);
        r.start = progress_now();
        st = bark_synthesize(ctx, o->text, &p, &res, &err);
        if (r.sink_status) st = r.sink_status, err = r.sink_err; /* the sink failed: that is the news */
        else if (interrupted) st = BARK_ERR_INTERRUPTED;
        if (!st) st = audio_sink_drain(r.sink, &err);
        else if (!o->output) audio_sink_drop(r.sink);
        restore_signals(old);
        progress_end(&r.prog);
        if (o->verbose) print_timings(&r, &res, progress_now() - r.start);
        /* an interrupted file is still finished with a valid header; a failed one is removed */
        bark_error cerr = {BARK_OK, ""};
        bark_status cst = audio_sink_close(r.sink, !st || st == BARK_ERR_INTERRUPTED, &cerr);
        if (!st && cst) st = cst, err = cerr;
        if (!st && !o->quiet && o->output && strcmp(o->output, "-"))
            fprintf(stderr, "wrote %s (%.2f s of audio)\n", o->output, res.audio_seconds);
    }
    if (st == BARK_ERR_INTERRUPTED)
        fprintf(stderr, "bark %s: interrupted%s\n", cmd, o->output ? " (the file holds what was made)" : "");
    else if (st) cli_fail(cmd, &err);
    free(r.piece_done);
    bark_context_free(ctx);
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
        return cli_error(err, BARK_ERR_IO, "%s: cannot create the dump folder: %s", dir, strerror(errno));
    char path[4096];
    snprintf(path, sizeof path, "%s/semantic.npy", dir);
    bark_status st = bark_codes_save_npy(path, c->semantic, 0, c->n_semantic, err);
    if (!st && c->coarse) {
        snprintf(path, sizeof path, "%s/coarse.npy", dir);
        st = bark_codes_save_npy(path, c->coarse, 2, c->n_frames, err);
    }
    if (!st && c->fine) {
        snprintf(path, sizeof path, "%s/fine.npy", dir);
        st = bark_codes_save_npy(path, c->fine, 8, c->n_frames, err);
    }
    return st;
}

/* `bark tokens`: the codes of the whole text as one generation, printed. */
static int run_tokens(say_opts *o) {
    const char *cmd = "tokens";
    bark_error err = {BARK_OK, ""};
    bark_context *ctx = cli_open_context(cmd, o->model);
    if (!ctx) return 1;
    bark_codes codes = {0};
    if (!o->quiet) fprintf(stderr, "seed %llu%s\n", (unsigned long long)o->p.seed, o->p.greedy ? " (greedy)" : "");
    bark_status st = bark_text_to_codes(ctx, o->text, &o->p, o->last, &codes, &err);
    if (!st) {
        print_codes("semantic", codes.semantic, 1, codes.n_semantic);
        if (codes.coarse) print_codes("coarse", codes.coarse, 2, codes.n_frames);
        if (codes.fine) print_codes("fine", codes.fine, 8, codes.n_frames);
        if (o->dump) st = dump_codes(o->dump, &codes, &err);
    }
    if (st) cli_fail(cmd, &err);
    bark_codes_free(&codes);
    bark_context_free(ctx);
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
