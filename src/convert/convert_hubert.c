/* convert_hubert.c: HuBERT base (Hugging Face folder or fairseq .pt) and gitmylo's quantizer (.pth) to GGUF. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clone/hubert.h"
#include "convert/convert_hubert.h"
#include "formats/jsondoc.h"
#include "formats/pickle.h"

hubert_src_config hubert_src_config_base(void) {
    hubert_src_config g = {768, 12, 12, 3072, 7, 512, 128, 16, 0, {10, 3, 3, 3, 3, 2, 2}, {5, 2, 2, 2, 2, 2, 2}};
    return g;
}

/* ---- names: both spellings to one canonical form ("conv.3.weight", "blk.2.attn_q.bias", "pos_conv.g") ---- */

static const char *const layer_map[][2] = {
    {"attention.q_proj.", "attn_q."},   {"attention.k_proj.", "attn_k."},  {"attention.v_proj.", "attn_v."},
    {"attention.out_proj.", "attn_out."}, {"layer_norm.", "ln1."},         {"feed_forward.intermediate_dense.", "ffn_up."},
    {"feed_forward.output_dense.", "ffn_down."}, {"final_layer_norm.", "ln2."},
    {"self_attn.q_proj.", "attn_q."},   {"self_attn.k_proj.", "attn_k."},  {"self_attn.v_proj.", "attn_v."},
    {"self_attn.out_proj.", "attn_out."}, {"self_attn_layer_norm.", "ln1."}, {"fc1.", "ffn_up."}, {"fc2.", "ffn_down."}};

static const char *const top_map[][2] = {
    {"feature_projection.layer_norm.", "feat_ln."}, {"feature_projection.projection.", "feat_proj."},
    {"layer_norm.", "feat_ln."},                    {"post_extract_proj.", "feat_proj."},
    {"encoder.layer_norm.", "enc_ln."},
    {"encoder.pos_conv_embed.conv.weight_g", "pos_conv.g"}, {"encoder.pos_conv_embed.conv.weight_v", "pos_conv.v"},
    {"encoder.pos_conv_embed.conv.parametrizations.weight.original0", "pos_conv.g"},
    {"encoder.pos_conv_embed.conv.parametrizations.weight.original1", "pos_conv.v"},
    {"encoder.pos_conv_embed.conv.bias", "pos_conv.bias"},
    {"encoder.pos_conv.0.weight_g", "pos_conv.g"}, {"encoder.pos_conv.0.weight_v", "pos_conv.v"},
    {"encoder.pos_conv.0.bias", "pos_conv.bias"}};

/* Canonical name into out; 0 for tensors HuBERT inference does not use (masking, pre-training heads). */
static int canon(const char *name, char *out, size_t cap) {
    if (!strncmp(name, "hubert.", 7)) name += 7;
    int i, n = 0;
    char rest[128];
    if (sscanf(name, "encoder.layers.%d.%127s%n", &i, rest, &n) == 2 && i >= 0 && i < 1000) {
        for (size_t k = 0; k < sizeof layer_map / sizeof *layer_map; k++) {
            size_t l = strlen(layer_map[k][0]);
            if (!strncmp(rest, layer_map[k][0], l)) {
                snprintf(out, cap, "blk.%d.%s%s", i, layer_map[k][1], rest + l);
                return 1;
            }
        }
        return 0;
    }
    if (sscanf(name, "feature_extractor.conv_layers.%d.%127s", &i, rest) == 2 && i >= 0 && i < 100) {
        if (!strcmp(rest, "conv.weight") || !strcmp(rest, "0.weight")) snprintf(out, cap, "conv.%d.weight", i);
        else if (!strcmp(rest, "conv.bias") || !strcmp(rest, "0.bias")) snprintf(out, cap, "conv.%d.bias", i);
        else if (!strcmp(rest, "layer_norm.weight") || !strcmp(rest, "2.weight")) snprintf(out, cap, "conv.%d.norm.weight", i);
        else if (!strcmp(rest, "layer_norm.bias") || !strcmp(rest, "2.bias")) snprintf(out, cap, "conv.%d.norm.bias", i);
        else return 0;
        return 1;
    }
    for (size_t k = 0; k < sizeof top_map / sizeof *top_map; k++) {
        size_t l = strlen(top_map[k][0]);
        if (!strncmp(name, top_map[k][0], l)) {
            snprintf(out, cap, "%s%s", top_map[k][1], name + l);
            return 1;
        }
    }
    return 0;
}

