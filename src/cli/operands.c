/* operands.c: option values and operands more than one subcommand checks the same way (--type, IN -o OUT). */
#include <string.h>

#include "cli/cli.h"
#include "cli/options.h"

int cli_weight_type(const char *cmd, const char *s, bark_wtype *out) {
    if (!strcmp(s, "f32")) *out = BARK_WTYPE_F32;
    else if (!strcmp(s, "f16")) *out = BARK_WTYPE_F16;
    else if (!strcmp(s, "q8_0")) *out = BARK_WTYPE_Q8_0;
    else if (!strcmp(s, "q4_0")) *out = BARK_WTYPE_Q4_0;
    else return cli_usage_error(cmd, "--type is f32, f16, q8_0 or q4_0, not '%s'", s);
    return 0;
}

int cli_in_out(const char *cmd, int argc, char **argv, int first, const char *out, const char **in) {
    if (first == argc) return cli_usage_error(cmd, "no input file given (see bark %s --help)", cmd);
    if (first + 1 < argc) return cli_usage_error(cmd, "unexpected argument '%s' (one input file)", argv[first + 1]);
    if (!out) return cli_usage_error(cmd, "give the file to write with -o FILE");
    *in = argv[first];
    return 0;
}
