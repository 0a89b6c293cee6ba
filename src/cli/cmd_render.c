/* cmd_render.c: `bark render`: many texts, one a line, each into its own audio file, several at once (bark_engine). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/progress.h"
#include "cli/say.h"

#define MAX_BATCH 1024 /* --batch: texts in flight, each a thread and (in the engine) a KV cache */

enum { OPT_BATCH = SAY_OPT_OWN, OPT_JSON };

static void usage(FILE *f) {
    fprintf(f, "usage: bark render [options] [FILE]   (no FILE, or -: the texts are read from stdin)\n"
            "Writes each line's text into its own audio file, several texts at once; blank lines are skipped.\n"
            "  -o, --output PATTERN     out.wav writes out-0001.wav, out-0002.wav, ... (numbered by the non-blank\n"
            "                           lines, as `bark say --lines`); .wav, .flac, .ogg, .opus, .mp3 or .npy\n"
            "      --json               each line is {\"text\": ..., \"voice\": ..., \"seed\": ..., \"output\": ...}"
            " (piper's\n"
            "                           --json-input); what a line leaves out comes from -v, -s and -o\n"
            "  -m, --model FILE         model file (default: $BARK_MODEL, else the first of ./models/, "
            "$XDG_DATA_HOME/bark/\n"
            "                           (~/.local/share/bark/) and %s/ that holds bark-small.gguf)\n"
            "  -v, --voice NAME|FILE    the voice of lines that name none: a name stored in the model or a Suno .npz\n"
            "  -s, --seed N             the seed of lines that give none (default: from the clock; printed at the end)\n"
            "  -t, --threads N          threads (default $BARK_THREADS, else the CPUs this process may use)\n"
            "      --batch N            texts in flight at once (default %d: the engine's batch)\n",
            cli_datadir(), bark_engine_default_params().max_batch);
    say_sampling_usage(f, 1);
    fputs("  -q, --quiet              no progress line or summary (errors still)\n"
          "      --version            bark's version\n"
          "Exit status: 0 when every file was written; 1 when a line failed (one line each on stderr, the others are\n"
          "still written); 2 for a usage error; 130 after Ctrl-C or SIGTERM (finished files stay, unfinished ones are\n"
          "removed).\n",
          f);
}

typedef struct render_opts {
    cli_common c;          /* -m -o -v -s -t -q */
    const char *input;     /* the FILE operand; NULL: stdin */
    bark_synth_params p;   /* sampling and pieces (voice and seed are per line) */
    bark_engine_params e;  /* --batch, threads, kernels */
    int json;
} render_opts;

/* Returns -1 to go on, else the exit status (0 after --help, 2 after a one-line error). */
static int render_parse(int argc, char **argv, render_opts *o) {
    static const struct option longs[] = {SAY_SAMPLING_LONGS, SAY_PIECE_LONGS,
                                          {"batch", required_argument, NULL, OPT_BATCH},
                                          {"json", no_argument, NULL, OPT_JSON},
                                          {NULL, 0, NULL, 0}};
    static const cli_spec spec = {"render", CLI_THREADS | CLI_MODEL | CLI_QUIET | CLI_SEED | CLI_OUTPUT | CLI_VOICE,
                                  NULL, longs, usage};
    const char *cmd = "render", *arg;
    cli_parser ps;
    cli_common c;
    uint64_t n;
    int rc, opt;
    memset(o, 0, sizeof *o);
    o->p = bark_synth_default_params();
    o->e = bark_engine_default_params();
    cli_parser_init(&ps, &spec, argc, argv, &c);
    while ((opt = cli_next(&ps, &arg, &rc)) >= 0) {
        if ((rc = say_take_sampling(cmd, opt, arg, &o->p)) > 0) return rc;
        if (rc == 0) continue;
        if (opt == OPT_JSON) o->json = 1;
        else if (cli_whole(cmd, "--batch", arg, 1, MAX_BATCH, "a whole number from 1 to 1024", &n)) return 2;
        else o->e.max_batch = (int)n;
    }
    if (opt != CLI_END) return rc;
    o->c = c;
    const int first = cli_operands(&ps);
    if (argc - first > 1)
        return cli_usage_error(cmd, "one FILE of texts (or - for stdin), not %d operands", argc - first);
    if (first < argc && strcmp(argv[first], "-")) o->input = argv[first];
    if (!o->input && isatty(STDIN_FILENO))
        return cli_usage_error(cmd, "no texts given (usage: bark render [options] FILE, one text a line, or the "
                               "lines on stdin)");
    if (!c.output && !o->json)
        return cli_usage_error(cmd, "give -o PATTERN: -o out.wav writes out-0001.wav, out-0002.wav, ... (or --json "
                               "lines naming each \"output\")");
    if (c.output && !strcmp(c.output, "-"))
        return cli_usage_error(cmd, "-o - cannot hold many files: give a name such as -o out.wav");
    o->e.n_threads = c.threads;
    if ((rc = cli_exec_env(cmd, &o->e.n_threads, &o->e.isa, &o->e.gemm))) return rc;
    if (!c.have_seed) o->c.seed = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
    return -1;
}

