/* hubert_load.c: HuBERT's hyper-parameters and tensor views from a model file, every shape checked. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "clone/hubert.h"
#include "model/gguf_keys.h"

int bark_model_has_hubert(const bark_model *m) { return bark_model_find(m, "hubert.feat_proj.weight") != NULL; }

/* Copies the tensor `name` into dst after checking its dims (ne[d] for d < n_dims) and type: matrices may be
 * f32, f16 or q8_0, vectors f32 or f16. */
static bark_status need(const bark_model *m, bark_tensor *dst, int matrix, int n_dims, const int64_t *ne,
                        bark_error *err, const char *fmt, ...) {
    char name[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    const bark_tensor *t = bark_model_find(m, name);
    if (!t) return bark_fail(err, BARK_ERR_MISSING, "%s: tensor '%s' is missing", bark_model_path(m), name);
    int ok = t->n_dims == n_dims;
    for (int d = 0; ok && d < n_dims; d++) ok = t->ne[d] == ne[d];
    if (!ok)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: tensor '%s' has the wrong shape (%d dims, ne0 %lld)",
                         bark_model_path(m), name, t->n_dims, (long long)t->ne[0]);
    if (t->type != BARK_TYPE_F32 && t->type != BARK_TYPE_F16 && !(matrix && t->type == BARK_TYPE_Q8_0))
        return bark_fail(err, BARK_ERR_FORMAT, "%s: tensor '%s' has type %s", bark_model_path(m), name,
                         bark_type_name(t->type));
    *dst = *t;
    return BARK_OK;
}

static bark_status get_int(const bark_model *m, const char *key, int lo, int hi, int *out, bark_error *err) {
    uint32_t v = 0;
    bark_status st = bark_model_get_u32(m, key, &v, err);
    if (st) return st;
    if (v < (uint32_t)lo || v > (uint32_t)hi)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: %s = %u is outside %d..%d", bark_model_path(m), key, v, lo, hi);
    *out = (int)v;
    return BARK_OK;
}

static bark_status read_hparams(const bark_model *m, hubert_hparams *hp, bark_error *err) {
    bark_status st;
    int32_t k[HUBERT_MAX_CONV + 1], s[HUBERT_MAX_CONV + 1];
    size_t nk = 0, ns = 0;
    if ((st = get_int(m, KEY_HUBERT("block_count"), 1, HUBERT_MAX_LAYERS, &hp->n_layer, err)) ||
        (st = get_int(m, KEY_HUBERT("embedding_length"), 8, 4096, &hp->n_embd, err)) ||
        (st = get_int(m, KEY_HUBERT("head_count"), 1, 64, &hp->n_head, err)) ||
        (st = get_int(m, KEY_HUBERT("feed_forward_length"), 1, 16384, &hp->n_ff, err)) ||
        (st = get_int(m, KEY_HUBERT("conv_dim"), 1, 4096, &hp->conv_dim, err)) ||
        (st = get_int(m, KEY_HUBERT("pos_conv_kernel"), 2, 1024, &hp->pos_kernel, err)) ||
        (st = get_int(m, KEY_HUBERT("pos_conv_groups"), 1, 4096, &hp->pos_groups, err)) ||
        (st = bark_model_get_i32_array(m, KEY_HUBERT("conv_kernels"), k, HUBERT_MAX_CONV + 1, &nk, err)) ||
        (st = bark_model_get_i32_array(m, KEY_HUBERT("conv_strides"), s, HUBERT_MAX_CONV + 1, &ns, err)))
        return st;
    if (nk < 1 || nk > HUBERT_MAX_CONV || nk != ns)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: hubert.conv_kernels/conv_strides have %zu/%zu entries",
                         bark_model_path(m), nk, ns);
    hp->n_conv = (int)nk;
    for (int i = 0; i < hp->n_conv; i++) {
        if (k[i] < 1 || k[i] > 64 || s[i] < 1 || s[i] > k[i])
            return bark_fail(err, BARK_ERR_FORMAT, "%s: conv %d has kernel %d, stride %d", bark_model_path(m), i,
                             (int)k[i], (int)s[i]);
        hp->conv_kernel[i] = k[i];
        hp->conv_stride[i] = s[i];
    }
    if (hp->n_embd % hp->n_head || hp->n_embd % hp->pos_groups)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: %d channels do not split into %d heads and %d groups",
                         bark_model_path(m), hp->n_embd, hp->n_head, hp->pos_groups);
    hp->conv_bias = bark_model_find(m, "hubert.conv.0.bias") != NULL;
    return BARK_OK;
}

