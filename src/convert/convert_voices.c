/* convert_voices.c: voice prompts (Suno .npz presets, Hugging Face speaker embeddings) as i32 tensors. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model/quant.h"
#include "convert/convert_int.h"

/* Checks shape (rows == 0: 1-D) and range, then stores voice.<name>.<part> as i32. */
static bark_status put_part(convert_ctx *c, const char *voice, const char *part, const src_tensor *t, int64_t rows,
                            int64_t max_value, const char *label) {
    if (!t) return bark_fail(c->err, BARK_ERR_MISSING, "%s: voice '%s' has no %s_prompt", label, voice, part);
    if (!src_dtype_is_int(t->dtype))
        return bark_fail(c->err, BARK_ERR_FORMAT, "%s: %s_prompt is %s; voice prompts must be integer arrays", label,
                         part, src_dtype_name(t->dtype));
    int ok = rows ? (t->n_dims == 2 && t->shape[0] == rows && t->shape[1] >= 1) : (t->n_dims == 1 && t->shape[0] >= 1);
    if (!ok)
        return bark_fail(c->err, BARK_ERR_FORMAT, "%s: %s_prompt has the wrong shape (expected %s)", label, part,
                         rows == 2 ? "[2, T]" : rows == 8 ? "[8, T]" : "[N]");
    size_t n = (size_t)t->shape[0] * (size_t)(rows ? t->shape[1] : 1);
    int32_t *v = malloc(n * sizeof *v);
    if (!v) return bark_fail(c->err, BARK_ERR_NOMEM, "%s: out of memory", label);
    for (size_t i = 0; i < n; i++) {
        int64_t x = src_int_at(t, i);
        if (x < 0 || x > max_value) {
            free(v);
            return bark_fail(c->err, BARK_ERR_FORMAT, "%s: %s_prompt holds %lld, outside 0..%lld", label, part,
                             (long long)x, (long long)max_value);
        }
        v[i] = (int32_t)x;
    }
    char name[256];
    snprintf(name, sizeof name, "voice.%s.%s", voice, part);
    int64_t ne[2] = {rows ? t->shape[1] : t->shape[0], rows};
    bark_status st = gguf_add_tensor(c->w, name, BARK_TYPE_I32, rows ? 2 : 1, ne, v, n * sizeof *v);
    free(v);
    return st ? bark_fail(c->err, st, "%s: out of memory", label) : BARK_OK;
}

bark_status convert_voice(convert_ctx *c, const char *voice, const src_tensor *semantic, const src_tensor *coarse,
                          const src_tensor *fine, const char *label) {
    size_t n = strlen(voice);
    if (n == 0 || n > 100)
        return bark_fail(c->err, BARK_ERR_ARG, "%s: voice name '%s' must be 1 to 100 bytes", label, voice);
    for (size_t i = 0; i < c->n_voices; i++)
        if (!strcmp(c->voices[i], voice))
            return bark_fail(c->err, BARK_ERR_ARG, "%s: voice '%s' was given twice", label, voice);
    bark_status st;
    if ((st = put_part(c, voice, "semantic", semantic, 0, 9999, label)) ||
        (st = put_part(c, voice, "coarse", coarse, 2, 1023, label)) ||
        (st = put_part(c, voice, "fine", fine, 8, 1023, label)))
        return st;
    if (c->n_voices == c->cap_voices) {
        size_t cap = c->cap_voices ? c->cap_voices * 2 : 64;
        char **v = realloc(c->voices, cap * sizeof *v);
        if (!v) return bark_fail(c->err, BARK_ERR_NOMEM, "out of memory");
        c->voices = v;
        c->cap_voices = cap;
    }
    if (!(c->voices[c->n_voices] = strdup(voice))) return bark_fail(c->err, BARK_ERR_NOMEM, "out of memory");
    c->n_voices++;
    return BARK_OK;
}

bark_status convert_npz_voice(convert_ctx *c, const char *path, const char *voice) {
    src_set s;
    src_set_init(&s);
    bark_status st = src_read_npz(&s, path, "", c->err);
    if (!st)
        st = convert_voice(c, voice, src_set_find(&s, "semantic_prompt"), src_set_find(&s, "coarse_prompt"),
                           src_set_find(&s, "fine_prompt"), path);
    src_set_free(&s);
    return st;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Adds every .npz under dir (one sub-folder level, e.g. v2/) as voice "<sub>/<stem>", in sorted order. */
static bark_status scan(convert_ctx *c, const char *root, const char *sub, int depth) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s%s%s", root, *sub ? "/" : "", sub);
    DIR *d = opendir(dir);
    if (!d) return bark_fail(c->err, BARK_ERR_IO, "%s: cannot read folder", dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    bark_status st = BARK_OK;
    for (struct dirent *e; (e = readdir(d)) && !st;) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) { st = bark_fail(c->err, BARK_ERR_NOMEM, "out of memory"); break; }
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name))) st = bark_fail(c->err, BARK_ERR_NOMEM, "out of memory");
        else n++;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n && !st; i++) {
        char path[4096], voice[512];
        struct stat sb;
        if (snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= (int)sizeof path) {
            st = bark_fail(c->err, BARK_ERR_ARG, "%s: path too long", dir);
            break;
        }
        size_t len = strlen(names[i]);
        if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode) && depth == 0) {
            st = scan(c, root, names[i], 1);
        } else if (len > 4 && !strcmp(names[i] + len - 4, ".npz")) {
            snprintf(voice, sizeof voice, "%.200s%s%.*s", sub, *sub ? "/" : "", (int)(len - 4 > 200 ? 200 : len - 4), names[i]);
            st = convert_npz_voice(c, path, voice);
        }
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return st;
}

bark_status convert_voice_dir(convert_ctx *c, const char *dir) { return scan(c, dir, "", 0); }
