/* announce_api.c: POST /v1/announce (the body checked, the chime read from the chimes folder), GET /v1/queue and
 * DELETE /v1/queue/{id}. */
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "serve/announce.h"

/* The voice when none is given: v2/en_speaker_6 (Suno's examples' voice) if the model has it, else its first. */
static const char *default_voice(const serve *s) {
    const bark_model *m = bark_context_model(s->ctx);
    if (srv_known_voice(s, "v2/en_speaker_6")) return "v2/en_speaker_6";
    return bark_model_voice_count(m) ? bark_model_voice_name(m, 0) : NULL;
}

/* The chime: a file name in the chimes folder, or a path that leads into it (symbolic links and .. resolved first),
 * that libsndfile reads; its samples (at most ANN_MAX_CHIME_SECONDS) into q. */
static int read_chime(const serve *s, const char *name, ann_request *q, srv_refusal *r) {
    const char *dir = ann_chimes(s->announcer);
    char path[PATH_MAX + 256], real[PATH_MAX];
    struct stat st;
    if (!dir[0]) return srv_refuse(r, "chimes_off", "chime", "this server takes no chime (start it with --chimes DIR)");
    snprintf(path, sizeof path, name[0] == '/' ? "%s" : "%s/%s", name[0] == '/' ? name : dir, name);
    const size_t dl = strlen(dir);
    if (!realpath(path, real) || stat(real, &st) || !S_ISREG(st.st_mode))
        return srv_refuse(r, "invalid_chime", "chime", "no chime file '%.200s' in the chimes folder", name);
    if (strncmp(real, dir, dl) || real[dl] != '/')
        return srv_refuse(r, "invalid_chime", "chime", "the chime '%.200s' is outside the chimes folder", name);
    bark_audio_reader *rd;
    bark_error err = {BARK_OK, ""};
    const size_t cap = (size_t)ANN_MAX_CHIME_SECONDS * BARK_SAMPLE_RATE_HZ;
    if (!(q->chime = malloc((cap + 1) * sizeof *q->chime)))
        return srv_refuse(r, "out_of_memory", NULL, "out of memory");
    if (bark_audio_reader_open(real, BARK_SAMPLE_RATE_HZ, &rd, &err))
        return srv_refuse(r, "invalid_chime", "chime", "the chime '%.200s' is not a sound file libsndfile reads",
                      name);
    size_t n = 1;
    bark_status rs = BARK_OK;
    while (!rs && n && q->n_chime <= cap)
        if (!(rs = bark_audio_reader_read(rd, q->chime + q->n_chime, cap + 1 - q->n_chime, &n, &err)))
            q->n_chime += n;
    bark_audio_reader_close(rd);
    if (rs) return srv_refuse(r, "invalid_chime", "chime", "the chime '%.200s': %.300s", name, err.msg);
    if (q->n_chime > cap)
        return srv_refuse(r, "invalid_chime", "chime", "the chime '%.200s' is longer than %d s", name,
                      ANN_MAX_CHIME_SECONDS);
    float *fit = realloc(q->chime, (q->n_chime + 1) * sizeof *fit);
    if (fit) q->chime = fit;
    return 0;
}

/* ann_parse's checks, which may leave q partly filled on a refusal (ann_parse frees it). */
static int check_fields(const serve *s, const cJSON *root, ann_request *q, srv_refusal *r) {
    static const char *const fields[] = {"text", "voice", "priority", "chime", "volume", "style"};
    if (!cJSON_IsObject(root)) return srv_refuse(r, "invalid_json", NULL, "the body must be a JSON object");
    for (const cJSON *f = root->child; f; f = f->next) {
        size_t i = 0;
        while (i < sizeof fields / sizeof *fields && strcmp(f->string, fields[i])) i++;
        if (i == sizeof fields / sizeof *fields)
            return srv_refuse(r, "unknown_field", NULL, "unknown field '%.100s' (known: text, voice, priority, chime, "
                          "volume, style)", f->string);
    }
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(root, "text");
    const cJSON *voice = cJSON_GetObjectItemCaseSensitive(root, "voice");
    const cJSON *prio = cJSON_GetObjectItemCaseSensitive(root, "priority");
    const cJSON *chime = cJSON_GetObjectItemCaseSensitive(root, "chime");
    const cJSON *volume = cJSON_GetObjectItemCaseSensitive(root, "volume");
    if (!text) return srv_refuse(r, "missing_field", "text", "missing field 'text'");
    if (!cJSON_IsString(text)) return srv_refuse(r, "invalid_type", "text", "'text' must be a string");
    if (!text->valuestring[strspn(text->valuestring, " \t\r\n")])
        return srv_refuse(r, "invalid_value", "text", "'text' is empty: give 1 to %d characters", SRV_MAX_INPUT);
    if (srv_characters(text->valuestring) > SRV_MAX_INPUT)
        return srv_refuse(r, "input_too_long", "text", "'text' is longer than %d characters", SRV_MAX_INPUT);
    const char *v = default_voice(s);
    if (voice && !cJSON_IsNull(voice)) {
        if (!cJSON_IsString(voice)) return srv_refuse(r, "invalid_type", "voice", "'voice' must be a string");
        if (!srv_known_voice(s, voice->valuestring))
            return srv_refuse(r, "unknown_voice", "voice", "unknown voice '%.100s' (GET /v1/voices lists them)",
                          voice->valuestring);
        v = voice->valuestring;
    }
    if (!v) return srv_refuse(r, "missing_field", "voice", "missing field 'voice' (the model has no voice to default to)");
    q->priority = ANN_NORMAL;
    if (prio && !cJSON_IsNull(prio)) {
        int i = 0;
        while (i < ANN_N_PRIORITIES && !(cJSON_IsString(prio) && !strcmp(prio->valuestring, ann_priority_names[i])))
            i++;
        if (i == ANN_N_PRIORITIES)
            return srv_refuse(r, "invalid_value", "priority", "'priority' must be \"low\", \"normal\", \"high\" or "
                          "\"critical\"");
        q->priority = (ann_priority)i;
    }
    q->volume = 1;
    if (volume && !cJSON_IsNull(volume)) {
        if (!cJSON_IsNumber(volume) || !(volume->valuedouble >= 0 && volume->valuedouble <= 1))
            return srv_refuse(r, "invalid_value", "volume", "'volume' must be a number in [0, 1]");
        q->volume = (float)volume->valuedouble;
    }
    if (chime && !cJSON_IsNull(chime)) {
        if (!cJSON_IsString(chime) || !chime->valuestring[0])
            return srv_refuse(r, "invalid_type", "chime", "'chime' must be a file name in the chimes folder");
        if (read_chime(s, chime->valuestring, q, r)) return -1;
    }
    char why[300];
    if (srv_styled_text(cJSON_GetObjectItemCaseSensitive(root, "style"), text->valuestring, &q->text, why, sizeof why))
        return srv_refuse(r, "invalid_value", "style", "%s", why);
    if (!q->text || !(q->voice = strdup(v))) return srv_refuse(r, "out_of_memory", NULL, "out of memory");
    return 0;
}

