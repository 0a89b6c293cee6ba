/* mqtt.c: `bark serve --mqtt`: announcements over MQTT (libmosquitto): Rhasspy's hermes/tts/say (answered with
 * hermes/tts/sayFinished once played) and bark/<site>/announce into the announcement queue; a retained
 * bark/<site>/status (online with the queue's depth, offline as the last will); reconnection with backoff. */
#include <cjson/cJSON.h>
#include <mosquitto.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve/mqtt_payload.h"

#define QOS 1
#define KEEPALIVE_S 30
#define RECONNECT_MIN_S 1
#define RECONNECT_MAX_S 30
#define POLL_MS 100
#define MAX_PENDING 256 /* hermes/tts/say messages waiting for their sayFinished at most */
#define SILENT_S 5      /* without a broker this long, one line says so */

/* A hermes/tts/say in the queue: its announcement, and the id and sessionId sayFinished gives back. */
typedef struct say_pending {
    uint64_t ann;
    char *id, *session;
} say_pending;

struct srv_mqtt {
    serve *s;
    struct mosquitto *m;
    char site[128], say_topic[64], announce_topic[200], status_topic[200], broker[300];
    pthread_t th;
    int loop, started, lib; /* the network thread, the watcher, mosquitto_lib_init */
    atomic_int stop, connected;
    pthread_mutex_t mu; /* pending */
    say_pending pending[MAX_PENDING];
    size_t n_pending;
};

static void publish_json(srv_mqtt *q, const char *topic, cJSON *o, int retain) {
    char *p = o ? cJSON_PrintUnformatted(o) : NULL;
    if (p) mosquitto_publish(q->m, NULL, topic, (int)strlen(p), p, QOS, retain);
    free(p);
    cJSON_Delete(o);
}

/* The retained status: {"state": "online" or "offline", "site", "queue": depth}. */
static cJSON *status(srv_mqtt *q, int online) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "state", online ? "online" : "offline");
    cJSON_AddStringToObject(o, "site", q->site);
    if (online) cJSON_AddNumberToObject(o, "queue", (double)ann_depth(q->s->announcer));
    return o;
}

static void say_finished(srv_mqtt *q, const char *id, const char *session) {
    cJSON *o = cJSON_CreateObject();
    if (id) cJSON_AddStringToObject(o, "id", id);
    else cJSON_AddNullToObject(o, "id");
    if (session) cJSON_AddStringToObject(o, "sessionId", session);
    else cJSON_AddNullToObject(o, "sessionId");
    cJSON_AddStringToObject(o, "siteId", q->site);
    publish_json(q, "hermes/tts/sayFinished", o, 0);
}

static void on_connect(struct mosquitto *m, void *user, int rc) {
    srv_mqtt *q = user;
    if (rc) {
        fprintf(stderr, "bark serve: mqtt: the broker refused the connection: %s\n", mosquitto_connack_string(rc));
        return;
    }
    fprintf(stderr, "bark serve: mqtt: connected to %s (site %s)\n", q->s->cfg.mqtt_host, q->site);
    atomic_store(&q->connected, 1);
    mosquitto_subscribe(m, NULL, q->say_topic, QOS);
    mosquitto_subscribe(m, NULL, q->announce_topic, QOS);
    publish_json(q, q->status_topic, status(q, 1), 1);
}

static void on_disconnect(struct mosquitto *m, void *user, int rc) {
    srv_mqtt *q = user;
    atomic_store(&q->connected, 0);
    if (rc && !atomic_load(&q->stop))
        fprintf(stderr, "bark serve: mqtt: lost the broker (%s); reconnecting within %d s\n", mosquitto_strerror(rc),
                RECONNECT_MAX_S);
}

/* A checked announcement (taken over) into the queue: its id, or 0 (said on stderr). */
static uint64_t enqueue(srv_mqtt *q, const char *topic, ann_request *r) {
    uint64_t id = 0;
    size_t position;
    int full;
    if (ann_add(q->s->announcer, r, &id, &position, &full)) {
        fprintf(stderr, "bark serve: mqtt: %s: refused: %s\n", topic, full ? "the announcement queue is full"
                                                                              : "out of memory");
        id = 0;
    }
    memset(r, 0, sizeof *r);
    return id;
}

/* hermes/tts/say is answered with hermes/tts/sayFinished once it has played (at once when it is refused, so that a
 * dialogue does not wait for ever); bark/<site>/announce with the status when it is queued. */
