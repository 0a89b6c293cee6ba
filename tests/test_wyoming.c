/* test_wyoming.c: the Wyoming framing (valid frames, inline and separate data, a 1 MB header line, lengths out of
 * bounds, invalid JSON, sentence ends) and `bark serve`'s Wyoming server on the tiny model over loopback: describe,
 * synthesize, the streamed synthesize, bad events answered with error events, a client leaving mid-synthesis. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bark.h"
#include "serve/serve.h"
#include "serve/wyoming_frame.h"
#include "util/serve_client.h"
#include "util/testutil.h"

static wy_result parse_str(const char *s, wy_event *ev, size_t *used) {
    char why[200] = "";
    return wy_parse((const unsigned char *)s, strlen(s), ev, used, why, sizeof why);
}

static const char *str_of(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- framing ---- */

static void frame_valid(void **state) {
    wy_event ev;
    size_t used;
    /* separate data block and a payload, then a second event in the same bytes */
    const char *s = "{\"type\":\"audio-chunk\",\"data_length\":14,\"payload_length\":4}\n{\"rate\":24000}abcd"
                    "{\"type\":\"describe\"}\n";
    assert_int_equal(parse_str(s, &ev, &used), WY_EVENT);
    assert_string_equal(ev.type, "audio-chunk");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(ev.data, "rate")->valueint, 24000);
    assert_int_equal(ev.payload_len, 4);
    assert_memory_equal(ev.payload, "abcd", 4);
    wy_event_free(&ev);
    assert_int_equal(parse_str(s + used, &ev, &used), WY_EVENT);
    assert_string_equal(ev.type, "describe");
    assert_null(ev.payload);
    assert_non_null(ev.data);
    assert_null(ev.data->child);
    wy_event_free(&ev);
    /* inline data, updated by the separate block's keys */
    s = "{\"type\":\"synthesize\",\"data\":{\"text\":\"old\",\"voice\":{\"name\":\"v\"}},\"data_length\":14}\n"
        "{\"text\":\"new\"}";
    assert_int_equal(parse_str(s, &ev, &used), WY_EVENT);
    assert_int_equal(used, strlen(s));
    assert_string_equal(str_of(ev.data, "text"), "new");
    assert_string_equal(str_of(cJSON_GetObjectItemCaseSensitive(ev.data, "voice"), "name"), "v");
    wy_event_free(&ev);
    /* every shorter prefix of an event is "more" */
    for (size_t n = 0; n < strlen(s); n++) {
        char why[200];
        assert_int_equal(wy_parse((const unsigned char *)s, n, &ev, &used, why, sizeof why), WY_MORE);
    }
    /* what wy_frame writes parses back */
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "text", "h\xC3\xA9llo \"q\"\n");
    size_t n;
    char *f = wy_frame("synthesize", d, 3, &n);
    char *whole = malloc(n + 3);
    memcpy(whole, f, n), memcpy(whole + n, "xyz", 3);
    char why[200];
    assert_int_equal(wy_parse((unsigned char *)whole, n + 3, &ev, &used, why, sizeof why), WY_EVENT);
    assert_int_equal(used, n + 3);
    assert_string_equal(str_of(ev.data, "text"), "h\xC3\xA9llo \"q\"\n");
    assert_memory_equal(ev.payload, "xyz", 3);
    assert_non_null(strstr(f, "\"version\""));
    wy_event_free(&ev);
    free(whole), free(f);
    f = wy_frame("audio-stop", NULL, 0, &n); /* no data, no payload: the header line alone */
    assert_string_equal(f, "{\"type\":\"audio-stop\",\"version\":\"" WY_VERSION "\"}\n");
    free(f);
    cJSON_Delete(d);
}

