/* test_serve_announce.c: `bark serve`'s announcements played into ALSA's file plugin (a FIFO the test reads, or a
 * file), no sound card: priority order, the chime first, a critical one cutting in, cancel, a full queue, bad
 * requests, a failing device, a repeat played from the cache (and after a restart); MQTT's payloads checked. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bark.h"
#include "serve/mqtt_payload.h"
#include "text/text_split.h"
#include "util/serve_client.h"
#include "util/testutil.h"

#define VOICE "v2/en_speaker_0"
#define WAIT_TRIES 1200 /* 50 ms each: a minute at most for anything the tests wait for */

typedef struct fixture {
    char *dir, chimes[512], fifo[512], gone[512];
    bark_context *ctx;
    int fifo_fd; /* the FIFO's reading end, open all along (so that the device opens) */
} fixture;

static const char asoundrc[] =
    "pcm.fifo { type file slave.pcm { type null } file \"%s\" format \"raw\" }\n"
    "pcm.gone { type file slave.pcm { type null } file \"%s/played.raw\" format \"raw\" }\n";

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    char model[512], path[600];
    if (!f || !(f->dir = tu_tmpdir()) || ts_open_tiny(f->dir, model, sizeof model, &f->ctx)) return -1;
    bark_error err = {BARK_OK, ""};
    snprintf(f->chimes, sizeof f->chimes, "%s/chimes", f->dir);
    snprintf(f->fifo, sizeof f->fifo, "%s/speaker.fifo", f->dir);
    snprintf(f->gone, sizeof f->gone, "%s/gone", f->dir);
    if (mkdir(f->chimes, 0755) || mkfifo(f->fifo, 0600)) return -1;
    if ((f->fifo_fd = open(f->fifo, O_RDONLY | O_NONBLOCK)) < 0) return -1;
    /* a 3 s chime: more than the FIFO and ALSA buffer, so playback waits in it while the test holds the FIFO */
    const size_t n = 3 * BARK_SAMPLE_RATE_HZ;
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = 0.3f * (float)((i * 7919) % 1000) / 1000.0f - 0.15f;
    const char *names[2] = {"ding.wav", "../outside.wav"};
    for (int i = 0; i < 2; i++) {
        bark_audio_writer *w;
        snprintf(path, sizeof path, "%s/%s", f->chimes, names[i]);
        if (bark_audio_writer_open(path, BARK_SAMPLE_RATE_HZ, &w, &err) || bark_audio_writer_write(w, x, n, &err) ||
            bark_audio_writer_close(w, 1, &err))
            return -1;
    }
    free(x);
    snprintf(path, sizeof path, "%s/link.wav", f->chimes);
    if (symlink("../outside.wav", path)) return -1;
    snprintf(path, sizeof path, "%s/notes.txt", f->chimes);
    if (tu_write_file(path, "not a sound", 11)) return -1;
    snprintf(path, sizeof path, "%s/asoundrc", f->dir);
    FILE *c = fopen(path, "w");
    if (!c) return -1;
    fprintf(c, asoundrc, f->fifo, f->gone);
    fclose(c);
    setenv("ALSA_CONFIG_PATH", path, 1);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    close(f->fifo_fd);
    bark_context_free(f->ctx);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* A server on the tiny model playing on device; cache: its cache folder, or NULL for none. */
static serve *start_cached(fixture *f, const char *device, int max_announcements, int no_speaker, const char *cache,
                           int *port) {
    serve_config cfg = serve_default_config();
    cfg.ctx = f->ctx, cfg.model = "tiny.gguf", cfg.port = 0, cfg.device = device, cfg.chimes = f->chimes;
    char model[600];
    snprintf(model, sizeof model, "%s/tiny.gguf", f->dir); /* the cache keys on its digest */
    cfg.cache_dir = cache, cfg.model = model;
    cfg.max_announcements = max_announcements, cfg.no_speaker = no_speaker;
    serve *s = NULL;
    bark_error err = {BARK_OK, ""};
    if (serve_open(&cfg, &s, &err)) fail_msg("serve_open: %s", err.msg);
    *port = serve_port(s);
    return s;
}

