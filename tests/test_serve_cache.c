/* test_serve_cache.c: `bark serve`'s cache on the tiny model, in-process: a miss then a hit of the same bytes (every
 * format), a restart, deleted and truncated files, LRU eviction, requests without a seed, identical requests at once,
 * warming, an unusable database, GET and DELETE /v1/cache. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bark.h"
#include "serve/srv.h"
#include "util/serve_client.h"
#include "util/testutil.h"

#define SPEECH "/v1/audio/speech"

typedef struct fixture {
    char *dir, model[512], cache[600];
    bark_context *ctx;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (!f || !(f->dir = tu_tmpdir()) || ts_open_tiny(f->dir, f->model, sizeof f->model, &f->ctx)) return -1;
    snprintf(f->cache, sizeof f->cache, "%s/cache", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    bark_context_free(f->ctx);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* A server on the tiny model with its cache in dir (NULL: none), at most max_bytes. */
static serve *start(fixture *f, const char *dir, uint64_t max_bytes, int *port) {
    serve_config cfg = serve_default_config();
    cfg.ctx = f->ctx, cfg.model = f->model, cfg.port = 0, cfg.max_queue = 8;
    cfg.cache_dir = dir, cfg.cache_max_bytes = max_bytes;
    serve *s = NULL;
    bark_error err = {BARK_OK, ""};
    if (serve_open(&cfg, &s, &err)) fail_msg("serve_open: %s", err.msg);
    *port = serve_port(s);
    return s;
}

/* POSTs a speech request; checks 200 and the X-Bark-Cache header (hit, miss or off). */
static ts_response speak(int port, const char *text, uint64_t seed, const char *format, const char *cache) {
    char *body = ts_speech_body(text, seed, format), want[64];
    ts_response r = ts_http(port, "POST", SPEECH, TS_JSON, body);
    free(body);
    if (r.status != 200) fail_msg("status %d: %s", r.status, r.body);
    snprintf(want, sizeof want, "X-Bark-Cache: %s", cache);
    if (!strcasestr(r.head, want)) fail_msg("'%s' not in\n%s", want, r.head);
    return r;
}

/* The bytes of a PCM response equal bark_synthesize's. */
static void is_reference(const fixture *f, const ts_response *r, size_t skip, const char *text, uint64_t seed) {
    size_t n;
    unsigned char *want = ts_reference(f->ctx, text, seed, &n);
    assert_int_equal(r->len - skip, n);
    assert_memory_equal(r->body + skip, want, n);
    free(want);
}

/* The cache file of a request (as the server names it). */
static void file_of(const fixture *f, const char *text, uint64_t seed, char *path, size_t cap) {
    srv_speech_req q = {.text = (char *)text, .voice = TS_VOICE, .seed = seed};
    const bark_synth_params d = bark_synth_default_params();
    q.text_temp = d.text_temp, q.waveform_temp = d.waveform_temp;
    unsigned char digest[32];
    char engine[160];
    assert_int_equal(sha256_file(f->model, digest), 0);
    snprintf(engine, sizeof engine, "gemm %d isa %s", (int)BARK_GEMM_AUTO, "auto");
    char why[256];
    srv_cache *c = srv_cache_open(f->cache, digest, engine, 1u << 30, why, sizeof why);
    if (!c) fail_msg("%s", why);
    bark_synth_params p = d; /* as a server without --max-seconds makes them */
    p.voice = q.voice, p.seed = seed;
    srv_cache_key(c, &q, &p);
    srv_cache_file(c, q.key, path, cap);
    srv_cache_close(c);
}

/* ---- the tests ---- */

