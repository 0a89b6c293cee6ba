/* cmd_decode.c: `bark decode CODES.npy -o OUT`: EnCodec codes [n_q][T] to 24 kHz audio, streamed to the file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "formats/source.h"
#include "codec/encodec.h"
#include "core/error.h"

#define CHUNK 75 /* frames per decoder push (one second) */

static void usage(FILE *f) {
    fputs("usage: bark decode CODES.npy -o OUT.wav|.flac|.ogg|.npy [-m MODEL]\n"
          "  CODES.npy: integer array [n_q][T] of EnCodec codes (n_q 2, 4, 8, 16 or 32, e.g. Bark's fine tokens [8][T])\n",
          f);
}

/* Element i of an integer tensor (the dtype was checked by is_int_dtype). */
static int64_t code_at(const src_tensor *t, size_t i) {
    const uint8_t *p = t->data + i * src_dtype_size(t->dtype);
    switch (t->dtype) {
    case SRC_I64: { uint64_t u = 0; for (int b = 7; b >= 0; b--) u = u << 8 | p[b]; return (int64_t)u; }
    case SRC_I32: return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
    case SRC_I16: return (int16_t)(uint16_t)(p[0] | p[1] << 8);
    case SRC_U16: return (uint16_t)(p[0] | p[1] << 8);
    case SRC_I8: return (int8_t)p[0];
    default: return p[0]; /* SRC_U8 */
    }
}

static int is_int_dtype(src_dtype d) {
    return d == SRC_I64 || d == SRC_I32 || d == SRC_I16 || d == SRC_U16 || d == SRC_I8 || d == SRC_U8;
}

/* Checks every code of t [n_q][T] is in 0..size-1 before anything is written. */
static bark_status check_all(const src_tensor *t, size_t n_q, size_t T, int size, const char *path, bark_error *err) {
    for (size_t q = 0; q < n_q; q++)
        for (size_t j = 0; j < T; j++) {
            const int64_t v = code_at(t, q * T + j);
            if (v < 0 || v >= size)
                return bark_fail(err, BARK_ERR_FORMAT, "%s: code %lld at codebook %zu frame %zu is outside 0..%d", path,
                                 (long long)v, q, j, size - 1);
        }
    return BARK_OK;
}

/* Codebook counts of EnCodec's bandwidths 1.5, 3, 6, 12 and 24 kbps. */
static int valid_n_q(size_t n) { return n == 2 || n == 4 || n == 8 || n == 16 || n == 32; }

static int run(const char *in, const char *outp, const char *model_path) {
    bark_error err = {BARK_OK, ""};
    src_set set;
    src_set_init(&set);
    int32_t *codes = NULL;
    float *buf = NULL;
    bark_model *bm = NULL;
    encodec_model em;
    memset(&em, 0, sizeof em);
    encodec_dec_stream *s = NULL;
    bark_audio_writer *w = NULL;
    bark_status st = src_read_npy(&set, in, "codes", &err);
    const src_tensor *t = st ? NULL : src_set_find(&set, "codes");
    size_t n_q = 0, T = 0;
    if (!st && (!t || t->n_dims != 2))
        st = bark_fail(&err, BARK_ERR_FORMAT, "%s: expected a 2-D array of codes [n_q][T], not %d-D", in, t ? t->n_dims : 0);
    if (!st && !is_int_dtype(t->dtype))
        st = bark_fail(&err, BARK_ERR_FORMAT, "%s: codes must be integers, not %s", in, src_dtype_name(t->dtype));
    if (!st) {
        n_q = (size_t)t->shape[0];
        T = (size_t)t->shape[1];
        if (!valid_n_q(n_q))
            st = bark_fail(&err, BARK_ERR_FORMAT, "%s: %zu codebooks in an array [%zu][%zu]: EnCodec codes have 2, 4, 8, "
                           "16 or 32 rows (Bark's fine codes are [8][T])%s", in, n_q, n_q, T,
                           valid_n_q(T) ? "; transposed?" : "");
        else if (T < 1)
            st = bark_fail(&err, BARK_ERR_FORMAT, "%s: the array [%zu][0] holds no frames", in, n_q);
    }
    if (!st && !(bm = cli_open_model("decode", model_path))) {
        src_set_free(&set);
        return 1;
    }
    if (!st) st = encodec_load_part(bm, 0, (int)n_q, &em, &err); /* decoder and n_q codebooks only */
    if (!st && em.hp.n_q < (int)n_q)
        st = bark_fail(&err, BARK_ERR_FORMAT, "%s: %zu codebooks, the model stores %d", in, n_q, em.hp.n_q);
    if (!st) st = check_all(t, n_q, T, em.hp.codebook_size, in, &err);
    if (!st) st = encodec_dec_stream_create(&em, (int)n_q, &s, &err);
    const size_t cap = (size_t)em.hop * (CHUNK + (size_t)em.hp.kernel_size);
    if (!st && (!(buf = malloc(cap * sizeof *buf)) || !(codes = malloc(n_q * CHUNK * sizeof *codes))))
        st = bark_fail(&err, BARK_ERR_NOMEM, "out of memory");
    if (!st) st = bark_audio_writer_open(outp, em.hp.sample_rate, &w, &err);
    const clock_t c0 = clock();
    size_t got = 0;
    for (size_t done = 0; !st && done < T; done += CHUNK) {
        const size_t n = T - done < CHUNK ? T - done : CHUNK;
        for (size_t q = 0; q < n_q; q++)
            for (size_t j = 0; j < n; j++) codes[q * CHUNK + j] = (int32_t)code_at(t, q * T + done + j);
        st = encodec_dec_stream_push(s, codes, CHUNK, n, buf, cap, &got, &err);
        if (!st && got) st = bark_audio_writer_write(w, buf, got, &err);
    }
    if (!st) st = encodec_dec_stream_finish(s, buf, cap, &got, &err);
    if (!st && got) st = bark_audio_writer_write(w, buf, got, &err);
    if (w) {
        bark_status cst = bark_audio_writer_close(w, !st, st ? NULL : &err);
        if (!st) st = cst;
    }
    if (!st)
        fprintf(stderr, "bark decode: %zu frames x %zu codebooks -> %s (%.2f s of audio, %.2f s CPU)\n", T, n_q, outp,
                (double)T * em.hop / em.hp.sample_rate, (double)(clock() - c0) / CLOCKS_PER_SEC);
    encodec_dec_stream_free(s);
    encodec_free(&em);
    bark_model_close(bm);
    free(buf);
    free(codes);
    src_set_free(&set);
    return st ? cli_fail("decode", &err) : 0;
}

int cmd_decode(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *model = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
            out = argv[++i];
        } else if ((!strcmp(argv[i], "-m") || !strcmp(argv[i], "--model")) && i + 1 < argc) {
            model = argv[++i];
        } else if (argv[i][0] != '-' && !in) {
            in = argv[i];
        } else {
            fprintf(stderr, "bark decode: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!in || !out) {
        usage(stderr);
        return 2;
    }
    return run(in, out, model);
}
