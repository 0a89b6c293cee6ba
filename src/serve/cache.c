/* cache.c: `bark serve`'s cache of rendered speech: FLAC files in a folder, their keys, sizes, digests and last use
 * in SQLite; least-recently-used eviction; a broken entry is a miss; GET and DELETE /v1/cache. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sndfile.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "serve/srv.h"

#define DB_NAME "cache.sqlite"
#define MAX_FILE (256u << 20) /* a cached file beyond this is not read (a broken entry) */

struct srv_cache {
    pthread_mutex_t mu; /* the database and what follows */
    sqlite3 *db;
    char audio[PATH_MAX];
    unsigned char model[32];
    char engine[128];
    uint64_t max_bytes;
    int64_t clock; /* the last last_use handed out (ms since the epoch, strictly increasing) */
    uint64_t hits, misses, evictions, entries, bytes;
};

/* mkdir -p. */
static int make_dirs(const char *dir) {
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) return -1;
    for (char *at = p + 1; *at; at++)
        if (*at == '/') {
            *at = 0;
            if (mkdir(p, 0755) && errno != EEXIST) return -1;
            *at = '/';
        }
    return mkdir(p, 0755) && errno != EEXIST ? -1 : 0;
}

/* Runs statements that return no rows; 0 or -1. */
static int exec(srv_cache *c, const char *sql) {
    return sqlite3_exec(c->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* Entries and bytes as the database says (c->mu held). */
static void recount(srv_cache *c) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db, "SELECT count(*), coalesce(sum(bytes), 0), coalesce(max(last_use), 0) FROM entries",
                           -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        c->entries = (uint64_t)sqlite3_column_int64(st, 0);
        c->bytes = (uint64_t)sqlite3_column_int64(st, 1);
        const int64_t last = sqlite3_column_int64(st, 2);
        if (last > c->clock) c->clock = last;
    }
    sqlite3_finalize(st);
}

srv_cache *srv_cache_open(const char *dir, const unsigned char model_digest[32], const char *engine,
                          uint64_t max_bytes, char *why, size_t cap) {
    srv_cache *c = calloc(1, sizeof *c);
    char db[PATH_MAX + 32];
    if (!c) return snprintf(why, cap, "out of memory"), NULL;
    snprintf(c->audio, sizeof c->audio, "%s/audio", dir);
    snprintf(db, sizeof db, "%s/" DB_NAME, dir);
    memcpy(c->model, model_digest, 32);
    snprintf(c->engine, sizeof c->engine, "%s", engine);
    c->max_bytes = max_bytes;
    pthread_mutex_init(&c->mu, NULL);
    if (make_dirs(c->audio)) {
        snprintf(why, cap, "cannot make the folder %s: %s", c->audio, strerror(errno));
        srv_cache_close(c);
        return NULL;
    }
    int rc = sqlite3_open_v2(db, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(c->db, 2000);
        rc = exec(c, "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, path TEXT NOT NULL, "
                     "bytes INTEGER NOT NULL, sha256 TEXT NOT NULL, text TEXT NOT NULL, voice TEXT NOT NULL, "
                     "seed INTEGER NOT NULL, last_use INTEGER NOT NULL);"
                     "CREATE INDEX IF NOT EXISTS entries_by_use ON entries (last_use);")
                 ? SQLITE_ERROR : SQLITE_OK;
    }
    if (rc != SQLITE_OK) {
        snprintf(why, cap, "cannot open the database %s: %s", db, c->db ? sqlite3_errmsg(c->db) : "out of memory");
        srv_cache_close(c);
        return NULL;
    }
    recount(c);
    return c;
}