/* One text to render. */
typedef struct render_job {
    say_item it; /* text, voice, seed and output file */
    size_t lineno;
} render_job;

/* What the workers share. */
typedef struct render_run {
    const render_opts *o;
    const bark_context *ctx;
    const char *model_path;
    bark_engine *engine;
    render_job *jobs;
    size_t n_jobs;
    pthread_mutex_t mu;    /* guards what follows, and stderr */
    size_t next;           /* the next job to take */
    size_t written, failed, stopped;
    double audio_seconds;  /* of the files written */
    progress prog;
} render_run;

/* One job's synthesis: its file. */
typedef struct render_call {
    render_run *r;
    bark_audio_writer *w;
    bark_status write_status;
    bark_error write_err;
} render_call;

static int on_audio(void *user, const float *pcm, size_t n) {
    render_call *c = user;
    if (say_signalled()) return 1;
    return (c->write_status = bark_audio_writer_write(c->w, pcm, n, &c->write_err)) != BARK_OK;
}

static int on_progress(void *user, const bark_progress_info *i) {
    render_run *r = user;
    pthread_mutex_lock(&r->mu);
    progress_batch(&r->prog, r->written + r->failed, r->n_jobs, r->audio_seconds, 0);
    pthread_mutex_unlock(&r->mu);
    return 0;
}

static int should_abort(void *user) { return say_signalled(); }

/* "bark render: line N (FILE): message"; the file left out when the message names it. */
static void report(size_t lineno, const char *file, const bark_error *err) {
    if (file && !strstr(err->msg, file)) fprintf(stderr, "bark render: line %zu (%s): %s\n", lineno, file, err->msg);
    else fprintf(stderr, "bark render: line %zu: %s\n", lineno, err->msg);
}

/* Counts a job's end and reports its failure. */
static void finished(render_run *r, const render_job *j, bark_status st, const bark_error *err, double seconds) {
    pthread_mutex_lock(&r->mu);
    if (!st) r->written++, r->audio_seconds += seconds;
    else if (st == BARK_ERR_INTERRUPTED) r->stopped++;
    else {
        r->failed++;
        progress_end(&r->prog);
        report(j->lineno, j->it.output, err);
    }
    progress_batch(&r->prog, r->written + r->failed, r->n_jobs, r->audio_seconds, 1);
    pthread_mutex_unlock(&r->mu);
}

/* Synthesizes one job into its file: whole, or removed. */
static void render_one(render_run *r, const render_job *j) {
    bark_error err = {BARK_OK, ""}, cerr = {BARK_OK, ""};
    bark_synth_params p = r->o->p;
    bark_synth_result res = {0};
    bark_voice v = {0};
    render_call call = {r, NULL, BARK_OK, {BARK_OK, ""}};
    p.seed = j->it.seed;
    p.on_audio = on_audio, p.audio_user = &call;
    p.on_progress = on_progress, p.progress_user = r;
    p.should_abort = should_abort;
    bark_status st = say_voice_prepare(r->ctx, r->model_path, j->it.voice, &v, &p, &err);
    if (!st) st = bark_audio_writer_open(j->it.output, BARK_SAMPLE_RATE_HZ, &call.w, &err);
    if (!st) st = bark_engine_synthesize(r->engine, j->it.text, &p, &res, &err);
    if (call.write_status) st = call.write_status, err = call.write_err; /* the file failed: that is the news */
    else if (say_signalled()) st = BARK_ERR_INTERRUPTED;
    const bark_status cst = bark_audio_writer_close(call.w, !st, &cerr);
    if (!st && cst) st = cst, err = cerr;
    bark_voice_free(&v);
    finished(r, j, st, &err, res.audio_seconds);
}

/* Takes the next job in order until none is left or a signal came. */
static void *worker(void *arg) {
    render_run *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        const size_t i = r->next < r->n_jobs && !say_signalled() ? r->next++ : r->n_jobs;
        pthread_mutex_unlock(&r->mu);
        if (i == r->n_jobs) return NULL;
        render_one(r, &r->jobs[i]);
    }
}

static void free_jobs(render_job *jobs, size_t n) {
    for (size_t i = 0; i < n; i++) say_item_free(&jobs[i].it);
    free(jobs);
}

/* Every line of in as a job; a line that cannot be one is reported and counted in *bad. Returns 0, 1 when the
 * input cannot be read, 130 after a signal. */
