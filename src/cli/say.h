/* say.h: what `bark say` and `bark tokens` share: their options, one text said, the --lines loop, voices, signals. */
#ifndef BARK_CLI_SAY_H
#define BARK_CLI_SAY_H

#include <stdint.h>

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

/* A --voice made ready before generating (voice.c): a .npz file is loaded into *v and set as p->voice_prompt, a
 * name is checked against the model's voices and set as p->voice (a short line naming a few when it is absent). */
bark_status say_voice_prepare(const bark_context *ctx, const char *model_path, const char *voice, bark_voice *v,
                              bark_synth_params *p, bark_error *err);

/* Signals that end the process (signals.c): SIGINT, SIGTERM, SIGHUP and SIGQUIT set a flag (no SA_RESTART, so a
 * blocked read returns) and the synthesis stops with a valid file; SIGPIPE is ignored (a write gets EPIPE). */
void say_signals_catch(void);
int say_signalled(void);

#endif
