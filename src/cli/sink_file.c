/* sink_file.c: the file sink: a thin audio_sink over bark_audio_writer (.wav .flac .ogg .opus .mp3 .npy, or - for stdout). */
#include "cli/sink.h"

static bark_status file_open(audio_sink *s, const char *target, int rate, bark_error *err) {
    bark_audio_writer *w = NULL;
    bark_status st = bark_audio_writer_open(target, rate, &w, err);
    if (!st) s->impl = w;
    return st;
}

static bark_status file_write(audio_sink *s, const float *x, const int16_t *x16, size_t n, bark_error *err) {
    return bark_audio_writer_write(s->impl, x, n, err);
}

static bark_status file_drain(audio_sink *s, bark_error *err) { return BARK_OK; }

static void file_drop(audio_sink *s) {}

static bark_status file_close(audio_sink *s, int keep, bark_error *err) {
    return bark_audio_writer_close(s->impl, keep, err);
}

const audio_sink_ops audio_sink_file = {"file", file_open, file_write, file_drain, file_drop, file_close};