bark_status hubert_load(const bark_model *m, hubert_model *h, bark_error *err) {
    memset(h, 0, sizeof *h);
    if (!bark_model_has_hubert(m))
        return bark_fail(err, BARK_ERR_MISSING, "%s: no HuBERT weights (hubert.* tensors); convert "
                         "facebook/hubert-base-ls960 or hubert_base_ls960.pt with `bark convert`", bark_model_path(m));
    hubert_hparams *hp = &h->hp;
    bark_status st = read_hparams(m, hp, err);
    if (st) return st;
    const int64_t C = hp->n_embd, D = hp->conv_dim, F = hp->n_ff;
    for (int i = 0; i < hp->n_conv && !st; i++) {
        int64_t ne[3] = {i ? D : 1, hp->conv_kernel[i], D}, nb[1] = {D};
        st = need(m, &h->conv_w[i], 1, 3, ne, err, "hubert.conv.%d.weight", i);
        if (!st && hp->conv_bias) st = need(m, &h->conv_b[i], 0, 1, nb, err, "hubert.conv.%d.bias", i);
    }
    const int64_t vD[1] = {D}, vC[1] = {C}, vF[1] = {F}, mDC[2] = {D, C}, mCC[2] = {C, C}, mCF[2] = {C, F},
                  mFC[2] = {F, C}, pos[3] = {C / hp->pos_groups, hp->pos_kernel, C};
    if (!st) st = need(m, &h->gn_w, 0, 1, vD, err, "hubert.conv.0.norm.weight");
    if (!st) st = need(m, &h->gn_b, 0, 1, vD, err, "hubert.conv.0.norm.bias");
    if (!st) st = need(m, &h->fp_ln_w, 0, 1, vD, err, "hubert.feat_ln.weight");
    if (!st) st = need(m, &h->fp_ln_b, 0, 1, vD, err, "hubert.feat_ln.bias");
    if (!st) st = need(m, &h->fp_w, 1, 2, mDC, err, "hubert.feat_proj.weight");
    if (!st) st = need(m, &h->fp_b, 0, 1, vC, err, "hubert.feat_proj.bias");
    if (!st) st = need(m, &h->pos_w, 1, 3, pos, err, "hubert.pos_conv.weight");
    if (!st) st = need(m, &h->pos_b, 0, 1, vC, err, "hubert.pos_conv.bias");
    if (!st) st = need(m, &h->enc_ln_w, 0, 1, vC, err, "hubert.enc_ln.weight");
    if (!st) st = need(m, &h->enc_ln_b, 0, 1, vC, err, "hubert.enc_ln.bias");
    for (int i = 0; i < hp->n_layer && !st; i++) {
        hubert_layer *l = &h->layer[i];
        const struct { bark_tensor *t; int matrix; const int64_t *ne; const char *part; } p[] = {
            {&l->q_w, 1, mCC, "attn_q.weight"},    {&l->q_b, 0, vC, "attn_q.bias"},
            {&l->k_w, 1, mCC, "attn_k.weight"},    {&l->k_b, 0, vC, "attn_k.bias"},
            {&l->v_w, 1, mCC, "attn_v.weight"},    {&l->v_b, 0, vC, "attn_v.bias"},
            {&l->o_w, 1, mCC, "attn_out.weight"},  {&l->o_b, 0, vC, "attn_out.bias"},
            {&l->ln1_w, 0, vC, "ln1.weight"},      {&l->ln1_b, 0, vC, "ln1.bias"},
            {&l->up_w, 1, mCF, "ffn_up.weight"},   {&l->up_b, 0, vF, "ffn_up.bias"},
            {&l->down_w, 1, mFC, "ffn_down.weight"}, {&l->down_b, 0, vC, "ffn_down.bias"},
            {&l->ln2_w, 0, vC, "ln2.weight"},      {&l->ln2_b, 0, vC, "ln2.bias"}};
        for (size_t j = 0; j < sizeof p / sizeof *p && !st; j++)
            st = need(m, p[j].t, p[j].matrix, p[j].matrix ? 2 : 1, p[j].ne, err, "hubert.blk.%d.%s", i, p[j].part);
    }
    return st;
}