void srv_cache_close(srv_cache *c) {
    if (!c) return;
    sqlite3_close(c->db);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static void put_u64(sha256_ctx *h, uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
    sha256_update(h, b, 8);
}

static void put_float(sha256_ctx *h, double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    put_u64(h, bits);
}

void srv_cache_key(const srv_cache *c, srv_speech_req *q, const bark_synth_params *p) {
    /* every parameter of bark_synth_params that changes samples */
    sha256_ctx h;
    sha256_init(&h);
    sha256_update(&h, "bark serve cache 1 " BARK_VERSION, sizeof "bark serve cache 1 " BARK_VERSION);
    sha256_update(&h, c->model, 32);
    sha256_update(&h, c->engine, strlen(c->engine) + 1);
    sha256_update(&h, q->voice, strlen(q->voice) + 1);
    sha256_update(&h, q->text, strlen(q->text) + 1);
    put_u64(&h, q->seed);
    put_float(&h, p->text_temp), put_float(&h, p->waveform_temp), put_float(&h, p->fine_temp);
    put_u64(&h, (uint64_t)p->top_k), put_float(&h, p->top_p), put_float(&h, p->min_eos_p);
    put_float(&h, p->max_seconds), put_u64(&h, (uint64_t)p->greedy), put_u64(&h, p->max_piece);
    unsigned char d[32];
    sha256_final(&h, d);
    hex_encode(d, 32, q->key);
}

uint64_t srv_cache_default_seed(const char *text, const char *voice) {
    sha256_ctx h;
    unsigned char d[32];
    sha256_init(&h);
    sha256_update(&h, "bark default seed", sizeof "bark default seed");
    sha256_update(&h, voice, strlen(voice) + 1);
    sha256_update(&h, text, strlen(text));
    sha256_final(&h, d);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)d[i] << (8 * i);
    return v & ((UINT64_C(1) << 53) - 1);
}

void srv_cache_file(const srv_cache *c, const char *key, char *path, size_t cap) {
    snprintf(path, cap, "%s/%s.flac", c->audio, key);
}

/* A whole file into memory when it has exactly `bytes` bytes and the digest `sha` (hex); NULL otherwise. */
static unsigned char *read_checked(const char *path, uint64_t bytes, const char *sha) {
    if (bytes == 0 || bytes > MAX_FILE) return NULL;
    FILE *f = fopen(path, "rb");
    unsigned char *b = f ? malloc(bytes + 1) : NULL;
    const int whole = b && fread(b, 1, bytes + 1, f) == bytes;
    if (f) fclose(f);
    unsigned char d[32];
    char hex[65];
    sha256_ctx h;
    if (whole) {
        sha256_init(&h);
        sha256_update(&h, b, bytes);
        sha256_final(&h, d);
        hex_encode(d, 32, hex);
    }
    if (!whole || strcmp(hex, sha)) {
        free(b);
        return NULL;
    }
    return b;
}

/* A FLAC file in memory, for libsndfile's virtual I/O. */
typedef struct mem_file {
    const unsigned char *b;
    sf_count_t len, pos;
} mem_file;

static sf_count_t mem_size(void *u) { return ((mem_file *)u)->len; }
static sf_count_t mem_tell(void *u) { return ((mem_file *)u)->pos; }
static sf_count_t mem_write(const void *p, sf_count_t n, void *u) { return 0; }
static sf_count_t mem_seek(sf_count_t off, int whence, void *u) {
    mem_file *m = u;
    const sf_count_t at = (whence == SEEK_CUR ? m->pos : whence == SEEK_END ? m->len : 0) + off;
    if (at < 0 || at > m->len) return -1;
    return m->pos = at;
}
static sf_count_t mem_read(void *p, sf_count_t n, void *u) {
    mem_file *m = u;
    if (n > m->len - m->pos) n = m->len - m->pos;
    memcpy(p, m->b + m->pos, (size_t)n);
    m->pos += n;
    return n;
}

/* The 16-bit samples of a FLAC file in memory as q's body (WAV: the streamed header first; PCM: bare), little
 * endian, as a fresh synthesis sends them; NULL when it does not decode. */
static unsigned char *flac_to_body(const unsigned char *flac, size_t len, srv_format format, size_t *out_len) {
    SF_VIRTUAL_IO io = {mem_size, mem_seek, mem_read, mem_write, mem_tell};
    mem_file m = {flac, (sf_count_t)len, 0};
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *f = sf_open_virtual(&io, SFM_READ, &info, &m);
    if (!f) return NULL;
    const size_t head = format == SRV_WAV ? 44 : 0, n = (size_t)info.frames;
    unsigned char *b = NULL;
    int16_t *s = NULL;
    if (info.channels == 1 && info.samplerate == BARK_SAMPLE_RATE_HZ && info.frames > 0 &&
        (s = malloc(n * sizeof *s)) && (b = malloc(head + 2 * n)) && sf_readf_short(f, s, info.frames) == info.frames) {
        if (head) srv_wav_header(b);
        for (size_t i = 0; i < n; i++)
            b[head + 2 * i] = (unsigned char)(s[i] & 0xff), b[head + 2 * i + 1] = (unsigned char)((uint16_t)s[i] >> 8);
        *out_len = head + 2 * n;
    } else {
        free(b), b = NULL;
    }
    free(s);
    sf_close(f);
    return b;
}

