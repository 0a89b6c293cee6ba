/* cmd_clone.c: `bark clone REF -o VOICE.npz`: a voice prompt from a recording (EnCodec + HuBERT + quantizer). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clone/clone.h"
#include "cli/cli.h"
#include "core/error.h"
#include "generate/generate.h"
#include "core/rng.h"
#include "text/tokenizer.h"

typedef struct clone_opts {
    const char *in, *out, *name, *model, *hubert, *text;
    double max_seconds;
    uint64_t seed;
    int quiet;
} clone_opts;

static void usage(FILE *f) {
    fputs("usage: bark clone REF.wav|.flac|.ogg|... -o VOICE.npz [--name NAME] [-m MODEL] [--hubert FILE]\n"
          "                  [--semantic-from-text \"TRANSCRIPT\"] [--max-seconds S] [--seed N] [-q]\n"
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

/* HuBERT + quantizer from --hubert or the main model; *hm gets a second model file to close, if one was opened. */
static bark_status load_hubert(const clone_opts *o, bark_model *m, bark_model **hm, hubert_model *h, hubq_model *q,
                               bark_error *err) {
    const bark_model *src = m;
    if (o->hubert) {
        bark_status st = bark_model_open(o->hubert, hm, err);
        if (st) return st;
        src = *hm;
    }
    bark_status st = hubert_load(src, h, err);
    if (!st) st = hubq_load(src, q, err);
    return st;
}

/* The weaker fallback: semantic tokens generated from the transcript, as long as the kept audio. */
static bark_status semantic_from_text(const clone_opts *o, const bark_model *m, double seconds, bark_voice *v,
                                      bark_error *err) {
    const char *const *tok;
    const uint32_t *len;
    size_t n = bark_model_vocab(m, &tok, &len), n_text = 0, n_out = 0;
    if (n == 0) return bark_fail(err, BARK_ERR_MISSING, "%s: the model file has no vocabulary", bark_model_path(m));
    bark_tokenizer *t = NULL;
    int32_t ids[256], *out = malloc(BARK_SEMANTIC_MAX_TOKENS * sizeof *out);
    int truncated = 0;
    bark_status st = out ? bark_tokenizer_create(tok, len, n, &t, err) : bark_fail(err, BARK_ERR_NOMEM, "out of memory");
    if (!st) st = bark_text_to_semantic_input(t, o->text, strlen(o->text), ids, &n_text, &truncated, err);
    bark_semantic_params p = bark_semantic_default_params();
    p.max_gen_duration_s = seconds;
    bark_rng rng;
    bark_rng_seed(&rng, o->seed);
    if (!st) st = bark_generate_semantic(m, ids, NULL, &p, &rng, out, &n_out, err);
    if (!st && n_out == 0) st = bark_fail(err, BARK_ERR_ARG, "the semantic model produced no token for the transcript");
    if (!st) {
        v->semantic = out;
        v->n_semantic = n_out;
        out = NULL;
    }
    free(out);
    bark_tokenizer_free(t);
    return st;
}

