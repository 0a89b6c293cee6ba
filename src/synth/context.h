/* context.h: what a bark_context holds (internal): the mapped model, its tokenizer and the EnCodec decoder. */
#ifndef BARK_CONTEXT_H
#define BARK_CONTEXT_H

#include "bark.h"
#include "codec/encodec.h"
#include "text/tokenizer.h"

struct bark_context {
    bark_model *model;      /* owned, mapped read-only */
    bark_tokenizer *tok;    /* NULL when the file has no vocabulary (codes-only files) */
    encodec_model codec;    /* the decoder with Bark's 8 codebooks; has_codec = 0 when the file has no EnCodec */
    int has_codec;
};

/* Checks the file holds every stage up to `last` (SEMANTIC .. CODEC) and, for text, a vocabulary. */
BARK_NODISCARD bark_status bark_context_require(const bark_context *c, bark_stage last, bark_error *err);

#endif
