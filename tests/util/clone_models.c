/* clone_models.c: the models cloning tests need: the tiny GPTs with a random EnCodec at the real 24 kHz shapes,
 * and the tiny HuBERT with its quantizer; recordings of a voiced test signal. */
#include "clone_models.h"

#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/convert_hubert.h"
#include "formats/source.h"

/* A mono or stereo 16-bit WAV (or FLAC) of f(t) at `rate`, with `lead`/`tail` seconds of exact silence. */
int tu_write_voiced(const char *path, int format, int rate, int channels, double lead, double body, double tail,
                        double amp) {
    SF_INFO info = {0};
    info.samplerate = rate;
    info.channels = channels;
    info.format = format;
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    if (!f) return -1;
    const size_t n = (size_t)((lead + body + tail) * rate), n0 = (size_t)(lead * rate), n1 = (size_t)((lead + body) * rate);
    float buf[2 * 4096];
    unsigned rs = 12345;
    for (size_t i = 0; i < n; i += 4096) {
        size_t k = n - i < 4096 ? n - i : 4096;
        for (size_t j = 0; j < k; j++) {
            const double t = (double)(i + j) / rate;
            rs = rs * 1103515245u + 12345u;
            double v = 0.0;
            if (i + j >= n0 && i + j < n1) /* a "voiced" signal: harmonics under a 4 Hz envelope, plus noise */
                v = amp * (0.6 + 0.4 * sin(2 * M_PI * 4 * t)) *
                        (sin(2 * M_PI * 140 * t) + 0.5 * sin(2 * M_PI * 280 * t) + 0.25 * sin(2 * M_PI * 910 * t)) +
                    0.01 * ((double)(rs >> 8) / 8388608.0 - 1.0);
            if (v > 1.0) v = 1.0;
            if (v < -1.0) v = -1.0;
            for (int c = 0; c < channels; c++) buf[j * (size_t)channels + (size_t)c] = (float)(c ? 0.8 * v : v);
        }
        if (sf_writef_float(f, buf, (sf_count_t)k) != (sf_count_t)k) {
            sf_close(f);
            return -1;
        }
    }
    sf_close(f);
    return 0;
}

/* ---- a test model: the tiny GPTs (tests/data/tiny/suno) with a random EnCodec at the real 24 kHz shapes ---- */

typedef struct rnd {
    src_set s;
    uint64_t state;
    bark_error *err;
} rnd;

static bark_status rnd_add(rnd *g, const char *name, float scale, int n, int64_t d0, int64_t d1, int64_t d2) {
    const int64_t shape[3] = {d0, d1, d2};
    size_t count = 1;
    for (int i = 0; i < n; i++) count *= (size_t)shape[i];
    float *v = malloc(count * sizeof *v);
    if (!v || src_set_own(&g->s, v, g->err)) {
        free(v);
        return BARK_ERR_NOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        g->state = g->state * 6364136223846793005ull + 1442695040888963407ull;
        v[i] = scale * (float)((double)(g->state >> 11) * (2.0 / 9007199254740992.0) - 1.0);
    }
    return src_set_add(&g->s, name, SRC_F32, n, shape, (const uint8_t *)v, count * sizeof *v, g->err);
}

/* conv `codec_model.<side>.layers.<idx>.<sub>conv.weight` [a, b, k] and its bias [bias_n] (HF spelling) */
static bark_status rnd_conv(rnd *g, const char *side, int idx, const char *sub, int64_t a, int64_t b, int64_t k,
                            int64_t bias_n) {
    char n[160];
    snprintf(n, sizeof n, "codec_model.%s.layers.%d.%sconv.weight", side, idx, sub);
    bark_status st = rnd_add(g, n, 1.0f / sqrtf((float)(b * k)), 3, a, b, k);
    snprintf(n, sizeof n, "codec_model.%s.layers.%d.%sconv.bias", side, idx, sub);
    return st ? st : rnd_add(g, n, 0.01f, 1, bias_n, 1, 1);
}

static bark_status rnd_res(rnd *g, const char *side, int idx, int64_t ch) {
    bark_status st = rnd_conv(g, side, idx, "block.1.", ch / 2, ch, 3, ch / 2);
    if (!st) st = rnd_conv(g, side, idx, "block.3.", ch, ch / 2, 1, ch);
    return st ? st : rnd_conv(g, side, idx, "shortcut.", ch, ch, 1, ch);
}

