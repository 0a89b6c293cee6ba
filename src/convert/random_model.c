/* random_model.c: a model file with random weights at the real bark-small / bark shapes, written in C
 * through the converter's own Hugging Face path (for benchmarks and load tests without Python). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/convert_int.h"

typedef struct gen {
    convert_ctx *c;
    src_set s;
    uint64_t state;
} gen;

static float uniform(uint64_t *s) { /* splitmix64 -> [-1, 1) */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (float)((double)(z >> 11) * (2.0 / 9007199254740992.0) - 1.0);
}

/* Adds tensor `name` of torch shape dims[0..n) filled with base + scale * U[-1, 1). */
static bark_status add(gen *g, const char *name, float base, float scale, int n, int64_t d0, int64_t d1, int64_t d2) {
    int64_t shape[3] = {d0, d1, d2};
    size_t count = 1;
    for (int i = 0; i < n; i++) count *= (size_t)shape[i];
    float *v = malloc(count * sizeof *v);
    if (!v) return bark_fail(g->c->err, BARK_ERR_NOMEM, "random model: out of memory");
    for (size_t i = 0; i < count; i++) v[i] = base + scale * uniform(&g->state);
    bark_status st = src_set_own(&g->s, v, g->c->err);
    if (st) {
        free(v);
        return st;
    }
    return src_set_add(&g->s, name, SRC_F32, n, shape, (const uint8_t *)v, count * sizeof *v, g->c->err);
}

static bark_status add_gpt(gen *g, const char *p, const gpt_config *c, int fine) {
    char n[160];
    bark_status st = BARK_OK;
    const int64_t C = c->n_embd;
    const float w = 0.035f, wo = w / sqrtf(2.0f * (float)c->n_layer);
    for (int k = 0; k < (fine ? c->n_codes_total : 1) && !st; k++) {
        if (fine) snprintf(n, sizeof n, "%sinput_embeds_layers.%d.weight", p, k);
        else snprintf(n, sizeof n, "%sinput_embeds_layer.weight", p);
        st = add(g, n, 0, w, 2, c->input_vocab, C, 1);
    }
    snprintf(n, sizeof n, "%sposition_embeds_layer.weight", p);
    if (!st) st = add(g, n, 0, w, 2, c->block_size, C, 1);
    static const char *const ln[2] = {"layernorm_1", "layernorm_2"};
    for (int i = 0; i < c->n_layer && !st; i++) {
        for (int l = 0; l < 2 && !st; l++) {
            snprintf(n, sizeof n, "%slayers.%d.%s.weight", p, i, ln[l]);
            st = add(g, n, 1, 0.1f, 1, C, 1, 1);
            snprintf(n, sizeof n, "%slayers.%d.%s.bias", p, i, ln[l]);
            if (!st && fine) st = add(g, n, 0, 0.1f, 1, C, 1, 1);
        }
        const struct { const char *k; int64_t rows, cols; float s; } lin[4] = {
            {"attn.att_proj", 3 * C, C, w}, {"attn.out_proj", C, C, wo}, {"mlp.in_proj", 4 * C, C, w},
            {"mlp.out_proj", C, 4 * C, wo}};
        for (int j = 0; j < 4 && !st; j++) {
            snprintf(n, sizeof n, "%slayers.%d.%s.weight", p, i, lin[j].k);
            st = add(g, n, 0, lin[j].s, 2, lin[j].rows, lin[j].cols, 1);
        }
    }
    snprintf(n, sizeof n, "%slayernorm_final.weight", p);
    if (!st) st = add(g, n, 1, 0.1f, 1, C, 1, 1);
    snprintf(n, sizeof n, "%slayernorm_final.bias", p);
    if (!st && fine) st = add(g, n, 0, 0.1f, 1, C, 1, 1);
    snprintf(n, sizeof n, "%slm_head.weight", p);
    if (!st && !fine) st = add(g, n, 0, w, 2, c->output_vocab, C, 1);
    return st;
}

/* One conv (Hugging Face spelling, plain weights): weight [cout, cin, k] (transposed: [cin, cout, k]). */
static bark_status conv(gen *g, const char *side, int idx, const char *sub, int64_t a, int64_t b, int64_t k) {
    char n[160];
    float s = 1.0f / sqrtf((float)(b * k));
    snprintf(n, sizeof n, "codec_model.%s.layers.%d.%sconv.weight", side, idx, sub);
    bark_status st = add(g, n, 0, s, 3, a, b, k);
    snprintf(n, sizeof n, "codec_model.%s.layers.%d.%sconv.bias", side, idx, sub);
    return st ? st : add(g, n, 0, 0.01f, 1, (side[0] == 'd' && !*sub && idx % 3 == 0 && idx > 0 && idx < 15) ? b : a, 1, 1);
}

