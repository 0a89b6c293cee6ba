/* convert_codec.c: EnCodec 24 kHz weights (original or Hugging Face spelling) with weight norm folded. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/convert_int.h"
#include "convert/names.h"

#define MAX_WN 64

typedef struct wn_pair {
    char name[128];
    const src_tensor *g, *v;
} wn_pair;

/* w[i,...] = v[i,...] * (g[i] / ||v[i,...]||): PyTorch's weight norm over every dim but the first. */
static bark_status fold(convert_ctx *c, const wn_pair *p, const char *label) {
    const src_tensor *g = p->g, *v = p->v;
    int64_t rows = v->shape[0], per = 1, gn = 1;
    for (int d = 1; d < v->n_dims; d++) per *= v->shape[d];
    for (int d = 0; d < g->n_dims; d++) gn *= g->shape[d];
    if (v->n_dims != 3 || gn != rows || rows < 1)
        return bark_fail(c->err, BARK_ERR_FORMAT, "%s: weight-norm pair for '%s' has mismatched shapes", label, p->name);
    float *fv = convert_to_f32(c, v, label), *fg = fv ? convert_to_f32(c, g, label) : NULL;
    bark_status st = c->err ? c->err->status : BARK_ERR_FORMAT;
    if (fv && fg) {
        for (int64_t r = 0; r < rows; r++) {
            float *row = fv + r * per;
            double ss = 0;
            for (int64_t i = 0; i < per; i++) ss += (double)row[i] * row[i];
            const float scale = fg[r] / (float)sqrt(ss);
            for (int64_t i = 0; i < per; i++) row[i] *= scale;
        }
        st = convert_emit(c, p->name, ROLE_CODEC, fv, v->n_dims, v->shape);
    }
    free(fv);
    free(fg);
    return st;
}

static bark_status add_pair(convert_ctx *c, wn_pair *pairs, int *n, const char *out, name_kind k,
                            const src_tensor *t, const char *label) {
    int i = 0;
    while (i < *n && strcmp(pairs[i].name, out)) i++;
    if (i == *n) {
        if (*n == MAX_WN) return bark_fail(c->err, BARK_ERR_FORMAT, "%s: too many weight-norm tensors", label);
        memset(&pairs[i], 0, sizeof pairs[i]);
        snprintf(pairs[i].name, sizeof pairs[i].name, "%s", out);
        (*n)++;
    }
    const src_tensor **slot = k == NAME_WN_G ? &pairs[i].g : &pairs[i].v;
    if (*slot) return bark_fail(c->err, BARK_ERR_FORMAT, "%s: '%s' appears twice", label, t->name);
    *slot = t;
    return BARK_OK;
}

/* Finds the torch shape of an emitted source tensor by its GGUF name. */
typedef struct shape_of {
    char name[128];
    int n_dims;
    int64_t shape[3];
} shape_of;

static const shape_of *find_shape(const shape_of *v, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(v[i].name, name)) return &v[i];
    return NULL;
}

static bark_status set_hparams(convert_ctx *c, const shape_of *sh, int n_sh, int n_q, int lstm_layers,
                               const char *label) {
    const shape_of *d0 = find_shape(sh, n_sh, "encodec.decoder.0.weight"),
                   *d15 = find_shape(sh, n_sh, "encodec.decoder.15.weight"),
                   *res = find_shape(sh, n_sh, "encodec.decoder.4.block1.weight"),
                   *cb = find_shape(sh, n_sh, "encodec.quantizer.0.embed");
    static const int up[4] = {3, 6, 9, 12};
    uint32_t ratios[4];
    for (int i = 0; i < 4; i++) {
        char name[64];
        snprintf(name, sizeof name, "encodec.decoder.%d.weight", up[i]);
        const shape_of *t = find_shape(sh, n_sh, name);
        if (!t || t->n_dims != 3 || t->shape[2] % 2) {
            d0 = NULL;
            break;
        }
        ratios[i] = (uint32_t)(t->shape[2] / 2);
    }
    if (!d0 || !d15 || !res || !cb || d0->n_dims != 3 || d15->n_dims != 3 || res->n_dims != 3 || cb->n_dims != 2 ||
        res->shape[0] < 1)
        return bark_fail(c->err, BARK_ERR_UNSUPPORTED, "%s: not the EnCodec 24 kHz layout bark knows (decoder "
                         "layers 0, 3, 4, 6, 9, 12, 15 and codebooks expected)", label);
    if (d15->shape[0] != 1)
        return bark_fail(c->err, BARK_ERR_UNSUPPORTED, "%s: EnCodec with %lld audio channels; Bark uses the 24 kHz "
                         "mono model", label, (long long)d15->shape[0]);
    const struct { const char *k; uint32_t v; } kv[] = {
        {KEY_ENCODEC("sample_rate"), 24000}, {KEY_ENCODEC("channels"), 1},
        {KEY_ENCODEC("n_filters"), (uint32_t)d15->shape[1]}, {KEY_ENCODEC("dimension"), (uint32_t)d0->shape[1]},
        {KEY_ENCODEC("kernel_size"), (uint32_t)d0->shape[2]}, {KEY_ENCODEC("last_kernel_size"), (uint32_t)d15->shape[2]},
        {KEY_ENCODEC("residual_kernel_size"), (uint32_t)res->shape[2]},
        {KEY_ENCODEC("n_residual_layers"), 1}, {KEY_ENCODEC("lstm_layers"), (uint32_t)lstm_layers},
        {KEY_ENCODEC("compress"), (uint32_t)(res->shape[1] / res->shape[0])},
        {KEY_ENCODEC("codebook_size"), (uint32_t)cb->shape[0]}, {KEY_ENCODEC("n_q"), (uint32_t)n_q}};
    bark_status st = BARK_OK;
    for (size_t i = 0; i < sizeof kv / sizeof *kv && !st; i++) st = gguf_set_u32(c->w, kv[i].k, kv[i].v);
    if (!st) st = gguf_set_u32_array(c->w, KEY_ENCODEC("ratios"), ratios, 4);
    return st ? bark_fail(c->err, st, "out of memory") : BARK_OK;
}