/* ---- emitting ---- */

typedef struct hb_src {
    convert_ctx *c;
    const src_set *s;
    const char *label;
} hb_src;

/* The source tensor whose canonical name is `want`, with exactly the given torch shape. */
static bark_status find(const hb_src *h, const char *want, int n_dims, const int64_t *shape, const src_tensor **out) {
    char cn[160];
    for (size_t i = 0; i < h->s->n; i++) {
        const src_tensor *t = &h->s->t[i];
        if (!canon(t->name, cn, sizeof cn) || strcmp(cn, want)) continue;
        int ok = t->n_dims == n_dims;
        for (int d = 0; ok && d < n_dims; d++) ok = t->shape[d] == shape[d];
        if (!ok)
            return bark_fail(h->c->err, BARK_ERR_FORMAT, "%s: tensor '%s' does not have the shape the config implies",
                             h->label, t->name);
        *out = t;
        return BARK_OK;
    }
    return bark_fail(h->c->err, BARK_ERR_MISSING, "%s: no tensor for HuBERT's %s", h->label, want);
}

/* Copies tensor `want` unchanged to hubert.<want>. */
static bark_status plain(const hb_src *h, const char *want, emit_role role, int n_dims, int64_t d0, int64_t d1) {
    const int64_t shape[2] = {d0, d1};
    const src_tensor *t = NULL;
    bark_status st = find(h, want, n_dims, shape, &t);
    if (st) return st;
    float *f = convert_to_f32(h->c, t, h->label);
    if (!f) return h->c->err ? h->c->err->status : BARK_ERR_FORMAT;
    char name[192];
    snprintf(name, sizeof name, "hubert.%s", want);
    st = convert_emit(h->c, name, role, f, n_dims, shape);
    free(f);
    return st;
}

/* A conv weight [Cout][Cin][K] stored as [Cout][K][Cin]. */
static bark_status emit_conv(const hb_src *h, const char *gguf, const float *w, int64_t co, int64_t ci, int64_t k) {
    float *p = malloc((size_t)(co * ci * k) * sizeof *p);
    if (!p) return bark_fail(h->c->err, BARK_ERR_NOMEM, "%s: out of memory", h->label);
    for (int64_t o = 0; o < co; o++)
        for (int64_t i = 0; i < ci; i++)
            for (int64_t j = 0; j < k; j++) p[(o * k + j) * ci + i] = w[(o * ci + i) * k + j];
    const int64_t shape[3] = {co, k, ci};
    bark_status st = convert_emit(h->c, gguf, ROLE_MATRIX, p, 3, shape);
    free(p);
    return st;
}

