/* bench_clone.c: time to clone a reference recording at the real shapes (HuBERT base, quantizer v1, EnCodec
 * 24 kHz; random weights), with the HuBERT / quantizer / EnCodec parts timed on their own. */
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clone/clone.h"
#include "convert/convert_hubert.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double rss_mb(void) {
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        fclose(f);
    }
    return resident * (double)sysconf(_SC_PAGESIZE) / 1e6;
}

static uint64_t g_state = 42;

/* Adds a random f32 tensor of torch shape d[0..n) (uniform, +-scale; norms around 1 when base is 1). */
static int add(src_set *s, const char *name, float base, float scale, int n, int64_t d0, int64_t d1, int64_t d2,
               bark_error *err) {
    const int64_t shape[3] = {d0, d1, d2};
    size_t count = 1;
    for (int i = 0; i < n; i++) count *= (size_t)shape[i];
    float *v = malloc(count * sizeof *v);
    if (!v || src_set_own(s, v, err)) {
        free(v);
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        g_state = g_state * 6364136223846793005ull + 1442695040888963407ull;
        v[i] = base + scale * (float)((double)(g_state >> 11) * (2.0 / 9007199254740992.0) - 1.0);
    }
    return src_set_add(s, name, SRC_F32, n, shape, (const uint8_t *)v, count * sizeof *v, err) ? -1 : 0;
}

/* HuBERT base in Hugging Face spelling (only the 9 layers the converter keeps). */
static int random_hubert(src_set *s, const hubert_src_config *g, bark_error *err) {
    char n[160];
    int bad = 0;
    for (int i = 0; i < g->n_conv; i++) {
        snprintf(n, sizeof n, "feature_extractor.conv_layers.%d.conv.weight", i);
        int64_t cin = i ? g->conv_dim : 1;
        bad |= add(s, n, 0, 1.0f / sqrtf((float)(cin * g->kernel[i])), 3, g->conv_dim, cin, g->kernel[i], err);
    }
    bad |= add(s, "feature_extractor.conv_layers.0.layer_norm.weight", 1, 0.1f, 1, g->conv_dim, 1, 1, err);
    bad |= add(s, "feature_extractor.conv_layers.0.layer_norm.bias", 0, 0.1f, 1, g->conv_dim, 1, 1, err);
    bad |= add(s, "feature_projection.layer_norm.weight", 1, 0.1f, 1, g->conv_dim, 1, 1, err);
    bad |= add(s, "feature_projection.layer_norm.bias", 0, 0.1f, 1, g->conv_dim, 1, 1, err);
    bad |= add(s, "feature_projection.projection.weight", 0, 0.04f, 2, g->hidden, g->conv_dim, 1, err);
    bad |= add(s, "feature_projection.projection.bias", 0, 0.1f, 1, g->hidden, 1, 1, err);
    bad |= add(s, "encoder.pos_conv_embed.conv.weight_g", 1, 0.5f, 3, 1, 1, g->pos_kernel, err);
    bad |= add(s, "encoder.pos_conv_embed.conv.weight_v", 0, 1.0f, 3, g->hidden, g->hidden / g->pos_groups,
               g->pos_kernel, err);
    bad |= add(s, "encoder.pos_conv_embed.conv.bias", 0, 0.1f, 1, g->hidden, 1, 1, err);
    bad |= add(s, "encoder.layer_norm.weight", 1, 0.1f, 1, g->hidden, 1, 1, err);
    bad |= add(s, "encoder.layer_norm.bias", 0, 0.1f, 1, g->hidden, 1, 1, err);
    static const char *const lin[6] = {"attention.q_proj", "attention.k_proj", "attention.v_proj",
                                       "attention.out_proj", "feed_forward.intermediate_dense",
                                       "feed_forward.output_dense"};
    for (int l = 0; l < HUBERT_OUTPUT_LAYER && !bad; l++) {
        for (int j = 0; j < 6; j++) {
            const int64_t out = j == 4 ? g->ffn : g->hidden, in = j == 5 ? g->ffn : g->hidden;
            snprintf(n, sizeof n, "encoder.layers.%d.%s.weight", l, lin[j]);
            bad |= add(s, n, 0, 1.0f / sqrtf((float)in), 2, out, in, 1, err);
            snprintf(n, sizeof n, "encoder.layers.%d.%s.bias", l, lin[j]);
            bad |= add(s, n, 0, 0.05f, 1, out, 1, 1, err);
        }
        static const char *const ln[2] = {"layer_norm", "final_layer_norm"};
        for (int j = 0; j < 2; j++) {
            snprintf(n, sizeof n, "encoder.layers.%d.%s.weight", l, ln[j]);
            bad |= add(s, n, 1, 0.1f, 1, g->hidden, 1, 1, err);
            snprintf(n, sizeof n, "encoder.layers.%d.%s.bias", l, ln[j]);
            bad |= add(s, n, 0, 0.1f, 1, g->hidden, 1, 1, err);
        }
    }
    return bad;
}

