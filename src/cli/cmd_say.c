/* cmd_say.c: `bark say`: text -> semantic -> coarse -> fine -> EnCodec -> WAV (and the runner `bark tokens` shares). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "encodec.h"
#include "error.h"
#include "generate.h"
#include "tokenizer.h"

/* Everything the command line decides. */
typedef struct say_opts {
    const char *model, *voice, *output, *dump;
    char *text;             /* the positional words joined by spaces (owned) */
    bark_gen_params gen;
    uint64_t seed;
    int have_seed, greedy, quiet;
} say_opts;

static void usage(const char *cmd, int audio) {
    printf("usage: bark %s [options] TEXT...\n"
           "  -m, --model FILE         model file (default $BARK_MODEL or models/bark-small.gguf)\n"
           "  -v, --voice NAME|FILE    voice: a name stored in the model (bark info lists them) or a Suno .npz\n",
           cmd);
    if (audio) printf("  -o, --output FILE        WAV file to write (default bark.wav; 16-bit mono 24 kHz)\n");
    else printf("      --stage S            last stage to run: semantic, coarse or fine (default fine)\n");
    printf("  -s, --seed N             random seed (default: from the clock; printed so a run can be repeated)\n"
           "      --text-temp T        semantic temperature (0.7)\n"
           "      --waveform-temp T    coarse temperature (0.7)\n"
           "      --fine-temp T        fine temperature (0.5)\n"
           "      --top-k K            semantic and coarse top-k (off)\n"
           "      --top-p P            semantic and coarse top-p (off)\n"
           "      --min-eos-p P        stop once the end-of-speech probability reaches P (0.2; negative: off)\n"
           "      --max-seconds S      stop the semantic stage after S seconds of speech (off)\n"
           "      --greedy             take the most likely token everywhere instead of sampling\n"
           "  -d, --dump DIR           write semantic.npy, coarse.npy, fine.npy%s into DIR\n"
           "  -q, --quiet              no progress messages\n",
           audio ? " and audio.npy" : "");
}

static int parse_num(const char *cmd, const char *opt, const char *s, double *out) {
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    if (errno || end == s || *end || isnan(*out)) {
        fprintf(stderr, "bark %s: %s needs a number, got '%s'\n", cmd, opt, s);
        return -1;
    }
    return 0;
}

