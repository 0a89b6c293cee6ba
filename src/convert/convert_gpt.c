/* convert_gpt.c: one Bark GPT stage (semantic, coarse or fine) from a state dict into GGUF tensors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/convert_int.h"
#include "convert/names.h"

static const char *const stage_key[3] = {"semantic", "coarse", "fine"};

static int prefixed(const char *name, const char *prefix) { return !strncmp(name, prefix, strlen(prefix)); }

static bark_status set_hparams(convert_ctx *c, bark_stage stage, const gpt_config *g, int has_bias) {
    char key[96];
    const char *s = stage_key[stage];
    const struct { const char *k; int v; } kv[] = {
        {"block_count", g->n_layer}, {"head_count", g->n_head}, {"embedding_length", g->n_embd},
        {"context_length", g->block_size}, {"input_vocab_size", g->input_vocab},
        {"output_vocab_size", g->output_vocab}};
    bark_status st = BARK_OK;
    for (size_t i = 0; i < sizeof kv / sizeof *kv && !st; i++) {
        snprintf(key, sizeof key, KEY_STAGE_FMT, s, kv[i].k);
        st = gguf_set_u32(c->w, key, (uint32_t)kv[i].v);
    }
    snprintf(key, sizeof key, KEY_STAGE_FMT, s, "bias");
    if (!st) st = gguf_set_bool(c->w, key, has_bias);
    if (!st && stage == BARK_STAGE_FINE) {
        st = gguf_set_u32(c->w, KEY_FINE("n_codes_total"), (uint32_t)g->n_codes_total);
        if (!st) st = gguf_set_u32(c->w, KEY_FINE("n_codes_given"), (uint32_t)g->n_codes_given);
    }
    return st ? bark_fail(c->err, st, "out of memory") : BARK_OK;
}

/* The fine stage's input tables by codebook, to recognise heads stored a second time (tied). */
static void find_tables(const src_set *s, const char *prefix, const src_tensor *tables[8]) {
    memset(tables, 0, 8 * sizeof *tables);
    for (size_t i = 0; i < s->n; i++) {
        char out[256];
        int k;
        if (!prefixed(s->t[i].name, prefix)) continue;
        if (name_map_gpt("fine", s->t[i].name + strlen(prefix), out, sizeof out) == NAME_TENSOR &&
            sscanf(out, "fine.wte.%d.weight", &k) == 1 && k >= 0 && k < 8)
            tables[k] = &s->t[i];
    }
}

/* Whether out (a converted name) is a table read a row at a time: a stage's position embeddings, and the token
 * embeddings of the causal stages (the fine stage's token tables are its output heads too). */
static int gpt_embedding(bark_stage stage, const char *out) {
    const char *dot = strchr(out, '.');
    return dot && (!strcmp(dot, ".wpe.weight") || (stage != BARK_STAGE_FINE && !strcmp(dot, ".wte.weight")));
}

static int same_data(const src_tensor *a, const src_tensor *b) {
    return a && b && a->dtype == b->dtype && a->nbytes == b->nbytes &&
           (a->data == b->data || !memcmp(a->data, b->data, a->nbytes));
}

bark_status convert_gpt(convert_ctx *c, bark_stage stage, const src_set *s, const char *prefix,
                        const gpt_config *cfg, const char *label) {
    if (c->have[stage])
        return bark_fail(c->err, BARK_ERR_ARG, "%s: a second %s stage was given; give each stage once", label,
                         stage_key[stage]);
    if (cfg->n_layer < 1 || cfg->n_head < 1 || cfg->n_embd < 1 || cfg->n_embd % cfg->n_head || cfg->block_size < 1 ||
        cfg->input_vocab < 1 || cfg->output_vocab < 1)
        return bark_fail(c->err, BARK_ERR_FORMAT, "%s: the %s config is incomplete or inconsistent (layers %d, heads %d, "
                         "width %d)", label, stage_key[stage], cfg->n_layer, cfg->n_head, cfg->n_embd);
    size_t n_out = 0;
    int has_bias = 0, head;
    const src_tensor *tables[8];
    find_tables(s, prefix, tables);
    bark_status st = BARK_OK;
    for (size_t i = 0; i < s->n && !st; i++) {
        const src_tensor *t = &s->t[i];
        if (!prefixed(t->name, prefix)) continue;
        const char *local = t->name + strlen(prefix);
        char out[256];
        name_kind k = name_map_gpt(stage_key[stage], local, out, sizeof out);
        if (k == NAME_SKIP) continue;
        if (k != NAME_TENSOR)
            return bark_fail(c->err, BARK_ERR_UNSUPPORTED, "%s: unexpected tensor '%s' in the %s model; this is not a "
                             "Bark checkpoint bark knows", label, t->name, stage_key[stage]);
        if (stage == BARK_STAGE_FINE && sscanf(out, "fine.lm_head.%d.weight", &head) == 1 && head >= 0 &&
            head + cfg->n_codes_given < 8 && same_data(t, tables[head + cfg->n_codes_given]))
            continue; /* tied: the loader aliases the head to the table */
        if (t->n_dims < 1 || t->n_dims > 2)
            return bark_fail(c->err, BARK_ERR_FORMAT, "%s: tensor '%s' has %d dims", label, t->name, t->n_dims);
        if (strstr(out, ".bias") && !strstr(out, ".ln")) has_bias = 1;
        float *f = convert_to_f32(c, t, label);
        if (!f) return c->err ? c->err->status : BARK_ERR_FORMAT;
        emit_role role = t->n_dims == 1                    ? ROLE_VECTOR
                         : strstr(out, ".attn_qkv.weight") ? ROLE_ATTN_QKV
                         : strstr(out, ".blk.")            ? ROLE_LINEAR
                         : gpt_embedding(stage, out)       ? ROLE_EMBEDDING
                                                           : ROLE_MATRIX;
        st = convert_emit(c, out, role, f, t->n_dims, t->shape);
        free(f);
        n_out++;
    }
    if (st) return st;
    if (n_out == 0)
        return bark_fail(c->err, BARK_ERR_MISSING, "%s: no %s tensors found", label, stage_key[stage]);
    c->have[stage] = 1;
    c->gpt[stage] = *cfg;
    return set_hparams(c, stage, cfg, has_bias);
}
