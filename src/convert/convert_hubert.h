/* convert_hubert.h: HuBERT and quantizer conversion internals the dispatcher and tools need (internal). */
#ifndef BARK_CONVERT_HUBERT_H
#define BARK_CONVERT_HUBERT_H

#include "convert/convert_int.h"

#define HUBERT_SRC_MAX_CONV 8

/* What a source path holds, by a cheap look (config.json model_type, or the tensor names of a torch file). */
typedef enum hubert_src_kind {
    HUBERT_SRC_NONE = 0,
    HUBERT_SRC_HF,        /* folder with a HubertModel config.json */
    HUBERT_SRC_FAIRSEQ,   /* fairseq checkpoint (hubert_base_ls960.pt): {"model": {...}, "cfg": {...}} */
    HUBERT_SRC_QUANTIZER  /* gitmylo quantizer .pth: a state dict with lstm.* and fc.* */
} hubert_src_kind;
hubert_src_kind convert_hubert_probe(const char *path);

/* HuBERT hyper-parameters as its config gives them. */
typedef struct hubert_src_config {
    int hidden, layers, heads, ffn, n_conv, conv_dim, pos_kernel, pos_groups, conv_bias;
    int kernel[HUBERT_SRC_MAX_CONV], stride[HUBERT_SRC_MAX_CONV];
} hubert_src_config;
hubert_src_config hubert_src_config_base(void); /* facebook/hubert-base-ls960 */

/* Emits HuBERT from tensors in Hugging Face spelling (optionally prefixed "hubert.") or fairseq spelling,
 * keeping the first min(layers, 9) transformer layers, plus the hubert.* metadata. */
bark_status convert_hubert_set(convert_ctx *c, const src_set *s, const hubert_src_config *cfg, const char *label);
/* Emits the quantizer from its state dict names (lstm.*, [intermediate.*], fc.*) as hubq.* plus hubq.version. */
bark_status convert_hubq_set(convert_ctx *c, const src_set *s, const char *label);

#endif
