/* mqtt_payload.c: an MQTT message's payload (Rhasspy's hermes/tts/say or bark/<site>/announce) into an announcement
 * request, or why not. */
#include "serve/mqtt_payload.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const char *string_of(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* hermes/tts/say: for this site (or none named), its text in the model's first voice of its lang. */
static mqtt_verdict hermes_say(const serve *s, const char *site, const cJSON *msg, mqtt_msg *m) {
    const char *at = string_of(msg, "siteId"), *id = string_of(msg, "id"), *session = string_of(msg, "sessionId");
    if (at && strcmp(at, site)) return MQTT_OTHER_SITE;
    if ((id && !(m->id = strdup(id))) || (session && !(m->session = strdup(session)))) {
        srv_refuse(&m->why, "out_of_memory", NULL, "out of memory");
        return MQTT_REFUSED;
    }
    cJSON *body = cJSON_CreateObject();
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(msg, "text");
    const char *voice = srv_voice_for_language(s, string_of(msg, "lang"));
    if (body && text) cJSON_AddItemToObject(body, "text", cJSON_Duplicate(text, 1));
    if (body && voice) cJSON_AddStringToObject(body, "voice", voice);
    const int bad = body ? ann_parse(s, body, &m->req, &m->why)
                         : srv_refuse(&m->why, "out_of_memory", NULL, "out of memory");
    cJSON_Delete(body);
    return bad ? MQTT_REFUSED : MQTT_ANNOUNCE;
}

mqtt_verdict mqtt_parse(const serve *s, const char *site, int say, const void *payload, int len, mqtt_msg *m) {
    memset(m, 0, sizeof *m);
    cJSON *msg = len > 0 ? srv_parse_body(payload, (size_t)len, &m->why) : NULL; /* one value, nothing after it */
    mqtt_verdict v;
    if (!cJSON_IsObject(msg)) {
        srv_refuse(&m->why, "invalid_json", NULL, "the payload (%d bytes) is not a JSON object; ignored", len);
        v = MQTT_NOT_JSON;
    } else if (say) {
        v = hermes_say(s, site, msg, m);
    } else {
        v = ann_parse(s, msg, &m->req, &m->why) ? MQTT_REFUSED : MQTT_ANNOUNCE;
    }
    cJSON_Delete(msg);
    return v;
}

void mqtt_msg_free(mqtt_msg *m) {
    free(m->req.text), free(m->req.voice), free(m->req.chime);
    free(m->id), free(m->session);
    memset(m, 0, sizeof *m);
}
