/* metrics.c: the counters and histograms of `bark serve` and their Prometheus text (GET /metrics). */
#include <stdlib.h>
#include <string.h>

#include "serve/srv.h"

static const double ttfa_le[SRV_N_BUCKETS] = {0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32};
static const double rtf_le[SRV_N_BUCKETS] = {0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 4};

void srv_metrics_init(srv_metrics *m) {
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
    m->ttfa.le = ttfa_le, m->rtf.le = rtf_le;
}

void srv_metrics_free(srv_metrics *m) { pthread_mutex_destroy(&m->mu); }

void srv_metrics_count(srv_metrics *m, srv_endpoint ep, unsigned status) {
    if (status < 100 || status >= 600) return;
    pthread_mutex_lock(&m->mu);
    m->requests[ep][status - 100]++;
    pthread_mutex_unlock(&m->mu);
}

void srv_hist_observe(srv_hist *h, double v) {
    int i = 0;
    while (i < SRV_N_BUCKETS && v > h->le[i]) i++;
    if (i < SRV_N_BUCKETS) h->bucket[i]++;
    h->count++, h->sum += v;
}

void srv_metrics_admitted(srv_metrics *m) {
    pthread_mutex_lock(&m->mu);
    m->in_flight++, m->waiting++;
    pthread_mutex_unlock(&m->mu);
}

void srv_metrics_first_audio(srv_metrics *m, double seconds) {
    pthread_mutex_lock(&m->mu);
    m->waiting--;
    srv_hist_observe(&m->ttfa, seconds);
    pthread_mutex_unlock(&m->mu);
}

void srv_metrics_finished(srv_metrics *m, srv_outcome how, int had_audio, double rtf, uint64_t samples) {
    pthread_mutex_lock(&m->mu);
    m->in_flight--;
    if (!had_audio) m->waiting--;
    m->audio_samples += samples;
    if (how == SRV_DONE_OK && rtf > 0) srv_hist_observe(&m->rtf, rtf);
    else if (how == SRV_DONE_CLIENT) m->aborted_client++;
    else if (how == SRV_DONE_SHUTDOWN) m->aborted_shutdown++;
    else if (how == SRV_DONE_ERROR) m->failed++;
    pthread_mutex_unlock(&m->mu);
}

void srv_hist_print(FILE *f, const char *name, const char *help, const srv_hist *h) {
    fprintf(f, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t below = 0;
    for (int i = 0; i < SRV_N_BUCKETS; i++) {
        below += h->bucket[i];
        fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", name, h->le[i], (unsigned long long)below);
    }
    fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name, (unsigned long long)h->count, name,
            h->sum, name, (unsigned long long)h->count);
}

/* Requests (all, or only status >= 400) by endpoint and status. */
static void by_code(FILE *f, const srv_metrics *m, const char *name, const char *help, unsigned from) {
    fprintf(f, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
    for (int e = 0; e < SRV_N_ENDPOINTS; e++)
        for (unsigned code = from; code < 600; code++)
            if (m->requests[e][code - 100])
                fprintf(f, "%s{endpoint=\"%s\",code=\"%u\"} %llu\n", name, srv_endpoint_name((srv_endpoint)e), code,
                        (unsigned long long)m->requests[e][code - 100]);
}

static void one(FILE *f, const char *name, const char *type, const char *help, double v) {
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

char *srv_metrics_render(serve *s) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return NULL;
    bark_engine_stats es;
    bark_engine_get_stats(s->engine, &es);
    srv_metrics *m = &s->metrics;
    pthread_mutex_lock(&m->mu);
    by_code(f, m, "bark_serve_requests_total", "HTTP requests answered, by endpoint and status code.", 100);
    by_code(f, m, "bark_serve_errors_total", "HTTP requests answered with an error status (>= 400).", 400);
    one(f, "bark_serve_requests_in_flight", "gauge", "Speech requests admitted and not finished.", m->in_flight);
    one(f, "bark_serve_queue_depth", "gauge", "Speech requests admitted that have no audio yet.", m->waiting);
    one(f, "bark_serve_queue_capacity", "gauge", "Speech requests admitted at most at once (--max-queue).",
        s->cfg.max_queue);
    fprintf(f, "# HELP bark_serve_speech_aborted_total Syntheses stopped before their end, by reason.\n"
            "# TYPE bark_serve_speech_aborted_total counter\n"
            "bark_serve_speech_aborted_total{reason=\"client_gone\"} %llu\n"
            "bark_serve_speech_aborted_total{reason=\"shutdown\"} %llu\n"
            "bark_serve_speech_aborted_total{reason=\"error\"} %llu\n",
            (unsigned long long)m->aborted_client, (unsigned long long)m->aborted_shutdown,
            (unsigned long long)m->failed);
    one(f, "bark_serve_audio_seconds_total", "counter", "Seconds of audio sent.",
        (double)m->audio_samples / BARK_SAMPLE_RATE_HZ);
    srv_hist_print(f, "bark_serve_time_to_first_audio_seconds", "From a speech request's admission to its first audio.",
         &m->ttfa);
    srv_hist_print(f, "bark_serve_real_time_factor", "Generation time over audio duration of each finished synthesis.",
         &m->rtf);
    pthread_mutex_unlock(&m->mu);
    srv_announce_metrics(s, f);
    one(f, "bark_serve_uptime_seconds", "gauge", "Seconds since the server started.", srv_now() - s->started);
    srv_cache_stats cs = {0};
    if (s->cache) srv_cache_get_stats(s->cache, &cs);
    one(f, "bark_serve_cache_enabled", "gauge", "1 when speech with a seed is cached.", s->cache != NULL);
    one(f, "bark_serve_cache_hits_total", "counter", "Speech requests with a seed and announcement pieces answered from the cache.",
        (double)cs.hits);
    one(f, "bark_serve_cache_misses_total", "counter", "Speech requests with a seed and announcement pieces generated (then cached).",
        (double)cs.misses);
    one(f, "bark_serve_cache_entries", "gauge", "Texts in the cache.", (double)cs.entries);
    one(f, "bark_serve_cache_bytes", "gauge", "Bytes of the cache's audio files.", (double)cs.bytes);
    one(f, "bark_serve_cache_max_bytes", "gauge", "The cache's limit (--cache-size).", (double)cs.max_bytes);
    one(f, "bark_serve_cache_evictions_total", "counter", "Entries evicted, least recently used first.",
        (double)cs.evictions);
    one(f, "bark_serve_cache_warm_pending", "gauge", "Texts of --warm not rendered yet.", srv_warm_pending(s));
    one(f, "bark_engine_max_batch", "gauge", "Sequences the engine runs in one batch at most.", es.max_batch);
    one(f, "bark_engine_threads", "gauge", "Threads of the engine.", es.n_threads);
    one(f, "bark_engine_kv_bytes", "gauge", "Bytes of KV caches allocated.", (double)es.kv_bytes);
    one(f, "bark_engine_scratch_bytes", "gauge", "Bytes of the stages' run buffers.", (double)es.scratch_bytes);
    one(f, "bark_engine_active_sequences", "gauge", "Sequences holding a KV cache now.", es.active);
    one(f, "bark_engine_decode_steps_total", "counter", "Batched decode steps run.", (double)es.decode_steps);
    one(f, "bark_engine_decode_rows_total", "counter", "Sequences advanced by the decode steps.",
        (double)es.decode_rows);
    one(f, "bark_engine_largest_batch", "gauge", "Most sequences in one decode step.", (double)es.largest_batch);
    if (fclose(f)) {
        free(text);
        return NULL;
    }
    return text;
}
