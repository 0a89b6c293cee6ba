/* cmd_convert.c: `bark convert SRC... -o OUT.gguf [--type f32|f16|q8_0] [--vocab vocab.txt]`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static void help(FILE *f) {
    fputs("usage: bark convert SRC... -o OUT.gguf [--type f32|f16|q8_0] [--vocab vocab.txt]\n\n"
          "SRC is any of:\n"
          "  a Hugging Face folder (suno/bark-small, suno/bark): config.json, model.safetensors (or shards, or\n"
          "      pytorch_model.bin), vocab.txt, speaker_embeddings/\n"
          "  Suno's text*.pt, coarse*.pt, fine*.pt      EnCodec's encodec_24khz-*.th\n"
          "  a Suno voice preset .npz, or a folder of them (named by path: v2/en_speaker_6)\n"
          "  vocab.txt (bert-base-multilingual-cased), if no folder carries one\n\n"
          "  -o, --output FILE   the GGUF file to write (written whole or not at all)\n"
          "  -t, --type TYPE     q8_0 (default), f16 or f32 for the transformer matrices\n"
          "      --vocab FILE    vocab.txt for the text model when the sources lack one\n",
          f);
}

int cmd_convert(int argc, char **argv) {
    const char **src = calloc((size_t)argc, sizeof *src);
    const char *out = NULL;
    size_t n = 0;
    bark_convert_params p = bark_convert_default_params();
    if (!src) return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            help(stdout);
            free(src);
            return 0;
        } else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && i + 1 < argc) {
            out = argv[++i];
        } else if ((!strcmp(a, "-t") || !strcmp(a, "--type")) && i + 1 < argc) {
            const char *t = argv[++i];
            if (!strcmp(t, "f32")) p.wtype = BARK_WTYPE_F32;
            else if (!strcmp(t, "f16")) p.wtype = BARK_WTYPE_F16;
            else if (!strcmp(t, "q8_0")) p.wtype = BARK_WTYPE_Q8_0;
            else {
                fprintf(stderr, "bark convert: unknown type '%s' (use f32, f16 or q8_0)\n", t);
                free(src);
                return 2;
            }
        } else if (!strcmp(a, "--vocab") && i + 1 < argc) {
            p.vocab_path = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "bark convert: unknown or incomplete option '%s' (see bark convert --help)\n", a);
            free(src);
            return 2;
        } else {
            src[n++] = a;
        }
    }
    if (!n || !out) {
        help(stderr);
        free(src);
        return 2;
    }
    bark_error err = {BARK_OK, ""};
    bark_status st = bark_convert(src, n, out, &p, &err);
    free(src);
    if (st) return cli_fail("convert", &err);
    return 0;
}
