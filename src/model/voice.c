/* voice.c: voice prompts (semantic tokens, coarse and fine codes) from the model file or a Suno .npz, and to .npz. */
#include "bark.h"
#include "core/bark_constants.h"
#include "formats/npy_write.h"
#include "formats/source.h"
#include "core/error.h"
#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bark_voice_free(bark_voice *v) {
    if (!v) return;
    free(v->semantic);
    free(v->coarse);
    free(v->fine);
    memset(v, 0, sizeof *v);
}

/* Checks that every value of a[0..n) is in 0..max-1; names the part on failure. */
static bark_status check_range(const int32_t *a, size_t n, int32_t max, const char *who, const char *part,
                               bark_error *err) {
    for (size_t i = 0; i < n; i++)
        if (a[i] < 0 || a[i] >= max)
            return bark_fail(err, BARK_ERR_FORMAT, "%s: %s value %d at %zu is outside 0..%d", who, part, (int)a[i], i,
                             (int)max - 1);
    return BARK_OK;
}

static bark_status check_voice(const bark_voice *v, const char *who, bark_error *err) {
    bark_status st;
    if (v->n_semantic == 0) return bark_fail(err, BARK_ERR_FORMAT, "%s: the semantic prompt is empty", who);
    if ((st = check_range(v->semantic, v->n_semantic, BARK_SEMANTIC_VOCAB_SIZE, who, "semantic prompt", err)) ||
        (st = check_range(v->coarse, 2 * v->n_coarse, BARK_CODEBOOK_SIZE, who, "coarse prompt", err)) ||
        (st = check_range(v->fine, 8 * v->n_fine, BARK_CODEBOOK_SIZE, who, "fine prompt", err)))
        return st;
    return BARK_OK;
}

static int32_t *alloc_i32(size_t n) { return malloc((n ? n : 1) * sizeof(int32_t)); }

/* Lists as many voice names as fit after "unknown voice '<name>'; the model has N: a, b, ...". */
static bark_status unknown_voice(const bark_model *m, const char *name, bark_error *err) {
    size_t n = bark_model_voice_count(m);
    if (n == 0)
        return bark_fail(err, BARK_ERR_MISSING, "%s: unknown voice '%s'; the model file holds no voices (add .npz "
                         "presets when converting, or pass a .npz path)", bark_model_path(m), name);
    char list[400];
    size_t len = 0, shown = 0;
    list[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *v = bark_model_voice_name(m, i);
        size_t vl = strlen(v);
        if (len + vl + 2 + 16 >= sizeof list) break;
        memcpy(list + len, i ? ", " : "", i ? 2 : 0);
        len += i ? 2 : 0;
        memcpy(list + len, v, vl + 1);
        len += vl;
        shown++;
    }
    return bark_fail(err, BARK_ERR_MISSING, "%s: unknown voice '%s'; the %zu voices are: %s%s", bark_model_path(m),
                     name, n, list, shown < n ? ", ..." : "");
}

bark_status bark_model_voice(const bark_model *m, const char *name, bark_voice *out, bark_error *err) {
    memset(out, 0, sizeof *out);
    if (!bark_model_has_voice(m, name)) return unknown_voice(m, name, err);
    /* model.c checked at open that these three exist, are i32 and have 1, 2 and 8 rows */
    const bark_tensor *s = bark_model_findf(m, "voice.%s.semantic", name);
    const bark_tensor *c = bark_model_findf(m, "voice.%s.coarse", name);
    const bark_tensor *f = bark_model_findf(m, "voice.%s.fine", name);
    if (!s || !c || !f)
        return bark_fail(err, BARK_ERR_MISSING, "%s: voice '%s' is incomplete", bark_model_path(m), name);
    out->n_semantic = (size_t)s->ne[0];
    out->n_coarse = (size_t)c->ne[0];
    out->n_fine = (size_t)f->ne[0];
    out->semantic = alloc_i32(out->n_semantic);
    out->coarse = alloc_i32(2 * out->n_coarse);
    out->fine = alloc_i32(8 * out->n_fine);
    if (!out->semantic || !out->coarse || !out->fine) {
        bark_voice_free(out);
        return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory for voice '%s'", bark_model_path(m), name);
    }
    memcpy(out->semantic, s->data, out->n_semantic * sizeof(int32_t));
    memcpy(out->coarse, c->data, 2 * out->n_coarse * sizeof(int32_t));
    memcpy(out->fine, f->data, 8 * out->n_fine * sizeof(int32_t));
    char who[200];
    snprintf(who, sizeof who, "%s: voice '%s'", bark_model_path(m), name);
    bark_status st = check_voice(out, who, err);
    if (st) bark_voice_free(out);
    return st;
}

