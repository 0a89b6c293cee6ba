/* wyoming.c: `bark serve --wyoming`: Home Assistant's Wyoming protocol over TCP: a listening thread, a thread per
 * connection (WY_MAX_CONNECTIONS at most), describe -> info, synthesize and the streamed synthesize-start/-chunk/-stop
 * spoken through the shared engine and the cache. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "serve/srv.h"
#include "serve/wyoming_frame.h"
#include "serve/zeroconf.h"

#define WY_MAX_CONNECTIONS 16
#define POLL_MS 100
#define SEND_TIMEOUT_S 30                 /* a client that takes no audio for this long is dropped */
#define CHUNK_SAMPLES BARK_SAMPLE_RATE_HZ /* an audio-chunk's samples at most (1 s) */

enum { CONN_FREE, CONN_RUNNING, CONN_DONE };

typedef struct wy_slot {
    pthread_t th;
    int state, fd;
} wy_slot;

struct srv_wyoming {
    serve *s;
    int fd;
    pthread_t th;
    int started;
    atomic_int stop;
    pthread_mutex_t mu; /* the slots */
    wy_slot slots[WY_MAX_CONNECTIONS];
    srv_zeroconf *zeroconf; /* its announcement as _wyoming._tcp, or NULL */
};

/* A connection: its bytes read and not parsed yet, the text of a stream not spoken yet. */
typedef struct wy_conn {
    srv_wyoming *w;
    int fd, slot;
    unsigned char *buf;
    size_t len;
    int broken;    /* a send failed or the client went away: the connection ends */
    int streaming; /* between synthesize-start and synthesize-stop */
    char voice[256];
    char *pending;
    size_t n_pending;
} wy_conn;

static int stopping(const wy_conn *c) { return atomic_load(&c->w->stop) || atomic_load(&c->w->s->stopping); }

static int send_all(int fd, const void *p, size_t n) {
    const char *b = p;
    while (n) {
        const ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        b += k, n -= (size_t)k;
    }
    return 0;
}

/* Sends an event (data may be NULL); -1 (and the connection is broken) when it cannot. */
static int send_event(wy_conn *c, const char *type, const cJSON *data, const void *payload, size_t pl) {
    size_t n;
    char *f = c->broken ? NULL : wy_frame(type, data, pl, &n);
    if (!f || send_all(c->fd, f, n) || (pl && send_all(c->fd, payload, pl))) c->broken = 1;
    free(f);
    return c->broken ? -1 : 0;
}

/* An error event {text, code} to the client, and one line on stderr; -1. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int send_error(wy_conn *c, const char *code, const char *fmt, ...) {
    char text[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    fprintf(stderr, "bark serve: wyoming: client %d: %s (%s)\n", c->fd, text, code);
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "text", text);
    cJSON_AddStringToObject(d, "code", code);
    send_event(c, "error", d, NULL, 0);
    cJSON_Delete(d);
    return -1;
}

/* ---- describe ---- */

/* One of Wyoming's TtsVoice objects. */
static void add_voice(cJSON *list, const char *name, const char *lang, const char *by, const char *url) {
    cJSON *v = cJSON_CreateObject(), *a = cJSON_AddObjectToObject(v, "attribution");
    cJSON_AddStringToObject(v, "name", name);
    cJSON_AddStringToObject(a, "name", by);
    cJSON_AddStringToObject(a, "url", url);
    cJSON_AddBoolToObject(v, "installed", 1);
    cJSON_AddStringToObject(v, "description", name);
    cJSON_AddNullToObject(v, "version");
    cJSON *langs = cJSON_AddArrayToObject(v, "languages");
    if (lang) cJSON_AddItemToArray(langs, cJSON_CreateString(lang));
    cJSON_AddNullToObject(v, "speakers");
    cJSON_AddItemToArray(list, v);
}

/* The voices a client may ask for: the model's (with their language), then the user's (GET /v1/voices' order). */
static cJSON *wy_voices(const serve *s) {
    const bark_model *m = bark_context_model(s->ctx);
    cJSON *list = cJSON_CreateArray();
    for (size_t i = 0; list && i < bark_model_voice_count(m); i++) {
        const char *name = bark_model_voice_name(m, i);
        add_voice(list, name, srv_voice_language(name), "Suno", "https://github.com/suno-ai/bark");
    }
    bark_voice_store *st = NULL;
    if (list && s->cfg.voices_dir && !bark_voice_store_open(s->cfg.voices_dir, 0, &st, NULL)) {
        for (size_t i = 0; i < bark_voice_store_count(st); i++)
            add_voice(list, bark_voice_store_name(st, i), NULL, "the user (bark voices add)", "");
        bark_voice_store_close(st);
    }
    return list;
}

