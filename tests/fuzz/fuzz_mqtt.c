/* fuzz_mqtt.c: libFuzzer target for the payloads `bark serve --mqtt` takes (mqtt_parse): the first byte picks the
 * topic (hermes/tts/say or bark/<site>/announce), the rest is the payload. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve/mqtt_payload.h"
#include "tiny_model.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static serve g_serve;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_tiny_server(&g_serve, "fuzz_mqtt");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!size || size - 1 > INT32_MAX) return 0;
    const int say = data[0] & 1;
    /* the payload in a buffer of its own, as mosquitto hands it over (one byte more, a NUL) */
    char *payload = malloc(size);
    if (!payload) return 0;
    memcpy(payload, data + 1, size - 1);
    payload[size - 1] = '\0';
    mqtt_msg m;
    const mqtt_verdict v = mqtt_parse(&g_serve, "kiosk", say, payload, (int)(size - 1), &m);
    const ann_request *q = &m.req;
    const int nothing = !q->text && !q->voice && !q->chime;
    switch (v) {
    case MQTT_ANNOUNCE:
        if (!q->text || !q->voice || !srv_known_voice(&g_serve, q->voice) || !(q->priority < ANN_N_PRIORITIES) ||
            !(q->volume >= 0 && q->volume <= 1) || (q->n_chime && !q->chime))
            abort();
        break;
    case MQTT_REFUSED:
        if (!m.why.code || !m.why.msg[0] || !nothing) abort();
        break;
    case MQTT_NOT_JSON:
        if (!m.why.msg[0] || !nothing || m.id || m.session) abort();
        break;
    case MQTT_OTHER_SITE:
        if (!say || !nothing || m.id || m.session) abort();
        break;
    default:
        abort();
    }
    if (!say && (m.id || m.session)) abort(); /* only hermes/tts/say carries them */
    mqtt_msg_free(&m);
    free(payload);
    return 0;
}