static int read_jobs(const render_opts *o, FILE *in, const char *name, render_job **jobs, size_t *n, size_t *bad) {
    say_line_reader lr = {in, "render", NULL, 0, 0, 0, 0};
    size_t cap = 0;
    const char *line;
    char why[512];
    int rc = 0;
    while (!rc && (line = say_line_next(&lr))) {
        render_job j = {{0}, lr.lineno};
        bark_error err = {BARK_OK, ""};
        if (say_line_item(line, o->json, &o->c, lr.k, &j.it, why, sizeof why)) {
            fprintf(stderr, "bark render: line %zu: %s\n", lr.lineno, why);
            ++*bad;
        } else if (!j.it.output) {
            fprintf(stderr, "bark render: line %zu: no file to write: give it an \"output\", or -o PATTERN for the "
                    "lines without one\n", lr.lineno);
            ++*bad, say_item_free(&j.it);
        } else if (say_check_output(j.it.output, &err)) {
            report(lr.lineno, j.it.output, &err);
            ++*bad, say_item_free(&j.it);
        } else if (*n == cap) {
            render_job *more = realloc(*jobs, (cap = cap ? 2 * cap : 64) * sizeof *more);
            if (!more) {
                fprintf(stderr, "bark render: out of memory at line %zu\n", lr.lineno);
                say_item_free(&j.it);
                rc = 1;
            } else {
                *jobs = more;
                (*jobs)[(*n)++] = j;
            }
        } else {
            (*jobs)[(*n)++] = j;
        }
    }
    *bad += lr.failed != 0;
    say_line_reader_free(&lr);
    if (say_signalled()) return 130;
    if (!rc && ferror(in)) {
        fprintf(stderr, "bark render: cannot read the texts from %s: %s\n", name, strerror(errno));
        rc = 1;
    }
    return rc;
}

/* Runs the jobs on the engine with up to its max_batch of them in flight; the exit status. */
static int run_jobs(render_run *r, size_t bad) {
    bark_engine_stats es;
    bark_engine_get_stats(r->engine, &es);
    size_t n_workers = es.max_batch > 0 ? (size_t)es.max_batch : 1;
    if (n_workers > r->n_jobs) n_workers = r->n_jobs;
    pthread_t *t = calloc(n_workers, sizeof *t);
    size_t started = 0;
    const double t0 = progress_now();
    progress_init(&r->prog, stderr, r->o->c.quiet);
    /* this thread is one of the workers; a thread that cannot start leaves fewer in flight */
    while (t && started + 1 < n_workers && !pthread_create(&t[started], NULL, worker, r)) started++;
    worker(r);
    for (size_t i = 0; i < started; i++) pthread_join(t[i], NULL);
    free(t);
    progress_end(&r->prog);
    const double wall = progress_now() - t0;
    if (say_signalled()) {
        fprintf(stderr, "bark render: interrupted: %zu file%s written, %zu unfinished removed, %zu not started\n",
                r->written, r->written == 1 ? "" : "s", r->stopped, r->n_jobs - r->written - r->failed - r->stopped);
        return 130;
    }
    const size_t failed = r->failed + bad;
    if (!r->o->c.quiet)
        fprintf(stderr, "render: wrote %zu of %zu files, %.1f s of audio in %.1f s (real-time factor %.2f), "
                "%zu at a time, seed %llu%s\n", r->written, r->n_jobs + bad, r->audio_seconds, wall,
                r->audio_seconds > 0 ? wall / r->audio_seconds : 0.0, n_workers, (unsigned long long)r->o->c.seed,
                failed ? "; the lines above failed" : "");
    return failed ? 1 : 0;
}

int cmd_render(int argc, char **argv) {
    render_opts o;
    int rc = render_parse(argc, argv, &o);
    if (rc >= 0) return rc;
    bark_error err = {BARK_OK, ""};
    if (o.c.output && say_check_output(o.c.output, &err)) return cli_fail("render", &err); /* its folder, once */
    say_signals_catch();
    FILE *in = o.input ? fopen(o.input, "r") : stdin;
    if (!in) {
        fprintf(stderr, "bark render: cannot open %s: %s (give a file of texts, one a line)\n", o.input,
                strerror(errno));
        return 1;
    }
    render_run r = {.o = &o};
    size_t bad = 0;
    rc = read_jobs(&o, in, o.input ? o.input : "stdin", &r.jobs, &r.n_jobs, &bad);
    if (in != stdin) fclose(in);
    bark_context *ctx = NULL;
    if (!rc && !r.n_jobs) {
        if (!bad && !o.c.quiet) fprintf(stderr, "bark render: no texts in %s (blank lines are skipped)\n",
                                        o.input ? o.input : "stdin");
        rc = bad ? 1 : 0;
    } else if (rc) {
        /* the input could not be read: nothing is rendered */
    } else if (!(ctx = cli_open_context("render", o.c.model))) {
        rc = 1;
    } else if (bark_engine_open(ctx, &o.e, &r.engine, &err)) {
        rc = cli_fail("render", &err);
    } else {
        r.ctx = ctx;
        r.model_path = cli_model_path(o.c.model);
        pthread_mutex_init(&r.mu, NULL);
        rc = run_jobs(&r, bad);
        pthread_mutex_destroy(&r.mu);
    }
    bark_engine_free(r.engine);
    bark_context_free(ctx);
    free_jobs(r.jobs, r.n_jobs);
    return rc;
}
