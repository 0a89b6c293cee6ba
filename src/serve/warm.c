/* warm.c: `bark serve --warm`: texts rendered into the cache in the background from the start, so their first
 * requests hit; on half the engine's batch, so clients arriving meanwhile still find room. */
#include <stdlib.h>
#include <string.h>

#include "serve/srv.h"

struct srv_warm {
    serve *s;
    srv_speech_req *items;
    size_t n;
    atomic_size_t next; /* the next item to take */
    atomic_int pending; /* items not rendered (nor found in the cache) yet */
    pthread_t *th;
    int n_th;
};

static int warm_abort(void *user) { return atomic_load(&((serve *)user)->stopping); }

static int warm_audio(void *user, const float *pcm, size_t n) {
    bark_error err;
    return bark_audio_writer_write(user, pcm, n, &err) != BARK_OK;
}

/* One item into the cache, unless it is there already. */
static void render(serve *s, srv_speech_req *q) {
    unsigned char *have;
    size_t n;
    if (srv_cache_lookup(s->cache, q, &have, &n, 0)) {
        free(have);
        return;
    }
    bark_audio_writer *w = srv_cache_begin(s->cache, q);
    bark_error err;
    if (!w) return;
    bark_synth_params p = srv_synth_params(s, q);
    p.on_audio = warm_audio, p.audio_user = w, p.should_abort = warm_abort, p.abort_user = s;
    const bark_status st = bark_engine_synthesize(s->engine, q->text, &p, NULL, &err);
    srv_cache_end(s->cache, q, w, !st);
}

static void *warm_main(void *arg) {
    srv_warm *w = arg;
    for (size_t i; !atomic_load(&w->s->stopping) && (i = atomic_fetch_add(&w->next, 1)) < w->n;) {
        render(w->s, &w->items[i]);
        atomic_fetch_sub(&w->pending, 1);
    }
    return NULL;
}

static void warm_free(srv_warm *w) {
    for (size_t i = 0; i < w->n; i++) free(w->items[i].text), free(w->items[i].voice);
    free(w->items);
    free(w->th);
    free(w);
}

bark_status serve_warm(serve *s, const serve_warm_item *items, size_t n, bark_error *err) {
    if (!s->cache || s->warm) {
        snprintf(err->msg, sizeof err->msg, s->cache ? "serve_warm: already warming" : "serve_warm: no cache");
        return err->status = BARK_ERR_ARG;
    }
    srv_warm *w = calloc(1, sizeof *w);
    if (!w || !(w->items = calloc(n ? n : 1, sizeof *w->items))) {
        free(w);
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return err->status = BARK_ERR_NOMEM;
    }
    w->s = s;
    const bark_synth_params d = bark_synth_default_params();
    for (size_t i = 0; i < n; i++, w->n++) {
        srv_speech_req *q = &w->items[i];
        q->text = strdup(items[i].text), q->voice = strdup(items[i].voice);
        if (!q->text || !q->voice) {
            w->n++;
            warm_free(w);
            snprintf(err->msg, sizeof err->msg, "out of memory");
            return err->status = BARK_ERR_NOMEM;
        }
        q->format = SRV_FLAC; /* a lookup then reads the file without decoding it */
        q->seed = items[i].have_seed ? items[i].seed : srv_cache_default_seed(q->text, q->voice), q->have_seed = 1;
        q->text_temp = d.text_temp, q->waveform_temp = d.waveform_temp;
        const bark_synth_params p = srv_synth_params(s, q);
        srv_cache_key(s->cache, q, &p);
    }
    bark_engine_stats es;
    bark_engine_get_stats(s->engine, &es);
    const int want = es.max_batch / 2 > 1 ? es.max_batch / 2 : 1;
    atomic_init(&w->next, 0);
    atomic_init(&w->pending, (int)n);
    if (!(w->th = calloc((size_t)want, sizeof *w->th))) {
        warm_free(w);
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return err->status = BARK_ERR_NOMEM;
    }
    while (w->n_th < want && (size_t)w->n_th < n && !pthread_create(&w->th[w->n_th], NULL, warm_main, w)) w->n_th++;
    if (n && !w->n_th) {
        warm_free(w);
        snprintf(err->msg, sizeof err->msg, "cannot start a thread to warm the cache");
        return err->status = BARK_ERR_NOMEM;
    }
    s->warm = w;
    return BARK_OK;
}

int srv_warm_pending(const serve *s) { return s->warm ? atomic_load(&s->warm->pending) : 0; }

void srv_warm_join(serve *s) {
    if (!s->warm) return;
    for (int i = 0; i < s->warm->n_th; i++) pthread_join(s->warm->th[i], NULL);
    warm_free(s->warm);
    s->warm = NULL;
}