static void miss_then_hit(void **state) {
    fixture *f = *state;
    int port;
    serve *s = start(f, f->cache, 0, &port);
    const char *text = "Cached once.";
    ts_response miss = speak(port, text, 11, "pcm", "miss");
    is_reference(f, &miss, 0, text, 11);
    double best = 1e9, worst = 0;
    ts_response hit = {0};
    for (int i = 0; i < 5; i++) {
        ts_response_free(&hit);
        const double t0 = tu_now();
        hit = speak(port, text, 11, "pcm", "hit");
        const double ms = 1000 * (tu_now() - t0);
        best = ms < best ? ms : best, worst = ms > worst ? ms : worst;
        assert_int_equal(hit.len, miss.len);
        assert_memory_equal(hit.body, miss.body, miss.len);
    }
    print_message("cache hit latency over 5 hits: best %.1f ms, worst %.1f ms (%zu bytes of PCM; goal < 50 ms)\n",
                  best, worst, hit.len);
    assert_true(best < 1000); /* the goal is 50 ms; generous here for a loaded machine and sanitizers */
    assert_non_null(strcasestr(hit.head, "X-Bark-Seed: 11"));
    assert_non_null(strcasestr(hit.head, "Content-Type: audio/pcm"));
    /* the other formats from the same entry: a WAV is the streamed header and the same samples */
    ts_response wav = speak(port, text, 11, "wav", "hit");
    assert_int_equal(wav.len, miss.len + 44);
    assert_memory_equal(wav.body, "RIFF\xff\xff\xff\xffWAVEfmt ", 16);
    assert_memory_equal(wav.body + 44, miss.body, miss.len);
    ts_response flac = speak(port, text, 11, "flac", "hit");
    assert_memory_equal(flac.body, "fLaC", 4);
    ts_response opus = speak(port, text, 11, "opus", "hit"); /* made from the entry's samples */
    assert_memory_equal(opus.body, "OggS", 4);
    assert_non_null(memmem(opus.body, opus.len < 200 ? opus.len : 200, "OpusHead", 8));
    ts_response_free(&opus);
    assert_true(ts_metric(port, "bark_serve_cache_hits_total ") == 8);
    assert_true(ts_metric(port, "bark_serve_cache_misses_total ") == 1);
    assert_true(ts_metric(port, "bark_serve_cache_entries ") == 1);
    assert_true(ts_metric(port, "bark_serve_cache_bytes ") == (double)flac.len);
    ts_response list = ts_http(port, "GET", "/v1/cache", "", NULL);
    assert_int_equal(list.status, 200);
    assert_non_null(strstr((const char *)list.body, "\"count\":1"));
    assert_non_null(
        strstr((const char *)list.body, "{\"text\":\"Cached once.\",\"voice\":\"" TS_VOICE "\",\"seed\":11,"));
    serve_close(s);
    /* a FLAC said fresh (no cache) is the same file, byte for byte */
    s = start(f, NULL, 0, &port);
    ts_response fresh = speak(port, text, 11, "flac", "off");
    assert_int_equal(fresh.len, flac.len);
    assert_memory_equal(fresh.body, flac.body, flac.len);
    serve_close(s);
    ts_response_free(&miss), ts_response_free(&hit), ts_response_free(&wav), ts_response_free(&flac);
    ts_response_free(&list), ts_response_free(&fresh);
}

static void restart_keeps_hit(void **state) {
    fixture *f = *state;
    int port;
    serve *s = start(f, f->cache, 0, &port);
    ts_response hit = speak(port, "Cached once.", 11, "pcm", "hit");
    is_reference(f, &hit, 0, "Cached once.", 11);
    assert_true(ts_metric(port, "bark_serve_cache_entries ") == 1);
    serve_close(s);
    ts_response_free(&hit);
}

static void broken_files_are_misses(void **state) {
    fixture *f = *state;
    char path[4200];
    int port;
    file_of(f, "Cached once.", 11, path, sizeof path);
    assert_true(tu_exists(path));
    serve *s = start(f, f->cache, 0, &port);
    assert_int_equal(unlink(path), 0); /* deleted: a miss, generated again and the entry repaired */
    ts_response r = speak(port, "Cached once.", 11, "pcm", "miss");
    is_reference(f, &r, 0, "Cached once.", 11);
    ts_response_free(&r);
    assert_true(tu_exists(path));
    r = speak(port, "Cached once.", 11, "pcm", "hit");
    ts_response_free(&r);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(truncate(path, sb.st_size / 2), 0); /* truncated: the same */
    r = speak(port, "Cached once.", 11, "wav", "miss");
    is_reference(f, &r, 44, "Cached once.", 11);
    ts_response_free(&r);
    r = speak(port, "Cached once.", 11, "pcm", "hit");
    is_reference(f, &r, 0, "Cached once.", 11);
    ts_response_free(&r);
    assert_true(ts_metric(port, "bark_serve_cache_entries ") == 1);
    serve_close(s);
}

