/* exec.c: a synthesis's kernel table, GEMM rule and thread pool, chosen from its parameters. */
#include "core/exec.h"

#include <string.h>

#include "core/error.h"

bark_status bark_exec_init(bark_exec *ex, int n_threads, const char *isa, bark_gemm gemm, bark_error *err) {
    memset(ex, 0, sizeof *ex);
    if (gemm != BARK_GEMM_AUTO && gemm != BARK_GEMM_INT8 && gemm != BARK_GEMM_SGEMM)
        return bark_fail(err, BARK_ERR_ARG, "unknown GEMM mode %d", (int)gemm);
    ex->k = !isa || !*isa || !strcmp(isa, "auto") ? bark_kernels_get() : bark_kernels_by_name(isa);
    if (!ex->k)
        return bark_fail(err, BARK_ERR_UNSUPPORTED, "kernels '%s' are not built in or this CPU lacks them "
                         "(auto, c, avx2, avx512, neon)", isa);
    ex->gemm = gemm != BARK_GEMM_AUTO ? gemm : bark_cpu_prefers_int8_gemm() ? BARK_GEMM_INT8 : BARK_GEMM_SGEMM;
    int cpus = bark_pool_cpu_count();
    if (n_threads <= 0 || n_threads > cpus) n_threads = cpus;
    if (!(ex->pool = bark_pool_create(n_threads))) return bark_fail(err, BARK_ERR_NOMEM, "out of memory for threads");
    return BARK_OK;
}

void bark_exec_free(bark_exec *ex) {
    if (!ex) return;
    bark_pool_free(ex->pool);
    memset(ex, 0, sizeof *ex);
}