static bark_status emit_feature_encoder(const hb_src *h, const hubert_src_config *g) {
    bark_status st = BARK_OK;
    char want[64], name[64];
    for (int i = 0; i < g->n_conv && !st; i++) {
        const int64_t shape[3] = {g->conv_dim, i ? g->conv_dim : 1, g->kernel[i]};
        const src_tensor *t = NULL;
        snprintf(want, sizeof want, "conv.%d.weight", i);
        if ((st = find(h, want, 3, shape, &t))) break;
        float *f = convert_to_f32(h->c, t, h->label);
        if (!f) return h->c->err ? h->c->err->status : BARK_ERR_FORMAT;
        snprintf(name, sizeof name, "hubert.conv.%d.weight", i);
        st = emit_conv(h, name, f, shape[0], shape[1], shape[2]);
        free(f);
        snprintf(want, sizeof want, "conv.%d.bias", i);
        if (!st && g->conv_bias) st = plain(h, want, ROLE_VECTOR, 1, g->conv_dim, 0);
    }
    if (!st) st = plain(h, "conv.0.norm.weight", ROLE_VECTOR, 1, g->conv_dim, 0);
    if (!st) st = plain(h, "conv.0.norm.bias", ROLE_VECTOR, 1, g->conv_dim, 0);
    if (!st) st = plain(h, "feat_ln.weight", ROLE_VECTOR, 1, g->conv_dim, 0);
    if (!st) st = plain(h, "feat_ln.bias", ROLE_VECTOR, 1, g->conv_dim, 0);
    if (!st) st = plain(h, "feat_proj.weight", ROLE_MATRIX, 2, g->hidden, g->conv_dim);
    if (!st) st = plain(h, "feat_proj.bias", ROLE_VECTOR, 1, g->hidden, 0);
    return st;
}

/* The positional conv: weight norm over every dim but the kernel's (dim=2) folded, then [C][K][C/G]. */
static bark_status emit_pos_conv(const hb_src *h, const hubert_src_config *g) {
    const int64_t C = g->hidden, cg = g->hidden / g->pos_groups, K = g->pos_kernel;
    const int64_t vshape[3] = {C, cg, K}, gshape[3] = {1, 1, K};
    const src_tensor *tv = NULL, *tg = NULL;
    bark_status st = find(h, "pos_conv.v", 3, vshape, &tv);
    if (!st) st = find(h, "pos_conv.g", 3, gshape, &tg);
    if (st) return st;
    float *v = convert_to_f32(h->c, tv, h->label), *gg = v ? convert_to_f32(h->c, tg, h->label) : NULL;
    if (!v || !gg) {
        free(v);
        return h->c->err ? h->c->err->status : BARK_ERR_FORMAT;
    }
    for (int64_t k = 0; k < K; k++) {
        double ss = 0.0;
        for (int64_t r = 0; r < C * cg; r++) ss += (double)v[r * K + k] * v[r * K + k];
        const float scale = ss > 0.0 ? gg[k] / (float)sqrt(ss) : 0.0f;
        for (int64_t r = 0; r < C * cg; r++) v[r * K + k] *= scale;
    }
    st = emit_conv(h, "hubert.pos_conv.weight", v, C, cg, K);
    free(v);
    free(gg);
    return st ? st : plain(h, "pos_conv.bias", ROLE_VECTOR, 1, C, 0);
}

static bark_status emit_layers(const hb_src *h, const hubert_src_config *g, int keep) {
    static const char *const mats[] = {"attn_q", "attn_k", "attn_v", "attn_out"};
    bark_status st = BARK_OK;
    char want[96];
    for (int i = 0; i < keep && !st; i++) {
        for (int k = 0; k < 4 && !st; k++) {
            snprintf(want, sizeof want, "blk.%d.%s.weight", i, mats[k]);
            st = plain(h, want, ROLE_MATRIX, 2, g->hidden, g->hidden);
            snprintf(want, sizeof want, "blk.%d.%s.bias", i, mats[k]);
            if (!st) st = plain(h, want, ROLE_VECTOR, 1, g->hidden, 0);
        }
        const struct { const char *part; emit_role role; int nd; int64_t d0, d1; } p[] = {
            {"ln1.weight", ROLE_VECTOR, 1, g->hidden, 0},       {"ln1.bias", ROLE_VECTOR, 1, g->hidden, 0},
            {"ffn_up.weight", ROLE_MATRIX, 2, g->ffn, g->hidden}, {"ffn_up.bias", ROLE_VECTOR, 1, g->ffn, 0},
            {"ffn_down.weight", ROLE_MATRIX, 2, g->hidden, g->ffn}, {"ffn_down.bias", ROLE_VECTOR, 1, g->hidden, 0},
            {"ln2.weight", ROLE_VECTOR, 1, g->hidden, 0},       {"ln2.bias", ROLE_VECTOR, 1, g->hidden, 0}};
        for (size_t j = 0; j < sizeof p / sizeof *p && !st; j++) {
            snprintf(want, sizeof want, "blk.%d.%s", i, p[j].part);
            st = plain(h, want, p[j].role, p[j].nd, p[j].d0, p[j].d1);
        }
    }
    return st;
}

