/* speech.c: POST /v1/audio/speech: the JSON body checked field by field, the synthesis started, the audio streamed. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve/srv.h"

#define MAX_SEED 9007199254740991.0 /* 2^53 - 1: the largest integer a JSON number carries exactly */

size_t srv_characters(const char *s) {
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

bark_synth_params srv_synth_params(const serve *s, const srv_speech_req *q) {
    bark_synth_params p = bark_synth_default_params();
    p.voice = q->voice, p.seed = q->seed;
    p.text_temp = q->text_temp, p.waveform_temp = q->waveform_temp;
    p.max_seconds = s->cfg.max_seconds, p.voices_dir = s->cfg.voices_dir;
    return p;
}

/* A temperature field: absent (the default stays) or a number in (0, 100]. */
static int temperature(const cJSON *v, const char *name, float *out, srv_refusal *r) {
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsNumber(v) || !(v->valuedouble > 0 && v->valuedouble <= 100))
        return srv_refuse(r, "invalid_value", name, "'%s' must be a number in (0, 100]", name);
    *out = (float)v->valuedouble;
    return 0;
}

static int format_of(const cJSON *v, srv_format *out, srv_refusal *r) {
    if (!v || cJSON_IsNull(v)) return *out = SRV_WAV, 0;
    if (!cJSON_IsString(v)) return srv_refuse(r, "invalid_type", "response_format", "'response_format' must be a string");
    static const char *const names[SRV_N_FORMATS] = {"wav", "pcm", "flac", "mp3", "opus"};
    for (int i = 0; i < SRV_N_FORMATS; i++)
        if (!strcmp(v->valuestring, names[i])) return *out = (srv_format)i, 0;
    if (!strcmp(v->valuestring, "aac"))
        return srv_refuse(r, "unsupported_response_format", "response_format", "response_format 'aac' is not "
                          "supported (libsndfile does not write it): use wav, pcm, flac, mp3 or opus");
    return srv_refuse(r, "unsupported_response_format", "response_format",
                      "unknown response_format '%.100s': use wav, pcm, flac, mp3 or opus", v->valuestring);
}

/* Every field of the body checked; the request filled in (text and voice copied). */
static int parse(const serve *s, const cJSON *root, srv_speech_req *q, srv_refusal *r) {
    static const char *const fields[] = {"model", "input", "voice", "response_format", "speed", "seed", "text_temp",
                                         "waveform_temp", "style"};
    char m[640];
    if (!cJSON_IsObject(root)) return srv_refuse(r, "invalid_json", NULL, "the body must be a JSON object");
    for (const cJSON *f = root->child; f; f = f->next) {
        size_t i = 0;
        while (i < sizeof fields / sizeof *fields && strcmp(f->string, fields[i])) i++;
        if (i == sizeof fields / sizeof *fields)
            return srv_refuse(r, "unknown_field", NULL, "unknown field '%.100s' (known: model, input, voice, "
                              "response_format, speed, seed, text_temp, waveform_temp, style)", f->string);
    }
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(root, "input");
    const cJSON *voice = cJSON_GetObjectItemCaseSensitive(root, "voice");
    const cJSON *speed = cJSON_GetObjectItemCaseSensitive(root, "speed");
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(root, "seed");
    if (!model) return srv_refuse(r, "missing_field", "model", "missing field 'model'");
    if (!cJSON_IsString(model) || !*model->valuestring)
        return srv_refuse(r, "invalid_type", "model", "'model' must be a non-empty string");
    if (!input) return srv_refuse(r, "missing_field", "input", "missing field 'input'");
    if (!cJSON_IsString(input)) return srv_refuse(r, "invalid_type", "input", "'input' must be a string");
    const size_t n = srv_characters(input->valuestring);
    if (n == 0) return srv_refuse(r, "invalid_value", "input", "'input' is empty: give 1 to 4096 characters");
    if (n > SRV_MAX_INPUT)
        return srv_refuse(r, "input_too_long", "input",
                          "'input' is %zu characters long; the most is %d (split the text into several requests)", n,
                          SRV_MAX_INPUT);
    if (!voice) return srv_refuse(r, "missing_field", "voice", "missing field 'voice' (GET /v1/voices lists them)");
    if (!cJSON_IsString(voice)) return srv_refuse(r, "invalid_type", "voice", "'voice' must be a string");
    if (!srv_known_voice(s, voice->valuestring))
        return srv_refuse(r, "unknown_voice", "voice", "unknown voice '%.100s' (GET /v1/voices lists the voices of "
                          "this model)", voice->valuestring);
    if (format_of(cJSON_GetObjectItemCaseSensitive(root, "response_format"), &q->format, r)) return -1;
    if (speed && !cJSON_IsNull(speed)) {
        if (!cJSON_IsNumber(speed)) return srv_refuse(r, "invalid_type", "speed", "'speed' must be a number");
        if (speed->valuedouble != 1.0)
            return srv_refuse(r, "unsupported_speed", "speed",
                              "speed %g is not supported: only 1.0 (bark cannot change its speaking rate)",
                              speed->valuedouble);
    }
    q->seed = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32) ^ (uint64_t)(uintptr_t)q;
    if (seed && !cJSON_IsNull(seed)) {
        const double v = seed->valuedouble;
        if (!cJSON_IsNumber(seed) || !(v >= 0 && v <= MAX_SEED) || floor(v) != v)
            return srv_refuse(r, "invalid_value", "seed", "'seed' must be a whole number in [0, 2^53 - 1]");
        q->seed = (uint64_t)v, q->have_seed = 1;
    }
    const bark_synth_params d = bark_synth_default_params();
    q->text_temp = d.text_temp, q->waveform_temp = d.waveform_temp;
    if (temperature(cJSON_GetObjectItemCaseSensitive(root, "text_temp"), "text_temp", &q->text_temp, r) ||
        temperature(cJSON_GetObjectItemCaseSensitive(root, "waveform_temp"), "waveform_temp", &q->waveform_temp, r))
        return -1;
    if (srv_styled_text(cJSON_GetObjectItemCaseSensitive(root, "style"), input->valuestring, &q->text, m, sizeof m))
        return srv_refuse(r, "invalid_value", "style", "%s", m);
    q->voice = strdup(voice->valuestring);
    if (!q->text || !q->voice) {
        free(q->text), free(q->voice);
        return srv_refuse(r, "out_of_memory", NULL, "out of memory");
    }
    return 0;
}

