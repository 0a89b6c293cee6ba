/* operands.c: option values and operands more than one subcommand checks the same way (--type, IN -o OUT). */
#include <string.h>

#include "cli/cli.h"
#include "cli/options.h"

static const struct { const char *name; bark_wtype type; } wtypes[] = {
    {"f32", BARK_WTYPE_F32}, {"f16", BARK_WTYPE_F16}, {"q8_0", BARK_WTYPE_Q8_0}, {"q4_0", BARK_WTYPE_Q4_0},
    {"q8_0_attn_f16", BARK_WTYPE_Q8_0_ATTN_F16}};

/* The index of s in wtypes, or -1. */
static int wtype_index(const char *s) {
    for (size_t i = 0; i < sizeof wtypes / sizeof *wtypes; i++)
        if (!strcmp(s, wtypes[i].name)) return (int)i;
    return -1;
}

int cli_is_weight_type(const char *s) { return wtype_index(s) >= 0; }

int cli_weight_type(const char *cmd, const char *s, bark_wtype *out) {
    int i = wtype_index(s);
    if (i < 0) return cli_usage_error(cmd, "--type is f32, f16, q8_0, q4_0 or q8_0_attn_f16, not '%s'", s);
    *out = wtypes[i].type;
    return 0;
}

int cli_in_out(const char *cmd, int argc, char **argv, int first, const char *out, const char **in) {
    if (first == argc) return cli_usage_error(cmd, "no input file given (see bark %s --help)", cmd);
    if (first + 1 < argc) return cli_usage_error(cmd, "unexpected argument '%s' (one input file)", argv[first + 1]);
    if (!out) return cli_usage_error(cmd, "give the file to write with -o FILE");
    *in = argv[first];
    return 0;
}