static bark_status check_config(convert_ctx *c, const hubert_src_config *g, const char *label) {
    int ok = g->hidden >= 8 && g->hidden <= 4096 && g->heads >= 1 && g->heads <= 64 && g->hidden % g->heads == 0 &&
             g->layers >= 1 && g->layers <= 100 && g->ffn >= 1 && g->ffn <= 16384 && g->n_conv >= 1 &&
             g->n_conv <= HUBERT_SRC_MAX_CONV && g->conv_dim >= 1 && g->conv_dim <= 4096 && g->pos_kernel >= 2 &&
             g->pos_kernel <= 1024 && g->pos_groups >= 1 && g->hidden % g->pos_groups == 0;
    for (int i = 0; ok && i < g->n_conv; i++)
        ok = g->kernel[i] >= 1 && g->kernel[i] <= 64 && g->stride[i] >= 1 && g->stride[i] <= g->kernel[i];
    return ok ? BARK_OK : bark_fail(c->err, BARK_ERR_FORMAT, "%s: implausible HuBERT hyper-parameters", label);
}

bark_status convert_hubert_set(convert_ctx *c, const src_set *s, const hubert_src_config *g, const char *label) {
    bark_status st = check_config(c, g, label);
    if (st) return st;
    const hb_src h = {c, s, label};
    const int keep = g->layers < HUBERT_OUTPUT_LAYER ? g->layers : HUBERT_OUTPUT_LAYER;
    if (!st) st = emit_feature_encoder(&h, g);
    if (!st) st = emit_pos_conv(&h, g);
    if (!st) st = plain(&h, "enc_ln.weight", ROLE_VECTOR, 1, g->hidden, 0);
    if (!st) st = plain(&h, "enc_ln.bias", ROLE_VECTOR, 1, g->hidden, 0);
    if (!st) st = emit_layers(&h, g, keep);
    uint32_t k[HUBERT_SRC_MAX_CONV], sd[HUBERT_SRC_MAX_CONV];
    for (int i = 0; i < g->n_conv; i++) {
        k[i] = (uint32_t)g->kernel[i];
        sd[i] = (uint32_t)g->stride[i];
    }
    const struct { const char *key; int v; } kv[] = {
        {KEY_HUBERT("block_count"), keep}, {KEY_HUBERT("embedding_length"), g->hidden},
        {KEY_HUBERT("head_count"), g->heads},
        {KEY_HUBERT("feed_forward_length"), g->ffn}, {KEY_HUBERT("conv_dim"), g->conv_dim},
        {KEY_HUBERT("pos_conv_kernel"), g->pos_kernel}, {KEY_HUBERT("pos_conv_groups"), g->pos_groups},
        {KEY_HUBERT("sample_rate"), HUBERT_SAMPLE_RATE}};
    for (size_t i = 0; i < sizeof kv / sizeof *kv && !st; i++) st = gguf_set_u32(c->w, kv[i].key, (uint32_t)kv[i].v);
    if (!st) st = gguf_set_u32_array(c->w, KEY_HUBERT("conv_kernels"), k, (size_t)g->n_conv);
    if (!st) st = gguf_set_u32_array(c->w, KEY_HUBERT("conv_strides"), sd, (size_t)g->n_conv);
    if (st == BARK_ERR_NOMEM && c->err && c->err->status != BARK_ERR_NOMEM)
        bark_fail(c->err, st, "%s: out of memory writing HuBERT metadata", label);
    return st;
}

/* ---- Hugging Face folder ---- */

