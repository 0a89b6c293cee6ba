/* stream.c: the generation thread pushes each finished fine window into a ring; the playback thread decodes it
 * and hands the samples to on_audio, holding pieces back as the pacing asks. */
#include "synth/stream.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/encodec.h"
#include "core/bark_constants.h"
#include "core/error.h"
#include "core/ring_buffer.h"

#define NQ BARK_N_FINE_CODEBOOKS
#define FPS ((double)BARK_COARSE_RATE_HZ) /* EnCodec frames per second of audio */
#define HOP 320                           /* samples per frame */
#define RING_FRAMES (BARK_COARSE_RATE_HZ * 600) /* at most 10 minutes of audio queued (1.6 MB) */
#define CHUNK 16                          /* frames decoded and played at a time (0.21 s) */

/* One EnCodec frame in the ring, tagged with its piece. */
typedef struct frame {
    int32_t piece;
    int32_t code[NQ];
} frame;

/* What the generation thread tells the playback thread (under mu). */
typedef struct stats {
    pthread_mutex_t mu;
    size_t *piece_total, *piece_emitted; /* [n_pieces]: frames of each piece (0 until known) and generated */
    size_t pieces_done, frames_done, chars_done, frames_of_done_pieces;
    double fine_start, fine_rate;        /* when the current fine stage began; its frames per second so far */
} stats;

typedef struct stream {
    synth_job *j;
    ring_buffer *ring;
    stats st;
    size_t piece;        /* the piece being generated */
    size_t played;       /* frames handed to the decoder (playback thread) */
    frame batch[64];     /* generation thread: frames on their way into the ring */
    bark_status cons_status;
    bark_error cons_err;
} stream;

double synth_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double since(const synth_job *j) { return synth_now() - j->start; }

static int stopped(stream *s) { return ring_buffer_cancelled(s->ring); }

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

/* ---- generation thread ---- */

/* After every token and fine pass (generation thread = the caller's): the abort and progress callbacks. */
static int on_progress(void *user, bark_stage stage, size_t done, size_t total) {
    stream *s = user;
    if (stopped(s)) return 1;
    pthread_mutex_lock(&s->st.mu);
    if (stage == BARK_STAGE_COARSE && done == total) s->st.fine_start = synth_now();
    double audio_s = (double)s->st.frames_done / FPS;
    pthread_mutex_unlock(&s->st.mu);
    synth_reporter r = {s->j->p, s->piece, s->j->n_pieces, s->j->pieces[s->piece].len, s->j->start, audio_s};
    return synth_report(&r, stage, done, total);
}

/* Frames [from, to) of out[8][ld] are final: into the ring they go (waiting while it is full). */
static int on_window(void *user, const int32_t *out, size_t ld, size_t from, size_t to) {
    stream *s = user;
    pthread_mutex_lock(&s->st.mu);
    s->st.piece_total[s->piece] = ld;
    s->st.piece_emitted[s->piece] = to;
    s->st.frames_done += to - from;
    double dt = synth_now() - s->st.fine_start;
    s->st.fine_rate = dt > 0 ? (double)to / dt : 1e9;
    pthread_mutex_unlock(&s->st.mu);
    for (size_t t = from; t < to;) {
        size_t k = 0;
        for (; k < 64 && t < to; k++, t++) {
            s->batch[k].piece = (int32_t)s->piece;
            for (int q = 0; q < NQ; q++) s->batch[k].code[q] = out[(size_t)q * ld + t];
        }
        if (ring_buffer_write(s->ring, s->batch, k) < k) return 1;
    }
    return 0;
}

