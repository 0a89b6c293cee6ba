/* cli.h: what the `bark` subcommands share: the command table, model and context opening, error messages. */
#ifndef BARK_CLI_H
#define BARK_CLI_H

#include <stdio.h>

#include "bark.h"

/* Each subcommand: argv[0] is the subcommand name; returns the process exit status. */
int cmd_convert(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_random_model(int argc, char **argv);
int cmd_tokens(int argc, char **argv);
int cmd_decode(int argc, char **argv);
int cmd_clone(int argc, char **argv);
int cmd_voices(int argc, char **argv);
int cmd_encode(int argc, char **argv);
int cmd_say(int argc, char **argv);
/* The generation runner `say` and `tokens` share (cmd_say.c); audio = 0 stops after the codes. */
int cli_run_generation(int argc, char **argv, const char *cmd, int audio);

/* The model path: the -m value if given, else $BARK_MODEL, else models/bark-small.gguf. */
const char *cli_model_path(const char *given);
/* Opens the model or prints why not (with how to get one); returns NULL on failure. */
bark_model *cli_open_model(const char *cmd, const char *given);
/* The same for a context (the model, its tokenizer and the EnCodec decoder). */
bark_context *cli_open_context(const char *cmd, const char *given);
/* Where the environment speaks for the user: BARK_THREADS (when *threads is 0), BARK_ISA and BARK_GEMM. A thread
 * count above the CPUs this process may use is clamped to them with a one-line warning. Returns 0, or 2 after
 * printing why a value is wrong. */
int cli_exec_env(const char *cmd, int *threads, const char **isa, bark_gemm *gemm);

/* ---- `bark decode` and `bark encode`: IN -o OUT [-m MODEL] (cli_args.c) ---- */

typedef struct cli_in_out {
    const char *in, *out, *model;
} cli_in_out;

typedef struct cli_in_out_spec {
    const char *cmd;
    void (*usage)(FILE *f);
    /* the command's own options, offered argv[i] first: returns how many arguments it took (0: not its own), or
     * -1 after printing why a value is bad; may be NULL */
    int (*extra)(void *user, int argc, char **argv, int i);
    void *user;
} cli_in_out_spec;

/* Returns -1 when the command should run with *o, else the exit status (0 after --help, 2 on a usage error). */
int cli_parse_in_out(int argc, char **argv, const cli_in_out_spec *spec, cli_in_out *o);

/* ---- one-line errors (cli_error.c) ---- */

/* Prints "bark <cmd>: <message>" to stderr; returns 1 (the exit status for a failure). */
int cli_fail(const char *cmd, const bark_error *err);
/* Sets err to status st and the formatted one-line message; returns st. */
bark_status cli_error(bark_error *err, bark_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Puts "<name>: " in front of err's message (a library call's error about data that came from file `name`). */
void cli_error_prefix(bark_error *err, const char *name);

#endif
