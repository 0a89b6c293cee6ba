/* kernels_neon_dotprod.c: the NEON table with SDOT for the int8 dot products (ARMv8.2-A dotprod). */
#include "neon_shared.h"

/* SDOT lane j sums products 4j..4j+3: exactly the lane rule of arch/kernels.h. */
static inline void lanes_sdot(const int8_t *w, const int8_t *x, int32x4_t *l0, int32x4_t *l1) {
    *l0 = vdotq_s32(vdupq_n_s32(0), vld1q_s8(w), vld1q_s8(x));
    *l1 = vdotq_s32(vdupq_n_s32(0), vld1q_s8(w + 16), vld1q_s8(x + 16));
}

BARK_NEON_Q8_GEMV(gemv_q8_0_dotprod, lanes_sdot)

BARK_NEON_Q8_GEMM(gemm_q8_0_dotprod, lanes_sdot)

const bark_kernels bark_kernels_neon_dotprod = {
    "neon-dotprod", bark_neon_quantize_q8, gemv_q8_0_dotprod, gemm_q8_0_dotprod, bark_neon_gemv_f16,
    bark_neon_gemv_f32, bark_neon_dot_f32, bark_neon_axpy_f32, bark_neon_wsum_f32, bark_neon_layernorm_f32, bark_neon_gelu_f32,
    bark_neon_softmax_f32, bark_neon_wsum_f16, bark_neon_f32_to_f16,
    bark_neon_dequant_q8_0,
};
