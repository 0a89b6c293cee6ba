/* info.c: GET /v1/voices (the model's voices and their languages, then the user's), /health and /metrics. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "serve/srv.h"

/* Bark's languages: the prefix of a voice name ("v2/de_speaker_1": de). */
static const char *const languages[] = {"en", "de", "es", "fr", "hi", "it", "ja", "ko", "pl", "pt", "ru", "tr", "zh"};

const char *srv_voice_language(const char *name) {
    const char *slash = strrchr(name, '/'), *base = slash ? slash + 1 : name;
    const char *us = strchr(base, '_');
    if (!us) return NULL;
    for (size_t i = 0; i < sizeof languages / sizeof *languages; i++)
        if ((size_t)(us - base) == strlen(languages[i]) && !strncmp(base, languages[i], (size_t)(us - base)))
            return languages[i];
    return NULL;
}

const char *srv_voice_for_language(const serve *s, const char *lang) {
    const bark_model *m = bark_context_model(s->ctx);
    for (size_t i = 0; lang && strlen(lang) >= 2 && i < bark_model_voice_count(m); i++) {
        const char *l = srv_voice_language(bark_model_voice_name(m, i));
        if (l && !strncmp(l, lang, 2) && (!lang[2] || lang[2] == '-' || lang[2] == '_'))
            return bark_model_voice_name(m, i);
    }
    return NULL;
}

static char *voices_json(const serve *s) {
    const bark_model *m = bark_context_model(s->ctx);
    cJSON *root = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(root, "voices");
    for (size_t i = 0; i < bark_model_voice_count(m); i++) {
        const char *name = bark_model_voice_name(m, i), *lang = srv_voice_language(name);
        cJSON *v = cJSON_CreateObject();
        cJSON_AddStringToObject(v, "name", name);
        if (lang) cJSON_AddStringToObject(v, "language", lang);
        else cJSON_AddNullToObject(v, "language");
        cJSON_AddStringToObject(v, "source", "model");
        cJSON_AddItemToArray(list, v);
    }
    srv_user_voices_json(s, list);
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return json;
}

static char *health_json(const serve *s) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "status", atomic_load(&s->stopping) ? "stopping" : "ok");
    cJSON_AddStringToObject(root, "model", s->model_name);
    cJSON_AddStringToObject(root, "version", BARK_VERSION);
    cJSON_AddNumberToObject(root, "uptime_seconds", srv_now() - s->started);
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return json;
}

enum MHD_Result srv_info(serve *s, struct MHD_Connection *c, srv_endpoint ep) {
    if (ep == SRV_VOICES) return srv_reply_json(c, s, ep, MHD_HTTP_OK, voices_json(s));
    if (ep == SRV_HEALTH) return srv_reply_json(c, s, ep, MHD_HTTP_OK, health_json(s));
    char *text = srv_metrics_render(s);
    if (!text) return MHD_NO;
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
    return srv_queue(c, s, ep, MHD_HTTP_OK, r);
}
