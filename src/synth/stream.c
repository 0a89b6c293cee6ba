/* stream.c: piece threads generate through the scheduler; the caller's thread decodes their finished fine windows in
 * order, hands the samples to on_audio (holding pieces back as the pacing asks) and makes the progress calls. */
#include "synth/stream.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/encodec.h"
#include "core/bark_constants.h"
#include "core/error.h"

#define NQ BARK_N_FINE_CODEBOOKS
#define FPS ((double)BARK_COARSE_RATE_HZ) /* EnCodec frames per second of audio */
#define HOP 320                           /* samples per frame */
#define CHUNK 16                          /* frames decoded and played at a time (0.21 s) */
#define POLL_S 0.05                       /* the caller's thread looks at should_abort at least this often */
#define PIECE_SEED_STEP 0x9E3779B97F4A7C15ull

/* What is known of one piece (under the stream's mu). */
typedef struct piece_state {
    int32_t *codes;         /* [NQ][n_frames]: frames [0, emitted) are final */
    size_t n_frames, emitted;
    int done;               /* its generation has ended (well or not) */
    bark_stage stage;       /* its latest progress report, not yet passed on when dirty */
    size_t step, total;
    int dirty;
    double fine_start;      /* when its fine stage began (0: not yet) */
} piece_state;

typedef struct stream {
    synth_job *j;
    pthread_mutex_t mu;
    pthread_cond_t cv;        /* anything above changed */
    piece_state *ps;          /* [n_pieces] */
    size_t next;              /* the next piece a thread takes */
    int gate;                 /* pieces after the first may start */
    bark_voice carried;       /* the first piece's codes: the voice of the others when the call has none */
    int stop;                 /* every thread ends: a failure or a stop */
    bark_status st;           /* the first failure */
    bark_error err;
    size_t frames_done, frames_played, pieces_done, chars_done, frames_of_done_pieces;
} stream;

typedef struct worker {
    stream *s;
    size_t piece;
    pthread_t th;
} worker;

double synth_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void synth_piece_rng(bark_rng *rng, uint64_t seed, size_t k) { bark_rng_seed(rng, seed + PIECE_SEED_STEP * k); }

/* Semantic tokens a piece of len bytes is expected to take: ~15 characters and 49.9 tokens per second of speech. */
static size_t semantic_estimate(size_t len) {
    size_t est = len * 10 / 3 + 1;
    return est > BARK_SEMANTIC_MAX_TOKENS ? BARK_SEMANTIC_MAX_TOKENS : est;
}

int synth_report(const synth_reporter *r, bark_stage stage, size_t done, size_t total) {
    const bark_synth_params *p = r->p;
    if (p->should_abort && p->should_abort(p->abort_user)) return 1;
    if (!p->on_progress) return 0;
    if (stage == BARK_STAGE_SEMANTIC) { /* its total is the 768-token maximum: show an estimate from the text */
        size_t est = semantic_estimate(r->piece_len);
        total = done < est ? est : done + 1;
    }
    bark_progress_info info = {r->piece, r->n_pieces, stage, done, total, r->audio_s, synth_now() - r->start};
    return p->on_progress(p->progress_user, &info);
}

/* The first failure stops everything (under mu). */
static void fail(stream *s, bark_status st, const bark_error *err) {
    if (!s->stop) {
        s->stop = 1;
        s->st = st;
        s->err = *err;
    }
    pthread_cond_broadcast(&s->cv);
}

/* ---- piece threads ---- */

