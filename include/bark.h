/* bark.h: the one public header of libbark (Bark text-to-speech on the CPU). */
#ifndef BARK_H
#define BARK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BARK_VERSION "0.3.0"
#define BARK_VERSION_MAJOR 0 /* the shared library's soname: libbark.so.0 */

/* BARK_API marks what the shared library exports (libbark is compiled with -fvisibility=hidden). */
#if defined(__GNUC__)
#define BARK_API __attribute__((visibility("default")))
#define BARK_NODISCARD __attribute__((warn_unused_result))
#else
#define BARK_API
#define BARK_NODISCARD
#endif

/* Threads: a bark_model and a bark_context are read-only once opened: any number of threads may use one at once.
 * Each call runs on the caller's thread with a pool of worker threads of its own. Environment: nothing in libbark
 * reads it; the `bark` command maps BARK_MODEL, BARK_THREADS, BARK_ISA and BARK_GEMM onto the parameters below. */

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

BARK_API const char *bark_status_str(bark_status s);

/* ---- model files (one mmap'd GGUF holding every stage, the vocab and the voices) ---- */

typedef struct bark_model bark_model;

/* Maps `path` read-only and validates every header field and tensor before returning. */
BARK_API BARK_NODISCARD bark_status bark_model_open(const char *path, bark_model **out, bark_error *err);
BARK_API void bark_model_close(bark_model *m); /* accepts NULL */

typedef enum bark_stage {
    BARK_STAGE_SEMANTIC = 0,
    BARK_STAGE_COARSE = 1,
    BARK_STAGE_FINE = 2,
    BARK_STAGE_CODEC = 3,
    BARK_STAGE_COUNT = 4
} bark_stage;

BARK_API const char *bark_stage_name(bark_stage s);
BARK_API int bark_model_has_stage(const bark_model *m, bark_stage s);

/* Hyper-parameters of one GPT stage, as recorded in the file. */
typedef struct bark_gpt_hparams {
    int n_layer, n_head, n_embd, block_size;
    int input_vocab, output_vocab;
    int n_codes_total, n_codes_given; /* fine stage only; 0 elsewhere */
    int has_bias;                     /* Linear layers carry biases */
    int ln_bias;                      /* LayerNorms carry biases */
} bark_gpt_hparams;

BARK_API BARK_NODISCARD bark_status bark_model_gpt_hparams(const bark_model *m, bark_stage s,
                                                           bark_gpt_hparams *out, bark_error *err);

/* The tensor table, for `bark info` and tools. */
typedef struct bark_tensor_info {
    const char *name; /* NUL-terminated copy owned by the model */
    const char *type; /* "f32", "f16", "q8_0", "i32", ... */
    int n_dims;
    int64_t ne[4];    /* GGUF order: ne[0] varies fastest */
    size_t nbytes;
} bark_tensor_info;

BARK_API size_t bark_model_tensor_count(const bark_model *m);
BARK_API BARK_NODISCARD bark_status bark_model_tensor_info(const bark_model *m, size_t i, bark_tensor_info *out);
BARK_API size_t bark_model_file_size(const bark_model *m);

/* Named voices embedded in the model file ("v2/en_speaker_6", ...). */
BARK_API size_t bark_model_voice_count(const bark_model *m);
BARK_API const char *bark_model_voice_name(const bark_model *m, size_t i);
/* Whether the model file holds the voice named name. */
BARK_API int bark_model_has_voice(const bark_model *m, const char *name);

/* A voice prompt: semantic tokens and coarse/fine EnCodec codes (row-major, codebook-major). */
typedef struct bark_voice {
    int32_t *semantic;     /* [n_semantic] */
    int32_t *coarse;       /* [2][n_coarse] */
    int32_t *fine;         /* [8][n_fine] */
    size_t n_semantic, n_coarse, n_fine;
} bark_voice;

/* Copies the named voice out of the model file (free with bark_voice_free). */
BARK_API BARK_NODISCARD bark_status bark_model_voice(const bark_model *m, const char *name, bark_voice *out,
                                                     bark_error *err);
/* Reads a Suno .npz voice preset (semantic_prompt, coarse_prompt, fine_prompt). */
BARK_API BARK_NODISCARD bark_status bark_voice_load_npz(const char *path, bark_voice *out, bark_error *err);
BARK_API void bark_voice_free(bark_voice *v); /* accepts NULL and zeroed voices */

