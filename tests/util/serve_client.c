/* serve_client.c: the `bark serve` suites' tiny model, HTTP client and metrics reader (see serve_client.h). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "serve_client.h"
#include "testutil.h"

#define IO_TIMEOUT 120 /* seconds a socket waits for the server at most */
#define MAX_RESPONSE (64u << 20)

int ts_open_tiny(const char *dir, char *model, size_t cap, bark_context **ctx) {
    char out[4096];
    bark_error err = {BARK_OK, ""};
    snprintf(model, cap, "%s/tiny.gguf", dir);
    if (tu_convert_tiny(model, "q8_0", out, sizeof out) || bark_context_open(model, ctx, &err)) {
        fprintf(stderr, "tiny model: %s %s\n", out, err.msg);
        return -1;
    }
    return 0;
}

void ts_response_free(ts_response *r) {
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* A socket connected to 127.0.0.1:port with IO_TIMEOUT on both directions; -1 on failure. */
int ts_dial(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct timeval tv = {IO_TIMEOUT, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends a request (headers: extra lines, each ending in \r\n, or ""); send errors are left to the reading. */
void ts_send_request(int fd, const char *method, const char *path, const char *headers, const char *body,
                         size_t blen) {
    char head[1024];
    int n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s"
                     "Content-Length: %zu\r\n\r\n", method, path, headers, blen);
    if (send(fd, head, (size_t)n, MSG_NOSIGNAL) != n) return;
    for (size_t at = 0; at < blen;) {
        ssize_t k = send(fd, body + at, blen - at, MSG_NOSIGNAL);
        if (k <= 0) return;
        at += (size_t)k;
    }
}

/* Undoes chunked transfer coding in place; -1 when malformed (or cut short). */
static int dechunk(unsigned char *b, size_t *len) {
    size_t in = 0, out = 0;
    for (;;) {
        char *end;
        unsigned long n = strtoul((const char *)b + in, &end, 16);
        const char *crlf = strstr((const char *)b + in, "\r\n");
        if (!crlf || end == (char *)b + in) return -1;
        in = (size_t)((const unsigned char *)crlf - b) + 2;
        if (n == 0) break;
        if (in + n + 2 > *len) return -1;
        memmove(b + out, b + in, n);
        out += n, in += n + 2;
    }
    *len = out;
    b[out] = 0;
    return 0;
}

/* Reads the whole ts_response (the server closes after it: Connection: close). */
int ts_read_response(int fd, ts_response *r) {
    size_t cap = 1 << 16, len = 0;
    unsigned char *b = malloc(cap + 1);
    ssize_t k;
    while (b && (k = recv(fd, b + len, cap - len, 0)) > 0) {
        len += (size_t)k;
        if (len == cap) {
            unsigned char *nb = cap < MAX_RESPONSE ? realloc(b, 2 * cap + 1) : NULL;
            if (!nb) break;
            b = nb, cap *= 2;
        }
    }
    memset(r, 0, sizeof *r);
    if (!b) return -1;
    b[len] = 0;
    const char *sep = strstr((const char *)b, "\r\n\r\n");
    if (!sep || sscanf((const char *)b, "HTTP/1.%*d %d", &r->status) != 1) {
        free(b);
        return -1;
    }
    const size_t hl = (size_t)(sep - (const char *)b);
    snprintf(r->head, sizeof r->head, "%.*s", (int)hl, (const char *)b);
    r->len = len - hl - 4;
    memmove(b, b + hl + 4, r->len + 1);
    r->body = b;
    if (strcasestr(r->head, "Transfer-Encoding: chunked") && dechunk(r->body, &r->len)) return -1;
    return 0;
}

/* One request, its whole ts_response; fails the test when the exchange itself fails. */
ts_response ts_http(int port, const char *method, const char *path, const char *headers, const char *body) {
    ts_response r;
    int fd = ts_dial(port);
    assert_true(fd >= 0);
    ts_send_request(fd, method, path, headers, body, body ? strlen(body) : 0);
    if (ts_read_response(fd, &r)) fail_msg("%s %s: no valid ts_response", method, path);
    close(fd);
    return r;
}

/* The s16 little-endian bytes bark_synthesize makes of the request (bark_audio_to_s16, as the writers do). */
unsigned char *ts_reference(const bark_context *ctx, const char *text, uint64_t seed, size_t *len) {
    bark_synth_params p = bark_synth_default_params();
    tu_pcm pcm = {0};
    p.voice = TS_VOICE, p.seed = seed, p.on_audio = tu_collect, p.audio_user = &pcm;
    bark_error err = {BARK_OK, ""};
    if (bark_synthesize(ctx, text, &p, NULL, &err)) fail_msg("bark_synthesize: %s", err.msg);
    int16_t *s = malloc((pcm.n + 1) * sizeof *s);
    unsigned char *b = malloc(2 * pcm.n + 1);
    assert_non_null(s), assert_non_null(b);
    bark_audio_to_s16(pcm.x, pcm.n, s);
    for (size_t i = 0; i < pcm.n; i++) b[2 * i] = (unsigned char)(s[i] & 0xff), b[2 * i + 1] = (unsigned char)((uint16_t)s[i] >> 8);
    *len = 2 * pcm.n;
    free(s), free(pcm.x);
    return b;
}

char *ts_speech_body(const char *text, uint64_t seed, const char *format) {
    char *b = malloc(1024);
    snprintf(b, 1024, "{\"model\":\"bark\",\"input\":\"%s\",\"voice\":\"" TS_VOICE "\",\"seed\":%llu,"
             "\"response_format\":\"%s\"}", text, (unsigned long long)seed, format);
    return b;
}

void ts_is_error(const ts_response *r, int status, const char *code, const char *says) {
    if (r->status != status) fail_msg("status %d, not %d: %s", r->status, status, r->body);
    assert_non_null(strcasestr(r->head, "Content-Type: application/json"));
    char want[128];
    snprintf(want, sizeof want, "\"code\":\"%s\"", code);
    assert_non_null(strstr((const char *)r->body, "{\"error\":{\"message\":\""));
    assert_non_null(strstr((const char *)r->body, "\"type\":\""));
    if (!strstr((const char *)r->body, want)) fail_msg("no %s in %s", want, r->body);
    if (says && !strstr((const char *)r->body, says)) fail_msg("no '%s' in %s", says, r->body);
}

void ts_still_serving(int port) {
    ts_response h = ts_http(port, "GET", "/health", "", NULL);
    assert_int_equal(h.status, 200);
    assert_non_null(strstr((const char *)h.body, "\"status\":\"ok\""));
    ts_response_free(&h);
}

/* The metrics' value of a line starting with `name` (-1 when absent). */
double ts_metric(int port, const char *name) {
    ts_response m = ts_http(port, "GET", "/metrics", "", NULL);
    const char *at = m.status == 200 ? strstr((const char *)m.body, name) : NULL;
    double v = -1;
    while (at && at != (const char *)m.body && at[-1] != '\n') at = strstr(at + 1, name);
    if (at) v = atof(at + strlen(name));
    ts_response_free(&m);
    return v;
}

/* Waits (bounded) until a metric reaches v. */
void ts_metric_reaches(int port, const char *name, double v) {
    for (int i = 0; i < 600 && ts_metric(port, name) < v; i++) usleep(50 * 1000);
    if (ts_metric(port, name) < v) fail_msg("%s stayed below %g", name, v);
}

