/* cmd_say.c: `bark say`: text -> speech on ALSA, into a file or raw on stdout, streamed; a client of bark.h. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/progress.h"
#include "cli/say.h"
#include "cli/sink.h"

/* What the callbacks of one text share. */
typedef struct say_run {
    audio_sink *sink;
    progress prog;
    double start;          /* progress_now() when the synthesis began */
    double *piece_done;    /* [n_pieces] seconds at which each piece's codes were done (verbose) */
    size_t n_pieces;
    bark_status sink_status;
    bark_error sink_err;
} say_run;

/* Samples from the synthesis's decoding thread into the sink; a failed write or a signal stops the synthesis. */
static int on_audio(void *user, const float *pcm, size_t n) {
    say_run *r = user;
    if (say_signalled()) return 1;
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
    progress_update(&r->prog, i, 0);
    return 0;
}

static int should_abort(void *user) { return say_signalled(); }

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

bark_status say_check_output(const char *path, bark_error *err) {
    struct stat sb;
    if (!strcmp(path, "-")) return BARK_OK;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return cli_error(err, BARK_ERR_IO, "%.300s is a folder: give a file name in it (-o %.100s/out.wav)", path,
                         path);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    const char *d = dirname(dir);
    if (access(d, W_OK | X_OK) != 0)
        return cli_error(err, BARK_ERR_IO, "%.300s: cannot write into the folder %.100s: %s", path, d, strerror(errno));
    return BARK_OK;
}

/* Opens where the samples go. */
static bark_status open_sink(const say_opts *o, const char *output, audio_sink **sink, bark_error *err) {
    if (o->raw) return audio_sink_open(&audio_sink_raw, NULL, BARK_SAMPLE_RATE_HZ, sink, err);
    if (output) return audio_sink_open(&audio_sink_file, output, BARK_SAMPLE_RATE_HZ, sink, err);
    return audio_sink_open(&audio_sink_alsa, o->device, BARK_SAMPLE_RATE_HZ, sink, err);
}

/* The synthesis into an open sink; the sink closed (a stopped file finished, a failed one removed). */
static bark_status synthesize(const bark_context *ctx, const say_opts *o, const say_job *job, bark_synth_params p,
                              say_run *r, bark_error *err) {
    const int to_file = job->output || o->raw;
    bark_synth_result res = {0};
    if (!o->c.quiet)
        fprintf(stderr, "%s%sseed %llu%s\n", job->where ? job->where : "", job->where ? ": " : "",
                (unsigned long long)p.seed, p.greedy ? " (greedy)" : "");
    progress_init(&r->prog, stderr, o->c.quiet);
    p.pacing = to_file ? BARK_PACE_NONE : o->no_gaps ? BARK_PACE_NO_GAPS : BARK_PACE_PIECE;
    p.on_audio = on_audio, p.audio_user = r;
    p.on_progress = on_progress, p.progress_user = r;
    p.should_abort = should_abort;
    r->start = progress_now();
    bark_status st = bark_synthesize(ctx, job->text, &p, &res, err);
    if (r->sink_status) st = r->sink_status, *err = r->sink_err; /* the sink failed: that is the news */
    else if (say_signalled()) st = BARK_ERR_INTERRUPTED;
    if (!st) st = audio_sink_drain(r->sink, err);
    else if (!to_file) audio_sink_drop(r->sink);
    progress_end(&r->prog);
    if (o->verbose) print_timings(r, &res, progress_now() - r->start);
    bark_error cerr = {BARK_OK, ""};
    bark_status cst = audio_sink_close(r->sink, !st || st == BARK_ERR_INTERRUPTED, &cerr);
    if (!st && cst) st = cst, *err = cerr;
    if (!st && !o->c.quiet && job->output && strcmp(job->output, "-"))
        fprintf(stderr, "wrote %s (%.2f s of audio)\n", job->output, res.audio_seconds);
    return st;
}

int say_text(const bark_context *ctx, const say_opts *o, const say_job *job) {
    const char *cmd = "say";
    bark_error err = {BARK_OK, ""};
    bark_synth_params p = o->p;
    p.seed = job->seed;
    bark_voice v = {0};
    say_run r = {0};
    bark_status st = say_voice_prepare(ctx, cli_model_path(o->c.model), job->voice, &v, &p, &err);
    if (!st && job->output) st = say_check_output(job->output, &err);
    if (!st) st = open_sink(o, job->output, &r.sink, &err);
    if (!st) st = synthesize(ctx, o, job, p, &r, &err);
    if (st == BARK_ERR_INTERRUPTED) {
        fprintf(stderr, "bark %s: interrupted%s\n", cmd, job->output ? " (the file holds what was made)" : "");
    } else if (st) {
        if (job->where) cli_error_prefix(&err, job->where);
        cli_fail(cmd, &err);
    }
    free(r.piece_done);
    bark_voice_free(&v);
    return st == BARK_ERR_INTERRUPTED ? 130 : st ? 1 : 0;
}

int cmd_say(int argc, char **argv) {
    say_opts o;
    int rc = say_parse(argc, argv, 1, &o);
    if (rc < 0) {
        say_signals_catch();
        bark_error err = {BARK_OK, ""};
        bark_context *ctx = NULL;
        if (!o.lines && o.c.output && say_check_output(o.c.output, &err)) rc = cli_fail("say", &err);
        else if (!(ctx = cli_open_context("say", o.c.model))) rc = 1;
        else if (o.lines) rc = say_lines(ctx, &o);
        else {
            const say_job job = {o.text, o.c.voice, o.c.output, o.c.seed, NULL};
            rc = say_text(ctx, &o, &job);
        }
        bark_context_free(ctx);
    }
    free(o.text);
    return rc;
}
