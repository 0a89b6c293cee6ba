/* zip.h: a reader of zip archives held in memory (ZIP64, stored and deflated members), for npz and torch files. */
#ifndef BARK_ZIP_H
#define BARK_ZIP_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Members larger than this (uncompressed) are refused when deflated (stored members are views). */
#define ZIP_MAX_INFLATE ((uint64_t)1 << 32)

typedef struct zip_entry {
    char *name;            /* NUL-terminated copy */
    uint16_t method;       /* 0 stored, 8 deflate */
    uint32_t crc;
    uint64_t comp_size, size;
    uint64_t header_offset; /* of the local header */
    uint64_t data_offset;   /* of the member's (compressed) bytes */
} zip_entry;

typedef struct zip_archive {
    const uint8_t *buf;
    size_t size;
    const char *label;     /* the file name used in messages (not copied) */
    zip_entry *e;
    size_t n;
} zip_archive;

/* Reads the central directory of the archive buf[0..size) and checks every entry (its local header,
 * method, bounds, no overlap, no duplicate names). buf and label must outlive z. */
bark_status zip_open_mem(zip_archive *z, const uint8_t *buf, size_t size, const char *label, bark_error *err);
void zip_close(zip_archive *z);
const zip_entry *zip_find(const zip_archive *z, const char *name);
/* The uncompressed bytes of a member: a view into buf for stored members (*owned = NULL), else a
 * malloc'd buffer returned in *owned (the caller frees it) after its size and CRC-32 were checked. */
bark_status zip_read(const zip_archive *z, const zip_entry *e, const uint8_t **data, size_t *size, void **owned,
                     bark_error *err);

#endif