/* Fills o from argv; returns 0, or the exit status to return (help: 0 printed; error: 2). */
static int parse(int argc, char **argv, const char *cmd, int audio, say_opts *o, int *done) {
    memset(o, 0, sizeof *o);
    o->gen = bark_gen_default_params();
    o->output = "bark.wav";
    *done = 0;
    size_t text_len = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        double x;
        int takes = 1;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(cmd, audio);
            *done = 1;
            return 0;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            o->quiet = 1, takes = 0;
        } else if (!strcmp(a, "--greedy")) {
            o->greedy = 1, takes = 0;
        } else if (a[0] != '-' || !strcmp(a, "-")) {
            size_t l = strlen(a);
            char *t = realloc(o->text, text_len + l + 2);
            if (!t) return 2;
            o->text = t;
            if (text_len) t[text_len++] = ' ';
            memcpy(t + text_len, a, l + 1);
            text_len += l;
            takes = 0;
        } else if (!v) {
            fprintf(stderr, "bark %s: option '%s' needs a value (or is unknown; see --help)\n", cmd, a);
            return 2;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            o->model = v;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--voice")) {
            o->voice = v;
        } else if (audio && (!strcmp(a, "-o") || !strcmp(a, "--output"))) {
            o->output = v;
        } else if (!strcmp(a, "-d") || !strcmp(a, "--dump")) {
            o->dump = v;
        } else if (!audio && !strcmp(a, "--stage")) {
            if (!strcmp(v, "semantic")) o->gen.last = BARK_STAGE_SEMANTIC;
            else if (!strcmp(v, "coarse")) o->gen.last = BARK_STAGE_COARSE;
            else if (!strcmp(v, "fine")) o->gen.last = BARK_STAGE_FINE;
            else {
                fprintf(stderr, "bark %s: --stage is semantic, coarse or fine, not '%s'\n", cmd, v);
                return 2;
            }
        } else {
            if (parse_num(cmd, a, v, &x)) return 2;
            if (!strcmp(a, "-s") || !strcmp(a, "--seed")) {
                if (x < 0 || x != floor(x) || x > 18446744073709551615.0) {
                    fprintf(stderr, "bark %s: the seed is a whole number >= 0\n", cmd);
                    return 2;
                }
                o->seed = (uint64_t)x, o->have_seed = 1;
            } else if (!strcmp(a, "--text-temp")) {
                o->gen.semantic.sample.temp = (float)x;
            } else if (!strcmp(a, "--waveform-temp")) {
                o->gen.coarse.sample.temp = (float)x;
            } else if (!strcmp(a, "--fine-temp")) {
                o->gen.fine.sample.temp = (float)x;
            } else if (!strcmp(a, "--top-k")) {
                if (x < 0 || x > 1e9 || x != floor(x)) {
                    fprintf(stderr, "bark %s: --top-k is a whole number >= 0 (0: off)\n", cmd);
                    return 2;
                }
                o->gen.semantic.sample.top_k = o->gen.coarse.sample.top_k = (int)x;
            } else if (!strcmp(a, "--top-p")) {
                o->gen.semantic.sample.top_p = o->gen.coarse.sample.top_p = (float)x;
            } else if (!strcmp(a, "--min-eos-p")) {
                o->gen.semantic.min_eos_p = (float)x;
            } else if (!strcmp(a, "--max-seconds")) {
                o->gen.semantic.max_gen_duration_s = x;
            } else {
                fprintf(stderr, "bark %s: unknown option '%s' (see --help)\n", cmd, a);
                return 2;
            }
        }
        i += takes;
    }
    if (!o->text) {
        fprintf(stderr, "bark %s: no text given (usage: bark %s [options] TEXT...)\n", cmd, cmd);
        return 2;
    }
    o->gen.semantic.sample.greedy = o->gen.coarse.sample.greedy = o->gen.fine.sample.greedy = o->greedy;
    if (!o->have_seed) o->seed = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
    return 0;
}

