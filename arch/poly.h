/* poly.h: the constants of the exp() and erf() polynomials every kernel table evaluates the same way. */
#ifndef BARK_POLY_H
#define BARK_POLY_H

/* exp(x): x clamped to [EXP_LO, EXP_HI]; n = nearest-even(x * log2 e); r = (x - n*LN2_HI) - n*LN2_LO;
 * p = ((((((E6 r + E5) r + E4) r + E3) r + E2) r + E1) r + 1); exp = p * 2^n (n added to the exponent). */
#define BARK_EXP_LO (-87.0f)
#define BARK_EXP_HI 88.0f
#define BARK_LOG2E 1.44269504088896341f
#define BARK_LN2_HI 0.693359375f
#define BARK_LN2_LO (-2.12194440e-4f)
#define BARK_E1 1.0f
#define BARK_E2 0.5f
#define BARK_E3 1.6666665459e-1f
#define BARK_E4 4.1666579e-2f
#define BARK_E5 8.333452e-3f
#define BARK_E6 1.3981999e-3f

/* erf(z), z >= 0 (Abramowitz & Stegun 7.1.26, |error| <= 1.5e-7): t = 1 / (1 + P z);
 * erf = 1 - ((((A5 t + A4) t + A3) t + A2) t + A1) t * exp(-z*z). GELU(x) = 0.5 x (1 + sign(x) erf(|x| / sqrt 2)). */
#define BARK_ERF_P 0.3275911f
#define BARK_ERF_A1 0.254829592f
#define BARK_ERF_A2 (-0.284496736f)
#define BARK_ERF_A3 1.421413741f
#define BARK_ERF_A4 (-1.453152027f)
#define BARK_ERF_A5 1.061405429f
#define BARK_SQRT1_2 0.70710678118654752f

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Scalar exp by the polynomial above (the C table and every SIMD tail use it). */
static inline float bark_exp_poly(float x) {
    x = fminf(fmaxf(x, BARK_EXP_LO), BARK_EXP_HI);
    float n = nearbyintf(x * BARK_LOG2E);
    float r = x - n * BARK_LN2_HI;
    r = r - n * BARK_LN2_LO;
    float p = BARK_E6 * r + BARK_E5;
    p = p * r + BARK_E4;
    p = p * r + BARK_E3;
    p = p * r + BARK_E2;
    p = p * r + BARK_E1;
    p = p * r + 1.0f;
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    return p * scale;
}

/* Scalar GELU with the polynomial erf above. */
static inline float bark_gelu_poly(float v) {
    float z = fabsf(v) * BARK_SQRT1_2;
    float t = 1.0f / (1.0f + BARK_ERF_P * z);
    float p = BARK_ERF_A5 * t + BARK_ERF_A4;
    p = p * t + BARK_ERF_A3;
    p = p * t + BARK_ERF_A2;
    p = p * t + BARK_ERF_A1;
    p = p * t;
    float e = 1.0f - p * bark_exp_poly(-(z * z));
    return (0.5f * v) * (1.0f + copysignf(e, v));
}

/* The fixed lane reduction: h[j] = a[j] + a[j+4]; (h0 + h2) + (h1 + h3). */
static inline float bark_reduce8(const float a[8]) {
    float h0 = a[0] + a[4], h1 = a[1] + a[5], h2 = a[2] + a[6], h3 = a[3] + a[7];
    return (h0 + h2) + (h1 + h3);
}

#endif
