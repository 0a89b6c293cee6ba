/* model.h: the mapped model file seen from inside libbark: tensor views, metadata and stage weights. */
#ifndef BARK_MODEL_H
#define BARK_MODEL_H

#include "bark.h"
#include "model/quant.h"

/* A view of one tensor inside the read-only mapping (no copy). ne[0] varies fastest:
 * a PyTorch Linear weight W[out][in] is ne = {in, out}; rows are contiguous. */
typedef struct bark_tensor {
    const char *name;
    uint32_t type;   /* BARK_TYPE_* */
    int n_dims;
    int64_t ne[4];
    const void *data;
    size_t nbytes;
} bark_tensor;

/* Validates a model held in memory (for fuzzing and tests); buf must outlive the model. */
bark_status bark_model_from_buffer(const uint8_t *buf, size_t len, const char *label, bark_model **out,
                                   bark_error *err);

/* Looks up a tensor by its GGUF name; NULL if absent. */
const bark_tensor *bark_model_find(const bark_model *m, const char *name);
/* Same, with a printf-formatted name ("semantic.blk.%d.ln1.weight"). */
const bark_tensor *bark_model_findf(const bark_model *m, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Metadata; each fails with a message naming the key if absent or of another type. */
bark_status bark_model_get_u32(const bark_model *m, const char *key, uint32_t *out, bark_error *err);
/* Integer array (any GGUF integer element type); copies up to cap values, *n gets the length. */
bark_status bark_model_get_i32_array(const bark_model *m, const char *key, int32_t *out, size_t cap, size_t *n,
                                     bark_error *err);
const char *bark_model_path(const bark_model *m);

/* The vocabulary (tokenizer.ggml.tokens): token i is tok[i] with length len[i] (not NUL-terminated). */
size_t bark_model_vocab(const bark_model *m, const char *const **tok, const uint32_t **len);

/* One transformer block of a GPT stage (bias and LN-bias views have data == NULL when absent). */
typedef struct bark_gpt_layer {
    bark_tensor ln1_w, ln1_b;     /* [C] */
    bark_tensor qkv_w, qkv_b;     /* ne {C, 3C}; q, k, v rows in that order */
    bark_tensor out_w, out_b;     /* ne {C, C} */
    bark_tensor ln2_w, ln2_b;     /* [C] */
    bark_tensor up_w, up_b;       /* ne {C, 4C} */
    bark_tensor down_w, down_b;   /* ne {4C, C} */
} bark_gpt_layer;

#define BARK_MAX_LAYERS 64

/* All weights of one GPT stage, validated against its hyper-parameters when the file was opened. */
typedef struct bark_gpt_weights {
    bark_gpt_hparams hp;
    int n_wte;                   /* 1 (semantic, coarse) or n_codes_total (fine) */
    bark_tensor wte[8];          /* ne {C, input_vocab} */
    bark_tensor wpe;             /* ne {C, block_size} */
    bark_gpt_layer layer[BARK_MAX_LAYERS];
    bark_tensor lnf_w, lnf_b;    /* [C] */
    int n_lm_head;               /* 1 (semantic, coarse) or n_codes_total - n_codes_given (fine) */
    bark_tensor lm_head[8];      /* ne {C, output_vocab}; fine heads alias wte[j+1] when tied */
} bark_gpt_weights;

/* The stage's weights, or BARK_ERR_MISSING naming the stage if the file has none. */
bark_status bark_model_gpt(const bark_model *m, bark_stage s, const bark_gpt_weights **out, bark_error *err);

/* bark_voice_load_npz over an .npz held in memory (label names it in messages): the same checks (voice.c). */
bark_status voice_parse_npz(const uint8_t *buf, size_t size, const char *label, bark_voice *out, bark_error *err);

#endif
