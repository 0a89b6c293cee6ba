/* bench_encodec.c: EnCodec 24 kHz decode/encode real-time factors (random weights, 10 s, pools of 1 and 2 threads). */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "codec/encodec.h"
#include "core/threadpool.h"

#define SECONDS 10
#define RATE 24000
#define FRAMES (SECONDS * 75)
#define N_Q 8
#define RUNS 2 /* best of */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "usage: bench_encodec (no arguments)\n");
        return 2;
    }
    bark_error err = {BARK_OK, ""};
    encodec_model m;
    const encodec_hparams hp = encodec_hparams_24khz();
    double t0 = now_s();
    if (encodec_init_random(&m, &hp, 0x0EC0DEC, &err) != BARK_OK) {
        fprintf(stderr, "bench_encodec: %s\n", err.msg);
        return 1;
    }
    fprintf(stderr, "bench_encodec: random EnCodec 24 kHz built in %.2f s\n", now_s() - t0);
    const size_t n = (size_t)SECONDS * RATE;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    int32_t *codes = malloc((size_t)N_Q * FRAMES * sizeof *codes), *back = malloc((size_t)N_Q * FRAMES * sizeof *back);
    if (!x || !y || !codes || !back) {
        fprintf(stderr, "bench_encodec: out of memory\n");
        return 1;
    }
    uint64_t s = 1;
    for (size_t i = 0; i < n; i++) {
        const double t = (double)i / RATE;
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)(0.4 * sin(2 * M_PI * (150.0 + 40.0 * t) * t) + 0.02 * ((double)(s >> 11) / 9007199254740992.0 - 0.5));
    }
    for (size_t i = 0; i < (size_t)N_Q * FRAMES; i++) codes[i] = (int32_t)((i * 2654435761u >> 7) % 1024);
    double rtf[2][2]; /* [decode, encode][threads - 1] */
    bark_status st = BARK_OK;
    openblas_set_num_threads(1); /* the codec does not use OpenBLAS; nothing else may spin meanwhile */
    for (int th = 1; th <= 2 && !st; th++) {
        bark_pool *pool = bark_pool_create(th);
        if (!pool) {
            fprintf(stderr, "bench_encodec: out of memory\n");
            return 1;
        }
        rtf[0][th - 1] = rtf[1][th - 1] = INFINITY;
        for (int r = 0; r < RUNS && !st; r++) {
            t0 = now_s();
            st = encodec_decode_pool(&m, codes, N_Q, FRAMES, y, pool, &err);
            const double td = now_s() - t0;
            if (!st) {
                t0 = now_s();
                st = encodec_encode_pool(&m, x, n, N_Q, back, NULL, NULL, pool, &err);
            }
            const double te = now_s() - t0;
            if (td / SECONDS < rtf[0][th - 1]) rtf[0][th - 1] = td / SECONDS;
            if (te / SECONDS < rtf[1][th - 1]) rtf[1][th - 1] = te / SECONDS;
        }
        bark_pool_free(pool);
    }
    if (st) {
        fprintf(stderr, "bench_encodec: %s\n", err.msg);
        return 1;
    }
    printf("EnCodec 24 kHz (random weights, f32), %d s of audio, %d codebooks; real-time factor = compute time / "
           "audio time (best of %d):\n", SECONDS, N_Q, RUNS);
    printf("encodec_decode_rtf_1t %.4f\nencodec_decode_rtf_2t %.4f\nencodec_encode_rtf_1t %.4f\n"
           "encodec_encode_rtf_2t %.4f\n", rtf[0][0], rtf[0][1], rtf[1][0], rtf[1][1]);
    encodec_free(&m);
    free(x);
    free(y);
    free(codes);
    free(back);
    return 0;
}
