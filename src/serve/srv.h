/* srv.h: what the files of `bark serve` share: the server's state, the endpoints, replies, metrics, limits. */
#ifndef BARK_SRV_H
#define BARK_SRV_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "core/sha256.h"
#include "serve/serve.h"

#define SRV_MAX_BODY (64 * 1024) /* a request body beyond this is answered 413 */
#define SRV_MAX_INPUT 4096       /* characters of a speech input, as OpenAI's limit */
#define SRV_CACHE_LIST_MAX 1000  /* entries GET /v1/cache lists at most */

/* The endpoints, for routing and the metrics' labels. */
typedef enum srv_endpoint {
    SRV_SPEECH, SRV_VOICES, SRV_HEALTH, SRV_METRICS, SRV_ANNOUNCE, SRV_QUEUE, SRV_CACHE,
    SRV_PAGE, /* the operator page: / and /page/... */
    SRV_OTHER, SRV_N_ENDPOINTS
} srv_endpoint;
const char *srv_endpoint_name(srv_endpoint e);
/* The methods an endpoint answers ("POST", "GET, HEAD", ...), as the Allow header lists them. */
const char *srv_endpoint_allow(srv_endpoint e);

/* Time-to-first-audio and real-time-factor histograms (Prometheus buckets). */
#define SRV_N_BUCKETS 9
typedef struct srv_hist {
    const double *le; /* SRV_N_BUCKETS upper bounds, +Inf apart */
    uint64_t bucket[SRV_N_BUCKETS], count;
    double sum;
} srv_hist;

typedef struct srv_metrics {
    pthread_mutex_t mu;
    uint64_t requests[SRV_N_ENDPOINTS][500]; /* by endpoint and status (index status - 100) */
    uint64_t aborted_client, aborted_shutdown, failed, audio_samples;
    int in_flight;                           /* speech requests admitted and not finished */
    int waiting;                             /* of them, those with no audio yet */
    srv_hist ttfa, rtf;
} srv_metrics;

/* A synthesis thread's place: a request is admitted only when one is free (at most max_queue). */
typedef struct srv_cache srv_cache;
typedef struct srv_warm srv_warm;

typedef struct srv_slot {
    pthread_t th;
    int state; /* SLOT_FREE, SLOT_RUNNING, SLOT_DONE (finished, not joined yet) */
} srv_slot;

struct serve {
    serve_config cfg;
    char host[256], api_key[256], model_name[256];
    const bark_context *ctx;
    bark_engine *engine;
    struct MHD_Daemon *daemon;
    int port;
    double started;  /* srv_now() at the start */
    atomic_int stopping;
    pthread_mutex_t mu; /* the slots */
    srv_slot *slots;
    srv_metrics metrics;
    struct srv_announcer *announcer; /* NULL with --no-speaker */
    srv_cache *cache;       /* NULL: no cache (not asked for, or its database could not be opened) */
    char cache_problem[640]; /* why the cache asked for is off */
    srv_warm *warm;         /* the --warm renders running in the background, or NULL */
    struct srv_wyoming *wyoming; /* the Wyoming server (--wyoming), or NULL */
    int wyoming_port;            /* the port it listens on */
    struct srv_mqtt *mqtt;       /* announcements over MQTT (--mqtt), or NULL */
};

/* Seconds on the monotonic clock. */
double srv_now(void);
struct addrinfo;
/* The addresses of host (numeric, or a name such as localhost) and port; freeaddrinfo the result (NULL: none). */
struct addrinfo *srv_resolve(const char *host, int port);

/* ---- replies (reply.c): every response goes through srv_queue, which counts it ---- */

enum MHD_Result srv_queue(struct MHD_Connection *c, serve *s, srv_endpoint ep, unsigned status,
                          struct MHD_Response *r);
/* A JSON body (owned string, freed here). */
enum MHD_Result srv_reply_json(struct MHD_Connection *c, serve *s, srv_endpoint ep, unsigned status, char *json);
/* OpenAI's error shape: {"error": {"message", "type", "param", "code"}}; param may be NULL. */
enum MHD_Result srv_reply_error(struct MHD_Connection *c, serve *s, srv_endpoint ep, unsigned status,
                                const char *code, const char *param, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 7, 8)))
