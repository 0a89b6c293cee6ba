/* cmd_clone.c: `bark clone REF -o VOICE.npz`: a voice prompt from a recording (EnCodec + HuBERT + quantizer). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/options.h"

typedef struct clone_opts {
    const char *in, *out, *name, *model, *hubert, *text;
    double max_seconds;
    uint64_t seed;
    int quiet, threads;
} clone_opts;

static void usage(FILE *f) {
    fputs("usage: bark clone REF.wav|.flac|.ogg|... -o VOICE.npz [--name NAME] [-m MODEL] [--hubert FILE]\n"
          "                  [--semantic-from-text \"TRANSCRIPT\"] [--max-seconds S] [-s N] [-t N] [-q]\n"
          "  Makes a Suno-compatible voice prompt (.npz) from a recording: any format and rate libsndfile reads,\n"
          "  mixed to mono, leading/trailing silence trimmed, at most the last S seconds kept (default 15).\n"
          "  coarse/fine prompts: EnCodec at 6 kbps (the model's codec). semantic prompt: HuBERT base + the\n"
          "  quantizer, read from --hubert FILE or from the model file (convert facebook/hubert-base-ls960 and\n"
          "  the quantizer .pth with `bark convert`).\n"
          "  --semantic-from-text: without HuBERT weights, generate the semantic prompt from the transcript with\n"
          "  the semantic model instead (the older method; WEAKER: it does not carry the speaker's voice).\n"
          "  --name NAME: writes NAME.npz when -o is not given; `bark convert ... NAME.npz` embeds the voice.\n",
          f);
}

/* The report and the warnings of a finished clone. */
static void report(const clone_opts *o, const char *out, const bark_voice *v, const bark_clone_info *info,
                   double cpu_seconds) {
    fprintf(stderr, "bark clone: %s (%d Hz, %d channel%s, %.2f s): kept %.2f s (trimmed %.2f s before, %.2f s "
            "after) -> %zu coarse/fine frames, %zu semantic tokens%s -> %s, %.2f s CPU\n", o->in, info->file_rate,
            info->file_channels, info->file_channels == 1 ? "" : "s", info->file_seconds, info->kept_seconds,
            info->lead_trimmed, info->tail_trimmed, v->n_fine, v->n_semantic,
            o->text ? " (FROM THE TRANSCRIPT: weaker)" : "", out, cpu_seconds);
    if (o->text)
        fprintf(stderr, "warning: the semantic prompt was generated from the transcript, not from the recording; "
                "the clone keeps less of the speaker (convert HuBERT and the quantizer for the real method)\n");
    if (info->kept_seconds < 5.0)
        fprintf(stderr, "warning: only %.1f s of sound; clones from less than about 5 s are weak (Suno's presets "
                "hold 3-15 s, most 8-14 s)\n", info->kept_seconds);
    if (info->cut)
        fprintf(stderr, "warning: the recording is longer than a prompt holds; kept its last %.1f s (Bark reads "
                "at most the last 5.1 s of semantic and 6.8 s of fine prompt)\n", info->kept_seconds);
    if (info->clipped_fraction > 0.001)
        fprintf(stderr, "warning: %.2f%% of the samples are clipped; the clone will copy the distortion\n",
                100.0 * info->clipped_fraction);
    if (o->name) fprintf(stderr, "embed it in a model file with: bark convert <sources...> %s\n", out);
}

static int run(const clone_opts *o) {
    bark_error err = {BARK_OK, ""};
    bark_context *ctx = cli_open_context("clone", o->model);
    if (!ctx) return 1;
    bark_voice v = {0};
    bark_clone_info info;
    bark_clone_params p = bark_clone_default_params();
    p.max_seconds = o->max_seconds;
    p.transcript = o->text;
    p.seed = o->seed;
    p.n_threads = o->threads;
    /* without a transcript HuBERT is required: from --hubert, hubert.gguf beside the model, or the model file */
    p.hubert_path = cli_hubert_path(o->hubert, cli_model_path(o->model));
    const clock_t c0 = clock();
    bark_status st = bark_clone_file(ctx, o->in, &p, &v, &info, &err);
    if (st == BARK_ERR_MISSING && !o->text && bark_model_has_stage(bark_context_model(ctx), BARK_STAGE_CODEC)) {
        char why[sizeof err.msg];
        memcpy(why, err.msg, sizeof why);
        cli_error(&err, st, "no HuBERT weights for the semantic prompt (give --hubert FILE, or --semantic-from-text "
                  "\"transcript\" for the weaker fallback): %.300s", why);
    }
    char name_out[4096];
    const char *out = o->out;
    if (!out) {
        snprintf(name_out, sizeof name_out, "%s.npz", o->name);
        out = name_out;
    }
    if (!st) st = bark_voice_save_npz(&v, out, &err);
    if (!st && !o->quiet) report(o, out, &v, &info, (double)(clock() - c0) / CLOCKS_PER_SEC);
    bark_voice_free(&v);
    bark_context_free(ctx);
    return st ? cli_fail("clone", &err) : 0;
}

enum { OPT_NAME = CLI_LONG_ONLY, OPT_HUBERT, OPT_TEXT, OPT_MAX_SECONDS };

int cmd_clone(int argc, char **argv) {
    static const struct option longs[] = {
        {"name", required_argument, NULL, OPT_NAME},
        {"hubert", required_argument, NULL, OPT_HUBERT},
        {"semantic-from-text", required_argument, NULL, OPT_TEXT},
        {"max-seconds", required_argument, NULL, OPT_MAX_SECONDS},
        {NULL, 0, NULL, 0}};
    static const cli_spec spec = {"clone", CLI_MODEL | CLI_OUTPUT | CLI_QUIET | CLI_THREADS | CLI_SEED, NULL, longs,
                                  usage};
    clone_opts o = {NULL, NULL, NULL, NULL, NULL, NULL, 15.0, 0, 0, 0};
    cli_parser p;
    cli_common c;
    const char *arg;
    int rc, opt;
    cli_parser_init(&p, &spec, argc, argv, &c);
    while ((opt = cli_next(&p, &arg, &rc)) >= 0) {
        if (opt == OPT_NAME) o.name = arg;
        else if (opt == OPT_HUBERT) o.hubert = arg;
        else if (opt == OPT_TEXT) o.text = arg;
        else if (cli_number("clone", "--max-seconds", arg, 0.5, 0, 600, "a number of seconds in 0.5..600", &o.max_seconds))
            return 2;
    }
    if (opt != CLI_END) return rc;
    const int k = cli_operands(&p);
    if (k == argc) return cli_usage_error("clone", "no recording given (see bark clone --help)");
    if (k + 1 < argc) return cli_usage_error("clone", "unexpected argument '%s' (one recording)", argv[k + 1]);
    if (!c.output && !o.name) return cli_usage_error("clone", "give the voice file to write with -o VOICE.npz or --name");
    o.in = argv[k], o.out = c.output, o.model = c.model, o.quiet = c.quiet, o.threads = c.threads;
    o.seed = c.have_seed ? c.seed : (uint64_t)time(NULL);
    if ((rc = cli_exec_env("clone", &o.threads, NULL, NULL))) return rc;
    return run(&o);
}