/* ---- conversion of real checkpoints to one GGUF (apart from the runtime) ---- */

/* The GPT stages' matrices as f32, f16, q8_0 or q4_0 (4-bit: the transformer blocks' Linear weights only; their
 * embeddings and heads, and HuBERT's matrices, stay q8_0). EnCodec is f16 unless f32 is asked. Q8_0_ATTN_F16 is q8_0
 * with each block's attention input matrix (c_attn: queries, keys, values) kept f16: on sharply peaked attention,
 * q8_0's rounding of the query and key weights alone can swap two near-equal top scores (README, numerics). */
typedef enum bark_wtype {
    BARK_WTYPE_F32 = 0,
    BARK_WTYPE_F16 = 1,
    BARK_WTYPE_Q4_0 = 2,
    BARK_WTYPE_Q8_0 = 8,
    BARK_WTYPE_Q8_0_ATTN_F16 = 9
} bark_wtype;

typedef struct bark_convert_params {
    bark_wtype wtype;        /* default BARK_WTYPE_Q8_0 */
    const char *vocab_path;  /* vocab.txt when no source folder carries one; may be NULL */
    int verbose;
} bark_convert_params;

BARK_API bark_convert_params bark_convert_default_params(void);

/* A random-weight model at Bark's real shapes, for benchmarks and load tests: shape "bark-small" (12 layers, width
 * 768) or "bark" (24 layers, width 1024), the real vocab sizes and EnCodec 24 kHz; vocab_path (mBERT vocab.txt) and
 * voices_dir (Suno .npz presets) may be NULL, but `say` needs the vocab. */
BARK_API BARK_NODISCARD bark_status bark_write_random_model(const char *out_path, const char *shape, bark_wtype wtype,
                                                            uint64_t seed, const char *vocab_path,
                                                            const char *voices_dir, bark_error *err);

/* Reads every source (HF folder, Suno .pt, EnCodec .th, .npz voice or folder of them) and
 * writes one GGUF to out_path (via a temporary file, so a failure leaves nothing behind). */
BARK_API BARK_NODISCARD bark_status bark_convert(const char *const *sources, size_t n_sources, const char *out_path,
                                                 const bark_convert_params *p, bark_error *err);


/* ---- synthesis: text -> 24 kHz mono PCM, delivered as it is made ---- */

#define BARK_SAMPLE_RATE_HZ 24000

/* A model file opened with everything speaking needs: the model, its tokenizer and the EnCodec decoder. Read-only
 * once open (share it between threads). The stages a call needs are checked by that call, so a file holding only
 * EnCodec opens too (for bark_codes_to_audio / bark_audio_to_codes). */
typedef struct bark_context bark_context;

BARK_API BARK_NODISCARD bark_status bark_context_open(const char *model_path, bark_context **out, bark_error *err);
BARK_API void bark_context_free(bark_context *ctx); /* accepts NULL */
BARK_API const bark_model *bark_context_model(const bark_context *ctx);

/* The CPUs this process may run on: its affinity mask, capped by a cgroup CPU quota where one is set (>= 1). The
 * default thread count, and the most a call uses (more is clamped to it; see bark_synth_result.n_threads). */
BARK_API int bark_cpu_count(void);

/* Samples ready to play: n values in [-1, 1] (rarely beyond; sinks clip). A nonzero return stops the synthesis
 * (BARK_ERR_INTERRUPTED). Called from a thread of the synthesis, never two at once, in order. */
typedef int (*bark_audio_fn)(void *user, const float *pcm, size_t n);

/* Where a synthesis is. The semantic stage's total is an estimate from the text's length (it ends when the model
 * says so); coarse and fine totals are exact. */
typedef struct bark_progress_info {
    size_t piece, n_pieces;   /* the piece being generated (0-based) of the text's pieces */
    bark_stage stage;         /* BARK_STAGE_SEMANTIC, _COARSE or _FINE */
    size_t done, total;       /* tokens (semantic, coarse) or codebook passes (fine) of this piece and stage */
    double audio_seconds;     /* audio generated so far, all pieces */
    double elapsed_seconds;   /* since the call began */
} bark_progress_info;
/* Called on the caller's thread as generation advances (the pieces' latest steps, at least every 50 ms while they
 * run); a nonzero return stops the synthesis. */
typedef int (*bark_progress_fn)(void *user, const bark_progress_info *info);
/* Polled on the caller's thread between steps; nonzero stops the synthesis (e.g. a flag a signal handler sets). */
typedef int (*bark_abort_fn)(void *user);