static serve *start(fixture *f, const char *device, int max_announcements, int no_speaker, int *port) {
    return start_cached(f, device, max_announcements, no_speaker, NULL, port);
}

/* ---- the loudspeaker: the FIFO read on a thread of the test's ---- */

typedef struct listener {
    int fd;
    atomic_int stop;
    pthread_t th;
    unsigned char *b;
    size_t len, cap;
} listener;

static void *listen_main(void *arg) {
    listener *l = arg;
    for (;;) {
        if (l->cap - l->len < 65536) {
            l->cap = 2 * l->cap + 65536;
            l->b = realloc(l->b, l->cap);
            if (!l->b) return NULL;
        }
        const ssize_t r = read(l->fd, l->b + l->len, l->cap - l->len);
        if (r > 0) l->len += (size_t)r;
        else if (r == 0 && atomic_load(&l->stop)) return NULL; /* drained, and no writer */
        else usleep(10000);
    }
}

static void listen_start(fixture *f, listener *l) {
    memset(l, 0, sizeof *l);
    l->fd = f->fifo_fd;
    atomic_init(&l->stop, 0);
    assert_int_equal(pthread_create(&l->th, NULL, listen_main, l), 0);
}

/* Waits until the queue is idle, then until everything written is read; the samples heard, as bytes. */
static void listen_end(listener *l, int port) {
    int i = 0;
    for (; i < WAIT_TRIES; i++) {
        ts_response q = ts_http(port, "GET", "/v1/queue", "", NULL);
        const int idle = strstr((const char *)q.body, "\"playing\":null,\"waiting\":[]") != NULL;
        ts_response_free(&q);
        if (idle) break;
        usleep(50 * 1000);
    }
    atomic_store(&l->stop, 1);
    pthread_join(l->th, NULL);
    assert_non_null(l->b);
    if (i == WAIT_TRIES) fail_msg("the queue did not empty");
}

/* ---- what must be heard ---- */

/* Piece k of an announcement's text as the server says it (seed per text and voice, + k), at volume v, as s16
 * bytes; *n_pieces gets the pieces. */
static unsigned char *said(fixture *f, const char *text, size_t k, float v, size_t *len, size_t *n_pieces) {
    text_piece *tp;
    size_t n;
    bark_error err = {BARK_OK, ""};
    assert_int_equal(text_split(text, strlen(text), TEXT_SPLIT_DEFAULT_MAX, &tp, &n, &err), BARK_OK);
    assert_int_equal(text_split_lead(text, &tp, &n, &err), BARK_OK);
    assert_true(k < n);
    char *piece = strndup(text + tp[k].off, tp[k].len);
    free(tp);
    bark_synth_params p = bark_synth_default_params();
    tu_pcm pcm = {0};
    p.voice = VOICE, p.seed = srv_cache_default_seed(text, VOICE) + k, p.max_piece = 0;
    p.on_audio = tu_collect, p.audio_user = &pcm;
    if (bark_synthesize(f->ctx, piece, &p, NULL, &err)) fail_msg("bark_synthesize: %s", err.msg);
    free(piece);
    for (size_t i = 0; i < pcm.n; i++) pcm.x[i] *= v;
    unsigned char *b = malloc(2 * pcm.n + 1);
    bark_audio_to_s16(pcm.x, pcm.n, (int16_t *)b); /* little-endian host */
    free(pcm.x);
    *len = 2 * pcm.n, *n_pieces = n;
    return b;
}

static unsigned char *said_whole(fixture *f, const char *text, size_t *len) {
    size_t n;
    return said(f, text, 0, 1, len, &n);
}

/* The chime's samples as the server plays them (read back at 24 kHz, as s16 bytes). */
static unsigned char *chime(fixture *f, size_t *len) {
    char path[600];
    snprintf(path, sizeof path, "%s/ding.wav", f->chimes);
    bark_audio_reader *r;
    bark_error err = {BARK_OK, ""};
    assert_int_equal(bark_audio_reader_open(path, BARK_SAMPLE_RATE_HZ, &r, &err), BARK_OK);
    float *x = malloc(4 * BARK_SAMPLE_RATE_HZ * sizeof *x);
    size_t n = 0, k = 1;
    while (k) assert_int_equal(bark_audio_reader_read(r, x + n, 4 * BARK_SAMPLE_RATE_HZ - n, &k, &err), BARK_OK), n += k;
    bark_audio_reader_close(r);
    unsigned char *b = malloc(2 * n);
    bark_audio_to_s16(x, n, (int16_t *)b);
    free(x);
    *len = 2 * n;
    return b;
}

