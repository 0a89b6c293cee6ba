/* names.h: mapping checkpoint tensor names (Hugging Face, Suno, EnCodec) to bark's GGUF names. */
#ifndef BARK_NAMES_H
#define BARK_NAMES_H

#include <stddef.h>

typedef enum name_kind {
    NAME_UNKNOWN = 0, /* not a tensor bark knows: the converter refuses the file */
    NAME_SKIP,        /* a known buffer bark does not need (attention masks, quantizer statistics) */
    NAME_TENSOR,      /* maps to a GGUF tensor */
    NAME_WN_G,        /* weight-norm magnitude: folded with its direction into <out>.weight */
    NAME_WN_V         /* weight-norm direction */
} name_kind;

/* A GPT tensor name without its sub-model prefix, Hugging Face ("layers.3.attn.att_proj.weight") or
 * Suno ("transformer.h.3.attn.c_attn.weight") spelling, to "<stage>.blk.3.attn_qkv.weight". */
name_kind name_map_gpt(const char *stage, const char *name, char *out, size_t cap);

/* An EnCodec tensor name without "codec_model.", original ("decoder.model.3.convtr.convtr.weight_g") or
 * Hugging Face ("decoder.layers.3.conv.weight_g", "...parametrizations.weight.original0") spelling,
 * to "encodec.decoder.3.weight" (for NAME_WN_G / NAME_WN_V: the folded weight's name). */
name_kind name_map_codec(const char *name, char *out, size_t cap);

#endif
