/* voice_make.c: a voice and its record from a recording or a Suno .npz, and finding a voice by what a user names. */
#include <sndfile.h>
#include <string.h>

#include "core/error.h"
#include "core/sha256.h"
#include "voices/voice_origin.h"

/* The source's base name and SHA-256 into o. */
static bark_status describe_source(const char *path, bark_voice_origin *o, bark_error *err) {
    unsigned char d[32];
    if (sha256_file(path, d)) return bark_fail(err, BARK_ERR_IO, "%s: cannot read the file", path);
    hex_encode(d, sizeof d, o->source_sha256);
    const char *base = strrchr(path, '/');
    snprintf(o->source, sizeof o->source, "%s", base ? base + 1 : path);
    return BARK_OK;
}

/* The recording's length from its header (libsndfile), before anything reads it whole. */
static bark_status recording_seconds(const char *path, double max_seconds, double *seconds, bark_error *err) {
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    if (!f) return bark_fail(err, BARK_ERR_FORMAT, "%s: not a recording libsndfile reads (%s)", path,
                             sf_strerror(NULL));
    sf_close(f);
    if (info.samplerate <= 0 || info.frames <= 0)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: the recording holds no samples (0 s)", path);
    *seconds = (double)info.frames / info.samplerate;
    if (*seconds > max_seconds)
        return bark_fail(err, BARK_ERR_ARG, "%s: the recording is %.0f s long; at most %.0f s is read (5-15 s of "
                         "speech is what a voice needs: cut it first)", path, *seconds, max_seconds);
    return BARK_OK;
}

bark_status bark_voice_from_recording(const bark_context *ctx, const char *path, const bark_clone_params *p,
                                      double max_file_seconds, bark_voice *out, bark_voice_origin *origin,
                                      bark_clone_info *info, bark_error *err) {
    memset(out, 0, sizeof *out);
    memset(origin, 0, sizeof *origin);
    if (!(max_file_seconds > 0)) return bark_fail(err, BARK_ERR_ARG, "voice: max file seconds must be > 0");
    bark_clone_info ci;
    bark_status st = recording_seconds(path, max_file_seconds, &origin->source_seconds, err);
    if (!st) st = describe_source(path, origin, err);
    if (!st) st = bark_clone_file(ctx, path, p, out, &ci, err);
    if (st) {
        memset(origin, 0, sizeof *origin);
        return st;
    }
    snprintf(origin->method, sizeof origin->method, "%s",
             p && p->transcript ? "transcript" : ci.has_semantic ? "hubert" : "codes-only");
    origin->source_seconds = ci.file_seconds;
    origin->kept_seconds = ci.kept_seconds;
    voice_origin_now(origin->created);
    if (info) *info = ci;
    return BARK_OK;
}

bark_status bark_voice_from_npz(const char *path, bark_voice *out, bark_voice_origin *origin, bark_error *err) {
    memset(origin, 0, sizeof *origin);
    bark_status st = bark_voice_load_npz(path, out, err);
    if (!st) st = describe_source(path, origin, err);
    if (st) {
        bark_voice_free(out);
        memset(origin, 0, sizeof *origin);
        return st;
    }
    snprintf(origin->method, sizeof origin->method, "npz-import");
    voice_origin_now(origin->created);
    return BARK_OK;
}

int bark_voice_is_npz_path(const char *name) {
    const size_t l = name ? strlen(name) : 0;
    return l > 4 && !strcmp(name + l - 4, ".npz");
}

bark_status bark_voice_find(const bark_model *m, const char *voices_dir, const char *name, bark_voice *out,
                            bark_error *err) {
    memset(out, 0, sizeof *out);
    if (!name || !*name) return bark_fail(err, BARK_ERR_ARG, "no voice named");
    if (bark_voice_is_npz_path(name)) return bark_voice_load_npz(name, out, err);
    if (voices_dir && !bark_voice_name_check(name, NULL)) {
        bark_voice_store *s = NULL;
        bark_status st = bark_voice_store_open(voices_dir, 0, &s, err);
        if (st) return st;
        const int has = bark_voice_store_has(s, name);
        if (has) st = bark_voice_store_load(s, name, out, err);
        bark_voice_store_close(s);
        if (has) return st;
    }
    return bark_model_voice(m, name, out, err);
}