#endif
    ;

/* Why a request body was refused: the message, OpenAI's error code and the field (NULL: none). */
typedef struct srv_refusal {
    char msg[640];
    const char *code, *param;
} srv_refusal;
/* Fills r; -1 (for `return srv_refuse(...)`). */
int srv_refuse(srv_refusal *r, const char *code, const char *param, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* ---- limits (limits.c) ---- */

/* Whether the request carries "Authorization: Bearer <key>" (always 1 without an api key). */
int srv_authorized(const serve *s, struct MHD_Connection *c);
/* Starts fn(arg) on a free synthesis slot (its index into *slot, under the lock fn reads it with); returns it, or
 * -1 when all max_queue are busy (or no thread could start). */
int srv_admit(serve *s, void *(*fn)(void *), void *arg, int *slot);
/* Called by a synthesis thread when it is done with the server's engine. */
void srv_slot_done(serve *s, const int *slot);
/* Joins every synthesis thread (at the stop). */
void srv_join_all(serve *s);
/* 1 when the peer of fd has closed its end (or the socket failed). */
int srv_client_gone(int fd);

/* ---- metrics (metrics.c) ---- */

void srv_metrics_init(srv_metrics *m);
void srv_metrics_free(srv_metrics *m);
void srv_metrics_count(srv_metrics *m, srv_endpoint ep, unsigned status);
/* A speech request admitted, its first audio (seconds since admission), its end. */
typedef enum srv_outcome { SRV_DONE_OK, SRV_DONE_CLIENT, SRV_DONE_SHUTDOWN, SRV_DONE_ERROR } srv_outcome;
void srv_metrics_admitted(srv_metrics *m);
void srv_metrics_first_audio(srv_metrics *m, double seconds);
void srv_metrics_finished(srv_metrics *m, srv_outcome how, int had_audio, double rtf, uint64_t samples);
void srv_hist_observe(srv_hist *h, double v);
void srv_hist_print(FILE *f, const char *name, const char *help, const srv_hist *h);
/* The Prometheus text of the metrics and the engine's stats (malloc'd). */
char *srv_metrics_render(serve *s);

/* ---- a speech synthesis and its stream (stream.c) ---- */

typedef enum srv_format { SRV_WAV, SRV_PCM, SRV_FLAC, SRV_MP3, SRV_OPUS, SRV_N_FORMATS } srv_format;
/* FLAC, MP3 and Opus are sent as a whole file once it is complete; WAV and PCM stream as they are made. */
#define srv_format_whole(f) ((f) >= SRV_FLAC)

/* A validated speech request. */
typedef struct srv_speech_req {
    char *text, *voice; /* owned */
    srv_format format;
    uint64_t seed;
    int have_seed;      /* the seed was the client's: the audio is cached (key: its cache key) */
    float text_temp, waveform_temp;
    char key[65];
} srv_speech_req;

typedef struct srv_job srv_job;

/* Starts req's synthesis on a free slot (req is taken over either way); fd is the client's socket, watched for its
 * going away. NULL when every slot is busy (or memory ran out). */
srv_job *srv_job_start(serve *s, srv_speech_req *req, int fd);
/* Waits until the first audio is ready: 0 (or the synthesis ended well without any), 1 the client went away or the
 * server is stopping, 2 the synthesis failed (why in err). */
int srv_job_wait_first(srv_job *j, bark_error *err);
/* A chunked response streaming the job's bytes; it takes over the caller's reference (NULL: released). */
struct MHD_Response *srv_job_response(srv_job *j);
void srv_job_release(srv_job *j);
/* n samples as 16-bit little-endian bytes (bark_audio_to_s16's rounding) into out (2n bytes). */
void srv_s16le(const float *pcm, size_t n, unsigned char *out);
/* The 44-byte header of a streamed WAV (RIFF and data sizes 0xFFFFFFFF). */
void srv_wav_header(unsigned char h[44]);
/* A speech response's Content-Type, X-Bark-Seed, X-Sample-Rate (PCM) and X-Bark-Cache (hit, miss or off). */
void srv_audio_headers(struct MHD_Response *r, const srv_speech_req *q, const char *cache);
/* 16-bit little-endian samples (len bytes) as a whole file of a format libsndfile writes (MP3, Opus; malloc'd), or
 * NULL. */
unsigned char *srv_encode_whole(const unsigned char *le, size_t len, srv_format format, size_t *out_len);

/* ---- the cache of rendered speech (cache.c) ---- */

/* Opens (creating) the cache in dir: dir/cache.sqlite and dir/audio/; model_digest (32 bytes) and engine (the
 * engine's gemm and isa) enter every key. NULL with the reason in why when it cannot be used. */
srv_cache *srv_cache_open(const char *dir, const unsigned char model_digest[32], const char *engine,
                          uint64_t max_bytes, char *why, size_t cap);
void srv_cache_close(srv_cache *c); /* accepts NULL */
/* q->key from the model, the engine, q's voice, text, seed and p (every sampling parameter that changes samples). */
void srv_cache_key(const srv_cache *c, srv_speech_req *q, const bark_synth_params *p);
/* The file of a key (audio/<key>.flac; written through bark_audio_writer, which renames it into place whole). */
void srv_cache_file(const srv_cache *c, const char *key, char *path, size_t cap);
/* q's audio in q's format (malloc'd into *body): 1 on a hit; 0 on a miss, after dropping a broken entry. count: the
 * hit or miss enters the metrics. */
int srv_cache_lookup(srv_cache *c, const srv_speech_req *q, unsigned char **body, size_t *len, int count);
/* A writer on the cache file of q->key (it appears whole only when srv_cache_end keeps it), or NULL when it cannot
 * be opened: that costs only the cache. */
bark_audio_writer *srv_cache_begin(const srv_cache *c, const srv_speech_req *q);
/* Closes w (NULL: nothing to do): with keep (the synthesis completed and every write went in) the file becomes q's
 * entry (srv_cache_put), else it is removed. */
void srv_cache_end(srv_cache *c, const srv_speech_req *q, bark_audio_writer *w, int keep);
/* Records the finished file of q->key (its size and digest), then evicts the least recently used beyond the limit. */
void srv_cache_put(srv_cache *c, const srv_speech_req *q);
/* GET /v1/cache's JSON: totals and at most max entries, the most recently used first (malloc'd). */
char *srv_cache_json(srv_cache *c, size_t max);
/* Drops every entry and file; the entries dropped. */
uint64_t srv_cache_clear(srv_cache *c);
typedef struct srv_cache_stats {
    uint64_t hits, misses, evictions, entries, bytes, max_bytes;
} srv_cache_stats;
void srv_cache_get_stats(srv_cache *c, srv_cache_stats *out);
/* The seed of a text said without one, where its audio should be cached (announcements, --warm): a stable hash of
 * text and voice, below 2^53. */
uint64_t srv_cache_default_seed(const char *text, const char *voice);

/* ---- warming (warm.c) ---- */

/* Texts still to render in the background. */
int srv_warm_pending(const serve *s);
/* Stops and joins the warming threads (at the stop). */
void srv_warm_join(serve *s);

/* ---- endpoints ---- */

/* A request body as one JSON value (nothing after it but blanks), or NULL with why in r: "invalid_json" naming the
 * byte it went wrong at, or "out_of_memory" (not the client's fault: 503). Needs srv_json_hooks() (serve_open). */
struct cJSON *srv_parse_body(const char *body, size_t len, srv_refusal *r);
/* cJSON's allocations through a wrapper that notes a failure (set once, before the daemon's threads). */
void srv_json_hooks(void);
/* POST /v1/audio/speech's body checked (speech.c; the fuzz target's entry too): 0 with *q filled (text and voice
 * owned), or -1 with *r. */
int srv_speech_check(const serve *s, const char *body, size_t len, srv_speech_req *q, srv_refusal *r);
/* UTF-8 characters of s (continuation bytes not counted). */
size_t srv_characters(const char *s);
/* ---- the user's voices (voices.c) ---- */

#define SRV_MAX_VOICE_BODY (10 * 1024 * 1024) /* POST /v1/voices: a recording of at most 10 MB */
#define SRV_MAX_VOICE_SECONDS 120.0           /* and 120 s */
/* The most body bytes endpoint ep takes. */
size_t srv_max_body(srv_endpoint ep);
/* Whether the model or the user's voices have a voice of that name. */
int srv_known_voice(const serve *s, const char *name);
/* The user's voices as GET /v1/voices lists them ({"name", "language": null, "source": "user", "method", ...}). */
void srv_user_voices_json(const serve *s, struct cJSON *list);
/* POST /v1/voices?name=NAME with a recording as the body: cloned and stored (201), one at a time. */
enum MHD_Result srv_voices_add(serve *s, struct MHD_Connection *c, const char *body, size_t len);
/* text with the cues of a request's "style" field (absent or null: text as it is) in *out (malloc'd; NULL when out
 * of memory); -1 with the reason in why for a style that is not a known style's name (style.c). */
int srv_styled_text(const struct cJSON *style, const char *text, char **out, char *why, size_t cap);
/* The synthesis parameters of q (voice, seed, temperatures) on this server (its --max-seconds, the user's voices);
 * no callbacks. */
bark_synth_params srv_synth_params(const serve *s, const srv_speech_req *q);
/* POST /v1/audio/speech with its whole body (speech.c). */
enum MHD_Result srv_speech(serve *s, struct MHD_Connection *c, const char *body, size_t len);
/* GET /v1/voices, /health, /metrics (info.c). */
enum MHD_Result srv_info(serve *s, struct MHD_Connection *c, srv_endpoint ep);
/* GET / and the page's files under /page/ (page.c); 404 for any other /page/ path. */
enum MHD_Result srv_page(serve *s, struct MHD_Connection *c, const char *url);

/* ---- announcements on the local loudspeaker (announce.c, announce_api.c) ---- */

typedef struct srv_announcer srv_announcer;
/* Starts the queue's generating and playing threads (s->announcer), unless cfg.no_speaker. */
bark_status srv_announcer_open(serve *s, bark_error *err);
/* Stops the threads (what is playing stops; what waits is dropped) and frees the queue. Accepts NULL. */
void srv_announcer_close(srv_announcer *a);
/* POST /v1/announce, GET /v1/queue, DELETE /v1/queue/{id} (announce_api.c). */
enum MHD_Result srv_announce(serve *s, struct MHD_Connection *c, srv_endpoint ep, const char *method,
                             const char *url, const char *body, size_t len);
/* The announcements' metrics, Prometheus text onto f (nothing with --no-speaker). */
void srv_announce_metrics(serve *s, FILE *f);

/* The language of a voice name (Bark's prefix: "v2/de_speaker_1" is "de"), or NULL (info.c). */
const char *srv_voice_language(const char *name);
/* The model's first voice of a language ("de", "en-US", "pt_BR": its first two letters), or NULL (info.c). */
const char *srv_voice_for_language(const serve *s, const char *lang);

/* ---- Home Assistant's Wyoming protocol (wyoming.c) ---- */

typedef struct srv_wyoming srv_wyoming;
/* Listens on s->host, port cfg.wyoming_port (s->wyoming_port says which) and serves on threads of its own. */
bark_status srv_wyoming_open(serve *s, bark_error *err);
/* Stops: syntheses in flight are aborted, connections closed, threads joined. Accepts NULL. */
void srv_wyoming_close(srv_wyoming *w);

/* ---- announcements over MQTT (mqtt.c) ---- */

typedef struct srv_mqtt srv_mqtt;
/* Connects to cfg.mqtt_host (retried in the background while it is away) and subscribes; needs the announcer. */
bark_status srv_mqtt_open(serve *s, bark_error *err);
/* Publishes the offline status, disconnects, joins its threads. Accepts NULL. */
void srv_mqtt_close(srv_mqtt *q);

/* GET (list) and DELETE (clear) /v1/cache (cache.c). */
enum MHD_Result srv_cache_endpoint(serve *s, struct MHD_Connection *c, const char *method);

#endif