int ann_parse(const serve *s, const cJSON *root, ann_request *q, srv_refusal *r) {
    if (!check_fields(s, root, q, r)) return 0;
    free(q->text), free(q->voice), free(q->chime);
    memset(q, 0, sizeof *q);
    return -1;
}

int ann_check(const serve *s, const char *body, size_t len, ann_request *q, srv_refusal *r) {
    cJSON *root = srv_parse_body(body, len, r);
    if (!root) return -1;
    const int bad = ann_parse(s, root, q, r);
    cJSON_Delete(root);
    return bad;
}

static enum MHD_Result post(serve *s, struct MHD_Connection *c, const char *body, size_t len) {
    ann_request q = {0};
    srv_refusal r = {.code = NULL};
    if (ann_check(s, body, len, &q, &r))
        return srv_reply_error(c, s, SRV_ANNOUNCE, strcmp(r.code, "out_of_memory") ? MHD_HTTP_BAD_REQUEST
                               : MHD_HTTP_SERVICE_UNAVAILABLE, r.code, r.param, "%s", r.msg);
    uint64_t id;
    size_t position;
    int full;
    if (ann_add(s->announcer, &q, &id, &position, &full))
        return full ? srv_reply_error(c, s, SRV_ANNOUNCE, MHD_HTTP_TOO_MANY_REQUESTS, "queue_full", NULL,
                                      "%d announcements are queued already: try again later",
                                      s->cfg.max_announcements > 0 ? s->cfg.max_announcements : 32)
                    : srv_reply_error(c, s, SRV_ANNOUNCE, MHD_HTTP_INTERNAL_SERVER_ERROR, "out_of_memory", NULL,
                                      "out of memory");
    char json[96];
    snprintf(json, sizeof json, "{\"id\":%llu,\"position\":%zu}", (unsigned long long)id, position);
    return srv_reply_json(c, s, SRV_ANNOUNCE, MHD_HTTP_ACCEPTED, strdup(json));
}

/* DELETE /v1/queue/{id}: 204, 404 for an unknown id, 409 for one over already. */
static enum MHD_Result cancel(serve *s, struct MHD_Connection *c, const char *ids) {
    char *end;
    const unsigned long long id = strtoull(ids, &end, 10);
    const int r = ids[0] >= '0' && ids[0] <= '9' && !*end ? ann_cancel(s->announcer, id) : -1;
    if (r < 0)
        return srv_reply_error(c, s, SRV_QUEUE, MHD_HTTP_NOT_FOUND, "not_found", NULL,
                               "no announcement '%.40s' (GET /v1/queue lists them)", ids);
    if (r > 0)
        return srv_reply_error(c, s, SRV_QUEUE, MHD_HTTP_CONFLICT, "already_over", NULL,
                               "announcement %llu is over already", id);
    return srv_queue(c, s, SRV_QUEUE, MHD_HTTP_NO_CONTENT,
                     MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT));
}

enum MHD_Result srv_announce(serve *s, struct MHD_Connection *c, srv_endpoint ep, const char *method,
                             const char *url, const char *body, size_t len) {
    if (!s->announcer)
        return srv_reply_error(c, s, ep, MHD_HTTP_SERVICE_UNAVAILABLE, "speaker_off", NULL,
                               "announcements are off: this server was started with --no-speaker");
    if (ep == SRV_ANNOUNCE) return post(s, c, body, len);
    const int whole = !strcmp(url, "/v1/queue"), del = !strcmp(method, "DELETE");
    if (whole && !del) return srv_reply_json(c, s, ep, MHD_HTTP_OK, ann_queue_json(s->announcer));
    if (!whole && del) return cancel(s, c, url + strlen("/v1/queue/"));
    return srv_reply_error(c, s, ep, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", NULL,
                           whole ? "DELETE needs an id: DELETE /v1/queue/{id}" : "use DELETE /v1/queue/{id} (GET "
                           "/v1/queue lists them)");
}
