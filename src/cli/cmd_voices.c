/* cmd_voices.c: `bark voices`: lists the voices stored in the model file, one name a line. */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/options.h"

static void usage(FILE *f) {
    fputs("usage: bark voices [-m FILE] [-q]\n"
          "Lists the voices stored in the model file, for `bark say --voice NAME`.\n"
          "  -m, --model FILE   model file (default: see bark say --help)\n"
          "  -q, --quiet        no message when the file holds no voices\n",
          f);
}

int cmd_voices(int argc, char **argv) {
    static const cli_spec spec = {"voices", CLI_MODEL | CLI_QUIET, NULL, NULL, usage};
    cli_parser p;
    cli_common c;
    const char *arg;
    int rc;
    cli_parser_init(&p, &spec, argc, argv, &c);
    if (cli_next(&p, &arg, &rc) != CLI_END) return rc;
    if (cli_operands(&p) < argc) return cli_usage_error("voices", "unexpected argument '%s'", argv[cli_operands(&p)]);
    bark_model *m = cli_open_model("voices", c.model);
    if (!m) return 1;
    size_t n = bark_model_voice_count(m);
    for (size_t i = 0; i < n; i++) printf("%s\n", bark_model_voice_name(m, i));
    if (n == 0 && !c.quiet)
        fprintf(stderr, "bark voices: %s holds no voices (a Suno .npz file works with --voice too)\n",
                cli_model_path(c.model));
    bark_model_close(m);
    return 0;
}
