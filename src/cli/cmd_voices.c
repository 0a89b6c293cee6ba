/* cmd_voices.c: `bark voices`: the model's voices and the user's (with how each was made); add, rm, export. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/options.h"

#define MAX_RECORDING_SECONDS 600.0 /* a recording is read whole; a voice needs 5-15 s */

static void usage(FILE *f) {
    fputs("usage: bark voices [-m FILE] [--voices-dir DIR] [-q]\n"
          "       bark voices add NAME RECORDING|FILE.npz [--force] [--hubert FILE] [--text TRANSCRIPT] [-m FILE]\n"
          "       bark voices rm NAME\n"
          "       bark voices export NAME -o FILE.npz\n"
          "Lists the voices of the model file and the user's own (with how each was made), for `bark say -v NAME`.\n"
          "  add: clones a recording (any format libsndfile reads, up to 600 s; 5-15 s of speech is best; HuBERT from\n"
          "       --hubert, else hubert.gguf beside the model, else the model file) or imports a Suno .npz prompt.\n"
          "       NAME: 1-64 of letters, digits, '_', '.', '-' (not first: '.', '-'). A name the folder holds, or a\n"
          "       model voice's name, is refused unless --force (then the user's voice answers to that name).\n"
          "  rm, export: remove a user voice, or write it as a Suno .npz (-o).\n"
          "  -m, --model FILE       model file (default: see bark say --help)\n"
          "      --voices-dir DIR   the user's voices (default $BARK_VOICES, else $XDG_DATA_HOME/bark/voices)\n"
          "      --force            add: replace a user voice or shadow a model voice of that name\n"
          "      --hubert FILE      add: HuBERT and its quantizer for the semantic prompt\n"
          "      --text TRANSCRIPT  add: the semantic prompt from the transcript instead of HuBERT (weaker)\n"
          "  -o, --output FILE      export: the .npz to write\n"
          "  -s, --seed N, -t, --threads N   add --text: the seed and threads of the transcript's generation\n"
          "  -q, --quiet            no message when there are no voices, no report after add\n",
          f);
}

typedef struct voices_opts {
    cli_common c;
    const char *dir, *hubert, *text;
    int force;
} voices_opts;

/* The store of the user's folder (made for add), or NULL after one error line. */
static bark_voice_store *open_store(const voices_opts *o, int create) {
    const char *dir = cli_voices_dir(o->dir);
    bark_error err = {BARK_OK, ""};
    bark_voice_store *s = NULL;
    if (!dir) {
        cli_error(&err, BARK_ERR_ARG, "no voices folder: give --voices-dir DIR or set BARK_VOICES (HOME is not set)");
        cli_fail("voices", &err);
        return NULL;
    }
    if (bark_voice_store_open(dir, create, &s, &err)) cli_fail("voices", &err);
    return s;
}

static int list(const voices_opts *o) {
    bark_model *m = cli_open_model("voices", o->c.model);
    if (!m) return 1;
    bark_voice_store *s = open_store(o, 0);
    if (!s) {
        bark_model_close(m);
        return 1;
    }
    const size_t n = bark_model_voice_count(m), k = bark_voice_store_count(s);
    for (size_t i = 0; i < n; i++) {
        const char *name = bark_model_voice_name(m, i);
        printf("%-24s model%s\n", name, bark_voice_store_has(s, name) ? " (a user voice has its name and is used)" : "");
    }
    int rc = 0;
    for (size_t i = 0; i < k; i++) {
        const char *name = bark_voice_store_name(s, i);
        bark_voice_origin r;
        bark_error err = {BARK_OK, ""};
        if (bark_voice_store_origin(s, name, &r, &err)) {
            rc = cli_fail("voices", &err);
            continue;
        }
        if (!r.method[0]) printf("%-24s user   (no record of how it was made)\n", name);
        else if (!strcmp(r.method, "npz-import"))
            printf("%-24s user   npz-import from %s (sha256 %.12s) %s\n", name, r.source, r.source_sha256, r.created);
        else
            printf("%-24s user   %s from %s (sha256 %.12s, %.1f s, kept %.1f s) %s\n", name, r.method, r.source,
                   r.source_sha256, r.source_seconds, r.kept_seconds, r.created);
    }
    if (n + k == 0 && !o->c.quiet)
        fprintf(stderr, "bark voices: %s holds no voices and %s none (`bark voices add NAME RECORDING` makes one)\n",
                cli_model_path(o->c.model), bark_voice_store_dir(s));
    bark_voice_store_close(s);
    bark_model_close(m);
    return rc;
}