/* How a matrix product over many positions runs with q8_0 or q4_0 weights (prefills, the fine stage). */
typedef enum bark_gemm {
    BARK_GEMM_AUTO = 0, /* the faster one on this CPU: int8 with AVX512-VNNI, else sgemm */
    BARK_GEMM_INT8,     /* q8_0 (q4_0 as q8_0) x int8 kernels: the same bits on every CPU and thread count */
    BARK_GEMM_SGEMM     /* dequantized weights and OpenBLAS sgemm: the same bits for every thread count */
} bark_gemm;

/* When on_audio hears of a piece, for a sink that plays in real time (a sound card). */
typedef enum bark_pacing {
    BARK_PACE_NONE = 0, /* as soon as it is decoded (files, pipes, callers that buffer) */
    BARK_PACE_PIECE,    /* hold each piece back until the rest of it will be ready before playback gets there */
    BARK_PACE_NO_GAPS   /* hold the start back until all of the text can play without a break */
} bark_pacing;

typedef struct bark_synth_params {
    const char *voice;              /* a voice stored in the model ("v2/en_speaker_6"), in voices_dir, or a Suno
                                       .npz path; NULL */
    const bark_voice *voice_prompt; /* an in-memory prompt (bark_clone_file, bark_voice_load_npz); wins over voice */
    uint64_t seed;                  /* same model, text, voice, seed and parameters: the same samples (piece k of a
                                       long text draws from a stream of its own, seeded by seed and k) */
    float text_temp;                /* semantic temperature, 0.7 */
    float waveform_temp;            /* coarse temperature, 0.7 */
    float fine_temp;                /* fine temperature, 0.5 */
    int top_k;                      /* semantic and coarse top-k; 0: off */
    float top_p;                    /* semantic and coarse top-p in (0, 1]; negative: off */
    float min_eos_p;                /* stop once the end-of-speech probability reaches it (0.2); negative: off */
    double max_seconds;             /* stop the semantic stage after this much speech; <= 0: off */
    int greedy;                     /* 1: the most likely token everywhere instead of sampling */
    size_t max_piece;               /* texts longer than this many bytes are said piece by piece (200); 0: one piece */
    int n_threads;                  /* 0: bark_cpu_count(); more than that is clamped to it */
    const char *isa;                /* kernels: NULL or "auto" for the best this CPU has, or "c", "avx2", "avx512",
                                       "neon" (BARK_ERR_UNSUPPORTED if this CPU lacks it) */
    bark_gemm gemm;                 /* BARK_GEMM_AUTO */
    bark_pacing pacing;             /* BARK_PACE_NONE */
    bark_audio_fn on_audio;         /* NULL: the audio is made and dropped (timing runs) */
    void *audio_user;
    bark_progress_fn on_progress;   /* NULL: no reports */
    void *progress_user;
    bark_abort_fn should_abort;     /* NULL: never */
    void *abort_user;
    const char *voices_dir;         /* NULL; else a voice store's folder: voice names are looked up there first
                                       (bark_voice_find) */
    const char *style;              /* NULL; else a speaking style's name (bark_style_find): its cues around the text */
} bark_synth_params;

/* Suno's defaults (bark.api.generate_audio), seed 0, every CPU. */
BARK_API bark_synth_params bark_synth_default_params(void);

typedef struct bark_synth_result {
    size_t n_pieces;        /* pieces the text was said in */
    size_t frames;          /* EnCodec frames generated (75 per second) */
    uint64_t samples;       /* samples handed to on_audio */
    int n_threads;          /* threads used (after clamping) */
    const char *isa;        /* the kernel table used ("avx512", ...) */
    double audio_seconds;
    double first_audio_seconds; /* from the call to the first on_audio; < 0 if there was none */
    double generation_seconds;  /* until the last code was generated */
    double total_seconds;       /* until the call returned */
    double real_time_factor;    /* generation_seconds / audio_seconds */
} bark_synth_result;

/* Says text (UTF-8) through p->on_audio as each fine window is decoded. A text longer than max_piece is cut at
 * sentence or clause ends, the first piece again at its first sentence or clause (audio starts sooner); the next
 * pieces are generated while it plays, one at a time (bark_engine_synthesize on an engine of max_batch > 1 generates
 * them together, batched: the same samples). With no voice, every later piece speaks in the voice the first one
 * made. result may be NULL. Returns BARK_ERR_INTERRUPTED when a callback stopped it (the audio delivered so far is
 * whole). */