static bark_status generate_all(stream *s, bark_error *err) {
    synth_job *j = s->j;
    bark_rng rng;
    bark_rng_seed(&rng, j->p->seed);
    bark_voice carried = {0};
    const bark_voice *voice = j->voice;
    bark_status st = BARK_OK;
    bark_gen_params gen = j->gen;
    bark_steps prog = {on_progress, s};
    gen.semantic.progress = gen.coarse.progress = gen.fine.progress = prog;
    gen.fine.on_window = on_window;
    gen.fine.window_user = s;
    gen.last = BARK_STAGE_FINE;
    for (size_t k = 0; k < j->n_pieces && !st; k++) {
        int32_t ids[256];
        bark_codes codes = {0};
        s->piece = k;
        size_t n_text;
        int truncated;
        if ((st = bark_text_to_semantic_input(j->ctx->tok, j->text + j->pieces[k].off, j->pieces[k].len, ids, &n_text,
                                              &truncated, err)))
            break;
        if ((st = bark_generate_codes(j->ctx->model, ids, voice, &gen, &rng, &codes, err))) break;
        pthread_mutex_lock(&s->st.mu);
        s->st.pieces_done = k + 1;
        s->st.chars_done += j->pieces[k].len;
        s->st.frames_of_done_pieces += codes.n_frames;
        pthread_mutex_unlock(&s->st.mu);
        j->frames += codes.n_frames;
        if (!j->voice) { /* the next piece goes on in this piece's voice */
            bark_voice_free(&carried);
            carried.semantic = codes.semantic, carried.coarse = codes.coarse, carried.fine = codes.fine;
            carried.n_semantic = codes.n_semantic, carried.n_coarse = carried.n_fine = codes.n_frames;
            memset(&codes, 0, sizeof codes);
            voice = &carried;
        }
        bark_codes_free(&codes);
    }
    bark_voice_free(&carried);
    return st;
}

/* ---- playback thread ---- */

/* Whether piece p may start playing now without a break inside it (or, with no_gaps, anywhere after). */
static int ready_to_play(stream *s, size_t p) {
    synth_job *j = s->j;
    if (ring_buffer_closed(s->ring)) return 1;
    size_t queued = ring_buffer_count(s->ring);
    if (queued + CHUNK >= ring_buffer_capacity(s->ring)) return 1;
    pthread_mutex_lock(&s->st.mu);
    stats *t = &s->st;
    int ready = 0;
    if (j->p->pacing == BARK_PACE_NO_GAPS) {
        /* the rest, estimated from the text left and the frames per byte so far, at the measured speed */
        double elapsed = since(j), speed = elapsed > 0 ? (double)t->frames_done / elapsed : 0;
        if (t->pieces_done > 0 && speed > 0) {
            size_t total_chars = 0;
            for (size_t i = 0; i < j->n_pieces; i++) total_chars += j->pieces[i].len;
            double per_char = (double)t->frames_of_done_pieces / (double)t->chars_done;
            double rest = per_char * (double)(total_chars - t->chars_done) -
                          (double)(t->frames_done - t->frames_of_done_pieces);
            if (rest < 0) rest = 0;
            double buffered = (double)(t->frames_done - s->played), last = (double)t->frames_of_done_pieces / (double)t->pieces_done;
            ready = rest / speed <= (buffered + rest - last) / FPS;
        }
    } else if (t->pieces_done > p) {
        ready = 1;
    } else if (t->piece_total[p] && t->fine_rate > 0) {
        /* the rest of this piece must be generated before playback reaches it */
        double rest = (double)(t->piece_total[p] - t->piece_emitted[p]);
        ready = rest / t->fine_rate <= (double)t->piece_emitted[p] / FPS;
    }
    if (t->pieces_done == j->n_pieces) ready = 1;
    pthread_mutex_unlock(&s->st.mu);
    return ready;
}

static void wait_for_piece(stream *s, size_t p) {
    while (!stopped(s) && !ready_to_play(s, p)) ring_buffer_wait(s->ring, ring_buffer_count(s->ring) + 1, 0.05);
}

/* Hands n decoded samples to on_audio (a nonzero return stops the synthesis). */
static bark_status deliver(stream *s, const float *pcm, size_t n, bark_error *err) {
    synth_job *j = s->j;
    if (!n) return BARK_OK;
    if (j->first_audio < 0) j->first_audio = since(j);
    j->samples += n;
    if (j->p->on_audio && j->p->on_audio(j->p->audio_user, pcm, n))
        return bark_fail(err, BARK_ERR_INTERRUPTED, "stopped by the audio callback");
    return BARK_OK;
}