static void on_message(struct mosquitto *m, void *user, const struct mosquitto_message *msg) {
    srv_mqtt *q = user;
    const int say = !strcmp(msg->topic, q->say_topic);
    mqtt_msg p;
    const mqtt_verdict v = mqtt_parse(q->s, q->site, say, msg->payload, msg->payloadlen, &p);
    if (v == MQTT_NOT_JSON || v == MQTT_REFUSED)
        fprintf(stderr, "bark serve: mqtt: %.200s: %s%s\n", msg->topic, v == MQTT_REFUSED ? "refused: " : "",
                p.why.msg);
    const uint64_t ann = v == MQTT_ANNOUNCE ? enqueue(q, msg->topic, &p.req) : 0;
    if (say && (v == MQTT_ANNOUNCE || v == MQTT_REFUSED)) {
        pthread_mutex_lock(&q->mu);
        const int kept = ann && q->n_pending < MAX_PENDING;
        if (kept) {
            q->pending[q->n_pending++] = (say_pending){ann, p.id, p.session};
            p.id = p.session = NULL;
        }
        pthread_mutex_unlock(&q->mu);
        if (!kept) say_finished(q, p.id, p.session);
    } else if (ann) {
        publish_json(q, q->status_topic, status(q, 1), 1);
    }
    mqtt_msg_free(&p);
}

/* Publishes sayFinished for the hermes/tts/say messages played, and the status when the queue's depth changes; says
 * once when no broker answered for SILENT_S. */
static void *watch_main(void *arg) {
    srv_mqtt *q = arg;
    size_t depth = 0;
    double away = srv_now();
    int said = 0;
    const struct timespec tick = {0, POLL_MS * 1000000L};
    while (!atomic_load(&q->stop)) {
        nanosleep(&tick, NULL);
        if (atomic_load(&q->connected)) away = srv_now(), said = 0;
        else if (!said && srv_now() - away > SILENT_S)
            said = 1, fprintf(stderr, "bark serve: mqtt: no broker at %s for %d s; still trying\n", q->broker, SILENT_S);
        pthread_mutex_lock(&q->mu);
        for (size_t i = 0; i < q->n_pending;) {
            say_pending p = q->pending[i];
            if (!ann_over(q->s->announcer, p.ann)) {
                i++;
                continue;
            }
            q->pending[i] = q->pending[--q->n_pending];
            pthread_mutex_unlock(&q->mu);
            say_finished(q, p.id, p.session);
            free(p.id), free(p.session);
            pthread_mutex_lock(&q->mu);
        }
        pthread_mutex_unlock(&q->mu);
        const size_t d = ann_depth(q->s->announcer);
        if (d != depth && atomic_load(&q->connected)) publish_json(q, q->status_topic, status(q, 1), 1);
        depth = d;
    }
    return NULL;
}

/* "HOST", "HOST:PORT" or "[IPv6]:PORT" into host and port (0 when none is given); -1 when malformed. */
static int split_host(const char *spec, char *host, size_t cap, int *port) {
    const char *h = spec, *colon = strchr(spec, ':');
    size_t n = strlen(spec);
    *port = 0;
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (!close || (close[1] && close[1] != ':')) return -1;
        h = spec + 1, n = (size_t)(close - h), colon = close[1] ? close + 1 : NULL;
    } else if (colon && strchr(colon + 1, ':')) {
        colon = NULL; /* a bare IPv6 address */
    } else if (colon) {
        n = (size_t)(colon - spec);
    }
    if (colon) {
        char *end;
        const long p = strtol(colon + 1, &end, 10);
        if (*end || p < 1 || p > 65535) return -1;
        *port = (int)p;
    }
    if (!n || n >= cap) return -1;
    memcpy(host, h, n), host[n] = '\0';
    return 0;
}

