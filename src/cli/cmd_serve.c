/* cmd_serve.c: `bark serve`: the HTTP text-to-speech service of src/serve/ until SIGINT or SIGTERM. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "cli/say.h"
#include "serve/serve.h"

enum { OPT_HOST = CLI_LONG_ONLY, OPT_PORT, OPT_API_KEY, OPT_MAX_BATCH, OPT_MAX_QUEUE, OPT_DEVICE, OPT_NO_SPEAKER,
       OPT_CHIMES, OPT_MAX_ANNOUNCEMENTS };

static void usage(FILE *f) {
    fputs("usage: bark serve [-m MODEL] [--host ADDR] [--port N] [--api-key KEY] [-t N] [--max-batch N]\n"
          "                  [--max-queue N] [--device NAME | --no-speaker] [--chimes DIR] [--max-announcements N]\n"
          "Answers OpenAI's POST /v1/audio/speech (WAV, PCM or FLAC, streamed as it is generated), GET /v1/voices,\n"
          "/health and /metrics (Prometheus). One model and one engine serve every request; requests that\n"
          "arrive together are generated together (their decode steps batched).\n"
          "  -m, --model FILE   model file (default: see bark say --help)\n"
          "      --host ADDR    address to listen on (127.0.0.1); any other than loopback needs --api-key\n"
          "      --port N       TCP port (5002; 0: any free one, printed)\n"
          "      --api-key KEY  every request must carry 'Authorization: Bearer KEY'\n"
          "  -t, --threads N    the engine's threads (default: every CPU)\n"
          "      --max-batch N  sequences generated in one batch at most (8)\n"
          "      --max-queue N  speech requests at once, running or waiting (16); more get 503 and Retry-After\n"
          "      --device NAME  ALSA device POST /v1/announce plays on (default), opened for each announcement\n"
          "      --no-speaker   no announcements: POST /v1/announce and /v1/queue answer 503\n"
          "      --chimes DIR   the folder an announcement's \"chime\" sound file must be in (none: no chimes)\n"
          "      --max-announcements N  announcements waiting or playing at most (32); more get 429\n"
          "Stops on SIGINT or SIGTERM (syntheses in flight are aborted, their connections closed).\n",
          f);
}

/* Parses the options into cfg; -1 to go on, else the exit status. */
static int parse(int argc, char **argv, serve_config *cfg, cli_common *c) {
    static const struct option longs[] = {
        {"host", required_argument, NULL, OPT_HOST},           {"port", required_argument, NULL, OPT_PORT},
        {"api-key", required_argument, NULL, OPT_API_KEY},     {"max-batch", required_argument, NULL, OPT_MAX_BATCH},
        {"max-queue", required_argument, NULL, OPT_MAX_QUEUE}, {"device", required_argument, NULL, OPT_DEVICE},
        {"no-speaker", no_argument, NULL, OPT_NO_SPEAKER},     {"chimes", required_argument, NULL, OPT_CHIMES},
        {"max-announcements", required_argument, NULL, OPT_MAX_ANNOUNCEMENTS}, {0, 0, 0, 0}};
    static const cli_spec spec = {"serve", CLI_MODEL | CLI_THREADS, NULL, longs, usage};
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
    cfg->n_threads = c->threads;
    return cli_exec_env("serve", &cfg->n_threads, &cfg->isa, &cfg->gemm) ? 2 : -1;
}

int cmd_serve(int argc, char **argv) {
    serve_config cfg = serve_default_config();
    cli_common c;
    int rc = parse(argc, argv, &cfg, &c);
    if (rc >= 0) return rc;
    say_signals_catch();
    bark_context *ctx = cli_open_context("serve", c.model);
    if (!ctx) return 1;
    cfg.ctx = ctx, cfg.model = cli_model_path(c.model);
    serve *s = NULL;
    bark_error err = {BARK_OK, ""};
    if (serve_open(&cfg, &s, &err)) {
        bark_context_free(ctx);
        return cli_fail("serve", &err);
    }
    fprintf(stderr, "bark serve: listening on http://%s%s%s:%d/ (%s; POST /v1/audio/speech, GET /v1/voices, "
            "/health, /metrics; announcements %s%s)\n", strchr(cfg.host, ':') ? "[" : "", cfg.host,
            strchr(cfg.host, ':') ? "]" : "", serve_port(s), cfg.model, cfg.no_speaker ? "off" : "on ALSA ",
            cfg.no_speaker ? "" : cfg.device ? cfg.device : "default");
    const struct timespec tick = {0, 100 * 1000000L};
    while (!say_signalled()) nanosleep(&tick, NULL);
    fprintf(stderr, "bark serve: stopping\n");
    serve_close(s);
    bark_context_free(ctx);
    return 0;
}
