/* limits.c: what bounds `bark serve`: the API key, the synthesis slots (max_queue), a client that went away. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "serve/srv.h"

enum { SLOT_FREE, SLOT_RUNNING, SLOT_DONE };

/* Compares in time that does not depend on where a and b differ. */
static int same_secret(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = la != lb;
    for (size_t i = 0; i < la; i++) diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return diff == 0;
}

int srv_authorized(const serve *s, struct MHD_Connection *c) {
    if (!s->api_key[0]) return 1;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncmp(h, "Bearer ", 7)) return 0;
    return same_secret(h + 7, s->api_key);
}

int srv_admit(serve *s, void *(*fn)(void *), void *arg, int *slot) {
    int got = -1;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->cfg.max_queue && got < 0 && !atomic_load(&s->stopping); i++) {
        srv_slot *sl = &s->slots[i];
        if (sl->state == SLOT_RUNNING) continue;
        if (sl->state == SLOT_DONE) pthread_join(sl->th, NULL), sl->state = SLOT_FREE;
        *slot = i;
        if (pthread_create(&sl->th, NULL, fn, arg) == 0) sl->state = SLOT_RUNNING, got = i;
        else break;
    }
    pthread_mutex_unlock(&s->mu);
    return got;
}

void srv_slot_done(serve *s, const int *slot) {
    pthread_mutex_lock(&s->mu);
    s->slots[*slot].state = SLOT_DONE;
    pthread_mutex_unlock(&s->mu);
}

void srv_join_all(serve *s) {
    for (int i = 0; i < s->cfg.max_queue; i++) {
        pthread_mutex_lock(&s->mu);
        const int started = s->slots[i].state != SLOT_FREE;
        pthread_t th = s->slots[i].th;
        pthread_mutex_unlock(&s->mu);
        if (started) pthread_join(th, NULL);
        pthread_mutex_lock(&s->mu);
        s->slots[i].state = SLOT_FREE;
        pthread_mutex_unlock(&s->mu);
    }
}

int srv_client_gone(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 0) <= 0) return 0;
    if (p.revents & (POLLERR | POLLNVAL)) return 1;
    char b;
    ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}
