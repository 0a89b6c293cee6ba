/* convert.c: `bark convert`: reads every given source and writes one validated GGUF model file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/bark_constants.h"
#include "convert/convert_hubert.h"

bark_convert_params bark_convert_default_params(void) {
    bark_convert_params p = {BARK_WTYPE_Q8_0, NULL, 0};
    return p;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

static const char *base_name(const char *path) {
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

/* vocab.txt: one token per line, id = line index; lines end in \n, \r\n or \r (as Python reads text). */
bark_status convert_vocab(convert_ctx *c, const char *path) {
    if (c->vocab_path) {
        if (!strcmp(c->vocab_path, path)) return BARK_OK;
        return bark_fail(c->err, BARK_ERR_ARG, "%s: a second vocabulary was given (first: %s)", path, c->vocab_path);
    }
    FILE *f = fopen(path, "rb");
    if (!f) return bark_fail(c->err, BARK_ERR_IO, "%s: cannot open vocabulary", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (size <= 0 || size > (64l << 20)) {
        fclose(f);
        return bark_fail(c->err, BARK_ERR_FORMAT, "%s: %ld bytes is not a vocab.txt", path, size);
    }
    char *buf = malloc((size_t)size);
    size_t n = buf ? fread(buf, 1, (size_t)size, f) : 0;
    fclose(f);
    const char **tok = malloc(sizeof *tok * ((size_t)size + 1));
    size_t *len = malloc(sizeof *len * ((size_t)size + 1)), n_tok = 0;
    bark_status st = BARK_OK;
    if (!buf || !tok || !len) st = bark_fail(c->err, BARK_ERR_NOMEM, "%s: out of memory", path);
    else if (n != (size_t)size) st = bark_fail(c->err, BARK_ERR_IO, "%s: short read", path);
    for (size_t i = 0; !st && i < n;) {
        size_t j = i;
        while (j < n && buf[j] != '\n' && buf[j] != '\r') j++;
        tok[n_tok] = buf + i;
        len[n_tok++] = j - i;
        if (j < n && buf[j] == '\r' && j + 1 < n && buf[j + 1] == '\n') j++;
        i = j + 1;
    }
    if (!st && n_tok < 106)
        st = bark_fail(c->err, BARK_ERR_FORMAT, "%s: only %zu tokens; not a BERT vocabulary", path, n_tok);
    if (!st && gguf_set_str(c->w, KEY_TOKENIZER_MODEL, "bert")) st = BARK_ERR_NOMEM;
    if (!st && gguf_set_str_array(c->w, KEY_TOKENIZER_TOKENS, tok, len, n_tok)) st = BARK_ERR_NOMEM;
    if (st == BARK_ERR_NOMEM && c->err && !c->err->msg[0]) bark_fail(c->err, st, "%s: out of memory", path);
    if (!st && !(c->vocab_path = strdup(path))) st = bark_fail(c->err, BARK_ERR_NOMEM, "out of memory");
    free(buf);
    free(tok);
    free(len);
    return st;
}

/* Picks the reader from what the path is: a folder (Hugging Face or voices) or a file by extension. */
static bark_status convert_source(convert_ctx *c, const char *path) {
    struct stat sb;
    char probe[4096];
    if (stat(path, &sb) != 0) return bark_fail(c->err, BARK_ERR_IO, "%s: no such file or folder", path);
    switch (convert_hubert_probe(path)) {
    case HUBERT_SRC_HF:
    case HUBERT_SRC_FAIRSEQ: return convert_hubert(c, path);
    case HUBERT_SRC_QUANTIZER: return convert_hubert_quantizer(c, path);
    default: break;
    }
    if (S_ISDIR(sb.st_mode)) {
        snprintf(probe, sizeof probe, "%s/config.json", path);
        if (stat(probe, &sb) == 0) return convert_hf_folder(c, path);
        return convert_voice_dir(c, path);
    }
    if (ends_with(path, ".pt") || ends_with(path, ".pth")) return convert_suno_pt(c, path);
    if (ends_with(path, ".th")) return convert_encodec_th(c, path);
    if (ends_with(path, ".txt")) return convert_vocab(c, path);
    if (ends_with(path, ".npz")) {
        /* a voice is named by its file's stem: "bad/myvoice.npz" is "myvoice" (a folder keeps "v2/...") */
        const char *b = base_name(path);
        char voice[256];
        snprintf(voice, sizeof voice, "%.*s", (int)(strlen(b) - 4), b);
        return convert_npz_voice(c, path, voice);
    }
    return bark_fail(c->err, BARK_ERR_UNSUPPORTED, "%s: unknown source (expected a Hugging Face folder, .pt, .th, "
                     ".npz, a folder of .npz voices, or vocab.txt)", path);
}

/* general.name: the model family from the GPT shapes (suno/bark-small has 12 layers of width 768, suno/bark
 * 24 of 1024), else what the file holds. */
static void model_name(const convert_ctx *c, char *out, size_t cap) {
    const int hubert = gguf_writer_has_tensor(c->w, "hubert.feat_proj.weight"),
              hubq = gguf_writer_has_tensor(c->w, "hubq.fc.weight");
    const gpt_config *g = NULL;
    int small = 1, large = 1;
    for (int s = BARK_STAGE_SEMANTIC; s <= BARK_STAGE_FINE; s++)
        if (c->have[s]) {
            g = &c->gpt[s];
            small &= g->n_layer == 12 && g->n_embd == 768;
            large &= g->n_layer == 24 && g->n_embd == 1024;
        }
    size_t n = 0;
    if (g && small) n = (size_t)snprintf(out, cap, "Bark (small)");
    else if (g && large) n = (size_t)snprintf(out, cap, "Bark");
    else if (g) n = (size_t)snprintf(out, cap, "Bark (custom: %d layers, width %d)", g->n_layer, g->n_embd);
    else if (c->have[BARK_STAGE_CODEC]) n = (size_t)snprintf(out, cap, "EnCodec 24 kHz");
    else if (!hubert && !hubq) n = (size_t)snprintf(out, cap, "Bark voices");
    if ((hubert || hubq) && n < cap)
        n += (size_t)snprintf(out + n, cap - n, "%sHuBERT%s", n ? " + " : "",
                              !hubq ? "" : hubert ? " with quantizer" : " quantizer");
    if (c->random_weights && n < cap) snprintf(out + n, cap - n, ", random weights");
}

/* general.file_type in llama.cpp's numbering for the --type asked (1-D tensors and codebooks stay f32). */
static uint32_t file_type(bark_wtype w) {
    return w == BARK_WTYPE_F32   ? FTYPE_ALL_F32
           : w == BARK_WTYPE_F16 ? FTYPE_MOSTLY_F16
           : w == BARK_WTYPE_Q4_0 ? FTYPE_MOSTLY_Q4_0
                                  : FTYPE_MOSTLY_Q8_0; /* q8_0, and q8_0 with c_attn f16 */
}

static bark_status write_metadata(convert_ctx *c) {
    const struct { const char *k; uint32_t v; } gen[] = {
        {KEY_GEN("text_encoding_offset"), BARK_TEXT_ENCODING_OFFSET},
        {KEY_GEN("text_pad_token"), BARK_TEXT_PAD_TOKEN},
        {KEY_GEN("semantic_pad_token"), BARK_SEMANTIC_PAD_TOKEN},
        {KEY_GEN("semantic_infer_token"), BARK_SEMANTIC_INFER_TOKEN},
        {KEY_GEN("semantic_vocab_size"), BARK_SEMANTIC_VOCAB_SIZE},
        {KEY_GEN("coarse_semantic_pad_token"), BARK_COARSE_SEMANTIC_PAD_TOKEN},
        {KEY_GEN("coarse_infer_token"), BARK_COARSE_INFER_TOKEN},
        {KEY_GEN("codebook_size"), BARK_CODEBOOK_SIZE},
        {KEY_GEN("n_coarse_codebooks"), BARK_N_COARSE_CODEBOOKS},
        {KEY_GEN("n_fine_codebooks"), BARK_N_FINE_CODEBOOKS},
        {KEY_GEN("coarse_rate_hz"), BARK_COARSE_RATE_HZ},
        {KEY_GEN("sample_rate"), BARK_SAMPLE_RATE},
        {KEY_GEN("context_window"), BARK_CONTEXT_WINDOW_SIZE}};
    char name[128];
    model_name(c, name, sizeof name);
    bark_status st = gguf_set_str(c->w, KEY_ARCHITECTURE, KEY_ARCH_NAME);
    if (!st) st = gguf_set_str(c->w, KEY_TYPE, "model");
    if (!st) st = gguf_set_str(c->w, KEY_NAME, name);
    if (!st) st = gguf_set_u32(c->w, KEY_FILE_TYPE, file_type(c->p->wtype));
    if (!st) st = gguf_set_u32(c->w, KEY_ALIGNMENT, GGUF_DEFAULT_ALIGNMENT);
    if (!st) st = gguf_set_f32(c->w, KEY_GEN("semantic_rate_hz"), (float)BARK_SEMANTIC_RATE_HZ);
    for (size_t i = 0; i < sizeof gen / sizeof *gen && !st; i++) st = gguf_set_u32(c->w, gen[i].k, gen[i].v);
    if (!st && c->n_voices) {
        size_t *lens = malloc(c->n_voices * sizeof *lens);
        if (!lens) return bark_fail(c->err, BARK_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < c->n_voices; i++) lens[i] = strlen(c->voices[i]);
        st = gguf_set_str_array(c->w, KEY_VOICES, (const char *const *)c->voices, lens, c->n_voices);
        free(lens);
    }
    return st ? bark_fail(c->err, st, "out of memory writing metadata") : BARK_OK;
}

/* Writes, re-opens with the runtime's own validating loader, then moves the file into place. */
static bark_status finish(convert_ctx *c, const char *out_path) {
    size_t n = strlen(out_path) + 16;
    char *tmp = malloc(n);
    if (!tmp) return bark_fail(c->err, BARK_ERR_NOMEM, "out of memory");
    snprintf(tmp, n, "%s.partial", out_path);
    bark_status st = gguf_write_file(c->w, tmp, c->err);
    if (!st) {
        bark_model *m = NULL;
        st = bark_model_open(tmp, &m, c->err);
        bark_model_close(m);
        if (st) bark_err_prefix(c->err, "the converted file does not validate: ");
    }
    if (!st && rename(tmp, out_path) != 0) st = bark_fail(c->err, BARK_ERR_IO, "%s: cannot move the file into place", out_path);
    if (st) remove(tmp);
    free(tmp);
    return st;
}

void convert_ctx_release(convert_ctx *c) {
    for (size_t i = 0; i < c->n_voices; i++) free(c->voices[i]);
    free(c->voices);
    free(c->vocab_path);
    gguf_writer_free(c->w);
}

bark_status convert_write(convert_ctx *c, const char *out_path) {
    bark_status st = write_metadata(c);
    return st ? st : finish(c, out_path);
}

bark_status bark_convert(const char *const *sources, size_t n_sources, const char *out_path,
                         const bark_convert_params *p, bark_error *err) {
    bark_convert_params def = bark_convert_default_params();
    if (!p) p = &def;
    if (!n_sources || !out_path) return bark_fail(err, BARK_ERR_ARG, "convert: no sources or no output path given");
    if (p->wtype != BARK_WTYPE_F32 && p->wtype != BARK_WTYPE_F16 && p->wtype != BARK_WTYPE_Q8_0 &&
        p->wtype != BARK_WTYPE_Q4_0 && p->wtype != BARK_WTYPE_Q8_0_ATTN_F16)
        return bark_fail(err, BARK_ERR_ARG, "convert: unknown weight type %d", (int)p->wtype);
    convert_ctx c;
    memset(&c, 0, sizeof c);
    c.p = p;
    c.err = err;
    c.w = gguf_writer_new();
    bark_status st = c.w ? BARK_OK : bark_fail(err, BARK_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n_sources && !st; i++) st = convert_source(&c, sources[i]);
    if (!st && !c.vocab_path && p->vocab_path) st = convert_vocab(&c, p->vocab_path);
    if (!st && c.have[BARK_STAGE_SEMANTIC] && !c.vocab_path)
        st = bark_fail(err, BARK_ERR_MISSING, "no vocab.txt for the semantic stage: pass --vocab "
                       "models/bert-base-multilingual-cased/vocab.txt");
    if (!st && !c.have[0] && !c.have[1] && !c.have[2] && !c.have[3] && !c.n_voices &&
        !gguf_writer_has_tensor(c.w, "hubert.feat_proj.weight") && !gguf_writer_has_tensor(c.w, "hubq.fc.weight"))
        st = bark_fail(err, BARK_ERR_MISSING, "convert: the sources hold no model and no voice");
    if (!st) st = convert_write(&c, out_path);
    convert_ctx_release(&c);
    return st;
}
