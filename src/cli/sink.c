/* sink.c: the backend-independent half of a sink: sample conversion, counts, first-write time. */
#include "cli/sink.h"

#include <stdlib.h>
#include <time.h>

#include "cli/cli.h"

bark_status audio_sink_open(const audio_sink_ops *ops, const char *target, int rate, audio_sink **out,
                            bark_error *err) {
    *out = NULL;
    if (rate <= 0) return cli_error(err, BARK_ERR_ARG, "%s: invalid sample rate %d", ops->name, rate);
    audio_sink *s = calloc(1, sizeof *s);
    if (!s || !(s->x16 = malloc(AUDIO_SINK_BLOCK * sizeof *s->x16))) {
        free(s);
        return cli_error(err, BARK_ERR_NOMEM, "%s: out of memory", ops->name);
    }
    s->ops = ops, s->rate = rate;
    bark_status st = ops->open(s, target, rate, err);
    if (st) {
        free(s->x16);
        free(s);
        return st;
    }
    *out = s;
    return BARK_OK;
}

bark_status audio_sink_write(audio_sink *s, const float *x, size_t n, bark_error *err) {
    if (n && s->first_write == 0.0) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        s->first_write = (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
    }
    float clipped[AUDIO_SINK_BLOCK];
    for (size_t done = 0; done < n;) {
        size_t k = n - done < AUDIO_SINK_BLOCK ? n - done : AUDIO_SINK_BLOCK;
        bark_audio_to_s16(x + done, k, s->x16);
        for (size_t i = 0; i < k; i++) clipped[i] = (float)s->x16[i] / 32767.0f;
        bark_status st = s->ops->write(s, clipped, s->x16, k, err);
        if (st) return st;
        done += k;
        s->samples += k;
    }
    return BARK_OK;
}

bark_status audio_sink_drain(audio_sink *s, bark_error *err) { return s->ops->drain(s, err); }

void audio_sink_drop(audio_sink *s) { s->ops->drop(s); }

bark_status audio_sink_close(audio_sink *s, int keep, bark_error *err) {
    if (!s) return BARK_OK;
    bark_status st = s->ops->close(s, keep, err);
    free(s->x16);
    free(s);
    return st;
}