BARK_API BARK_NODISCARD bark_status bark_synthesize(const bark_context *ctx, const char *text,
                                                    const bark_synth_params *p, bark_synth_result *result,
                                                    bark_error *err);

/* ---- speaking styles: text cues Bark learned from its training data, around the text ---- */

/* Bark reads a few cues in the text: [laughter], [laughs], [sighs], [music], [gasps], [clears throat], "..." or
 * "—" for hesitation, CAPITALS for emphasis, ♪ around song lyrics, [MAN]/[WOMAN] or "MAN:"/"WOMAN:" to bias the
 * speaker. A style is a named pair of them, put before and after the whole text (before it is cut into pieces: a
 * prefix cues the first piece, a suffix the last). Cues are hints Bark may ignore, more so with a voice prompt. */
typedef struct bark_style {
    const char *name;        /* "cheerful" */
    const char *prefix;      /* put before the text ("[laughs] ") */
    const char *suffix;      /* put after it ("" or " ♪") */
    const char *description; /* one line, for help texts */
} bark_style;
BARK_API size_t bark_style_count(void);
BARK_API const bark_style *bark_style_at(size_t i); /* NULL past the end */
BARK_API const bark_style *bark_style_find(const char *name); /* NULL when there is none of that name */
/* prefix + text + suffix of the named style in a new string (free with bark_free); BARK_ERR_ARG for an unknown
 * name (the message lists the styles). */
BARK_API BARK_NODISCARD bark_status bark_style_apply(const char *name, const char *text, char **out, bark_error *err);

/* ---- many utterances at once: one engine, sequences advancing in shared batches ---- */

/* An engine runs the GPT stages for every synthesis given to it: the decode steps of all its sequences (the pieces of
 * long texts, the requests of several callers) advance together, each weight matrix read once per step for all of
 * them, while each sequence keeps its own KV cache and random stream. A sequence's samples are the same bits alone or
 * in any batch (on the int8 path on every ISA; on the sgemm path on one machine). bark_synthesize runs one of its own
 * per call. */
typedef struct bark_engine bark_engine;

typedef struct bark_engine_params {
    int max_batch;   /* sequences in the semantic and coarse stages at once, each with a KV cache (8); more wait */
    int n_threads;   /* 0: bark_cpu_count(); more than that is clamped to it */
    const char *isa; /* kernels, as in bark_synth_params */
    bark_gemm gemm;  /* BARK_GEMM_AUTO */
} bark_engine_params;

BARK_API bark_engine_params bark_engine_default_params(void);

/* p may be NULL (the defaults). The engine keeps ctx (which must outlive it) and allocates its buffers as they are
 * first needed, at most max_batch KV caches. */
BARK_API BARK_NODISCARD bark_status bark_engine_open(const bark_context *ctx, const bark_engine_params *p,
                                                     bark_engine **out, bark_error *err);
/* After every bark_engine_synthesize on it has returned. Accepts NULL. */
BARK_API void bark_engine_free(bark_engine *e);

/* bark_synthesize through the engine: any number of threads may call it at once, each blocking until its text is
 * said; the callbacks run on the calling thread. The threads, isa and gemm of p are ignored: the engine's hold. */
BARK_API BARK_NODISCARD bark_status bark_engine_synthesize(bark_engine *e, const char *text,
                                                           const bark_synth_params *p, bark_synth_result *result,
                                                           bark_error *err);

/* What an engine holds and has done. */
typedef struct bark_engine_stats {
    int max_batch, n_threads;
    size_t kv_bytes;        /* KV caches allocated (each sequence in the semantic or coarse stage holds one) */
    size_t scratch_bytes;   /* the stages' run buffers */
    int active;             /* sequences holding a KV cache now */
    uint64_t decode_steps;  /* batched decode steps run */
    uint64_t decode_rows;   /* sequences advanced by them (rows / steps: the mean batch) */
    uint64_t largest_batch; /* most sequences in one step */
} bark_engine_stats;
BARK_API void bark_engine_get_stats(bark_engine *e, bark_engine_stats *out);

/* ---- codes in and out (bark tokens, bark decode, bark encode) ---- */

