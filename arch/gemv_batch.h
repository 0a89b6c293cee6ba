/* gemv_batch.h: the batched decode GEMVs of a table built from its own single-row GEMVs: each weight tile is read
 * from memory once and stays in cache while every activation row of the batch runs over it. Each output comes from
 * the same single-row call as alone, so the bits never depend on the batch (the rule in arch/kernels.h). */
#ifndef BARK_GEMV_BATCH_H
#define BARK_GEMV_BATCH_H

#include "kernels.h"

#define BARK_GEMV_BATCH_ROWS 8 /* weight rows per tile: 8 rows of 3072 q8_0 values are 26 KB, in L1 */

/* Defines NAME, the gemv_q8_0_batch (or gemv_q4_0_batch) kernel over the single-row kernel GEMV. */
#define BARK_GEMV_Q8_0_BATCH(NAME, GEMV)                                                                             \
    static void NAME(const void *W, size_t row_bytes, int rows, const int8_t *xq, const float *xd, int n, int B,      \
                     float *Y, int ldy) {                                                                             \
        if (B == 1) { /* one long stream of rows: the single-row kernel's prefetching runs ahead undisturbed */       \
            GEMV(W, row_bytes, rows, xq, xd, n, Y, 1);                                                                \
            return;                                                                                                   \
        }                                                                                                             \
        for (int o = 0; o < rows; o += BARK_GEMV_BATCH_ROWS) {                                                        \
            int m = rows - o < BARK_GEMV_BATCH_ROWS ? rows - o : BARK_GEMV_BATCH_ROWS;                                \
            const void *w = (const uint8_t *)W + (size_t)o * row_bytes;                                               \
            for (int b = 0; b < B; b++)                                                                               \
                GEMV(w, row_bytes, m, xq + (size_t)b * n, xd + (size_t)b * (n / QK8_0), n, Y + (size_t)b * ldy + o,  \
                     1);                                                                                              \
        }                                                                                                             \
    }

/* Defines NAME, the gemv_f16_batch (WT uint16_t) or gemv_f32_batch (WT float) kernel over GEMV. */
#define BARK_GEMV_FLOAT_BATCH(NAME, WT, GEMV)                                                                        \
    static void NAME(const WT *W, size_t ldw, int rows, const float *X, int ldx, int n, int B, float *Y, int ldy) {  \
        for (int o = 0; o < rows; o += BARK_GEMV_BATCH_ROWS) {                                                        \
            int m = rows - o < BARK_GEMV_BATCH_ROWS ? rows - o : BARK_GEMV_BATCH_ROWS;                                \
            for (int b = 0; b < B; b++)                                                                               \
                GEMV(W + (size_t)o * ldw, ldw, m, X + (size_t)b * ldx, n, Y + (size_t)b * ldy + o, 1);               \
        }                                                                                                             \
    }

#endif
