/* zip.c: zip central directory, ZIP64 records, local headers and bounded inflate over a memory buffer. */
#include "formats/zip.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOC64 0x07064b50u

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24); }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32); }

void zip_close(zip_archive *z) {
    if (!z) return;
    for (size_t i = 0; i < z->n; i++) free(z->e[i].name);
    free(z->e);
    z->e = NULL;
    z->n = 0;
}

/* Reads the ZIP64 extended information extra field for the fields that were saturated. */
static bark_status zip64_extra(const zip_archive *z, const uint8_t *x, size_t xlen, zip_entry *e, int need_size,
                               int need_csize, int need_off, int need_disk, bark_error *err) {
    while (xlen >= 4) {
        uint16_t id = rd16(x), len = rd16(x + 2);
        if ((size_t)len > xlen - 4) return bark_fail(err, BARK_ERR_FORMAT, "%s: zip extra field past its end", z->label);
        if (id == 0x0001) {
            const uint8_t *p = x + 4;
            size_t left = len;
            uint64_t *dst[3] = { need_size ? &e->size : NULL, need_csize ? &e->comp_size : NULL,
                                 need_off ? &e->header_offset : NULL };
            for (int k = 0; k < 3; k++) {
                if (!dst[k]) continue;
                if (left < 8) return bark_fail(err, BARK_ERR_FORMAT, "%s: zip64 extra field too short", z->label);
                *dst[k] = rd64(p);
                p += 8;
                left -= 8;
            }
            if (need_disk && (left < 4 || rd32(p) != 0))
                return bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: multi-disk zip archives are not supported", z->label);
            return BARK_OK;
        }
        x += 4 + len;
        xlen -= 4 + (size_t)len;
    }
    if (need_size || need_csize || need_off || need_disk)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: zip entry lacks its zip64 extra field", z->label);
    return BARK_OK;
}

static int cmp_offset(const void *a, const void *b) {
    const zip_entry *x = a, *y = b;
    return x->header_offset < y->header_offset ? -1 : x->header_offset > y->header_offset;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp(((const zip_entry *)a)->name, ((const zip_entry *)b)->name);
}

/* Finds the end of central directory record (possibly followed by a comment). */
static bark_status find_eocd(const zip_archive *z, size_t *pos, bark_error *err) {
    if (z->size < 22) return bark_fail(err, BARK_ERR_FORMAT, "%s: too short for a zip archive", z->label);
    size_t lo = z->size - 22 > 65535 ? z->size - 22 - 65535 : 0;
    for (size_t i = z->size - 22 + 1; i-- > lo;) {
        const uint8_t *p = z->buf + i;
        if (rd32(p) == SIG_EOCD && (size_t)rd16(p + 20) <= z->size - 22 - i) {
            *pos = i;
            return BARK_OK;
        }
    }
    return bark_fail(err, BARK_ERR_FORMAT, "%s: no zip end of central directory record", z->label);
}