/* Codes of one generation, row-major; free with bark_codes_free. */
typedef struct bark_codes {
    int32_t *semantic; /* [n_semantic], values 0..9999 */
    int32_t *coarse;   /* [2][n_frames] or NULL, values 0..1023 */
    int32_t *fine;     /* [8][n_frames] or NULL */
    size_t n_semantic, n_frames;
} bark_codes;
BARK_API void bark_codes_free(bark_codes *c); /* accepts NULL and zeroed codes */

/* The whole text as one generation (as Suno's generate_audio, no pieces), up to stage `last` (SEMANTIC, COARSE or
 * FINE). Uses p's voice, seed, sampling, threads, kernels and progress/abort callbacks; on_audio is not called. */
BARK_API BARK_NODISCARD bark_status bark_text_to_codes(const bark_context *ctx, const char *text,
                                                       const bark_synth_params *p, bark_stage last, bark_codes *out,
                                                       bark_error *err);

/* EnCodec codes codes[q * ld + t] (q < n_q: 2, 4, 8, 16 or 32 codebooks as the bandwidths use; t < n_frames, each
 * value below the codebook size) to 24 kHz PCM through fn, in chunks. Every code is checked before any audio is
 * made. n_q above 8 reads the extra codebooks from the model file for this call. */
BARK_API BARK_NODISCARD bark_status bark_codes_to_audio(const bark_context *ctx, const int32_t *codes, int n_q,
                                                        size_t ld, size_t n_frames, bark_audio_fn fn, void *user,
                                                        bark_error *err);

/* The EnCodec encoder as a stream (bounded memory for any length): 24 kHz mono samples in, codes out. */
typedef struct bark_encoder bark_encoder;
/* kbps: 1.5, 3, 6, 12 or 24 (2, 4, 8, 16 or 32 codebooks); needs the encoder weights in the model file. */
BARK_API BARK_NODISCARD bark_status bark_encoder_create(const bark_context *ctx, double kbps, bark_encoder **out,
                                                        bark_error *err);
BARK_API int bark_encoder_n_q(const bark_encoder *e);
/* Feeds n samples (n = 0 and last = 1 ends the stream); writes up to cap frames to codes[q * ld + j], *n_frames
 * of them. cap >= bark_encoder_max_frames(e, n) always suffices. */
BARK_API size_t bark_encoder_max_frames(const bark_encoder *e, size_t n);
BARK_API BARK_NODISCARD bark_status bark_encoder_push(bark_encoder *e, const float *pcm, size_t n, int last,
                                                      int32_t *codes, size_t ld, size_t cap, size_t *n_frames,
                                                      bark_error *err);
BARK_API void bark_encoder_free(bark_encoder *e); /* accepts NULL */

/* Integer .npy arrays of codes [rows][cols] (any integer dtype on reading, C or Fortran order; int32 written through
 * a temporary name). rows = 0 stands for a 1-D array of cols values (semantic tokens), both ways. *codes is freed
 * with bark_free. */
BARK_API BARK_NODISCARD bark_status bark_codes_load_npy(const char *path, int32_t **codes, size_t *rows, size_t *cols,
                                                        bark_error *err);
BARK_API BARK_NODISCARD bark_status bark_codes_save_npy(const char *path, const int32_t *codes, size_t rows,
                                                        size_t cols, bark_error *err);
BARK_API void bark_free(void *p); /* memory libbark handed out (accepts NULL) */

/* An int32 .npy of codes [rows][frames] written as they come, in bounded memory (Fortran order: numpy.load gives
 * [rows][frames]; the shape is written at the close). write takes n_frames frames codes[q * ld + j]. */
typedef struct bark_codes_writer bark_codes_writer;
BARK_API BARK_NODISCARD bark_status bark_codes_writer_open(const char *path, size_t rows, bark_codes_writer **out,
                                                           bark_error *err);
BARK_API BARK_NODISCARD bark_status bark_codes_writer_write(bark_codes_writer *w, const int32_t *codes, size_t ld,
                                                            size_t n_frames, bark_error *err);
/* keep = 1 finishes the file under its name; keep = 0, or an earlier failure, removes it. Frees w (NULL ok). */
BARK_API BARK_NODISCARD bark_status bark_codes_writer_close(bark_codes_writer *w, int keep, bark_error *err);

/* ---- voices a user makes ---- */

