/* cmd_serve.c: `bark serve`: the HTTP text-to-speech service of src/serve/ until SIGINT or SIGTERM. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "cli/say.h"
#include "serve/serve.h"

enum { OPT_HOST = CLI_LONG_ONLY, OPT_PORT, OPT_API_KEY, OPT_MAX_BATCH, OPT_MAX_QUEUE, OPT_DEVICE, OPT_NO_SPEAKER,
       OPT_CHIMES, OPT_MAX_ANNOUNCEMENTS, OPT_CACHE, OPT_CACHE_SIZE, OPT_NO_CACHE, OPT_WARM, OPT_VOICES_DIR,
       OPT_HUBERT, OPT_MAX_SECONDS, OPT_WYOMING, OPT_MQTT, OPT_MQTT_SITE, OPT_MQTT_USER, OPT_MQTT_PASSWORD_FILE,
       OPT_MQTT_CAFILE };

static void usage(FILE *f) {
    fputs("usage: bark serve [-m MODEL] [--host ADDR] [--port N] [--api-key KEY] [-t N] [--max-batch N]\n"
          "                  [--max-queue N] [--device NAME | --no-speaker] [--chimes DIR] [--max-announcements N]\n"
          "                  [--cache DIR] [--cache-size MB] [--no-cache] [--warm FILE [-v VOICE]]\n"
          "                  [--max-seconds S] [--voices-dir DIR] [--hubert FILE]\n"
          "                  [--wyoming PORT] [--mqtt HOST[:PORT] [--mqtt-site NAME] [--mqtt-user USER]\n"
          "                  [--mqtt-password-file FILE] [--mqtt-cafile FILE]]\n"
          "Answers OpenAI's POST /v1/audio/speech (WAV and PCM streamed as generated; FLAC, MP3, Opus), GET /v1/voices,\n"
          "/health and /metrics (Prometheus). One model and one engine serve every request; requests that\n"
          "arrive together are generated together (their decode steps batched).\n"
          "  -m, --model FILE   model file (default: see bark say --help)\n"
          "      --host ADDR    address to listen on (127.0.0.1); any other than loopback needs --api-key\n"
          "      --port N       TCP port (5002; 0: any free one, printed)\n"
          "      --api-key KEY  every request must carry 'Authorization: Bearer KEY'\n"
          "  -t, --threads N    the engine's threads (default: every CPU)\n"
          "      --max-batch N  sequences generated in one batch at most (8)\n"
          "      --max-queue N  speech requests at once, running or waiting (16); more get 503 and Retry-After\n"
          "      --max-seconds S  each piece of speech (a sentence or a few) stops after S seconds (off: where the\n"
          "                     model ends it, at most ~15 s); announcements and the cache follow it too\n"
          "      --device NAME  ALSA device POST /v1/announce plays on (default), opened for each announcement\n"
          "      --no-speaker   no announcements: POST /v1/announce and /v1/queue answer 503\n"
          "      --chimes DIR   the folder an announcement's \"chime\" sound file must be in (none: no chimes)\n"
          "      --max-announcements N  announcements waiting or playing at most (32); more get 429\n"
          "      --cache DIR    where speech with a seed is cached (default $XDG_CACHE_HOME/bark, ~/.cache/bark)\n"
          "      --cache-size MB  the cache's audio at most (1024); the least recently used goes first\n"
          "      --no-cache     no cache\n"
          "      --warm FILE    renders FILE's texts into the cache in the background from the start (lines as\n"
          "                     `bark render`: a text a line, or {\"text\", \"voice\", \"seed\"}; without a seed,\n"
          "                     the text's and voice's default seed, as announcements)\n"
          "  -v, --voice NAME   the voice of --warm lines that name none\n"
          "      --voices-dir DIR  the user's voices, listed, spoken and added by POST /v1/voices?name=NAME (a\n"
          "                     recording as the body, 10 MB and 120 s at most) (default $BARK_VOICES, else\n"
          "                     $XDG_DATA_HOME/bark/voices)\n"
          "      --hubert FILE  HuBERT for POST /v1/voices (default: hubert.gguf beside the model, else the model)\n"
          "      --wyoming PORT  also serve Home Assistant's Wyoming protocol on PORT (10200 is its usual one; 0: any\n"
          "                     free one, printed) on the same address; Wyoming has no authentication\n"
          "      --mqtt HOST[:PORT]  announcements over MQTT (port 1883, 8883 with TLS): Rhasspy's hermes/tts/say\n"
          "                     (hermes/tts/sayFinished once played) and bark/SITE/announce {text, voice, priority};\n"
          "                     a retained bark/SITE/status; reconnects when the broker goes away\n"
          "      --mqtt-site NAME  this speaker's site (default): hermes siteId and the bark/SITE/ topics\n"
          "      --mqtt-user USER  the broker's user; the password from --mqtt-password-file or $BARK_MQTT_PASSWORD\n"
          "      --mqtt-password-file FILE  the password: the file's first line\n"
          "      --mqtt-cafile FILE  TLS to the broker, its certificate checked against this CA file\n"
          "Stops on SIGINT or SIGTERM (syntheses in flight are aborted, their connections closed).\n",
          f);
}

/* Parses the options into cfg; -1 to go on, else the exit status. */
/* What the cache options decided. */
typedef struct cache_opts {
    const char *dir, *warm;
    int off;
    char dflt[PATH_MAX];
    const char *password_file; /* --mqtt-password-file */
    char password[256];        /* the MQTT password read from it or $BARK_MQTT_PASSWORD */
} cache_opts;

