/* encodec_load.c: reads the EnCodec hyper-parameters and weights from the mapped model file into f32 buffers. */
#include "codec/encodec_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/gguf_keys.h"

static bark_status get_int(const bark_model *m, const char *key, int *out, bark_error *err) {
    uint32_t v = 0;
    bark_status st = bark_model_get_u32(m, key, &v, err);
    if (st != BARK_OK) return st;
    if (v > (1u << 24)) return bark_fail(err, BARK_ERR_UNSUPPORTED, "encodec: %s = %u is out of range", key, v);
    *out = (int)v;
    return BARK_OK;
}

static bark_status read_hparams(const bark_model *m, encodec_hparams *hp, bark_error *err) {
    struct { const char *key; int *dst; } f[] = {
        {KEY_ENCODEC("sample_rate"), &hp->sample_rate},
        {KEY_ENCODEC("channels"), &hp->channels},
        {KEY_ENCODEC("n_filters"), &hp->n_filters},
        {KEY_ENCODEC("dimension"), &hp->dimension},
        {KEY_ENCODEC("kernel_size"), &hp->kernel_size},
        {KEY_ENCODEC("last_kernel_size"), &hp->last_kernel_size},
        {KEY_ENCODEC("residual_kernel_size"), &hp->residual_kernel_size},
        {KEY_ENCODEC("n_residual_layers"), &hp->n_residual_layers},
        {KEY_ENCODEC("lstm_layers"), &hp->lstm_layers},
        {KEY_ENCODEC("compress"), &hp->compress},
        {KEY_ENCODEC("codebook_size"), &hp->codebook_size},
        {KEY_ENCODEC("n_q"), &hp->n_q},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        bark_status st = get_int(m, f[i].key, f[i].dst, err);
        if (st != BARK_OK) return st;
    }
    int32_t r[ENCODEC_MAX_RATIOS + 1];
    size_t n = 0;
    bark_status st = bark_model_get_i32_array(m, KEY_ENCODEC("ratios"), r, ENCODEC_MAX_RATIOS + 1, &n, err);
    if (st != BARK_OK) return st;
    if (n < 1 || n > ENCODEC_MAX_RATIOS)
        return bark_fail(err, BARK_ERR_UNSUPPORTED, "encodec: " KEY_ENCODEC("ratios") " has %zu values, 1..%d are "
                         "supported", n, ENCODEC_MAX_RATIOS);
    hp->n_ratios = (int)n;
    for (size_t i = 0; i < n; i++) hp->ratios[i] = r[i];
    return encodec_hparams_check(hp, err);
}

/* Checks one tensor's type, shape and size and stores it (via tmp, PyTorch order) at r->dst. */
static bark_status load_tensor(const bark_model *m, const encodec_tref *r, float *tmp, bark_error *err) {
    const bark_tensor *t = bark_model_find(m, r->name);
    if (!t) return bark_fail(err, BARK_ERR_MISSING, "%s: tensor '%s' is missing", bark_model_path(m), r->name);
    int same = t->n_dims == r->n_dims;
    for (int i = 0; same && i < r->n_dims; i++) same = t->ne[i] == r->shape[r->n_dims - 1 - i];
    if (!same) {
        char want[64], got[64];
        int w = 0, g = 0;
        for (int i = 0; i < r->n_dims; i++)
            w += snprintf(want + w, sizeof want - (size_t)w, "%s%lld", i ? ", " : "", (long long)r->shape[r->n_dims - 1 - i]);
        for (int i = 0; i < t->n_dims && i < 4 && g < (int)sizeof got - 24; i++)
            g += snprintf(got + g, sizeof got - (size_t)g, "%s%lld", i ? ", " : "", (long long)t->ne[i]);
        if (t->n_dims <= 0) got[0] = '\0';
        return bark_fail(err, BARK_ERR_FORMAT, "%s: tensor '%s' has ne {%s}, expected {%s}", bark_model_path(m),
                         r->name, got, want);
    }
    if (t->type != BARK_TYPE_F32 && t->type != BARK_TYPE_F16 && t->type != BARK_TYPE_Q8_0)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: tensor '%s' has type %s, expected f32, f16 or q8_0",
                         bark_model_path(m), r->name, bark_type_name(t->type));
    const int64_t ne0 = t->ne[0], numel = encodec_tref_numel(r), rows = numel / ne0;
    const size_t rs = bark_type_row_size(t->type, ne0);
    if (rs == 0 || !t->data || t->nbytes / rs < (size_t)rows || t->nbytes != rs * (size_t)rows)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: tensor '%s' holds %zu bytes, not %lld rows of %s", bark_model_path(m),
                         r->name, t->nbytes, (long long)rows, bark_type_name(t->type));
    const uint8_t *src = t->data;
    for (int64_t i = 0; i < rows; i++) bark_dequantize_row(t->type, src + (size_t)i * rs, tmp + i * ne0, ne0);
    encodec_store(r, tmp);
    return BARK_OK;
}

bark_status encodec_load(const bark_model *m, encodec_model *out, bark_error *err) {
    return encodec_load_part(m, 1, 0, out, err);
}

bark_status encodec_load_part(const bark_model *m, int want_encoder, int max_q, encodec_model *out, bark_error *err) {
    memset(out, 0, sizeof *out);
    encodec_hparams hp;
    memset(&hp, 0, sizeof hp);
    bark_status st = read_hparams(m, &hp, err);
    if (st != BARK_OK) return st;
    if (max_q > 0 && max_q < hp.n_q) hp.n_q = max_q;
    const int with_encoder = want_encoder && bark_model_find(m, "encodec.encoder.0.weight") != NULL;
    st = encodec_alloc(out, &hp, with_encoder, err);
    if (st != BARK_OK) return st;
    const int n = encodec_tensor_count(&hp);
    encodec_tref *refs = malloc((size_t)n * sizeof *refs);
    int64_t maxn = 0;
    if (refs) {
        encodec_tensor_list(out, refs);
        for (int i = 0; i < n; i++)
            if (encodec_tref_numel(&refs[i]) > maxn) maxn = encodec_tref_numel(&refs[i]);
    }
    float *tmp = refs ? malloc((size_t)maxn * sizeof *tmp) : NULL;
    if (!tmp) st = bark_fail(err, BARK_ERR_NOMEM, "encodec: out of memory while loading");
    for (int i = 0; st == BARK_OK && i < n; i++)
        if (!refs[i].encoder || with_encoder) st = load_tensor(m, &refs[i], tmp, err);
    free(tmp);
    free(refs);
    if (st != BARK_OK) {
        encodec_free(out);
        return st;
    }
    encodec_finish_codebooks(out);
    return BARK_OK;
}
