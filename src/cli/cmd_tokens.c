/* cmd_tokens.c: `bark tokens`: a text's semantic, coarse and fine codes, printed (no audio). */
#include "cli/cli.h"

int cmd_tokens(int argc, char **argv) { return cli_run_generation(argc, argv, "tokens", 0); }
