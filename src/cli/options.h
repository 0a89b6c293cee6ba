/* options.h: the one option parser of every `bark` subcommand (getopt_long) and the checks of option values. */
#ifndef BARK_CLI_OPTIONS_H
#define BARK_CLI_OPTIONS_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

/* The options every subcommand may share, one meaning per letter (-h, --help and --version are always there). */
enum {
    CLI_THREADS = 1 << 0, /* -t, --threads N */
    CLI_MODEL = 1 << 1,   /* -m, --model FILE */
    CLI_QUIET = 1 << 2,   /* -q, --quiet */
    CLI_SEED = 1 << 3,    /* -s, --seed N */
    CLI_OUTPUT = 1 << 4,  /* -o, --output FILE (also --output-file, --output_file as piper spells it) */
    CLI_VOICE = 1 << 5    /* -v, --voice NAME|FILE */
};

/* Long-only option codes of the subcommands start here (below it: their short letters). */
#define CLI_LONG_ONLY 256

/* What the shared options set. */
typedef struct cli_common {
    const char *model, *output, *voice;
    int threads;   /* 0: not given */
    int quiet, have_seed;
    uint64_t seed;
} cli_common;

/* A subcommand's options. */
typedef struct cli_spec {
    const char *cmd;
    unsigned common;            /* the CLI_* options it takes */
    const char *shorts;         /* its own short options, getopt style ("D:d"); may be NULL */
    const struct option *longs; /* its own long options, ended by a zero entry; may be NULL */
    void (*usage)(FILE *f);
} cli_spec;

#define CLI_MAX_LONGS 48

typedef struct cli_parser {
    const cli_spec *spec;
    cli_common *c;
    int argc;
    char **argv;
    struct option longs[CLI_MAX_LONGS];
    char shorts[64];
} cli_parser;

/* Parsing ends: cli_next returns CLI_END (the operands are argv[cli_operands(p)..argc)) or CLI_EXIT with *status
 * 0 (help or version printed) or 2 (a one-line usage error printed). */
#define CLI_END (-1)
#define CLI_EXIT (-2)

/* Starts parsing argv (argv[0]: the subcommand's name); c is zeroed. */
void cli_parser_init(cli_parser *p, const cli_spec *spec, int argc, char **argv, cli_common *c);
/* The next of the command's own options (its letter or code; its value in *arg), the shared ones handled here. */
int cli_next(cli_parser *p, const char **arg, int *status);
/* The index of the first operand once cli_next returned CLI_END. */
int cli_operands(const cli_parser *p);

/* Prints "bark <cmd>: <message>" (one line) and returns 2, the exit status of a usage error. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* A number in [lo, hi] (lo excluded when lo_open); else prints "<opt> is <rule>, not '<s>'" and returns 2. */
int cli_number(const char *cmd, const char *opt, const char *s, double lo, int lo_open, double hi, const char *rule,
               double *out);
/* A whole number in [lo, hi] (digits only, no sign, no fraction); else the same message and 2. */
int cli_whole(const char *cmd, const char *opt, const char *s, uint64_t lo, uint64_t hi, const char *rule,
              uint64_t *out);

/* The Levenshtein distance between a and b (each cut at 63 bytes). */
int cli_edit_distance(const char *a, const char *b);

#endif
