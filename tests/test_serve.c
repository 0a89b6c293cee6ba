/* test_serve.c: `bark serve` in-process on the tiny model, spoken to over loopback sockets: every endpoint, speech
 * equal to bark_synthesize's samples (alone and 4 at once), each bad request answered with its JSON error, a client
 * that leaves mid-stream, 1,000 connections at once, a client that never finishes its body, a full queue, the API key, the operator page's files. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bark.h"
#include "serve/serve.h"
#include "util/serve_client.h"
#include "util/testutil.h"

#define VOICE TS_VOICE

typedef struct fixture {
    char *dir;
    bark_context *ctx;
    serve *srv;
    int port;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    char model[512];
    if (!f || !(f->dir = tu_tmpdir()) || ts_open_tiny(f->dir, model, sizeof model, &f->ctx)) return -1;
    bark_error err = {BARK_OK, ""};
    serve_config cfg = serve_default_config();
    cfg.ctx = f->ctx, cfg.model = model, cfg.port = 0, cfg.max_queue = 8;
    if (serve_open(&cfg, &f->srv, &err)) {
        fprintf(stderr, "serve_open: %s\n", err.msg);
        return -1;
    }
    f->port = serve_port(f->srv);
    *state = f;
    return 0;
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

/* GET path: the page's file, with its content type and a Content-Security-Policy of this server alone. */
static void page_file(int port, const char *path, const char *headers, const char *type, const char *holds) {
    ts_response r = ts_http(port, "GET", path, headers, NULL);
    if (r.status != 200) fail_msg("GET %s: status %d", path, r.status);
    char want[128];
    snprintf(want, sizeof want, "Content-Type: %s\r\n", type);
    if (!strcasestr(r.head, want)) fail_msg("GET %s: not %s: %s", path, type, r.head);
    assert_non_null(strcasestr(r.head, "Content-Security-Policy: default-src 'none'; script-src 'self';"));
    assert_non_null(strcasestr(r.head, "X-Content-Type-Options: nosniff"));
    if (!strstr((const char *)r.body, holds)) fail_msg("GET %s: no '%s'", path, holds);
    ts_response_free(&r);
}

/* ---- the tests ---- */

static void endpoints(void **state) {
    fixture *f = *state;
    ts_still_serving(f->port);
    page_file(f->port, "/", "", "text/html; charset=utf-8", "<script src=\"/page/app.js\"");
    page_file(f->port, "/page/app.js", "", "text/javascript; charset=utf-8", "'/v1/audio/speech'");
    page_file(f->port, "/page/app.css", "", "text/css; charset=utf-8", "#status");
    ts_response r = ts_http(f->port, "GET", "/health", "", NULL);
    assert_non_null(strstr((const char *)r.body, "\"model\":\"tiny.gguf\""));
    assert_non_null(strstr((const char *)r.body, "\"uptime_seconds\":"));
    ts_response_free(&r);
    r = ts_http(f->port, "GET", "/v1/voices", "", NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr((const char *)r.body, "{\"name\":\"v2/en_speaker_0\",\"language\":\"en\",\"source\":\"model\"}"));
    assert_non_null(strstr((const char *)r.body, "{\"name\":\"v2/de_speaker_1\",\"language\":\"de\",\"source\":\"model\"}"));
    ts_response_free(&r);
    r = ts_http(f->port, "GET", "/metrics", "", NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strcasestr(r.head, "Content-Type: text/plain; version=0.0.4"));
    static const char *const names[] = {"# TYPE bark_serve_requests_total counter",
                                        "bark_serve_requests_total{endpoint=\"health\",code=\"200\"} ",
                                        "bark_serve_requests_in_flight 0", "bark_serve_queue_depth 0",
                                        "# TYPE bark_serve_time_to_first_audio_seconds histogram",
                                        "bark_serve_real_time_factor_bucket{le=\"+Inf\"}", "bark_engine_max_batch 8",
                                        "bark_engine_decode_steps_total "};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strstr((const char *)r.body, names[i])) fail_msg("no '%s' in /metrics:\n%s", names[i], r.body);
    ts_response_free(&r);
}

