/* alsa_shim.c: an LD_PRELOAD library that makes alsa-lib's snd_pcm_writei fail the way a sound card does in the field. */
/*
 * Environment:
 *   BARK_ALSA_FAULT     epipe           the Kth write returns -EPIPE once (an underrun)
 *                       estrpipe        the Kth write returns -ESTRPIPE once (suspended); resume says -EAGAIN twice
 *                                       (resuming), then what the device says
 *                       estrpipe-stuck  the Kth write returns -ESTRPIPE; resume says -EAGAIN for ever
 *                       enodev          the Kth write and every later call return -ENODEV (the USB card unplugged)
 *                       stall           from the Kth write on, the device takes nothing: writes return -EAGAIN and
 *                                       snd_pcm_wait times out (a wedged device or driver)
 *   BARK_ALSA_FAULT_AT  K, 1-based (default 2: after playback started)
 */
#define _GNU_SOURCE
#include <alsa/asoundlib.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long g_writes;
static int g_broken; /* enodev or stall has begun */
static int g_resume_eagain;

static const char *fault(void) {
    const char *f = getenv("BARK_ALSA_FAULT");
    return f ? f : "";
}

static long fault_at(void) {
    const char *k = getenv("BARK_ALSA_FAULT_AT");
    return k ? atol(k) : 2;
}

static void *real(const char *name) { return dlsym(RTLD_NEXT, name); }

snd_pcm_sframes_t snd_pcm_writei(snd_pcm_t *pcm, const void *buf, snd_pcm_uframes_t n) {
    snd_pcm_sframes_t (*next)(snd_pcm_t *, const void *, snd_pcm_uframes_t) = real("snd_pcm_writei");
    const char *f = fault();
    if (g_broken) return !strcmp(f, "stall") ? -EAGAIN : -ENODEV;
    if (++g_writes == fault_at()) {
        if (!strcmp(f, "epipe")) return -EPIPE;
        if (!strcmp(f, "estrpipe")) return g_resume_eagain = 2, -ESTRPIPE;
        if (!strcmp(f, "estrpipe-stuck")) return g_resume_eagain = -1, -ESTRPIPE;
        if (!strcmp(f, "enodev")) return g_broken = 1, -ENODEV;
        if (!strcmp(f, "stall")) return g_broken = 1, -EAGAIN;
    }
    return next(pcm, buf, n);
}

int snd_pcm_resume(snd_pcm_t *pcm) {
    int (*next)(snd_pcm_t *) = real("snd_pcm_resume");
    if (g_resume_eagain < 0) return -EAGAIN;
    if (g_resume_eagain > 0) return g_resume_eagain--, -EAGAIN;
    return next(pcm);
}

int snd_pcm_wait(snd_pcm_t *pcm, int timeout) {
    int (*next)(snd_pcm_t *, int) = real("snd_pcm_wait");
    if (g_broken && !strcmp(fault(), "stall")) {
        struct timespec t = {timeout / 1000, (timeout % 1000) * 1000000L};
        nanosleep(&t, NULL);
        return 0;
    }
    if (g_broken) return -ENODEV;
    return next(pcm, timeout);
}

#define BROKEN_IS_ENODEV(name)                                                                                        \
    int name(snd_pcm_t *pcm) {                                                                                         \
        int (*next)(snd_pcm_t *) = real(#name);                                                                        \
        if (g_broken && !strcmp(fault(), "enodev")) return -ENODEV;                                                    \
        if (g_broken) return -EAGAIN; /* stalled: a drain never ends */                                                \
        return next(pcm);                                                                                              \
    }
BROKEN_IS_ENODEV(snd_pcm_prepare)
BROKEN_IS_ENODEV(snd_pcm_drain)