/* The MQTT password: --mqtt-password-file's first line, else $BARK_MQTT_PASSWORD (never an argument: ps shows
 * those); 1 when the file cannot be read. */
static int mqtt_password(cache_opts *co, serve_config *cfg) {
    const char *env = getenv("BARK_MQTT_PASSWORD");
    if (co->password_file) {
        FILE *f = fopen(co->password_file, "r");
        if (!f || !fgets(co->password, sizeof co->password, f)) {
            fprintf(stderr, "bark serve: --mqtt-password-file %s: cannot read its first line\n", co->password_file);
            if (f) fclose(f);
            return 1;
        }
        fclose(f);
        co->password[strcspn(co->password, "\r\n")] = '\0';
        cfg->mqtt_password = co->password;
    } else if (env && *env) {
        cfg->mqtt_password = env;
    }
    return 0;
}

static int parse(int argc, char **argv, serve_config *cfg, cli_common *c, cache_opts *co) {
    static const struct option longs[] = {
        {"host", required_argument, NULL, OPT_HOST},           {"port", required_argument, NULL, OPT_PORT},
        {"api-key", required_argument, NULL, OPT_API_KEY},     {"max-batch", required_argument, NULL, OPT_MAX_BATCH},
        {"max-queue", required_argument, NULL, OPT_MAX_QUEUE}, {"device", required_argument, NULL, OPT_DEVICE},
        {"no-speaker", no_argument, NULL, OPT_NO_SPEAKER},     {"chimes", required_argument, NULL, OPT_CHIMES},
        {"max-announcements", required_argument, NULL, OPT_MAX_ANNOUNCEMENTS},
        {"cache", required_argument, NULL, OPT_CACHE},          {"cache-size", required_argument, NULL, OPT_CACHE_SIZE},
        {"no-cache", no_argument, NULL, OPT_NO_CACHE},          {"warm", required_argument, NULL, OPT_WARM},
        {"max-seconds", required_argument, NULL, OPT_MAX_SECONDS},
        {"voices-dir", required_argument, NULL, OPT_VOICES_DIR}, {"hubert", required_argument, NULL, OPT_HUBERT},
        {"wyoming", required_argument, NULL, OPT_WYOMING},      {"mqtt", required_argument, NULL, OPT_MQTT},
        {"mqtt-site", required_argument, NULL, OPT_MQTT_SITE},  {"mqtt-user", required_argument, NULL, OPT_MQTT_USER},
        {"mqtt-password-file", required_argument, NULL, OPT_MQTT_PASSWORD_FILE},
        {"mqtt-cafile", required_argument, NULL, OPT_MQTT_CAFILE},
        {0, 0, 0, 0}};
    static const cli_spec spec = {"serve", CLI_MODEL | CLI_THREADS | CLI_VOICE, NULL, longs, usage};
    cli_parser p;
    const char *v;
    int rc, o;
    uint64_t x;
    cli_parser_init(&p, &spec, argc, argv, c);
    while ((o = cli_next(&p, &v, &rc)) != CLI_END) {
        if (o == CLI_EXIT) return rc;
        if (o == OPT_HOST) cfg->host = v;
        else if (o == OPT_API_KEY) cfg->api_key = v;
        else if (o == OPT_DEVICE) cfg->device = v;
        else if (o == OPT_NO_SPEAKER) cfg->no_speaker = 1;
        else if (o == OPT_CHIMES) cfg->chimes = v;
        else if (o == OPT_MAX_ANNOUNCEMENTS) {
            if (cli_whole("serve", "--max-announcements", v, 1, 4096, "a whole number in [1, 4096]", &x)) return 2;
            cfg->max_announcements = (int)x;
        } else if (o == OPT_CACHE) co->dir = v;
        else if (o == OPT_NO_CACHE) co->off = 1;
        else if (o == OPT_WARM) co->warm = v;
        else if (o == OPT_MAX_SECONDS) {
            if (strcmp(v, "off") &&
                cli_number("serve", "--max-seconds", v, 0, 1, 1e6, "a number of seconds > 0, or 'off'",
                           &cfg->max_seconds))
                return 2;
        }
        else if (o == OPT_VOICES_DIR) cfg->voices_dir = v;
        else if (o == OPT_HUBERT) cfg->hubert = v;
        else if (o == OPT_CACHE_SIZE) {
            if (cli_whole("serve", "--cache-size", v, 1, 1u << 24, "a whole number of MB in [1, 16777216]", &x))
                return 2;
            cfg->cache_max_bytes = x << 20;
        }
        else if (o == OPT_MQTT) cfg->mqtt_host = v;
        else if (o == OPT_MQTT_SITE) cfg->mqtt_site = v;
        else if (o == OPT_MQTT_USER) cfg->mqtt_user = v;
        else if (o == OPT_MQTT_PASSWORD_FILE) co->password_file = v;
        else if (o == OPT_MQTT_CAFILE) cfg->mqtt_cafile = v;
        else if (o == OPT_WYOMING) {
            if (cli_whole("serve", "--wyoming", v, 0, 65535, "a port number in [0, 65535]", &x)) return 2;
            cfg->wyoming = 1, cfg->wyoming_port = (int)x;
        }
        else if (o == OPT_PORT) {
            if (cli_whole("serve", "--port", v, 0, 65535, "a port number in [0, 65535]", &x)) return 2;
            cfg->port = (int)x;
        } else {
            const char *name = o == OPT_MAX_BATCH ? "--max-batch" : "--max-queue";
            if (cli_whole("serve", name, v, 1, 4096, "a whole number in [1, 4096]", &x)) return 2;
            *(o == OPT_MAX_BATCH ? &cfg->max_batch : &cfg->max_queue) = (int)x;
        }
    }
    if (cli_operands(&p) < argc) return cli_usage_error("serve", "unexpected argument '%s'", argv[cli_operands(&p)]);
    if (cfg->api_key && !*cfg->api_key) return cli_usage_error("serve", "--api-key is empty");
    if (!cfg->api_key && !serve_host_is_loopback(cfg->host))
        return cli_usage_error("serve", "refusing to listen on %s without --api-key (only loopback addresses are "
                               "served without one)", cfg->host);
    if (co->off && (co->dir || co->warm)) return cli_usage_error("serve", "--no-cache with --cache or --warm");
    if (!cfg->mqtt_host && (cfg->mqtt_site || cfg->mqtt_user || co->password_file || cfg->mqtt_cafile))
        return cli_usage_error("serve", "--mqtt-site, --mqtt-user, --mqtt-password-file and --mqtt-cafile need --mqtt");
    if (cfg->mqtt_host && cfg->no_speaker)
        return cli_usage_error("serve", "--mqtt speaks on the loudspeaker: not with --no-speaker");
    if (mqtt_password(co, cfg)) return 1;
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg) snprintf(co->dflt, sizeof co->dflt, "%s/bark", xdg);
    else if (home && *home) snprintf(co->dflt, sizeof co->dflt, "%s/.cache/bark", home);
    if (!co->off) cfg->cache_dir = co->dir ? co->dir : co->dflt[0] ? co->dflt : NULL;
    if (co->warm && !cfg->cache_dir) return cli_usage_error("serve", "--warm needs a cache: give --cache DIR");
    cfg->n_threads = c->threads;
    return cli_exec_env("serve", &cfg->n_threads, &cfg->isa, &cfg->gemm) ? 2 : -1;
}

