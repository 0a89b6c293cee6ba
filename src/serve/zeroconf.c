/* zeroconf.c: the Wyoming server announced as _wyoming._tcp through Avahi (Home Assistant discovers it), when bark
 * was built with libavahi-client (BARK_HAVE_AVAHI); without it, nothing. */
#include "serve/zeroconf.h"

#include <stdio.h>
#include <stdlib.h>

#include "serve/serve.h"

#ifdef BARK_HAVE_AVAHI
#include <avahi-client/client.h>
#include <avahi-client/publish.h>
#include <avahi-common/alternative.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <avahi-common/thread-watch.h>

#define SERVICE "_wyoming._tcp"

struct srv_zeroconf {
    AvahiThreadedPoll *poll;
    AvahiClient *client;
    AvahiEntryGroup *group;
    char *name;
    int port;
};

static void add_service(srv_zeroconf *z, AvahiClient *c);

/* The next name after a collision ("bark.c" -> "bark.c #2"). */
static void rename_service(srv_zeroconf *z) {
    char *n = avahi_alternative_service_name(z->name);
    avahi_free(z->name);
    z->name = n;
}

static void on_group(AvahiEntryGroup *g, AvahiEntryGroupState st, void *user) {
    srv_zeroconf *z = user;
    if (st == AVAHI_ENTRY_GROUP_ESTABLISHED)
        fprintf(stderr, "bark serve: zeroconf: announced as '%s' (%s, port %d)\n", z->name, SERVICE, z->port);
    else if (st == AVAHI_ENTRY_GROUP_COLLISION) {
        rename_service(z);
        add_service(z, avahi_entry_group_get_client(g));
    } else if (st == AVAHI_ENTRY_GROUP_FAILURE)
        fprintf(stderr, "bark serve: zeroconf: announcing failed: %s\n",
                avahi_strerror(avahi_client_errno(avahi_entry_group_get_client(g))));
}

/* Adds and commits the service (on Avahi's thread). */
static void add_service(srv_zeroconf *z, AvahiClient *c) {
    if (!z->name) return;
    if (!z->group && !(z->group = avahi_entry_group_new(c, on_group, z))) {
        fprintf(stderr, "bark serve: zeroconf: %s\n", avahi_strerror(avahi_client_errno(c)));
        return;
    }
    avahi_entry_group_reset(z->group);
    int r;
    while ((r = avahi_entry_group_add_service(z->group, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC, 0, z->name, SERVICE, NULL,
                                              NULL, (uint16_t)z->port, NULL)) == AVAHI_ERR_COLLISION && z->name)
        rename_service(z);
    if (r < 0 || (r = avahi_entry_group_commit(z->group)) < 0)
        fprintf(stderr, "bark serve: zeroconf: cannot announce %s: %s\n", SERVICE, avahi_strerror(r));
}

static void on_client(AvahiClient *c, AvahiClientState st, void *user) {
    srv_zeroconf *z = user;
    if (st == AVAHI_CLIENT_S_RUNNING) add_service(z, c);
    else if ((st == AVAHI_CLIENT_S_COLLISION || st == AVAHI_CLIENT_S_REGISTERING) && z->group)
        avahi_entry_group_reset(z->group);
    else if (st == AVAHI_CLIENT_CONNECTING)
        fprintf(stderr, "bark serve: zeroconf: waiting for avahi-daemon to announce %s\n", SERVICE);
    else if (st == AVAHI_CLIENT_FAILURE)
        fprintf(stderr, "bark serve: zeroconf: %s\n", avahi_strerror(avahi_client_errno(c)));
}

srv_zeroconf *srv_zeroconf_open(const char *host, int port) {
    if (serve_host_is_loopback(host)) return NULL;
    srv_zeroconf *z = calloc(1, sizeof *z);
    int err = 0;
    if (!z || !(z->name = avahi_strdup("bark.c")) || !(z->poll = avahi_threaded_poll_new())) {
        srv_zeroconf_close(z);
        return NULL;
    }
    z->port = port;
    /* before the poll's thread starts: the callbacks run on it from then on */
    z->client = avahi_client_new(avahi_threaded_poll_get(z->poll), AVAHI_CLIENT_NO_FAIL, on_client, z, &err);
    if (!z->client || avahi_threaded_poll_start(z->poll) < 0) {
        fprintf(stderr, "bark serve: zeroconf: not announced: %s\n", avahi_strerror(err ? err : AVAHI_ERR_FAILURE));
        srv_zeroconf_close(z);
        return NULL;
    }
    return z;
}

void srv_zeroconf_close(srv_zeroconf *z) {
    if (!z) return;
    if (z->poll) avahi_threaded_poll_stop(z->poll);
    if (z->client) avahi_client_free(z->client); /* frees the group too */
    if (z->poll) avahi_threaded_poll_free(z->poll);
    avahi_free(z->name);
    free(z);
}

#else

srv_zeroconf *srv_zeroconf_open(const char *host, int port) { return NULL; }
void srv_zeroconf_close(srv_zeroconf *z) {}

#endif
