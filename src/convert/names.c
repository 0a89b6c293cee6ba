/* names.c: rename tables from the Hugging Face, Suno and EnCodec checkpoint spellings to GGUF names. */
#include "convert/names.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* A pattern has '#' where a dot-separated component of the name is a decimal number ("h.3.");
 * the output uses %d for each, in order. Digits inside a word ("ln_1", "weight_ih_l0") are literal. */
typedef struct name_rule {
    const char *from, *to;
    name_kind kind;
} name_rule;

static const name_rule gpt_table[] = {
    /* Hugging Face BarkSemanticModel / BarkCoarseModel / BarkFineModel */
    {"input_embeds_layer.weight", "wte.weight", NAME_TENSOR},
    {"input_embeds_layers.#.weight", "wte.%d.weight", NAME_TENSOR},
    {"position_embeds_layer.weight", "wpe.weight", NAME_TENSOR},
    {"layers.#.layernorm_1.weight", "blk.%d.ln1.weight", NAME_TENSOR},
    {"layers.#.layernorm_1.bias", "blk.%d.ln1.bias", NAME_TENSOR},
    {"layers.#.layernorm_2.weight", "blk.%d.ln2.weight", NAME_TENSOR},
    {"layers.#.layernorm_2.bias", "blk.%d.ln2.bias", NAME_TENSOR},
    {"layers.#.attn.att_proj.weight", "blk.%d.attn_qkv.weight", NAME_TENSOR},
    {"layers.#.attn.att_proj.bias", "blk.%d.attn_qkv.bias", NAME_TENSOR},
    {"layers.#.attn.out_proj.weight", "blk.%d.attn_out.weight", NAME_TENSOR},
    {"layers.#.attn.out_proj.bias", "blk.%d.attn_out.bias", NAME_TENSOR},
    {"layers.#.mlp.in_proj.weight", "blk.%d.mlp_up.weight", NAME_TENSOR},
    {"layers.#.mlp.in_proj.bias", "blk.%d.mlp_up.bias", NAME_TENSOR},
    {"layers.#.mlp.out_proj.weight", "blk.%d.mlp_down.weight", NAME_TENSOR},
    {"layers.#.mlp.out_proj.bias", "blk.%d.mlp_down.bias", NAME_TENSOR},
    {"layers.#.attn.bias", NULL, NAME_SKIP},
    {"layers.#.attn.masked_bias", NULL, NAME_SKIP},
    {"layernorm_final.weight", "ln_f.weight", NAME_TENSOR},
    {"layernorm_final.bias", "ln_f.bias", NAME_TENSOR},
    {"lm_head.weight", "lm_head.weight", NAME_TENSOR},
    {"lm_heads.#.weight", "lm_head.%d.weight", NAME_TENSOR},
    /* Suno's nanoGPT spelling (after "_orig_mod." is stripped) */
    {"transformer.wte.weight", "wte.weight", NAME_TENSOR},
    {"transformer.wtes.#.weight", "wte.%d.weight", NAME_TENSOR},
    {"transformer.wpe.weight", "wpe.weight", NAME_TENSOR},
    {"transformer.h.#.ln_1.weight", "blk.%d.ln1.weight", NAME_TENSOR},
    {"transformer.h.#.ln_1.bias", "blk.%d.ln1.bias", NAME_TENSOR},
    {"transformer.h.#.ln_2.weight", "blk.%d.ln2.weight", NAME_TENSOR},
    {"transformer.h.#.ln_2.bias", "blk.%d.ln2.bias", NAME_TENSOR},
    {"transformer.h.#.attn.c_attn.weight", "blk.%d.attn_qkv.weight", NAME_TENSOR},
    {"transformer.h.#.attn.c_attn.bias", "blk.%d.attn_qkv.bias", NAME_TENSOR},
    {"transformer.h.#.attn.c_proj.weight", "blk.%d.attn_out.weight", NAME_TENSOR},
    {"transformer.h.#.attn.c_proj.bias", "blk.%d.attn_out.bias", NAME_TENSOR},
    {"transformer.h.#.mlp.c_fc.weight", "blk.%d.mlp_up.weight", NAME_TENSOR},
    {"transformer.h.#.mlp.c_fc.bias", "blk.%d.mlp_up.bias", NAME_TENSOR},
    {"transformer.h.#.mlp.c_proj.weight", "blk.%d.mlp_down.weight", NAME_TENSOR},
    {"transformer.h.#.mlp.c_proj.bias", "blk.%d.mlp_down.bias", NAME_TENSOR},
    {"transformer.h.#.attn.bias", NULL, NAME_SKIP},
    {"transformer.ln_f.weight", "ln_f.weight", NAME_TENSOR},
    {"transformer.ln_f.bias", "ln_f.bias", NAME_TENSOR},
};

/* EnCodec: "S" stands for encoder or decoder (kept), '#' for numbers. The original nests convs as
 * <idx>.conv.conv / <idx>.convtr.convtr, Hugging Face as <idx>.conv. */
