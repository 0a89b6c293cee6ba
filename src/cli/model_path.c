/* model_path.c: where the `bark` commands find the model file (-m, $BARK_MODEL, then a search path) and open it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"

#ifndef BARK_DATADIR
#define BARK_DATADIR "/usr/local/share/bark" /* the Makefile passes $(PREFIX)/share/bark */
#endif

#define MODEL_NAME "bark-small.gguf"
#define N_PLACES 3

/* The places searched when neither -m nor $BARK_MODEL names the file, in order. */
static void search_path(char places[N_PLACES][4096]) {
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    snprintf(places[0], sizeof places[0], "models/" MODEL_NAME);
    if (xdg && *xdg == '/') snprintf(places[1], sizeof places[1], "%s/bark/" MODEL_NAME, xdg);
    else if (home && *home) snprintf(places[1], sizeof places[1], "%s/.local/share/bark/" MODEL_NAME, home);
    else places[1][0] = '\0';
    snprintf(places[2], sizeof places[2], "%s/" MODEL_NAME, BARK_DATADIR);
}

const char *cli_datadir(void) { return BARK_DATADIR; }

static int exists(const char *path) {
    struct stat sb;
    return *path && stat(path, &sb) == 0;
}

const char *cli_model_path(const char *given) {
    static char found[4096];
    if (given) return given;
    const char *env = getenv("BARK_MODEL");
    if (env && *env) return env;
    char places[N_PLACES][4096];
    search_path(places);
    int k = 0;
    while (k < N_PLACES - 1 && !exists(places[k])) k++;
    memcpy(found, exists(places[k]) ? places[k] : places[0], sizeof found);
    return found;
}

/* Says where a model was looked for and how to get one when there is none; 0 when the file exists (or another
 * error will say why it cannot be opened). */
static int missing_model(const char *cmd, const char *given) {
    const char *path = cli_model_path(given);
    struct stat sb;
    if (stat(path, &sb) == 0 || errno != ENOENT) return 0;
    if (given || (getenv("BARK_MODEL") && *getenv("BARK_MODEL"))) {
        fprintf(stderr, "bark %s: %s: no such model file%s (`models/download.sh` makes bark-small)\n", cmd, path,
                given ? "" : ", from BARK_MODEL");
        return 1;
    }
    char places[N_PLACES][4096];
    search_path(places);
    fprintf(stderr, "bark %s: no model file at %s%s%s or %s: run `models/download.sh` to fetch and convert "
            "bark-small (about 1.7 GB to download, a 0.6 GB file) and put it in one of them, or pass -m FILE or set "
            "BARK_MODEL\n", cmd, places[0], places[1][0] ? ", " : "", places[1], places[2]);
    return 1;
}

bark_model *cli_open_model(const char *cmd, const char *given) {
    if (missing_model(cmd, given)) return NULL;
    bark_model *m = NULL;
    bark_error err = {BARK_OK, ""};
    const bark_status st = bark_model_open(cli_model_path(given), &m, &err);
    return st ? (cli_fail(cmd, &err), NULL) : m;
}

bark_context *cli_open_context(const char *cmd, const char *given) {
    if (missing_model(cmd, given)) return NULL;
    bark_context *c = NULL;
    bark_error err = {BARK_OK, ""};
    if (bark_context_open(cli_model_path(given), &c, &err)) {
        cli_fail(cmd, &err);
        return NULL;
    }
    return c;
}
