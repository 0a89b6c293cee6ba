/* say.h: what `bark say`, `bark tokens` and `bark render` share: options, one text said, lines, voices, signals. */
#ifndef BARK_CLI_SAY_H
#define BARK_CLI_SAY_H

#include <stdint.h>
#include <stdio.h>

#include "bark.h"
#include "cli/options.h"

/* Everything the command line decides (say_options.c). */
typedef struct say_opts {
    cli_common c;          /* -m -o -v -s -t -q */
    const char *device;    /* say: -D */
    const char *dump;      /* tokens: -d */
    char *text;            /* the operands joined by spaces, or stdin (owned); NULL with --lines */
    bark_synth_params p;   /* sampling, threads, pieces (voice and seed are per text: see say_job) */
    bark_stage last;       /* tokens: the last stage to run */
    int verbose, no_gaps, lines, json, raw;
} say_opts;

/* The sampling options (and the user's voices folder, the style) of every command that synthesizes (long only; a command's own codes start at SAY_OPT_OWN). */
enum {
    SAY_OPT_TEXT_TEMP = CLI_LONG_ONLY, SAY_OPT_WAVE_TEMP, SAY_OPT_FINE_TEMP, SAY_OPT_TOP_K, SAY_OPT_TOP_P,
    SAY_OPT_MIN_EOS, SAY_OPT_MAX_SECONDS, SAY_OPT_GREEDY, SAY_OPT_MAX_PIECE, SAY_OPT_NO_SPLIT, SAY_OPT_VOICES_DIR,
    SAY_OPT_STYLE, SAY_OPT_OWN
};
#define SAY_SAMPLING_LONGS                                                                                          \
    {"text-temp", required_argument, NULL, SAY_OPT_TEXT_TEMP},                                                      \
    {"waveform-temp", required_argument, NULL, SAY_OPT_WAVE_TEMP},                                                  \
    {"fine-temp", required_argument, NULL, SAY_OPT_FINE_TEMP}, {"top-k", required_argument, NULL, SAY_OPT_TOP_K},    \
    {"top-p", required_argument, NULL, SAY_OPT_TOP_P}, {"min-eos-p", required_argument, NULL, SAY_OPT_MIN_EOS},      \
    {"max-seconds", required_argument, NULL, SAY_OPT_MAX_SECONDS}, {"greedy", no_argument, NULL, SAY_OPT_GREEDY},  \
    {"voices-dir", required_argument, NULL, SAY_OPT_VOICES_DIR}, {"style", required_argument, NULL, SAY_OPT_STYLE}
/* How long texts are cut into pieces (not for `bark tokens`, which runs one generation). */
#define SAY_PIECE_LONGS                                                                                             \
    {"max-piece", required_argument, NULL, SAY_OPT_MAX_PIECE}, {"no-split", no_argument, NULL, SAY_OPT_NO_SPLIT}
/* One of those options into p: 0, 2 after a one-line error, or -1 when opt is not one of them. */
int say_take_sampling(const char *cmd, int opt, const char *v, bark_synth_params *p);
/* Their help lines (with pieces: --no-split and --max-piece too). */
void say_sampling_usage(FILE *f, int pieces);

/* Parses `bark say` (audio = 1) or `bark tokens` (0) and reads the text from stdin when it comes from there
 * (not with --lines). Returns -1 to go on, else the exit status (0 after --help, 2 after a one-line error). */
int say_parse(int argc, char **argv, int audio, say_opts *o);

/* One text to say (cmd_say.c). */
typedef struct say_job {
    const char *text, *voice, *output; /* output NULL: the sound card, or stdout with --output-raw */
    uint64_t seed;
    const char *where;                 /* "line 3" in front of its messages, or NULL */
} say_job;

/* Says one text with an open context; returns 0, 1 (a one-line error printed) or 130 (a signal stopped it). */
int say_text(const bark_context *ctx, const say_opts *o, const say_job *job);

/* Fails (one line in err) when `path` cannot be an output file: a folder, or in a folder that cannot be written. */
bark_status say_check_output(const char *path, bark_error *err);

/* `bark say --lines`: each line of stdin said as it arrives (say_lines.c); the exit status. */
int say_lines(const bark_context *ctx, const say_opts *o);

/* One --json line: {"text": ..., "voice": ..., "seed": ..., "output": ...} (say_json.c). */
typedef struct say_item {
    char *text, *voice, *output; /* owned; voice and output may be NULL */
    uint64_t seed;
    int have_seed;
} say_item;
/* Returns 0, or -1 with the reason (one line) in why. */
int say_json_parse(const char *line, say_item *it, char *why, size_t cap);
void say_item_free(say_item *it);

/* ---- the lines of `bark say --lines` and `bark render` (lines.c) ---- */

/* Reads texts one a line. Blank lines are skipped and take no number; every other line takes the next number k
 * (a bad one too), so out.wav -> out-0001.wav, out-0002.wav, ... follows the non-blank lines. */
typedef struct say_line_reader {
    FILE *in;
    const char *cmd;   /* "say" or "render", in front of the message about an over-long line */
    char *buf;
    size_t cap;
    size_t lineno;     /* of the last line returned, from 1 */
    size_t k;          /* its number among the non-blank lines, from 1 */
    int failed;        /* a line was over the limit (reported on stderr and skipped, taking no number) */
} say_line_reader;
/* The next non-blank line, trimmed (valid until the next call); NULL at the end of the input or when reading failed
 * (ferror(r->in), or a signal). */
char *say_line_next(say_line_reader *r);
void say_line_reader_free(say_line_reader *r);

/* Line number k as an item: with json, its members (else the whole line is the text); what the line leaves out comes
 * from the options: the voice -v, the seed -s, the output -o numbered with k (none without -o). Returns 0, or -1 with
 * the reason in why. */
int say_line_item(const char *line, int json, const cli_common *c, size_t k, say_item *it, char *why, size_t cap);

/* A --voice made ready before generating (voice.c): a .npz file, a user voice of p->voices_dir (cli_voices_dir) or
 * a model voice (bark_voice_find) is loaded into *v and set as p->voice_prompt (a short line naming a few model
 * voices when it is absent). */
bark_status say_voice_prepare(const bark_context *ctx, const char *model_path, const char *voice, bark_voice *v,
                              bark_synth_params *p, bark_error *err);

/* Signals that end the process (signals.c): SIGINT, SIGTERM, SIGHUP and SIGQUIT set a flag (no SA_RESTART, so a
 * blocked read returns) and the synthesis stops with a valid file; SIGPIPE is ignored (a write gets EPIPE). */
void say_signals_catch(void);
int say_signalled(void);

#endif
