/* cmd_voices.c: `bark voices`: lists the voices stored in the model file, one name a line. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int cmd_voices(int argc, char **argv) {
    const char *model = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: bark voices [-m FILE]\n"
                   "Lists the voices stored in the model file, for `bark say --voice NAME`.\n"
                   "  -m, --model FILE   model file (default $BARK_MODEL or models/bark-small.gguf)\n");
            return 0;
        } else if ((!strcmp(argv[i], "-m") || !strcmp(argv[i], "--model")) && i + 1 < argc) {
            model = argv[++i];
        } else {
            fprintf(stderr, "bark voices: unknown argument '%s' (see --help)\n", argv[i]);
            return 2;
        }
    }
    bark_model *m = cli_open_model("voices", model);
    if (!m) return 1;
    size_t n = bark_model_voice_count(m);
    for (size_t i = 0; i < n; i++) printf("%s\n", bark_model_voice_name(m, i));
    if (n == 0) fprintf(stderr, "bark voices: %s holds no voices (a Suno .npz file works with --voice too)\n",
                        cli_model_path(model));
    bark_model_close(m);
    return 0;
}