static const name_rule codec_table[] = {
    {"S.model.#.conv.conv.weight_g", "S.%d.weight", NAME_WN_G},
    {"S.model.#.conv.conv.weight_v", "S.%d.weight", NAME_WN_V},
    {"S.model.#.conv.conv.weight", "S.%d.weight", NAME_TENSOR},
    {"S.model.#.conv.conv.bias", "S.%d.bias", NAME_TENSOR},
    {"S.model.#.convtr.convtr.weight_g", "S.%d.weight", NAME_WN_G},
    {"S.model.#.convtr.convtr.weight_v", "S.%d.weight", NAME_WN_V},
    {"S.model.#.convtr.convtr.weight", "S.%d.weight", NAME_TENSOR},
    {"S.model.#.convtr.convtr.bias", "S.%d.bias", NAME_TENSOR},
    {"S.model.#.block.#.conv.conv.weight_g", "S.%d.block%d.weight", NAME_WN_G},
    {"S.model.#.block.#.conv.conv.weight_v", "S.%d.block%d.weight", NAME_WN_V},
    {"S.model.#.block.#.conv.conv.weight", "S.%d.block%d.weight", NAME_TENSOR},
    {"S.model.#.block.#.conv.conv.bias", "S.%d.block%d.bias", NAME_TENSOR},
    {"S.model.#.shortcut.conv.conv.weight_g", "S.%d.shortcut.weight", NAME_WN_G},
    {"S.model.#.shortcut.conv.conv.weight_v", "S.%d.shortcut.weight", NAME_WN_V},
    {"S.model.#.shortcut.conv.conv.weight", "S.%d.shortcut.weight", NAME_TENSOR},
    {"S.model.#.shortcut.conv.conv.bias", "S.%d.shortcut.bias", NAME_TENSOR},
    {"S.model.#.lstm.weight_ih_l0", "S.%d.lstm.weight_ih_l0", NAME_TENSOR},
    {"S.model.#.lstm.weight_hh_l0", "S.%d.lstm.weight_hh_l0", NAME_TENSOR},
    {"S.model.#.lstm.bias_ih_l0", "S.%d.lstm.bias_ih_l0", NAME_TENSOR},
    {"S.model.#.lstm.bias_hh_l0", "S.%d.lstm.bias_hh_l0", NAME_TENSOR},
    {"S.model.#.lstm.weight_ih_l1", "S.%d.lstm.weight_ih_l1", NAME_TENSOR},
    {"S.model.#.lstm.weight_hh_l1", "S.%d.lstm.weight_hh_l1", NAME_TENSOR},
    {"S.model.#.lstm.bias_ih_l1", "S.%d.lstm.bias_ih_l1", NAME_TENSOR},
    {"S.model.#.lstm.bias_hh_l1", "S.%d.lstm.bias_hh_l1", NAME_TENSOR},
    {"S.layers.#.conv.weight_g", "S.%d.weight", NAME_WN_G},
    {"S.layers.#.conv.weight_v", "S.%d.weight", NAME_WN_V},
    {"S.layers.#.conv.parametrizations.weight.original0", "S.%d.weight", NAME_WN_G},
    {"S.layers.#.conv.parametrizations.weight.original1", "S.%d.weight", NAME_WN_V},
    {"S.layers.#.conv.weight", "S.%d.weight", NAME_TENSOR},
    {"S.layers.#.conv.bias", "S.%d.bias", NAME_TENSOR},
    {"S.layers.#.block.#.conv.weight_g", "S.%d.block%d.weight", NAME_WN_G},
    {"S.layers.#.block.#.conv.weight_v", "S.%d.block%d.weight", NAME_WN_V},
    {"S.layers.#.block.#.conv.parametrizations.weight.original0", "S.%d.block%d.weight", NAME_WN_G},
    {"S.layers.#.block.#.conv.parametrizations.weight.original1", "S.%d.block%d.weight", NAME_WN_V},
    {"S.layers.#.block.#.conv.weight", "S.%d.block%d.weight", NAME_TENSOR},
    {"S.layers.#.block.#.conv.bias", "S.%d.block%d.bias", NAME_TENSOR},
    {"S.layers.#.shortcut.conv.weight_g", "S.%d.shortcut.weight", NAME_WN_G},
    {"S.layers.#.shortcut.conv.weight_v", "S.%d.shortcut.weight", NAME_WN_V},
    {"S.layers.#.shortcut.conv.parametrizations.weight.original0", "S.%d.shortcut.weight", NAME_WN_G},
    {"S.layers.#.shortcut.conv.parametrizations.weight.original1", "S.%d.shortcut.weight", NAME_WN_V},
    {"S.layers.#.shortcut.conv.weight", "S.%d.shortcut.weight", NAME_TENSOR},
    {"S.layers.#.shortcut.conv.bias", "S.%d.shortcut.bias", NAME_TENSOR},
    {"S.layers.#.lstm.weight_ih_l0", "S.%d.lstm.weight_ih_l0", NAME_TENSOR},
    {"S.layers.#.lstm.weight_hh_l0", "S.%d.lstm.weight_hh_l0", NAME_TENSOR},
    {"S.layers.#.lstm.bias_ih_l0", "S.%d.lstm.bias_ih_l0", NAME_TENSOR},
    {"S.layers.#.lstm.bias_hh_l0", "S.%d.lstm.bias_hh_l0", NAME_TENSOR},
    {"S.layers.#.lstm.weight_ih_l1", "S.%d.lstm.weight_ih_l1", NAME_TENSOR},
    {"S.layers.#.lstm.weight_hh_l1", "S.%d.lstm.weight_hh_l1", NAME_TENSOR},
    {"S.layers.#.lstm.bias_ih_l1", "S.%d.lstm.bias_ih_l1", NAME_TENSOR},
    {"S.layers.#.lstm.bias_hh_l1", "S.%d.lstm.bias_hh_l1", NAME_TENSOR},
    {"quantizer.vq.layers.#._codebook.embed", "quantizer.%d.embed", NAME_TENSOR},
    {"quantizer.vq.layers.#._codebook.inited", NULL, NAME_SKIP},
    {"quantizer.vq.layers.#._codebook.cluster_size", NULL, NAME_SKIP},
    {"quantizer.vq.layers.#._codebook.embed_avg", NULL, NAME_SKIP},
    {"quantizer.layers.#.codebook.embed", "quantizer.%d.embed", NAME_TENSOR},
    {"quantizer.layers.#.codebook.inited", NULL, NAME_SKIP},
    {"quantizer.layers.#.codebook.cluster_size", NULL, NAME_SKIP},
    {"quantizer.layers.#.codebook.embed_avg", NULL, NAME_SKIP},
};

