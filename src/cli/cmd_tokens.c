/* cmd_tokens.c: `bark tokens`: a text's semantic, coarse and fine codes, printed and dumped as .npy (no audio). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/say.h"

static void print_codes(const char *what, const int32_t *c, size_t rows, size_t n) {
    for (size_t r = 0; r < rows; r++) {
        printf("%s", what);
        if (rows > 1) printf("[%zu]", r);
        printf(":");
        for (size_t t = 0; t < n; t++) printf(" %d", (int)c[r * n + t]);
        printf("\n");
    }
}

/* mkdir -p dir, and the folder must be writable: checked before any generation. */
static bark_status make_dump_dir(const char *dir, bark_error *err) {
    char path[4096];
    const size_t n = strlen(dir);
    if (n >= sizeof path) return cli_error(err, BARK_ERR_ARG, "%.100s...: the dump folder's name is too long", dir);
    memcpy(path, dir, n + 1);
    for (char *s = path + 1;; s++) {
        const char c = *s;
        if (c != '/' && c) continue;
        *s = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return cli_error(err, BARK_ERR_IO, "%.300s: cannot create the dump folder: %s", path, strerror(errno));
        *s = c;
        if (!c) break;
    }
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return cli_error(err, BARK_ERR_IO, "%.300s: not a folder (give --dump a folder)", dir);
    return BARK_OK;
}

/* Writes what `bark tokens --dump DIR` asks for. */
static bark_status dump_codes(const char *dir, const bark_codes *c, bark_error *err) {
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

/* The codes of the whole text as one generation, printed. */
static int run(const say_opts *o) {
    const char *cmd = "tokens";
    bark_error err = {BARK_OK, ""};
    if (o->dump && make_dump_dir(o->dump, &err)) return cli_fail(cmd, &err);
    bark_context *ctx = cli_open_context(cmd, o->c.model);
    if (!ctx) return 1;
    bark_codes codes = {0};
    bark_voice v = {0};
    bark_synth_params p = o->p;
    p.seed = o->c.seed;
    bark_status st = say_voice_prepare(ctx, cli_model_path(o->c.model), o->c.voice, &v, &p, &err);
    if (!st && !o->c.quiet)
        fprintf(stderr, "seed %llu%s\n", (unsigned long long)p.seed, p.greedy ? " (greedy)" : "");
    if (!st) st = bark_text_to_codes(ctx, o->text, &p, o->last, &codes, &err);
    if (!st) {
        print_codes("semantic", codes.semantic, 1, codes.n_semantic);
        if (codes.coarse) print_codes("coarse", codes.coarse, 2, codes.n_frames);
        if (codes.fine) print_codes("fine", codes.fine, 8, codes.n_frames);
        if (o->dump) st = dump_codes(o->dump, &codes, &err);
    }
    if (st) cli_fail(cmd, &err);
    bark_codes_free(&codes);
    bark_voice_free(&v);
    bark_context_free(ctx);
    return st ? 1 : 0;
}

int cmd_tokens(int argc, char **argv) {
    say_opts o;
    int rc = say_parse(argc, argv, 0, &o);
    if (rc < 0) rc = run(&o);
    free(o.text);
    return rc;
}