/* After every token and fine pass of a piece: kept for the caller's thread to pass on. */
static int on_step(void *user, bark_stage stage, size_t done, size_t total) {
    worker *w = user;
    stream *s = w->s;
    pthread_mutex_lock(&s->mu);
    piece_state *ps = &s->ps[w->piece];
    ps->stage = stage, ps->step = done, ps->total = total, ps->dirty = 1;
    if (stage == BARK_STAGE_COARSE && done == total) {
        ps->fine_start = synth_now();
        if (w->piece == 0 && s->j->voice) { /* the rest may start while the first finishes */
            s->gate = 1;
            pthread_cond_broadcast(&s->cv);
        }
    }
    int stop = s->stop; /* the caller's thread passes the report on when it next wakes (POLL_S at most) */
    pthread_mutex_unlock(&s->mu);
    return stop;
}

/* Frames [from, to) of out[8][ld] are final: copied where the caller's thread plays them from. */
static int on_window(void *user, const int32_t *out, size_t ld, size_t from, size_t to) {
    worker *w = user;
    stream *s = w->s;
    pthread_mutex_lock(&s->mu);
    piece_state *ps = &s->ps[w->piece];
    if (!ps->codes && !(ps->codes = malloc((size_t)NQ * ld * sizeof *ps->codes))) {
        bark_error e;
        fail(s, bark_fail(&e, BARK_ERR_NOMEM, "say: out of memory for %zu frames", ld), &e);
    } else {
        for (int q = 0; q < NQ; q++)
            memcpy(ps->codes + (size_t)q * ld + from, out + (size_t)q * ld + from, (to - from) * sizeof *out);
        ps->n_frames = ld;
        ps->emitted = to;
        s->frames_done += to - from;
    }
    int stop = s->stop;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return stop;
}

/* Piece k from its text to its codes, with its own random stream. */
static bark_status generate_piece(worker *w, const bark_voice *voice, bark_codes *codes, bark_error *err) {
    synth_job *j = w->s->j;
    const text_piece *tp = &j->pieces[w->piece];
    int32_t ids[256];
    size_t n_text;
    int truncated;
    bark_status st = bark_text_to_semantic_input(j->ctx->tok, j->text + tp->off, tp->len, ids, &n_text, &truncated,
                                                 err);
    if (st) return st;
    bark_gen_params gen = j->gen;
    bark_steps prog = {on_step, w};
    gen.semantic.progress = gen.coarse.progress = gen.fine.progress = prog;
    gen.fine.on_window = on_window;
    gen.fine.window_user = w;
    gen.last = BARK_STAGE_FINE;
    bark_rng rng;
    synth_piece_rng(&rng, j->p->seed, w->piece);
    return bark_generate_codes(j->ctx->model, ids, voice, &gen, &rng, codes, err);
}

