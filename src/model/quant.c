/* quant.c: f16, q8_0 and q4_0 encoding of weights, and expansion of any stored float type to f32. */
#include "model/quant.h"

#include <math.h>
#include <string.h>

int bark_type_known(uint32_t type) {
    switch (type) {
    case BARK_TYPE_F32: case BARK_TYPE_F16: case BARK_TYPE_Q8_0: case BARK_TYPE_Q4_0:
    case BARK_TYPE_I8: case BARK_TYPE_I16: case BARK_TYPE_I32:
        return 1;
    }
    return 0;
}

const char *bark_type_name(uint32_t type) {
    switch (type) {
    case BARK_TYPE_F32: return "f32";
    case BARK_TYPE_F16: return "f16";
    case BARK_TYPE_Q8_0: return "q8_0";
    case BARK_TYPE_Q4_0: return "q4_0";
    case BARK_TYPE_I8: return "i8";
    case BARK_TYPE_I16: return "i16";
    case BARK_TYPE_I32: return "i32";
    }
    return "unknown";
}

size_t bark_type_row_size(uint32_t type, int64_t n) {
    if (n < 0) return 0;
    size_t un = (size_t)n;
    switch (type) {
    case BARK_TYPE_F32: case BARK_TYPE_I32: return un * 4;
    case BARK_TYPE_F16: case BARK_TYPE_I16: return un * 2;
    case BARK_TYPE_I8: return un;
    case BARK_TYPE_Q8_0: return (n % QK8_0) ? 0 : un / QK8_0 * sizeof(block_q8_0);
    case BARK_TYPE_Q4_0: return (n % QK4_0) ? 0 : un / QK4_0 * sizeof(block_q4_0);
    }
    return 0;
}

float bark_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: renormalise */
            int e = -1;
            do { e++; man <<= 1; } while (!(man & 0x400));
            bits = sign | (uint32_t)(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | man << 13;
    } else {
        bits = sign | (exp + 127 - 15) << 23 | man << 13;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t bark_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00); /* NaN */
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); /* overflows to inf after rounding */
    if (ax < 0x38800000u) { /* result is subnormal or zero: align to 2^-24 units, round to even */
        if (ax < 0x33000000u) return (uint16_t)sign; /* below half the smallest subnormal */
        uint32_t e = ax >> 23, m = (ax & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e; /* value = m * 2^(e-150); units of 2^-24 -> shift by (126-e) */
        uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return (uint16_t)(sign | q);
    }
    uint32_t r = ax + 0xfffu + ((ax >> 13) & 1); /* round mantissa to 10 bits, ties to even */
    return (uint16_t)(sign | ((r - 0x38000000u) >> 13));
}

void bark_quantize_row_q8_0(const float *x, block_q8_0 *y, int64_t n) {
    for (int64_t b = 0; b < n / QK8_0; b++) {
        const float *xb = x + b * QK8_0;
        float amax = 0.0f;
        for (int j = 0; j < QK8_0; j++) amax = fmaxf(amax, fabsf(xb[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = bark_f32_to_f16(d);
        for (int j = 0; j < QK8_0; j++) y[b].qs[j] = (int8_t)roundf(xb[j] * id);
    }
}

/* min(15, trunc(v + 8.5)); v + 8.5 lies in [0.5, 16.5] for finite blocks, and NaN (from a non-finite block) gives 0 */
static unsigned nibble(float v) {
    float u = v + 8.5f;
    return u >= 15.0f ? 15u : u >= 0.0f ? (unsigned)u : 0u;
}

void bark_quantize_row_q4_0(const float *x, block_q4_0 *y, int64_t n) {
    for (int64_t b = 0; b < n / QK4_0; b++) {
        const float *xb = x + b * QK4_0;
        float amax = 0.0f, m = 0.0f;
        for (int j = 0; j < QK4_0; j++)
            if (fabsf(xb[j]) > amax) amax = fabsf(xb[j]), m = xb[j];
        const float d = m / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = bark_f32_to_f16(d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            y[b].qs[j] = (uint8_t)(nibble(xb[j] * id) | nibble(xb[j + QK4_0 / 2] * id) << 4);
        }
    }
}

void bark_q4_0_to_q8_0(const block_q4_0 *x, block_q8_0 *y, int64_t nb) {
    for (int64_t b = 0; b < nb; b++) {
        uint8_t in[QK4_0 / 2]; /* local copies: the compiler vectorizes what cannot alias */
        int8_t out[QK4_0];
        memcpy(in, x[b].qs, sizeof in);
        for (int j = 0; j < QK4_0 / 2; j++) {
            out[j] = (int8_t)((in[j] & 15) - 8);
            out[j + QK4_0 / 2] = (int8_t)((in[j] >> 4) - 8);
        }
        y[b].d = x[b].d;
        memcpy(y[b].qs, out, sizeof out);
    }
}

void bark_dequantize_row(uint32_t type, const void *src, float *dst, int64_t n) {
    switch (type) {
    case BARK_TYPE_F32:
        memcpy(dst, src, (size_t)n * sizeof(float));
        break;
    case BARK_TYPE_F16: {
        const uint16_t *h = src;
        for (int64_t i = 0; i < n; i++) dst[i] = bark_f16_to_f32(h[i]);
        break;
    }
    case BARK_TYPE_Q8_0: {
        const block_q8_0 *b = src;
        for (int64_t i = 0; i < n / QK8_0; i++) {
            const float d = bark_f16_to_f32(b[i].d);
            for (int j = 0; j < QK8_0; j++) dst[i * QK8_0 + j] = d * (float)b[i].qs[j];
        }
        break;
    }
    case BARK_TYPE_Q4_0: { /* through the q8_0 form, a block at a time (both loops vectorize) */
        const block_q4_0 *b = src;
        for (int64_t i = 0; i < n / QK4_0; i++) {
            block_q8_0 q;
            bark_q4_0_to_q8_0(&b[i], &q, 1);
            const float d = bark_f16_to_f32(q.d);
            float out[QK8_0];
            for (int j = 0; j < QK8_0; j++) out[j] = d * (float)q.qs[j];
            memcpy(dst + i * QK4_0, out, sizeof out);
        }
        break;
    }
    default:
        memset(dst, 0, (size_t)n * sizeof(float));
    }
}
