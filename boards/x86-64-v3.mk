# boards/x86-64-v3.mk: x86-64 CPUs with AVX2, FMA and F16C (Haswell+, Zen+): the whole build tuned for them.
BOARD_ARCH_SRC := $(wildcard arch/x86/*.c)
BOARD_CFLAGS := -DBARK_HAVE_AVX2 -march=x86-64-v3 -mtune=generic
