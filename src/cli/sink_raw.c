/* sink_raw.c: the --output-raw sink: 16-bit little-endian mono samples on stdout, nothing else (piper's raw). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/sink.h"

static bark_status raw_open(audio_sink *s, const char *target, int rate, bark_error *err) { return BARK_OK; }

static bark_status raw_write(audio_sink *s, const float *x, const int16_t *x16, size_t n, bark_error *err) {
    unsigned char b[2 * AUDIO_SINK_BLOCK];
    for (size_t i = 0; i < n; i++) {
        const uint16_t u = (uint16_t)x16[i];
        b[2 * i] = (unsigned char)(u & 0xff), b[2 * i + 1] = (unsigned char)(u >> 8);
    }
    if (fwrite(b, 2, n, stdout) != n)
        return cli_error(err, BARK_ERR_IO, "stdout: cannot write the samples: %s", strerror(errno));
    return BARK_OK;
}

static bark_status raw_drain(audio_sink *s, bark_error *err) {
    if (fflush(stdout)) return cli_error(err, BARK_ERR_IO, "stdout: cannot write the samples: %s", strerror(errno));
    return BARK_OK;
}

static void raw_drop(audio_sink *s) {}

static bark_status raw_close(audio_sink *s, int keep, bark_error *err) { return keep ? raw_drain(s, err) : BARK_OK; }

const audio_sink_ops audio_sink_raw = {"raw", raw_open, raw_write, raw_drain, raw_drop, raw_close};
