/* stream.c: one speech synthesis on a thread of its own through the shared engine, its bytes (WAV and PCM as they are
 * made; FLAC, MP3 and Opus as a whole file at the end) passed through a bounded buffer to the HTTP response. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "serve/srv.h"

#define STREAM_MAX (1 << 20) /* bytes a synthesis runs ahead of its client before it waits */
#define BLOCK 4096           /* samples converted at a time */
#define POLL_MS 100          /* how often a waiting side looks for a client gone or a stop */

struct srv_job {
    serve *s;
    srv_speech_req req;
    int fd, slot, refs;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned char *buf;
    size_t head, len, cap; /* the bytes not sent yet: buf[head .. head + len) */
    int audio_started, done;
    atomic_int gone;       /* the client went away: the synthesis stops */
    bark_status st;
    bark_error err;
    double t0, last_read;  /* admitted; the client's last read of the buffer (srv_now) */
    uint64_t samples;
    bark_audio_writer *file;  /* FLAC, MP3 or Opus: the temporary file sent whole when it is complete */
    char file_path[4200];
    bark_audio_writer *cache; /* a request with a seed, on a server with a cache: its cache file (FLAC) */
    int store;                /* the request is cached (cleared when its cache file fails: only the cache's loss) */
};

void srv_job_release(srv_job *j) {
    pthread_mutex_lock(&j->mu);
    const int last = --j->refs == 0;
    pthread_mutex_unlock(&j->mu);
    if (!last) return;
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    free(j->req.text);
    free(j->req.voice);
    free(j->buf);
    free(j);
}

static int stopped(srv_job *j) { return atomic_load(&j->gone) || atomic_load(&j->s->stopping); }

/* Waits on the job's condition for at most POLL_MS (j->mu held); 1 when the time ran out. */
static int wait_a_little(srv_job *j) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += POLL_MS * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    return pthread_cond_timedwait(&j->cv, &j->mu, &ts) == ETIMEDOUT;
}

/* Appends n bytes for the client, waiting while it is STREAM_MAX behind; -1 when the job is stopped, or when the
 * client has read nothing for the server's idle timeout (it is taken for gone: the connection has no timeout of its
 * own while it streams). */
static int push(srv_job *j, const void *data, size_t n, int audio) {
    pthread_mutex_lock(&j->mu);
    while (j->len && j->len + n > STREAM_MAX && !stopped(j))
        if (wait_a_little(j) && srv_now() - j->last_read > j->s->cfg.timeout_seconds) atomic_store(&j->gone, 1);
    if (stopped(j)) {
        pthread_mutex_unlock(&j->mu);
        return -1;
    }
    if (j->head + j->len + n > j->cap) {
        if (j->len) memmove(j->buf, j->buf + j->head, j->len); /* buf is NULL until the first push */
        j->head = 0;
        if (j->len + n > j->cap) {
            size_t cap = j->len + n > 2 * j->cap ? j->len + n : 2 * j->cap;
            unsigned char *b = realloc(j->buf, cap);
            if (!b) {
                pthread_mutex_unlock(&j->mu);
                return -1;
            }
            j->buf = b, j->cap = cap;
        }
    }
    memcpy(j->buf + j->head + j->len, data, n);
    j->len += n;
    if (audio && !j->audio_started) {
        j->audio_started = 1;
        srv_metrics_first_audio(&j->s->metrics, srv_now() - j->t0);
    }
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    return 0;
}

static void put_le32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* A WAV header for a stream of unknown length: the RIFF and data sizes are 0xFFFFFFFF, as streaming servers do. */
void srv_wav_header(unsigned char h[44]) {
    memcpy(h, "RIFF....WAVEfmt \x10\0\0\0\x01\0\x01\0........\x02\0\x10\0data....", 44);
    put_le32(h + 4, 0xFFFFFFFFu);
    put_le32(h + 24, BARK_SAMPLE_RATE_HZ);
    put_le32(h + 28, BARK_SAMPLE_RATE_HZ * 2);
    put_le32(h + 40, 0xFFFFFFFFu);
}

static int push_wav_header(srv_job *j) {
    unsigned char h[44];
    srv_wav_header(h);
    return push(j, h, sizeof h, 0);
}

void srv_s16le(const float *pcm, size_t n, unsigned char *out) {
    int16_t s16[BLOCK];
    for (size_t at = 0; at < n; at += BLOCK) {
        const size_t k = n - at < BLOCK ? n - at : BLOCK;
        bark_audio_to_s16(pcm + at, k, s16);
        for (size_t i = 0; i < k; i++)
            out[2 * (at + i)] = (unsigned char)(s16[i] & 0xff), out[2 * (at + i) + 1] = (unsigned char)((uint16_t)s16[i] >> 8);
    }
}

