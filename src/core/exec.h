/* exec.h: what a computation runs on: a kernel table, a GEMM rule and a thread pool, owned by one synthesis. */
#ifndef BARK_EXEC_H
#define BARK_EXEC_H

#include "bark.h"
#include "core/threadpool.h"
#include "kernels.h"

/* Nothing here is process-wide: two syntheses on two threads each bring their own. */
typedef struct bark_exec {
    const bark_kernels *k; /* the kernel table */
    bark_gemm gemm;        /* BARK_GEMM_INT8 or BARK_GEMM_SGEMM (AUTO resolved by bark_exec_init) */
    bark_pool *pool;       /* the worker threads */
} bark_exec;

/* n_threads: 0 or more than bark_pool_cpu_count() take that count; isa: NULL/"auto" or a table name
 * (BARK_ERR_UNSUPPORTED naming it when this CPU lacks it); gemm AUTO: int8 where the CPU prefers it. */
BARK_NODISCARD bark_status bark_exec_init(bark_exec *ex, int n_threads, const char *isa, bark_gemm gemm,
                                          bark_error *err);
void bark_exec_free(bark_exec *ex); /* accepts NULL and zeroed */

#endif
