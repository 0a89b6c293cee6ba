/* sink_alsa.c: the ALSA playback sink: 16-bit mono, starts at half a buffer, recovers underruns and suspends,
 * gives up on a device that takes no audio for ALSA_STALL_MS (non-blocking writes: a wedged card cannot hang us). */
#include "cli/sink.h"

#include <alsa/asoundlib.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "cli/cli.h"

#define ALSA_BUFFER_US 500000 /* half a second of device buffer */
#define ALSA_PERIOD_US 50000
#define ALSA_STALL_MS 5000 /* no frame taken (or no resume) for this long: the device is gone or stuck */

typedef struct alsa_sink {
    snd_pcm_t *pcm;
    char name[128];
} alsa_sink;

/* alsa-lib prints its own diagnostics on stderr; the caller reports one line instead. */
static void quiet_alsa(const char *file, int line, const char *function, int e, const char *fmt, ...) {
    (void)file, (void)line, (void)function, (void)e, (void)fmt;
}

static bark_status alsa_fail(alsa_sink *a, bark_error *err, const char *what, int e) {
    return cli_error(err, BARK_ERR_IO, "ALSA device '%s': %s: %s", a->name, what, snd_strerror(e));
}

/* Hardware and software parameters: S16 mono at rate (resampled by the plug layer if need be). */
static bark_status alsa_setup(alsa_sink *a, int rate, bark_error *err) {
    snd_pcm_hw_params_t *hw;
    snd_pcm_sw_params_t *sw;
    snd_pcm_hw_params_alloca(&hw);
    snd_pcm_sw_params_alloca(&sw);
    unsigned r = (unsigned)rate, buf_us = ALSA_BUFFER_US, per_us = ALSA_PERIOD_US;
    int e, dir = 0;
    if ((e = snd_pcm_hw_params_any(a->pcm, hw)) < 0) return alsa_fail(a, err, "no hardware configuration", e);
    if ((e = snd_pcm_hw_params_set_rate_resample(a->pcm, hw, 1)) < 0 ||
        (e = snd_pcm_hw_params_set_access(a->pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED)) < 0 ||
        (e = snd_pcm_hw_params_set_format(a->pcm, hw, SND_PCM_FORMAT_S16)) < 0 ||
        (e = snd_pcm_hw_params_set_channels(a->pcm, hw, 1)) < 0)
        return alsa_fail(a, err, "does not take 16-bit mono", e);
    if ((e = snd_pcm_hw_params_set_rate_near(a->pcm, hw, &r, &dir)) < 0 || r != (unsigned)rate)
        return cli_error(err, BARK_ERR_UNSUPPORTED, "ALSA device '%s': does not take %d Hz (use plughw: or default)",
                         a->name, rate);
    if ((e = snd_pcm_hw_params_set_buffer_time_near(a->pcm, hw, &buf_us, &dir)) < 0 ||
        (e = snd_pcm_hw_params_set_period_time_near(a->pcm, hw, &per_us, &dir)) < 0 ||
        (e = snd_pcm_hw_params(a->pcm, hw)) < 0)
        return alsa_fail(a, err, "cannot set the buffer", e);
    snd_pcm_uframes_t buffer = 0, period = 0;
    snd_pcm_hw_params_get_buffer_size(hw, &buffer);
    snd_pcm_hw_params_get_period_size(hw, &period, &dir);
    if ((e = snd_pcm_sw_params_current(a->pcm, sw)) < 0 ||
        (e = snd_pcm_sw_params_set_start_threshold(a->pcm, sw, buffer / 2 ? buffer / 2 : 1)) < 0 ||
        (e = snd_pcm_sw_params_set_avail_min(a->pcm, sw, period ? period : 1)) < 0 ||
        (e = snd_pcm_sw_params(a->pcm, sw)) < 0)
        return alsa_fail(a, err, "cannot set the start threshold", e);
    return BARK_OK;
}

