/* kernels_arm64_main.c: the kernel checks as a plain program for the arm64 cross build (run under qemu-aarch64). */
#include <stdio.h>
#include <string.h>

#include "kernel_checks.h"

int main(int argc, char **argv) {
    const char *want = argc > 1 ? argv[1] : "neon";
    const bark_kernels *k = bark_kernels_by_name("neon");
    if (!k || strcmp(k->name, want)) {
        printf("arm64 kernels: expected table %s, the CPU gives %s\n[  FAILED  ] 1 test(s).\n", want, k ? k->name : "none");
        return 1;
    }
    int fails = kc_check_table(k, 12345, 300, stdout) + kc_check_polynomials(stdout);
    if (fails) printf("[  FAILED  ] %d test(s).\n", fails);
    else printf("[  PASSED  ] 1 test(s).\n");
    return fails != 0;
}