static bark_status read_text(convert_ctx *c, const char *path, cJSON **out) {
    FILE *f = fopen(path, "rb");
    if (!f) return bark_fail(c->err, BARK_ERR_IO, "%s: cannot open", path);
    char *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    bark_status st;
    if (!buf) st = bark_fail(c->err, BARK_ERR_NOMEM, "%s: out of memory", path);
    else if (n == (1 << 20)) st = bark_fail(c->err, BARK_ERR_FORMAT, "%s: larger than 1 MiB; not a config file", path);
    else if ((st = json_parse(buf, n, out, c->err))) bark_err_prefix(c->err, "%s: ", path);
    free(buf);
    return st;
}

/* The config's fields, HubertConfig's default where one is absent; a field present with the wrong type or an unlikely
 * value puts its name in *bad (the first such). */
static int cfg_int(const cJSON *cfg, const char *key, int def, const char **bad) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    int64_t x = def;
    if (v && !json_int(v, 0, 1 << 20, &x) && !*bad) *bad = key;
    return (int)x;
}

static int cfg_array(const cJSON *cfg, const char *key, int *out, int n, const int *def, const char **bad) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(cfg, key);
    if (!a) {
        memcpy(out, def, sizeof(int) * (size_t)n);
        return n;
    }
    int len = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : 0;
    if (len < 1 || len > HUBERT_SRC_MAX_CONV) {
        if (!*bad) *bad = key;
        return 0;
    }
    int i = 0;
    for (const cJSON *e = a->child; e; e = e->next, i++) {
        int64_t x;
        if (json_int(e, 1, 4096, &x)) out[i] = (int)x;
        else if (!*bad) *bad = key;
    }
    return len;
}

static int cfg_bool(const cJSON *cfg, const char *key, int def, const char **bad) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    if (!v) return def;
    if (!cJSON_IsBool(v) && !*bad) *bad = key;
    return cJSON_IsTrue(v);
}

/* 1 if the string field is want (or absent). */
static int cfg_str_is(const cJSON *cfg, const char *key, const char *want, const char **bad) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    if (!v) return 1;
    if (!cJSON_IsString(v) && !*bad) *bad = key;
    return cJSON_IsString(v) && !strcmp(v->valuestring, want);
}

static bark_status hf_config(convert_ctx *c, const char *path, hubert_src_config *g) {
    cJSON *cfg = NULL;
    bark_status st = read_text(c, path, &cfg);
    if (st) return st;
    if (!cJSON_IsObject(cfg)) {
        cJSON_Delete(cfg);
        return bark_fail(c->err, BARK_ERR_FORMAT, "%s: not a JSON object", path);
    }
    const hubert_src_config d = hubert_src_config_base();
    const char *bad = NULL;
    int dims[HUBERT_SRC_MAX_CONV] = {0}, dd[HUBERT_SRC_MAX_CONV];
    for (int i = 0; i < HUBERT_SRC_MAX_CONV; i++) dd[i] = d.conv_dim;
    g->hidden = cfg_int(cfg, "hidden_size", d.hidden, &bad);
    g->layers = cfg_int(cfg, "num_hidden_layers", d.layers, &bad);
    g->heads = cfg_int(cfg, "num_attention_heads", d.heads, &bad);
    g->ffn = cfg_int(cfg, "intermediate_size", d.ffn, &bad);
    g->pos_kernel = cfg_int(cfg, "num_conv_pos_embeddings", d.pos_kernel, &bad);
    g->pos_groups = cfg_int(cfg, "num_conv_pos_embedding_groups", d.pos_groups, &bad);
    g->conv_bias = cfg_bool(cfg, "conv_bias", 0, &bad);
    int nd = cfg_array(cfg, "conv_dim", dims, d.n_conv, dd, &bad);
    int nk = cfg_array(cfg, "conv_kernel", g->kernel, d.n_conv, d.kernel, &bad);
    int ns = cfg_array(cfg, "conv_stride", g->stride, d.n_conv, d.stride, &bad);
    g->n_conv = nk;
    g->conv_dim = dims[0];
    int same_dims = 1;
    for (int i = 1; i < nd; i++) same_dims &= dims[i] == dims[0];
    int base = cfg_str_is(cfg, "feat_extract_norm", "group", &bad) & !cfg_bool(cfg, "do_stable_layer_norm", 0, &bad) &
               cfg_bool(cfg, "feat_proj_layer_norm", 1, &bad) & cfg_str_is(cfg, "hidden_act", "gelu", &bad) &
               cfg_str_is(cfg, "feat_extract_activation", "gelu", &bad);
    if (bad)
        st = bark_fail(c->err, BARK_ERR_FORMAT, "%s: %s has the wrong type or an unlikely value", path, bad);
    else if (!same_dims || nd != nk || nk != ns)
        st = bark_fail(c->err, BARK_ERR_FORMAT, "%s: conv_dim's sizes differ, or conv_dim, conv_kernel and "
                       "conv_stride are not as long as each other", path);
    else if (!base)
        st = bark_fail(c->err, BARK_ERR_UNSUPPORTED, "%s: only HuBERT base's layout is supported (group norm, "
                       "post-LN layers, GELU); this config differs", path);
    cJSON_Delete(cfg);
    return st;
}

