/* speak.c: says a sentence into a WAV file through libbark's public API: speak MODEL OUT.wav "Text" [SEED]. */
#include <stdio.h>
#include <stdlib.h>

#include <bark.h>

/* The file being written and the error of a failed write (which stops the synthesis). */
typedef struct sink {
    bark_audio_writer *w;
    bark_error err;
} sink;

static int on_audio(void *user, const float *pcm, size_t n) {
    sink *s = user;
    return bark_audio_writer_write(s->w, pcm, n, &s->err) != BARK_OK;
}

int main(int argc, char **argv) {
    bark_synth_params p = bark_synth_default_params();
    char *end = NULL;
    if (argc == 5) p.seed = strtoull(argv[4], &end, 10);
    if (argc < 4 || argc > 5 || (end && (end == argv[4] || *end))) {
        fprintf(stderr, "usage: %s MODEL OUT.wav \"Text\" [SEED]\n", argv[0]);
        return 2;
    }
    bark_error err = {0};
    bark_context *ctx = NULL;
    if (bark_context_open(argv[1], &ctx, &err) != BARK_OK) {
        fprintf(stderr, "speak: %s\n", err.msg);
        return 1;
    }
    sink s = {0};
    bark_status st = bark_audio_writer_open(argv[2], BARK_SAMPLE_RATE_HZ, &s.w, &err);
    bark_synth_result r = {0};
    if (st == BARK_OK) {
        p.on_audio = on_audio;
        p.audio_user = &s;
        st = bark_synthesize(ctx, argv[3], &p, &r, &err);
        if (st == BARK_ERR_INTERRUPTED) err = s.err; /* only on_audio stops it here: the write failed */
        bark_error close_err = {0};
        bark_status cst = bark_audio_writer_close(s.w, st == BARK_OK, &close_err); /* a failure removes the file */
        if (st == BARK_OK && cst != BARK_OK) {
            st = cst;
            err = close_err;
        }
    }
    bark_context_free(ctx);
    if (st != BARK_OK) {
        fprintf(stderr, "speak: %s\n", err.msg);
        return 1;
    }
    printf("%s: %.2f s of speech in %.2f s\n", argv[2], r.audio_seconds, r.total_seconds);
    return 0;
}