/* The samples a whole-file response (FLAC, MP3, Opus) decodes to (libsndfile, through a file named *ext). */
static size_t decoded(const fixture *f, const ts_response *r, const char *ext) {
    char path[600];
    snprintf(path, sizeof path, "%s/response%s", f->dir, ext);
    assert_int_equal(tu_write_file(path, r->body, r->len), 0);
    size_t n = 0;
    int16_t *x = tu_read_s16(path, &n);
    assert_non_null(x);
    free(x);
    unlink(path);
    return n;
}

static void speech_equals_synthesize(void **state) {
    fixture *f = *state;
    size_t n;
    unsigned char *want = ts_reference(f->ctx, "Hello from the server.", 7, &n);
    char *body = ts_speech_body("Hello from the server.", 7, "wav");
    ts_response r = ts_http(f->port, "POST", "/v1/audio/speech", TS_JSON, body);
    free(body);
    assert_int_equal(r.status, 200);
    assert_non_null(strcasestr(r.head, "Content-Type: audio/wav"));
    assert_non_null(strcasestr(r.head, "Transfer-Encoding: chunked"));
    assert_true(r.len > 44);
    assert_memory_equal(r.body, "RIFF\xff\xff\xff\xffWAVEfmt ", 16);
    assert_memory_equal(r.body + 36, "data\xff\xff\xff\xff", 8);
    assert_int_equal(r.len - 44, n);
    assert_memory_equal(r.body + 44, want, n);
    ts_response_free(&r);
    body = ts_speech_body("Hello from the server.", 7, "pcm");
    r = ts_http(f->port, "POST", "/v1/audio/speech", TS_JSON, body);
    free(body);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, n);
    assert_memory_equal(r.body, want, n);
    ts_response_free(&r);
    body = ts_speech_body("Hello from the server.", 7, "flac");
    r = ts_http(f->port, "POST", "/v1/audio/speech", TS_JSON, body);
    free(body);
    assert_int_equal(r.status, 200);
    assert_true(r.len > 4 && !memcmp(r.body, "fLaC", 4));
    assert_int_equal(decoded(f, &r, ".flac"), n / 2);
    assert_non_null(strcasestr(r.head, "Content-Type: audio/flac"));
    ts_response_free(&r);
    /* MP3 and Opus: lossy, the same length give or take the codec's padding */
    static const char *const lossy[2][3] = {{"mp3", ".mp3", "audio/mpeg"}, {"opus", ".opus", "audio/ogg"}};
    for (int i = 0; i < 2; i++) {
        body = ts_speech_body("Hello from the server.", 7, lossy[i][0]);
        r = ts_http(f->port, "POST", "/v1/audio/speech", TS_JSON, body);
        free(body);
        assert_int_equal(r.status, 200);
        char type[64];
        snprintf(type, sizeof type, "Content-Type: %s", lossy[i][2]);
        assert_non_null(strcasestr(r.head, type));
        const size_t got = decoded(f, &r, lossy[i][1]);
        print_message("%s: %zu bytes, %zu samples decoded (%zu made)\n", lossy[i][0], r.len, got, n / 2);
        assert_true(got + 2400 >= n / 2 && got <= n / 2 + 2400);
        ts_response_free(&r);
    }
    assert_true(ts_metric(f->port, "bark_serve_requests_total{endpoint=\"speech\",code=\"200\"} ") >= 5);
    free(want);
}

typedef struct concurrent_req {
    int port;
    char *body;
    ts_response r;
} concurrent_req;

static void *one_request(void *arg) {
    concurrent_req *q = arg;
    int fd = ts_dial(q->port);
    if (fd >= 0) {
        ts_send_request(fd, "POST", "/v1/audio/speech", TS_JSON, q->body, strlen(q->body));
        if (ts_read_response(fd, &q->r)) q->r.status = -1;
        close(fd);
    }
    return NULL;
}

static void concurrent_equal_alone(void **state) {
    fixture *f = *state;
    static const char *const texts[4] = {"One at once.", "Two together, batched.", "Three of four.", "Four."};
    concurrent_req q[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        memset(&q[i], 0, sizeof q[i]);
        q[i].port = f->port, q[i].body = ts_speech_body(texts[i], 100 + (uint64_t)i, i % 2 ? "pcm" : "wav");
        assert_int_equal(pthread_create(&th[i], NULL, one_request, &q[i]), 0);
    }
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        size_t n, skip = i % 2 ? 0 : 44;
        unsigned char *want = ts_reference(f->ctx, texts[i], 100 + (uint64_t)i, &n);
        assert_int_equal(q[i].r.status, 200);
        assert_int_equal(q[i].r.len - skip, n);
        assert_memory_equal(q[i].r.body + skip, want, n);
        free(want), free(q[i].body);
        ts_response_free(&q[i].r);
    }
    assert_true(ts_metric(f->port, "bark_engine_largest_batch ") >= 2);
}