/* Forgets key (its row and its file; c->mu held). */
static void drop(srv_cache *c, const char *key) {
    sqlite3_stmt *st = NULL;
    char path[PATH_MAX + 80];
    if (sqlite3_prepare_v2(c->db, "DELETE FROM entries WHERE key = ?1", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        sqlite3_step(st);
    }
    sqlite3_finalize(st);
    srv_cache_file(c, key, path, sizeof path);
    unlink(path);
}

/* The next last_use: the wall clock in ms, and always after the previous one (c->mu held). */
static int64_t tick(srv_cache *c) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    const int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    return c->clock = now > c->clock ? now : c->clock + 1;
}

int srv_cache_lookup(srv_cache *c, const srv_speech_req *q, unsigned char **body, size_t *len, int count) {
    sqlite3_stmt *st = NULL;
    char path[PATH_MAX + 80];
    unsigned char *file = NULL;
    size_t flen = 0;
    int found = 0;
    *body = NULL, *len = 0;
    srv_cache_file(c, q->key, path, sizeof path);
    pthread_mutex_lock(&c->mu);
    if (sqlite3_prepare_v2(c->db, "SELECT bytes, sha256 FROM entries WHERE key = ?1", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, q->key, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            found = 1;
            flen = (size_t)sqlite3_column_int64(st, 0);
            file = read_checked(path, (uint64_t)flen, (const char *)sqlite3_column_text(st, 1));
        }
    }
    sqlite3_finalize(st);
    if (file) {
        if (q->format == SRV_FLAC) *body = file, *len = flen, file = NULL;
        else *body = flac_to_body(file, flen, q->format, len);
    }
    if (*body && sqlite3_prepare_v2(c->db, "UPDATE entries SET last_use = ?1 WHERE key = ?2", -1, &st, NULL) ==
                     SQLITE_OK) {
        sqlite3_bind_int64(st, 1, tick(c));
        sqlite3_bind_text(st, 2, q->key, -1, SQLITE_STATIC);
        sqlite3_step(st);
        sqlite3_finalize(st);
    }
    if (found && !*body) { /* missing, truncated, changed or undecodable: regenerated, then stored again */
        drop(c, q->key);
        recount(c);
    }
    if (count && *body) c->hits++;
    else if (count) c->misses++;
    pthread_mutex_unlock(&c->mu);
    free(file);
    return *body != NULL;
}

