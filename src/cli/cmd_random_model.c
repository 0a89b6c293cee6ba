/* cmd_random_model.c: `bark random-model -o FILE [--shape bark-small|bark] [--type q8_0] [--seed N]`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int cmd_random_model(int argc, char **argv) {
    const char *out = NULL, *shape = "bark-small", *vocab = NULL, *voices = NULL;
    bark_wtype wt = BARK_WTYPE_Q8_0;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            puts("usage: bark random-model -o FILE [--shape bark-small|bark] [-t q8_0|f16|f32] [--seed N]\n"
                 "                         [--vocab vocab.txt] [--voices DIR]\n"
                 "Random weights at the real shapes (all three GPTs and EnCodec 24 kHz), for benchmarks and tests.");
            return 0;
        }
        if (!v) {
            fprintf(stderr, "bark random-model: '%s' needs a value or is unknown (see --help)\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "-o") || !strcmp(a, "--output")) out = v;
        else if (!strcmp(a, "--shape")) shape = v;
        else if (!strcmp(a, "--seed")) seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--vocab")) vocab = v;
        else if (!strcmp(a, "--voices")) voices = v;
        else if (!strcmp(a, "-t") || !strcmp(a, "--type")) {
            if (!strcmp(v, "f32")) wt = BARK_WTYPE_F32;
            else if (!strcmp(v, "f16")) wt = BARK_WTYPE_F16;
            else if (!strcmp(v, "q8_0")) wt = BARK_WTYPE_Q8_0;
            else {
                fprintf(stderr, "bark random-model: unknown type '%s' (f32, f16 or q8_0)\n", v);
                return 2;
            }
        } else {
            fprintf(stderr, "bark random-model: unknown option '%s' (see --help)\n", a);
            return 2;
        }
    }
    if (!out) {
        fprintf(stderr, "bark random-model: give the output file with -o FILE\n");
        return 2;
    }
    bark_error err = {BARK_OK, ""};
    if (bark_write_random_model(out, shape, wt, seed, vocab, voices, &err)) return cli_fail("random-model", &err);
    return 0;
}
