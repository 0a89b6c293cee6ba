/* serve_client.h: what the `bark serve` suites share: the tiny model opened, a small HTTP/1.1 client over loopback
 * sockets (a timeout on each), the metrics read back, the bytes bark_synthesize makes of a request. */
#ifndef BARK_SERVE_CLIENT_H
#define BARK_SERVE_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "bark.h"

#define TS_VOICE "v2/en_speaker_0"
#define TS_JSON "Content-Type: application/json\r\n"

typedef struct ts_response {
    int status;
    char head[4096];     /* the status line and headers */
    unsigned char *body; /* de-chunked, NUL-terminated */
    size_t len;
} ts_response;

void ts_response_free(ts_response *r);

/* The tiny test model converted into dir/tiny.gguf (its path into model) and opened; 0 or -1 (said on stderr). */
int ts_open_tiny(const char *dir, char *model, size_t cap, bark_context **ctx);
/* A socket connected to 127.0.0.1:port with a timeout on both directions; -1 on failure. */
int ts_dial(int port);
/* Sends a request (headers: extra lines, each ending in \r\n, or ""); send errors are left to the reading. */
void ts_send_request(int fd, const char *method, const char *path, const char *headers, const char *body,
                     size_t blen);
/* Reads the whole response (the server closes after it: Connection: close); 0 or -1. */
int ts_read_response(int fd, ts_response *r);
/* One request, its whole response; fails the test when the exchange itself fails. */
ts_response ts_http(int port, const char *method, const char *path, const char *headers, const char *body);
/* The s16 little-endian bytes bark_synthesize makes of text in TS_VOICE with seed (as the server's WAV/PCM). */
unsigned char *ts_reference(const bark_context *ctx, const char *text, uint64_t seed, size_t *len);
/* A speech request's body in TS_VOICE (malloc'd). */
char *ts_speech_body(const char *text, uint64_t seed, const char *format);
/* GET /health answers {"status":"ok"}. */
/* Checks an error response: the status and {"error": {"message", "type", "code": code}}; message holds `says`. */
void ts_is_error(const ts_response *r, int status, const char *code, const char *says);
void ts_still_serving(int port);
/* The metrics' value of a line starting with `name` (-1 when absent). */
double ts_metric(int port, const char *name);
/* Waits (bounded) until a metric reaches v. */
void ts_metric_reaches(int port, const char *name, double v);

#endif
