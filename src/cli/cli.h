/* cli.h: what the `bark` subcommands share: the command table, model and context opening, error messages. */
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
int cmd_render(int argc, char **argv);
int cmd_serve(int argc, char **argv);

/* The model path: the -m value if given, else $BARK_MODEL, else the first of models/bark-small.gguf,
 * $XDG_DATA_HOME/bark/ (~/.local/share/bark/) and BARK_DATADIR that holds bark-small.gguf (model_path.c). */
const char *cli_model_path(const char *given);
/* The install prefix's share/bark folder (BARK_DATADIR, from the Makefile's PREFIX): the search path's last place. */
const char *cli_datadir(void);
/* The user's voices folder: the --voices-dir value if given, else $BARK_VOICES, else $XDG_DATA_HOME/bark/voices
 * (~/.local/share/bark/voices); NULL when none can be named (no HOME). voices_dir.c */
const char *cli_voices_dir(const char *given);
/* The HuBERT weights for cloning: the --hubert value if given, else hubert.gguf beside the model file (where
 * `models/download.sh hubert` puts it) if it exists, else the model file itself. voices_dir.c */
const char *cli_hubert_path(const char *given, const char *model_path);
/* Opens the model or prints why not (with how to get one); returns NULL on failure. */
bark_model *cli_open_model(const char *cmd, const char *given);
/* The same for a context (the model, its tokenizer and the EnCodec decoder). */
bark_context *cli_open_context(const char *cmd, const char *given);
/* Where the environment speaks for the user: BARK_THREADS (when *threads is 0), BARK_ISA and BARK_GEMM (isa and
 * gemm may be NULL). A thread
 * count above the CPUs this process may use is clamped to them with a one-line warning. Returns 0, or 2 after
 * printing why a value is wrong. */
int cli_exec_env(const char *cmd, int *threads, const char **isa, bark_gemm *gemm);

/* The --type value of `bark convert` and `bark random-model` into *out; returns 0, or 2 after a one-line error. */
int cli_weight_type(const char *cmd, const char *s, bark_wtype *out);
/* Whether s names a --type value. */
int cli_is_weight_type(const char *s);
/* The single IN operand and the -o of `bark decode` / `bark encode`: 0, or 2 after a one-line error. */
int cli_in_out(const char *cmd, int argc, char **argv, int first, const char *out, const char **in);

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
