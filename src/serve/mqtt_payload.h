/* mqtt_payload.h: what an MQTT message asks of `bark serve --mqtt`, checked before anything is queued. */
#ifndef BARK_SERVE_MQTT_PAYLOAD_H
#define BARK_SERVE_MQTT_PAYLOAD_H

#include "serve/announce.h"

typedef enum mqtt_verdict {
    MQTT_ANNOUNCE,    /* m->req holds a valid announcement */
    MQTT_REFUSED,     /* m->why says why (ann_parse's checks) */
    MQTT_NOT_JSON,    /* the payload is not one JSON object: m->why says so; ignored */
    MQTT_OTHER_SITE,  /* a hermes/tts/say for another site: ignored silently */
} mqtt_verdict;

typedef struct mqtt_msg {
    ann_request req;
    char *id, *session; /* a hermes/tts/say's id and sessionId for its sayFinished (owned; NULL when absent) */
    srv_refusal why;
} mqtt_msg;

/* The payload (len bytes, untrusted) of a message on hermes/tts/say (say = 1: {text, lang, id, siteId, sessionId}
 * for this site) or on bark/<site>/announce (say = 0: POST /v1/announce's object) into m; the verdict. m is always
 * filled in (mqtt_msg_free); the fuzz target's entry too. */
mqtt_verdict mqtt_parse(const serve *s, const char *site, int say, const void *payload, int len, mqtt_msg *m);
/* Frees what m owns (what ann_add did not take over). */
void mqtt_msg_free(mqtt_msg *m);

#endif
