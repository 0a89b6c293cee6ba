/* announce.h: the announcement queue of `bark serve` (announce.c) as its HTTP side (announce_api.c) uses it. */
#ifndef BARK_SERVE_ANNOUNCE_H
#define BARK_SERVE_ANNOUNCE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "serve/srv.h"

#define ANN_MAX_CHIME_SECONDS 10 /* a longer chime file is refused */

typedef enum ann_priority { ANN_LOW, ANN_NORMAL, ANN_HIGH, ANN_CRITICAL, ANN_N_PRIORITIES } ann_priority;
extern const char *const ann_priority_names[ANN_N_PRIORITIES];

/* A validated announcement (owned buffers, taken over by ann_add). */
typedef struct ann_request {
    char *text, *voice;
    ann_priority priority;
    float volume;     /* 0..1 */
    float *chime;     /* the chime's samples at 24 kHz, or NULL */
    size_t n_chime;
} ann_request;

/* An announcement request (an object of text, voice, priority, chime, volume, style) checked field by field: 0 with
 * q filled in (owned copies, taken over by ann_add), or -1 with why in r and nothing left allocated in q
 * (announce_api.c; MQTT's payloads come here too). */
int ann_parse(const serve *s, const cJSON *root, ann_request *q, srv_refusal *r);
/* POST /v1/announce's body: one JSON value (srv_parse_body) through ann_parse; the fuzz target's entry too. */
int ann_check(const serve *s, const char *body, size_t len, ann_request *q, srv_refusal *r);
/* 1 when the announcement of that id is over (played, failed, cancelled) or unknown; 0 while it waits or plays. */
int ann_over(srv_announcer *a, uint64_t id);
/* Announcements waiting or playing. */
size_t ann_depth(srv_announcer *a);

/* The real path of the chimes folder, "" when there is none. */
const char *ann_chimes(const srv_announcer *a);
/* Queues q (taken over either way): 0 with its id and its place in the playing order (0: plays next), -1 when the
 * queue holds max_announcements already (or memory ran out: *full is then 0). */
int ann_add(srv_announcer *a, ann_request *q, uint64_t *id, size_t *position, int *full);
/* Cancels a waiting announcement or stops the playing one at once: 0, or -1 for an id not waiting or playing (1 when
 * it is known but over already). */
int ann_cancel(srv_announcer *a, uint64_t id);
/* {"playing": {...} or null, "waiting": [...], "recent": [...]} (malloc'd). */
char *ann_queue_json(srv_announcer *a);

#endif