static int on_audio(void *user, const float *pcm, size_t n) {
    srv_job *j = user;
    if (stopped(j)) return 1;
    j->samples += n;
    bark_error cache_err;
    if (j->cache && j->store && bark_audio_writer_write(j->cache, pcm, n, &cache_err)) j->store = 0;
    if (j->file) return bark_audio_writer_write(j->file, pcm, n, &j->err) != BARK_OK;
    unsigned char le[2 * BLOCK];
    for (size_t at = 0; at < n; at += BLOCK) {
        const size_t k = n - at < BLOCK ? n - at : BLOCK;
        srv_s16le(pcm + at, k, le);
        if (push(j, le, 2 * k, 1)) return 1;
    }
    return 0;
}

static int should_abort(void *user) { return stopped(user); }

static const char *const extensions[SRV_N_FORMATS] = {".wav", ".pcm", ".flac", ".mp3", ".opus"};

/* A fresh temporary file for format f (its name into path), written through bark_audio_writer. */
static bark_status open_temporary(srv_format f, char *path, size_t cap, bark_audio_writer **w, bark_error *err) {
    const char *tmp = getenv("TMPDIR");
    snprintf(path, cap, "%s/bark-serve-XXXXXX%s", tmp && *tmp ? tmp : "/tmp", extensions[f]);
    int fd = mkstemps(path, (int)strlen(extensions[f]));
    if (fd < 0) {
        path[0] = 0;
        snprintf(err->msg, sizeof err->msg, "cannot make a temporary %s file: %s", extensions[f], strerror(errno));
        return err->status = BARK_ERR_IO;
    }
    close(fd);
    return bark_audio_writer_open(path, BARK_SAMPLE_RATE_HZ, w, err);
}

/* The finished file (open as f, or NULL: it could not be opened) to the client. */
static bark_status send_file(srv_job *j, FILE *f) {
    if (!f) {
        snprintf(j->err.msg, sizeof j->err.msg, "cannot read back the %s file: %s", extensions[j->req.format],
                 strerror(errno));
        return j->err.status = BARK_ERR_IO;
    }
    unsigned char b[1 << 16];
    size_t n;
    bark_status st = BARK_OK;
    while (!st && (n = fread(b, 1, sizeof b, f)) > 0)
        if (push(j, b, n, 1)) st = BARK_ERR_INTERRUPTED;
    return st;
}

unsigned char *srv_encode_whole(const unsigned char *le, size_t len, srv_format format, size_t *out_len) {
    char path[4200];
    bark_audio_writer *w = NULL;
    bark_error err;
    float x[BLOCK];
    bark_status st = open_temporary(format, path, sizeof path, &w, &err);
    for (size_t at = 0; !st && at < len / 2; at += BLOCK) {
        const size_t k = len / 2 - at < BLOCK ? len / 2 - at : BLOCK;
        for (size_t i = 0; i < k; i++)
            x[i] = (float)(int16_t)(le[2 * (at + i)] | le[2 * (at + i) + 1] << 8) / 32767.0f;
        st = bark_audio_writer_write(w, x, k, &err);
    }
    if (w) st = bark_audio_writer_close(w, !st, &err) ? BARK_ERR_IO : st;
    unsigned char *b = NULL;
    FILE *f = !st ? fopen(path, "rb") : NULL;
    long n = -1;
    if (f && !fseek(f, 0, SEEK_END) && (n = ftell(f)) > 0 && !fseek(f, 0, SEEK_SET) && (b = malloc((size_t)n)) &&
        fread(b, 1, (size_t)n, f) != (size_t)n)
        free(b), b = NULL;
    if (f) fclose(f);
    if (path[0]) unlink(path);
    *out_len = b ? (size_t)n : 0;
    return b;
}

