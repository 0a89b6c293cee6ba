/* tokenizer.h: Bark's text tokenizer (slow transformers BertTokenizer of mBERT cased) and text block. */
#ifndef BARK_TOKENIZER_H
#define BARK_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "bark.h"

/* Behaves exactly like transformers' slow BertTokenizer(vocab, do_lower_case=False).encode(text,
 * add_special_tokens=False) under Python 3.11 (Unicode 14.0): literal "[UNK]" "[SEP]" "[PAD]" "[CLS]"
 * "[MASK]" are cut out first; then BERT cleaning, CJK isolation, NFC, whitespace and punctuation
 * splitting and greedy WordPiece (words over 100 code points become [UNK]).
 * Input is UTF-8; invalid sequences are read as U+FFFD, the way Python's
 * bytes.decode("utf-8", "replace") sees them, and the cleaner then deletes them (so they join their
 * neighbours). The tokenizer is immutable after creation: calls may run in parallel. */
typedef struct bark_tokenizer bark_tokenizer;

/* Builds a tokenizer from n tokens (token i = id i; bytes tokens[i][0..lens[i]), not NUL-terminated;
 * copied). A token listed twice keeps its last id (Python dict). "[UNK]" "[SEP]" "[PAD]" "[CLS]" and
 * "[MASK]" must be present. */
BARK_NODISCARD bark_status bark_tokenizer_create(const char *const *tokens, const uint32_t *lens, size_t n,
                                                 bark_tokenizer **out, bark_error *err);

/* Reads vocab.txt as Python's load_vocab does: strict UTF-8, universal newlines ("\r\n", "\r" and "\n"
 * each end a line and are removed), line index = id. */
BARK_NODISCARD bark_status bark_tokenizer_load_vocab(const char *path, bark_tokenizer **out, bark_error *err);

void bark_tokenizer_free(bark_tokenizer *t); /* accepts NULL */

size_t bark_tokenizer_size(const bark_tokenizer *t);

/* WordPiece ids of utf8[0..len) (no [CLS]/[SEP], no offset). *n_ids always gets the full count; when it
 * exceeds cap, the first cap ids are written and BARK_ERR_ARG is returned (ids may be NULL if cap is 0). */
BARK_NODISCARD bark_status bark_tokenize(const bark_tokenizer *t, const char *utf8, size_t len, int32_t *ids,
                                         size_t cap, size_t *n_ids, bark_error *err);

/* Bark's text block (suno generation.py): whitespace runs (str.isspace) become one space and the ends are
 * stripped; BARK_ERR_ARG "empty text" if nothing is left; then the ids + BARK_TEXT_ENCODING_OFFSET, cut to
 * 256 (*truncated = 1, else 0) and right-padded with BARK_TEXT_PAD_TOKEN. *n_text = real ids in out (0 is
 * possible, e.g. for text made only of control characters: Bark then runs on an all-pad block). */
BARK_NODISCARD bark_status bark_text_to_semantic_input(const bark_tokenizer *t, const char *utf8, size_t len,
                                                       int32_t out[256], size_t *n_text, int *truncated,
                                                       bark_error *err);

#endif