static int add(const voices_opts *o, const char *name, const char *source) {
    bark_error err = {BARK_OK, ""};
    if (bark_voice_name_check(name, &err)) return cli_usage_error("voices", "%s", err.msg);
    bark_voice_store *s = open_store(o, 1);
    if (!s) return 1;
    bark_context *ctx = NULL;
    bark_voice v = {0};
    bark_voice_origin origin;
    bark_clone_info info;
    bark_status st = BARK_OK;
    const char *model_path = cli_model_path(o->c.model);
    if (bark_voice_store_has(s, name) && !o->force)
        st = cli_error(&err, BARK_ERR_ARG, "a user voice '%s' exists already in %s (--force replaces it, `bark voices "
                       "rm %s` removes it)", name, bark_voice_store_dir(s), name);
    else if (!(ctx = cli_open_context("voices", o->c.model))) {
        bark_voice_store_close(s);
        return 1;
    } else if (bark_model_has_voice(bark_context_model(ctx), name) && !o->force)
        st = cli_error(&err, BARK_ERR_ARG, "'%s' is a voice of the model file %s (pick another name, or --force to "
                       "have your voice answer to it)", name, model_path);
    else if (bark_voice_is_npz_path(source)) st = bark_voice_from_npz(source, &v, &origin, &err);
    else {
        bark_clone_params p = bark_clone_default_params();
        p.transcript = o->text;
        p.seed = o->c.have_seed ? o->c.seed : (uint64_t)time(NULL);
        p.n_threads = o->c.threads;
        p.hubert_path = cli_hubert_path(o->hubert, model_path);
        st = bark_voice_from_recording(ctx, source, &p, MAX_RECORDING_SECONDS, &v, &origin, &info, &err);
        if (st == BARK_ERR_MISSING && !o->text) {
            char why[sizeof err.msg];
            memcpy(why, err.msg, sizeof why);
            cli_error(&err, st, "no HuBERT weights to clone with (run `models/download.sh hubert`, or give --hubert "
                      "FILE, or --text \"transcript\" for the weaker way): %.300s", why);
        }
    }
    if (!st) st = bark_voice_store_add(s, name, &v, &origin, o->force, &err);
    if (!st && !o->c.quiet) {
        fprintf(stderr, "bark voices: added '%s' to %s: %s from %s", name, bark_voice_store_dir(s), origin.method,
                origin.source);
        if (strcmp(origin.method, "npz-import"))
            fprintf(stderr, " (%.1f s, kept %.1f s)", origin.source_seconds, origin.kept_seconds);
        fprintf(stderr, ", %zu semantic tokens, %zu frames\n", v.n_semantic, v.n_fine);
        if (o->text) fprintf(stderr, "warning: the semantic prompt came from the transcript: the clone keeps less of "
                             "the speaker\n");
        else if (!bark_voice_is_npz_path(source) && info.kept_seconds < 5.0)
            fprintf(stderr, "warning: only %.1f s of sound; clones from less than about 5 s are weak\n",
                    info.kept_seconds);
    }
    bark_voice_free(&v);
    bark_context_free(ctx);
    bark_voice_store_close(s);
    return st ? cli_fail("voices", &err) : 0;
}