/* --warm FILE: its lines (a line starting with '{' is JSON) handed to serve_warm; a bad line is reported and skipped.
 * 0, or 1 when the file cannot be read. */
static int warm(serve *s, const bark_context *ctx, const char *path, const char *voice) {
    say_line_reader r = {.in = fopen(path, "r"), .cmd = "serve"};
    if (!r.in) {
        fprintf(stderr, "bark serve: --warm %s: cannot read it\n", path);
        return 1;
    }
    say_item *its = NULL;
    size_t n = 0, cap = 0;
    char *line, why[256];
    while ((line = say_line_next(&r))) {
        say_item it = {0};
        if (*line == '{' ? say_json_parse(line, &it, why, sizeof why) : !(it.text = strdup(line))) {
            fprintf(stderr, "bark serve: --warm %s: line %zu: %s (skipped)\n", path, r.lineno,
                    *line == '{' ? why : "out of memory");
            continue;
        }
        if (!it.voice && voice) it.voice = strdup(voice);
        const char *bad = !it.voice                                               ? "no voice (give -v VOICE)"
                          : !bark_model_has_voice(bark_context_model(ctx), it.voice) ? "unknown voice"
                                                                                     : NULL;
        say_item *grown = n < cap ? its : realloc(its, (cap = 2 * cap + 16) * sizeof *its);
        if (bad || !grown) {
            fprintf(stderr, "bark serve: --warm %s: line %zu: %s (skipped)\n", path, r.lineno,
                    bad ? bad : "out of memory");
            say_item_free(&it);
            continue;
        }
        its = grown;
        its[n++] = it;
    }
    const int failed = ferror(r.in);
    fclose(r.in);
    say_line_reader_free(&r);
    serve_warm_item *items = calloc(n ? n : 1, sizeof *items);
    bark_error err = {BARK_OK, ""};
    for (size_t i = 0; items && i < n; i++)
        items[i] = (serve_warm_item){its[i].text, its[i].voice, its[i].seed, its[i].have_seed};
    bark_status st = items ? serve_warm(s, items, n, &err) : (snprintf(err.msg, sizeof err.msg, "out of memory"),
                                                               BARK_ERR_NOMEM);
    for (size_t i = 0; i < n; i++) say_item_free(&its[i]);
    free(its), free(items);
    if (failed) fprintf(stderr, "bark serve: --warm %s: reading failed\n", path);
    if (st) return cli_fail("serve", &err);
    fprintf(stderr, "bark serve: warming the cache with %zu texts in the background\n", n);
    return 0;
}