static bark_status read_entry(zip_archive *z, const uint8_t *p, size_t left, uint64_t cd_end, zip_entry *e,
                              size_t *used, bark_error *err) {
    if (left < 46 || rd32(p) != SIG_CENTRAL)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: bad zip central directory entry", z->label);
    uint16_t flags = rd16(p + 8), method = rd16(p + 10);
    size_t nlen = rd16(p + 28), xlen = rd16(p + 30), clen = rd16(p + 32);
    if (46 + nlen + xlen + clen > left)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: zip central directory entry past its end", z->label);
    if (nlen == 0 || memchr(p + 46, 0, nlen))
        return bark_fail(err, BARK_ERR_FORMAT, "%s: bad zip member name", z->label);
    e->name = malloc(nlen + 1);
    if (!e->name) return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", z->label);
    memcpy(e->name, p + 46, nlen);
    e->name[nlen] = '\0';
    if (flags & 0x41)
        return bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: zip member %s is encrypted", z->label, e->name);
    if (method != 0 && method != 8)
        return bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: zip member %s uses compression method %u", z->label, e->name,
                         (unsigned)method);
    e->method = method;
    e->crc = rd32(p + 16);
    e->comp_size = rd32(p + 20);
    e->size = rd32(p + 24);
    e->header_offset = rd32(p + 42);
    uint16_t disk = rd16(p + 34);
    bark_status st = zip64_extra(z, p + 46 + nlen, xlen, e, e->size == 0xFFFFFFFFu, e->comp_size == 0xFFFFFFFFu,
                                 e->header_offset == 0xFFFFFFFFu, disk == 0xFFFF, err);
    if (st != BARK_OK) return st;
    if (disk != 0 && disk != 0xFFFF)
        return bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: multi-disk zip archives are not supported", z->label);
    if (method == 0 && e->comp_size != e->size)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: stored zip member %s has two sizes", z->label, e->name);
    /* The local header: its own name and extra lengths. */
    if (e->header_offset > cd_end || cd_end - e->header_offset < 30)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: zip member %s: local header out of range", z->label, e->name);
    const uint8_t *l = z->buf + e->header_offset;
    if (rd32(l) != SIG_LOCAL)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: zip member %s: bad local header", z->label, e->name);
    size_t lnlen = rd16(l + 26), lxlen = rd16(l + 28);
    if (rd16(l + 8) != method || lnlen != nlen)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: zip member %s: local header disagrees", z->label, e->name);
    e->data_offset = e->header_offset + 30 + lnlen + lxlen;
    if (e->data_offset > cd_end || memcmp(l + 30, e->name, nlen) != 0)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: zip member %s: local header disagrees", z->label, e->name);
    if (e->comp_size > cd_end - e->data_offset)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: zip member %s: data out of range", z->label, e->name);
    *used = 46 + nlen + xlen + clen;
    return BARK_OK;
}

bark_status zip_open_mem(zip_archive *z, const uint8_t *buf, size_t size, const char *label, bark_error *err) {
    memset(z, 0, sizeof *z);
    z->buf = buf;
    z->size = size;
    z->label = label ? label : "zip";
    size_t eocd = 0;
    bark_status st = find_eocd(z, &eocd, err);
    if (st != BARK_OK) return st;
    const uint8_t *p = buf + eocd;
    uint64_t n_entries = rd16(p + 10), cd_size = rd32(p + 12), cd_off = rd32(p + 16);
    uint64_t cd_limit = eocd; /* the central directory ends before the (zip64) end records */
    if (rd16(p + 4) != 0 || rd16(p + 6) != 0 || rd16(p + 8) != rd16(p + 10))
        return bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: multi-disk zip archives are not supported", z->label);
    if (eocd >= 20 && rd32(buf + eocd - 20) == SIG_LOC64) {
        const uint8_t *loc = buf + eocd - 20;
        uint64_t off64 = rd64(loc + 8);
        if (rd32(loc + 4) != 0 || rd32(loc + 16) > 1)
            return bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: multi-disk zip archives are not supported", z->label);
        if (off64 > eocd - 20 || eocd - 20 - off64 < 56 || rd32(buf + off64) != SIG_EOCD64)
            return bark_fail(err, BARK_ERR_FORMAT, "%s: bad zip64 end of central directory", z->label);
        const uint8_t *q = buf + off64;
        if (rd32(q + 16) != 0 || rd32(q + 20) != 0 || rd64(q + 24) != rd64(q + 32))
            return bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: multi-disk zip archives are not supported", z->label);
        n_entries = rd64(q + 32);
        cd_size = rd64(q + 40);
        cd_off = rd64(q + 48);
        cd_limit = off64;
    }
    if (cd_off > cd_limit || cd_size > cd_limit - cd_off)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: zip central directory out of range", z->label);
    if (n_entries == 0) return bark_fail(err, BARK_ERR_FORMAT, "%s: empty zip archive", z->label);
    if (n_entries > cd_size / 46)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: zip entry count %llu does not fit its directory", z->label,
                         (unsigned long long)n_entries);
    z->e = calloc((size_t)n_entries, sizeof *z->e);
    if (!z->e) return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", z->label);
    const uint8_t *c = buf + cd_off;
    size_t left = (size_t)cd_size;
    for (uint64_t i = 0; i < n_entries; i++) {
        size_t used = 0;
        z->n++;
        st = read_entry(z, c, left, cd_off, &z->e[i], &used, err);
        if (st != BARK_OK) goto fail;
        c += used;
        left -= used;
    }
    /* No two members may share bytes or a name. */
    qsort(z->e, z->n, sizeof *z->e, cmp_offset);
    for (size_t i = 1; i < z->n; i++)
        if (z->e[i].header_offset < z->e[i - 1].data_offset + z->e[i - 1].comp_size) {
            st = bark_fail(err, BARK_ERR_FORMAT, "%s: zip members %s and %s overlap", z->label, z->e[i - 1].name,
                           z->e[i].name);
            goto fail;
        }
    qsort(z->e, z->n, sizeof *z->e, cmp_name);
    for (size_t i = 1; i < z->n; i++)
        if (strcmp(z->e[i].name, z->e[i - 1].name) == 0) {
            st = bark_fail(err, BARK_ERR_FORMAT, "%s: zip member %s appears twice", z->label, z->e[i].name);
            goto fail;
        }
    return BARK_OK;
