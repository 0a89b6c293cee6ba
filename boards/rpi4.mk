# boards/rpi4.mk: Raspberry Pi 4 (Cortex-A72, ARMv8.0-A: NEON without dotprod), native or CC=aarch64-linux-gnu-gcc.
BOARD_ARCH_SRC := $(wildcard arch/arm/*.c)
BOARD_CFLAGS := -DBARK_HAVE_NEON -march=armv8-a+crc -mtune=cortex-a72
