/* text_split.h: cutting a long text into pieces one Bark generation can say, at sentence or clause ends. */
#ifndef BARK_TEXT_SPLIT_H
#define BARK_TEXT_SPLIT_H

#include <stddef.h>

#include "bark.h"

/* Bark says at most ~15 s per generation; 200 bytes of text is about 13 s of speech (~15 characters/s). */
#define TEXT_SPLIT_DEFAULT_MAX 200

/* One piece: text[off, off + len), without leading or trailing whitespace. */
typedef struct text_piece {
    size_t off, len;
} text_piece;

/* Splits text[0, len) into pieces of at most max_len bytes when the whole (trimmed) text is longer than
 * max_len, else returns it as one piece. Cuts fall after a sentence end (. ! ? ... and the CJK full stops,
 * or a blank line), else after a clause mark (, ; : and dashes), else at a space; never inside a word: a
 * single word longer than max_len becomes a piece of its own. *out (malloc'd, free with free) gets *n
 * pieces; a text of only whitespace gives BARK_ERR_ARG "empty text". */
BARK_NODISCARD bark_status text_split(const char *text, size_t len, size_t max_len, text_piece **out, size_t *n,
                                      bark_error *err);

#define TEXT_SPLIT_LEAD_MIN 12 /* bytes the short first piece has at least */

/* For a text said in several pieces (*n >= 2): cuts the first piece again at its first sentence end, else its first
 * clause end (at least TEXT_SPLIT_LEAD_MIN bytes in), so that the first audio comes soon; the rest of it becomes the
 * second piece. Nothing changes when there is no such end or *n < 2. */
BARK_NODISCARD bark_status text_split_lead(const char *text, text_piece **pieces, size_t *n, bark_error *err);

#endif