static int remove_voice(const voices_opts *o, const char *name) {
    bark_error err = {BARK_OK, ""};
    if (bark_voice_name_check(name, &err)) return cli_usage_error("voices", "%s", err.msg);
    bark_voice_store *s = open_store(o, 0);
    if (!s) return 1;
    bark_status st = bark_voice_store_remove(s, name, &err);
    if (!st && !o->c.quiet) fprintf(stderr, "bark voices: removed '%s' from %s\n", name, bark_voice_store_dir(s));
    bark_voice_store_close(s);
    return st ? cli_fail("voices", &err) : 0;
}

static int export_voice(const voices_opts *o, const char *name) {
    bark_error err = {BARK_OK, ""};
    if (bark_voice_name_check(name, &err)) return cli_usage_error("voices", "%s", err.msg);
    if (!o->c.output) return cli_usage_error("voices", "export: give the file to write with -o FILE.npz");
    if (!bark_voice_is_npz_path(o->c.output)) return cli_usage_error("voices", "export: -o '%s' does not end in .npz", o->c.output);
    bark_voice_store *s = open_store(o, 0);
    if (!s) return 1;
    bark_status st = bark_voice_store_export(s, name, o->c.output, &err);
    bark_voice_store_close(s);
    return st ? cli_fail("voices", &err) : 0;
}

enum { OPT_VOICES_DIR = CLI_LONG_ONLY, OPT_FORCE, OPT_HUBERT, OPT_TEXT };

int cmd_voices(int argc, char **argv) {
    static const struct option longs[] = {
        {"voices-dir", required_argument, NULL, OPT_VOICES_DIR},
        {"force", no_argument, NULL, OPT_FORCE},
        {"hubert", required_argument, NULL, OPT_HUBERT},
        {"text", required_argument, NULL, OPT_TEXT},
        {NULL, 0, NULL, 0}};
    static const cli_spec spec = {"voices", CLI_MODEL | CLI_QUIET | CLI_OUTPUT | CLI_SEED | CLI_THREADS, NULL, longs,
                                  usage};
    voices_opts o;
    memset(&o, 0, sizeof o);
    cli_parser p;
    const char *arg;
    int rc, opt;
    cli_parser_init(&p, &spec, argc, argv, &o.c);
    while ((opt = cli_next(&p, &arg, &rc)) >= 0) {
        if (opt == OPT_VOICES_DIR) o.dir = arg;
        else if (opt == OPT_FORCE) o.force = 1;
        else if (opt == OPT_HUBERT) o.hubert = arg;
        else o.text = arg;
    }
    if (opt != CLI_END) return rc;
    const int k = cli_operands(&p), n = argc - k;
    const char *what = n ? argv[k] : "list";
    const int adding = !strcmp(what, "add");
    if (!adding && (o.force || o.hubert || o.text || o.c.have_seed || o.c.threads))
        return cli_usage_error("voices", "--force, --hubert, --text, -s and -t are for `bark voices add`");
    if (o.c.output && strcmp(what, "export")) return cli_usage_error("voices", "-o is for `bark voices export`");
    if (!strcmp(what, "list") && n <= 1) return list(&o);
    if (adding && n == 3) return add(&o, argv[k + 1], argv[k + 2]);
    if (adding) return cli_usage_error("voices", "usage: bark voices add NAME RECORDING|FILE.npz");
    if ((!strcmp(what, "rm") || !strcmp(what, "remove")) && n == 2) return remove_voice(&o, argv[k + 1]);
    if (!strcmp(what, "export") && n == 2) return export_voice(&o, argv[k + 1]);
    if (!strcmp(what, "rm") || !strcmp(what, "remove") || !strcmp(what, "export"))
        return cli_usage_error("voices", "usage: bark voices %s NAME%s", what, strcmp(what, "export") ? "" : " -o FILE.npz");
    return cli_usage_error("voices", "unknown action '%s' (list, add, rm, export; see bark voices --help)", what);
}