static bark_status alsa_open(audio_sink *s, const char *target, int rate, bark_error *err) {
    alsa_sink *a = calloc(1, sizeof *a);
    if (!a) return cli_error(err, BARK_ERR_NOMEM, "ALSA: out of memory");
    snprintf(a->name, sizeof a->name, "%s", target ? target : "default");
    snd_lib_error_set_handler(quiet_alsa);
    int e = snd_pcm_open(&a->pcm, a->name, SND_PCM_STREAM_PLAYBACK, SND_PCM_NONBLOCK);
    if (e < 0) {
        cli_error(err, BARK_ERR_IO, "cannot open the ALSA device '%s': %s (no sound card? write a file with -o)",
                  a->name, snd_strerror(e));
        free(a);
        return BARK_ERR_IO;
    }
    bark_status st = alsa_setup(a, rate, err);
    if (st) {
        snd_pcm_close(a->pcm);
        free(a);
        return st;
    }
    s->impl = a;
    return BARK_OK;
}

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static bark_status alsa_write(audio_sink *s, const float *x, const int16_t *x16, size_t n, bark_error *err) {
    alsa_sink *a = s->impl;
    (void)x;
    long stalled_ms = 0; /* since the device last took a frame */
    while (n > 0) {
        snd_pcm_sframes_t r = snd_pcm_writei(a->pcm, x16, n);
        if (r == -EAGAIN) { /* the buffer is full: wait for room, at most a second at a time */
            if (snd_pcm_wait(a->pcm, 1000) <= 0 && (stalled_ms += 1000) >= ALSA_STALL_MS)
                return cli_error(err, BARK_ERR_IO, "ALSA device '%s': took no audio for %d s (unplugged or stuck?)",
                                 a->name, ALSA_STALL_MS / 1000);
        } else if (r == -EINTR) {
            continue;
        } else if (r == -EPIPE) { /* underrun: the device ran dry; prepare and go on */
            s->underruns++;
            int e = snd_pcm_prepare(a->pcm);
            if (e < 0) return alsa_fail(a, err, "cannot recover from an underrun", e);
        } else if (r == -ESTRPIPE) { /* suspended: resume (for a while), or prepare if the driver cannot */
            int e;
            for (long waited = 0; (e = snd_pcm_resume(a->pcm)) == -EAGAIN && waited < ALSA_STALL_MS; waited += 50)
                sleep_ms(50);
            if (e < 0 && (e = snd_pcm_prepare(a->pcm)) < 0) return alsa_fail(a, err, "cannot resume", e);
        } else if (r < 0) {
            return alsa_fail(a, err, "write failed", (int)r);
        } else { /* a partial write goes on with the rest */
            x16 += r;
            n -= (size_t)r;
            stalled_ms = 0;
        }
    }
    return BARK_OK;
}

/* Plays what is queued to the end: a non-blocking drain, then its state polled for as long as the buffer plays
 * plus the stall limit. */
static bark_status alsa_drain(audio_sink *s, bark_error *err) {
    alsa_sink *a = s->impl;
    int e = snd_pcm_drain(a->pcm);
    for (long waited = 0; e == -EAGAIN && snd_pcm_state(a->pcm) == SND_PCM_STATE_DRAINING; waited += 10) {
        if (waited >= ALSA_BUFFER_US / 1000 + ALSA_STALL_MS)
            return cli_error(err, BARK_ERR_IO, "ALSA device '%s': never finished playing (unplugged or stuck?)",
                             a->name);
        sleep_ms(10);
    }
    if (e == -EPIPE) s->underruns++;
    else if (e < 0 && e != -EAGAIN) return alsa_fail(a, err, "drain failed", e);
    return BARK_OK;
}

static void alsa_drop(audio_sink *s) { snd_pcm_drop(((alsa_sink *)s->impl)->pcm); }

static bark_status alsa_close(audio_sink *s, int keep, bark_error *err) {
    alsa_sink *a = s->impl;
    (void)keep;
    int e = snd_pcm_close(a->pcm);
    bark_status st = e < 0 ? alsa_fail(a, err, "close failed", e) : BARK_OK;
    free(a);
    return st;
}

const audio_sink_ops audio_sink_alsa = {"alsa", alsa_open, alsa_write, alsa_drain, alsa_drop, alsa_close};
