/* clone_models.h: test models for cloning (tiny GPTs + random 24 kHz EnCodec; tiny HuBERT + quantizer) and a
 * voiced test recording, shared by the cloning and voice-library suites. */
#ifndef BARK_CLONE_MODELS_H
#define BARK_CLONE_MODELS_H

#include "bark.h"

/* A mono or stereo file (libsndfile format) of a voiced signal at `rate`: `lead` and `tail` seconds of exact silence
 * around `body` seconds of harmonics under a 4 Hz envelope, amplitude amp. 0, or -1 when it cannot be written. */
int tu_write_voiced(const char *path, int format, int rate, int channels, double lead, double body, double tail,
                    double amp);
/* Writes the Bark model (f16, with an EnCodec encoder) to bark_path and HuBERT + quantizer (f32) to hubert_path;
 * 0, or -1 after printing why. */
int tu_clone_models(const char *bark_path, const char *hubert_path);

#endif