/* Drops the least recently used entries while the files are over the limit (c->mu held). */
static void evict(srv_cache *c) {
    for (int guard = 0; c->bytes > c->max_bytes && guard < 100000; guard++) {
        sqlite3_stmt *st = NULL;
        char key[65] = "";
        if (sqlite3_prepare_v2(c->db, "SELECT key FROM entries ORDER BY last_use LIMIT 1", -1, &st, NULL) ==
                SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
            snprintf(key, sizeof key, "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        if (!key[0]) break;
        drop(c, key);
        c->evictions++;
        recount(c);
    }
}

void srv_cache_put(srv_cache *c, const srv_speech_req *q) {
    char path[PATH_MAX + 80], hex[65];
    unsigned char d[32];
    struct stat sb;
    srv_cache_file(c, q->key, path, sizeof path);
    if (stat(path, &sb) || sha256_file(path, d)) return;
    hex_encode(d, 32, hex);
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&c->mu);
    if (sqlite3_prepare_v2(c->db, "INSERT OR REPLACE INTO entries (key, path, bytes, sha256, text, voice, seed, "
                           "last_use) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, q->key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, strrchr(path, '/') + 1, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)sb.st_size);
        sqlite3_bind_text(st, 4, hex, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, q->text, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, q->voice, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 7, (sqlite3_int64)q->seed);
        sqlite3_bind_int64(st, 8, tick(c));
        sqlite3_step(st);
    }
    sqlite3_finalize(st);
    recount(c);
    evict(c);
    pthread_mutex_unlock(&c->mu);
}

char *srv_cache_json(srv_cache *c, size_t max) {
    cJSON *root = cJSON_CreateObject(), *list = cJSON_CreateArray();
    sqlite3_stmt *st = NULL;
    size_t n = 0;
    pthread_mutex_lock(&c->mu);
    cJSON_AddBoolToObject(root, "enabled", 1);
    cJSON_AddNumberToObject(root, "count", (double)c->entries);
    cJSON_AddNumberToObject(root, "bytes", (double)c->bytes);
    cJSON_AddNumberToObject(root, "max_bytes", (double)c->max_bytes);
    if (sqlite3_prepare_v2(c->db, "SELECT text, voice, seed, bytes, last_use FROM entries ORDER BY last_use DESC "
                           "LIMIT ?1", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)max);
        while (sqlite3_step(st) == SQLITE_ROW) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "text", (const char *)sqlite3_column_text(st, 0));
            cJSON_AddStringToObject(e, "voice", (const char *)sqlite3_column_text(st, 1));
            cJSON_AddNumberToObject(e, "seed", (double)sqlite3_column_int64(st, 2));
            cJSON_AddNumberToObject(e, "bytes", (double)sqlite3_column_int64(st, 3));
            cJSON_AddNumberToObject(e, "last_use", (double)sqlite3_column_int64(st, 4) / 1000.0);
            cJSON_AddItemToArray(list, e);
            n++;
        }
    }
    sqlite3_finalize(st);
    cJSON_AddBoolToObject(root, "truncated", n < c->entries);
    pthread_mutex_unlock(&c->mu);
    cJSON_AddItemToObject(root, "entries", list);
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return json;
}

uint64_t srv_cache_clear(srv_cache *c) {
    char path[PATH_MAX + 300];
    pthread_mutex_lock(&c->mu);
    const uint64_t n = c->entries;
    exec(c, "DELETE FROM entries");
    DIR *d = opendir(c->audio);
    for (struct dirent *e; d && (e = readdir(d));) /* the files, and any left by a crash between write and row */
        if (e->d_name[0] != '.' && strstr(e->d_name, ".flac")) {
            snprintf(path, sizeof path, "%s/%s", c->audio, e->d_name);
            unlink(path);
        }
    if (d) closedir(d);
    recount(c);
    pthread_mutex_unlock(&c->mu);
    return n;
}

void srv_cache_get_stats(srv_cache *c, srv_cache_stats *out) {
    pthread_mutex_lock(&c->mu);
    *out = (srv_cache_stats){c->hits, c->misses, c->evictions, c->entries, c->bytes, c->max_bytes};
    pthread_mutex_unlock(&c->mu);
}

enum MHD_Result srv_cache_endpoint(serve *s, struct MHD_Connection *c, const char *method) {
    if (!s->cache) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddBoolToObject(root, "enabled", 0);
        if (s->cache_problem[0]) cJSON_AddStringToObject(root, "problem", s->cache_problem);
        char *json = cJSON_PrintUnformatted(root);
        cJSON_Delete(root);
        return srv_reply_json(c, s, SRV_CACHE, MHD_HTTP_OK, json);
    }
    if (!strcmp(method, "DELETE")) {
        char *json = malloc(64);
        if (json) snprintf(json, 64, "{\"deleted\":%llu}", (unsigned long long)srv_cache_clear(s->cache));
        return srv_reply_json(c, s, SRV_CACHE, MHD_HTTP_OK, json);
    }
    return srv_reply_json(c, s, SRV_CACHE, MHD_HTTP_OK, srv_cache_json(s->cache, SRV_CACHE_LIST_MAX));
}

bark_audio_writer *srv_cache_begin(const srv_cache *c, const srv_speech_req *q) {
    char path[PATH_MAX + 80];
    bark_audio_writer *w = NULL;
    bark_error err;
    srv_cache_file(c, q->key, path, sizeof path);
    return bark_audio_writer_open(path, BARK_SAMPLE_RATE_HZ, &w, &err) ? NULL : w;
}

void srv_cache_end(srv_cache *c, const srv_speech_req *q, bark_audio_writer *w, int keep) {
    bark_error err;
    if (w && !bark_audio_writer_close(w, keep, &err) && keep) srv_cache_put(c, q);
}