static void frame_bad(void **state) {
    wy_event ev;
    size_t used, big = 1 << 20;
    char why[200];
    /* a 1 MB header line, with and without its newline */
    unsigned char *line = malloc(big);
    memset(line, 'x', big);
    assert_int_equal(wy_parse(line, big, &ev, &used, why, sizeof why), WY_BAD_STREAM);
    assert_non_null(strstr(why, "longer than"));
    line[big - 1] = '\n';
    assert_int_equal(wy_parse(line, big, &ev, &used, why, sizeof why), WY_BAD_STREAM);
    free(line);
    /* lengths: negative, huge, fractional, not numbers */
    static const char *const lost[] = {
        "{\"type\":\"x\",\"payload_length\":-1}\n", "{\"type\":\"x\",\"payload_length\":1e12}\n",
        "{\"type\":\"x\",\"payload_length\":2.5}\n", "{\"type\":\"x\",\"data_length\":\"4\"}\n",
        "{\"type\":\"x\",\"data_length\":99999999}\n", "{\"type\":\"x\",\"payload_length\":1048577}\n"};
    for (size_t i = 0; i < sizeof lost / sizeof *lost; i++) {
        if (parse_str(lost[i], &ev, &used) != WY_BAD_STREAM) fail_msg("not refused: %s", lost[i]);
    }
    /* bad events the framing survives: *used skips them */
    static const char *const bad[] = {"{not json\n", "[1,2]\n", "\n", "{\"data\":{}}\n", "{\"type\":7}\n",
                                      "{\"type\":\"\"}\n", "{\"type\":\"x\",\"data\":[1]}\n",
                                      "{\"type\":\"x\",\"data_length\":3}\n{x}", "{\"type\":\"x\"} junk\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (parse_str(bad[i], &ev, &used) != WY_BAD_EVENT) fail_msg("not refused: %s", bad[i]);
        assert_int_equal(used, strlen(bad[i]));
    }
    char type[WY_MAX_TYPE + 40];
    snprintf(type, sizeof type, "{\"type\":\"%0*d\"}\n", WY_MAX_TYPE + 1, 0);
    assert_int_equal(parse_str(type, &ev, &used), WY_BAD_EVENT);
    /* a payload of the most bytes is taken */
    char head[100];
    const int hn = snprintf(head, sizeof head, "{\"type\":\"audio-chunk\",\"payload_length\":%d}\n", WY_MAX_PAYLOAD);
    unsigned char *all = calloc(1, (size_t)hn + WY_MAX_PAYLOAD);
    memcpy(all, head, (size_t)hn);
    assert_int_equal(wy_parse(all, (size_t)hn + WY_MAX_PAYLOAD, &ev, &used, why, sizeof why), WY_EVENT);
    assert_int_equal(ev.payload_len, WY_MAX_PAYLOAD);
    wy_event_free(&ev);
    free(all);
}

static void sentences(void **state) {
    static const struct {
        const char *text;
        size_t end;
    } cases[] = {{"Hello there. How", 12}, {"Hello there.", 0},       {"Pi is 3.14 today", 0},
                 {"Wait... what? Yes", 7},  {"He said \"stop.\" Then", 15}, {"a\n\nb", 3},
                 {"no end", 0},             {"\xE4\xBD\xA0\xE5\xA5\xBD\xE3\x80\x82\xE5\x86\x8D", 9}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const size_t got = wy_sentence_end(cases[i].text, strlen(cases[i].text));
        if (got != cases[i].end) fail_msg("'%s': %zu, wanted %zu", cases[i].text, got, cases[i].end);
    }
}

/* ---- the server ---- */

typedef struct fixture {
    char *dir;
    bark_context *ctx;
    serve *srv;
    int port, wport;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    char model[512];
    if (!f || !(f->dir = tu_tmpdir()) || ts_open_tiny(f->dir, model, sizeof model, &f->ctx)) return -1;
    bark_error err = {BARK_OK, ""};
    serve_config cfg = serve_default_config();
    char cache[600];
    snprintf(cache, sizeof cache, "%s/cache", f->dir);
    cfg.ctx = f->ctx, cfg.model = model, cfg.port = 0, cfg.no_speaker = 1, cfg.cache_dir = cache;
    cfg.wyoming = 1, cfg.wyoming_port = 0;
    if (serve_open(&cfg, &f->srv, &err)) {
        fprintf(stderr, "serve_open: %s\n", err.msg);
        return -1;
    }
    f->port = serve_port(f->srv), f->wport = serve_wyoming_port(f->srv);
    *state = f;
    return f->wport > 0 ? 0 : -1;
}

