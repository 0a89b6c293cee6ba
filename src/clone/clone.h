/* clone.h: a voice prompt from a reference recording: trimmed audio -> EnCodec codes and HuBERT semantic tokens. */
#ifndef BARK_CLONE_H
#define BARK_CLONE_H

#include "bark.h"
#include "codec/encodec.h"
#include "clone/hubert.h"

typedef struct clone_params {
    double max_seconds;  /* 15: only the last max_seconds of the trimmed audio are kept (presets hold <= 14.6 s) */
    double silence_dbfs; /* -50: 10 ms windows quieter than this (RMS) are trimmed at both ends */
} clone_params;

clone_params clone_default_params(void);

/* What the reference was and what was kept (for the CLI's report and warnings). */
typedef struct clone_info {
    int file_rate, file_channels;
    double file_seconds;     /* at 24 kHz after resampling */
    double kept_seconds;     /* what the prompt holds */
    double lead_trimmed, tail_trimmed;
    int cut;                 /* the trimmed audio was longer than max_seconds: its start was dropped */
    double clipped_fraction; /* samples at |x| >= 0.999 */
    float codes_margin;      /* smallest RVQ best/second-best distance gap */
    float tokens_margin;     /* smallest quantizer top-2 logit gap (0 when no semantic tokens were made) */
} clone_info;

/* Reads `path` twice in bounded blocks (any libsndfile format and rate, mono mixdown, 24 kHz): once to find
 * the voiced span, once to keep at most max_seconds of it. Fills out->fine [8][T] and out->coarse [2][T] (the
 * first two rows) from EnCodec at 6 kbps and, when hubert and q are given, out->semantic from HuBERT (16 kHz,
 * resampled from the kept audio) and the quantizer; otherwise out->semantic is NULL and n_semantic 0.
 * Silence-only input fails with BARK_ERR_FORMAT. Free out with bark_voice_free. */
BARK_NODISCARD bark_status clone_reference(const char *path, const encodec_model *codec, const hubert_model *hubert,
                                           const hubq_model *q, const clone_params *p, bark_voice *out,
                                           clone_info *info, bark_error *err);

/* Suno's generate_coarse asserts round(n_coarse / n_semantic, 1) == 1.5 (75 Hz codes over 49.9 Hz tokens):
 * drops the oldest coarse/fine frames or semantic tokens, whichever side is too long, until it holds.
 * Needs n_semantic >= 2. */
void clone_align_prompt(bark_voice *v);

#endif