static void bad_requests(void **state) {
    fixture *f = *state;
    static const struct {
        const char *method, *path, *body;
        int status;
        const char *code, *says;
    } cases[] = {
        {"POST", "/v1/audio/speech", "{\"model\":\"bark\",\"input\":", 400, "invalid_json", "not valid JSON"},
        {"POST", "/v1/audio/speech", "{\"model\":\"bark\"} trailing", 400, "invalid_json", NULL},
        {"POST", "/v1/audio/speech", "[1, 2]", 400, "invalid_json", "JSON object"},
        {"POST", "/v1/audio/speech", "", 400, "invalid_json", NULL},
        {"POST", "/v1/audio/speech", "{\"model\":\"bark\",\"voice\":\"" VOICE "\"}", 400, "missing_field", "'input'"},
        {"POST", "/v1/audio/speech", "{\"input\":\"Hi\",\"voice\":\"" VOICE "\"}", 400, "missing_field", "'model'"},
        {"POST", "/v1/audio/speech", "{\"model\":\"bark\",\"input\":\"Hi\"}", 400, "missing_field", "'voice'"},
        {"POST", "/v1/audio/speech", "{\"model\":\"bark\",\"input\":\"Hi\",\"voice\":\"" VOICE "\",\"pitch\":2}", 400,
         "unknown_field", "'pitch'"},
        {"POST", "/v1/audio/speech", "{\"model\":\"bark\",\"input\":\"Hi\",\"voice\":\"alloy\"}", 400, "unknown_voice",
         "'alloy'"},
        {"POST", "/v1/audio/speech", "{\"model\":\"bark\",\"input\":\"\",\"voice\":\"" VOICE "\"}", 400,
         "invalid_value", "empty"},
        {"POST", "/v1/audio/speech", "{\"model\":\"bark\",\"input\":7,\"voice\":\"" VOICE "\"}", 400, "invalid_type",
         NULL},
        {"POST", "/v1/audio/speech", "{\"model\":\"bark\",\"input\":\"Hi\",\"voice\":\"" VOICE "\",\"speed\":1.5}",
         400, "unsupported_speed", "only 1.0"},
        {"POST", "/v1/audio/speech", "{\"model\":\"bark\",\"input\":\"Hi\",\"voice\":\"" VOICE
         "\",\"response_format\":\"aac\"}", 400, "unsupported_response_format", "'aac'"},
        {"POST", "/v1/audio/speech", "{\"model\":\"bark\",\"input\":\"Hi\",\"voice\":\"" VOICE
         "\",\"response_format\":\"au\"}", 400, "unsupported_response_format", "'au'"},
        {"POST", "/v1/audio/speech", "{\"model\":\"bark\",\"input\":\"Hi\",\"voice\":\"" VOICE "\",\"seed\":-1}", 400,
         "invalid_value", "'seed'"},
        {"POST", "/v1/audio/speech", "{\"model\":\"bark\",\"input\":\"Hi\",\"voice\":\"" VOICE "\",\"text_temp\":0}",
         400, "invalid_value", "'text_temp'"},
        {"GET", "/v1/audio/speech", NULL, 405, "method_not_allowed", "POST"},
        {"DELETE", "/health", NULL, 405, "method_not_allowed", "GET"},
        {"POST", "/v1/voices", "{}", 503, "no_voices_dir", "--voices-dir"},
        {"DELETE", "/v1/voices", NULL, 405, "method_not_allowed", "POST"},
        {"GET", "/v1/nothing", NULL, 404, "not_found", NULL},
        {"GET", "/page/nothing.js", NULL, 404, "not_found", "/page/app.js"},
        {"POST", "/", "{}", 405, "method_not_allowed", "GET"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ts_response r = ts_http(f->port, cases[i].method, cases[i].path, TS_JSON, cases[i].body);
        ts_is_error(&r, cases[i].status, cases[i].code, cases[i].says);
        if (cases[i].status == 405) assert_non_null(strcasestr(r.head, "Allow: "));
        ts_response_free(&r);
        ts_still_serving(f->port);
    }
    /* 4097 characters (in 2-byte UTF-8): too long */
    char *big = malloc(80 * 1024);
    int n = snprintf(big, 1024, "{\"model\":\"bark\",\"voice\":\"" VOICE "\",\"input\":\"");
    for (int i = 0; i < 4097; i++) big[n++] = (char)0xc3, big[n++] = (char)0xa9;
    snprintf(big + n, 64, "\"}");
    ts_response r = ts_http(f->port, "POST", "/v1/audio/speech", TS_JSON, big);
    ts_is_error(&r, 400, "input_too_long", "4097 characters");
    ts_response_free(&r);
    ts_still_serving(f->port);
    free(big);
    /* 1 MB of text: the body is refused as too large */
    big = malloc((1 << 20) + 128);
    n = snprintf(big, 128, "{\"model\":\"bark\",\"voice\":\"" VOICE "\",\"input\":\"");
    memset(big + n, 'a', 1 << 20);
    snprintf(big + n + (1 << 20), 8, "\"}");
    r = ts_http(f->port, "POST", "/v1/audio/speech", TS_JSON, big);
    ts_is_error(&r, 413, "body_too_large", NULL);
    ts_response_free(&r);
    free(big);
    ts_still_serving(f->port);
    assert_true(ts_metric(f->port, "bark_serve_errors_total{endpoint=\"speech\",code=\"400\"} ") >= 17);
}

static void client_leaves_mid_stream(void **state) {
    fixture *f = *state;
    const double before = ts_metric(f->port, "bark_serve_speech_aborted_total{reason=\"client_gone\"} ");
    int fd = ts_dial(f->port);
    assert_true(fd >= 0);
    char *body = ts_speech_body("Nobody will hear the end of this.", 3, "pcm");
    ts_send_request(fd, "POST", "/v1/audio/speech", TS_JSON, body, strlen(body));
    free(body);
    char b[4096];
    assert_true(recv(fd, b, sizeof b, 0) > 0); /* the headers and the first audio */
    close(fd);
    ts_metric_reaches(f->port, "bark_serve_speech_aborted_total{reason=\"client_gone\"} ", before + 1);
    for (int i = 0; i < 200 && ts_metric(f->port, "bark_serve_requests_in_flight ") != 0; i++) usleep(50 * 1000);
    assert_true(ts_metric(f->port, "bark_serve_requests_in_flight ") == 0);
    ts_still_serving(f->port);
}

/* 1,000 connections opened at once, each then asking for /health: each is answered or closed (beyond the
 * connection limit), none hangs, and the server goes on serving. */
static void thousand_connections(void **state) {
    fixture *f = *state;
    enum { N = 1000 };
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < 2 * N + 200) { /* the server's ends are in this process too */
        rl.rlim_cur = rl.rlim_max < 2 * N + 200 ? rl.rlim_max : 2 * N + 200;
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    if (rl.rlim_cur < 2 * N + 200) skip(); /* the hard limit does not allow it here */
    static int fds[N];
    int opened = 0, answered = 0, closed = 0;
    for (int i = 0; i < N; i++) opened += (fds[i] = ts_dial(f->port)) >= 0;
    for (int i = 0; i < N; i++)
        if (fds[i] >= 0) ts_send_request(fds[i], "GET", "/health", "", NULL, 0);
    for (int i = 0; i < N; i++) {
        if (fds[i] < 0) continue;
        ts_response r = {0};
        if (ts_read_response(fds[i], &r) == 0 && r.status == 200) answered++;
        else closed++;
        ts_response_free(&r);
        close(fds[i]);
    }
    print_message("1000 connections: %d opened, %d answered, %d closed by the server\n", opened, answered, closed);
    assert_int_equal(opened, N);
    assert_true(answered >= 256); /* at least the connection limit's worth */
    ts_still_serving(f->port);
}

/* A client that sends half a body and then nothing: its connection is closed after the idle timeout, and the
 * server goes on serving meanwhile and after. */
static void slow_client(void **state) {
    fixture *f = *state;
    serve_config cfg = serve_default_config();
    serve *s = NULL;
    bark_error err = {BARK_OK, ""};
    cfg.ctx = f->ctx, cfg.model = "tiny.gguf", cfg.port = 0, cfg.timeout_seconds = 1;
    assert_int_equal(serve_open(&cfg, &s, &err), BARK_OK);
    const int port = serve_port(s);
    int fd = ts_dial(port);
    assert_true(fd >= 0);
    static const char head[] = "POST /v1/audio/speech HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
                               "\r\nContent-Length: 1000\r\n\r\n{\"model\":\"bark\",";
    assert_int_equal(send(fd, head, sizeof head - 1, MSG_NOSIGNAL), (ssize_t)(sizeof head - 1));
    ts_still_serving(port);
    const double t0 = tu_now();
    char b[256];
    const ssize_t r = recv(fd, b, sizeof b, 0); /* the server's close: 0 (or a reset), not the client's timeout */
    const double waited = tu_now() - t0;
    assert_true(r <= 0);
    assert_true(waited < 4.0);
    close(fd);
    ts_still_serving(port);
    serve_close(s);
}

static void full_queue_and_auth(void **state) {
    fixture *f = *state;
    serve_config cfg = serve_default_config();
    serve *s = NULL;
    bark_error err = {BARK_OK, ""};
    cfg.ctx = f->ctx, cfg.model = "tiny.gguf", cfg.port = 0, cfg.max_queue = 1, cfg.api_key = "sesame";
    cfg.host = "0.0.0.0";
    serve_config open = cfg;
    open.api_key = NULL;
    assert_int_equal(serve_open(&open, &s, &err), BARK_ERR_ARG);
    assert_non_null(strstr(err.msg, "without --api-key"));
    assert_true(serve_host_is_loopback("127.0.0.1") && serve_host_is_loopback("::1"));
    assert_true(serve_host_is_loopback("localhost") && !serve_host_is_loopback("0.0.0.0"));
    cfg.host = "127.0.0.1";
    assert_int_equal(serve_open(&cfg, &s, &err), BARK_OK);
    const int port = serve_port(s);
    ts_response r = ts_http(port, "GET", "/health", "", NULL);
    ts_is_error(&r, 401, "invalid_api_key", "Bearer");
    assert_non_null(strcasestr(r.head, "WWW-Authenticate: Bearer"));
    ts_response_free(&r);
    r = ts_http(port, "GET", "/v1/voices", "Authorization: Bearer sesam\r\n", NULL);
    ts_is_error(&r, 401, "invalid_api_key", NULL);
    ts_response_free(&r);
    r = ts_http(port, "POST", "/v1/audio/speech", TS_JSON "Authorization: Basic sesame\r\n", "{}");
    ts_is_error(&r, 401, "invalid_api_key", NULL);
    ts_response_free(&r);
    r = ts_http(port, "GET", "/health", "Authorization: Bearer sesame\r\n", NULL);
    assert_int_equal(r.status, 200);
    ts_response_free(&r);
    /* the page holds no secret: it is served without the key, and asks for it */
    page_file(port, "/", "", "text/html; charset=utf-8", "id=\"auth\"");
    page_file(port, "/page/app.js", "", "text/javascript; charset=utf-8", "Bearer");
    /* one synthesis holds the only slot: the next request is told to come back */
    int fd = ts_dial(port);
    assert_true(fd >= 0);
    char *body = ts_speech_body("Holding the only slot.", 5, "pcm");
    ts_send_request(fd, "POST", "/v1/audio/speech", TS_JSON "Authorization: Bearer sesame\r\n", body, strlen(body));
    char b[256];
    assert_true(recv(fd, b, sizeof b, 0) > 0);
    r = ts_http(port, "POST", "/v1/audio/speech", TS_JSON "Authorization: Bearer sesame\r\n", body);
    ts_is_error(&r, 503, "server_busy", NULL);
    assert_non_null(strcasestr(r.head, "Retry-After: 1"));
    ts_response_free(&r);
    free(body);
    /* the server stops with that synthesis in flight and its client still connected */
    serve_close(s);
    close(fd);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(endpoints),           cmocka_unit_test(speech_equals_synthesize),
        cmocka_unit_test(concurrent_equal_alone), cmocka_unit_test(bad_requests),
        cmocka_unit_test(client_leaves_mid_stream), cmocka_unit_test(thousand_connections),
        cmocka_unit_test(slow_client),
        cmocka_unit_test(full_queue_and_auth),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