/* The quantizer, version 1 (LSTM 768 -> 1024, intermediate 4096, fc 10000). */
static int random_quantizer(src_set *s, bark_error *err) {
    char n[64];
    int bad = 0;
    for (int l = 0; l < 2; l++) {
        snprintf(n, sizeof n, "lstm.weight_ih_l%d", l);
        bad |= add(s, n, 0, 1.0f / 32, 2, 4096, l ? 1024 : 768, 1, err);
        snprintf(n, sizeof n, "lstm.weight_hh_l%d", l);
        bad |= add(s, n, 0, 1.0f / 32, 2, 4096, 1024, 1, err);
        snprintf(n, sizeof n, "lstm.bias_ih_l%d", l);
        bad |= add(s, n, 0, 1.0f / 32, 1, 4096, 1, 1, err);
        snprintf(n, sizeof n, "lstm.bias_hh_l%d", l);
        bad |= add(s, n, 0, 1.0f / 32, 1, 4096, 1, 1, err);
    }
    bad |= add(s, "intermediate.weight", 0, 1.0f / 32, 2, 4096, 1024, 1, err);
    bad |= add(s, "intermediate.bias", 0, 0.01f, 1, 4096, 1, 1, err);
    bad |= add(s, "fc.weight", 0, 1.0f / 64, 2, 10000, 4096, 1, err);
    bad |= add(s, "fc.bias", 0, 0.01f, 1, 10000, 1, 1, err);
    return bad;
}

static bark_status write_hubert_model(const char *path, bark_wtype wt, bark_error *err) {
    bark_convert_params p = bark_convert_default_params();
    p.wtype = wt;
    convert_ctx c;
    memset(&c, 0, sizeof c);
    c.p = &p;
    c.err = err;
    c.w = gguf_writer_new();
    src_set s;
    src_set_init(&s);
    const hubert_src_config g = hubert_src_config_base();
    bark_status st = c.w ? BARK_OK : BARK_ERR_NOMEM;
    if (!st && random_hubert(&s, &g, err)) st = BARK_ERR_NOMEM;
    if (!st) st = convert_hubert_set(&c, &s, &g, "random HuBERT");
    src_set_free(&s);
    src_set_init(&s);
    if (!st && random_quantizer(&s, err)) st = BARK_ERR_NOMEM;
    if (!st) st = convert_hubq_set(&c, &s, "random quantizer");
    src_set_free(&s);
    if (!st) st = convert_write(&c, path);
    convert_ctx_release(&c);
    return st;
}

/* A speech-like 24 kHz reference of n samples into path (16-bit WAV). */
static int write_reference(const char *path, float *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const double t = (double)i / 24000.0;
        x[i] = (float)(0.3 * (0.6 + 0.4 * sin(2 * M_PI * 4 * t)) *
                       (sin(2 * M_PI * 140 * t) + 0.5 * sin(2 * M_PI * 280 * t) + 0.2 * sin(2 * M_PI * 1900 * t)));
    }
    SF_INFO info = {0};
    info.samplerate = 24000;
    info.channels = 1;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    if (!f) return -1;
    int bad = sf_writef_float(f, x, (sf_count_t)n) != (sf_count_t)n;
    return sf_close(f) || bad ? -1 : 0;
}