static int teardown(void **state) {
    fixture *f = *state;
    serve_close(f->srv);
    bark_context_free(f->ctx);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* A client's connection and the bytes it read and did not parse yet. */
typedef struct client {
    int fd;
    unsigned char *buf;
    size_t len;
} client;

static client dial(int port) {
    client c = {ts_dial(port), malloc(WY_MAX_LINE + WY_MAX_DATA + WY_MAX_PAYLOAD), 0};
    assert_true(c.fd >= 0);
    return c;
}

static void hang_up(client *c) {
    close(c->fd);
    free(c->buf);
}

static void send_raw(client *c, const void *p, size_t n) { assert_int_equal(send(c->fd, p, n, MSG_NOSIGNAL), n); }

/* Sends an event whose data is the JSON text json (NULL: none). */
static void send_ev(client *c, const char *type, const char *json) {
    cJSON *d = json ? cJSON_Parse(json) : NULL;
    size_t n;
    char *f = wy_frame(type, d, 0, &n);
    send_raw(c, f, n);
    free(f);
    cJSON_Delete(d);
}

/* The next event (wy_event_free it; its payload is copied into *payload when asked); 0, or -1 at the end. */
static int next_ev(client *c, wy_event *ev, unsigned char **payload) {
    for (;;) {
        size_t used;
        char why[200];
        const wy_result r = wy_parse(c->buf, c->len, ev, &used, why, sizeof why);
        if (r == WY_EVENT) {
            if (payload) *payload = ev->payload_len ? malloc(ev->payload_len) : NULL;
            if (payload && *payload) memcpy(*payload, ev->payload, ev->payload_len);
            memmove(c->buf, c->buf + used, c->len - used);
            c->len -= used;
            return 0;
        }
        if (r != WY_MORE) fail_msg("the server sent a bad frame: %s", why);
        const ssize_t k = recv(c->fd, c->buf + c->len, WY_MAX_LINE + WY_MAX_DATA + WY_MAX_PAYLOAD - c->len, 0);
        if (k <= 0) return -1;
        c->len += (size_t)k;
    }
}

/* The next event is an error with that code. */
static void expect_error(client *c, const char *code) {
    wy_event ev;
    assert_int_equal(next_ev(c, &ev, NULL), 0);
    if (strcmp(ev.type, "error")) fail_msg("wanted an error %s, got %s", code, ev.type);
    assert_string_equal(str_of(ev.data, "code"), code);
    assert_non_null(str_of(ev.data, "text"));
    wy_event_free(&ev);
}

static void describe(client *c) {
    wy_event ev;
    send_ev(c, "describe", NULL);
    assert_int_equal(next_ev(c, &ev, NULL), 0);
    assert_string_equal(ev.type, "info");
    const cJSON *tts = cJSON_GetObjectItemCaseSensitive(ev.data, "tts");
    assert_int_equal(cJSON_GetArraySize(tts), 1);
    const cJSON *p = cJSON_GetArrayItem(tts, 0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "installed")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "supports_synthesize_streaming")));
    int found = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(p, "voices")) {
        assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "installed")));
        if (!strcmp(str_of(v, "name"), TS_VOICE)) {
            found = 1;
            assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(v, "languages"), 0)->valuestring,
                                "en");
        }
    }
    assert_true(found);
    wy_event_free(&ev);
}

/* Reads audio-start, audio-chunks (24 kHz, 16 bit, mono), audio-stop; the samples. */
static size_t audio(client *c) {
    wy_event ev;
    size_t samples = 0, chunks = 0;
    assert_int_equal(next_ev(c, &ev, NULL), 0);
    if (strcmp(ev.type, "audio-start")) fail_msg("wanted audio-start, got %s (%s)", ev.type, str_of(ev.data, "text"));
    for (int stop = 0; !stop;) {
        const cJSON *d = ev.data;
        if (strcmp(ev.type, "audio-stop")) {
            assert_int_equal(cJSON_GetObjectItemCaseSensitive(d, "rate")->valueint, 24000);
            assert_int_equal(cJSON_GetObjectItemCaseSensitive(d, "width")->valueint, 2);
            assert_int_equal(cJSON_GetObjectItemCaseSensitive(d, "channels")->valueint, 1);
        }
        wy_event_free(&ev);
        assert_int_equal(next_ev(c, &ev, NULL), 0);
        stop = !strcmp(ev.type, "audio-stop");
        if (!stop && strcmp(ev.type, "audio-chunk")) fail_msg("wanted audio-chunk or audio-stop, got %s", ev.type);
        if (!stop) samples += ev.payload_len / 2, chunks++, assert_int_equal(ev.payload_len % 2, 0);
    }
    wy_event_free(&ev);
    assert_true(chunks > 0);
    return samples;
}

