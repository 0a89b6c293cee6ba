/* ring_buffer.c: the bounded producer / consumer queue (one mutex, two condition variables, timed waits). */
#include "core/ring_buffer.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"

#define POLL_NS 50000000L /* how often a blocked call looks at *stop */

struct ring_buffer {
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    unsigned char *buf;
    size_t elem, cap, head, count; /* head: index of the oldest element */
    int closed, cancelled;
    volatile sig_atomic_t *stop;
};

bark_status ring_buffer_create(size_t elem_size, size_t capacity, volatile sig_atomic_t *stop, ring_buffer **out,
                               bark_error *err) {
    *out = NULL;
    if (elem_size == 0 || capacity == 0 || capacity > SIZE_MAX / elem_size)
        return bark_fail(err, BARK_ERR_ARG, "ring buffer: invalid size %zu x %zu", capacity, elem_size);
    ring_buffer *r = calloc(1, sizeof *r);
    if (!r || !(r->buf = malloc(elem_size * capacity))) {
        free(r);
        return bark_fail(err, BARK_ERR_NOMEM, "ring buffer: out of memory for %zu x %zu bytes", capacity, elem_size);
    }
    r->elem = elem_size, r->cap = capacity, r->stop = stop;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->not_empty, NULL);
    pthread_cond_init(&r->not_full, NULL);
    *out = r;
    return BARK_OK;
}

void ring_buffer_free(ring_buffer *r) {
    if (!r) return;
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->not_empty);
    pthread_cond_destroy(&r->not_full);
    free(r->buf);
    free(r);
}

static int given_up(const ring_buffer *r) { return r->cancelled || (r->stop && *r->stop); }

/* Waits on c for at most ns nanoseconds (the caller holds the mutex). */
static void timed_wait(ring_buffer *r, pthread_cond_t *c, long ns) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_nsec += ns;
    t.tv_sec += t.tv_nsec / 1000000000L;
    t.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(c, &r->mu, &t);
}

size_t ring_buffer_write(ring_buffer *r, const void *src, size_t n) {
    const unsigned char *s = src;
    size_t done = 0;
    pthread_mutex_lock(&r->mu);
    while (done < n && !given_up(r) && !r->closed) {
        if (r->count == r->cap) {
            timed_wait(r, &r->not_full, POLL_NS);
            continue;
        }
        size_t tail = (r->head + r->count) % r->cap;
        size_t k = r->cap - r->count, run = r->cap - tail;
        if (k > n - done) k = n - done;
        if (k > run) k = run;
        memcpy(r->buf + tail * r->elem, s + done * r->elem, k * r->elem);
        r->count += k, done += k;
        pthread_cond_signal(&r->not_empty);
    }
    pthread_mutex_unlock(&r->mu);
    return done;
}

size_t ring_buffer_read(ring_buffer *r, void *dst, size_t n) {
    unsigned char *d = dst;
    size_t done = 0;
    pthread_mutex_lock(&r->mu);
    while (r->count == 0 && !given_up(r) && !r->closed) timed_wait(r, &r->not_empty, POLL_NS);
    while (done < n && r->count > 0 && !given_up(r)) {
        size_t k = r->count, run = r->cap - r->head;
        if (k > n - done) k = n - done;
        if (k > run) k = run;
        memcpy(d + done * r->elem, r->buf + r->head * r->elem, k * r->elem);
        r->head = (r->head + k) % r->cap, r->count -= k, done += k;
    }
    if (done) pthread_cond_signal(&r->not_full);
    pthread_mutex_unlock(&r->mu);
    return done;
}

size_t ring_buffer_wait(ring_buffer *r, size_t want, double timeout_s) {
    pthread_mutex_lock(&r->mu);
    long ns = timeout_s <= 0 ? 0 : timeout_s > 0.05 ? POLL_NS : (long)(timeout_s * 1e9);
    if (ns > 0 && r->count < want && r->count < r->cap && !given_up(r) && !r->closed)
        timed_wait(r, &r->not_empty, ns);
    size_t c = r->count;
    pthread_mutex_unlock(&r->mu);
    return c;
}

size_t ring_buffer_count(ring_buffer *r) {
    pthread_mutex_lock(&r->mu);
    size_t c = r->count;
    pthread_mutex_unlock(&r->mu);
    return c;
}

size_t ring_buffer_capacity(const ring_buffer *r) { return r->cap; }

void ring_buffer_close(ring_buffer *r) {
    pthread_mutex_lock(&r->mu);
    r->closed = 1;
    pthread_cond_broadcast(&r->not_empty);
    pthread_cond_broadcast(&r->not_full);
    pthread_mutex_unlock(&r->mu);
}

void ring_buffer_cancel(ring_buffer *r) {
    pthread_mutex_lock(&r->mu);
    r->cancelled = 1;
    pthread_cond_broadcast(&r->not_empty);
    pthread_cond_broadcast(&r->not_full);
    pthread_mutex_unlock(&r->mu);
}

int ring_buffer_cancelled(ring_buffer *r) {
    pthread_mutex_lock(&r->mu);
    int c = given_up(r);
    pthread_mutex_unlock(&r->mu);
    return c;
}

int ring_buffer_closed(ring_buffer *r) {
    pthread_mutex_lock(&r->mu);
    int c = r->closed;
    pthread_mutex_unlock(&r->mu);
    return c;
}