int main(int argc, char **argv) {
    const double seconds = argc > 1 ? atof(argv[1]) : 10.0;
    const char *type = argc > 2 ? argv[2] : "q8_0", *dir = argc > 3 ? argv[3] : "/tmp";
    if (!(seconds >= 1 && seconds <= 60) || (strcmp(type, "q8_0") && strcmp(type, "f16") && strcmp(type, "f32"))) {
        fprintf(stderr, "usage: bench_clone [SECONDS (10)] [q8_0|f16|f32] [DIR for the temporary files (/tmp)]\n");
        return 2;
    }
    const bark_wtype wt = !strcmp(type, "f32") ? BARK_WTYPE_F32 : !strcmp(type, "f16") ? BARK_WTYPE_F16 : BARK_WTYPE_Q8_0;
    char mpath[4096], wpath[4096];
    snprintf(mpath, sizeof mpath, "%s/bench-hubert-%s-%d.gguf", dir, type, (int)getpid());
    snprintf(wpath, sizeof wpath, "%s/bench-clone-ref-%d.wav", dir, (int)getpid());
    bark_error err = {BARK_OK, ""};
    bark_model *m = NULL;
    encodec_model em;
    hubert_model h;
    hubq_model q;
    memset(&em, 0, sizeof em);
    memset(&q, 0, sizeof q);
    const size_t n24 = (size_t)(seconds * 24000), n16 = (size_t)(seconds * 16000);
    float *x = malloc(n24 * sizeof *x), *feat = NULL;
    int32_t *codes = NULL, *tok = NULL;
    bark_voice v = {0};
    clone_info info;
    double t0 = now_s(), t_enc = 0, t_hub = 0, t_q = 0, t_all = 0;
    encodec_hparams hp = encodec_hparams_24khz();
    bark_status st = x ? BARK_OK : BARK_ERR_NOMEM;
    if (!st) st = write_hubert_model(mpath, wt, &err);
    if (!st) st = bark_model_open(mpath, &m, &err);
    if (!st) st = hubert_load(m, &h, &err);
    if (!st) st = hubq_load(m, &q, &err);
    if (!st) st = encodec_init_random(&em, &hp, 7, &err);
    if (!st && write_reference(wpath, x, n24)) st = bark_fail(&err, BARK_ERR_IO, "%s: cannot write", wpath);
    if (!st) fprintf(stderr, "bench_clone: random HuBERT base + quantizer v1 (%s) and EnCodec 24 kHz ready in %.1f s\n",
                     type, now_s() - t0);
    const size_t T = st ? 0 : hubert_frames(&h.hp, n16), F = st ? 0 : encodec_frames(&em, n24);
    if (!st && (!(feat = malloc(T * 768 * sizeof *feat)) || !(tok = malloc(T * sizeof *tok)) ||
                !(codes = malloc(F * 8 * sizeof *codes))))
        st = bark_fail(&err, BARK_ERR_NOMEM, "out of memory");
    if (!st) {
        t0 = now_s();
        st = encodec_encode(&em, x, n24, 8, codes, NULL, NULL, &err);
        t_enc = now_s() - t0;
    }
    if (!st) { /* HuBERT on 16 kHz samples (the tone at the other rate; the cost depends only on the length) */
        t0 = now_s();
        st = hubert_forward(&h, x, n16, feat, &err);
        t_hub = now_s() - t0;
    }
    if (!st) {
        t0 = now_s();
        st = hubq_tokens(&q, feat, T, tok, NULL, &err);
        t_q = now_s() - t0;
    }
    if (!st) {
        clone_params p = clone_default_params();
        t0 = now_s();
        st = clone_reference(wpath, &em, &h, &q, &p, &v, &info, &err);
        t_all = now_s() - t0;
    }
    if (!st) {
        fprintf(stderr, "bench_clone: a %.1f s reference (%zu EnCodec frames, %zu HuBERT frames), weights %s\n",
                seconds, F, T, type);
        printf("clone_encodec_s %.2f\nclone_hubert_s %.2f\nclone_quantizer_s %.2f\nclone_total_s %.2f\n"
               "clone_rss_mb %.0f\n", t_enc, t_hub, t_q, t_all, rss_mb());
    }
    remove(mpath);
    remove(wpath);
    bark_voice_free(&v);
    free(x);
    free(feat);
    free(tok);
    free(codes);
    hubq_free(&q);
    encodec_free(&em);
    bark_model_close(m);
    if (st) fprintf(stderr, "bench_clone: %s\n", err.msg);
    return st ? 1 : 0;
}