static void send_info(wy_conn *c) {
    const serve *s = c->w->s;
    static const char *const empty[] = {"asr", "handle", "intent", "wake", "mic", "snd"};
    cJSON *d = cJSON_CreateObject(), *tts = cJSON_AddArrayToObject(d, "tts"), *p = cJSON_CreateObject();
    for (size_t i = 0; i < sizeof empty / sizeof *empty; i++) cJSON_AddArrayToObject(d, empty[i]);
    char desc[400];
    snprintf(desc, sizeof desc, "Bark text-to-speech (bark.c, model %.300s)", s->model_name);
    cJSON_AddStringToObject(p, "name", "bark.c");
    cJSON *a = cJSON_AddObjectToObject(p, "attribution");
    cJSON_AddStringToObject(a, "name", "Suno (Bark), bark.c");
    cJSON_AddStringToObject(a, "url", "https://github.com/suno-ai/bark");
    cJSON_AddBoolToObject(p, "installed", 1);
    cJSON_AddStringToObject(p, "description", desc);
    cJSON_AddStringToObject(p, "version", BARK_VERSION);
    cJSON_AddItemToObject(p, "voices", wy_voices(s));
    cJSON_AddBoolToObject(p, "supports_synthesize_streaming", 1);
    cJSON_AddItemToArray(tts, p);
    send_event(c, "info", d, NULL, 0);
    cJSON_Delete(d);
}

/* ---- speaking ---- */

/* The voice of a synthesize or synthesize-start's "voice" ({name, language, speaker}): by name, else the first of the
 * language, else v2/en_speaker_6 or the model's first ("" for a model without voices); -1 after an error event. */
static int pick_voice(wy_conn *c, const cJSON *v, char *out, size_t cap) {
    const serve *s = c->w->s;
    const bark_model *m = bark_context_model(s->ctx);
    const size_t n = bark_model_voice_count(m);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(v, "name");
    const cJSON *lang = cJSON_GetObjectItemCaseSensitive(v, "language");
    if (v && !cJSON_IsNull(v) && !cJSON_IsObject(v))
        return send_error(c, "invalid_voice", "'voice' must be an object {name, language, speaker}");
    if (name && !cJSON_IsNull(name)) {
        if (!cJSON_IsString(name) || !srv_known_voice(s, name->valuestring) || strlen(name->valuestring) >= cap)
            return send_error(c, "unknown_voice", "unknown voice '%.100s' (describe lists them)",
                              cJSON_IsString(name) ? name->valuestring : "?");
        return snprintf(out, cap, "%s", name->valuestring), 0;
    }
    const char *by_lang = cJSON_IsString(lang) ? srv_voice_for_language(s, lang->valuestring) : NULL;
    if (by_lang) return snprintf(out, cap, "%s", by_lang), 0;
    if (cJSON_IsString(lang))
        return send_error(c, "unknown_language", "no voice speaks '%.40s' (describe lists them)", lang->valuestring);
    snprintf(out, cap, "%s", srv_known_voice(s, "v2/en_speaker_6") ? "v2/en_speaker_6" : n ? bark_model_voice_name(m, 0)
                                                                                              : "");
    return 0;
}

static int send_audio_event(wy_conn *c, const char *type, const void *pcm, size_t bytes) {
    cJSON *d = cJSON_CreateObject();
    if (strcmp(type, "audio-stop")) {
        cJSON_AddNumberToObject(d, "rate", BARK_SAMPLE_RATE_HZ);
        cJSON_AddNumberToObject(d, "width", 2);
        cJSON_AddNumberToObject(d, "channels", 1);
    }
    const int r = send_event(c, type, d, pcm, bytes);
    cJSON_Delete(d);
    return r;
}

/* s16 little-endian bytes as audio-chunks of CHUNK_SAMPLES at most. */
static int send_pcm(wy_conn *c, const unsigned char *le, size_t bytes) {
    for (size_t at = 0; at < bytes; at += 2 * CHUNK_SAMPLES)
        if (send_audio_event(c, "audio-chunk", le + at, bytes - at < 2 * CHUNK_SAMPLES ? bytes - at : 2 * CHUNK_SAMPLES))
            return -1;
    return 0;
}

/* One synthesis's state between the engine's callbacks. */
typedef struct wy_synth {
    wy_conn *c;
    bark_audio_writer *file; /* the cache's file of the text, or NULL */
    int file_ok;             /* every sample went into it */
    double t0;
    int had_audio;
    uint64_t samples;
} wy_synth;