fail:
    zip_close(z);
    return st;
}

const zip_entry *zip_find(const zip_archive *z, const char *name) {
    size_t lo = 0, hi = z->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(z->e[mid].name, name);
        if (c == 0) return &z->e[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

bark_status zip_read(const zip_archive *z, const zip_entry *e, const uint8_t **data, size_t *size, void **owned,
                     bark_error *err) {
    *owned = NULL;
    const uint8_t *src = z->buf + e->data_offset;
    if (e->method == 0) {
        *data = src;
        *size = (size_t)e->size;
        return BARK_OK;
    }
    /* Deflate can expand at most ~1032:1; anything beyond is a lie about the size. */
    if (e->size > ZIP_MAX_INFLATE || e->size > SIZE_MAX || e->size / 1032 > e->comp_size + 1)
        return bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: zip member %s: declared size %llu is too large", z->label,
                         e->name, (unsigned long long)e->size);
    size_t n = (size_t)e->size;
    uint8_t *out = malloc(n ? n : 1);
    if (!out) return bark_fail(err, BARK_ERR_NOMEM, "%s: zip member %s: out of memory", z->label, e->name);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, -15) != Z_OK) {
        free(out);
        return bark_fail(err, BARK_ERR_NOMEM, "%s: zip member %s: cannot start inflate", z->label, e->name);
    }
    uint64_t in_left = e->comp_size;
    size_t out_done = 0;
    int rc = Z_OK;
    const uint8_t *in = src;
    while (rc == Z_OK) {
        if (zs.avail_in == 0 && in_left > 0) {
            uInt chunk = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
            zs.next_in = (Bytef *)(uintptr_t)in;
            zs.avail_in = chunk;
            in += chunk;
            in_left -= chunk;
        }
        size_t room = n - out_done;
        uInt ochunk = room > (1u << 30) ? (1u << 30) : (uInt)room;
        uint8_t spare;
        /* With the buffer full, inflate into one spare byte to learn whether more data follows. */
        zs.next_out = ochunk ? out + out_done : &spare;
        zs.avail_out = ochunk ? ochunk : 1;
        uInt before = zs.avail_out;
        rc = inflate(&zs, Z_NO_FLUSH); /* Z_OK only after progress; Z_BUF_ERROR when input ran out */
        size_t produced = before - zs.avail_out;
        if (!ochunk && produced) {
            rc = Z_DATA_ERROR; /* more data than declared */
            break;
        }
        out_done += produced;
    }
    inflateEnd(&zs);
    if (rc != Z_STREAM_END || out_done != n || in_left != 0 || zs.avail_in != 0) {
        free(out);
        return bark_fail(err, BARK_ERR_FORMAT, "%s: zip member %s: deflate data is corrupt or not %zu bytes",
                         z->label, e->name, n);
    }
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t o = 0; o < n;) {
        uInt chunk = n - o > (1u << 30) ? (1u << 30) : (uInt)(n - o);
        crc = crc32(crc, out + o, chunk);
        o += chunk;
    }
    if ((uint32_t)crc != e->crc) {
        free(out);
        return bark_fail(err, BARK_ERR_FORMAT, "%s: zip member %s: CRC-32 mismatch", z->label, e->name);
    }
    *data = out;
    *size = n;
    *owned = out;
    return BARK_OK;
}
