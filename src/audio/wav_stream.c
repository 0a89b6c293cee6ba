/* wav_stream.c: 16-bit mono WAV onto a file descriptor: streaming header first, real sizes at the end if seekable. */
#include "audio/wav_stream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "core/error.h"
#include "core/staged_file.h"

#define WAV_BLOCK 4096

struct wav_stream {
    int fd;
    off_t start;      /* offset of "RIFF"; -1 when fd cannot seek */
    size_t head_len;  /* bytes before the samples */
    uint64_t bytes;   /* sample bytes written */
    char label[256];
    unsigned char buf[2 * WAV_BLOCK];
};

static void put16(unsigned char *p, unsigned v) { p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8); }
static void put32(unsigned char *p, uint32_t v) { put16(p, v & 0xffff), put16(p + 2, v >> 16); }

static bark_status write_all(wav_stream *w, const unsigned char *p, size_t n, bark_error *err) {
    int e = fd_write_all(w->fd, p, n);
    return e ? bark_fail(err, BARK_ERR_IO, "%s: write failed: %s", w->label, strerror(e)) : BARK_OK;
}

/* An INFO sub-chunk: id, size, the text with its NUL, a pad byte to an even size. Returns its length. */
static size_t info_item(unsigned char *p, const char *id, const char *text) {
    size_t l = strlen(text) + 1, padded = l + (l & 1);
    memcpy(p, id, 4), put32(p + 4, (uint32_t)l);
    memset(p + 8, 0, padded);
    memcpy(p + 8, text, l - 1);
    return 8 + padded;
}

bark_status wav_stream_open(int fd, const char *label, int rate, const char *software, const char *comment,
                            wav_stream **out, bark_error *err) {
    *out = NULL;
    if (strlen(software) > 200 || strlen(comment) > 200 || rate <= 0)
        return bark_fail(err, BARK_ERR_ARG, "%s: metadata too long or invalid rate", label);
    wav_stream *w = calloc(1, sizeof *w);
    if (!w) return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", label);
    w->fd = fd;
    snprintf(w->label, sizeof w->label, "%s", label);
    w->start = lseek(fd, 0, SEEK_CUR);
    unsigned char *h = w->buf;
    size_t info = 4 + info_item(h + 48, "ISFT", software);
    info += info_item(h + 44 + info, "ICMT", comment);
    memcpy(h, "RIFF", 4), put32(h + 4, 0xffffffffu), memcpy(h + 8, "WAVEfmt ", 8);
    put32(h + 16, 16), put16(h + 20, 1), put16(h + 22, 1), put32(h + 24, (uint32_t)rate);
    put32(h + 28, (uint32_t)rate * 2), put16(h + 32, 2), put16(h + 34, 16);
    memcpy(h + 36, "LIST", 4), put32(h + 40, (uint32_t)info), memcpy(h + 44, "INFO", 4);
    unsigned char *d = h + 44 + info;
    memcpy(d, "data", 4), put32(d + 4, 0xffffffffu);
    w->head_len = 44 + info + 8;
    bark_status st = write_all(w, h, w->head_len, err);
    if (st) {
        free(w);
        return st;
    }
    *out = w;
    return BARK_OK;
}

bark_status wav_stream_write(wav_stream *w, const int16_t *x, size_t n, bark_error *err) {
    for (size_t done = 0; done < n;) {
        size_t k = n - done < WAV_BLOCK ? n - done : WAV_BLOCK;
        for (size_t i = 0; i < k; i++) put16(w->buf + 2 * i, (unsigned)(uint16_t)x[done + i]);
        bark_status st = write_all(w, w->buf, 2 * k, err);
        if (st) return st;
        w->bytes += 2 * k, done += k;
    }
    return BARK_OK;
}

bark_status wav_stream_close(wav_stream *w, bark_error *err) {
    if (!w) return BARK_OK;
    bark_status st = BARK_OK;
    if (w->start >= 0 && w->head_len + w->bytes <= 0xffffffffu) {
        unsigned char b[4];
        put32(b, (uint32_t)(w->head_len - 8 + w->bytes));
        int ok = pwrite(w->fd, b, 4, w->start + 4) == 4;
        put32(b, (uint32_t)w->bytes);
        ok = ok && pwrite(w->fd, b, 4, w->start + (off_t)w->head_len - 4) == 4;
        if (!ok) st = bark_fail(err, BARK_ERR_IO, "%s: cannot finish the header: %s", w->label, strerror(errno));
    }
    free(w);
    return st;
}
