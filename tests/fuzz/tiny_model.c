/* tiny_model.c: the tiny test model converted and opened once, and the server state around it, for the fuzz targets
 * of the service's parsers. */
#include "tiny_model.h"

#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

bark_context *fuzz_tiny_context(const char *who) {
    char path[] = "/tmp/fuzz_model_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) abort();
    close(fd);
    const char *src[] = {"tests/data/tiny/hf"};
    bark_convert_params p = bark_convert_default_params();
    bark_context *ctx;
    bark_error err;
    if (bark_convert(src, 1, path, &p, &err) || bark_context_open(path, &ctx, &err)) {
        fprintf(stderr, "%s: %s (run from the repository's root)\n", who, err.msg);
        unlink(path);
        abort();
    }
    unlink(path); /* mapped: the name is not needed any more */
    return ctx;
}

/* dir/name: frames of a saw wave at rate Hz as a 16-bit WAV. */
static void write_chime(const char *dir, const char *name, int rate, int frames) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    SF_INFO info = {.samplerate = rate, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    if (!f) abort();
    for (int i = 0; i < frames; i++) {
        const short v = (short)((i * 997) % 2000 - 1000);
        if (sf_write_short(f, &v, 1) != 1) abort();
    }
    sf_close(f);
}

void fuzz_tiny_server(serve *s, const char *who) {
    static char dir[] = "/tmp/fuzz_chimes_XXXXXX"; /* left behind: a fuzz run ends by exit; a few KB */
    if (!mkdtemp(dir)) abort();
    write_chime(dir, "ding.wav", 24000, 2400);
    write_chime(dir, "gong.wav", 44100, 4410);
    char note[600];
    snprintf(note, sizeof note, "%s/readme.txt", dir);
    FILE *f = fopen(note, "w");
    if (!f || fputs("not a sound\n", f) < 0 || fclose(f)) abort();
    srv_json_hooks();
    s->ctx = fuzz_tiny_context(who);
    s->cfg.chimes = dir;
    bark_error err = {BARK_OK, ""};
    if (srv_announcer_open(s, &err)) {
        fprintf(stderr, "%s: %s\n", who, err.msg);
        abort();
    }
}
