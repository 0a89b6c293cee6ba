/* serve.h: `bark serve`, an HTTP text-to-speech service (OpenAI's /v1/audio/speech) on one shared bark_engine. */
#ifndef BARK_SERVE_H
#define BARK_SERVE_H

#include "bark.h"

typedef struct serve_config {
    const bark_context *ctx; /* the open model, shared by every request (it must outlive the server) */
    const char *model;   /* its file's path (GET /health shows the name) */
    const char *host;    /* address to bind: "127.0.0.1" unless given; a non-loopback one needs api_key */
    int port;            /* 0: any free port (serve_port says which) */
    const char *api_key; /* NULL: no auth; else every request needs "Authorization: Bearer <api_key>" */
    int n_threads;       /* the engine's threads (0: every CPU) */
    const char *isa;     /* kernels, as bark_engine_params.isa */
    bark_gemm gemm;
    int max_batch;       /* the engine's sequences at once (0: its default) */
    int max_queue;       /* speech requests admitted at once, running or waiting for the engine (0: 16) */
    int max_connections; /* open connections (0: 256) */
    int timeout_seconds; /* an idle connection is closed after this long (0: 30) */
    int no_speaker;      /* 1: no announcements (POST /v1/announce and /v1/queue answer 503) */
    const char *device;  /* the ALSA device announcements play on (NULL: "default"), opened for each one */
    const char *chimes;  /* the folder an announcement's chime file must be in (NULL: no chimes) */
    int max_announcements; /* announcements waiting or playing at most (0: 32); more get 429 */
    const char *cache_dir;    /* NULL: no cache; else speech with a seed is kept there (SQLite and FLAC files) */
    uint64_t cache_max_bytes; /* the cache's files at most (least recently used evicted beyond; 0: 1 GiB) */
    double max_seconds;       /* each piece of speech stops after this many seconds (bark_synth_params.max_seconds;
                                 0: only where the model ends it) */
    const char *voices_dir;   /* the user's voices (a bark_voice_store): listed, spoken and added by POST /v1/voices;
                                 NULL: the model's voices only */
    const char *hubert;       /* the HuBERT file POST /v1/voices clones with (NULL: the model file) */
    int wyoming;              /* 1: also Home Assistant's Wyoming protocol (TCP, no authentication) on host */
    int wyoming_port;         /* its port (0: any free one, serve_wyoming_port says which) */
    const char *mqtt_host;    /* NULL: no MQTT; else the broker, "HOST" or "HOST:PORT" (1883, 8883 with TLS) */
    const char *mqtt_site;    /* this speaker's site: hermes/tts/say's siteId, bark/<site>/... (NULL: "default") */
    const char *mqtt_user, *mqtt_password; /* NULL: none */
    const char *mqtt_cafile;  /* NULL: no TLS; else TLS, the broker's certificate checked against this CA file */
} serve_config;

/* The defaults above, host 127.0.0.1, port 5002. */
serve_config serve_default_config(void);

typedef struct serve serve;

/* 1 when host is a loopback address (127.0.0.0/8, ::1, "localhost"). */
int serve_host_is_loopback(const char *host);

/* Opens the engine on cfg->ctx, binds and starts answering (on threads of its own). A non-loopback host without an
 * api_key is refused (BARK_ERR_ARG). */
bark_status serve_open(const serve_config *cfg, serve **out, bark_error *err);
/* The port it listens on. */
int serve_port(const serve *s);
/* The port the Wyoming server listens on (0: it is off). */
int serve_wyoming_port(const serve *s);
/* Why the cache asked for (cache_dir) is off: its database could not be opened (NULL: it is on, or not asked for). */
const char *serve_cache_problem(const serve *s);

/* A text to render into the cache ahead of its first request; without have_seed it gets the default seed of its text
 * and voice (as announcements). */
typedef struct serve_warm_item {
    const char *text, *voice;
    uint64_t seed;
    int have_seed;
} serve_warm_item;
/* Renders in the background, through the engine, the items not in the cache yet (they are copied); BARK_ERR_ARG
 * without a cache. Call once, after serve_open. */
bark_status serve_warm(serve *s, const serve_warm_item *items, size_t n, bark_error *err);
/* Stops: in-flight syntheses are aborted, connections closed, threads joined, the engine freed. */
void serve_close(serve *s); /* accepts NULL */

#endif
