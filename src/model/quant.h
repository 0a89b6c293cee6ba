/* quant.h: the GGUF tensor types bark stores (f32, f16, q8_0, q4_0, integer) and conversions between them. */
#ifndef BARK_QUANT_H
#define BARK_QUANT_H

#include <stddef.h>
#include <stdint.h>

/* ggml type ids, as GGUF files record them. */
enum {
    BARK_TYPE_F32 = 0,
    BARK_TYPE_F16 = 1,
    BARK_TYPE_Q4_0 = 2,
    BARK_TYPE_Q8_0 = 8,
    BARK_TYPE_I8 = 24,
    BARK_TYPE_I16 = 25,
    BARK_TYPE_I32 = 26
};

#define QK8_0 32
/* One q8_0 block: 32 int8 weights sharing an f16 scale (34 bytes, the layout GGUF tools know). */
typedef struct block_q8_0 {
    uint16_t d;
    int8_t qs[QK8_0];
} block_q8_0;

#define QK4_0 32
/* One q4_0 block as GGUF/ggml define it (18 bytes): an f16 scale d and 32 4-bit values q, element i = (q_i - 8) * d;
 * byte j holds element j in its low nibble and element j + 16 in its high nibble. */
typedef struct block_q4_0 {
    uint16_t d;
    uint8_t qs[QK4_0 / 2];
} block_q4_0;

int bark_type_known(uint32_t type);
const char *bark_type_name(uint32_t type);
/* Bytes of a row of n elements (n must be a multiple of the block size for q8_0 and q4_0); 0 if unknown/invalid. */
size_t bark_type_row_size(uint32_t type, int64_t n);

float bark_f16_to_f32(uint16_t h);
uint16_t bark_f32_to_f16(float f); /* round to nearest even, like numpy and torch */

void bark_quantize_row_q8_0(const float *x, block_q8_0 *y, int64_t n);
/* ggml's q4_0 rule per block: m the element of largest |x| (the first such), d = m / -8, q = min(15, trunc(x / d +
 * 8.5)), so m maps to q = 0 exactly and the block spans [-8d, 7d]. */
void bark_quantize_row_q4_0(const float *x, block_q4_0 *y, int64_t n);
/* The same values as q8_0 blocks (qs = q - 8, the same d): exact, for the int8 kernels that take q8_0 rows. */
void bark_q4_0_to_q8_0(const block_q4_0 *x, block_q8_0 *y, int64_t nb);
/* Expands n elements of any float type (f32, f16, q8_0, q4_0) to f32. */
void bark_dequantize_row(uint32_t type, const void *src, float *dst, int64_t n);

#endif
