/* convert_suno.c: Suno's original text/coarse/fine .pt checkpoints and EnCodec's .th state dict. */
#include <stdio.h>
#include <string.h>

#include "convert/convert_int.h"
#include "formats/pickle.h"

/* model_args integer (bools count as 0/1); def when absent, -1 when present but not a number. */
static int arg_int(const pk_obj *args, const char *key, int def) {
    const pk_obj *v = pk_dict_get(args, key);
    if (!v) return def;
    pk_kind k = pk_kind_of(v);
    if (k != PK_INT && k != PK_BOOL) return -1;
    int64_t x = pk_int(v);
    return x < 0 || x > (1 << 24) ? -1 : (int)x;
}

/* Which stage a .pt holds: by its tensors (fine has per-codebook tables), then by vocab sizes. */
static bark_stage guess_stage(const src_set *s, const gpt_config *g) {
    for (size_t i = 0; i < s->n; i++)
        if (strstr(s->t[i].name, "transformer.wtes.")) return BARK_STAGE_FINE;
    return g->input_vocab != g->output_vocab ? BARK_STAGE_SEMANTIC : BARK_STAGE_COARSE;
}

bark_status convert_suno_pt(convert_ctx *c, const char *path) {
    torch_file *tf = NULL;
    src_set s;
    src_set_init(&s);
    bark_status st = torch_open(path, &tf, c->err);
    const pk_obj *root = st ? NULL : torch_root(tf);
    const pk_obj *model = pk_dict_get(root, "model"), *args = pk_dict_get(root, "model_args");
    if (!st && (pk_kind_of(model) != PK_DICT || pk_kind_of(args) != PK_DICT))
        st = bark_fail(c->err, BARK_ERR_FORMAT, "%s: no 'model' and 'model_args' entries; not a Suno Bark checkpoint",
                       path);
    if (!st) st = torch_dict_tensors(tf, model, "_orig_mod.", &s, c->err);
    if (!st) {
        gpt_config g;
        int vocab = arg_int(args, "vocab_size", 0);
        g.n_layer = arg_int(args, "n_layer", 0);
        g.n_head = arg_int(args, "n_head", 0);
        g.n_embd = arg_int(args, "n_embd", 0);
        g.block_size = arg_int(args, "block_size", 0);
        g.input_vocab = arg_int(args, "input_vocab_size", vocab);
        g.output_vocab = arg_int(args, "output_vocab_size", vocab);
        g.n_codes_total = arg_int(args, "n_codes_total", 8);
        g.n_codes_given = arg_int(args, "n_codes_given", 1);
        st = convert_gpt(c, guess_stage(&s, &g), &s, "", &g, path);
    }
    src_set_free(&s);
    torch_close(tf);
    return st;
}

bark_status convert_torch_state_dict(convert_ctx *c, const char *path,
                                     bark_status (*use)(convert_ctx *c, const src_set *s, const char *label)) {
    torch_file *tf = NULL;
    src_set s;
    src_set_init(&s);
    bark_status st = torch_open(path, &tf, c->err);
    if (!st && pk_kind_of(torch_root(tf)) != PK_DICT)
        st = bark_fail(c->err, BARK_ERR_FORMAT, "%s: not a state dict", path);
    if (!st) st = torch_dict_tensors(tf, torch_root(tf), "", &s, c->err);
    if (!st) st = use(c, &s, path);
    src_set_free(&s);
    torch_close(tf);
    return st;
}

static bark_status codec_from_set(convert_ctx *c, const src_set *s, const char *label) {
    return convert_codec(c, s, "", label);
}

bark_status convert_encodec_th(convert_ctx *c, const char *path) {
    return convert_torch_state_dict(c, path, codec_from_set);
}
