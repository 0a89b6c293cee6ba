/* cmd_convert.c: `bark convert SRC... -o OUT.gguf [--type TYPE] [--vocab vocab.txt]`. */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/options.h"

static void usage(FILE *f) {
    fputs("usage: bark convert SRC... -o OUT.gguf [--type q8_0|f16|f32|q4_0|q8_0_attn_f16] [--vocab vocab.txt]\n\n"
          "SRC is any of:\n"
          "  a Hugging Face folder (suno/bark-small, suno/bark): config.json, model.safetensors (or shards, or\n"
          "      pytorch_model.bin), vocab.txt, speaker_embeddings/\n"
          "  Suno's text*.pt, coarse*.pt, fine*.pt      EnCodec's encodec_24khz-*.th\n"
          "  a Suno voice preset .npz (named by its stem: myvoice.npz -> myvoice), or a folder of them (named by\n"
          "      their path inside it: v2/en_speaker_6)\n"
          "  vocab.txt (bert-base-multilingual-cased), if no folder carries one\n\n"
          "  -o, --output FILE   the GGUF file to write (written whole or not at all)\n"
          "      --type TYPE     q8_0 (default), f16 or f32 for the transformer matrices (the token and\n"
          "                      position tables stay f16 unless f32); q4_0: 4-bit transformer blocks, heads\n"
          "                      q8_0 (bark-small 442 MB instead of 570 MB, less exact); q8_0_attn_f16:\n"
          "                      q8_0 with each block's attention input matrix (c_attn) f16, faithful on\n"
          "                      sharply peaked attention, larger (630 MB) and slower (README, numerics)\n"
          "      --vocab FILE    vocab.txt for the text model when the sources lack one\n"
          "  -q, --quiet         (convert prints nothing but errors anyway)\n",
          f);
}

enum { OPT_TYPE = CLI_LONG_ONLY, OPT_VOCAB };

int cmd_convert(int argc, char **argv) {
    static const struct option longs[] = {
        {"type", required_argument, NULL, OPT_TYPE}, {"vocab", required_argument, NULL, OPT_VOCAB}, {NULL, 0, NULL, 0}};
    static const cli_spec spec = {"convert", CLI_OUTPUT | CLI_QUIET, NULL, longs, usage};
    bark_convert_params p = bark_convert_default_params();
    cli_parser ps;
    cli_common c;
    const char *arg;
    int rc, opt;
    cli_parser_init(&ps, &spec, argc, argv, &c);
    while ((opt = cli_next(&ps, &arg, &rc)) >= 0) {
        if (opt == OPT_VOCAB) p.vocab_path = arg;
        else if (cli_weight_type("convert", arg, &p.wtype)) return 2;
    }
    if (opt != CLI_END) return rc;
    const int k = cli_operands(&ps);
    if (k == argc) return cli_usage_error("convert", "no sources given (see bark convert --help)");
    if (!c.output) return cli_usage_error("convert", "give the file to write with -o OUT.gguf");
    bark_error err = {BARK_OK, ""};
    if (bark_convert((const char *const *)argv + k, (size_t)(argc - k), c.output, &p, &err))
        return cli_fail("convert", &err);
    return 0;
}
