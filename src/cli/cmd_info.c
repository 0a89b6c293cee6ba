/* cmd_info.c: `bark info [FILE]`: hyper-parameters, tensor table, total size and voices of a model file. */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/options.h"

static void print_stage(const bark_model *m, bark_stage s) {
    bark_gpt_hparams hp;
    bark_error err;
    if (!bark_model_has_stage(m, s)) {
        printf("%-9s absent\n", bark_stage_name(s));
        return;
    }
    if (s == BARK_STAGE_CODEC) {
        printf("%-9s EnCodec 24 kHz\n", bark_stage_name(s));
        return;
    }
    if (bark_model_gpt_hparams(m, s, &hp, &err)) return;
    printf("%-9s layers %d, heads %d, width %d, context %d, vocab in %d / out %d%s", bark_stage_name(s), hp.n_layer,
           hp.n_head, hp.n_embd, hp.block_size, hp.input_vocab, hp.output_vocab, hp.has_bias ? ", biases" : "");
    if (s == BARK_STAGE_FINE) printf(", codebooks %d (given %d)", hp.n_codes_total, hp.n_codes_given);
    printf("\n");
}

static void usage(FILE *f) {
    fputs("usage: bark info [FILE] [-m FILE] [--no-tensors]\n"
          "  FILE (or -m FILE) defaults to the model bark say finds (see bark say --help)\n",
          f);
}

int cmd_info(int argc, char **argv) {
    static const struct option longs[] = {{"no-tensors", no_argument, NULL, CLI_LONG_ONLY}, {NULL, 0, NULL, 0}};
    static const cli_spec spec = {"info", CLI_MODEL | CLI_QUIET, NULL, longs, usage};
    cli_parser p;
    cli_common c;
    const char *arg;
    int quiet_tensors = 0, rc, opt;
    cli_parser_init(&p, &spec, argc, argv, &c);
    while ((opt = cli_next(&p, &arg, &rc)) == CLI_LONG_ONLY) quiet_tensors = 1;
    if (opt != CLI_END) return rc;
    const char *path = c.model;
    int k = cli_operands(&p);
    if (k < argc) path = argv[k++];
    if (k < argc) return cli_usage_error("info", "unexpected argument '%s' (one model file at most)", argv[k]);
    bark_model *m = cli_open_model("info", path);
    if (!m) return 1;
    printf("file      %s (%.1f MB)\n", cli_model_path(path), bark_model_file_size(m) / 1e6);
    for (int s = 0; s < BARK_STAGE_COUNT; s++) print_stage(m, (bark_stage)s);
    size_t total = 0, n = bark_model_tensor_count(m);
    if (!quiet_tensors) printf("\n%-48s %-5s %-24s %12s\n", "tensor", "type", "shape (ne0, ne1, ...)", "bytes");
    for (size_t i = 0; i < n; i++) {
        bark_tensor_info ti;
        if (bark_model_tensor_info(m, i, &ti)) continue;
        total += ti.nbytes;
        if (quiet_tensors) continue;
        char shape[64];
        int o = 0;
        for (int d = 0; d < ti.n_dims && o < (int)sizeof shape; d++)
            o += snprintf(shape + o, sizeof shape - (size_t)o, d ? ", %lld" : "%lld", (long long)ti.ne[d]);
        printf("%-48s %-5s %-24s %12zu\n", ti.name, ti.type, shape, ti.nbytes);
    }
    printf("\n%zu tensors, %.1f MB of tensor data\n", n, total / 1e6);
    size_t nv = bark_model_voice_count(m);
    printf("%zu voices%s", nv, nv ? ":" : "\n");
    for (size_t i = 0; i < nv; i++) printf("%s%s", i % 8 ? " " : "\n  ", bark_model_voice_name(m, i));
    if (nv) printf("\n");
    bark_model_close(m);
    return 0;
}