static bark_status play_all(stream *s, encodec_dec_stream *ds, float *pcm, size_t cap, bark_error *err) {
    synth_job *j = s->j;
    frame in[CHUNK];
    int32_t codes[NQ * CHUNK];
    long cur = -1;
    size_t n, got;
    bark_status st = BARK_OK;
    while (!st && (n = ring_buffer_read(s->ring, in, CHUNK)) > 0) {
        for (size_t a = 0, b; a < n && !st; a = b) {
            for (b = a; b < n && in[b].piece == in[a].piece; b++) {}
            if (in[a].piece != cur) {
                cur = in[a].piece;
                if (j->p->pacing != BARK_PACE_NONE) wait_for_piece(s, (size_t)cur);
            }
            if (stopped(s)) return BARK_ERR_INTERRUPTED;
            size_t m = b - a;
            for (size_t t = 0; t < m; t++)
                for (int q = 0; q < NQ; q++) codes[(size_t)q * m + t] = in[a + t].code[q];
            s->played += m;
            st = encodec_dec_stream_push(ds, codes, m, m, pcm, cap, &got, err);
            if (!st) st = deliver(s, pcm, got, err);
        }
    }
    if (st) return st;
    if (stopped(s)) return BARK_ERR_INTERRUPTED;
    if ((st = encodec_dec_stream_finish(ds, pcm, cap, &got, err))) return st;
    return deliver(s, pcm, got, err);
}

static void *playback(void *arg) {
    stream *s = arg;
    encodec_dec_stream *ds = NULL;
    size_t cap = (size_t)HOP * (CHUNK + 6);
    float *pcm = malloc(cap * sizeof *pcm);
    bark_status st = pcm ? encodec_dec_stream_create(&s->j->ctx->codec, NQ, &ds, &s->cons_err)
                         : bark_fail(&s->cons_err, BARK_ERR_NOMEM, "say: out of memory");
    if (!st) st = play_all(s, ds, pcm, cap, &s->cons_err);
    if (st) ring_buffer_cancel(s->ring); /* the generation thread stops too */
    s->cons_status = st;
    encodec_dec_stream_free(ds);
    free(pcm);
    return NULL;
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
    pthread_mutex_init(&s->st.mu, NULL);
    s->st.piece_total = calloc(j->n_pieces, sizeof *s->st.piece_total);
    s->st.piece_emitted = calloc(j->n_pieces, sizeof *s->st.piece_emitted);
    pthread_t th;
    bark_status st = BARK_OK;
    if (!s->st.piece_total || !s->st.piece_emitted) st = bark_fail(err, BARK_ERR_NOMEM, "say: out of memory");
    if (!st) st = ring_buffer_create(sizeof(frame), RING_FRAMES, NULL, &s->ring, err);
    if (!st && pthread_create(&th, NULL, playback, s) != 0) st = bark_fail(err, BARK_ERR_NOMEM, "say: cannot start a thread");
    else if (!st) {
        st = generate_all(s, err);
        j->gen_end = since(j);
        if (st) ring_buffer_cancel(s->ring);
        else ring_buffer_close(s->ring);
        pthread_join(th, NULL);
        if (s->cons_status && s->cons_status != BARK_ERR_INTERRUPTED) { /* decoding failed: that is the news */
            st = s->cons_status;
            *err = s->cons_err;
        } else if (!st && s->cons_status) {
            st = s->cons_status;
            *err = s->cons_err;
        }
        if (st == BARK_ERR_INTERRUPTED && !err->msg[0]) bark_fail(err, st, "stopped by the caller");
    }
    ring_buffer_free(s->ring);
    free(s->st.piece_total);
    free(s->st.piece_emitted);
    pthread_mutex_destroy(&s->st.mu);
    free(s);
    return st;
}