bark_status convert_codec(convert_ctx *c, const src_set *s, const char *prefix, const char *label) {
    if (c->have[BARK_STAGE_CODEC])
        return bark_fail(c->err, BARK_ERR_ARG, "%s: a second EnCodec model was given; give it once", label);
    wn_pair pairs[MAX_WN];
    shape_of *shapes = calloc(s->n ? s->n : 1, sizeof *shapes);
    if (!shapes) return bark_fail(c->err, BARK_ERR_NOMEM, "%s: out of memory", label);
    int n_pairs = 0, n_shapes = 0, n_q = 0, lstm = 0;
    bark_status st = BARK_OK;
    size_t plen = strlen(prefix);
    for (size_t i = 0; i < s->n && !st; i++) {
        const src_tensor *t = &s->t[i];
        if (strncmp(t->name, prefix, plen)) continue;
        char out[128];
        name_kind k = name_map_codec(t->name + plen, out, sizeof out);
        if (k == NAME_SKIP) continue;
        if (k == NAME_UNKNOWN) {
            st = bark_fail(c->err, BARK_ERR_UNSUPPORTED, "%s: unexpected tensor '%s'; not an EnCodec 24 kHz checkpoint "
                           "bark knows", label, t->name);
            break;
        }
        if (t->n_dims > 3) {
            st = bark_fail(c->err, BARK_ERR_FORMAT, "%s: tensor '%s' has %d dims", label, t->name, t->n_dims);
            break;
        }
        if (k == NAME_TENSOR || k == NAME_WN_V) {
            shape_of *sh = &shapes[n_shapes++];
            snprintf(sh->name, sizeof sh->name, "%s", out);
            sh->n_dims = t->n_dims;
            memcpy(sh->shape, t->shape, sizeof(int64_t) * (size_t)t->n_dims);
        }
        if (k != NAME_TENSOR) {
            st = add_pair(c, pairs, &n_pairs, out, k, t, label);
            continue;
        }
        int is_embed = strstr(out, ".embed") != NULL;
        n_q += is_embed;
        lstm += !strncmp(out, "encodec.decoder.1.lstm.weight_ih_l", 34);
        float *f = convert_to_f32(c, t, label);
        if (!f) { st = c->err ? c->err->status : BARK_ERR_FORMAT; break; }
        emit_role role = is_embed ? ROLE_CODEBOOK : t->n_dims == 1 ? ROLE_VECTOR : ROLE_CODEC;
        st = convert_emit(c, out, role, f, t->n_dims, t->shape);
        free(f);
    }
    for (int i = 0; i < n_pairs && !st; i++) {
        if (!pairs[i].g || !pairs[i].v)
            st = bark_fail(c->err, BARK_ERR_FORMAT, "%s: weight norm of '%s' lacks its %s half", label, pairs[i].name,
                           pairs[i].g ? "direction (weight_v)" : "magnitude (weight_g)");
        else
            st = fold(c, &pairs[i], label);
    }
    if (!st) st = set_hparams(c, shapes, n_shapes, n_q, lstm, label);
    free(shapes);
    if (!st) c->have[BARK_STAGE_CODEC] = 1;
    return st;
}
