/* cmd_random_model.c: `bark random-model -o FILE [--shape bark-small|bark] [--type q8_0] [--seed N]`. */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/options.h"

static void usage(FILE *f) {
    fputs("usage: bark random-model -o FILE [--shape bark-small|bark] [--type q8_0|q4_0|f16|f32|q8_0_attn_f16] [-s N]\n"
          "                         --vocab vocab.txt [--voices DIR]   (the vocab is needed: models/bert-base-multilingual-cased)\n"
          "Random weights at the real shapes (all three GPTs and EnCodec 24 kHz), for benchmarks and tests.\n"
          "  -s, --seed N   the weights' seed (default 1)\n",
          f);
}

enum { OPT_TYPE = CLI_LONG_ONLY, OPT_SHAPE, OPT_VOCAB, OPT_VOICES };

int cmd_random_model(int argc, char **argv) {
    static const struct option longs[] = {
        {"type", required_argument, NULL, OPT_TYPE},   {"shape", required_argument, NULL, OPT_SHAPE},
        {"vocab", required_argument, NULL, OPT_VOCAB}, {"voices", required_argument, NULL, OPT_VOICES},
        {NULL, 0, NULL, 0}};
    static const cli_spec spec = {"random-model", CLI_OUTPUT | CLI_QUIET | CLI_SEED, NULL, longs, usage};
    const char *shape = "bark-small", *vocab = NULL, *voices = NULL, *arg;
    bark_wtype wt = BARK_WTYPE_Q8_0;
    cli_parser p;
    cli_common c;
    int rc, opt;
    cli_parser_init(&p, &spec, argc, argv, &c);
    while ((opt = cli_next(&p, &arg, &rc)) >= 0) {
        if (opt == OPT_SHAPE) shape = arg;
        else if (opt == OPT_VOCAB) vocab = arg;
        else if (opt == OPT_VOICES) voices = arg;
        else if (cli_weight_type("random-model", arg, &wt)) return 2;
    }
    if (opt != CLI_END) return rc;
    if (cli_operands(&p) < argc)
        return cli_usage_error("random-model", "unexpected argument '%s'", argv[cli_operands(&p)]);
    if (!c.output) return cli_usage_error("random-model", "give the output file with -o FILE");
    bark_error err = {BARK_OK, ""};
    if (bark_write_random_model(c.output, shape, wt, c.have_seed ? c.seed : 1, vocab, voices, &err))
        return cli_fail("random-model", &err);
    return 0;
}