int cmd_serve(int argc, char **argv) {
    serve_config cfg = serve_default_config();
    cli_common c;
    cache_opts co = {0};
    int rc = parse(argc, argv, &cfg, &c, &co);
    if (rc >= 0) return rc;
    say_signals_catch();
    bark_context *ctx = cli_open_context("serve", c.model);
    if (!ctx) return 1;
    cfg.ctx = ctx, cfg.model = cli_model_path(c.model);
    cfg.voices_dir = cli_voices_dir(cfg.voices_dir), cfg.hubert = cli_hubert_path(cfg.hubert, cfg.model);
    serve *s = NULL;
    bark_error err = {BARK_OK, ""};
    if (serve_open(&cfg, &s, &err)) {
        bark_context_free(ctx);
        return cli_fail("serve", &err);
    }
    if (serve_cache_problem(s)) fprintf(stderr, "bark serve: warning: no cache: %s\n", serve_cache_problem(s));
    else if (cfg.cache_dir) fprintf(stderr, "bark serve: cache in %s (%llu MB at most)\n", cfg.cache_dir,
                                    (unsigned long long)((cfg.cache_max_bytes ? cfg.cache_max_bytes : 1u << 30) >> 20));
    if (co.warm && !serve_cache_problem(s) && warm(s, ctx, co.warm, c.voice)) {
        serve_close(s);
        bark_context_free(ctx);
        return 1;
    }
    fprintf(stderr, "bark serve: listening on http://%s%s%s:%d/ (%s; POST /v1/audio/speech, GET /v1/voices, "
            "/health, /metrics; announcements %s%s)\n", strchr(cfg.host, ':') ? "[" : "", cfg.host,
            strchr(cfg.host, ':') ? "]" : "", serve_port(s), cfg.model, cfg.no_speaker ? "off" : "on ALSA ",
            cfg.no_speaker ? "" : cfg.device ? cfg.device : "default");
    if (cfg.wyoming)
        fprintf(stderr, "bark serve: Wyoming (Home Assistant) on tcp://%s%s%s:%d%s\n", strchr(cfg.host, ':') ? "[" : "",
                cfg.host, strchr(cfg.host, ':') ? "]" : "", serve_wyoming_port(s),
                serve_host_is_loopback(cfg.host) ? "" : " (no authentication: any client that reaches it may use it)");
    if (cfg.mqtt_host)
        fprintf(stderr, "bark serve: MQTT broker %s, site %s (hermes/tts/say, bark/%s/announce)\n", cfg.mqtt_host,
                cfg.mqtt_site ? cfg.mqtt_site : "default", cfg.mqtt_site ? cfg.mqtt_site : "default");
    const struct timespec tick = {0, 100 * 1000000L};
    while (!say_signalled()) nanosleep(&tick, NULL);
    fprintf(stderr, "bark serve: stopping\n");
    serve_close(s);
    bark_context_free(ctx);
    return 0;
}
