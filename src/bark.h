/* bark.h: the one public header of libbark (Bark text-to-speech on the CPU). */
#ifndef BARK_H
#define BARK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BARK_VERSION "0.1.0"

#if defined(__GNUC__)
#define BARK_NODISCARD __attribute__((warn_unused_result))
#else
#define BARK_NODISCARD
#endif

/* Every fallible call returns a status; BARK_OK is zero, failures are negative. */
typedef enum bark_status {
    BARK_OK = 0,
    BARK_ERR_ARG = -1,         /* a bad argument from the caller */
    BARK_ERR_IO = -2,          /* open, read, write or map failed */
    BARK_ERR_FORMAT = -3,      /* the input is malformed */
    BARK_ERR_UNSUPPORTED = -4, /* well formed, but not something bark handles */
    BARK_ERR_NOMEM = -5,       /* an allocation failed */
    BARK_ERR_MISSING = -6,     /* a required tensor, key, stage or voice is absent */
    BARK_ERR_INTERRUPTED = -7  /* stopped by the caller */
} bark_status;

/* The message that goes with a failed status: one line, naming the file and the problem. */
typedef struct bark_error {
    bark_status status;
    char msg[512];
} bark_error;

const char *bark_status_str(bark_status s);

/* ---- model files (one mmap'd GGUF holding every stage, the vocab and the voices) ---- */

typedef struct bark_model bark_model;

/* Maps `path` read-only and validates every header field and tensor before returning. */
BARK_NODISCARD bark_status bark_model_open(const char *path, bark_model **out, bark_error *err);
void bark_model_close(bark_model *m); /* accepts NULL */

typedef enum bark_stage {
    BARK_STAGE_SEMANTIC = 0,
    BARK_STAGE_COARSE = 1,
    BARK_STAGE_FINE = 2,
    BARK_STAGE_CODEC = 3,
    BARK_STAGE_COUNT = 4
} bark_stage;

const char *bark_stage_name(bark_stage s);
int bark_model_has_stage(const bark_model *m, bark_stage s);

/* Hyper-parameters of one GPT stage, as recorded in the file. */
typedef struct bark_gpt_hparams {
    int n_layer, n_head, n_embd, block_size;
    int input_vocab, output_vocab;
    int n_codes_total, n_codes_given; /* fine stage only; 0 elsewhere */
    int has_bias;                     /* Linear layers carry biases */
    int ln_bias;                      /* LayerNorms carry biases */
} bark_gpt_hparams;

BARK_NODISCARD bark_status bark_model_gpt_hparams(const bark_model *m, bark_stage s,
                                                  bark_gpt_hparams *out, bark_error *err);

/* The tensor table, for `bark info` and tools. */
typedef struct bark_tensor_info {
    const char *name; /* NUL-terminated copy owned by the model */
    const char *type; /* "f32", "f16", "q8_0", "i32", ... */
    int n_dims;
    int64_t ne[4];    /* GGUF order: ne[0] varies fastest */
    size_t nbytes;
} bark_tensor_info;

size_t bark_model_tensor_count(const bark_model *m);
BARK_NODISCARD bark_status bark_model_tensor_info(const bark_model *m, size_t i, bark_tensor_info *out);
size_t bark_model_file_size(const bark_model *m);

/* Named voices embedded in the model file ("v2/en_speaker_6", ...). */
size_t bark_model_voice_count(const bark_model *m);
const char *bark_model_voice_name(const bark_model *m, size_t i);

/* A voice prompt: semantic tokens and coarse/fine EnCodec codes (row-major, codebook-major). */
typedef struct bark_voice {
    int32_t *semantic;     /* [n_semantic] */
    int32_t *coarse;       /* [2][n_coarse] */
    int32_t *fine;         /* [8][n_fine] */
    size_t n_semantic, n_coarse, n_fine;
} bark_voice;

/* Copies the named voice out of the model file (free with bark_voice_free). */
BARK_NODISCARD bark_status bark_model_voice(const bark_model *m, const char *name, bark_voice *out,
                                            bark_error *err);
/* Reads a Suno .npz voice preset (semantic_prompt, coarse_prompt, fine_prompt). */
BARK_NODISCARD bark_status bark_voice_load_npz(const char *path, bark_voice *out, bark_error *err);
void bark_voice_free(bark_voice *v); /* accepts NULL and zeroed voices */

/* ---- conversion of real checkpoints to one GGUF (apart from the runtime) ---- */

typedef enum bark_wtype { BARK_WTYPE_F32 = 0, BARK_WTYPE_F16 = 1, BARK_WTYPE_Q8_0 = 8 } bark_wtype;

typedef struct bark_convert_params {
    bark_wtype wtype;        /* default BARK_WTYPE_Q8_0 */
    const char *vocab_path;  /* vocab.txt when no source folder carries one; may be NULL */
    int verbose;
} bark_convert_params;

bark_convert_params bark_convert_default_params(void);

/* Reads every source (HF folder, Suno .pt, EnCodec .th, .npz voice or folder of them) and
 * writes one GGUF to out_path (via a temporary file, so a failure leaves nothing behind). */
BARK_NODISCARD bark_status bark_convert(const char *const *sources, size_t n_sources, const char *out_path,
                                        const bark_convert_params *p, bark_error *err);

#ifdef __cplusplus
}
#endif
#endif
