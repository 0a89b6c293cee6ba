/* signals.c: every signal that ends `bark say` sets a flag instead, so the output is finished or removed. */
#include <signal.h>
#include <string.h>

#include "cli/say.h"

static volatile sig_atomic_t signalled;

static void on_signal(int sig) { signalled = sig; }

void say_signals_catch(void) {
    static const int ending[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof ending / sizeof *ending; i++) sigaction(ending[i], &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

int say_signalled(void) { return signalled != 0; }
