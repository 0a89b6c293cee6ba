/* styles.c: the speaking styles: named text cues Bark understands, put around a text (one table, documented in
 * README.md "Speaking styles"). */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* Only cues from Suno's own list (README of suno-ai/bark): Bark learned them from its training data. */
static const bark_style styles[] = {
    {"cheerful", "[laughs] ", "", "a laugh before the text"},
    {"sad", "[sighs] ", "", "a sigh before the text"},
    {"surprised", "[gasps] ", "", "a gasp before the text"},
    {"hesitant", "... ", " ...", "hesitation marks around the text"},
    {"announcer", "[clears throat] ", "", "a cleared throat before the text, as a station announcement"},
    {"singing", "\xe2\x99\xaa ", " \xe2\x99\xaa", "song-lyric marks (\xe2\x99\xaa) around the text"},
    {"man", "[MAN] ", "", "biases Bark toward a male speaker (without a voice prompt)"},
    {"woman", "[WOMAN] ", "", "biases Bark toward a female speaker (without a voice prompt)"},
};
#define N_STYLES (sizeof styles / sizeof *styles)

size_t bark_style_count(void) { return N_STYLES; }

const bark_style *bark_style_at(size_t i) { return i < N_STYLES ? &styles[i] : NULL; }

const bark_style *bark_style_find(const char *name) {
    for (size_t i = 0; name && i < N_STYLES; i++)
        if (!strcmp(styles[i].name, name)) return &styles[i];
    return NULL;
}

bark_status bark_style_apply(const char *name, const char *text, char **out, bark_error *err) {
    *out = NULL;
    const bark_style *s = bark_style_find(name);
    if (!s) {
        char list[256] = "";
        for (size_t i = 0; i < N_STYLES; i++) {
            strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, styles[i].name, sizeof list - strlen(list) - 1);
        }
        return bark_fail(err, BARK_ERR_ARG, "unknown style '%.60s' (the styles: %s)", name ? name : "", list);
    }
    if (!text) return bark_fail(err, BARK_ERR_ARG, "style: no text");
    const size_t a = strlen(s->prefix), b = strlen(text), c = strlen(s->suffix);
    char *t = malloc(a + b + c + 1);
    if (!t) return bark_fail(err, BARK_ERR_NOMEM, "style: out of memory");
    memcpy(t, s->prefix, a);
    memcpy(t + a, text, b);
    memcpy(t + a + b, s->suffix, c + 1);
    *out = t;
    return BARK_OK;
}
