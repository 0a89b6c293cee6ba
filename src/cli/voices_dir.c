/* voices_dir.c: where the `bark` commands find the user's voices folder and the HuBERT weights for cloning. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"

const char *cli_voices_dir(const char *given) {
    static char dir[4096];
    if (given && *given) return given;
    const char *env = getenv("BARK_VOICES"), *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    if (env && *env) return env;
    if (xdg && *xdg == '/') snprintf(dir, sizeof dir, "%s/bark/voices", xdg);
    else if (home && *home) snprintf(dir, sizeof dir, "%s/.local/share/bark/voices", home);
    else return NULL;
    return dir;
}

const char *cli_hubert_path(const char *given, const char *model_path) {
    static char beside[4096];
    if (given) return given;
    const char *slash = strrchr(model_path, '/');
    const int dir_len = slash ? (int)(slash - model_path) + 1 : 0;
    struct stat sb;
    if (snprintf(beside, sizeof beside, "%.*shubert.gguf", dir_len, model_path) < (int)sizeof beside &&
        stat(beside, &sb) == 0 && S_ISREG(sb.st_mode))
        return beside;
    return model_path;
}