typedef struct bark_clone_params {
    double max_seconds;      /* 15: only the last max_seconds of the trimmed recording are kept (0.5..600) */
    double silence_dbfs;     /* -50: quieter 10 ms windows are trimmed at both ends */
    int n_threads;           /* 0: bark_cpu_count() (the semantic model, for a transcript) */
    const char *hubert_path; /* NULL: HuBERT and its quantizer from the model file if it holds them, else the prompt
                                holds codes only; a model file's path: from that file, and their absence fails */
    const char *transcript;  /* NULL; else what the recording says, and the semantic prompt is generated from it by
                                the semantic model instead of HuBERT (weaker: it does not carry the speaker) */
    uint64_t seed;           /* 0: the seed of the transcript's generation */
} bark_clone_params;
BARK_API bark_clone_params bark_clone_default_params(void);

/* What the recording was and what was kept. */
typedef struct bark_clone_info {
    int file_rate, file_channels;
    double file_seconds, kept_seconds, lead_trimmed, tail_trimmed;
    int cut;                  /* longer than max_seconds: its start was dropped */
    double clipped_fraction;  /* samples at |x| >= 0.999 */
    int has_semantic;         /* 0: no HuBERT and no transcript, the prompt holds codes only */
} bark_clone_info;

/* A voice prompt from a recording (any format libsndfile reads): EnCodec codes at 6 kbps and semantic tokens (from
 * HuBERT and its quantizer, or from p->transcript; see bark_clone_params). p may be NULL (the defaults), info may be
 * NULL. The models it needs beyond the context's are loaded for the call. Free out with bark_voice_free. */
BARK_API BARK_NODISCARD bark_status bark_clone_file(const bark_context *ctx, const char *path,
                                                    const bark_clone_params *p, bark_voice *out, bark_clone_info *info,
                                                    bark_error *err);
/* Writes a voice as Suno's presets are stored (semantic_prompt <i8 [n], coarse_prompt <i8 [2][T], fine_prompt
 * <i4 [8][T]); through a temporary file, so a failure leaves nothing. */
BARK_API BARK_NODISCARD bark_status bark_voice_save_npz(const bark_voice *v, const char *path, bark_error *err);

/* ---- the user's voice library: a folder of NAME.npz prompts, each beside NAME.json saying how it was made ---- */

/* A user voice's name: 1 to 64 of [A-Za-z0-9_.-], not starting with '.' or '-' (flat: no '/', so never a path or a
 * Suno "v2/..." model name). BARK_ERR_ARG with the reason otherwise. */
#define BARK_VOICE_NAME_MAX 64
BARK_API BARK_NODISCARD bark_status bark_voice_name_check(const char *name, bark_error *err);

/* How a stored voice was made. */
typedef struct bark_voice_origin {
    char method[16];        /* "hubert", "transcript" (weaker), "codes-only" (no semantic model), "npz-import"; ""
                               when the voice has no record */
    char source[128];       /* the source file's base name */
    char source_sha256[65]; /* the source file's SHA-256, lowercase hex */
    double source_seconds;  /* the recording's length (0 for an import) */
    double kept_seconds;    /* the sound kept in the prompt (0 for an import) */
    char created[32];       /* UTC, "2026-01-31T12:00:00Z"; bark_voice_store_add fills it when empty */
} bark_voice_origin;

/* The voices of one folder, as listed when opened (and after each add or remove through it). Every change is atomic
 * (written under a temporary name, then renamed): a failure leaves the folder as it was. Not for several threads at
 * once; several stores (processes) may use one folder. */
typedef struct bark_voice_store bark_voice_store;

/* create = 1 makes the folder (and its parents, mode 0700) if missing; create = 0 lists a missing folder as empty. */
BARK_API BARK_NODISCARD bark_status bark_voice_store_open(const char *dir, int create, bark_voice_store **out,
                                                          bark_error *err);
BARK_API void bark_voice_store_close(bark_voice_store *s); /* accepts NULL */
BARK_API const char *bark_voice_store_dir(const bark_voice_store *s);
BARK_API size_t bark_voice_store_count(const bark_voice_store *s);
BARK_API const char *bark_voice_store_name(const bark_voice_store *s, size_t i); /* sorted by name */
BARK_API int bark_voice_store_has(const bark_voice_store *s, const char *name);
/* The voice's record; a voice stored without one (copied in by hand) gets an empty method, not an error. */
BARK_API BARK_NODISCARD bark_status bark_voice_store_origin(const bark_voice_store *s, const char *name,
                                                            bark_voice_origin *out, bark_error *err);
