// Async-signal-safe removal of rbscan's private temporary directory: the handler only calls
// rmdir, signal and raise, on a path copied into static storage beforehand.
#define _GNU_SOURCE
#include "private_tmp.h"

#include <limits.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static char rb_tmp_path[PATH_MAX];
static volatile sig_atomic_t rb_tmp_set = 0;

static void rb_on_terminate(int sig) {
    if (rb_tmp_set) rmdir(rb_tmp_path);
    signal(sig, SIG_DFL);
    raise(sig);
}

void rb_remove_on_signal(const char *path) {
    size_t length = strlen(path);
    if (length >= sizeof rb_tmp_path) return;
    memcpy(rb_tmp_path, path, length + 1);
    rb_tmp_set = 1;
    const int signals[] = {SIGINT, SIGTERM, SIGHUP};
    for (unsigned i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        struct sigaction current;
        // A signal the caller ignores (nohup) stays ignored.
        if (sigaction(signals[i], NULL, &current) == 0 && current.sa_handler == SIG_IGN) continue;
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = rb_on_terminate;
        sigemptyset(&action.sa_mask);
        sigaction(signals[i], &action, NULL);
    }
}

void rb_forget_on_signal(void) {
    rb_tmp_set = 0;
}
