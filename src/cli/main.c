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
    {"say", cmd_say, "speak a text on ALSA as it is generated (or into .wav/.flac/.ogg/.opus/.mp3/- with -o)"},
    {"render", cmd_render, "pre-render many texts (one a line, or JSON lines) into files, several at once"},
    {"serve", cmd_serve, "an HTTP text-to-speech service: OpenAI's /v1/audio/speech, voices, health, metrics"},
    {"voices", cmd_voices, "list the model's voices and the user's; add, rm, export user voices"},
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

int cli_exec_env(const char *cmd, int *threads, const char **isa, bark_gemm *gemm) {
    const char *t = getenv("BARK_THREADS"), *i = getenv("BARK_ISA"), *g = getenv("BARK_GEMM");
    if (!*threads && t && *t) {
        char *end;
        long n = strtol(t, &end, 10);
        if (*end || n < 0) {
            fprintf(stderr, "bark %s: BARK_THREADS is a whole number >= 0 (0: every CPU), not '%s'\n", cmd, t);
            return 2;
        }
        *threads = n > 1000000 ? 1000000 : (int)n;
    }
    int cpus = bark_cpu_count();
    if (*threads > cpus) {
        fprintf(stderr, "bark %s: warning: %d threads asked for, but this process may run on %d CPU%s: using %d\n",
                cmd, *threads, cpus, cpus == 1 ? "" : "s", cpus);
        *threads = cpus;
    }
    if (isa && i && *i) *isa = i;
    if (gemm && g && *g) {
        if (!strcmp(g, "int8")) *gemm = BARK_GEMM_INT8;
        else if (!strcmp(g, "sgemm")) *gemm = BARK_GEMM_SGEMM;
        else if (strcmp(g, "auto")) {
            fprintf(stderr, "bark %s: BARK_GEMM is int8, sgemm or auto, not '%s'\n", cmd, g);
            return 2;
        }
    }
    return 0;
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
