/* encodec_rvq.c: EnCodec's residual vector quantizer: bandwidth to codebooks, code checks, decode and greedy encode. */
#include "codec/encodec_ops.h"

#include <cblas.h>
#include <float.h>
#include <math.h>

#include "core/error.h"

int encodec_n_q_for_bandwidth(const encodec_model *m, double kbps) {
    static const double allowed[] = {1.5, 3.0, 6.0, 12.0, 24.0};
    int ok = 0;
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) ok |= kbps == allowed[i];
    if (!ok) return 0;
    /* bits per frame and codebook = log2(codebook_size); frame rate = ceil(sample_rate / hop) */
    const double frame_rate = (double)((m->hp.sample_rate + m->hop - 1) / m->hop);
    const double per_q = log2((double)m->hp.codebook_size) * frame_rate;
    int n = (int)floor(kbps * 1000.0 / per_q);
    if (n < 1) n = 1;
    return n <= m->hp.n_q ? n : 0;
}

bark_status encodec_check_codes(const encodec_model *m, const int32_t *codes, int n_q, size_t ld, size_t n,
                                bark_error *err) {
    if (n_q < 1 || n_q > m->hp.n_q)
        return bark_fail(err, BARK_ERR_ARG, "encodec: %d codebooks given, the model has 1..%d", n_q, m->hp.n_q);
    if (n > 0 && ld < n) return bark_fail(err, BARK_ERR_ARG, "encodec: code row stride %zu < %zu frames", ld, n);
    for (int q = 0; q < n_q; q++)
        for (size_t t = 0; t < n; t++) {
            const int32_t v = codes[(size_t)q * ld + t];
            if (v < 0 || v >= m->hp.codebook_size)
                return bark_fail(err, BARK_ERR_ARG, "code %d at codebook %d frame %zu is outside 0..%d", v,
                                 q, t, m->hp.codebook_size - 1);
        }
    return BARK_OK;
}

void encodec_rvq_decode_frame(const encodec_model *m, const int32_t *codes, int n_q, size_t ld, float *z) {
    const int D = m->hp.dimension;
    for (int d = 0; d < D; d++) z[d] = 0.0f;
    for (int q = 0; q < n_q; q++) {
        const float *e = m->codebooks + ((size_t)q * m->hp.codebook_size + (size_t)codes[(size_t)q * ld]) * D;
        for (int d = 0; d < D; d++) z[d] = z[d] + e[d];
    }
}

void encodec_rvq_encode_frame(const encodec_model *m, const float *z, int n_q, int32_t *codes, size_t ld,
                              float *r, float *dist, float *margin) {
    const int D = m->hp.dimension, B = m->hp.codebook_size;
    for (int d = 0; d < D; d++) r[d] = z[d];
    for (int q = 0; q < n_q; q++) {
        const float *E = m->codebooks + (size_t)q * B * D;
        const float *esq = m->codebook_sq + (size_t)q * B;
        float rr = 0.0f;
        for (int d = 0; d < D; d++) rr += r[d] * r[d];
        cblas_sgemv(CblasRowMajor, CblasNoTrans, B, D, 1.0f, E, D, r, 1, 0.0f, dist, 1);
        int best = 0;
        float b1 = FLT_MAX, b2 = FLT_MAX;
        for (int j = 0; j < B; j++) {
            const float dj = (rr - 2.0f * dist[j]) + esq[j];
            if (dj < b1) {
                b2 = b1;
                b1 = dj;
                best = j;
            } else if (dj < b2) {
                b2 = dj;
            }
        }
        if (margin && b2 - b1 < *margin) *margin = b2 - b1;
        codes[(size_t)q * ld] = best;
        const float *e = E + (size_t)best * D;
        for (int d = 0; d < D; d++) r[d] = r[d] - e[d];
    }
}
