/* options.c: the one option parser of every `bark` subcommand: getopt_long, the shared options, value checks. */
#include "cli/options.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bark.h"
#include "cli/cli.h"

#define VERSION_CODE 255 /* --version: no short letter */

/* The shared options: the CLI_* bit each needs (0: always there). */
static const struct { struct option o; unsigned bit; } common_longs[] = {
    {{"help", no_argument, NULL, 'h'}, 0},
    {{"version", no_argument, NULL, VERSION_CODE}, 0},
    {{"threads", required_argument, NULL, 't'}, CLI_THREADS},
    {{"model", required_argument, NULL, 'm'}, CLI_MODEL},
    {{"quiet", no_argument, NULL, 'q'}, CLI_QUIET},
    {{"seed", required_argument, NULL, 's'}, CLI_SEED},
    {{"output", required_argument, NULL, 'o'}, CLI_OUTPUT},
    {{"output-file", required_argument, NULL, 'o'}, CLI_OUTPUT},
    {{"output_file", required_argument, NULL, 'o'}, CLI_OUTPUT},
    {{"voice", required_argument, NULL, 'v'}, CLI_VOICE},
};
#define N_COMMON (sizeof common_longs / sizeof *common_longs)

/* The bit of a shared option's letter (0: not a shared letter). */
static unsigned common_bit(int code) {
    for (size_t i = 0; i < N_COMMON; i++)
        if (common_longs[i].o.val == code) return common_longs[i].bit;
    return 0;
}

/* The long name of a shared letter ("threads" for 't'). */
static const char *common_name(int code) {
    for (size_t i = 0; i < N_COMMON; i++)
        if (common_longs[i].o.val == code) return common_longs[i].o.name;
    return "?";
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "bark %s: %s\n", cmd, msg);
    return 2;
}

void cli_parser_init(cli_parser *p, const cli_spec *spec, int argc, char **argv, cli_common *c) {
    memset(p, 0, sizeof *p);
    memset(c, 0, sizeof *c);
    p->spec = spec, p->c = c, p->argc = argc, p->argv = argv;
    size_t n = 0;
    for (size_t i = 0; i < N_COMMON; i++) p->longs[n++] = common_longs[i].o;
    for (const struct option *o = spec->longs; o && o->name && n + 1 < CLI_MAX_LONGS; o++) p->longs[n++] = *o;
    snprintf(p->shorts, sizeof p->shorts, ":ht:m:qs:o:v:%s", spec->shorts ? spec->shorts : "");
    optind = 0; /* a fresh scan (glibc) */
    opterr = 0;
}

int cli_operands(const cli_parser *p) { return optind; }

int cli_edit_distance(const char *a, const char *b) {
    int row[64], la = (int)strnlen(a, 63), lb = (int)strnlen(b, 63);
    for (int j = 0; j <= lb; j++) row[j] = j;
    for (int i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = i;
        for (int j = 1; j <= lb; j++) {
            int up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            diag = up, row[j] = best;
        }
    }
    return row[lb];
}

/* Whether this command takes long option i of p->longs. */
static int offered(const cli_parser *p, size_t i) {
    return i >= N_COMMON || !common_longs[i].bit || (p->spec->common & common_longs[i].bit);
}

/* "unknown option '--x' (did you mean --y?)", or the options a prefix could mean. */
static int unknown_long(const cli_parser *p, const char *arg) {
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(arg + 2, "="), arg + 2);
    const char *best = NULL, *matches[3];
    int best_d = 1 << 30, n_match = 0;
    for (size_t i = 0; i < CLI_MAX_LONGS && p->longs[i].name; i++) {
        if (!offered(p, i)) continue;
        const char *cand = p->longs[i].name;
        if (*name && !strncmp(cand, name, strlen(name)) && n_match < 3) matches[n_match++] = cand;
        int d = cli_edit_distance(name, cand);
        if (d < best_d) best_d = d, best = cand;
    }
    const char *cmd = p->spec->cmd;
    if (n_match > 1)
        return cli_usage_error(cmd, "option '--%s' is ambiguous: --%s, --%s%s%s", name, matches[0], matches[1],
                               n_match > 2 ? ", --" : "", n_match > 2 ? matches[2] : "");
    const int len = (int)strlen(name);
    if (best && best_d <= (len < 6 ? 2 : len / 3))
        return cli_usage_error(cmd, "unknown option '--%s' (did you mean --%s? see bark %s --help)", name, best, cmd);
    return cli_usage_error(cmd, "unknown option '--%s' (see bark %s --help)", name, cmd);
}