static int exists(const char *dir, const char *name, char *path, size_t cap) {
    struct stat sb;
    if (snprintf(path, cap, "%s/%s", dir, name) >= (int)cap) return 0;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static bark_status convert_hubert_hf(convert_ctx *c, const char *dir) {
    char path[4096];
    hubert_src_config g;
    torch_file *tf = NULL;
    src_set s;
    src_set_init(&s);
    bark_status st = exists(dir, "config.json", path, sizeof path) ? hf_config(c, path, &g)
                     : bark_fail(c->err, BARK_ERR_MISSING, "%s: no config.json", dir);
    if (!st) {
        if (exists(dir, "model.safetensors", path, sizeof path)) {
            st = src_read_safetensors(&s, path, "", c->err);
        } else if (exists(dir, "pytorch_model.bin", path, sizeof path)) {
            st = torch_open(path, &tf, c->err);
            if (!st) st = torch_dict_tensors(tf, torch_root(tf), "", &s, c->err);
        } else {
            st = bark_fail(c->err, BARK_ERR_MISSING, "%s: no model.safetensors or pytorch_model.bin", dir);
        }
    }
    if (!st) st = convert_hubert_set(c, &s, &g, dir);
    src_set_free(&s);
    torch_close(tf);
    return st;
}

/* ---- fairseq checkpoint ---- */

static int pk_int_or(const pk_obj *d, const char *key, int def) {
    const pk_obj *v = pk_dict_get(d, key);
    if (!v || (pk_kind_of(v) != PK_INT && pk_kind_of(v) != PK_BOOL)) return def;
    int64_t x = pk_int(v);
    return x < 0 || x > (1 << 20) ? -1 : (int)x;
}

/* "[(512,10,5)] + [(512,3,2)] * 4 + [(512,2,2)] * 2": fairseq's conv_feature_layers. */
static int parse_conv_layers(const char *s, hubert_src_config *g) {
    int n = 0;
    while (*s) {
        int dim, k, st, used = 0, rep = 1;
        const char *p = strchr(s, '(');
        if (!p || sscanf(p, "(%d ,%d ,%d )%n", &dim, &k, &st, &used) != 3 || !used) break;
        s = p + used;
        while (*s == ']' || *s == ' ') s++;
        if (*s == '*') sscanf(s, "* %d", &rep);
        for (int i = 0; i < rep && n < HUBERT_SRC_MAX_CONV; i++, n++) {
            g->conv_dim = dim;
            g->kernel[n] = k;
            g->stride[n] = st;
        }
        if (rep < 1 || rep > HUBERT_SRC_MAX_CONV) return 0;
    }
    return n;
}

static bark_status convert_hubert_fairseq(convert_ctx *c, const char *path) {
    torch_file *tf = NULL;
    src_set s;
    src_set_init(&s);
    hubert_src_config g = hubert_src_config_base();
    bark_status st = torch_open(path, &tf, c->err);
    const pk_obj *root = st ? NULL : torch_root(tf), *model = pk_dict_get(root, "model");
    const pk_obj *mcfg = pk_dict_get(pk_dict_get(root, "cfg"), "model");
    if (!st && pk_kind_of(model) != PK_DICT)
        st = bark_fail(c->err, BARK_ERR_FORMAT, "%s: no 'model' state dict; not a fairseq checkpoint", path);
    if (!st && pk_kind_of(mcfg) == PK_DICT) {
        g.hidden = pk_int_or(mcfg, "encoder_embed_dim", g.hidden);
        g.layers = pk_int_or(mcfg, "encoder_layers", g.layers);
        g.heads = pk_int_or(mcfg, "encoder_attention_heads", g.heads);
        g.ffn = pk_int_or(mcfg, "encoder_ffn_embed_dim", g.ffn);
        g.pos_kernel = pk_int_or(mcfg, "conv_pos", g.pos_kernel);
        g.pos_groups = pk_int_or(mcfg, "conv_pos_groups", g.pos_groups);
        g.conv_bias = pk_int_or(mcfg, "conv_bias", 0) == 1;
        const pk_obj *cl = pk_dict_get(mcfg, "conv_feature_layers"), *mode = pk_dict_get(mcfg, "extractor_mode");
        if (pk_kind_of(cl) == PK_STR && !(g.n_conv = parse_conv_layers(pk_str(cl), &g)))
            st = bark_fail(c->err, BARK_ERR_FORMAT, "%s: cannot read conv_feature_layers '%s'", path, pk_str(cl));
        if (!st && (pk_int_or(mcfg, "layer_norm_first", 0) != 0 ||
                    (pk_kind_of(mode) == PK_STR && strcmp(pk_str(mode), "default"))))
            st = bark_fail(c->err, BARK_ERR_UNSUPPORTED, "%s: only HuBERT base's layout (extractor_mode default, "
                           "post-LN) is supported", path);
    }
    if (!st) st = torch_dict_tensors(tf, model, "", &s, c->err);
    if (!st) st = convert_hubert_set(c, &s, &g, path);
    src_set_free(&s);
    torch_close(tf);
    return st;
}

bark_status convert_hubert(convert_ctx *c, const char *path) {
    struct stat sb;
    if (stat(path, &sb) != 0) return bark_fail(c->err, BARK_ERR_IO, "%s: no such file or folder", path);
    return S_ISDIR(sb.st_mode) ? convert_hubert_hf(c, path) : convert_hubert_fairseq(c, path);
}

/* ---- quantizer ---- */

bark_status convert_hubq_set(convert_ctx *c, const src_set *s, const char *label) {
    const src_tensor *ih0 = src_set_find(s, "lstm.weight_ih_l0"), *fc = src_set_find(s, "fc.weight");
    const src_tensor *inter = src_set_find(s, "intermediate.weight");
    if (!ih0 || !fc || ih0->n_dims != 2 || fc->n_dims != 2 || ih0->shape[0] % 4 || ih0->shape[0] < 4)
        return bark_fail(c->err, BARK_ERR_FORMAT, "%s: not a HuBERT quantizer (no 2-D lstm.weight_ih_l0 and fc.weight)",
                         label);
    const int64_t H = ih0->shape[0] / 4, N = ih0->shape[1], I = inter && inter->n_dims == 2 ? inter->shape[0] : 0;
    const int64_t out = fc->shape[0];
    if (out > 10000)
        return bark_fail(c->err, BARK_ERR_FORMAT, "%s: %lld outputs, more than Bark's 10000 semantic ids", label,
                         (long long)out);
    const struct { const char *src; int nd; int64_t d0, d1; emit_role role; } p[] = {
        {"lstm.weight_ih_l0", 2, 4 * H, N, ROLE_MATRIX}, {"lstm.weight_hh_l0", 2, 4 * H, H, ROLE_MATRIX},
        {"lstm.bias_ih_l0", 1, 4 * H, 0, ROLE_VECTOR},  {"lstm.bias_hh_l0", 1, 4 * H, 0, ROLE_VECTOR},
        {"lstm.weight_ih_l1", 2, 4 * H, H, ROLE_MATRIX}, {"lstm.weight_hh_l1", 2, 4 * H, H, ROLE_MATRIX},
        {"lstm.bias_ih_l1", 1, 4 * H, 0, ROLE_VECTOR},  {"lstm.bias_hh_l1", 1, 4 * H, 0, ROLE_VECTOR},
        {"intermediate.weight", 2, I, H, ROLE_MATRIX},  {"intermediate.bias", 1, I, 0, ROLE_VECTOR},
        {"fc.weight", 2, out, I ? I : H, ROLE_MATRIX},  {"fc.bias", 1, out, 0, ROLE_VECTOR}};
    bark_status st = BARK_OK;
    for (size_t i = 0; i < sizeof p / sizeof *p && !st; i++) {
        if (!I && !strncmp(p[i].src, "intermediate.", 13)) continue;
        const src_tensor *t = src_set_find(s, p[i].src);
        if (!t) return bark_fail(c->err, BARK_ERR_MISSING, "%s: quantizer tensor '%s' is missing", label, p[i].src);
        if (t->n_dims != p[i].nd || t->shape[0] != p[i].d0 || (p[i].nd == 2 && t->shape[1] != p[i].d1))
            return bark_fail(c->err, BARK_ERR_FORMAT, "%s: quantizer tensor '%s' has the wrong shape", label, p[i].src);
        float *f = convert_to_f32(c, t, label);
        if (!f) return c->err ? c->err->status : BARK_ERR_FORMAT;
        char name[96];
        snprintf(name, sizeof name, "hubq.%s", p[i].src);
        const int64_t shape[2] = {p[i].d0, p[i].d1};
        st = convert_emit(c, name, p[i].role, f, p[i].nd, shape);
        free(f);
    }
    if (!st && gguf_set_u32(c->w, KEY_HUBERT_QUANTIZER("version"), I ? 1u : 0u))
        st = bark_fail(c->err, BARK_ERR_NOMEM, "%s: out of memory", label);
    return st;
}

bark_status convert_hubert_quantizer(convert_ctx *c, const char *path) {
    return convert_torch_state_dict(c, path, convert_hubq_set);
}

/* ---- what a path holds ---- */

hubert_src_kind convert_hubert_probe(const char *path) {
    struct stat sb;
    char p[4096];
    if (stat(path, &sb) != 0) return HUBERT_SRC_NONE;
    if (S_ISDIR(sb.st_mode)) {
        if (!exists(path, "config.json", p, sizeof p)) return HUBERT_SRC_NONE;
        FILE *f = fopen(p, "rb");
        char buf[65536];
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f) fclose(f);
        buf[n] = '\0';
        return strstr(buf, "\"model_type\": \"hubert\"") || strstr(buf, "\"model_type\":\"hubert\"") ? HUBERT_SRC_HF
                                                                                                      : HUBERT_SRC_NONE;
    }
    torch_file *tf = NULL;
    if (torch_open(path, &tf, NULL)) return HUBERT_SRC_NONE;
    const pk_obj *root = torch_root(tf);
    hubert_src_kind k = HUBERT_SRC_NONE;
    if (pk_dict_get(pk_dict_get(root, "model"), "feature_extractor.conv_layers.0.0.weight")) k = HUBERT_SRC_FAIRSEQ;
    else if (pk_dict_get(root, "lstm.weight_ih_l0") && pk_dict_get(root, "fc.weight")) k = HUBERT_SRC_QUANTIZER;
    torch_close(tf);
    return k;
}