/* Writes an NPY v1.0 file of int32 ('<i4') or float32 ('<f4') data with 1 or 2 dimensions. */
static bark_status write_npy(const char *dir, const char *name, const void *data, int is_float, size_t rows,
                             size_t cols, bark_error *err) {
    char path[4096], head[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int hl = rows ? snprintf(head, sizeof head, "{'descr': '<%s', 'fortran_order': False, 'shape': (%zu, %zu), }",
                             is_float ? "f4" : "i4", rows, cols)
                  : snprintf(head, sizeof head, "{'descr': '<%s', 'fortran_order': False, 'shape': (%zu,), }",
                             is_float ? "f4" : "i4", cols);
    size_t total = 10 + (size_t)hl + 1, pad = (64 - total % 64) % 64;
    FILE *f = fopen(path, "wb");
    if (!f) return bark_fail(err, BARK_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    uint16_t hlen = (uint16_t)(hl + pad + 1);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    size_t n = (rows ? rows : 1) * cols;
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(head, 1, (size_t)hl, f) == (size_t)hl;
    for (size_t i = 0; ok && i < pad; i++) ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF && fwrite(data, 4, n, f) == n; /* little-endian hosts only */
    if (fclose(f) != 0) ok = 0;
    return ok ? BARK_OK : bark_fail(err, BARK_ERR_IO, "%s: write failed: %s", path, strerror(errno));
}

static void put16(unsigned char *p, unsigned v) { p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8); }
static void put32(unsigned char *p, uint32_t v) { put16(p, v & 0xffff), put16(p + 2, v >> 16); }

/* 16-bit PCM mono WAV; samples are clipped to [-1, 1] and rounded. */
static bark_status write_wav(const char *path, const float *x, size_t n, bark_error *err) {
    if (n > (0xffffffffu - 44) / 2)
        return bark_fail(err, BARK_ERR_ARG, "%s: %zu samples are too many for WAV", path, n);
    unsigned char h[44];
    memcpy(h, "RIFF", 4), put32(h + 4, (uint32_t)(36 + 2 * n)), memcpy(h + 8, "WAVEfmt ", 8);
    put32(h + 16, 16), put16(h + 20, 1), put16(h + 22, 1), put32(h + 24, BARK_SAMPLE_RATE);
    put32(h + 28, BARK_SAMPLE_RATE * 2), put16(h + 32, 2), put16(h + 34, 16), memcpy(h + 36, "data", 4);
    put32(h + 40, (uint32_t)(2 * n));
    FILE *f = fopen(path, "wb");
    if (!f) return bark_fail(err, BARK_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    int ok = fwrite(h, 1, 44, f) == 44;
    for (size_t i = 0; ok && i < n; i++) {
        float v = x[i] > 1.0f ? 1.0f : x[i] < -1.0f ? -1.0f : x[i];
        long s = lrintf(v * 32767.0f);
        unsigned char b[2];
        put16(b, (unsigned)(s & 0xffff));
        ok = fwrite(b, 1, 2, f) == 2;
    }
    if (fclose(f) != 0) ok = 0;
    return ok ? BARK_OK : bark_fail(err, BARK_ERR_IO, "%s: write failed: %s", path, strerror(errno));
}

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

/* One status line on stderr, rewritten in place; stops generation after Ctrl-C. */
static int show_progress(void *user, bark_stage stage, size_t done, size_t total) {
    if (!*(const int *)user) {
        if (stage == BARK_STAGE_SEMANTIC) fprintf(stderr, "\rsemantic %zu tokens   ", done);
        else fprintf(stderr, "\r%-8s %3d%%          ", bark_stage_name(stage), (int)(100 * done / (total ? total : 1)));
        if (stage == BARK_STAGE_FINE && done == total) fputc('\n', stderr);
    }
    return interrupted != 0;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void print_codes(const char *what, const int32_t *c, size_t rows, size_t n) {
    for (size_t r = 0; r < rows; r++) {
        printf("%s", what);
        if (rows > 1) printf("[%zu]", r);
        printf(":");
        for (size_t t = 0; t < n; t++) printf(" %d", (int)c[r * n + t]);
        printf("\n");
    }
}

/* The text block with Suno's warning when the text is cut. */
static bark_status text_block(const bark_model *m, const char *text, int quiet, int32_t ids[256], bark_error *err) {
    const char *const *tok;
    const uint32_t *len;
    size_t n = bark_model_vocab(m, &tok, &len), n_text, n_all = 0;
    if (n == 0) return bark_fail(err, BARK_ERR_MISSING, "%s: the model file has no vocabulary", bark_model_path(m));
    bark_tokenizer *t;
    bark_status st = bark_tokenizer_create(tok, len, n, &t, err);
    int truncated = 0;
    if (!st) st = bark_text_to_semantic_input(t, text, strlen(text), ids, &n_text, &truncated, err);
    if (!st && truncated) {
        bark_error e2;
        if (bark_tokenize(t, text, strlen(text), NULL, 0, &n_all, &e2) == BARK_ERR_ARG && !quiet && n_all > 256)
            fprintf(stderr, "warning: text too long (%zu tokens), cutting off the last %.1f%%\n", n_all,
                    100.0 * (double)(n_all - 256) / (double)n_all);
    }
    bark_tokenizer_free(t);
    return st;
}

/* Runs a whole `bark say` (audio = 1) or `bark tokens` (audio = 0) command. */
int cli_run_generation(int argc, char **argv, const char *cmd, int audio) {
    say_opts o;
    int done, rc = parse(argc, argv, cmd, audio, &o, &done);
    if (rc || done) {
        free(o.text);
        return rc;
    }
    bark_error err = {BARK_OK, ""};
    bark_model *m = cli_open_model(cmd, o.model);
    bark_voice voice = {0};
    bark_codes codes = {0};
    encodec_model codec;
    float *pcm = NULL;
    memset(&codec, 0, sizeof codec);
    int32_t ids[256];
    bark_status st = m ? BARK_OK : BARK_ERR_IO;
    if (!m) goto out;
    /* every stage needed must be there before any time is spent */
    for (int s = 0; s <= (audio ? BARK_STAGE_CODEC : (int)o.gen.last) && !st; s++)
        if (!bark_model_has_stage(m, (bark_stage)s))
            st = bark_fail(&err, BARK_ERR_MISSING, "%s: the model file has no %s stage", bark_model_path(m),
                           bark_stage_name((bark_stage)s));
    if (!st && o.voice) {
        size_t l = strlen(o.voice);
        st = l > 4 && !strcmp(o.voice + l - 4, ".npz") ? bark_voice_load_npz(o.voice, &voice, &err)
                                                        : bark_model_voice(m, o.voice, &voice, &err);
    }
    if (!st) st = text_block(m, o.text, o.quiet, ids, &err);
    if (st) goto out;
    if (!o.quiet) fprintf(stderr, "seed %llu%s\n", (unsigned long long)o.seed, o.greedy ? " (greedy)" : "");
    bark_rng rng;
    bark_rng_seed(&rng, o.seed);
    bark_progress prog = {show_progress, &o.quiet};
    o.gen.semantic.progress = o.gen.coarse.progress = o.gen.fine.progress = prog;
    interrupted = 0;
    void (*old_handler)(int) = signal(SIGINT, on_sigint);
    double t0 = now();
    st = bark_generate_codes(m, ids, o.voice ? &voice : NULL, &o.gen, &rng, &codes, &err);
    signal(SIGINT, old_handler == SIG_ERR ? SIG_DFL : old_handler);
    if (!o.quiet && (st || o.gen.last != BARK_STAGE_FINE)) fputc('\n', stderr);
    if (st) goto out;
    double t1 = now();
    if (!o.quiet)
        fprintf(stderr, "%zu semantic tokens, %zu frames (%.2f s of audio) in %.2f s\n", codes.n_semantic,
                codes.n_frames, codes.n_frames / (double)BARK_COARSE_RATE_HZ, t1 - t0);
    size_t n_pcm = 0;
    if (audio) {
        if ((st = encodec_load(m, &codec, &err))) goto out;
        n_pcm = codes.n_frames * (size_t)codec.hop;
        pcm = malloc((n_pcm ? n_pcm : 1) * sizeof *pcm);
        if (!pcm) {
            st = bark_fail(&err, BARK_ERR_NOMEM, "out of memory for %zu samples", n_pcm);
            goto out;
        }
        if ((st = encodec_decode(&codec, codes.fine, 8, codes.n_frames, pcm, &err))) goto out;
        if (!o.quiet) fprintf(stderr, "decoded in %.2f s\n", now() - t1);
        if ((st = write_wav(o.output, pcm, n_pcm, &err))) goto out;
        if (!o.quiet) fprintf(stderr, "wrote %s\n", o.output);
    } else {
        print_codes("semantic", codes.semantic, 1, codes.n_semantic);
        if (codes.coarse) print_codes("coarse", codes.coarse, 2, codes.n_frames);
        if (codes.fine) print_codes("fine", codes.fine, 8, codes.n_frames);
    }
    if (o.dump) {
        if (mkdir(o.dump, 0777) != 0 && errno != EEXIST) {
            st = bark_fail(&err, BARK_ERR_IO, "%s: cannot create the dump folder: %s", o.dump, strerror(errno));
            goto out;
        }
        st = write_npy(o.dump, "semantic.npy", codes.semantic, 0, 0, codes.n_semantic, &err);
        if (!st && codes.coarse) st = write_npy(o.dump, "coarse.npy", codes.coarse, 0, 2, codes.n_frames, &err);
        if (!st && codes.fine) st = write_npy(o.dump, "fine.npy", codes.fine, 0, 8, codes.n_frames, &err);
        if (!st && pcm) st = write_npy(o.dump, "audio.npy", pcm, 1, 0, n_pcm, &err);
    }
out:
    if (st && m) cli_fail(cmd, &err);
    free(pcm);
    encodec_free(&codec);
    bark_codes_free(&codes);
    bark_voice_free(&voice);
    bark_model_close(m);
    free(o.text);
    return st ? 1 : 0;
}

int cmd_say(int argc, char **argv) { return cli_run_generation(argc, argv, "say", 1); }
