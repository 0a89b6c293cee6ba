/* cmd_encode.c: `bark encode IN -o CODES.npy`: any audio file to EnCodec codes [n_q][T], in bounded memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "codec/encodec.h"
#include "core/error.h"

#define BLOCK 4096 /* samples per read */

static void usage(FILE *f) {
    fputs("usage: bark encode IN.wav|.flac|.ogg -o CODES.npy [--bandwidth 1.5|3|6|12|24] [-m MODEL]\n"
          "  writes int32 codes [n_q][T] (6 kbps = 8 codebooks, Bark's fine-token layout; default 6),\n"
          "  frame by frame (a Fortran-order .npy: numpy.load reads it as [n_q][T])\n",
          f);
}

static int run(const char *in, const char *outp, double kbps, const char *model_path) {
    bark_error err = {BARK_OK, ""};
    bark_model *bm = cli_open_model("encode", model_path);
    if (!bm) return 1;
    encodec_model em;
    memset(&em, 0, sizeof em);
    encodec_enc_stream *s = NULL;
    bark_audio_reader *r = NULL;
    bark_codes_writer *w = NULL;
    int32_t *chunk = NULL;
    float *x = NULL;
    int n_q = 0;
    size_t n_samples = 0, n_frames = 0, got = 0, frames = 0, cap = 0;
    bark_status st = encodec_load(bm, &em, &err);
    if (!st && !(n_q = encodec_n_q_for_bandwidth(&em, kbps)))
        st = bark_fail(&err, BARK_ERR_ARG, "bandwidth %g kbps is not available (1.5, 3, 6, 12 or 24, using at most "
                       "the %d codebooks of the model)", kbps, em.hp.n_q);
    if (!st) st = encodec_enc_stream_create(&em, n_q, &s, &err);
    if (!st) st = bark_audio_reader_open(in, em.hp.sample_rate, &r, &err);
    if (!st) {
        cap = BLOCK / (size_t)em.hop + 2; /* frames one push of BLOCK samples (or the finish) can produce */
        chunk = malloc((size_t)n_q * cap * sizeof *chunk);
        x = malloc(BLOCK * sizeof *x);
        if (!chunk || !x) st = bark_fail(&err, BARK_ERR_NOMEM, "out of memory");
    }
    if (!st) st = bark_codes_writer_open(outp, (size_t)n_q, &w, &err);
    const clock_t c0 = clock();
    while (!st) {
        st = bark_audio_reader_read(r, x, BLOCK, &got, &err);
        if (st || got == 0) break;
        n_samples += got;
        st = encodec_enc_stream_push(s, x, got, chunk, NULL, cap, cap, &frames, &err);
        if (!st) st = bark_codes_writer_write(w, chunk, cap, frames, &err);
        n_frames += frames;
    }
    if (!st && n_samples == 0) st = bark_fail(&err, BARK_ERR_FORMAT, "%s: the file holds no samples", in);
    if (!st) st = encodec_enc_stream_finish(s, chunk, NULL, cap, cap, &frames, &err);
    if (!st) st = bark_codes_writer_write(w, chunk, cap, frames, &err);
    n_frames += st ? 0 : frames;
    if (w) {
        bark_status cst = bark_codes_writer_close(w, st == BARK_OK, &err);
        if (!st) st = cst;
    }
    if (!st) {
        int rate = 0, channels = 0;
        bark_audio_reader_format(r, &rate, &channels);
        fprintf(stderr, "bark encode: %s (%d Hz, %d channel%s): %zu samples at %d Hz -> %zu frames x %d codebooks "
                "(%g kbps) in %s, %.2f s CPU\n", in, rate, channels, channels == 1 ? "" : "s", n_samples,
                em.hp.sample_rate, n_frames, n_q, kbps, outp, (double)(clock() - c0) / CLOCKS_PER_SEC);
    }
    bark_audio_reader_close(r);
    encodec_enc_stream_free(s);
    encodec_free(&em);
    bark_model_close(bm);
    free(chunk);
    free(x);
    return st ? cli_fail("encode", &err) : 0;
}

int cmd_encode(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *model = NULL;
    double kbps = 6.0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
            out = argv[++i];
        } else if ((!strcmp(argv[i], "-m") || !strcmp(argv[i], "--model")) && i + 1 < argc) {
            model = argv[++i];
        } else if ((!strcmp(argv[i], "-b") || !strcmp(argv[i], "--bandwidth")) && i + 1 < argc) {
            char *end;
            kbps = strtod(argv[++i], &end);
            if (*end || end == argv[i]) {
                fprintf(stderr, "bark encode: --bandwidth needs a number, not '%s'\n", argv[i]);
                return 2;
            }
        } else if (argv[i][0] != '-' && !in) {
            in = argv[i];
        } else {
            fprintf(stderr, "bark encode: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!in || !out) {
        usage(stderr);
        return 2;
    }
    return run(in, out, kbps, model);
}
