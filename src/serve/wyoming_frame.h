/* wyoming_frame.h: the Wyoming protocol's framing (a JSON header line, a data block, a payload), parsed from and
 * written into memory, and the sentence ends that cut a streamed text: pure functions, no sockets. */
#ifndef BARK_WYOMING_FRAME_H
#define BARK_WYOMING_FRAME_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define WY_MAX_LINE (64 * 1024)  /* a header line (with its newline) at most */
#define WY_MAX_DATA (64 * 1024)  /* a data block at most */
#define WY_MAX_PAYLOAD (1 << 20) /* a payload at most */
#define WY_MAX_TYPE 64           /* an event type's bytes at most */
#define WY_VERSION "1.10.2"      /* the version our events carry: the wyoming package tests/wyoming_interop.sh pins */

/* One event: its type, its data (the header's "data" object updated with the separate block's keys; an object, never
 * NULL) and its payload (inside the parsed buffer; NULL when there is none). */
typedef struct wy_event {
    char type[WY_MAX_TYPE + 1];
    cJSON *data;
    const unsigned char *payload;
    size_t payload_len;
} wy_event;

typedef enum wy_result {
    WY_MORE = 0,         /* the event is not whole yet: read more bytes */
    WY_EVENT = 1,        /* an event (wy_event_free it) took *used bytes */
    WY_BAD_EVENT = -1,   /* a bad event took *used bytes: skip them and go on (the framing holds) */
    WY_BAD_STREAM = -2   /* the framing is lost (a header line too long, a length out of bounds): close */
} wy_result;

/* Parses the first event of buf[0, len). On WY_BAD_EVENT and WY_BAD_STREAM, why says what was wrong in one line. */
wy_result wy_parse(const unsigned char *buf, size_t len, wy_event *ev, size_t *used, char *why, size_t cap);
void wy_event_free(wy_event *ev);

/* The header line of an event of that type, data (NULL or an empty object: none) and a payload of payload_len
 * bytes, followed by its data block: malloc'd, *len bytes (the payload itself is the caller's to write). */
char *wy_frame(const char *type, const cJSON *data, size_t payload_len, size_t *len);

/* Where the first whole sentence of text[0, len) ends: just past its end mark (. ! ? or a CJK full stop, with closing
 * quotes and brackets) when blank space follows it, or past a blank line; 0 when no sentence is whole yet. */
size_t wy_sentence_end(const char *text, size_t len);

#endif
