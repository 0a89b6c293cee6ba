/* fuzz_audio.c: libFuzzer target for the audio reader (libsndfile virtual I/O, mono mixdown, resampling). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* libsndfile's Ogg/Vorbis reader leaks its vorbis_info on some corrupt streams (inside the library). */
const char *__lsan_default_suppressions(void) { return "leak:vorbis_info_init\n"; }

#define BLOCK 1024
#define MAX_OUT (1u << 20) /* samples read per input at most: keeps each run short */

static volatile float sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* the first byte picks the target rate, so both the plain and the resampling paths run */
    static const int rates[4] = {24000, 16000, 44100, 8000};
    const int rate = size ? rates[data[0] & 3] : 24000;
    bark_audio_reader *r = NULL;
    bark_error err;
    if (bark_audio_reader_open_mem(data, size, "fuzz.wav", rate, &r, &err) != BARK_OK) {
        if (!strstr(err.msg, "fuzz.wav")) abort();
        return 0;
    }
    int file_rate = 0, channels = 0;
    bark_audio_reader_format(r, &file_rate, &channels);
    if (file_rate <= 0 || channels < 1) abort();
    static float buf[BLOCK];
    size_t total = 0, n = 0;
    for (;;) {
        if (bark_audio_reader_read(r, buf, BLOCK, &n, &err) != BARK_OK) {
            if (!strstr(err.msg, "fuzz.wav")) abort();
            break;
        }
        if (n > BLOCK) abort();
        for (size_t i = 0; i < n; i++) sink += buf[i]; /* touch every sample reported */
        if (n == 0 || (total += n) > MAX_OUT) break;
    }
    bark_audio_reader_close(r);
    return 0;
}
