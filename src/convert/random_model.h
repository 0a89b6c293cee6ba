/* random_model.h: writing a random-weight model file at Bark's real shapes (benchmarks, load tests). */
#ifndef BARK_RANDOM_MODEL_H
#define BARK_RANDOM_MODEL_H

#include "bark.h"

/* shape: "bark-small" (12 layers, width 768) or "bark" (24 layers, width 1024), each with the real vocab
 * sizes and the real EnCodec 24 kHz decoder/encoder; vocab_path and voices_dir may be NULL. */
bark_status bark_write_random_model(const char *out_path, const char *shape, bark_wtype wtype, uint64_t seed,
                                    const char *vocab_path, const char *voices_dir, bark_error *err);

#endif
