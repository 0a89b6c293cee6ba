/* cli.h: what the `bark` subcommands share: the command table, model path lookup, error printing. */
#ifndef BARK_CLI_H
#define BARK_CLI_H

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
/* Prints "bark <cmd>: <message>" to stderr; returns 1 (the exit status for a failure). */
int cli_fail(const char *cmd, const bark_error *err);
/* Opens the model or prints why not (with how to get one); returns NULL on failure. */
bark_model *cli_open_model(const char *cmd, const char *given);
/* The same for a synthesis context (model, tokenizer, EnCodec). */
bark_context *cli_open_context(const char *cmd, const char *given);
/* Fills err with a status and a printf-formatted one-line message; returns the status. */
bark_status cli_error(bark_error *err, bark_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Where the environment speaks for the user: BARK_THREADS (when *threads is 0), BARK_ISA and BARK_GEMM. A thread
 * count above the CPUs this process may use is clamped to them with a one-line warning. Returns 0, or 2 after
 * printing why a value is wrong. */
int cli_exec_env(const char *cmd, int *threads, const char **isa, bark_gemm *gemm);

#endif