bark_status srv_mqtt_open(serve *s, bark_error *err) {
    const serve_config *c = &s->cfg;
    if (!s->announcer) {
        snprintf(err->msg, sizeof err->msg, "--mqtt needs the loudspeaker (it is off: --no-speaker)");
        return err->status = BARK_ERR_ARG;
    }
    srv_mqtt *q = calloc(1, sizeof *q);
    if (!q) return err->status = BARK_ERR_NOMEM;
    q->s = s;
    atomic_init(&q->stop, 0), atomic_init(&q->connected, 0);
    pthread_mutex_init(&q->mu, NULL);
    s->mqtt = q;
    char host[256], id[200];
    int port;
    snprintf(q->site, sizeof q->site, "%s", c->mqtt_site && *c->mqtt_site ? c->mqtt_site : "default");
    if (strpbrk(q->site, "/+#") || split_host(c->mqtt_host, host, sizeof host, &port)) {
        snprintf(err->msg, sizeof err->msg, strpbrk(q->site, "/+#") ? "the MQTT site '%.100s' has / + or # in it"
                 : "--mqtt '%.200s' is not HOST or HOST:PORT", strpbrk(q->site, "/+#") ? q->site : c->mqtt_host);
        return err->status = BARK_ERR_ARG;
    }
    if (!port) port = c->mqtt_cafile ? 8883 : 1883;
    snprintf(q->broker, sizeof q->broker, "%s:%d", host, port);
    snprintf(q->say_topic, sizeof q->say_topic, "hermes/tts/say");
    snprintf(q->announce_topic, sizeof q->announce_topic, "bark/%s/announce", q->site);
    snprintf(q->status_topic, sizeof q->status_topic, "bark/%s/status", q->site);
    snprintf(id, sizeof id, "bark-%s", q->site);
    mosquitto_lib_init();
    q->lib = 1;
    cJSON *will = status(q, 0);
    char *will_text = cJSON_PrintUnformatted(will);
    cJSON_Delete(will);
    const char *what = NULL;
    int rc = MOSQ_ERR_SUCCESS;
    if (!(q->m = mosquitto_new(id, false, q)) || !will_text) what = "cannot make an MQTT client", rc = MOSQ_ERR_NOMEM;
    else if ((rc = mosquitto_will_set(q->m, q->status_topic, (int)strlen(will_text), will_text, QOS, true)))
        what = "cannot set the last will";
    else if ((c->mqtt_user || c->mqtt_password) &&
             (rc = mosquitto_username_pw_set(q->m, c->mqtt_user, c->mqtt_password)))
        what = "cannot set the MQTT user and password";
    else if (c->mqtt_cafile && (rc = mosquitto_tls_set(q->m, c->mqtt_cafile, NULL, NULL, NULL, NULL)))
        what = "cannot use the TLS CA file";
    free(will_text);
    if (!what) {
        mosquitto_connect_callback_set(q->m, on_connect);
        mosquitto_disconnect_callback_set(q->m, on_disconnect);
        mosquitto_message_callback_set(q->m, on_message);
        mosquitto_reconnect_delay_set(q->m, RECONNECT_MIN_S, RECONNECT_MAX_S, true);
        rc = mosquitto_connect_async(q->m, host, port, KEEPALIVE_S);
        if (rc && rc != MOSQ_ERR_ERRNO) what = "cannot connect to the MQTT broker"; /* ERRNO: retried, said later */
    }
    if (!what && (rc = mosquitto_loop_start(q->m))) what = "cannot start the MQTT thread";
    q->loop = !what;
    if (!what && pthread_create(&q->th, NULL, watch_main, q)) what = "cannot start the MQTT watcher", rc = MOSQ_ERR_NOMEM;
    if (what) {
        snprintf(err->msg, sizeof err->msg, "%s (%.200s:%d): %s%s", what, host, port, mosquitto_strerror(rc),
                 rc == MOSQ_ERR_TLS ? " (is --mqtt-cafile the CA of the broker's certificate, and the broker's name "
                                      "the one in it?)" : "");
        return err->status = rc == MOSQ_ERR_NOMEM ? BARK_ERR_NOMEM : BARK_ERR_ARG;
    }
    q->started = 1;
    return BARK_OK;
}

void srv_mqtt_close(srv_mqtt *q) {
    if (!q) return;
    atomic_store(&q->stop, 1);
    if (q->started) pthread_join(q->th, NULL);
    if (q->loop) {
        if (atomic_load(&q->connected)) publish_json(q, q->status_topic, status(q, 0), 1);
        mosquitto_disconnect(q->m);
        mosquitto_loop_stop(q->m, false);
    }
    if (q->m) mosquitto_destroy(q->m);
    if (q->lib) mosquitto_lib_cleanup();
    for (size_t i = 0; i < q->n_pending; i++) free(q->pending[i].id), free(q->pending[i].session);
    pthread_mutex_destroy(&q->mu);
    free(q);
}