static void *piece_thread(void *arg) {
    worker *w = arg;
    stream *s = w->s;
    synth_job *j = s->j;
    pthread_mutex_lock(&s->mu);
    while (!s->stop && s->next < j->n_pieces) {
        w->piece = s->next++;
        while (w->piece > 0 && !s->gate && !s->stop) pthread_cond_wait(&s->cv, &s->mu);
        if (s->stop) break;
        const bark_voice *voice = j->voice ? j->voice : w->piece > 0 ? &s->carried : NULL;
        pthread_mutex_unlock(&s->mu);
        bark_codes codes = {0};
        bark_error err = {0};
        bark_status st = generate_piece(w, voice, &codes, &err);
        pthread_mutex_lock(&s->mu);
        if (st) {
            if (st != BARK_ERR_INTERRUPTED || !s->stop) fail(s, st, &err);
        } else {
            s->pieces_done++;
            s->chars_done += j->pieces[w->piece].len;
            s->frames_of_done_pieces += codes.n_frames;
            j->frames += codes.n_frames;
            if (w->piece == 0 && !j->voice) { /* the voice of every later piece */
                s->carried = (bark_voice){codes.semantic, codes.coarse, codes.fine, codes.n_semantic, codes.n_frames,
                                          codes.n_frames};
                memset(&codes, 0, sizeof codes);
            }
        }
        if (w->piece == 0) s->gate = 1;
        s->ps[w->piece].done = 1;
        j->gen_end = synth_now() - j->start;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        bark_codes_free(&codes);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- the caller's thread ---- */

/* Whether piece p may start playing now without a break inside it (or, with no_gaps, anywhere after); under mu. */
static int ready_to_play(stream *s, size_t p) {
    synth_job *j = s->j;
    if (s->pieces_done == j->n_pieces) return 1;
    double now = synth_now();
    if (j->p->pacing == BARK_PACE_NO_GAPS) {
        /* the rest, estimated from the text left and the frames per byte so far, at the measured speed */
        double elapsed = now - j->start, speed = elapsed > 0 ? (double)s->frames_done / elapsed : 0;
        if (s->pieces_done == 0 || speed <= 0) return 0;
        size_t total_chars = 0;
        for (size_t i = 0; i < j->n_pieces; i++) total_chars += j->pieces[i].len;
        double per_char = (double)s->frames_of_done_pieces / (double)s->chars_done;
        double rest = per_char * (double)(total_chars - s->chars_done) -
                      (double)(s->frames_done - s->frames_of_done_pieces);
        if (rest < 0) rest = 0;
        double buffered = (double)(s->frames_done - s->frames_played);
        double last = (double)s->frames_of_done_pieces / (double)s->pieces_done;
        return rest / speed <= (buffered + rest - last) / FPS;
    }
    piece_state *ps = &s->ps[p];
    if (ps->done) return 1;
    if (!ps->n_frames || ps->fine_start <= 0 || now <= ps->fine_start) return 0;
    /* the rest of this piece must be generated before playback reaches it */
    double rate = (double)ps->emitted / (now - ps->fine_start);
    return rate > 0 && (double)(ps->n_frames - ps->emitted) / rate <= (double)ps->emitted / FPS;
}

/* Hands n decoded samples to on_audio (a nonzero return stops the synthesis). */
static bark_status deliver(synth_job *j, const float *pcm, size_t n, bark_error *err) {
    if (!n) return BARK_OK;
    if (j->first_audio < 0) j->first_audio = synth_now() - j->start;
    j->samples += n;
    if (j->p->on_audio && j->p->on_audio(j->p->audio_user, pcm, n))
        return bark_fail(err, BARK_ERR_INTERRUPTED, "stopped by the audio callback");
    return BARK_OK;
}

/* Passes on the pieces' progress kept since the last call (mu held on entry and exit, released for the calls). */
static bark_status report_progress(stream *s, bark_error *err) {
    synth_job *j = s->j;
    for (size_t k = 0; k < j->n_pieces; k++) {
        piece_state *ps = &s->ps[k];
        if (!ps->dirty) continue;
        ps->dirty = 0;
        synth_reporter r = {j->p, k, j->n_pieces, j->pieces[k].len, j->start, (double)s->frames_done / FPS};
        bark_stage stage = ps->stage;
        size_t step = ps->step, total = ps->total;
        pthread_mutex_unlock(&s->mu);
        int stop = synth_report(&r, stage, step, total);
        pthread_mutex_lock(&s->mu);
        if (stop) return bark_fail(err, BARK_ERR_INTERRUPTED, "stopped by the caller");
    }
    return BARK_OK;
}

static void wait_a_while(stream *s) {
    double t = synth_now() + POLL_S;
    struct timespec ts = {(time_t)t, (long)((t - floor(t)) * 1e9)};
    pthread_cond_timedwait(&s->cv, &s->mu, &ts);
}

/* Plays every piece in order as its frames become final (mu held on entry and exit). */
static bark_status play(stream *s, encodec_dec_stream *ds, float *pcm, size_t cap, bark_error *err) {
    synth_job *j = s->j;
    int32_t codes[NQ * CHUNK];
    size_t got;
    bark_status st = BARK_OK;
    for (size_t p = 0, played = 0, paced = j->p->pacing == BARK_PACE_NONE; p < j->n_pieces && !s->stop;) {
        if ((st = report_progress(s, err))) return st;
        if (j->p->should_abort) {
            pthread_mutex_unlock(&s->mu);
            int stop = j->p->should_abort(j->p->abort_user);
            pthread_mutex_lock(&s->mu);
            if (stop) return bark_fail(err, BARK_ERR_INTERRUPTED, "stopped by the caller");
        }
        piece_state *ps = &s->ps[p];
        if (ps->done && ps->codes && played == ps->n_frames) {
            p++, played = 0, paced = j->p->pacing == BARK_PACE_NONE;
            continue;
        }
        if (ps->emitted == played || (!paced && !(paced = ready_to_play(s, p)))) {
            wait_a_while(s);
            continue;
        }
        size_t m = ps->emitted - played < CHUNK ? ps->emitted - played : CHUNK;
        for (int q = 0; q < NQ; q++)
            memcpy(codes + (size_t)q * m, ps->codes + (size_t)q * ps->n_frames + played, m * sizeof *codes);
        played += m;
        s->frames_played += m;
        pthread_mutex_unlock(&s->mu);
        st = encodec_dec_stream_push(ds, codes, m, m, pcm, cap, &got, err);
        if (!st) st = deliver(j, pcm, got, err);
        pthread_mutex_lock(&s->mu);
        if (st) return st;
    }
    if (s->stop) return BARK_OK; /* the failure is s->st */
    pthread_mutex_unlock(&s->mu);
    st = encodec_dec_stream_finish(ds, pcm, cap, &got, err);
    if (!st) st = deliver(j, pcm, got, err);
    pthread_mutex_lock(&s->mu);
    return st;
}

bark_status synth_stream_run(synth_job *j, bark_error *err) {
    stream *s = calloc(1, sizeof *s);
    if (!s) return bark_fail(err, BARK_ERR_NOMEM, "say: out of memory");
    s->j = j;
    j->start = synth_now();
    j->gen_end = 0;
    j->first_audio = -1;
    j->frames = 0;
    j->samples = 0;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca; /* wait_a_while's deadline is on the monotonic clock */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    size_t n_workers = j->n_pieces < (size_t)j->max_batch ? j->n_pieces : (size_t)j->max_batch, started = 0;
    s->ps = calloc(j->n_pieces, sizeof *s->ps);
    worker *w = calloc(n_workers ? n_workers : 1, sizeof *w);
    encodec_dec_stream *ds = NULL;
    size_t cap = (size_t)HOP * (CHUNK + 6);
    float *pcm = malloc(cap * sizeof *pcm);
    bark_status st = BARK_OK;
    if (!s->ps || !w || !pcm) st = bark_fail(err, BARK_ERR_NOMEM, "say: out of memory");
    if (!st) st = encodec_dec_stream_create(&j->ctx->codec, NQ, &ds, err);
    for (; !st && started < n_workers; started++) {
        w[started].s = s;
        if (pthread_create(&w[started].th, NULL, piece_thread, &w[started]) != 0)
            st = bark_fail(err, BARK_ERR_NOMEM, "say: cannot start a thread");
    }
    pthread_mutex_lock(&s->mu);
    if (!st) st = play(s, ds, pcm, cap, err);
    if (st && !s->stop) { /* the caller's thread stopped it: the piece threads end at their next step */
        s->stop = 1;
        pthread_cond_broadcast(&s->cv);
    } else if (!st && s->stop) {
        st = s->st;
        *err = s->err;
    }
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < started; i++) pthread_join(w[i].th, NULL);
    if (st == BARK_ERR_INTERRUPTED && !err->msg[0]) bark_fail(err, st, "stopped by the caller");
    for (size_t k = 0; s->ps && k < j->n_pieces; k++) free(s->ps[k].codes);
    bark_voice_free(&s->carried);
    encodec_dec_stream_free(ds);
    free(pcm);
    free(w);
    free(s->ps);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
    return st;
}
