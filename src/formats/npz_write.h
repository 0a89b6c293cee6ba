/* npz_write.h: writing a voice prompt as a Suno-compatible .npz (an uncompressed zip of three .npy arrays). */
#ifndef BARK_NPZ_WRITE_H
#define BARK_NPZ_WRITE_H

#include "bark.h"

/* Writes semantic_prompt (<i8 [n]), coarse_prompt (<i8 [2, T]) and fine_prompt (<i4 [8, T]) — the keys, dtypes
 * and shapes of Suno's v2 presets — through path.partial renamed at the end (a failure leaves nothing). */
BARK_NODISCARD bark_status voice_write_npz(const char *path, const bark_voice *v, bark_error *err);

#endif