static void server_speaks(void **state) {
    fixture *f = *state;
    client c = dial(f->wport);
    describe(&c);
    send_ev(&c, "synthesize", "{\"text\":\"Hello there.\",\"voice\":{\"name\":\"" TS_VOICE "\"}}");
    const size_t first = audio(&c);
    assert_true(first > 0);
    /* the same text again: from the cache, the same length */
    send_ev(&c, "synthesize", "{\"text\":\"Hello there.\",\"voice\":{\"name\":\"" TS_VOICE "\"}}");
    assert_int_equal(audio(&c), first);
    assert_true(ts_metric(f->port, "bark_serve_cache_hits_total") >= 1);
    /* streamed: a sentence said as soon as it is whole, the rest at the stop; the compatibility synthesize
     * inside the stream is not said again */
    send_ev(&c, "synthesize-start", "{\"voice\":{\"language\":\"en_US\"}}");
    send_ev(&c, "synthesize-chunk", "{\"text\":\"One sentence. And\"}");
    send_ev(&c, "synthesize-chunk", "{\"text\":\" the rest\"}");
    send_ev(&c, "synthesize", "{\"text\":\"One sentence. And the rest\"}");
    send_ev(&c, "synthesize-stop", NULL);
    assert_true(audio(&c) > 0);
    assert_true(audio(&c) > 0);
    wy_event ev;
    assert_int_equal(next_ev(&c, &ev, NULL), 0);
    assert_string_equal(ev.type, "synthesize-stopped");
    wy_event_free(&ev);
    hang_up(&c);
}

static void server_bad_input(void **state) {
    fixture *f = *state;
    client c = dial(f->wport);
    send_ev(&c, "transcribe", NULL);
    expect_error(&c, "unknown_event");
    send_raw(&c, "{not json\n", 10);
    expect_error(&c, "bad_event");
    send_ev(&c, "synthesize", "{\"text\":\"hi\",\"voice\":{\"name\":\"nobody\"}}");
    expect_error(&c, "unknown_voice");
    send_ev(&c, "synthesize", "{\"text\":\"hi\",\"voice\":{\"language\":\"xx\"}}");
    expect_error(&c, "unknown_language");
    send_ev(&c, "synthesize", "{\"text\":\"hi\",\"voice\":\"v2/en_speaker_0\"}");
    expect_error(&c, "invalid_voice");
    send_ev(&c, "synthesize", "{\"text\":\"  \"}");
    expect_error(&c, "invalid_text");
    send_ev(&c, "synthesize", "{\"text\":5}");
    expect_error(&c, "invalid_text");
    send_ev(&c, "synthesize-chunk", "{\"text\":\"hi\"}");
    expect_error(&c, "no_stream");
    describe(&c); /* the connection still serves */
    send_raw(&c, "{\"type\":\"x\",\"payload_length\":-1}\n", 34);
    expect_error(&c, "bad_frame");
    wy_event ev;
    assert_int_equal(next_ev(&c, &ev, NULL), -1); /* the framing is lost: closed */
    hang_up(&c);
    /* a 1 MB header line: an error, the connection closed, the server serving */
    c = dial(f->wport);
    char *big = malloc(1 << 20);
    memset(big, 'x', 1 << 20);
    send(c.fd, big, 1 << 20, MSG_NOSIGNAL); /* the server may close before taking it all */
    free(big);
    expect_error(&c, "bad_frame");
    hang_up(&c);
    c = dial(f->wport);
    describe(&c);
    hang_up(&c);
    ts_still_serving(f->port);
}

static void server_client_leaves(void **state) {
    fixture *f = *state;
    const double before = ts_metric(f->port, "bark_serve_speech_aborted_total{reason=\"client_gone\"}");
    char text[3200] = "{\"text\":\"";
    for (int i = 0; i < 60; i++) strcat(text, "This is a long text that takes its time. ");
    strcat(text, "\"}");
    client c = dial(f->wport);
    send_ev(&c, "synthesize", text);
    wy_event ev;
    assert_int_equal(next_ev(&c, &ev, NULL), 0);
    assert_string_equal(ev.type, "audio-start");
    wy_event_free(&ev);
    hang_up(&c);
    ts_metric_reaches(f->port, "bark_serve_speech_aborted_total{reason=\"client_gone\"}", before + 1);
    c = dial(f->wport);
    describe(&c);
    hang_up(&c);
}

int main(void) {
    const struct CMUnitTest framing[] = {cmocka_unit_test(frame_valid), cmocka_unit_test(frame_bad),
                                         cmocka_unit_test(sentences)};
    const struct CMUnitTest server[] = {cmocka_unit_test(server_speaks), cmocka_unit_test(server_bad_input),
                                        cmocka_unit_test(server_client_leaves)};
    return cmocka_run_group_tests_name("wyoming framing", framing, NULL, NULL) |
           cmocka_run_group_tests_name("wyoming server", server, setup, teardown);
}