static void no_seed_not_cached(void **state) {
    fixture *f = *state;
    int port;
    serve *s = start(f, f->cache, 0, &port);
    const double entries = ts_metric(port, "bark_serve_cache_entries ");
    ts_response r = ts_http(port, "POST", SPEECH, TS_JSON,
                            "{\"model\":\"bark\",\"input\":\"No seed.\",\"voice\":\"" TS_VOICE "\","
                            "\"response_format\":\"pcm\"}");
    assert_int_equal(r.status, 200);
    assert_non_null(strcasestr(r.head, "X-Bark-Cache: off"));
    assert_non_null(strcasestr(r.head, "X-Bark-Seed: "));
    ts_response_free(&r);
    assert_true(ts_metric(port, "bark_serve_cache_entries ") == entries);
    assert_true(ts_metric(port, "bark_serve_cache_hits_total ") == 0);
    assert_true(ts_metric(port, "bark_serve_cache_misses_total ") == 0);
    serve_close(s);
}

typedef struct concurrent_req {
    int port;
    ts_response r;
} concurrent_req;

static void *same_request(void *arg) {
    concurrent_req *q = arg;
    char *body = ts_speech_body("All at once.", 21, "pcm");
    int fd = ts_dial(q->port);
    if (fd >= 0) {
        ts_send_request(fd, "POST", SPEECH, TS_JSON, body, strlen(body));
        if (ts_read_response(fd, &q->r)) q->r.status = -1;
        close(fd);
    }
    free(body);
    return NULL;
}

static void concurrent_identical(void **state) {
    fixture *f = *state;
    int port;
    serve *s = start(f, f->cache, 0, &port);
    const double entries = ts_metric(port, "bark_serve_cache_entries ");
    concurrent_req q[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        memset(&q[i], 0, sizeof q[i]);
        q[i].port = port;
        assert_int_equal(pthread_create(&th[i], NULL, same_request, &q[i]), 0);
    }
    for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(q[i].r.status, 200);
        is_reference(f, &q[i].r, 0, "All at once.", 21);
        ts_response_free(&q[i].r);
    }
    assert_true(ts_metric(port, "bark_serve_cache_entries ") == entries + 1);
    ts_response r = speak(port, "All at once.", 21, "pcm", "hit");
    is_reference(f, &r, 0, "All at once.", 21);
    ts_response_free(&r);
    serve_close(s);
}

static void warm_then_hit(void **state) {
    fixture *f = *state;
    int port;
    serve *s = start(f, f->cache, 0, &port);
    const serve_warm_item items[] = {{"Warmed ahead.", TS_VOICE, 0, 0}, {"Cached once.", TS_VOICE, 11, 1}};
    bark_error err = {BARK_OK, ""};
    assert_int_equal(serve_warm(s, items, 2, &err), BARK_OK);
    for (int i = 0; i < 1200 && ts_metric(port, "bark_serve_cache_warm_pending ") != 0; i++) usleep(50 * 1000);
    assert_true(ts_metric(port, "bark_serve_cache_warm_pending ") == 0);
    const uint64_t seed = srv_cache_default_seed("Warmed ahead.", TS_VOICE);
    assert_int_equal(seed, srv_cache_default_seed("Warmed ahead.", TS_VOICE));
    assert_true(seed < (UINT64_C(1) << 53) && seed != srv_cache_default_seed("Warmed ahead!", TS_VOICE));
    ts_response r = speak(port, "Warmed ahead.", seed, "pcm", "hit");
    is_reference(f, &r, 0, "Warmed ahead.", seed);
    ts_response_free(&r);
    serve_close(s);
}

