/* test_quant.c: f16 conversion (exhaustive) and q8_0 / q4_0 blocks against their definitions. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/quant.h"

/* Every finite f16 survives f16 -> f32 -> f16, and f32 -> f16 rounds each midpoint to the even neighbour. */
static void test_f16_exhaustive(void **state) {
    (void)state;
    for (uint32_t h = 0; h < 0x10000; h++) {
        float f = bark_f16_to_f32((uint16_t)h);
        if (isnan(f)) {
            assert_true((h & 0x7c00) == 0x7c00 && (h & 0x3ff));
            assert_true((bark_f32_to_f16(f) & 0x7fff) > 0x7c00);
            continue;
        }
        assert_int_equal(bark_f32_to_f16(f), h);
        if ((h & 0x7fff) >= 0x7c00) continue; /* inf: no next value */
        uint16_t next = (uint16_t)(h + 1);
        if ((next & 0x7fff) >= 0x7c00) continue;
        float g = bark_f16_to_f32(next);
        double mid = ((double)f + g) / 2;
        float fm = (float)mid; /* exact in f32 for every f16 pair */
        assert_true((double)fm == mid);
        assert_int_equal(bark_f32_to_f16(fm), (h & 1) ? next : h);
        /* just below / above the midpoint go to the nearer one */
        assert_int_equal(bark_f32_to_f16(nextafterf(fm, f)), h);
        assert_int_equal(bark_f32_to_f16(nextafterf(fm, g)), next);
    }
}

static void test_f16_specials(void **state) {
    (void)state;
    assert_int_equal(bark_f32_to_f16(65504.0f), 0x7bff);
    assert_int_equal(bark_f32_to_f16(65519.99f), 0x7bff);
    assert_int_equal(bark_f32_to_f16(65520.0f), 0x7c00);
    assert_int_equal(bark_f32_to_f16(-1e30f), 0xfc00);
    assert_int_equal(bark_f32_to_f16(0x1p-25f), 0);      /* half the smallest subnormal: ties to even 0 */
    assert_int_equal(bark_f32_to_f16(0x1.000002p-25f), 1);
    assert_int_equal(bark_f32_to_f16(0x1p-24f), 1);
    assert_int_equal(bark_f32_to_f16(-0.0f), 0x8000);
    assert_true(bark_f16_to_f32(0x0001) == 0x1p-24f);
}

static void test_q8_0_blocks(void **state) {
    (void)state;
    float x[96], y[96];
    block_q8_0 b[3];
    uint32_t s = 12345;
    for (int i = 0; i < 96; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * (i < 32 ? 1e-3f : i < 64 ? 10.0f : 0.0f);
    }
    bark_quantize_row_q8_0(x, b, 96);
    bark_dequantize_row(BARK_TYPE_Q8_0, b, y, 96);
    for (int k = 0; k < 3; k++) {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[32 * k + j]));
        float d = bark_f16_to_f32(b[k].d);
        assert_true(fabsf(d - amax / 127) <= amax / 127 * 0x1p-11f + 0x1p-25f); /* f16 rounding, subnormal too */
        int peak = 0;
        for (int j = 0; j < 32; j++) {
            assert_true(fabsf(y[32 * k + j] - x[32 * k + j]) <= 0.5f * d + 127 * fabsf(d - amax / 127) + 1e-12f);
            peak |= abs(b[k].qs[j]) == 127;
        }
        assert_int_equal(peak, amax > 0); /* the largest element maps to +-127 */
    }
    assert_int_equal(bark_type_row_size(BARK_TYPE_Q8_0, 96), 3 * sizeof(block_q8_0));
    assert_int_equal(sizeof(block_q8_0), 34);
    assert_int_equal(bark_type_row_size(BARK_TYPE_Q8_0, 95), 0);
    assert_int_equal(bark_type_row_size(BARK_TYPE_F16, 7), 14);
    assert_int_equal(bark_type_row_size(99, 7), 0);
}

/* q4_0 as GGUF lays it out: known values come back as their nibbles (element j low, j + 16 high) and scale. */
static void test_q4_0_layout(void **state) {
    (void)state;
    float x[32];
    uint8_t q[32];
    for (int i = 0; i < 32; i++) {
        q[i] = (uint8_t)(i == 0 ? 0 : (i * 7 + 3) % 16); /* element 0 at -8d: the largest |x|, so d = x0 / -8 */
        x[i] = ((float)q[i] - 8.0f) * 0.5f;
    }
    block_q4_0 b;
    bark_quantize_row_q4_0(x, &b, 32);
    assert_int_equal(b.d, bark_f32_to_f16(0.5f));
    for (int j = 0; j < 16; j++) assert_int_equal(b.qs[j], q[j] | q[j + 16] << 4);
    float y[32];
    bark_dequantize_row(BARK_TYPE_Q4_0, &b, y, 32);
    assert_memory_equal(x, y, sizeof x);
    assert_int_equal(sizeof(block_q4_0), 18);
    assert_int_equal(bark_type_row_size(BARK_TYPE_Q4_0, 96), 3 * 18);
    assert_int_equal(bark_type_row_size(BARK_TYPE_Q4_0, 48), 0);
    assert_string_equal(bark_type_name(BARK_TYPE_Q4_0), "q4_0");
    assert_true(bark_type_known(BARK_TYPE_Q4_0));
}

/* q4_0 of random blocks: the element of largest |x| comes back exactly up to the f16 scale, every element within
 * one step (the opposite end, at +8 steps, is clamped to 7), and the q8_0 form holds the same values. Non-finite
 * blocks give some block (no undefined conversion). */
static void test_q4_0_blocks(void **state) {
    (void)state;
    float x[128], y[128], z[128];
    block_q4_0 b[4];
    block_q8_0 b8[4];
    uint32_t s = 777;
    for (int i = 0; i < 128; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * (i < 32 ? 1e-3f : i < 64 ? 10.0f : i < 96 ? 0.0f : 1.0f);
    }
    bark_quantize_row_q4_0(x, b, 128);
    bark_dequantize_row(BARK_TYPE_Q4_0, b, y, 128);
    bark_q4_0_to_q8_0(b, b8, 4);
    bark_dequantize_row(BARK_TYPE_Q8_0, b8, z, 128);
    assert_memory_equal(y, z, sizeof y);
    for (int k = 0; k < 4; k++) {
        float m = 0.0f;
        for (int j = 0; j < 32; j++)
            if (fabsf(x[32 * k + j]) > fabsf(m)) m = x[32 * k + j];
        float d = bark_f16_to_f32(b[k].d), dm = fabsf(fabsf(m) / 8.0f - fabsf(d));
        assert_true(dm <= fabsf(m) / 8.0f * 0x1p-11f + 0x1p-25f);
        for (int j = 0; j < 32; j++) assert_true(fabsf(y[32 * k + j] - x[32 * k + j]) <= fabsf(d) + 8.0f * dm + 1e-12f);
    }
    x[3] = NAN, x[40] = INFINITY;
    bark_quantize_row_q4_0(x, b, 64);
    bark_dequantize_row(BARK_TYPE_Q4_0, b, y, 64);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f16_exhaustive),
        cmocka_unit_test(test_f16_specials),
        cmocka_unit_test(test_q8_0_blocks),
        cmocka_unit_test(test_q4_0_layout),
        cmocka_unit_test(test_q4_0_blocks),
    };
    return cmocka_run_group_tests_name("quant", tests, NULL, NULL);
}
