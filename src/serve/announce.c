/* announce.c: announcements on the local loudspeaker: a queue by priority, one thread generating them (ahead of
 * playback) through the shared engine, one playing them on the ALSA device, their metrics. */
#include "serve/announce.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/sink.h"
#include "text/text_split.h"

#define RECENT 32                          /* finished announcements GET /v1/queue still shows */
#define AHEAD (60 * BARK_SAMPLE_RATE_HZ)   /* samples generated ahead of playback at most, past the next one's */
#define BLOCK 2400                         /* samples written at a time (0.1 s): how soon a stop is heard */
#define POLL_MS 100

const char *const ann_priority_names[ANN_N_PRIORITIES] = {"low", "normal", "high", "critical"};

typedef enum ann_state { ANN_WAITING, ANN_PLAYING, ANN_PLAYED, ANN_FAILED, ANN_CANCELLED } ann_state;
static const char *const state_names[] = {"waiting", "playing", "played", "failed", "cancelled"};

/* A piece of an announcement's text (a sentence or a few: what text_split cuts) and its audio so far. */
typedef struct ann_piece {
    char *text;
    float *pcm;
    size_t n, cap;
    int done; /* generated to its end */
} ann_piece;

typedef struct ann_item {
    struct ann_item *next;
    uint64_t id, seed;
    ann_request req;
    ann_piece *pieces;
    size_t n_pieces;
    size_t generated;          /* pieces generated to their end */
    size_t played, at;         /* pieces played to their end; samples of the next one played */
    int chimed, interrupted;   /* the chime was played; a critical one cut in (it goes on with its next piece) */
    int cancel, gen_failed;    /* asked to stop; its generation failed (why in error) */
    ann_state state;
    char error[600];
    double queued_mono;        /* srv_now() when queued */
    double t_queued, t_started, t_first_sound, t_ended; /* Unix seconds; 0: not yet */
} ann_item;

struct srv_announcer {
    serve *s;
    char device[256], chimes[PATH_MAX]; /* chimes: the folder's real path, "" for none */
    int max;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t gen_th, play_th;
    int started; /* threads started: 0, 1 (generator) or 2 */
    int stop;
    ann_item *queue;               /* waiting and playing, in arrival order */
    ann_item *recent;              /* finished, newest first */
    ann_item *playing, *generating;
    size_t depth;                  /* in queue */
    uint64_t next_id, queued, played, failed, cancelled;
    srv_hist first_sound;
};

static const double first_sound_le[SRV_N_BUCKETS] = {0.25, 0.5, 1, 2, 4, 8, 16, 32, 64};

static double unix_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Waits on the condition for at most POLL_MS (mu held). */
static void wait_a_little(srv_announcer *a) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += POLL_MS * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_cond_timedwait(&a->cv, &a->mu, &ts);
}

static void item_free(ann_item *it) {
    for (size_t k = 0; k < it->n_pieces; k++) free(it->pieces[k].text), free(it->pieces[k].pcm);
    free(it->pieces);
    free(it->req.text), free(it->req.voice), free(it->req.chime);
    free(it);
}

/* The playing order: critical ones first, then one a critical one cut into, then by priority; each in arrival
 * order. 1 when x plays before y. */
static int key(const ann_item *x) {
    return x->req.priority == ANN_CRITICAL ? 0 : x->chimed || x->played || x->state == ANN_PLAYING ? 1 : 2;
}
static int before(const ann_item *x, const ann_item *y) {
    if (key(x) != key(y)) return key(x) < key(y);
    if (x->req.priority != y->req.priority) return x->req.priority > y->req.priority;
    return x->id < y->id;
}

/* The first in the playing order of the queue's announcements that `want` accepts (NULL: any), or NULL. */
static ann_item *first(srv_announcer *a, int (*want)(const ann_item *)) {
    ann_item *best = NULL;
    for (ann_item *it = a->queue; it; it = it->next)
        if ((!want || want(it)) && (!best || before(it, best))) best = it;
    return best;
}

/* An announcement leaves the queue for the recent ones as played, failed or cancelled; its audio is freed (mu held;
 * the generator's or the player's use of it ends on seeing the state). */
static void finish(srv_announcer *a, ann_item *it, ann_state how) {
    ann_item **p = &a->queue;
    while (*p != it) p = &(*p)->next;
    *p = it->next;
    a->depth--;
    it->state = how, it->t_ended = unix_now();
    *(how == ANN_PLAYED ? &a->played : how == ANN_FAILED ? &a->failed : &a->cancelled) += 1;
    for (size_t k = 0; k < it->n_pieces; k++) free(it->pieces[k].pcm), it->pieces[k].pcm = NULL;
    it->next = a->recent, a->recent = it;
    size_t n = 0;
    for (ann_item **q = &a->recent; *q;) { /* beyond RECENT, the oldest go (not one a thread still holds) */
        ann_item *r = *q;
        if (++n > RECENT && r != a->generating && r != a->playing) *q = r->next, item_free(r);
        else q = &r->next;
    }
    pthread_cond_broadcast(&a->cv);
}

