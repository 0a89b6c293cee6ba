/* bark_constants.h: Bark's fixed generation constants (spec bark.md section 1, from suno's generation.py). */
#ifndef BARK_CONSTANTS_H
#define BARK_CONSTANTS_H

#define BARK_CONTEXT_WINDOW_SIZE 1024     /* block size of every GPT */
#define BARK_SEMANTIC_RATE_HZ 49.9        /* semantic tokens per second (double) */
#define BARK_SEMANTIC_VOCAB_SIZE 10000    /* semantic ids 0..9999 */
#define BARK_CODEBOOK_SIZE 1024           /* entries per EnCodec codebook */
#define BARK_N_COARSE_CODEBOOKS 2         /* codebooks made by the coarse model */
#define BARK_N_FINE_CODEBOOKS 8           /* codebooks fed to EnCodec (6 kbps) */
#define BARK_COARSE_RATE_HZ 75            /* EnCodec frames per second */
#define BARK_SAMPLE_RATE 24000            /* output sample rate */
#define BARK_TEXT_ENCODING_OFFSET 10048   /* added to every BERT id */
#define BARK_SEMANTIC_PAD_TOKEN 10000     /* semantic history pad, also semantic EOS */
#define BARK_TEXT_PAD_TOKEN 129595        /* pads the 256-slot text block */
#define BARK_SEMANTIC_INFER_TOKEN 129599  /* start-generating token of the semantic model */
#define BARK_COARSE_SEMANTIC_PAD_TOKEN 12048 /* pads the coarse model's semantic window */
#define BARK_COARSE_INFER_TOKEN 12050     /* start-generating token of the coarse model */
#define BARK_TEXT_BLOCK 256               /* text ids given to the semantic model */

#endif
