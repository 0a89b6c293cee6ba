# boards/generic.mk: a portable build for the machine that compiles it (x86-64 gets AVX2 kernels, chosen at run time).
ARCH := $(shell uname -m)
ifeq ($(ARCH),x86_64)
BOARD_ARCH_SRC := $(wildcard arch/x86/*.c)
endif
ifeq ($(ARCH),aarch64)
BOARD_ARCH_SRC := $(wildcard arch/arm/*.c)
endif
BOARD_CFLAGS :=
