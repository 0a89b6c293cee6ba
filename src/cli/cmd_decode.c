/* cmd_decode.c: `bark decode CODES.npy -o OUT`: EnCodec codes [n_q][T] to 24 kHz audio, streamed to the file. */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/options.h"

static void usage(FILE *f) {
    fputs("usage: bark decode CODES.npy -o OUT.wav|.flac|.ogg|.opus|.mp3|.npy [-m MODEL] [-q] [-t N]\n"
          "  CODES.npy: integer array [n_q][T] of EnCodec codes (n_q 2, 4, 8, 16 or 32, e.g. Bark's fine tokens [8][T])\n"
          "  -q: no report line; -t N is accepted as in every command (the decoder runs on one thread)\n",
          f);
}

/* Codebook counts of EnCodec's bandwidths 1.5, 3, 6, 12 and 24 kbps. */
static int valid_n_q(size_t n) { return n == 2 || n == 4 || n == 8 || n == 16 || n == 32; }

/* The output file, opened when the first samples arrive (after every code was checked). */
typedef struct output {
    const char *path;
    bark_audio_writer *w;
    uint64_t samples;
    bark_status st;
    bark_error err;
} output;

static int put_audio(void *user, const float *pcm, size_t n) {
    output *o = user;
    if (!o->w) o->st = bark_audio_writer_open(o->path, BARK_SAMPLE_RATE_HZ, &o->w, &o->err);
    if (!o->st) o->st = bark_audio_writer_write(o->w, pcm, n, &o->err);
    o->samples += o->st ? 0 : n;
    return o->st != BARK_OK;
}

/* Checks the array read from `in` is codes [n_q][T] EnCodec can decode. */
static bark_status check_shape(const char *in, size_t n_q, size_t T, bark_error *err) {
    if (n_q == 0) /* a 1-D array */
        return cli_error(err, BARK_ERR_FORMAT, "%s: expected a 2-D array of codes [n_q][T], not 1-D", in);
    if (!valid_n_q(n_q))
        return cli_error(err, BARK_ERR_FORMAT, "%s: %zu codebooks in an array [%zu][%zu]: EnCodec codes have 2, 4, "
                         "8, 16 or 32 rows (Bark's fine codes are [8][T])%s", in, n_q, n_q, T,
                         valid_n_q(T) ? "; transposed?" : "");
    if (T < 1) return cli_error(err, BARK_ERR_FORMAT, "%s: the array [%zu][0] holds no frames", in, n_q);
    return BARK_OK;
}

static int run(const char *in, const char *outp, const char *model_path, int quiet) {
    bark_error err = {BARK_OK, ""};
    int32_t *codes = NULL;
    size_t n_q = 0, T = 0;
    bark_status st = bark_codes_load_npy(in, &codes, &n_q, &T, &err);
    if (!st) st = check_shape(in, n_q, T, &err);
    bark_context *ctx = NULL;
    if (!st && !(ctx = cli_open_context("decode", model_path))) {
        bark_free(codes);
        return 1;
    }
    output o = {outp, NULL, 0, BARK_OK, {BARK_OK, ""}};
    const clock_t c0 = clock();
    if (!st) st = bark_codes_to_audio(ctx, codes, (int)n_q, T, T, put_audio, &o, &err);
    if (st == BARK_ERR_INTERRUPTED && o.st) st = o.st, err = o.err; /* the file failed */
    else if (st == BARK_ERR_ARG) cli_error_prefix(&err, in); /* the codes themselves: name their file */
    if (!st && !o.w) st = bark_audio_writer_open(outp, BARK_SAMPLE_RATE_HZ, &o.w, &err);
    if (o.w) {
        bark_status cst = bark_audio_writer_close(o.w, !st, st ? NULL : &err);
        if (!st) st = cst;
    }
    if (!st && !quiet)
        fprintf(stderr, "bark decode: %zu frames x %zu codebooks -> %s (%.2f s of audio, %.2f s CPU)\n", T, n_q, outp,
                (double)o.samples / BARK_SAMPLE_RATE_HZ, (double)(clock() - c0) / CLOCKS_PER_SEC);
    bark_context_free(ctx);
    bark_free(codes);
    return st ? cli_fail("decode", &err) : 0;
}

int cmd_decode(int argc, char **argv) {
    static const cli_spec spec = {"decode", CLI_MODEL | CLI_OUTPUT | CLI_QUIET | CLI_THREADS, NULL, NULL, usage};
    cli_parser p;
    cli_common c;
    const char *arg, *in;
    int rc;
    cli_parser_init(&p, &spec, argc, argv, &c);
    if (cli_next(&p, &arg, &rc) != CLI_END) return rc;
    if (cli_in_out("decode", argc, argv, cli_operands(&p), c.output, &in)) return 2;
    return run(in, c.output, c.model, c.quiet);
}
