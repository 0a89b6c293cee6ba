/* dispatch.c: finds the kernel tables this CPU runs (CPUID + XGETBV on x86, AT_HWCAP on Arm) and the best of them. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

#if defined(BARK_HAVE_AVX2) && (defined(__x86_64__) || defined(__i386__))
#include <cpuid.h>

/* AVX2, FMA and F16C in CPUID, and the OS saving the YMM state (XCR0 bits 1 and 2). */
static int cpu_has_avx2(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int osxsave = (c >> 27) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1, avx = (c >> 28) & 1;
    if (!osxsave || !fma || !f16c || !avx) return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6) != 6) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b >> 5) & 1;
}

/* AVX2 plus AVX-512 F, BW, VL and VNNI, with the OS saving the opmask and ZMM state (XCR0 bits 5..7). */
static int cpu_has_avx512vnni(void) {
    unsigned a, b, c, d;
    if (!cpu_has_avx2() || !__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    int f = (b >> 16) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1, vnni = (c >> 11) & 1;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return f && bw && vl && vnni && (lo & 0xe6) == 0xe6;
}

/* The AVX2 table with the AVX-512 kernels. */
static bark_kernels avx512_table;
static void build_avx512(void) {
    avx512_table = bark_kernels_avx2;
    avx512_table.name = "avx512";
    avx512_table.gemm_q8_0 = bark_gemm_q8_0_avx512;
    avx512_table.quantize_q8 = bark_quantize_q8_avx512;
    avx512_table.softmax_q8 = bark_softmax_q8_avx512;
    avx512_table.gelu_f32 = bark_gelu_f32_avx512;
    avx512_table.gemv_q8_0_batch = bark_gemv_q8_0_batch_avx512;
    avx512_table.gemv_q4_0 = bark_gemv_q4_0_avx512;
    avx512_table.gemv_q4_0_batch = bark_gemv_q4_0_batch_avx512;
}

static const bark_kernels *avx512(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    if (!cpu_has_avx512vnni()) return NULL;
    pthread_once(&once, build_avx512);
    return &avx512_table;
}
#endif

#if defined(BARK_HAVE_NEON) && defined(__aarch64__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
static int cpu_has_dotprod(void) { return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0; }
#endif

const bark_kernels *bark_kernels_by_name(const char *name) {
    if (!strcmp(name, "c")) return &bark_kernels_c;
#if defined(BARK_HAVE_AVX2) && (defined(__x86_64__) || defined(__i386__))
    if (!strcmp(name, "avx2")) return cpu_has_avx2() ? &bark_kernels_avx2 : NULL;
    if (!strcmp(name, "avx512")) return avx512();
#endif
#if defined(BARK_HAVE_NEON) && defined(__aarch64__)
    if (!strcmp(name, "neon")) return cpu_has_dotprod() ? &bark_kernels_neon_dotprod : &bark_kernels_neon;
#endif
    return NULL;
}

static const bark_kernels *best;

static void choose(void) {
    static const char *const order[] = {"avx512", "avx2", "neon"};
    for (size_t i = 0; i < sizeof order / sizeof order[0] && !best; i++) best = bark_kernels_by_name(order[i]);
    if (!best) best = &bark_kernels_c;
}

#if defined(BARK_HAVE_AVX2) && (defined(__x86_64__) || defined(__i386__))
static int prefers_int8;
static void detect_int8(void) { prefers_int8 = cpu_has_avx512vnni(); }
#endif

/* Asked by every attention and Linear call: CPUID traps to the hypervisor in a VM (~9 us each on the bench machine,
 * 36 calls = 0.3 ms of a 6 ms decode step), so the answer is computed once. */
int bark_cpu_prefers_int8_gemm(void) {
#if defined(BARK_HAVE_AVX2) && (defined(__x86_64__) || defined(__i386__))
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, detect_int8);
    return prefers_int8;
#else
    return 0;
#endif
}

const bark_kernels *bark_kernels_get(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, choose);
    return best;
}
