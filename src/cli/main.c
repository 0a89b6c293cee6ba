/* main.c: the `bark` command line: dispatches to one subcommand per file in src/cli/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} command;

static const command commands[] = {
    {"say", cmd_say, "speak a text on ALSA as it is generated (or into .wav/.flac/.ogg/- with -o)"},
    {"voices", cmd_voices, "list the voices stored in the model file"},
    {"clone", cmd_clone, "make a voice prompt (.npz) from a recording (EnCodec + HuBERT)"},
    {"tokens", cmd_tokens, "print a text's semantic, coarse and fine codes"},
    {"decode", cmd_decode, "decode EnCodec codes (.npy [n_q][T]) to WAV/FLAC/OGG/.npy audio"},
    {"encode", cmd_encode, "encode an audio file to EnCodec codes (.npy) at 1.5-24 kbps"},
    {"convert", cmd_convert, "convert Bark / EnCodec checkpoints and voices into one GGUF model file"},
    {"info", cmd_info, "print a model file's hyper-parameters, tensors and voices"},
    {"random-model", cmd_random_model, "write a random-weight model at the real bark-small / bark shapes"},
};

static void usage(FILE *f) {
    fprintf(f, "bark %s: Bark text-to-speech on the CPU\n\nusage: bark <command> [options]   (bark <command> --help)\n\n",
            BARK_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-13s %s\n", commands[i].name, commands[i].help);
}

const char *cli_model_path(const char *given) {
    if (given) return given;
    const char *env = getenv("BARK_MODEL");
    return env && *env ? env : "models/bark-small.gguf";
}

bark_model *cli_open_model(const char *cmd, const char *given) {
    bark_model *m = NULL;
    bark_error err = {BARK_OK, ""};
    const bark_status st = bark_model_open(cli_model_path(given), &m, &err);
    return st ? (cli_fail(cmd, &err), NULL) : m;
}

bark_context *cli_open_context(const char *cmd, const char *given) {
    bark_context *ctx = NULL;
    bark_error err = {BARK_OK, ""};
    const bark_status st = bark_context_open(cli_model_path(given), &ctx, &err);
    return st ? (cli_fail(cmd, &err), NULL) : ctx;
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("bark %s\n", BARK_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "bark: unknown command '%s' (run `bark --help` for the list)\n", argv[1]);
    return 2;
}
