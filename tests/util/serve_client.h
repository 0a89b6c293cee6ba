/* serve_client.h: a small HTTP/1.1 client over loopback sockets for the `bark serve` suites, and the checks they share
 * (error bodies, health, metrics). */
#ifndef BARK_SERVE_CLIENT_H
#define BARK_SERVE_CLIENT_H

#include <stddef.h>

#define JSON "Content-Type: application/json\r\n"

typedef struct response {
    int status;
    char head[4096];     /* the status line and headers */
    unsigned char *body; /* de-chunked, NUL-terminated */
    size_t len;
} response;

void response_free(response *r);
/* A socket connected to 127.0.0.1:port with a time-out (120 s) on both directions; -1 on failure. */
int dial(int port);
/* Sends a request (headers: extra lines, each ending in \r\n, or ""); send errors are left to the reading. */
void send_request(int fd, const char *method, const char *path, const char *headers, const char *body, size_t blen);
/* Reads the whole response (the server closes after it: Connection: close). */
int read_response(int fd, response *r);
/* One request, its whole response; fails the test when the exchange itself fails. */
response http(int port, const char *method, const char *path, const char *headers, const char *body);
/* Checks an error response: the status and {"error": {"message", "type", "code": code}}; message holds `says`. */
void is_error(const response *r, int status, const char *code, const char *says);
/* GET /health answers 200 "ok". */
void still_serving(int port);
/* The metrics' value of a line starting with `name` (-1 when absent). */
double metric(int port, const char *name);
/* Waits (bounded) until a metric reaches v. */
void metric_reaches(int port, const char *name, double v);

#endif