/* Where needle is in heard at or after `from`; fails the test when it is not. */
static size_t heard_at(const listener *l, const unsigned char *needle, size_t n, size_t from, const char *what) {
    const unsigned char *at = from <= l->len ? memmem(l->b + from, l->len - from, needle, n) : NULL;
    if (!at) fail_msg("%s not heard after byte %zu (of %zu)", what, from, l->len);
    return (size_t)(at - l->b);
}

/* POST /v1/announce: the id of a 202. */
static unsigned long announce(int port, const char *body, size_t *position) {
    ts_response r = ts_http(port, "POST", "/v1/announce", TS_JSON, body);
    if (r.status != 202) fail_msg("status %d: %s", r.status, r.body);
    unsigned long id = 0;
    size_t pos = 0;
    assert_int_equal(sscanf((const char *)r.body, "{\"id\":%lu,\"position\":%zu}", &id, &pos), 2);
    if (position) *position = pos;
    ts_response_free(&r);
    return id;
}

/* Waits until GET /v1/queue holds `what`; returns that listing. */
static ts_response queue_shows(int port, const char *what) {
    for (int i = 0; i < WAIT_TRIES; i++) {
        ts_response q = ts_http(port, "GET", "/v1/queue", "", NULL);
        assert_int_equal(q.status, 200);
        if (strstr((const char *)q.body, what)) return q;
        ts_response_free(&q);
        usleep(50 * 1000);
    }
    fail_msg("/v1/queue never showed %s", what);
    return (ts_response){0};
}

static void playing(int port, unsigned long id) {
    char want[64];
    snprintf(want, sizeof want, "\"playing\":{\"id\":%lu,", id);
    ts_response q = queue_shows(port, want);
    ts_response_free(&q);
}

/* ---- the tests ---- */

static void priority_order_chime_first(void **state) {
    fixture *f = *state;
    int port;
    serve *s = start(f, "fifo", 8, 0, &port);
    size_t pos;
    const unsigned long a = announce(port, "{\"text\":\"Attention please.\",\"voice\":\"" VOICE "\",\"chime\":\"ding.wav\"}", &pos);
    assert_int_equal(pos, 0);
    playing(port, a); /* and held: the chime fills the FIFO nobody reads yet */
    announce(port, "{\"text\":\"Low one.\",\"priority\":\"low\"}", &pos);
    assert_int_equal(pos, 1);
    announce(port, "{\"text\":\"Normal one.\",\"priority\":\"normal\"}", &pos);
    assert_int_equal(pos, 1);
    announce(port, "{\"text\":\"High one.\",\"priority\":\"high\",\"voice\":\"" VOICE "\"}", &pos);
    assert_int_equal(pos, 1);
    ts_response q = ts_http(port, "GET", "/v1/queue", "", NULL);
    const char *w = strstr((const char *)q.body, "\"waiting\":[");
    assert_non_null(w);
    const char *h = strstr(w, "High one."), *n = strstr(w, "Normal one."), *l = strstr(w, "Low one.");
    assert_true(h && n && l && h < n && n < l);
    assert_non_null(strstr((const char *)q.body, "\"priority\":\"high\",\"state\":\"waiting\""));
    ts_response_free(&q);
    listener ear;
    listen_start(f, &ear);
    listen_end(&ear, port);
    size_t len, at = 0;
    unsigned char *x = chime(f, &len);
    assert_true(ear.len >= len);
    assert_memory_equal(ear.b, x, len); /* the chime's samples first */
    free(x);
    static const char *const order[] = {"Attention please.", "High one.", "Normal one.", "Low one."};
    for (int i = 0; i < 4; i++) {
        x = said_whole(f, order[i], &len);
        at = heard_at(&ear, x, len, at, order[i]) + len;
        free(x);
    }
    free(ear.b);
    assert_true(ts_metric(port, "bark_serve_announcements_total{event=\"played\"} ") == 4);
    assert_true(ts_metric(port, "bark_serve_announce_time_to_first_sound_seconds_count ") == 4);
    assert_true(ts_metric(port, "bark_serve_announce_queue_depth ") == 0);
    serve_close(s);
}

