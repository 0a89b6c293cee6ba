/* gguf_keys.h: the metadata keys of the bark.c model file in one table (models/FORMAT.md describes each). */
#ifndef BARK_GGUF_KEYS_H
#define BARK_GGUF_KEYS_H

/* GGUF's shared keys, spelled as gguf-py and llama.cpp read them. */
#define KEY_ARCHITECTURE "general.architecture"
#define KEY_TYPE "general.type"
#define KEY_NAME "general.name"
#define KEY_FILE_TYPE "general.file_type"
#define KEY_ALIGNMENT "general.alignment"
#define KEY_TOKENIZER_MODEL "tokenizer.ggml.model"
#define KEY_TOKENIZER_TOKENS "tokenizer.ggml.tokens"

/* general.file_type values: llama.cpp's LLAMA_FTYPE numbering (gguf-py LlamaFileType), not tensor type ids. */
#define FTYPE_ALL_F32 0u
#define FTYPE_MOSTLY_F16 1u
#define FTYPE_MOSTLY_Q4_0 2u
#define FTYPE_MOSTLY_Q8_0 7u

/* Everything of Bark's own sits under "bark.": KEY_ENCODEC("n_q") is "bark.encodec.n_q". */
#define KEY_ARCH_NAME "bark"
#define KEY_STAGE_FMT "bark.%s.%s" /* GPT stage hyper-parameters: stage name, then field */
#define KEY_FINE(f) "bark.fine." f
#define KEY_GEN(f) "bark.gen." f
#define KEY_VOICES "bark.voices"
#define KEY_ENCODEC(f) "bark.encodec." f
#define KEY_HUBERT(f) "bark.hubert." f
#define KEY_HUBERT_QUANTIZER(f) "bark.hubert_quantizer." f

/* The layout of bark.c 0.2 and earlier, refused at open: these namespaces outside "bark." and q8_0 files
 * marked with file_type 8 (the tensor type id, which GGUF readers show as Q5_0). */
#define KEY_OLD_NAMESPACES {"encodec.", "hubert.", "hubq."}
#define FTYPE_OLD_Q8_0 8u

#endif