/* ---- generation ---- */

typedef struct gen_call {
    srv_announcer *a;
    ann_item *it;
    ann_piece *pc;
    bark_audio_writer *cache; /* the piece's cache file being written, or NULL */
    int cache_failed;         /* a write to it failed: it is not kept (only the cache's loss) */
} gen_call;

static int live(const gen_call *g) { return !g->a->stop && !g->it->cancel && g->it->state <= ANN_PLAYING; }

static int gen_audio(void *user, const float *pcm, size_t n) {
    gen_call *g = user;
    bark_error err;
    if (g->cache && !g->cache_failed && bark_audio_writer_write(g->cache, pcm, n, &err)) g->cache_failed = 1;
    pthread_mutex_lock(&g->a->mu);
    int stop = !live(g);
    if (!stop && g->pc->n + n > g->pc->cap) {
        size_t cap = g->pc->n + n > 2 * g->pc->cap ? g->pc->n + n : 2 * g->pc->cap;
        float *x = realloc(g->pc->pcm, cap * sizeof *x);
        if (x) g->pc->pcm = x, g->pc->cap = cap;
        else stop = 1;
    }
    if (!stop) {
        memcpy(g->pc->pcm + g->pc->n, pcm, n * sizeof *pcm);
        g->pc->n += n;
        pthread_cond_broadcast(&g->a->cv);
    }
    pthread_mutex_unlock(&g->a->mu);
    return stop;
}

static int gen_abort(void *user) {
    gen_call *g = user;
    pthread_mutex_lock(&g->a->mu);
    const int stop = !live(g);
    pthread_mutex_unlock(&g->a->mu);
    return stop;
}

static int ungenerated(const ann_item *it) { return !it->cancel && !it->gen_failed && it->generated < it->n_pieces; }

/* A cached piece's 16-bit samples (little-endian) into the piece, as its generation would hand them over. */
static bark_status cached_audio(gen_call *g, const unsigned char *le, size_t len) {
    float x[BLOCK];
    for (size_t at = 0; at < len / 2; at += BLOCK) {
        const size_t k = len / 2 - at < BLOCK ? len / 2 - at : BLOCK;
        for (size_t i = 0; i < k; i++)
            x[i] = (float)(int16_t)(le[2 * (at + i)] | le[2 * (at + i) + 1] << 8) / 32767.0f;
        if (gen_audio(g, x, k)) return BARK_ERR_INTERRUPTED;
    }
    return BARK_OK;
}

/* Piece k of it: from the cache when it holds it (its seed is the announcement's + k: repeats sound the same), else
 * generated through the engine, and stored in the cache when it completes. */
static bark_status piece(gen_call *g, size_t k, bark_error *err) {
    serve *s = g->a->s;
    const bark_synth_params d = bark_synth_default_params();
    srv_speech_req q = {.text = g->pc->text, .voice = g->it->req.voice, .format = SRV_PCM,
                        .seed = g->it->seed + (uint64_t)k, .have_seed = 1,
                        .text_temp = d.text_temp, .waveform_temp = d.waveform_temp};
    bark_synth_params p = srv_synth_params(s, &q); /* a piece is one piece: speech of its text and seed is the same */
    p.pacing = BARK_PACE_PIECE; /* a piece starts once the rest of it will be ready in time: it does not stutter */
    p.on_audio = gen_audio, p.audio_user = g, p.should_abort = gen_abort, p.abort_user = g;
    if (s->cache) {
        unsigned char *le;
        size_t len;
        srv_cache_key(s->cache, &q, &p);
        if (srv_cache_lookup(s->cache, &q, &le, &len, 1)) {
            const bark_status st = cached_audio(g, le, len);
            free(le);
            return st;
        }
        g->cache = srv_cache_begin(s->cache, &q);
    }
    const bark_status st = bark_engine_synthesize(s->engine, g->pc->text, &p, NULL, err);
    srv_cache_end(s->cache, &q, g->cache, !st && !g->cache_failed);
    g->cache = NULL;
    return st;
}

