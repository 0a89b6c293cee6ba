/* fuzz_wyoming.c: libFuzzer target for the Wyoming framing (wy_parse over a byte stream, event after event) and
 * wy_sentence_end; what parses is written back with wy_frame and must parse the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve/wyoming_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ev written back and parsed again: the same type, data (as printed) and payload. */
static void round_trip(const wy_event *ev) {
    size_t n, used;
    char *f = wy_frame(ev->type, ev->data, ev->payload_len, &n), why[200];
    if (!f) return; /* out of memory */
    unsigned char *all = malloc(n + ev->payload_len + 1);
    memcpy(all, f, n);
    if (ev->payload_len) memcpy(all + n, ev->payload, ev->payload_len);
    wy_event back;
    if (wy_parse(all, n + ev->payload_len, &back, &used, why, sizeof why) != WY_EVENT) abort();
    char *a = cJSON_PrintUnformatted(ev->data), *b = cJSON_PrintUnformatted(back.data);
    if (used != n + ev->payload_len || strcmp(back.type, ev->type) || back.payload_len != ev->payload_len ||
        (a && b && strcmp(a, b)))
        abort();
    free(a), free(b);
    wy_event_free(&back);
    free(all);
    free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t at = 0, used;
    char why[200];
    while (at < size) {
        wy_event ev;
        const wy_result r = wy_parse(data + at, size - at, &ev, &used, why, sizeof why);
        if (r == WY_MORE || r == WY_BAD_STREAM) break;
        if (used == 0 || used > size - at) abort(); /* every event or bad event moves on, inside the bytes */
        if (r == WY_EVENT) {
            if (!ev.data || (ev.payload_len && (ev.payload < data + at || ev.payload + ev.payload_len > data + at + used)))
                abort();
            round_trip(&ev);
            wy_event_free(&ev);
        }
        at += used;
    }
    const size_t end = wy_sentence_end((const char *)data, size);
    if (end > size) abort();
    return 0;
}
