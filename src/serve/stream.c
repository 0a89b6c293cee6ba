/* stream.c: one speech synthesis on a thread of its own through the shared engine, its bytes (WAV, PCM or FLAC)
 * passed through a bounded buffer to the HTTP response that streams them. */
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
    double t0;
    uint64_t samples;
    bark_audio_writer *flac; /* FLAC, or a cached request: the samples go to a file too */
    char flac_path[4200];
    int store;               /* the finished file is the cache's entry of the request */
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

/* Appends n bytes for the client, waiting while it is STREAM_MAX behind; -1 when the job is stopped. */
static int push(srv_job *j, const void *data, size_t n, int audio) {
    pthread_mutex_lock(&j->mu);
    while (j->len && j->len + n > STREAM_MAX && !stopped(j)) wait_a_little(j);
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
    if (j->req.format == SRV_FLAC) return bark_audio_writer_write(j->flac, pcm, n, &j->err) != BARK_OK;
    bark_error cache_err;
    if (j->store && bark_audio_writer_write(j->flac, pcm, n, &cache_err)) j->store = 0; /* only the cache's loss */
    unsigned char le[2 * BLOCK];
    for (size_t at = 0; at < n; at += BLOCK) {
        const size_t k = n - at < BLOCK ? n - at : BLOCK;
        srv_s16le(pcm + at, k, le);
        if (push(j, le, 2 * k, 1)) return 1;
    }
    return 0;
}

static int should_abort(void *user) { return stopped(user); }

/* Opens the FLAC file the samples go to: the cache's file of the request (written under a temporary name until it
 * is whole), else a temporary file. */
static bark_status open_flac(srv_job *j) {
    if (j->store) {
        srv_cache_file(j->s->cache, j->req.key, j->flac_path, sizeof j->flac_path);
        if (!bark_audio_writer_open(j->flac_path, BARK_SAMPLE_RATE_HZ, &j->flac, &j->err)) return BARK_OK;
        j->store = 0;
        if (j->req.format != SRV_FLAC) return BARK_ERR_IO;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(j->flac_path, sizeof j->flac_path, "%s/bark-serve-XXXXXX.flac", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemps(j->flac_path, 5);
    if (fd < 0) {
        snprintf(j->err.msg, sizeof j->err.msg, "cannot make a temporary file for FLAC: %s", strerror(errno));
        return j->err.status = BARK_ERR_IO;
    }
    close(fd);
    return bark_audio_writer_open(j->flac_path, BARK_SAMPLE_RATE_HZ, &j->flac, &j->err);
}

/* The finished FLAC file (open as f, or NULL: it could not be opened) to the client. */
static bark_status send_flac(srv_job *j, FILE *f) {
    if (!f) {
        snprintf(j->err.msg, sizeof j->err.msg, "cannot read back the FLAC file: %s", strerror(errno));
        return j->err.status = BARK_ERR_IO;
    }
    unsigned char b[1 << 16];
    size_t n;
    bark_status st = BARK_OK;
    while (!st && (n = fread(b, 1, sizeof b, f)) > 0)
        if (push(j, b, n, 1)) st = BARK_ERR_INTERRUPTED;
    return st;
}

static void *job_main(void *arg) {
    srv_job *j = arg;
    bark_synth_params p = bark_synth_default_params();
    p.voice = j->req.voice, p.seed = j->req.seed;
    p.text_temp = j->req.text_temp, p.waveform_temp = j->req.waveform_temp;
    p.on_audio = on_audio, p.audio_user = j;
    p.should_abort = should_abort, p.abort_user = j;
    bark_synth_result res = {0};
    const int flac = j->req.format == SRV_FLAC;
    bark_status st = flac                                           ? open_flac(j)
                     : j->req.format == SRV_WAV && push_wav_header(j) ? BARK_ERR_INTERRUPTED
                                                                      : BARK_OK;
    if (!st && !flac && j->store) open_flac(j); /* failing, it leaves no cache file: the client is served the same */
    if (!st) st = bark_engine_synthesize(j->s->engine, j->req.text, &p, &res, &j->err);
    if (j->flac) {
        /* a file is kept only when the synthesis completed; a cache file that fails only costs the cache */
        bark_error cache_err;
        bark_status cst =
            bark_audio_writer_close(j->flac, !st && (flac || j->store), flac && !st ? &j->err : &cache_err);
        if (flac && !st) st = cst;
        FILE *f = flac && !st ? fopen(j->flac_path, "rb") : NULL; /* open before an eviction could remove it */
        if (j->store && !cst && !st) srv_cache_put(j->s->cache, &j->req);
        if (flac && !st) st = send_flac(j, f);
        if (f) fclose(f);
    }
    if (flac && !j->store && j->flac_path[0]) unlink(j->flac_path);
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
    j->s = s, j->req = *req, j->fd = fd, j->refs = 2, j->t0 = srv_now();
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
    static const char *const types[] = {"audio/wav", "audio/pcm", "audio/flac"};
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, types[q->format]);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)q->seed);
    MHD_add_response_header(r, "X-Bark-Seed", seed);
    if (q->format == SRV_PCM) MHD_add_response_header(r, "X-Sample-Rate", "24000");
    MHD_add_response_header(r, "X-Bark-Cache", cache);
}