static void eviction_drops_lru(void **state) {
    fixture *f = *state;
    char dir[700];
    int port;
    snprintf(dir, sizeof dir, "%s/small", f->dir);
    serve *s = start(f, dir, 1, &port); /* 1 byte: learn an entry's size first */
    ts_response r = speak(port, "First.", 31, "flac", "miss");
    const size_t one = r.len;
    ts_response_free(&r);
    assert_true(ts_metric(port, "bark_serve_cache_entries ") == 0); /* alone over the limit: evicted at once */
    assert_true(ts_metric(port, "bark_serve_cache_evictions_total ") == 1);
    serve_close(s);
    s = start(f, dir, (uint64_t)(2.5 * (double)one), &port); /* two entries of that size fit, not three */
    static const char *const texts[3] = {"First.", "Second.", "Third."};
    r = speak(port, texts[0], 31, "pcm", "miss"), ts_response_free(&r);
    r = speak(port, texts[1], 31, "pcm", "miss"), ts_response_free(&r);
    r = speak(port, texts[0], 31, "pcm", "hit"), ts_response_free(&r); /* Second. is now the least recently used */
    r = speak(port, texts[2], 31, "pcm", "miss"), ts_response_free(&r);
    assert_true(ts_metric(port, "bark_serve_cache_evictions_total ") == 1);
    assert_true(ts_metric(port, "bark_serve_cache_entries ") == 2);
    ts_response list = ts_http(port, "GET", "/v1/cache", "", NULL);
    assert_non_null(strstr((const char *)list.body, "\"text\":\"First.\""));
    assert_non_null(strstr((const char *)list.body, "\"text\":\"Third.\""));
    assert_null(strstr((const char *)list.body, "\"text\":\"Second.\""));
    ts_response_free(&list);
    r = speak(port, texts[0], 31, "pcm", "hit"), ts_response_free(&r);
    serve_close(s);
}

static void delete_clears(void **state) {
    fixture *f = *state;
    int port;
    serve *s = start(f, f->cache, 0, &port);
    assert_true(ts_metric(port, "bark_serve_cache_entries ") >= 2);
    ts_response r = ts_http(port, "DELETE", "/v1/cache", "", NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr((const char *)r.body, "\"deleted\":"));
    ts_response_free(&r);
    assert_true(ts_metric(port, "bark_serve_cache_entries ") == 0);
    assert_true(ts_metric(port, "bark_serve_cache_bytes ") == 0);
    char path[4200];
    file_of(f, "Cached once.", 11, path, sizeof path);
    assert_false(tu_exists(path));
    r = ts_http(port, "PUT", "/v1/cache", "", NULL);
    assert_int_equal(r.status, 405);
    assert_non_null(strcasestr(r.head, "Allow: GET, HEAD, DELETE"));
    ts_response_free(&r);
    r = speak(port, "Cached once.", 11, "pcm", "miss"), ts_response_free(&r);
    serve_close(s);
}

static void unusable_database(void **state) {
    fixture *f = *state;
    char dir[700], db[800];
    int port;
    snprintf(dir, sizeof dir, "%s/garbage", f->dir);
    snprintf(db, sizeof db, "%s/cache.sqlite", dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    static const char junk[4096] = "this is not a database, whatever its name says";
    assert_int_equal(tu_write_file(db, junk, sizeof junk), 0);
    serve *s = start(f, dir, 0, &port);
    assert_non_null(serve_cache_problem(s));
    print_message("cache off as expected: %s\n", serve_cache_problem(s));
    ts_response r = speak(port, "No cache here.", 41, "pcm", "off");
    is_reference(f, &r, 0, "No cache here.", 41);
    ts_response_free(&r);
    r = ts_http(port, "GET", "/v1/cache", "", NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr((const char *)r.body, "\"enabled\":false"));
    ts_response_free(&r);
    assert_true(ts_metric(port, "bark_serve_cache_enabled ") == 0);
    serve_close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(miss_then_hit),        cmocka_unit_test(restart_keeps_hit),
        cmocka_unit_test(broken_files_are_misses), cmocka_unit_test(no_seed_not_cached),
        cmocka_unit_test(concurrent_identical), cmocka_unit_test(warm_then_hit),
        cmocka_unit_test(eviction_drops_lru),   cmocka_unit_test(delete_clears),
        cmocka_unit_test(unusable_database),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
