/* reply.c: every response of `bark serve` is queued here (and counted); JSON bodies and OpenAI-shaped errors. */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve/srv.h"

double srv_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

enum MHD_Result srv_queue(struct MHD_Connection *c, serve *s, srv_endpoint ep, unsigned status,
                          struct MHD_Response *r) {
    if (!r) return MHD_NO;
    srv_metrics_count(&s->metrics, ep, status);
    enum MHD_Result res = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return res;
}

enum MHD_Result srv_reply_json(struct MHD_Connection *c, serve *s, srv_endpoint ep, unsigned status, char *json) {
    if (!json) return MHD_NO;
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(json), json, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(json);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (status == MHD_HTTP_UNAUTHORIZED) MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, srv_endpoint_allow(ep));
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE && ep == SRV_SPEECH) MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    if (status == MHD_HTTP_TOO_MANY_REQUESTS) MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "10");
    return srv_queue(c, s, ep, status, r);
}

/* OpenAI's error types by status. */
static const char *error_type(unsigned status) {
    switch (status) {
    case MHD_HTTP_UNAUTHORIZED: return "authentication_error";
    case MHD_HTTP_NOT_FOUND: return "not_found_error";
    case MHD_HTTP_SERVICE_UNAVAILABLE: return "server_overloaded";
    case MHD_HTTP_TOO_MANY_REQUESTS: return "rate_limit_error";
    default: return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

enum MHD_Result srv_reply_error(struct MHD_Connection *c, serve *s, srv_endpoint ep, unsigned status,
                                const char *code, const char *param, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *root = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(root, "error");
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddStringToObject(e, "type", error_type(status));
    if (param) cJSON_AddStringToObject(e, "param", param);
    else cJSON_AddNullToObject(e, "param");
    cJSON_AddStringToObject(e, "code", code);
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return srv_reply_json(c, s, ep, status, json);
}

int srv_refuse(srv_refusal *r, const char *code, const char *param, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
    r->code = code, r->param = param;
    return -1;
}