static _Thread_local int t_json_nomem; /* one of cJSON's allocations failed on this thread */

static void *json_malloc(size_t n) {
    void *p = malloc(n);
    if (!p) t_json_nomem = 1;
    return p;
}

void srv_json_hooks(void) {
    cJSON_Hooks h = {json_malloc, free};
    cJSON_InitHooks(&h);
}

cJSON *srv_parse_body(const char *body, size_t len, srv_refusal *r) {
    const char *where = NULL;
    t_json_nomem = 0;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &where, 0);
    if (!root && t_json_nomem) {
        srv_refuse(r, "out_of_memory", NULL, "out of memory: try again later");
        return NULL;
    }
    while (root && where < body + len && strchr(" \t\r\n", *where) && *where) where++;
    if (root && where != body + len) cJSON_Delete(root), root = NULL; /* something after the value */
    if (!root) srv_refuse(r, "invalid_json", NULL, "the body is not valid JSON (at byte %zu)",
                          where ? (size_t)(where - body) : len);
    return root;
}

int srv_speech_check(const serve *s, const char *body, size_t len, srv_speech_req *q, srv_refusal *r) {
    cJSON *root = srv_parse_body(body, len, r);
    if (!root) return -1;
    const int bad = parse(s, root, q, r);
    cJSON_Delete(root);
    return bad;
}

enum MHD_Result srv_speech(serve *s, struct MHD_Connection *c, const char *body, size_t len) {
    srv_speech_req q = {0};
    srv_refusal r = {.code = NULL};
    if (srv_speech_check(s, body, len, &q, &r))
        return srv_reply_error(c, s, SRV_SPEECH, strcmp(r.code, "out_of_memory") ? MHD_HTTP_BAD_REQUEST
                               : MHD_HTTP_SERVICE_UNAVAILABLE, r.code, r.param, "%s", r.msg);
    if (s->cache && q.have_seed) {
        unsigned char *audio;
        size_t n;
        const bark_synth_params p = srv_synth_params(s, &q);
        srv_cache_key(s->cache, &q, &p);
        srv_speech_req as = q; /* the cache keeps FLAC: MP3 and Opus are made from its samples */
        const int encode = q.format == SRV_MP3 || q.format == SRV_OPUS;
        if (encode) as.format = SRV_PCM;
        if (srv_cache_lookup(s->cache, &as, &audio, &n, 1)) {
            if (encode) {
                unsigned char *pcm = audio;
                audio = srv_encode_whole(pcm, n, q.format, &n);
                free(pcm);
                if (!audio) {
                    free(q.text), free(q.voice);
                    return srv_reply_error(c, s, SRV_SPEECH, MHD_HTTP_INTERNAL_SERVER_ERROR, "encoding_failed", NULL,
                                           "the cached audio could not be encoded");
                }
            }
            struct MHD_Response *hit = MHD_create_response_from_buffer(n, audio, MHD_RESPMEM_MUST_FREE);
            if (hit) srv_audio_headers(hit, &q, "hit");
            else free(audio);
            free(q.text), free(q.voice);
            return srv_queue(c, s, SRV_SPEECH, MHD_HTTP_OK, hit);
        }
    }
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    srv_job *j = srv_job_start(s, &q, ci ? ci->connect_fd : -1);
    if (!j)
        return srv_reply_error(c, s, SRV_SPEECH, MHD_HTTP_SERVICE_UNAVAILABLE, "server_busy", NULL,
                               "all %d synthesis slots are busy: try again shortly", s->cfg.max_queue);
    /* no idle timeout while it is generated: a piece may take longer than it between two chunks (the stream watches
     * for a client gone, or one that stops reading) */
    MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
    bark_error err = {BARK_OK, ""};
    const int w = srv_job_wait_first(j, &err);
    if (w) {
        srv_job_release(j);
        if (w == 1) return MHD_NO; /* the client went away, or the server is stopping: close the connection */
        return srv_reply_error(c, s, SRV_SPEECH, MHD_HTTP_INTERNAL_SERVER_ERROR, "synthesis_failed", NULL,
                               "synthesis failed: %s", err.msg);
    }
    return srv_queue(c, s, SRV_SPEECH, MHD_HTTP_OK, srv_job_response(j));
}