/* Samples generated and not played yet, over the queue (mu held). */
static size_t ahead(const srv_announcer *a) {
    size_t n = 0;
    for (const ann_item *it = a->queue; it; it = it->next)
        for (size_t k = it->played; k < it->n_pieces; k++) n += it->pieces[k].n - (k == it->played ? it->at : 0);
    return n;
}

/* Generates the pieces in the playing order, ahead of playback by at most AHEAD samples past the next one's. */
static void *gen_main(void *arg) {
    srv_announcer *a = arg;
    pthread_mutex_lock(&a->mu);
    while (!a->stop) {
        ann_item *it = first(a, ungenerated);
        if (!it || (it != first(a, NULL) && ahead(a) >= AHEAD)) {
            wait_a_little(a);
            continue;
        }
        gen_call g = {a, it, &it->pieces[it->generated], NULL, 0};
        const size_t k = it->generated;
        a->generating = it;
        pthread_mutex_unlock(&a->mu);
        bark_error err = {BARK_OK, ""};
        const bark_status st = piece(&g, k, &err);
        pthread_mutex_lock(&a->mu);
        a->generating = NULL;
        if (!live(&g)) continue;
        if (!st) {
            g.pc->done = 1, it->generated++;
        } else {
            snprintf(it->error, sizeof it->error, "generation failed: %s", err.msg);
            it->gen_failed = 1;
            if (it->state == ANN_WAITING) finish(a, it, ANN_FAILED); /* else the player ends it */
        }
        pthread_cond_broadcast(&a->cv);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

/* ---- playback ---- */

/* Writes n samples at the announcement's volume (mu held, released meanwhile); the first is its first sound. */
static bark_status play_samples(srv_announcer *a, ann_item *it, audio_sink *snk, const float *x, size_t n,
                                bark_error *err) {
    float b[BLOCK];
    const float v = it->req.volume;
    for (size_t i = 0; i < n; i++) b[i] = x[i] * v;
    if (!it->t_first_sound) {
        it->t_first_sound = unix_now();
        srv_hist_observe(&a->first_sound, srv_now() - it->queued_mono);
    }
    pthread_mutex_unlock(&a->mu);
    const bark_status st = audio_sink_write(snk, b, n, err);
    pthread_mutex_lock(&a->mu);
    return st;
}

/* Plays it from where it is until its end, a critical one cutting in, a stop or a failure (mu held). */
static void play(srv_announcer *a, ann_item *it) {
    audio_sink *snk = NULL;
    bark_error err = {BARK_OK, ""};
    a->playing = it;
    it->state = ANN_PLAYING, it->interrupted = 0;
    if (!it->t_started) it->t_started = unix_now();
    pthread_mutex_unlock(&a->mu);
    bark_status st = audio_sink_open(&audio_sink_alsa, a->device, BARK_SAMPLE_RATE_HZ, &snk, &err);
    pthread_mutex_lock(&a->mu);
    for (size_t at = 0; !st && !it->chimed && at < it->req.n_chime && !it->cancel && !a->stop; at += BLOCK)
        st = play_samples(a, it, snk, it->req.chime + at, it->req.n_chime - at < BLOCK ? it->req.n_chime - at : BLOCK,
                          &err);
    it->chimed = 1;
    while (!st && !it->cancel && !a->stop && !it->gen_failed && it->played < it->n_pieces) {
        ann_piece *pc = &it->pieces[it->played];
        if (it->at < pc->n) {
            const size_t k = pc->n - it->at < BLOCK ? pc->n - it->at : BLOCK;
            float x[BLOCK];
            memcpy(x, pc->pcm + it->at, k * sizeof *x); /* the generator may move pc->pcm meanwhile */
            it->at += k;
            st = play_samples(a, it, snk, x, k, &err);
        } else if (!pc->done) {
            wait_a_little(a);
        } else {
            free(pc->pcm), pc->pcm = NULL;
            it->played++, it->at = 0;
            if (it->played < it->n_pieces && first(a, NULL) != it) { /* a critical one cuts in */
                it->interrupted = 1;
                break;
            }
        }
    }
    const int whole = !st && !it->cancel && !a->stop && !it->gen_failed; /* played to its end, or to a cut-in */
    pthread_mutex_unlock(&a->mu);
    if (whole) st = audio_sink_drain(snk, &err);
    else if (snk) audio_sink_drop(snk);
    bark_error cerr = {BARK_OK, ""};
    const bark_status cst = audio_sink_close(snk, 1, &cerr);
    pthread_mutex_lock(&a->mu);
    if (!st && whole && cst) st = cst, err = cerr;
    if (st) {
        snprintf(it->error, sizeof it->error, "%s", err.msg);
        finish(a, it, ANN_FAILED);
    } else if (it->gen_failed) {
        finish(a, it, ANN_FAILED);
    } else if (it->cancel || a->stop) {
        finish(a, it, ANN_CANCELLED);
    } else if (it->played == it->n_pieces) {
        finish(a, it, ANN_PLAYED);
    } else {
        it->state = ANN_WAITING; /* it goes on with its next piece after the critical one(s) */
    }
    a->playing = NULL;
}

/* Whether it has something to play now: its chime, audio, or a failure to report. */
static int playable(const ann_item *it) {
    return (it->req.chime && !it->chimed) || it->gen_failed || it->pieces[it->played].n > it->at;
}

static void *play_main(void *arg) {
    srv_announcer *a = arg;
    pthread_mutex_lock(&a->mu);
    while (!a->stop) {
        ann_item *it = first(a, NULL);
        if (it && it->gen_failed) finish(a, it, ANN_FAILED);
        else if (it && playable(it)) play(a, it);
        else wait_a_little(a);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

/* ---- the queue ---- */

int ann_add(srv_announcer *a, ann_request *q, uint64_t *id, size_t *position, int *full) {
    *full = 0;
    ann_item *it = calloc(1, sizeof *it);
    text_piece *tp = NULL;
    size_t n = 0;
    bark_error err;
    if (!it || text_split(q->text, strlen(q->text), TEXT_SPLIT_DEFAULT_MAX, &tp, &n, &err) ||
        text_split_lead(q->text, &tp, &n, &err) || !(it->pieces = calloc(n, sizeof *it->pieces))) {
        free(tp), free(it);
        free(q->text), free(q->voice), free(q->chime);
        return -1;
    }
    it->req = *q, it->n_pieces = n;
    int ok = 1;
    for (size_t k = 0; k < n; k++) ok &= (it->pieces[k].text = strndup(q->text + tp[k].off, tp[k].len)) != NULL;
    free(tp);
    if (!ok) {
        item_free(it);
        return -1;
    }
    it->seed = srv_cache_default_seed(q->text, q->voice);
    it->queued_mono = srv_now(), it->t_queued = unix_now();
    pthread_mutex_lock(&a->mu);
    if (a->depth >= (size_t)a->max || a->stop) {
        pthread_mutex_unlock(&a->mu);
        item_free(it);
        *full = 1;
        return -1;
    }
    it->id = *id = ++a->next_id;
    ann_item **p = &a->queue;
    while (*p) p = &(*p)->next;
    *p = it;
    a->depth++, a->queued++;
    *position = 0;
    for (const ann_item *o = a->queue; o; o = o->next) *position += o != it && before(o, it);
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    return 0;
}

int ann_cancel(srv_announcer *a, uint64_t id) {
    int r = -1;
    pthread_mutex_lock(&a->mu);
    for (ann_item *it = a->queue; it && r; it = it->next)
        if (it->id == id) {
            r = 0;
            if (it->state == ANN_WAITING) finish(a, it, ANN_CANCELLED);
            else it->cancel = 1; /* the player stops it at once */
            pthread_cond_broadcast(&a->cv);
            break;
        }
    for (const ann_item *it = a->recent; it && r; it = it->next) r = it->id == id ? 1 : r;
    pthread_mutex_unlock(&a->mu);
    return r;
}

int ann_over(srv_announcer *a, uint64_t id) {
    int over = 1;
    pthread_mutex_lock(&a->mu);
    for (const ann_item *it = a->queue; it && over; it = it->next) over = it->id != id;
    pthread_mutex_unlock(&a->mu);
    return over;
}

size_t ann_depth(srv_announcer *a) {
    pthread_mutex_lock(&a->mu);
    const size_t n = a->depth;
    pthread_mutex_unlock(&a->mu);
    return n;
}

static void add_time(cJSON *o, const char *name, double t) {
    if (t) cJSON_AddNumberToObject(o, name, t);
    else cJSON_AddNullToObject(o, name);
}

static cJSON *item_json(const ann_item *it) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)it->id);
    cJSON_AddStringToObject(o, "text", it->req.text);
    cJSON_AddStringToObject(o, "voice", it->req.voice);
    cJSON_AddStringToObject(o, "priority", ann_priority_names[it->req.priority]);
    cJSON_AddStringToObject(o, "state", it->state == ANN_WAITING && it->interrupted ? "interrupted"
                                                                                    : state_names[it->state]);
    cJSON_AddNumberToObject(o, "seed", (double)it->seed);
    cJSON_AddNumberToObject(o, "volume", it->req.volume);
    cJSON_AddBoolToObject(o, "chime", it->req.chime != NULL);
    cJSON_AddNumberToObject(o, "pieces", (double)it->n_pieces);
    cJSON_AddNumberToObject(o, "pieces_played", (double)it->played);
    cJSON *t = cJSON_AddObjectToObject(o, "times");
    add_time(t, "queued", it->t_queued);
    add_time(t, "started", it->t_started);
    add_time(t, "first_sound", it->t_first_sound);
    add_time(t, "ended", it->t_ended);
    if (it->error[0]) cJSON_AddStringToObject(o, "error", it->error);
    return o;
}

char *ann_queue_json(srv_announcer *a) {
    cJSON *root = cJSON_CreateObject();
    pthread_mutex_lock(&a->mu);
    if (a->playing) cJSON_AddItemToObject(root, "playing", item_json(a->playing));
    else cJSON_AddNullToObject(root, "playing");
    cJSON *w = cJSON_AddArrayToObject(root, "waiting"), *r = cJSON_AddArrayToObject(root, "recent");
    const ann_item *last = NULL; /* the waiting ones in the playing order */
    for (size_t i = 0; i < a->depth; i++) {
        const ann_item *next = NULL;
        for (const ann_item *it = a->queue; it; it = it->next)
            if (it != a->playing && (!last || before(last, it)) && (!next || before(it, next))) next = it;
        if (!next) break;
        cJSON_AddItemToArray(w, item_json(next));
        last = next;
    }
    for (const ann_item *it = a->recent; it; it = it->next) cJSON_AddItemToArray(r, item_json(it));
    pthread_mutex_unlock(&a->mu);
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return json;
}

void srv_announce_metrics(serve *s, FILE *f) {
    srv_announcer *a = s->announcer;
    if (!a) return;
    pthread_mutex_lock(&a->mu);
    fprintf(f, "# HELP bark_serve_announcements_total Announcements queued, and ended by how.\n"
            "# TYPE bark_serve_announcements_total counter\n"
            "bark_serve_announcements_total{event=\"queued\"} %llu\n"
            "bark_serve_announcements_total{event=\"played\"} %llu\n"
            "bark_serve_announcements_total{event=\"failed\"} %llu\n"
            "bark_serve_announcements_total{event=\"cancelled\"} %llu\n"
            "# HELP bark_serve_announce_queue_depth Announcements waiting or playing.\n"
            "# TYPE bark_serve_announce_queue_depth gauge\nbark_serve_announce_queue_depth %zu\n",
            (unsigned long long)a->queued, (unsigned long long)a->played, (unsigned long long)a->failed,
            (unsigned long long)a->cancelled, a->depth);
    srv_hist_print(f, "bark_serve_announce_time_to_first_sound_seconds",
                   "From an announcement's request to its first sound on the device.", &a->first_sound);
    pthread_mutex_unlock(&a->mu);
}

/* ---- start and stop ---- */

bark_status srv_announcer_open(serve *s, bark_error *err) {
    if (s->cfg.no_speaker) return BARK_OK;
    srv_announcer *a = calloc(1, sizeof *a);
    if (!a) return err->status = BARK_ERR_NOMEM;
    a->s = s;
    a->max = s->cfg.max_announcements > 0 ? s->cfg.max_announcements : 32;
    a->first_sound.le = first_sound_le;
    snprintf(a->device, sizeof a->device, "%s", s->cfg.device ? s->cfg.device : "default");
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    s->announcer = a;
    if (s->cfg.chimes && !realpath(s->cfg.chimes, a->chimes)) {
        snprintf(err->msg, sizeof err->msg, "the chimes folder '%.200s': %s", s->cfg.chimes, strerror(errno));
        return err->status = BARK_ERR_ARG;
    }
    if (pthread_create(&a->gen_th, NULL, gen_main, a) == 0) a->started = 1;
    if (a->started && pthread_create(&a->play_th, NULL, play_main, a) == 0) a->started = 2;
    if (a->started < 2) {
        snprintf(err->msg, sizeof err->msg, "cannot start the announcement threads");
        return err->status = BARK_ERR_NOMEM;
    }
    return BARK_OK;
}

const char *ann_chimes(const srv_announcer *a) { return a->chimes; }

void srv_announcer_close(srv_announcer *a) {
    if (!a) return;
    pthread_mutex_lock(&a->mu);
    a->stop = 1;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    if (a->started > 0) pthread_join(a->gen_th, NULL);
    if (a->started > 1) pthread_join(a->play_th, NULL);
    for (ann_item *it = a->queue, *n; it; it = n) n = it->next, item_free(it);
    for (ann_item *it = a->recent, *n; it; it = n) n = it->next, item_free(it);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    free(a);
}
