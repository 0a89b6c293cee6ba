/* voice.c: a --voice made ready before any generation: a .npz path, a user voice or a model voice, loaded once. */
#include <string.h>

#include "cli/cli.h"
#include "cli/say.h"

#define SHOWN 3 /* voices named in the message about an absent one */

/* The stored voice nearest to name (edit distance), or NULL when none is close. */
static const char *nearest(const bark_model *m, const char *name) {
    const char *best = NULL;
    int best_d = 4;
    for (size_t i = 0; i < bark_model_voice_count(m); i++) {
        int d = cli_edit_distance(name, bark_model_voice_name(m, i));
        if (d < best_d) best_d = d, best = bark_model_voice_name(m, i);
    }
    return best;
}

bark_status say_voice_prepare(const bark_context *ctx, const char *model_path, const char *voice, bark_voice *v,
                              bark_synth_params *p, bark_error *err) {
    p->voice = NULL, p->voice_prompt = NULL;
    if (!voice) return BARK_OK;
    const bark_model *m = bark_context_model(ctx);
    const char *dir = cli_voices_dir(p->voices_dir);
    bark_status st = bark_voice_find(m, dir, voice, v, err);
    if (!st) p->voice_prompt = v;
    if (st != BARK_ERR_MISSING || bark_voice_is_npz_path(voice)) return st;
    const size_t n = bark_model_voice_count(m);
    if (n == 0)
        return cli_error(err, BARK_ERR_MISSING, "no voice '%.100s': not a user voice and %.200s holds no voices "
                         "(`bark voices add` or a Suno .npz file)", voice, model_path);
    const char *near = nearest(m, voice);
    char few[256] = "";
    for (size_t i = 0; i < n && i < SHOWN; i++)
        snprintf(few + strlen(few), sizeof few - strlen(few), "%s%.60s", i ? ", " : "", bark_model_voice_name(m, i));
    if (near)
        return cli_error(err, BARK_ERR_MISSING, "no voice '%.100s' in %.150s or the user's voices (did you mean %.60s? "
                         "`bark voices` lists all)", voice, model_path, near);
    return cli_error(err, BARK_ERR_MISSING, "no voice '%.100s' in %.150s (it has %s%s) or the user's voices (`bark "
                     "voices` lists all, or give a Suno .npz file)", voice, model_path, few, n > SHOWN ? ", ..." : "");
}
