# boards/rpi5.mk: Raspberry Pi 5 (Cortex-A76, ARMv8.2-A with dotprod), native or CC=aarch64-linux-gnu-gcc.
BOARD_ARCH_SRC := $(wildcard arch/arm/*.c)
BOARD_CFLAGS := -DBARK_HAVE_NEON -march=armv8.2-a+dotprod+fp16 -mtune=cortex-a76
# Prefills and the fine stage default to OpenBLAS sgemm on Arm; BARK_GEMM=int8 runs the SDOT int8 GEMM instead
# (bit-identical to its C twin under qemu; its speed on a real Cortex-A76 has not been measured).