#define MAX_NUMS 4

/* Replaces each all-digit component by '#' (collecting the numbers) and, when side is given, a
 * leading "encoder"/"decoder" by 'S'. */
static int make_pattern(const char *name, char *pat, size_t cap, int *nums, int *n_nums, const char **side) {
    size_t o = 0;
    const char *start = name;
    *n_nums = 0;
    if (side) *side = NULL;
    if (side && (!strncmp(name, "encoder.", 8) || !strncmp(name, "decoder.", 8))) {
        *side = name[0] == 'e' ? "encoder" : "decoder";
        if (o + 1 >= cap) return 0;
        pat[o++] = 'S';
        name += 7;
    }
    while (*name) {
        const char *e = name;
        while (isdigit((unsigned char)*e)) e++;
        int component = e > name && (name == start || name[-1] == '.') && (*e == '.' || *e == '\0');
        if (component) {
            long v = 0;
            while (isdigit((unsigned char)*name)) {
                v = v * 10 + (*name++ - '0');
                if (v > 100000) return 0;
            }
            if (*n_nums == MAX_NUMS || o + 1 >= cap) return 0;
            nums[(*n_nums)++] = (int)v;
            pat[o++] = '#';
        } else {
            if (o + 1 >= cap) return 0;
            pat[o++] = *name++;
        }
    }
    pat[o] = '\0';
    return 1;
}

static name_kind lookup(const name_rule *table, size_t n, const char *pat, const int *nums, const char *prefix,
                        const char *side, char *out, size_t cap) {
    for (size_t i = 0; i < n; i++) {
        if (strcmp(table[i].from, pat)) continue;
        if (table[i].kind == NAME_SKIP) return NAME_SKIP;
        char body[160];
        const char *to = table[i].to;
        if (side && to[0] == 'S') { /* "S.%d..." -> "<side>.%d..." */
            snprintf(body, sizeof body, "%s%s", side, to + 1);
            to = body;
        }
        char fmt[200];
        snprintf(fmt, sizeof fmt, "%s.%s", prefix, to);
        int w = snprintf(out, cap, fmt, nums[0], nums[1], nums[2], nums[3]);
        return (w < 0 || (size_t)w >= cap) ? NAME_UNKNOWN : table[i].kind;
    }
    return NAME_UNKNOWN;
}

name_kind name_map_gpt(const char *stage, const char *name, char *out, size_t cap) {
    char pat[256];
    int nums[MAX_NUMS] = {0}, n;
    if (!make_pattern(name, pat, sizeof pat, nums, &n, NULL)) return NAME_UNKNOWN;
    return lookup(gpt_table, sizeof gpt_table / sizeof *gpt_table, pat, nums, stage, NULL, out, cap);
}

name_kind name_map_codec(const char *name, char *out, size_t cap) {
    char pat[256];
    int nums[MAX_NUMS] = {0}, n;
    const char *side;
    if (!make_pattern(name, pat, sizeof pat, nums, &n, &side)) return NAME_UNKNOWN;
    return lookup(codec_table, sizeof codec_table / sizeof *codec_table, pat, nums, "encodec", side, out, cap);
}