/* The error of getopt's '?' or ':' as one line. */
static int bad_option(const cli_parser *p, int c) {
    const char *cmd = p->spec->cmd;
    const char *arg = optind > 0 && optind <= p->argc ? p->argv[optind - 1] : "";
    const int is_long = !strncmp(arg, "--", 2);
    if (c == ':') {
        if (is_long) return cli_usage_error(cmd, "option '%.*s' needs a value", (int)strcspn(arg, "="), arg);
        return cli_usage_error(cmd, "option '-%c' needs a value", optopt);
    }
    if (is_long && optopt && strchr(arg, '='))
        return cli_usage_error(cmd, "option '%.*s' takes no value", (int)strcspn(arg, "="), arg);
    if (is_long && !optopt) return unknown_long(p, arg);
    if (optopt > 32 && optopt < 127) return cli_usage_error(cmd, "unknown option '-%c' (see bark %s --help)", optopt, cmd);
    return cli_usage_error(cmd, "unknown option '%s' (see bark %s --help)", arg, cmd);
}

/* A shared option's value into p->c; returns 0 or 2. */
static int take_common(cli_parser *p, int c, const char *v) {
    const char *cmd = p->spec->cmd;
    uint64_t x;
    switch (c) {
    case 't':
        if (cli_whole(cmd, "--threads", v, 1, 1000000, "a whole number from 1", &x)) return 2;
        p->c->threads = (int)x;
        return 0;
    case 's':
        if (cli_whole(cmd, "--seed", v, 0, UINT64_MAX, "a whole number >= 0", &x)) return 2;
        p->c->seed = x, p->c->have_seed = 1;
        return 0;
    case 'm': p->c->model = v; return 0;
    case 'o': p->c->output = v; return 0;
    case 'v': p->c->voice = v; return 0;
    default: p->c->quiet = 1; return 0; /* 'q' */
    }
}

int cli_next(cli_parser *p, const char **arg, int *status) {
    const char *cmd = p->spec->cmd;
    for (;;) {
        int c = getopt_long(p->argc, p->argv, p->shorts, p->longs, NULL);
        *arg = optarg;
        *status = 0;
        if (c == -1) return CLI_END;
        if (c == '?' || c == ':') {
            *status = bad_option(p, c);
            return CLI_EXIT;
        }
        if (c == 'h') {
            p->spec->usage(stdout);
            return CLI_EXIT;
        }
        if (c == VERSION_CODE) {
            printf("bark %s\n", BARK_VERSION);
            return CLI_EXIT;
        }
        unsigned bit = common_bit(c);
        if (!bit) return c;
        if (c == 't' && cli_is_weight_type(optarg)) {
            *status = cli_usage_error(cmd, "-t is the number of threads, not '%s' (the weight type is --type %s)",
                                      optarg, optarg);
            return CLI_EXIT;
        }
        if (!(p->spec->common & bit)) {
            *status = cli_usage_error(cmd, "-%c (--%s) does not apply to `bark %s` (see bark %s --help)", c,
                                      common_name(c), cmd, cmd);
            return CLI_EXIT;
        }
        if ((*status = take_common(p, c, optarg))) return CLI_EXIT;
    }
}

static int range_error(const char *cmd, const char *opt, const char *s, const char *rule) {
    return cli_usage_error(cmd, "%s is %s, not '%s'", opt, rule, s);
}

int cli_number(const char *cmd, const char *opt, const char *s, double lo, int lo_open, double hi, const char *rule,
               double *out) {
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(x) || x < lo || (lo_open && x == lo) || x > hi)
        return range_error(cmd, opt, s, rule);
    *out = x;
    return 0;
}

int cli_whole(const char *cmd, const char *opt, const char *s, uint64_t lo, uint64_t hi, const char *rule,
              uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long x = s[0] >= '0' && s[0] <= '9' ? strtoull(s, &end, 10) : 0;
    if (s[0] < '0' || s[0] > '9' || errno || *end || x < lo || x > hi) return range_error(cmd, opt, s, rule);
    *out = x;
    return 0;
}
