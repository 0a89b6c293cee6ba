/* daemon.c: `bark serve`'s HTTP daemon (libmicrohttpd, a thread per connection): start, stop, auth, routing,
 * request bodies up to srv_max_body. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "serve/srv.h"

/* One request's state between libmicrohttpd's calls. */
typedef struct srv_request {
    srv_endpoint ep;
    char *body;
    size_t len;
    int too_big, no_memory; /* the body is dropped: over SRV_MAX_BODY (413), or no room for it (503) */
} srv_request;

static const char *const paths[SRV_N_ENDPOINTS] = {"/v1/audio/speech", "/v1/voices", "/health", "/metrics",
                                                    "/v1/announce", "/v1/queue", "/v1/cache", "/", NULL};
static const char *const names[SRV_N_ENDPOINTS] = {"speech", "voices", "health", "metrics", "announce", "queue",
                                                    "cache", "page", "other"};
static const char *const allowed[SRV_N_ENDPOINTS] = {"POST", "GET, HEAD, POST", "GET, HEAD", "GET, HEAD", "POST",
                                                      "GET, HEAD, DELETE", "GET, HEAD, DELETE", "GET, HEAD", ""};

const char *srv_endpoint_name(srv_endpoint e) { return names[e]; }
const char *srv_endpoint_allow(srv_endpoint e) { return allowed[e]; }

/* The endpoint of a path: one of paths, or /v1/queue/{id} for the queue. */
static srv_endpoint route(const char *url) {
    for (int e = 0; e < SRV_OTHER; e++)
        if (!strcmp(url, paths[e])) return (srv_endpoint)e;
    if (!strncmp(url, "/page/", 6)) return SRV_PAGE;
    return !strncmp(url, "/v1/queue/", 10) ? SRV_QUEUE : SRV_OTHER;
}

/* Whether the endpoint answers the method (as srv_endpoint_allow lists them). */
static int method_allowed(srv_endpoint e, const char *method) {
    const char *at = strstr(allowed[e], method);
    const size_t n = strlen(method);
    return n && at && (at == allowed[e] || at[-1] == ' ') && (at[n] == ',' || at[n] == '\0');
}

serve_config serve_default_config(void) {
    serve_config c = {0};
    c.host = "127.0.0.1", c.port = 5002;
    return c;
}

struct addrinfo *srv_resolve(const char *host, int port) {
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC, hints.ai_socktype = SOCK_STREAM, hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    return getaddrinfo(host, p, &hints, &res) ? NULL : res;
}

static int loopback(const struct sockaddr *a) {
    if (a->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 24) == 127;
    if (a->sa_family == AF_INET6) {
        const struct in6_addr *x = &((const struct sockaddr_in6 *)a)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(x) || (IN6_IS_ADDR_V4MAPPED(x) && x->s6_addr[12] == 127);
    }
    return 0;
}

int serve_host_is_loopback(const char *host) {
    struct addrinfo *res = srv_resolve(host, 0);
    int all = res != NULL;
    for (const struct addrinfo *a = res; a; a = a->ai_next) all &= loopback(a->ai_addr);
    if (res) freeaddrinfo(res);
    return all;
}

