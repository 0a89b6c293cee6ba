/* kernel_checks.h: every kernel of a SIMD table against its C twin on random shapes (no cmocka: also runs on arm64 under qemu). */
#ifndef BARK_KERNEL_CHECKS_H
#define BARK_KERNEL_CHECKS_H

#include <stdio.h>

#include "kernels.h"

#define KC_TOL 1e-5 /* largest relative error allowed (max |a - b| / max |b| per call) */

/* Runs every kernel of k and of the C table on the same random inputs (seeded), `cases` shapes per kernel,
 * including odd tails and sizes that are not multiples of 8 or of the 32-block. Prints one line per kernel
 * (cases, max relative error, calls that are not bit-identical) to log; returns the number of failed kernels. */
int kc_check_table(const bark_kernels *k, unsigned seed, int cases, FILE *log);

/* Accuracy of the C table's exp and GELU polynomials against libm over [-10, 10] (returns failures). */
int kc_check_polynomials(FILE *log);

#endif