static void *job_main(void *arg) {
    srv_job *j = arg;
    bark_synth_params p = srv_synth_params(j->s, &j->req);
    p.on_audio = on_audio, p.audio_user = j;
    p.should_abort = should_abort, p.abort_user = j;
    bark_synth_result res = {0};
    const int whole = srv_format_whole(j->req.format);
    bark_status st = whole ? open_temporary(j->req.format, j->file_path, sizeof j->file_path, &j->file, &j->err)
                     : j->req.format == SRV_WAV && push_wav_header(j) ? BARK_ERR_INTERRUPTED
                                                                      : BARK_OK;
    if (!st && j->store && !(j->cache = srv_cache_begin(j->s->cache, &j->req))) j->store = 0;
    if (!st) st = bark_engine_synthesize(j->s->engine, j->req.text, &p, &res, &j->err);
    srv_cache_end(j->s->cache, &j->req, j->cache, !st && j->store); /* kept only when the synthesis completed */
    if (j->file) {
        const bark_status cst = bark_audio_writer_close(j->file, !st, &j->err);
        if (!st) st = cst;
        if (!st) {
            FILE *f = fopen(j->file_path, "rb");
            st = send_file(j, f);
            if (f) fclose(f);
        }
    }
    if (j->file_path[0]) unlink(j->file_path);
    srv_outcome how = atomic_load(&j->s->stopping) ? SRV_DONE_SHUTDOWN : atomic_load(&j->gone) ? SRV_DONE_CLIENT
                      : st ? SRV_DONE_ERROR : SRV_DONE_OK;
    pthread_mutex_lock(&j->mu);
    j->done = 1, j->st = st;
    srv_metrics_finished(&j->s->metrics, how, j->audio_started, res.real_time_factor, j->samples);
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    srv_slot_done(j->s, &j->slot);
    srv_job_release(j);
    return NULL;
}

srv_job *srv_job_start(serve *s, srv_speech_req *req, int fd) {
    srv_job *j = calloc(1, sizeof *j);
    if (!j) {
        free(req->text), free(req->voice);
        return NULL;
    }
    j->s = s, j->req = *req, j->fd = fd, j->refs = 2, j->t0 = j->last_read = srv_now();
    j->store = s->cache && req->have_seed;
    atomic_init(&j->gone, 0);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&j->mu, NULL);
    srv_metrics_admitted(&s->metrics);
    if (srv_admit(s, job_main, j, &j->slot) < 0) { /* counted as admitted and finished at once: no trace */
        srv_metrics_finished(&s->metrics, SRV_DONE_OK, 0, -1, 0);
        j->refs = 1;
        srv_job_release(j);
        return NULL;
    }
    return j;
}

/* Looks at the client's socket (j->mu held, released meanwhile); 1 when it went away, and the job stops. */
static int client_gone(srv_job *j) {
    pthread_mutex_unlock(&j->mu);
    const int gone = srv_client_gone(j->fd);
    pthread_mutex_lock(&j->mu);
    if (gone) atomic_store(&j->gone, 1), pthread_cond_broadcast(&j->cv);
    return gone;
}

int srv_job_wait_first(srv_job *j, bark_error *err) {
    int r = -1;
    pthread_mutex_lock(&j->mu);
    while (r < 0) {
        if (j->audio_started || (j->done && !j->st)) r = 0;
        else if (j->done && !stopped(j)) *err = j->err, err->status = j->st, r = 2;
        else if (stopped(j)) r = 1;
        else if (wait_a_little(j) && client_gone(j)) r = 1;
    }
    pthread_mutex_unlock(&j->mu);
    return r;
}

/* MHD asks for the next bytes: waits for them, the end, or the client's going away. */
static ssize_t read_stream(void *cls, uint64_t pos, char *out, size_t max) {
    srv_job *j = cls;
    ssize_t r = 0;
    pthread_mutex_lock(&j->mu);
    while (!r) {
        if (j->len) {
            const size_t n = j->len < max ? j->len : max;
            memcpy(out, j->buf + j->head, n);
            j->head += n, j->len -= n;
            j->last_read = srv_now();
            pthread_cond_broadcast(&j->cv);
            r = (ssize_t)n;
        } else if (j->done) {
            r = j->st ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
        } else if (stopped(j)) {
            r = MHD_CONTENT_READER_END_WITH_ERROR;
        } else if (wait_a_little(j) && client_gone(j)) {
            r = MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
    pthread_mutex_unlock(&j->mu);
    return r;
}

/* The response is gone (sent, or the connection closed): a synthesis still running stops. */
static void free_stream(void *cls) {
    srv_job *j = cls;
    pthread_mutex_lock(&j->mu);
    if (!j->done) atomic_store(&j->gone, 1);
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    srv_job_release(j);
}

struct MHD_Response *srv_job_response(srv_job *j) {
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, read_stream, j,
                                                               free_stream);
    if (!r) {
        free_stream(j);
        return NULL;
    }
    srv_audio_headers(r, &j->req, j->store ? "miss" : "off");
    return r;
}

void srv_audio_headers(struct MHD_Response *r, const srv_speech_req *q, const char *cache) {
    static const char *const types[SRV_N_FORMATS] = {"audio/wav", "audio/pcm", "audio/flac", "audio/mpeg", "audio/ogg"};
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, types[q->format]);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)q->seed);
    MHD_add_response_header(r, "X-Bark-Seed", seed);
    if (q->format == SRV_PCM) MHD_add_response_header(r, "X-Sample-Rate", "24000");
    MHD_add_response_header(r, "X-Bark-Cache", cache);
}