/* Takes a POST body's next bytes (beyond srv_max_body they are dropped and the request marked). */
static void take_body(srv_request *r, const char *data, size_t n) {
    if (r->too_big || r->no_memory || r->len + n > srv_max_body(r->ep)) {
        r->too_big = !r->no_memory;
        return;
    }
    if (!r->body && !(r->body = malloc(srv_max_body(r->ep) + 1))) {
        r->no_memory = 1;
        return;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
}

/* The checks a request gets before its body: auth (not for the page: it asks for the key), path, method, announced
 * length. 0: go on. */
static int refused_early(serve *s, struct MHD_Connection *c, srv_request *r, const char *method,
                         enum MHD_Result *res) {
    const int post = !strcmp(method, "POST");
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (r->ep != SRV_PAGE && !srv_authorized(s, c))
        *res = srv_reply_error(c, s, r->ep, MHD_HTTP_UNAUTHORIZED, "invalid_api_key", NULL,
                               "missing or wrong API key: send 'Authorization: Bearer <key>'");
    else if (r->ep == SRV_OTHER)
        *res = srv_reply_error(c, s, r->ep, MHD_HTTP_NOT_FOUND, "not_found", NULL,
                               "no such endpoint (POST /v1/audio/speech, GET /v1/voices, /health, /metrics, POST "
                               "/v1/announce, GET /v1/queue, DELETE /v1/queue/{id}, GET or DELETE /v1/cache, / the page)");
    else if (!method_allowed(r->ep, method))
        *res = srv_reply_error(c, s, r->ep, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", NULL,
                               "%.16s is not allowed here: use %s", method, allowed[r->ep]);
    else if (post && cl && strtoull(cl, NULL, 10) > srv_max_body(r->ep))
        *res = srv_reply_error(c, s, r->ep, MHD_HTTP_CONTENT_TOO_LARGE, "body_too_large", NULL,
                               "the body is %.20s bytes; the most is %zu", cl, srv_max_body(r->ep));
    else return 0;
    return 1;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **req_cls) {
    serve *s = cls;
    srv_request *r = *req_cls;
    enum MHD_Result res;
    if (!r) {
        if (!(r = calloc(1, sizeof *r))) return MHD_NO;
        *req_cls = r;
        r->ep = route(url);
        if (refused_early(s, c, r, method, &res)) return res;
        return MHD_YES; /* answered once the request is whole (the connection can then stay open) */
    }
    if (*upload_size) {
        take_body(r, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->ep == SRV_PAGE) return srv_page(s, c, url);
    if (r->ep == SRV_CACHE) return srv_cache_endpoint(s, c, method);
    if (r->too_big)
        return srv_reply_error(c, s, r->ep, MHD_HTTP_CONTENT_TOO_LARGE, "body_too_large", NULL,
                               "the body is over %zu bytes", srv_max_body(r->ep));
    if (r->no_memory)
        return srv_reply_error(c, s, r->ep, MHD_HTTP_SERVICE_UNAVAILABLE, "out_of_memory", NULL,
                               "out of memory: try again later");
    if (r->ep == SRV_ANNOUNCE || r->ep == SRV_QUEUE)
        return srv_announce(s, c, r->ep, method, url, r->body ? r->body : "", r->len);
    if (r->ep == SRV_VOICES && !strcmp(method, "POST")) return srv_voices_add(s, c, r->body, r->len);
    if (r->ep != SRV_SPEECH) return srv_info(s, c, r->ep);
    return srv_speech(s, c, r->body ? r->body : "", r->len);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls, enum MHD_RequestTerminationCode why) {
    srv_request *r = *req_cls;
    if (!r) return;
    free(r->body);
    free(r);
    *req_cls = NULL;
}

/* Binds and starts the daemon on s->host:s->cfg.port. */
static bark_status start_daemon(serve *s, bark_error *err) {
    struct addrinfo *a = srv_resolve(s->host, s->cfg.port);
    if (!a) {
        snprintf(err->msg, sizeof err->msg, "cannot resolve the address '%.200s'", s->host);
        return err->status = BARK_ERR_ARG;
    }
    const unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
                           (a->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    s->daemon = MHD_start_daemon(flags, (uint16_t)s->cfg.port, NULL, NULL, on_request, s,
                                 MHD_OPTION_SOCK_ADDR, a->ai_addr,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->cfg.max_connections,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->cfg.timeout_seconds,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                                 MHD_OPTION_END);
    freeaddrinfo(a);
    const union MHD_DaemonInfo *di = s->daemon ? MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (!di) {
        snprintf(err->msg, sizeof err->msg, "cannot listen on %.200s port %d (in use, or not an address of this "
                 "machine?)", s->host, s->cfg.port);
        return err->status = BARK_ERR_IO;
    }
    s->port = di->port;
    return BARK_OK;
}

/* The cache in cfg.cache_dir, keyed by the model file's SHA-256; on failure it stays off, cache_problem says why. */
static void open_cache(serve *s) {
    unsigned char digest[32];
    char engine[160];
    if (!s->cfg.model || sha256_file(s->cfg.model, digest)) {
        snprintf(s->cache_problem, sizeof s->cache_problem, "cannot read the model file %.400s to digest it",
                 s->cfg.model ? s->cfg.model : "(none given)");
        return;
    }
    snprintf(engine, sizeof engine, "gemm %d isa %.100s", (int)s->cfg.gemm, s->cfg.isa ? s->cfg.isa : "auto");
    s->cache = srv_cache_open(s->cfg.cache_dir, digest, engine, s->cfg.cache_max_bytes, s->cache_problem,
                              sizeof s->cache_problem);
}

bark_status serve_open(const serve_config *cfg, serve **out, bark_error *err) {
    *out = NULL;
    srv_json_hooks();
    serve *s = calloc(1, sizeof *s);
    if (!s) return err->status = BARK_ERR_NOMEM;
    s->cfg = *cfg;
    snprintf(s->host, sizeof s->host, "%s", cfg->host ? cfg->host : "127.0.0.1");
    snprintf(s->api_key, sizeof s->api_key, "%s", cfg->api_key ? cfg->api_key : "");
    const char *slash = cfg->model ? strrchr(cfg->model, '/') : NULL;
    snprintf(s->model_name, sizeof s->model_name, "%s", slash ? slash + 1 : cfg->model ? cfg->model : "bark");
    if (s->cfg.max_queue <= 0) s->cfg.max_queue = 16;
    if (s->cfg.max_connections <= 0) s->cfg.max_connections = 256;
    if (s->cfg.timeout_seconds <= 0) s->cfg.timeout_seconds = 30;
    if (!s->cfg.cache_max_bytes) s->cfg.cache_max_bytes = (uint64_t)1 << 30;
    atomic_init(&s->stopping, 0);
    pthread_mutex_init(&s->mu, NULL);
    srv_metrics_init(&s->metrics);
    s->started = srv_now();
    bark_status st = BARK_OK;
    if (cfg->api_key && strlen(cfg->api_key) >= sizeof s->api_key) {
        snprintf(err->msg, sizeof err->msg, "the API key is longer than %zu bytes", sizeof s->api_key - 1);
        st = err->status = BARK_ERR_ARG;
    } else if (!s->api_key[0] && !serve_host_is_loopback(s->host)) {
        snprintf(err->msg, sizeof err->msg, "refusing to listen on %.200s without --api-key (only loopback "
                 "addresses are served without one)", s->host);
        st = err->status = BARK_ERR_ARG;
    }
    if (!st && !(s->slots = calloc((size_t)s->cfg.max_queue, sizeof *s->slots))) st = err->status = BARK_ERR_NOMEM;
    s->ctx = cfg->ctx;
    bark_engine_params ep = bark_engine_default_params();
    if (cfg->max_batch > 0) ep.max_batch = cfg->max_batch;
    ep.n_threads = cfg->n_threads, ep.isa = cfg->isa, ep.gemm = cfg->gemm;
    if (!st) st = bark_engine_open(s->ctx, &ep, &s->engine, err);
    if (!st) st = srv_announcer_open(s, err);
    if (!st && cfg->cache_dir) open_cache(s);
    if (!st) st = start_daemon(s, err);
    if (!st && cfg->wyoming) st = srv_wyoming_open(s, err);
    if (!st && cfg->mqtt_host) st = srv_mqtt_open(s, err);
    if (st) {
        serve_close(s);
        return st;
    }
    *out = s;
    return BARK_OK;
}

int serve_port(const serve *s) { return s->port; }

int serve_wyoming_port(const serve *s) { return s->wyoming ? s->wyoming_port : 0; }

const char *serve_cache_problem(const serve *s) { return s->cache_problem[0] ? s->cache_problem : NULL; }

void serve_close(serve *s) {
    if (!s) return;
    atomic_store(&s->stopping, 1);
    if (s->daemon) MHD_stop_daemon(s->daemon);
    srv_wyoming_close(s->wyoming);
    srv_mqtt_close(s->mqtt);
    if (s->slots) srv_join_all(s);
    srv_announcer_close(s->announcer);
    srv_warm_join(s);
    bark_engine_free(s->engine);
    srv_cache_close(s->cache);
    free(s->slots);
    srv_metrics_free(&s->metrics);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