static bark_status rnd_lstm(rnd *g, const char *side, int idx) {
    static const char *const w[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
    bark_status st = BARK_OK;
    char n[160];
    for (int l = 0; l < 2 && !st; l++)
        for (int j = 0; j < 4 && !st; j++) {
            snprintf(n, sizeof n, "codec_model.%s.layers.%d.lstm.%s_l%d", side, idx, w[j], l);
            st = rnd_add(g, n, 1.0f / sqrtf(512.0f), j < 2 ? 2 : 1, 2048, 512, 1);
        }
    return st;
}

static bark_status rnd_codec(rnd *g) {
    static const int ratios[4] = {8, 5, 4, 2};
    bark_status st = rnd_conv(g, "encoder", 0, "", 32, 1, 7, 32);
    int64_t ch = 32;
    for (int i = 0; i < 4 && !st; i++) {
        st = rnd_res(g, "encoder", 1 + 3 * i, ch);
        if (!st) st = rnd_conv(g, "encoder", 3 + 3 * i, "", ch * 2, ch, 2 * ratios[3 - i], ch * 2);
        ch *= 2;
    }
    if (!st) st = rnd_lstm(g, "encoder", 13);
    if (!st) st = rnd_conv(g, "encoder", 15, "", 128, 512, 7, 128);
    if (!st) st = rnd_conv(g, "decoder", 0, "", 512, 128, 7, 512);
    if (!st) st = rnd_lstm(g, "decoder", 1);
    for (int i = 0; i < 4 && !st; i++) {
        st = rnd_conv(g, "decoder", 3 + 3 * i, "", ch, ch / 2, 2 * ratios[i], ch / 2); /* transposed [cin, cout, k] */
        ch /= 2;
        if (!st) st = rnd_res(g, "decoder", 4 + 3 * i, ch);
    }
    if (!st) st = rnd_conv(g, "decoder", 15, "", 1, 32, 7, 1);
    for (int q = 0; q < 32 && !st; q++) {
        char n[96];
        snprintf(n, sizeof n, "codec_model.quantizer.layers.%d.codebook.embed", q);
        st = rnd_add(g, n, 1.0f, 2, 1024, 128, 1);
    }
    return st;
}

int tu_clone_models(const char *bark_path, const char *hubert_path) {
    bark_error err = {BARK_OK, ""};
    bark_convert_params p = bark_convert_default_params();
    p.wtype = BARK_WTYPE_F16;
    convert_ctx c;
    memset(&c, 0, sizeof c);
    c.p = &p;
    c.err = &err;
    c.w = gguf_writer_new();
    rnd g = {{0}, 1, &err};
    src_set_init(&g.s);
    static const char *const pts[3] = {"tests/data/tiny/suno/text.pt", "tests/data/tiny/suno/coarse.pt",
                                       "tests/data/tiny/suno/fine.pt"};
    bark_status st = c.w ? BARK_OK : BARK_ERR_NOMEM;
    for (int i = 0; i < 3 && !st; i++) st = convert_suno_pt(&c, pts[i]);
    if (!st) st = convert_vocab(&c, "tests/data/tiny/hf/vocab.txt");
    if (!st) st = rnd_codec(&g);
    if (!st) st = convert_codec(&c, &g.s, "codec_model.", "random codec");
    if (!st) st = convert_write(&c, bark_path);
    src_set_free(&g.s);
    convert_ctx_release(&c);
    if (st) {
        fprintf(stderr, "test model: %s\n", err.msg);
        return -1;
    }
    memset(&c, 0, sizeof c);
    c.p = &p;
    c.err = &err;
    c.w = gguf_writer_new();
    p.wtype = BARK_WTYPE_F32;
    st = c.w ? convert_hubert(&c, "tests/data/hubert/tiny_hf") : BARK_ERR_NOMEM;
    if (!st) st = convert_hubert_quantizer(&c, "tests/data/hubert/quant_v1.pth");
    if (!st) st = convert_write(&c, hubert_path);
    convert_ctx_release(&c);
    if (st) fprintf(stderr, "convert hubert: %s\n", err.msg);
    return st ? -1 : 0;
}
