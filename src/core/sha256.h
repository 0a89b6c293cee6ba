/* sha256.h: SHA-256 of bytes and of whole files, and bytes as hex (internal). */
#ifndef BARK_SHA256_H
#define BARK_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha256_ctx {
    uint32_t state[8];
    uint64_t total;
    unsigned char buf[64];
} sha256_ctx;
void sha256_init(sha256_ctx *h);
void sha256_update(sha256_ctx *h, const void *data, size_t n);
void sha256_final(sha256_ctx *h, unsigned char out[32]);
/* The SHA-256 of a whole file into digest; -1 when it cannot be read. */
int sha256_file(const char *path, unsigned char digest[32]);
/* n bytes as 2n lowercase hex digits and a NUL. */
void hex_encode(const unsigned char *b, size_t n, char *out);

#endif