static int run(const clone_opts *o) {
    bark_error err = {BARK_OK, ""};
    bark_model *m = cli_open_model("clone", o->model), *hm = NULL;
    if (!m) return 1;
    encodec_model em;
    hubert_model h;
    hubq_model q;
    memset(&em, 0, sizeof em);
    memset(&q, 0, sizeof q);
    bark_voice v = {0};
    clone_info info;
    clone_params p = clone_default_params();
    p.max_seconds = o->max_seconds;
    const clock_t c0 = clock();
    bark_status st = BARK_OK;
    if (!o->text) {
        st = load_hubert(o, m, &hm, &h, &q, &err);
        if (st == BARK_ERR_MISSING)
            bark_err_prefix(&err, "no HuBERT weights for the semantic prompt (give --hubert FILE, or "
                            "--semantic-from-text \"transcript\" for the weaker fallback): ");
    }
    if (!st) st = encodec_load_part(m, 1, 8, &em, &err);
    if (!st) st = clone_reference(o->in, &em, o->text ? NULL : &h, o->text ? NULL : &q, &p, &v, &info, &err);
    if (!st && o->text) st = semantic_from_text(o, m, info.kept_seconds, &v, &err);
    if (!st && o->text && v.n_semantic < 2)
        st = bark_fail(&err, BARK_ERR_ARG, "the semantic model made only %zu token(s) for the transcript", v.n_semantic);
    if (!st && o->text) clone_align_prompt(&v);
    char name_out[4096];
    const char *out = o->out;
    if (!out) {
        snprintf(name_out, sizeof name_out, "%s.npz", o->name);
        out = name_out;
    }
    if (!st) st = bark_voice_save_npz(&v, out, &err);
    if (!st && !o->quiet) {
        fprintf(stderr, "bark clone: %s (%d Hz, %d channel%s, %.2f s): kept %.2f s (trimmed %.2f s before, %.2f s "
                "after) -> %zu coarse/fine frames, %zu semantic tokens%s -> %s, %.2f s CPU\n", o->in, info.file_rate,
                info.file_channels, info.file_channels == 1 ? "" : "s", info.file_seconds, info.kept_seconds,
                info.lead_trimmed, info.tail_trimmed, v.n_fine, v.n_semantic,
                o->text ? " (FROM THE TRANSCRIPT: weaker)" : "", out, (double)(clock() - c0) / CLOCKS_PER_SEC);
        if (o->text)
            fprintf(stderr, "warning: the semantic prompt was generated from the transcript, not from the recording; "
                    "the clone keeps less of the speaker (convert HuBERT and the quantizer for the real method)\n");
        if (info.kept_seconds < 5.0)
            fprintf(stderr, "warning: only %.1f s of sound; clones from less than about 5 s are weak (Suno's presets "
                    "hold 3-15 s, most 8-14 s)\n", info.kept_seconds);
        if (info.cut)
            fprintf(stderr, "warning: the recording is longer than a prompt holds; kept its last %.1f s (Bark reads "
                    "at most the last 5.1 s of semantic and 6.8 s of fine prompt)\n", info.kept_seconds);
        if (info.clipped_fraction > 0.001)
            fprintf(stderr, "warning: %.2f%% of the samples are clipped; the clone will copy the distortion\n",
                    100.0 * info.clipped_fraction);
        if (o->name) fprintf(stderr, "embed it in a model file with: bark convert <sources...> %s\n", out);
    }
    bark_voice_free(&v);
    encodec_free(&em);
    hubq_free(&q);
    bark_model_close(hm);
    bark_model_close(m);
    return st ? cli_fail("clone", &err) : 0;
}

int cmd_clone(int argc, char **argv) {
    clone_opts o = {NULL, NULL, NULL, NULL, NULL, NULL, 15.0, 0, 0};
    o.seed = (uint64_t)time(NULL);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            o.quiet = 1;
        } else if (v && !strcmp(a, "-o")) {
            o.out = argv[++i];
        } else if (v && !strcmp(a, "--name")) {
            o.name = argv[++i];
        } else if (v && (!strcmp(a, "-m") || !strcmp(a, "--model"))) {
            o.model = argv[++i];
        } else if (v && !strcmp(a, "--hubert")) {
            o.hubert = argv[++i];
        } else if (v && !strcmp(a, "--semantic-from-text")) {
            o.text = argv[++i];
        } else if (v && !strcmp(a, "--max-seconds")) {
            o.max_seconds = strtod(argv[++i], &end);
            if (*end || end == v || !(o.max_seconds >= 0.5 && o.max_seconds <= 600)) {
                fprintf(stderr, "bark clone: --max-seconds needs a number of seconds in 0.5..600, not '%s'\n", v);
                return 2;
            }
        } else if (v && (!strcmp(a, "-s") || !strcmp(a, "--seed"))) {
            unsigned long long x = strtoull(argv[++i], &end, 10);
            if (*end || end == v || v[0] == '-') {
                fprintf(stderr, "bark clone: the seed is a whole number >= 0\n");
                return 2;
            }
            o.seed = x;
        } else if (a[0] != '-' && !o.in) {
            o.in = a;
        } else {
            fprintf(stderr, "bark clone: unexpected argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!o.in || (!o.out && !o.name)) {
        usage(stderr);
        return 2;
    }
    return run(&o);
}
