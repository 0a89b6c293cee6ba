/* testutil.h: helpers shared by the cmocka suites: temporary folders, files, running the CLI. */
#ifndef BARK_TESTUTIL_H
#define BARK_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Makes a fresh temporary folder (removed by tu_rmtree); returns a static-lifetime copy of its path. */
char *tu_tmpdir(void);
void tu_rmtree(const char *path);
/* Reads a whole file into a malloc'd buffer; NULL if it cannot. */
uint8_t *tu_read_file(const char *path, size_t *len);
int tu_write_file(const char *path, const void *data, size_t len);
int tu_exists(const char *path);
/* Entries of a folder, "." and ".." aside; -1 when it cannot be listed. */
int tu_count_entries(const char *dir);
/* The 16-bit samples of a sound file (libsndfile), *n of them; NULL if it is not a valid one. */
int16_t *tu_read_s16(const char *path, size_t *n);
/* Runs a shell command, capturing stderr+stdout into out (NUL-terminated); returns the exit status. */
int tu_run(const char *cmd, char *out, size_t cap);
/* Converts the tiny test model (tests/data/tiny/hf) to `path` with weight type `type` (f32, f16, q8_0) through the
 * CLI; returns the exit status, the CLI's output in out. */
int tu_convert_tiny(const char *path, const char *type, char *out, size_t cap);
/* The `bark` binary of the build under test: $BUILD/bark (tests/run.sh sets BUILD), else build/bark. */
const char *tu_bark(void);
/* max |a - b| over n floats (NaN counts as infinite); *snr (if given) gets b's SNR against a in dB. */
double tu_max_err(const float *a, const float *b, size_t n, double *snr);
/* Seconds on the monotonic clock. */
double tu_now(void);
/* Counts the lines of s. */
int tu_lines(const char *s);

/* Samples an on_audio callback collects (tu_collect, user = a tu_pcm; free x when done). */
typedef struct tu_pcm {
    float *x;
    size_t n, cap;
} tu_pcm;
int tu_collect(void *user, const float *x, size_t n);

#endif