static void critical_cuts_in(void **state) {
    fixture *f = *state;
    int port;
    serve *s = start(f, "fifo", 8, 0, &port);
    static const char long_text[] =
        "Good morning everyone. The north entrance is closed today for cleaning and repairs, so please use the "
        "south doors by the car park instead. The cafeteria opens at nine and closes at three. Thank you all.";
    char body[512];
    snprintf(body, sizeof body, "{\"text\":\"%s\",\"chime\":\"ding.wav\"}", long_text);
    const unsigned long a = announce(port, body, NULL);
    playing(port, a);
    size_t pos;
    announce(port, "{\"text\":\"Critical now.\",\"priority\":\"critical\"}", &pos);
    assert_int_equal(pos, 0); /* it plays next: after the current piece of the one playing */
    listener ear;
    listen_start(f, &ear);
    listen_end(&ear, port);
    size_t len, n, at = 0;
    unsigned char *x = said(f, long_text, 0, 1, &len, &n);
    assert_true(n >= 3);
    at = heard_at(&ear, x, len, 0, "piece 0") + len;
    free(x);
    x = said_whole(f, "Critical now.", &len);
    const size_t crit = heard_at(&ear, x, len, at, "the critical one");
    for (size_t i = at; i < crit; i++) assert_int_equal(ear.b[i], 0); /* right after the piece (and its padding) */
    at = crit + len;
    free(x);
    for (size_t k = 1; k < n; k++) { /* then the rest: it goes on with its next piece */
        x = said(f, long_text, k, 1, &len, &n);
        at = heard_at(&ear, x, len, at, "a later piece") + len;
        free(x);
    }
    free(ear.b);
    ts_response q = ts_http(port, "GET", "/v1/queue", "", NULL);
    assert_non_null(strstr((const char *)q.body, "\"state\":\"played\""));
    assert_null(strstr((const char *)q.body, "\"state\":\"failed\""));
    ts_response_free(&q);
    serve_close(s);
}

static void cancel_and_full_queue(void **state) {
    fixture *f = *state;
    int port;
    serve *s = start(f, "fifo", 2, 0, &port);
    const unsigned long a = announce(port, "{\"text\":\"Never finished.\",\"chime\":\"ding.wav\"}", NULL);
    playing(port, a);
    const unsigned long b = announce(port, "{\"text\":\"Never started.\"}", NULL);
    ts_response r = ts_http(port, "POST", "/v1/announce", TS_JSON, "{\"text\":\"One too many.\"}");
    ts_is_error(&r, 429, "queue_full", "2 announcements");
    assert_non_null(strcasestr(r.head, "Retry-After: "));
    ts_response_free(&r);
    char path[64];
    snprintf(path, sizeof path, "/v1/queue/%lu", b);
    r = ts_http(port, "DELETE", path, "", NULL);
    assert_int_equal(r.status, 204);
    ts_response_free(&r);
    r = ts_http(port, "DELETE", path, "", NULL);
    ts_is_error(&r, 409, "already_over", NULL);
    ts_response_free(&r);
    r = ts_http(port, "DELETE", "/v1/queue/999", "", NULL);
    ts_is_error(&r, 404, "not_found", NULL);
    ts_response_free(&r);
    snprintf(path, sizeof path, "/v1/queue/%lu", a);
    r = ts_http(port, "DELETE", path, "", NULL); /* the one playing: stopped at once */
    assert_int_equal(r.status, 204);
    ts_response_free(&r);
    announce(port, "{\"text\":\"Quietly after.\",\"volume\":0.5}", NULL);
    listener ear;
    listen_start(f, &ear);
    listen_end(&ear, port);
    size_t len, n;
    unsigned char *x = said(f, "Quietly after.", 0, 0.5f, &len, &n);
    heard_at(&ear, x, len, 0, "the one after");
    free(x);
    static const char *const never[] = {"Never finished.", "Never started."};
    for (int i = 0; i < 2; i++) {
        x = said_whole(f, never[i], &len);
        assert_null(memmem(ear.b, ear.len, x, len));
        free(x);
    }
    free(ear.b);
    ts_response q = ts_http(port, "GET", "/v1/queue", "", NULL);
    assert_non_null(strstr((const char *)q.body, "\"text\":\"Never finished.\",\"voice\":\"" VOICE
                                                  "\",\"priority\":\"normal\",\"state\":\"cancelled\""));
    assert_non_null(strstr((const char *)q.body, "\"text\":\"Never started.\",\"voice\":\"" VOICE
                                                  "\",\"priority\":\"normal\",\"state\":\"cancelled\""));
    ts_response_free(&q);
    assert_true(ts_metric(port, "bark_serve_announcements_total{event=\"cancelled\"} ") == 2);
    assert_true(ts_metric(port, "bark_serve_announcements_total{event=\"played\"} ") == 1);
    serve_close(s);
}

