/* ring_buffer.h: a bounded single-producer / single-consumer queue of fixed-size elements between threads. */
#ifndef BARK_RING_BUFFER_H
#define BARK_RING_BUFFER_H

#include <signal.h>
#include <stddef.h>

#include "bark.h"

typedef struct ring_buffer ring_buffer;

/* A ring of `capacity` elements of elem_size bytes, allocated once. Blocking calls also return when
 * *stop becomes nonzero (stop may be NULL; it is polled every 50 ms, so a signal handler may set it). */
BARK_NODISCARD bark_status ring_buffer_create(size_t elem_size, size_t capacity, volatile sig_atomic_t *stop,
                                              ring_buffer **out, bark_error *err);
void ring_buffer_free(ring_buffer *r); /* accepts NULL */

/* Writes all n elements, waiting for room; returns how many were written (fewer only after a cancel or stop). */
size_t ring_buffer_write(ring_buffer *r, const void *src, size_t n);
/* Waits until an element is there, then reads up to n; returns 0 only once the ring is closed and empty,
 * or cancelled, or stopped. */
size_t ring_buffer_read(ring_buffer *r, void *dst, size_t n);
/* Waits at most timeout_s seconds until at least `want` elements are there (or the ring is full, closed or
 * cancelled); returns the count there now. */
size_t ring_buffer_wait(ring_buffer *r, size_t want, double timeout_s);

size_t ring_buffer_count(ring_buffer *r);
size_t ring_buffer_capacity(const ring_buffer *r);
/* The producer is done: the reader gets what is left, then 0. */
void ring_buffer_close(ring_buffer *r);
/* Either side gives up: every blocked and later call returns at once. */
void ring_buffer_cancel(ring_buffer *r);
int ring_buffer_cancelled(ring_buffer *r);
int ring_buffer_closed(ring_buffer *r);

#endif
