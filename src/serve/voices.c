/* voices.c: the user's voices in `bark serve`: listed by GET /v1/voices, known to speech and announcements, added by
 * POST /v1/voices?name=NAME with a recording as the body (bounded size and length, one clone at a time). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/staged_file.h"
#include "serve/srv.h"

size_t srv_max_body(srv_endpoint ep) { return ep == SRV_VOICES ? SRV_MAX_VOICE_BODY : SRV_MAX_BODY; }

/* Whether the user's folder holds that voice (the folder is listed afresh: the CLI may change it meanwhile). */
static int user_has(const serve *s, const char *name) {
    bark_voice_store *st = NULL;
    if (!s->cfg.voices_dir || bark_voice_name_check(name, NULL) ||
        bark_voice_store_open(s->cfg.voices_dir, 0, &st, NULL))
        return 0;
    const int has = bark_voice_store_has(st, name);
    bark_voice_store_close(st);
    return has;
}

int srv_known_voice(const serve *s, const char *name) {
    return bark_model_has_voice(bark_context_model(s->ctx), name) || user_has(s, name);
}

void srv_user_voices_json(const serve *s, cJSON *list) {
    bark_voice_store *st = NULL;
    if (!s->cfg.voices_dir || bark_voice_store_open(s->cfg.voices_dir, 0, &st, NULL)) return;
    for (size_t i = 0; i < bark_voice_store_count(st); i++) {
        const char *name = bark_voice_store_name(st, i);
        bark_voice_origin o;
        cJSON *v = cJSON_CreateObject();
        if (!v) break;
        cJSON_AddStringToObject(v, "name", name);
        cJSON_AddNullToObject(v, "language");
        cJSON_AddStringToObject(v, "source", "user");
        if (!bark_voice_store_origin(st, name, &o, NULL) && o.method[0]) {
            cJSON_AddStringToObject(v, "method", o.method);
            cJSON_AddStringToObject(v, "source_file", o.source);
            cJSON_AddStringToObject(v, "source_sha256", o.source_sha256);
            cJSON_AddNumberToObject(v, "source_seconds", o.source_seconds);
            cJSON_AddNumberToObject(v, "kept_seconds", o.kept_seconds);
            cJSON_AddStringToObject(v, "created", o.created);
        }
        cJSON_AddItemToArray(list, v);
    }
    bark_voice_store_close(st);
}

/* Replaces the temporary file's path in a message by "the upload". */
static void name_the_upload(char *msg, const char *tmp) {
    char *at = strstr(msg, tmp);
    if (!at) return;
    const size_t n = strlen(tmp), rest = strlen(at + n);
    static const char label[] = "the upload";
    memmove(at + sizeof label - 1, at + n, rest + 1);
    memcpy(at, label, sizeof label - 1);
}

static atomic_flag cloning = ATOMIC_FLAG_INIT; /* one clone at a time: it takes the CPUs for seconds */

/* The body into a hidden temporary file of the folder, cloned, stored under name. 0, or the HTTP status in *code. */
static bark_status clone_upload(serve *s, const char *name, const char *body, size_t len, bark_voice_origin *o,
                                unsigned *code, bark_error *err) {
    bark_voice_store *st = NULL;
    bark_voice v = {0};
    char tmp[4200];
    *code = MHD_HTTP_INTERNAL_SERVER_ERROR;
    bark_status rc = bark_voice_store_open(s->cfg.voices_dir, 1, &st, err);
    if (rc) return rc;
    snprintf(tmp, sizeof tmp, "%s/.upload-XXXXXX", bark_voice_store_dir(st));
    const int fd = mkstemp(tmp);
    const int e = fd < 0 ? errno : fd_write_all(fd, body, len);
    if (e) {
        rc = err->status = BARK_ERR_IO;
        snprintf(err->msg, sizeof err->msg, "cannot keep the upload in the voices folder: %s", strerror(e));
    }
    if (fd >= 0) close(fd);
    bark_clone_params p = bark_clone_default_params();
    p.hubert_path = s->cfg.hubert ? s->cfg.hubert : s->cfg.model;
    p.n_threads = s->cfg.n_threads;
    if (!rc) {
        rc = bark_voice_from_recording(s->ctx, tmp, &p, SRV_MAX_VOICE_SECONDS, &v, o, NULL, err);
        *code = rc == BARK_ERR_MISSING ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_BAD_REQUEST;
        if (rc == BARK_ERR_NOMEM || rc == BARK_ERR_IO) *code = MHD_HTTP_INTERNAL_SERVER_ERROR;
        name_the_upload(err->msg, tmp);
    }
    if (!rc) {
        snprintf(o->source, sizeof o->source, "upload");
        rc = bark_voice_store_add(st, name, &v, o, 0, err);
        *code = rc == BARK_ERR_ARG ? MHD_HTTP_CONFLICT : MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (fd >= 0) unlink(tmp);
    bark_voice_free(&v);
    bark_voice_store_close(st);
    return rc;
}

enum MHD_Result srv_voices_add(serve *s, struct MHD_Connection *c, const char *body, size_t len) {
    const char *name = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "name");
    bark_error err = {BARK_OK, ""};
    if (!s->cfg.voices_dir)
        return srv_reply_error(c, s, SRV_VOICES, MHD_HTTP_SERVICE_UNAVAILABLE, "no_voices_dir", NULL,
                               "this server keeps no user voices (start it with --voices-dir DIR)");
    if (!name) return srv_reply_error(c, s, SRV_VOICES, MHD_HTTP_BAD_REQUEST, "missing_field", "name",
                                      "give the voice's name: POST /v1/voices?name=NAME with the recording as the body");
    if (bark_voice_name_check(name, &err))
        return srv_reply_error(c, s, SRV_VOICES, MHD_HTTP_BAD_REQUEST, "invalid_value", "name", "%s", err.msg);
    if (srv_known_voice(s, name))
        return srv_reply_error(c, s, SRV_VOICES, MHD_HTTP_CONFLICT, "voice_exists", "name",
                               "a voice '%s' exists already (GET /v1/voices lists them)", name);
    if (!len) return srv_reply_error(c, s, SRV_VOICES, MHD_HTTP_BAD_REQUEST, "missing_body", NULL,
                                     "the body is empty: send the recording (WAV, FLAC, OGG; at most %d MB, %.0f s)",
                                     SRV_MAX_VOICE_BODY >> 20, SRV_MAX_VOICE_SECONDS);
    if (atomic_flag_test_and_set(&cloning))
        return srv_reply_error(c, s, SRV_VOICES, MHD_HTTP_TOO_MANY_REQUESTS, "busy", NULL,
                               "another voice is being cloned; try again shortly");
    bark_voice_origin o;
    unsigned code;
    const bark_status st = clone_upload(s, name, body, len, &o, &code, &err);
    atomic_flag_clear(&cloning);
    if (st) return srv_reply_error(c, s, SRV_VOICES, code, code == MHD_HTTP_CONFLICT ? "voice_exists" : "bad_recording",
                                   NULL, "%s", err.msg);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "name", name);
    cJSON_AddStringToObject(root, "source", "user");
    cJSON_AddStringToObject(root, "method", o.method);
    cJSON_AddStringToObject(root, "source_sha256", o.source_sha256);
    cJSON_AddNumberToObject(root, "source_seconds", o.source_seconds);
    cJSON_AddNumberToObject(root, "kept_seconds", o.kept_seconds);
    cJSON_AddStringToObject(root, "created", o.created);
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return srv_reply_json(c, s, SRV_VOICES, MHD_HTTP_CREATED, json);
}