static void bad_requests(void **state) {
    fixture *f = *state;
    int port;
    serve *s = start(f, "fifo", 8, 0, &port);
    char outside[700], body[800];
    snprintf(outside, sizeof outside, "%s/outside.wav", f->dir);
    snprintf(body, sizeof body, "{\"text\":\"Hi.\",\"chime\":\"%s\"}", outside);
    const struct {
        const char *method, *path, *body;
        int status;
        const char *code, *says;
    } cases[] = {
        {"POST", "/v1/announce", "{\"text\":\"Hi.\",\"priority\":\"urgent\"}", 400, "invalid_value", "'priority'"},
        {"POST", "/v1/announce", "{\"text\":\"Hi.\",\"priority\":3}", 400, "invalid_value", "'priority'"},
        {"POST", "/v1/announce", "{\"text\":\"Hi.\",\"chime\":\"../outside.wav\"}", 400, "invalid_chime", "outside"},
        {"POST", "/v1/announce", body, 400, "invalid_chime", "outside"},
        {"POST", "/v1/announce", "{\"text\":\"Hi.\",\"chime\":\"link.wav\"}", 400, "invalid_chime", "outside"},
        {"POST", "/v1/announce", "{\"text\":\"Hi.\",\"chime\":\"nosuch.wav\"}", 400, "invalid_chime", "no chime"},
        {"POST", "/v1/announce", "{\"text\":\"Hi.\",\"chime\":\"notes.txt\"}", 400, "invalid_chime", "sound file"},
        {"POST", "/v1/announce", "{\"text\":\"Hi.\",\"chime\":\".\"}", 400, "invalid_chime", NULL},
        {"POST", "/v1/announce", "{\"text\":\"Hi.\",\"volume\":1.5}", 400, "invalid_value", "'volume'"},
        {"POST", "/v1/announce", "{\"text\":\"Hi.\",\"volume\":-0.1}", 400, "invalid_value", "'volume'"},
        {"POST", "/v1/announce", "{\"text\":\"Hi.\",\"volume\":\"loud\"}", 400, "invalid_value", "'volume'"},
        {"POST", "/v1/announce", "{\"voice\":\"" VOICE "\"}", 400, "missing_field", "'text'"},
        {"POST", "/v1/announce", "{\"text\":\"  \"}", 400, "invalid_value", "empty"},
        {"POST", "/v1/announce", "{\"text\":\"Hi.\",\"voice\":\"alloy\"}", 400, "unknown_voice", "'alloy'"},
        {"POST", "/v1/announce", "{\"text\":\"Hi.\",\"pitch\":2}", 400, "unknown_field", "'pitch'"},
        {"POST", "/v1/announce", "{\"text\":", 400, "invalid_json", NULL},
        {"GET", "/v1/announce", NULL, 405, "method_not_allowed", "POST"},
        {"DELETE", "/v1/queue", NULL, 405, "method_not_allowed", "id"},
        {"POST", "/v1/queue", "{}", 405, "method_not_allowed", NULL},
        {"DELETE", "/v1/queue/abc", NULL, 404, "not_found", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ts_response r = ts_http(port, cases[i].method, cases[i].path, TS_JSON, cases[i].body);
        ts_is_error(&r, cases[i].status, cases[i].code, cases[i].says);
        ts_response_free(&r);
    }
    ts_response q = ts_http(port, "GET", "/v1/queue", "", NULL);
    assert_string_equal((const char *)q.body, "{\"playing\":null,\"waiting\":[],\"recent\":[]}");
    ts_response_free(&q);
    assert_true(ts_metric(port, "bark_serve_announcements_total{event=\"queued\"} ") == 0);
    serve_close(s);
    s = start(f, "fifo", 8, 1, &port); /* --no-speaker */
    ts_response r = ts_http(port, "POST", "/v1/announce", TS_JSON, "{\"text\":\"Hi.\"}");
    ts_is_error(&r, 503, "speaker_off", "--no-speaker");
    ts_response_free(&r);
    r = ts_http(port, "GET", "/v1/queue", "", NULL);
    ts_is_error(&r, 503, "speaker_off", NULL);
    ts_response_free(&r);
    ts_still_serving(port);
    serve_close(s);
}

static void failing_device(void **state) {
    fixture *f = *state;
    int port;
    serve *s = start(f, "gone", 8, 0, &port); /* its folder is missing: the device cannot open */
    const unsigned long a = announce(port, "{\"text\":\"Nobody hears this.\"}", NULL);
    char want[64];
    snprintf(want, sizeof want, "{\"id\":%lu,", a);
    ts_response q = queue_shows(port, "\"state\":\"failed\"");
    assert_non_null(strstr((const char *)q.body, want));
    assert_non_null(strstr((const char *)q.body, "'gone'"));
    ts_response_free(&q);
    assert_true(ts_metric(port, "bark_serve_announcements_total{event=\"failed\"} ") == 1);
    assert_int_equal(mkdir(f->gone, 0755), 0); /* the device is back: the next one plays */
    announce(port, "{\"text\":\"Heard again.\"}", NULL);
    q = queue_shows(port, "\"text\":\"Heard again.\",\"voice\":\"" VOICE "\",\"priority\":\"normal\",\"state\":\"played\"");
    ts_response_free(&q);
    char path[600];
    snprintf(path, sizeof path, "%s/played.raw", f->gone);
    size_t len, got_len;
    unsigned char *x = said_whole(f, "Heard again.", &len), *got = tu_read_file(path, &got_len);
    assert_non_null(got);
    assert_true(got_len >= len);
    assert_memory_equal(got, x, len);
    free(x), free(got);
    assert_true(ts_metric(port, "bark_serve_announcements_total{event=\"played\"} ") == 1);
    serve_close(s);
}

/* The pieces of text as the server says them, heard in order from `from`; the byte after the last. */
static size_t heard_all(fixture *f, const listener *l, const char *text, size_t from) {
    size_t n_pieces = 1;
    for (size_t k = 0; k < n_pieces; k++) {
        size_t len;
        unsigned char *x = said(f, text, k, 1.0f, &len, &n_pieces);
        from = heard_at(l, x, len, from, text) + len;
        free(x);
    }
    return from;
}

/* An announcement of three pieces, said by a fresh server (generated, stored piece by piece), by a restarted one (every
 * piece from the cache: no generation) twice, then by one whose cache files went bad (a miss, generated and stored
 * again, not an error): the same samples every time. */
static void repeats_hit_the_cache(void **state) {
    fixture *f = *state;
    char cache[600], cmd[800];
    snprintf(cache, sizeof cache, "%s/announce-cache", f->dir);
    static const char text[] = "Platform two, please. The train to Lyon is late by ten minutes; we are sorry for the delay "
                              "and thank you for your patience. Passengers for Grenoble change at Lyon, where the "
                              "connection will wait for this train.";
    char body[512];
    snprintf(body, sizeof body, "{\"text\":\"%s\"}", text);
    size_t len, n_pieces;
    free(said(f, text, 0, 1.0f, &len, &n_pieces));
    assert_int_equal(n_pieces, 3);
    static const int times[3] = {1, 2, 1}, hits[3] = {0, 6, 0}, misses[3] = {3, 0, 3};
    for (int round = 0; round < 3; round++) {
        if (round == 2) {
            snprintf(cmd, sizeof cmd, "for x in %s/audio/*.flac; do echo garbage > \"$x\"; done", cache);
            assert_int_equal(system(cmd), 0);
        }
        int port;
        serve *s = start_cached(f, "fifo", 8, 0, cache, &port);
        for (int t = 0; t < times[round]; t++) {
            listener ear;
            listen_start(f, &ear);
            announce(port, body, NULL);
            listen_end(&ear, port);
            heard_all(f, &ear, text, 0);
            free(ear.b);
        }
        assert_true(ts_metric(port, "bark_serve_cache_hits_total ") == hits[round]);
        assert_true(ts_metric(port, "bark_serve_cache_misses_total ") == misses[round]);
        assert_true(ts_metric(port, "bark_serve_cache_entries ") == 3);
        serve_close(s);
    }
}

/* What an MQTT message asks (mqtt_parse, as `bark serve --mqtt` takes it): hermes/tts/say for this site or another,
 * with its id and sessionId kept for sayFinished even when refused; bark/<site>/announce as POST /v1/announce; a
 * payload that is not one JSON object. No broker: the parse alone. */
static void mqtt_payloads(void **state) {
    fixture *f = *state;
    int port;
    serve *s = start(f, "fifo", 8, 0, &port);
    const struct {
        int say;
        const char *payload;
        mqtt_verdict v;
        const char *id, *says;
    } cases[] = {
        {1, "{\"text\":\"Hello.\",\"lang\":\"en-US\",\"id\":\"a1\",\"siteId\":\"kiosk\",\"sessionId\":\"s1\"}",
         MQTT_ANNOUNCE, "a1", NULL},
        {1, "{\"text\":\"Hello.\"}", MQTT_ANNOUNCE, NULL, NULL},
        {1, "{\"text\":\"Elsewhere.\",\"siteId\":\"kitchen\",\"id\":\"a2\"}", MQTT_OTHER_SITE, NULL, NULL},
        {1, "{\"lang\":\"en\",\"id\":\"a3\"}", MQTT_REFUSED, "a3", "'text'"},
        {1, "{\"text\":7,\"id\":\"a4\"}", MQTT_REFUSED, "a4", "'text'"},
        {0, "{\"text\":\"Doors closing.\",\"chime\":\"ding.wav\",\"priority\":\"low\"}", MQTT_ANNOUNCE, NULL, NULL},
        {0, "{\"text\":\"Hi.\",\"volume\":\"loud\"}", MQTT_REFUSED, NULL, "'volume'"},
        {0, "{\"text\":\"Hi.\",\"chime\":\"../outside.wav\"}", MQTT_REFUSED, NULL, "outside"},
        {0, "{\"text\":\"Hi.\"} trailing", MQTT_NOT_JSON, NULL, "not a JSON object"},
        {1, "[\"text\"]", MQTT_NOT_JSON, NULL, "not a JSON object"},
        {0, "", MQTT_NOT_JSON, NULL, "(0 bytes)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        mqtt_msg m;
        const mqtt_verdict v = mqtt_parse(s, "kiosk", cases[i].say, cases[i].payload, (int)strlen(cases[i].payload),
                                          &m);
        print_message("  mqtt %s %s: %d %s\n", cases[i].say ? "say" : "announce", cases[i].payload, (int)v, m.why.msg);
        assert_int_equal(v, cases[i].v);
        if (cases[i].id) assert_string_equal(m.id, cases[i].id);
        else assert_null(m.id);
        if (cases[i].says) assert_non_null(strstr(m.why.msg, cases[i].says));
        assert_true((v == MQTT_ANNOUNCE) == (m.req.text != NULL));
        if (v == MQTT_ANNOUNCE && cases[i].say) assert_true(srv_known_voice(s, m.req.voice));
        if (strstr(cases[i].payload, "ding.wav")) assert_int_equal(m.req.n_chime, 3 * BARK_SAMPLE_RATE_HZ);
        mqtt_msg_free(&m);
    }
    serve_close(s);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_requests),          cmocka_unit_test(priority_order_chime_first),
        cmocka_unit_test(critical_cuts_in),      cmocka_unit_test(cancel_and_full_queue),
        cmocka_unit_test(failing_device),        cmocka_unit_test(repeats_hit_the_cache),
        cmocka_unit_test(mqtt_payloads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
