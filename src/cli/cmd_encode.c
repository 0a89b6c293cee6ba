/* cmd_encode.c: `bark encode IN -o CODES.npy`: any audio file to EnCodec codes [n_q][T], in bounded memory. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/options.h"

#define BLOCK 4096 /* samples per read */

static void usage(FILE *f) {
    fputs("usage: bark encode IN.wav|.flac|.ogg -o CODES.npy [-b|--bandwidth 1.5|3|6|12|24] [-m MODEL] [-q] [-t N]\n"
          "  writes int32 codes [n_q][T] (6 kbps = 8 codebooks, Bark's fine-token layout; default 6),\n"
          "  frame by frame (a Fortran-order .npy: numpy.load reads it as [n_q][T])\n"
          "  -q: no report line; -t N is accepted as in every command (the encoder runs on one thread)\n",
          f);
}

/* Room for cap frames of n_q codebooks; *codes grows to it when need > *cap. */
static bark_status room(int32_t **codes, size_t *cap, size_t need, int n_q, bark_error *err) {
    if (need <= *cap) return BARK_OK;
    int32_t *p = realloc(*codes, need * (size_t)n_q * sizeof *p);
    if (!p) return cli_error(err, BARK_ERR_NOMEM, "out of memory");
    *codes = p, *cap = need;
    return BARK_OK;
}

static int run(const char *in, const char *outp, double kbps, const char *model_path, int quiet) {
    bark_error err = {BARK_OK, ""};
    bark_context *ctx = cli_open_context("encode", model_path);
    if (!ctx) return 1;
    bark_encoder *e = NULL;
    bark_audio_reader *r = NULL;
    bark_codes_writer *w = NULL;
    int32_t *codes = NULL;
    float *x = NULL;
    int n_q = 0, last = 0;
    size_t n_samples = 0, n_frames = 0, got = 0, frames = 0, cap = 0;
    bark_status st = bark_encoder_create(ctx, kbps, &e, &err);
    if (!st) n_q = bark_encoder_n_q(e);
    if (!st) st = bark_audio_reader_open(in, BARK_SAMPLE_RATE_HZ, &r, &err);
    if (!st && !(x = malloc(BLOCK * sizeof *x))) st = cli_error(&err, BARK_ERR_NOMEM, "out of memory");
    if (!st) st = bark_codes_writer_open(outp, (size_t)n_q, &w, &err);
    const clock_t c0 = clock();
    while (!st && !last) {
        st = bark_audio_reader_read(r, x, BLOCK, &got, &err);
        last = !got;
        if (!st && last && n_samples == 0) st = cli_error(&err, BARK_ERR_FORMAT, "%s: the file holds no samples", in);
        if (!st) st = room(&codes, &cap, bark_encoder_max_frames(e, got), n_q, &err);
        if (!st) st = bark_encoder_push(e, x, got, last, codes, cap, cap, &frames, &err);
        if (!st) st = bark_codes_writer_write(w, codes, cap, frames, &err);
        n_samples += got;
        n_frames += frames;
    }
    if (w) {
        bark_status cst = bark_codes_writer_close(w, st == BARK_OK, &err);
        if (!st) st = cst;
    }
    if (!st && !quiet) {
        int rate = 0, channels = 0;
        bark_audio_reader_format(r, &rate, &channels);
        fprintf(stderr, "bark encode: %s (%d Hz, %d channel%s): %zu samples at %d Hz -> %zu frames x %d codebooks "
                "(%g kbps) in %s, %.2f s CPU\n", in, rate, channels, channels == 1 ? "" : "s", n_samples,
                BARK_SAMPLE_RATE_HZ, n_frames, n_q, kbps, outp, (double)(clock() - c0) / CLOCKS_PER_SEC);
    }
    bark_audio_reader_close(r);
    bark_encoder_free(e);
    bark_context_free(ctx);
    free(codes);
    free(x);
    return st ? cli_fail("encode", &err) : 0;
}

int cmd_encode(int argc, char **argv) {
    static const struct option longs[] = {{"bandwidth", required_argument, NULL, 'b'}, {NULL, 0, NULL, 0}};
    static const cli_spec spec = {"encode", CLI_MODEL | CLI_OUTPUT | CLI_QUIET | CLI_THREADS, "b:", longs, usage};
    cli_parser p;
    cli_common c;
    const char *arg, *in;
    double kbps = 6.0;
    int rc, opt;
    cli_parser_init(&p, &spec, argc, argv, &c);
    while ((opt = cli_next(&p, &arg, &rc)) == 'b')
        if (cli_number("encode", "--bandwidth", arg, 1.5, 0, 24, "1.5, 3, 6, 12 or 24 (kbps)", &kbps)) return 2;
    if (opt != CLI_END) return rc;
    if (cli_in_out("encode", argc, argv, cli_operands(&p), c.output, &in)) return 2;
    return run(in, c.output, kbps, c.model, c.quiet);
}
