/* voice.c: a --voice made ready before any generation: a .npz loaded, a name checked against the model's voices. */
#include <string.h>

#include "cli/cli.h"
#include "cli/say.h"

#define SHOWN 3 /* voices named in the message about an absent one */

static int is_npz(const char *s) {
    size_t l = strlen(s);
    return l > 4 && !strcmp(s + l - 4, ".npz");
}

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
    if (is_npz(voice)) {
        bark_status st = bark_voice_load_npz(voice, v, err);
        if (!st) p->voice_prompt = v;
        return st;
    }
    const bark_model *m = bark_context_model(ctx);
    const size_t n = bark_model_voice_count(m);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(bark_model_voice_name(m, i), voice)) {
            p->voice = voice;
            return BARK_OK;
        }
    if (n == 0)
        return cli_error(err, BARK_ERR_MISSING, "no voice '%.100s': %.200s holds no voices (give a Suno .npz file)",
                         voice, model_path);
    const char *near = nearest(m, voice);
    char few[256] = "";
    for (size_t i = 0; i < n && i < SHOWN; i++)
        snprintf(few + strlen(few), sizeof few - strlen(few), "%s%.60s", i ? ", " : "", bark_model_voice_name(m, i));
    if (near)
        return cli_error(err, BARK_ERR_MISSING, "no voice '%.100s' in %.150s (did you mean %.60s? `bark voices` "
                         "lists all %zu)", voice, model_path, near, n);
    return cli_error(err, BARK_ERR_MISSING, "no voice '%.100s' in %.150s (it has %s%s; `bark voices` lists all %zu, "
                     "or give a Suno .npz file)", voice, model_path, few, n > SHOWN ? ", ..." : "", n);
}