static int on_audio(void *user, const float *pcm, size_t n) {
    wy_synth *y = user;
    bark_error e;
    if (y->file_ok && bark_audio_writer_write(y->file, pcm, n, &e)) y->file_ok = 0; /* only the cache's loss */
    if (!y->had_audio) srv_metrics_first_audio(&y->c->w->s->metrics, srv_now() - y->t0), y->had_audio = 1;
    y->samples += n;
    unsigned char le[2 * CHUNK_SAMPLES];
    for (size_t at = 0; at < n; at += CHUNK_SAMPLES) {
        const size_t k = n - at < CHUNK_SAMPLES ? n - at : CHUNK_SAMPLES;
        srv_s16le(pcm + at, k, le);
        if (send_audio_event(y->c, "audio-chunk", le, 2 * k)) return 1;
    }
    return 0;
}

static int should_abort(void *user) {
    wy_conn *c = ((wy_synth *)user)->c;
    if (!c->broken && srv_client_gone(c->fd)) c->broken = 1;
    return c->broken || stopping(c);
}

/* Says text in voice ("": none) as audio-start, audio-chunks and audio-stop: from the cache when it holds the text
 * (seeded as announcements are), else through the engine (and into the cache). */
static void speak(wy_conn *c, const char *text, const char *voice) {
    serve *s = c->w->s;
    const bark_synth_params d = bark_synth_default_params();
    srv_speech_req q = {.text = (char *)text, .voice = (char *)voice, .format = SRV_PCM, .have_seed = 1,
                        .seed = srv_cache_default_seed(text, voice), .text_temp = d.text_temp,
                        .waveform_temp = d.waveform_temp};
    if (send_audio_event(c, "audio-start", NULL, 0)) return;
    wy_synth y = {.c = c, .t0 = srv_now()};
    unsigned char *hit = NULL;
    size_t n = 0;
    bark_error err = {BARK_OK, ""};
    bark_synth_params p = srv_synth_params(s, &q);
    if (s->cache) {
        srv_cache_key(s->cache, &q, &p);
        if (srv_cache_lookup(s->cache, &q, &hit, &n, 1)) {
            const int r = send_pcm(c, hit, n);
            free(hit);
            if (!r) send_audio_event(c, "audio-stop", NULL, 0);
            return;
        }
        y.file = srv_cache_begin(s->cache, &q);
        y.file_ok = y.file != NULL;
    }
    p.voice = *voice ? voice : NULL;
    p.on_audio = on_audio, p.audio_user = &y, p.should_abort = should_abort, p.abort_user = &y;
    bark_synth_result res = {0};
    srv_metrics_admitted(&s->metrics);
    const bark_status st = bark_engine_synthesize(s->engine, text, &p, &res, &err);
    srv_cache_end(s->cache, &q, y.file, !st && y.file_ok);
    const srv_outcome how = stopping(c) ? SRV_DONE_SHUTDOWN : c->broken ? SRV_DONE_CLIENT : st ? SRV_DONE_ERROR
                                                                                           : SRV_DONE_OK;
    srv_metrics_finished(&s->metrics, how, y.had_audio, res.real_time_factor, y.samples);
    if (how == SRV_DONE_CLIENT) fprintf(stderr, "bark serve: wyoming: client %d went away mid-synthesis\n", c->fd);
    if (how == SRV_DONE_ERROR) send_error(c, "synthesis_failed", "synthesis failed: %.500s", err.msg);
    else if (how == SRV_DONE_OK) send_audio_event(c, "audio-stop", NULL, 0);
}

/* The text of a synthesize or synthesize-chunk: a string of at most SRV_MAX_INPUT characters (empty: allowed only
 * for a chunk); NULL after an error event. */
static const char *text_of(wy_conn *c, const cJSON *data, int chunk) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(data, "text");
    if (!cJSON_IsString(t)) return send_error(c, "invalid_text", "'text' must be a string"), NULL;
    if (!chunk && !t->valuestring[strspn(t->valuestring, " \t\r\n")])
        return send_error(c, "invalid_text", "'text' is empty"), NULL;
    if (srv_characters(t->valuestring) > SRV_MAX_INPUT)
        return send_error(c, "text_too_long", "'text' is longer than %d characters", SRV_MAX_INPUT), NULL;
    return t->valuestring;
}