static bark_status lstm(gen *g, const char *side, int idx, int64_t d) {
    char n[160];
    bark_status st = BARK_OK;
    static const char *const w[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
    for (int l = 0; l < 2 && !st; l++)
        for (int j = 0; j < 4 && !st; j++) {
            snprintf(n, sizeof n, "codec_model.%s.layers.%d.lstm.%s_l%d", side, idx, w[j], l);
            st = add(g, n, 0, 1.0f / sqrtf((float)d), j < 2 ? 2 : 1, 4 * d, d, 1);
        }
    return st;
}

static bark_status resunit(gen *g, const char *side, int idx, int64_t ch) {
    bark_status st = conv(g, side, idx, "block.1.", ch / 2, ch, 3);
    if (!st) st = conv(g, side, idx, "block.3.", ch, ch / 2, 1);
    return st ? st : conv(g, side, idx, "shortcut.", ch, ch, 1);
}

/* EnCodec 24 kHz: n_filters 32, latent 128, ratios 8 5 4 2, 32 codebooks of 1024. */
static bark_status add_codec(gen *g) {
    static const int ratios[4] = {8, 5, 4, 2};
    bark_status st = conv(g, "encoder", 0, "", 32, 1, 7);
    int64_t ch = 32;
    for (int i = 0; i < 4 && !st; i++) {
        int s = ratios[3 - i];
        st = resunit(g, "encoder", 1 + 3 * i, ch);
        if (!st) st = conv(g, "encoder", 3 + 3 * i, "", ch * 2, ch, 2 * s);
        ch *= 2;
    }
    if (!st) st = lstm(g, "encoder", 13, 512);
    if (!st) st = conv(g, "encoder", 15, "", 128, 512, 7);
    if (!st) st = conv(g, "decoder", 0, "", 512, 128, 7);
    if (!st) st = lstm(g, "decoder", 1, 512);
    for (int i = 0; i < 4 && !st; i++) {
        st = conv(g, "decoder", 3 + 3 * i, "", ch, ch / 2, 2 * ratios[i]); /* transposed: [cin, cout, k] */
        ch /= 2;
        if (!st) st = resunit(g, "decoder", 4 + 3 * i, ch);
    }
    if (!st) st = conv(g, "decoder", 15, "", 1, 32, 7);
    for (int q = 0; q < 32 && !st; q++) {
        char n[96];
        snprintf(n, sizeof n, "codec_model.quantizer.layers.%d.codebook.embed", q);
        st = add(g, n, 0, 1.0f, 2, 1024, 128, 1);
    }
    return st;
}

bark_status bark_write_random_model(const char *out_path, const char *shape, bark_wtype wtype, uint64_t seed,
                                    const char *vocab_path, const char *voices_dir, bark_error *err) {
    int large = !strcmp(shape, "bark") || !strcmp(shape, "large");
    if (!large && strcmp(shape, "bark-small") && strcmp(shape, "small"))
        return bark_fail(err, BARK_ERR_ARG, "random model: unknown shape '%s' (bark-small or bark)", shape);
    if (!vocab_path) /* the semantic stage is useless without it, as in bark_convert */
        return bark_fail(err, BARK_ERR_MISSING, "%s: no vocabulary given; pass --vocab "
                         "models/bert-base-multilingual-cased/vocab.txt (`bark say` needs it)", out_path);
    bark_convert_params p = bark_convert_default_params();
    p.wtype = wtype;
    convert_ctx c;
    memset(&c, 0, sizeof c);
    c.p = &p;
    c.err = err;
    c.random_weights = 1;
    gen g = {&c, {0}, seed};
    src_set_init(&g.s);
    const int L = large ? 24 : 12, H = large ? 16 : 12, C = large ? 1024 : 768;
    const gpt_config cfg[3] = {{L, H, C, 1024, 129600, 10048, 0, 0}, {L, H, C, 1024, 12096, 12096, 0, 0},
                               {L, H, C, 1024, 1056, 1056, 8, 1}};
    static const char *const prefix[3] = {"semantic.", "coarse_acoustics.", "fine_acoustics."};
    bark_status st = (c.w = gguf_writer_new()) ? BARK_OK : bark_fail(err, BARK_ERR_NOMEM, "out of memory");
    for (int s = 0; s < 3 && !st; s++) {
        st = add_gpt(&g, prefix[s], &cfg[s], s == 2);
        if (!st) st = convert_gpt(&c, (bark_stage)s, &g.s, prefix[s], &cfg[s], "random model");
        src_set_free(&g.s);
        src_set_init(&g.s);
    }
    if (!st) st = add_codec(&g);
    if (!st) st = convert_codec(&c, &g.s, "codec_model.", "random model");
    src_set_free(&g.s);
    if (!st) st = convert_vocab(&c, vocab_path);
    if (!st && voices_dir) st = convert_voice_dir(&c, voices_dir);
    if (!st) st = convert_write(&c, out_path);
    convert_ctx_release(&c);
    return st;
}
