/* cli_args.c: the command line shared by `bark decode` and `bark encode`: IN -o OUT [-m MODEL] [their own options]. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int cli_parse_in_out(int argc, char **argv, const cli_in_out_spec *spec, cli_in_out *o) {
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const int has_value = i + 1 < argc;
        int took = spec->extra ? spec->extra(spec->user, argc, argv, i) : 0;
        if (took < 0) return 2;
        if (took > 0) {
            i += took - 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            spec->usage(stdout);
            return 0;
        } else if (!strcmp(a, "-o") && has_value) {
            o->out = argv[++i];
        } else if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && has_value) {
            o->model = argv[++i];
        } else if (a[0] != '-' && !o->in) {
            o->in = a;
        } else {
            fprintf(stderr, "bark %s: unexpected argument '%s'\n", spec->cmd, a);
            spec->usage(stderr);
            return 2;
        }
    }
    if (!o->in || !o->out) {
        spec->usage(stderr);
        return 2;
    }
    return -1;
}
