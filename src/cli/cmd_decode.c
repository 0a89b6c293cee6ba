/* cmd_decode.c: `bark decode CODES.npy -o OUT`: EnCodec codes [n_q][T] to 24 kHz audio, streamed to the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audio_file.h"
#include "cli.h"
#include "convert/source.h"
#include "encodec.h"
#include "error.h"

#define CHUNK 75 /* frames per decoder push (one second) */

static void usage(FILE *f) {
    fputs("usage: bark decode CODES.npy -o OUT.wav|.flac|.ogg|.npy [-m MODEL]\n"
          "  CODES.npy: integer array [n_q][T] of EnCodec codes (n_q 1..32, e.g. Bark's fine tokens [8][T])\n",
          f);
}

/* Copies an integer tensor into int32 (rejecting values that do not fit). */
static bark_status to_int32(const src_tensor *t, int32_t *out, size_t n, const char *path, bark_error *err) {
    const size_t es = src_dtype_size(t->dtype);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = t->data + i * es;
        int64_t v;
        switch (t->dtype) {
        case SRC_I64: { uint64_t u = 0; for (int b = 7; b >= 0; b--) u = u << 8 | p[b]; v = (int64_t)u; break; }
        case SRC_I32: { uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; v = (int32_t)u; break; }
        case SRC_I16: v = (int16_t)(uint16_t)(p[0] | p[1] << 8); break;
        case SRC_U16: v = (uint16_t)(p[0] | p[1] << 8); break;
        case SRC_I8: v = (int8_t)p[0]; break;
        case SRC_U8: v = p[0]; break;
        default:
            return bark_fail(err, BARK_ERR_FORMAT, "%s: codes must be integers, not %s", path, src_dtype_name(t->dtype));
        }
        if (v < INT32_MIN || v > INT32_MAX)
            return bark_fail(err, BARK_ERR_FORMAT, "%s: code %lld at index %zu is out of range", path, (long long)v, i);
        out[i] = (int32_t)v;
    }
    return BARK_OK;
}

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
    audio_writer *w = NULL;
    bark_status st = src_read_npy(&set, in, "codes", &err);
    const src_tensor *t = st ? NULL : src_set_find(&set, "codes");
    size_t n_q = 0, T = 0;
    if (!st && (!t || t->n_dims < 1 || t->n_dims > 2 || t->shape[t->n_dims - 1] < 1 || t->shape[0] < 1))
        st = bark_fail(&err, BARK_ERR_FORMAT, "%s: expected a [n_q][T] array of codes with T >= 1", in);
    if (!st) {
        n_q = t->n_dims == 2 ? (size_t)t->shape[0] : 1;
        T = (size_t)t->shape[t->n_dims - 1];
        if (n_q > ENCODEC_MAX_Q) st = bark_fail(&err, BARK_ERR_FORMAT, "%s: %zu codebooks, at most %d", in, n_q, ENCODEC_MAX_Q);
    }
    if (!st && !(codes = malloc(n_q * T * sizeof *codes))) st = bark_fail(&err, BARK_ERR_NOMEM, "%s: out of memory", in);
    if (!st) st = to_int32(t, codes, n_q * T, in, &err);
    if (!st && !(bm = cli_open_model("decode", model_path))) {
        free(codes);
        src_set_free(&set);
        return 1;
    }
    if (!st) st = encodec_load_part(bm, 0, (int)n_q, &em, &err); /* decoder and n_q codebooks only */
    if (!st) st = encodec_check_codes(&em, codes, (int)n_q, T, T, &err);
    if (!st) st = encodec_dec_stream_create(&em, (int)n_q, &s, &err);
    const size_t cap = (size_t)em.hop * (CHUNK + 8);
    if (!st && !(buf = malloc(cap * sizeof *buf))) st = bark_fail(&err, BARK_ERR_NOMEM, "out of memory");
    if (!st) st = audio_writer_open(outp, em.hp.sample_rate, T * (size_t)em.hop, &w, &err);
    const clock_t c0 = clock();
    size_t got = 0;
    for (size_t done = 0; !st && done < T; done += CHUNK) {
        const size_t n = T - done < CHUNK ? T - done : CHUNK;
        st = encodec_dec_stream_push(s, codes + done, T, n, buf, cap, &got, &err);
        if (!st && got) st = audio_writer_write(w, buf, got, &err);
    }
    if (!st) st = encodec_dec_stream_finish(s, buf, cap, &got, &err);
    if (!st && got) st = audio_writer_write(w, buf, got, &err);
    if (w) {
        bark_status cst = audio_writer_close(w, st ? NULL : &err);
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