/* Copies an integer npy array of `rows` rows (0: 1-D) into a new int32 buffer; *cols gets its width. */
static bark_status npz_part(const src_set *set, const char *path, const char *part, int rows, int32_t **dst,
                            size_t *cols, bark_error *err) {
    const src_tensor *t = src_set_find(set, part);
    if (!t) return bark_fail(err, BARK_ERR_MISSING, "%s: no %s array in the voice preset", path, part);
    int want_dims = rows ? 2 : 1;
    if (t->n_dims != want_dims || (rows && t->shape[0] != rows))
        return bark_fail(err, BARK_ERR_FORMAT, "%s: %s has %d dimensions%s, expected %s", path, part, t->n_dims,
                         rows && t->n_dims == 2 ? " with the wrong row count" : "",
                         rows == 2 ? "[2, n]" : rows == 8 ? "[8, n]" : "[n]");
    size_t w = (size_t)t->shape[want_dims - 1], n = w * (size_t)(rows ? rows : 1);
    if (!src_dtype_is_int(t->dtype))
        return bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: %s has dtype %s, expected an integer type", path, part,
                         src_dtype_name(t->dtype));
    int32_t *a = alloc_i32(n);
    if (!a) return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory for %s", path, part);
    for (size_t i = 0; i < n; i++) {
        const int64_t v = src_int_at(t, i);
        a[i] = v < 0 ? -1 : v > INT32_MAX ? INT32_MAX : (int32_t)v; /* out-of-range values fail the range check */
    }
    *dst = a;
    *cols = w;
    return BARK_OK;
}

/* The three prompts of the npz read into set (who names it in messages) into out, checked. */
static bark_status voice_from_set(src_set *set, const char *who, bark_voice *out, bark_error *err) {
    bark_status st = npz_part(set, who, "semantic_prompt", 0, &out->semantic, &out->n_semantic, err);
    if (!st) st = npz_part(set, who, "coarse_prompt", 2, &out->coarse, &out->n_coarse, err);
    if (!st) st = npz_part(set, who, "fine_prompt", 8, &out->fine, &out->n_fine, err);
    if (!st) st = check_voice(out, who, err);
    if (st) bark_voice_free(out);
    return st;
}

bark_status bark_voice_load_npz(const char *path, bark_voice *out, bark_error *err) {
    memset(out, 0, sizeof *out);
    src_set set;
    src_set_init(&set);
    bark_status st = src_read_npz(&set, path, "", err);
    if (!st) st = voice_from_set(&set, path, out, err);
    src_set_free(&set);
    return st;
}

bark_status voice_parse_npz(const uint8_t *buf, size_t size, const char *label, bark_voice *out, bark_error *err) {
    memset(out, 0, sizeof *out);
    src_set set;
    src_set_init(&set);
    bark_status st = src_parse_npz_mem(&set, buf, size, "", label, err);
    if (!st) st = voice_from_set(&set, label, out, err);
    src_set_free(&set);
    return st;
}

bark_status bark_voice_save_npz(const bark_voice *v, const char *path, bark_error *err) {
    if (!v->n_semantic || !v->n_fine || v->n_coarse != v->n_fine)
        return bark_fail(err, BARK_ERR_ARG, "%s: a voice needs semantic tokens and as many coarse as fine frames",
                         path);
    /* Suno's v2 presets: semantic_prompt <i8 [n], coarse_prompt <i8 [2, T], fine_prompt <i4 [8, T] */
    const npz_member m[3] = {
        {"semantic_prompt", NPY_I8, 1, {v->n_semantic, 0}, v->semantic},
        {"coarse_prompt", NPY_I8, 2, {2, v->n_coarse}, v->coarse},
        {"fine_prompt", NPY_I4, 2, {8, v->n_fine}, v->fine},
    };
    return npz_save(path, m, 3, err);
}
