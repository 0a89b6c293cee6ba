/* convert_int.h: shared state of the converter while it turns checkpoints into one GGUF (internal). */
#ifndef BARK_CONVERT_INT_H
#define BARK_CONVERT_INT_H

#include "bark.h"
#include "model/gguf.h"
#include "model/gguf_keys.h"
#include "formats/source.h"

/* What a tensor is, which decides its stored type. */
typedef enum emit_role {
    ROLE_LINEAR,   /* a GPT block's Linear weight: q4_0 / q8_0 / f16 / f32 as asked */
    ROLE_ATTN_QKV, /* a GPT block's c_attn weight: as ROLE_LINEAR, but f16 for BARK_WTYPE_Q8_0_ATTN_F16 */
    ROLE_MATRIX,   /* other GPT matrices (heads, the fine stage's tables) and HuBERT's: q8_0 / f16 / f32 as asked (q8_0
                      for q4_0) */
    ROLE_EMBEDDING, /* a table only ever read a row at a time (token and position embeddings, not the fine stage's
                       token tables, which are its heads too): f16 unless f32 is asked */
    ROLE_VECTOR,   /* norms and biases: always f32 */
    ROLE_CODEC,    /* EnCodec conv and LSTM weights: f16 unless f32 is asked */
    ROLE_CODEBOOK  /* EnCodec codebooks: always f32 */
} emit_role;

/* The hyper-parameters of a GPT stage's config. */
typedef struct gpt_config {
    int n_layer, n_head, n_embd, block_size, input_vocab, output_vocab, n_codes_total, n_codes_given;
} gpt_config;

typedef struct convert_ctx {
    const bark_convert_params *p;
    gguf_writer *w;
    bark_error *err;
    int have[BARK_STAGE_COUNT];
    char **voices;
    size_t n_voices, cap_voices;
    char *vocab_path;  /* vocab.txt found in a source folder (owned), else NULL */
    gpt_config gpt[3]; /* each converted stage's config (general.name comes from the shapes) */
    int random_weights; /* written by bark_write_random_model */
} convert_ctx;

/* Expands any float source tensor to a malloc'd f32 array (caller frees); NULL and an error otherwise. */
float *convert_to_f32(convert_ctx *c, const src_tensor *t, const char *label);
/* Stores f32 data (torch shape, outermost first) under `name` with the type its role calls for. */
bark_status convert_emit(convert_ctx *c, const char *name, emit_role role, const float *data, int n_dims,
                         const int64_t *shape);

/* One GPT stage from a state dict (names without sub-model prefix, Suno or HF spelling), with the
 * hyper-parameters of its config. */
bark_status convert_gpt(convert_ctx *c, bark_stage stage, const src_set *s, const char *prefix,
                        const gpt_config *cfg, const char *label);
/* EnCodec from a state dict (original or HF spelling, names after `prefix`); hyper-parameters come from
 * the tensor shapes. */
bark_status convert_codec(convert_ctx *c, const src_set *s, const char *prefix, const char *label);
/* A voice from integer arrays (Suno .npz members or HF speaker-embedding .npy files). */
bark_status convert_voice(convert_ctx *c, const char *voice, const src_tensor *semantic, const src_tensor *coarse,
                          const src_tensor *fine, const char *label);

bark_status convert_hf_folder(convert_ctx *c, const char *dir);
bark_status convert_suno_pt(convert_ctx *c, const char *path);
bark_status convert_encodec_th(convert_ctx *c, const char *path);
/* Opens a torch.save file whose root is a state dict and hands its tensors to `use`. */
bark_status convert_torch_state_dict(convert_ctx *c, const char *path,
                                     bark_status (*use)(convert_ctx *c, const src_set *s, const char *label));
bark_status convert_npz_voice(convert_ctx *c, const char *path, const char *voice);
bark_status convert_voice_dir(convert_ctx *c, const char *dir);
bark_status convert_vocab(convert_ctx *c, const char *path);
/* HuBERT base from a Hugging Face HubertModel folder or a fairseq .pt; gitmylo's quantizer from its .pth. */
bark_status convert_hubert(convert_ctx *c, const char *path);
bark_status convert_hubert_quantizer(convert_ctx *c, const char *path);
/* Adds the metadata, writes out_path, re-opens it with the validating loader, then moves it into place. */
bark_status convert_write(convert_ctx *c, const char *out_path);
/* Frees what the context owns (voices, vocab path, writer). */
void convert_ctx_release(convert_ctx *c);

#endif
