/* sha256.c: SHA-256 (FIPS 180-4): of bytes, of a whole file, as hex (voice provenance, the serve cache's keys). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sha256.h"

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
    0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
    0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
    0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

static uint32_t ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void block(sha256_ctx *h, const unsigned char *p) {
    uint32_t w[64], a[8];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        const uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        const uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    memcpy(a, h->state, sizeof a);
    for (int i = 0; i < 64; i++) {
        const uint32_t t1 = a[7] + (ror(a[4], 6) ^ ror(a[4], 11) ^ ror(a[4], 25)) + ((a[4] & a[5]) ^ (~a[4] & a[6])) +
                            K[i] + w[i];
        const uint32_t t2 =
            (ror(a[0], 2) ^ ror(a[0], 13) ^ ror(a[0], 22)) + ((a[0] & a[1]) ^ (a[0] & a[2]) ^ (a[1] & a[2]));
        memmove(a + 1, a, 7 * sizeof *a);
        a[4] += t1;
        a[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++) h->state[i] += a[i];
}

void sha256_init(sha256_ctx *h) {
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(h->state, iv, sizeof iv);
    h->total = 0;
}

void sha256_update(sha256_ctx *h, const void *data, size_t n) {
    const unsigned char *p = data;
    size_t have = (size_t)(h->total % 64);
    h->total += n;
    if (have) {
        const size_t k = n < 64 - have ? n : 64 - have;
        memcpy(h->buf + have, p, k);
        p += k, n -= k, have += k;
        if (have < 64) return;
        block(h, h->buf);
    }
    for (; n >= 64; p += 64, n -= 64) block(h, p);
    memcpy(h->buf, p, n);
}

void sha256_final(sha256_ctx *h, unsigned char out[32]) {
    const uint64_t bits = h->total * 8;
    unsigned char pad[72] = {0x80};
    const size_t have = (size_t)(h->total % 64), k = have < 56 ? 56 - have : 120 - have;
    for (int i = 0; i < 8; i++) pad[k + (size_t)i] = (unsigned char)(bits >> (56 - 8 * i));
    sha256_update(h, pad, k + 8);
    for (int i = 0; i < 8; i++)
        for (int b = 0; b < 4; b++) out[4 * i + b] = (unsigned char)(h->state[i] >> (24 - 8 * b));
}

void hex_encode(const unsigned char *b, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) out[2 * i] = digits[b[i] >> 4], out[2 * i + 1] = digits[b[i] & 15];
    out[2 * n] = 0;
}

int sha256_file(const char *path, unsigned char digest[32]) {
    enum { CHUNK = 1 << 20 };
    FILE *f = fopen(path, "rb");
    unsigned char *b = f ? malloc(CHUNK) : NULL;
    if (!b) {
        if (f) fclose(f);
        return -1;
    }
    sha256_ctx h;
    sha256_init(&h);
    size_t n;
    while ((n = fread(b, 1, CHUNK, f)) > 0) sha256_update(&h, b, n);
    const int bad = ferror(f);
    fclose(f);
    free(b);
    sha256_final(&h, digest);
    return bad ? -1 : 0;
}