BARK_API BARK_NODISCARD bark_status bark_voice_store_load(const bark_voice_store *s, const char *name,
                                                          bark_voice *out, bark_error *err);
/* Stores v under name with its origin (may be NULL). replace = 0 refuses a name the folder holds already. */
BARK_API BARK_NODISCARD bark_status bark_voice_store_add(bark_voice_store *s, const char *name, const bark_voice *v,
                                                         const bark_voice_origin *origin, int replace,
                                                         bark_error *err);
BARK_API BARK_NODISCARD bark_status bark_voice_store_remove(bark_voice_store *s, const char *name, bark_error *err);
/* Writes the voice as a Suno .npz at path (bark_voice_save_npz). */
BARK_API BARK_NODISCARD bark_status bark_voice_store_export(const bark_voice_store *s, const char *name,
                                                            const char *path, bark_error *err);

/* A voice and its origin from a recording (bark_clone_file; p may be NULL), refusing first, from the file's header,
 * a file of no samples or longer than max_file_seconds (> 0; a recording is read whole, so bound it). */
BARK_API BARK_NODISCARD bark_status bark_voice_from_recording(const bark_context *ctx, const char *path,
                                                              const bark_clone_params *p, double max_file_seconds,
                                                              bark_voice *out, bark_voice_origin *origin,
                                                              bark_clone_info *info, bark_error *err);
/* A voice and its origin from a Suno .npz (bark_voice_load_npz). */
BARK_API BARK_NODISCARD bark_status bark_voice_from_npz(const char *path, bark_voice *out, bark_voice_origin *origin,
                                                        bark_error *err);

/* The voice a user names: a path ending in .npz is read from that file; else a voice of the store in voices_dir
 * (when not NULL) of that name, else the model file's voice of that name. A user voice comes first, but it can
 * carry a model voice's name only when added with replace over the model's list (`bark voices add --force`). */
/* 1 when name ends in ".npz" (bark_voice_find reads it as a file), else 0. */
BARK_API int bark_voice_is_npz_path(const char *name);
BARK_API BARK_NODISCARD bark_status bark_voice_find(const bark_model *m, const char *voices_dir, const char *name,
                                                    bark_voice *out, bark_error *err);

/* ---- audio files (libsndfile) ---- */

/* A mono file at `rate`, the format from the extension: .wav or .flac (16-bit), .ogg or .oga (Vorbis), .opus (Ogg
 * Opus: 8, 12, 16, 24 or 48 kHz), .mp3 (where libsndfile, 1.1 on, writes them), or .npy (float32, the samples as given); "-" is 16-bit WAV on stdout. Files carry the software name and a comment marking
 * the audio as synthetic speech. A named file is written under a temporary name and appears at the close. */
typedef struct bark_audio_writer bark_audio_writer;
BARK_API BARK_NODISCARD bark_status bark_audio_writer_open(const char *path, int rate, bark_audio_writer **out,
                                                           bark_error *err);
BARK_API BARK_NODISCARD bark_status bark_audio_writer_write(bark_audio_writer *w, const float *pcm, size_t n,
                                                            bark_error *err);
/* keep = 1 finishes the file with a valid header (after a stop too); keep = 0, or an earlier failed write, removes
 * it. Frees w (NULL ok); err may be NULL. */
BARK_API BARK_NODISCARD bark_status bark_audio_writer_close(bark_audio_writer *w, int keep, bark_error *err);

/* The writers' float -> 16-bit conversion: clipped to [-1, 1], times 32767, rounded to nearest even; NaN is 0. */
BARK_API void bark_audio_to_s16(const float *pcm, size_t n, int16_t *out);

/* Any file libsndfile reads, mixed down to mono and resampled to `rate`, in bounded blocks. */
typedef struct bark_audio_reader bark_audio_reader;
BARK_API BARK_NODISCARD bark_status bark_audio_reader_open(const char *path, int rate, bark_audio_reader **out,
                                                           bark_error *err);
/* Up to cap samples; *n = 0 only at the end. */
BARK_API BARK_NODISCARD bark_status bark_audio_reader_read(bark_audio_reader *r, float *pcm, size_t cap, size_t *n,
                                                           bark_error *err);
/* The file's own sample rate and channel count. */
BARK_API void bark_audio_reader_format(const bark_audio_reader *r, int *rate, int *channels);
BARK_API void bark_audio_reader_close(bark_audio_reader *r); /* accepts NULL */

#ifdef __cplusplus
}
#endif
#endif
