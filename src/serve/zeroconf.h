/* zeroconf.h: the Wyoming server announced on the network as _wyoming._tcp (zeroconf.c). */
#ifndef BARK_SERVE_ZEROCONF_H
#define BARK_SERVE_ZEROCONF_H

typedef struct srv_zeroconf srv_zeroconf;

/* Announces the Wyoming server on port through Avahi, when bark was built with libavahi-client and host is not a
 * loopback address (nothing else could reach it); NULL otherwise. Problems (no avahi-daemon yet, a name taken) are
 * logged in one line and retried by Avahi: the server runs without it. */
srv_zeroconf *srv_zeroconf_open(const char *host, int port);
void srv_zeroconf_close(srv_zeroconf *z); /* accepts NULL */

#endif