/* Says pending[0, n) (trimmed; nothing when it is blank) and drops it from the stream's text. */
static void speak_pending(wy_conn *c, size_t n) {
    size_t a = 0, b = n;
    while (a < b && strchr(" \t\r\n", c->pending[a])) a++;
    while (b > a && strchr(" \t\r\n", c->pending[b - 1])) b--;
    if (b > a) {
        char *t = strndup(c->pending + a, b - a);
        if (t) speak(c, t, c->voice);
        free(t);
    }
    memmove(c->pending, c->pending + n, c->n_pending - n + 1);
    c->n_pending -= n;
}

/* A synthesize-chunk's text appended to the stream's; each sentence it completes is said (a text that grows past
 * SRV_MAX_INPUT bytes without one is said as it is). */
static void stream_chunk(wy_conn *c, const char *text) {
    const size_t n = strlen(text);
    char *grown = realloc(c->pending, c->n_pending + n + 1);
    if (!grown) {
        send_error(c, "out_of_memory", "out of memory");
        return;
    }
    c->pending = grown;
    memcpy(c->pending + c->n_pending, text, n + 1);
    c->n_pending += n;
    size_t end;
    while (!c->broken && !stopping(c) && (end = wy_sentence_end(c->pending, c->n_pending)))
        speak_pending(c, end);
    if (c->n_pending > SRV_MAX_INPUT) speak_pending(c, c->n_pending);
}

static void handle(wy_conn *c, const wy_event *ev) {
    const char *t = ev->type, *text;
    char voice[256];
    if (!strcmp(t, "describe")) send_info(c);
    else if (!strcmp(t, "ping")) send_event(c, "pong", ev->data, NULL, 0);
    else if (!strcmp(t, "synthesize")) {
        /* inside a stream it only repeats the stream's text, for older servers */
        if (!c->streaming && (text = text_of(c, ev->data, 0)) &&
            !pick_voice(c, cJSON_GetObjectItemCaseSensitive(ev->data, "voice"), voice, sizeof voice))
            speak(c, text, voice);
    } else if (!strcmp(t, "synthesize-start")) {
        if (pick_voice(c, cJSON_GetObjectItemCaseSensitive(ev->data, "voice"), c->voice, sizeof c->voice)) return;
        c->streaming = 1, c->n_pending = 0;
        if (c->pending) c->pending[0] = '\0';
    } else if (!strcmp(t, "synthesize-chunk") || !strcmp(t, "synthesize-stop")) {
        const int chunk = t[11] == 'c';
        if (!c->streaming) {
            send_error(c, "no_stream", "%s without synthesize-start", t);
            return;
        }
        if (chunk && (text = text_of(c, ev->data, 1))) stream_chunk(c, text);
        if (chunk) return;
        if (c->n_pending) speak_pending(c, c->n_pending);
        c->streaming = 0;
        send_event(c, "synthesize-stopped", NULL, NULL, 0);
    } else send_error(c, "unknown_event", "unknown event type '%.64s' (this server answers describe, synthesize, "
                      "synthesize-start/-chunk/-stop and ping)", t);
}

