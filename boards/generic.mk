# boards/generic.mk: a portable build for the machine that compiles it (SIMD tables chosen at run time).
ARCH := $(shell uname -m)
ifeq ($(ARCH),x86_64)
BOARD_ARCH_SRC := $(wildcard arch/x86/*.c)
BOARD_CFLAGS := -DBARK_HAVE_AVX2
endif
ifeq ($(ARCH),aarch64)
BOARD_ARCH_SRC := $(wildcard arch/arm/*.c)
BOARD_CFLAGS := -DBARK_HAVE_NEON
endif
BOARD_CFLAGS ?=