/* Reads more bytes into the buffer: 1, or 0 when the client closed, the server stops or it idled too long. */
static int read_more(wy_conn *c) {
    const size_t cap = WY_MAX_LINE + WY_MAX_DATA + WY_MAX_PAYLOAD;
    const double deadline = srv_now() + c->w->s->cfg.timeout_seconds;
    if (!c->buf && !(c->buf = malloc(cap))) return 0;
    while (!stopping(c) && srv_now() < deadline) {
        struct pollfd pf = {.fd = c->fd, .events = POLLIN};
        const int r = poll(&pf, 1, POLL_MS);
        if (r < 0 && errno != EINTR) return 0;
        if (r <= 0) continue;
        const ssize_t n = recv(c->fd, c->buf + c->len, cap - c->len, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return 0;
        c->len += (size_t)n;
        return 1;
    }
    return 0;
}

static void *conn_main(void *arg) {
    wy_conn *c = arg;
    int more = 1;
    while (more && !c->broken && !stopping(c)) {
        wy_event ev;
        size_t used;
        char why[200];
        const wy_result r = wy_parse(c->buf ? c->buf : (const unsigned char *)"", c->len, &ev, &used, why, sizeof why);
        if (r == WY_MORE) {
            more = read_more(c);
            continue;
        }
        if (r == WY_EVENT) handle(c, &ev), wy_event_free(&ev);
        else send_error(c, r == WY_BAD_STREAM ? "bad_frame" : "bad_event", "%s", why);
        if (r == WY_BAD_STREAM) break;
        memmove(c->buf, c->buf + used, c->len - used);
        c->len -= used;
    }
    shutdown(c->fd, SHUT_RDWR); /* the client sees the end now; the socket is closed when the thread is joined */
    srv_wyoming *w = c->w;
    const int slot = c->slot;
    free(c->buf);
    free(c->pending);
    free(c);
    pthread_mutex_lock(&w->mu);
    w->slots[slot].state = CONN_DONE;
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Joins a finished connection's thread and closes its socket (w->mu held). */
static void reap(wy_slot *sl) {
    pthread_join(sl->th, NULL);
    close(sl->fd);
    sl->state = CONN_FREE;
}

/* A new connection on a free slot, or an error event and closed when all WY_MAX_CONNECTIONS are taken. */
static void take(srv_wyoming *w, int fd) {
    const struct timeval tv = {SEND_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    wy_conn *c = calloc(1, sizeof *c);
    int got = -1;
    if (c) c->w = w, c->fd = fd;
    pthread_mutex_lock(&w->mu);
    for (int i = 0; c && i < WY_MAX_CONNECTIONS && got < 0; i++) {
        wy_slot *sl = &w->slots[i];
        if (sl->state == CONN_DONE) reap(sl);
        if (sl->state != CONN_FREE) continue;
        c->slot = i, sl->fd = fd;
        if (pthread_create(&sl->th, NULL, conn_main, c)) break;
        sl->state = CONN_RUNNING, got = i;
    }
    pthread_mutex_unlock(&w->mu);
    if (got >= 0) return;
    if (c) send_error(c, "busy", "all %d connections are taken: try again shortly", WY_MAX_CONNECTIONS);
    free(c);
    close(fd);
}

static void *listen_main(void *arg) {
    srv_wyoming *w = arg;
    while (!atomic_load(&w->stop) && !atomic_load(&w->s->stopping)) {
        struct pollfd pf = {.fd = w->fd, .events = POLLIN};
        if (poll(&pf, 1, POLL_MS) <= 0) continue;
        const int fd = accept(w->fd, NULL, NULL);
        if (fd >= 0) take(w, fd);
    }
    return NULL;
}

/* The listening socket on host:port (0: any free port), its port into *port; -1 when it cannot. */
static int listen_on(const char *host, int port, int *bound) {
    struct addrinfo *a = srv_resolve(host, port);
    int fd = a ? socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0) : -1, one = 1;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
                    bind(fd, a->ai_addr, a->ai_addrlen) || listen(fd, 64) ||
                    getsockname(fd, (struct sockaddr *)&ss, &sl)))
        close(fd), fd = -1;
    if (a) freeaddrinfo(a);
    if (fd >= 0) *bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                         : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

bark_status srv_wyoming_open(serve *s, bark_error *err) {
    srv_wyoming *w = calloc(1, sizeof *w);
    if (!w) return err->status = BARK_ERR_NOMEM;
    w->s = s;
    atomic_init(&w->stop, 0);
    pthread_mutex_init(&w->mu, NULL);
    w->fd = listen_on(s->host, s->cfg.wyoming_port, &s->wyoming_port);
    if (w->fd < 0) {
        snprintf(err->msg, sizeof err->msg, "cannot listen for Wyoming on %.200s port %d (in use, or not an address "
                 "of this machine?)", s->host, s->cfg.wyoming_port);
        srv_wyoming_close(w);
        return err->status = BARK_ERR_IO;
    }
    if (pthread_create(&w->th, NULL, listen_main, w)) {
        snprintf(err->msg, sizeof err->msg, "cannot start the Wyoming server's thread");
        srv_wyoming_close(w);
        return err->status = BARK_ERR_NOMEM;
    }
    w->started = 1;
    w->zeroconf = srv_zeroconf_open(s->host, s->wyoming_port);
    s->wyoming = w;
    return BARK_OK;
}

void srv_wyoming_close(srv_wyoming *w) {
    if (!w) return;
    srv_zeroconf_close(w->zeroconf);
    atomic_store(&w->stop, 1);
    if (w->started) pthread_join(w->th, NULL);
    pthread_mutex_lock(&w->mu);
    for (int i = 0; i < WY_MAX_CONNECTIONS; i++) {
        if (w->slots[i].state == CONN_FREE) continue;
        shutdown(w->slots[i].fd, SHUT_RDWR); /* a send that blocks returns */
        pthread_mutex_unlock(&w->mu);        /* the thread takes the lock to say it is done */
        pthread_join(w->slots[i].th, NULL);
        pthread_mutex_lock(&w->mu);
        close(w->slots[i].fd);
        w->slots[i].state = CONN_FREE;
    }
    pthread_mutex_unlock(&w->mu);
    if (w->fd >= 0) close(w->fd);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
