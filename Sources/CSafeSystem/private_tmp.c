// Async-signal-safe removal of rbscan's private temporary directory: the handler only calls
// rmdir, signal and raise, on a path copied into static storage beforehand.
#define _GNU_SOURCE
#include "private_tmp.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char rb_tmp_path[PATH_MAX];
static volatile sig_atomic_t rb_tmp_set = 0;

static void rb_on_terminate(int sig) {
    if (rb_tmp_set) rmdir(rb_tmp_path);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void rb_install_handlers(void);

void rb_remove_on_signal(const char *path) {
    size_t length = strlen(path);
    if (length >= sizeof rb_tmp_path) return;
    memcpy(rb_tmp_path, path, length + 1);
    rb_tmp_set = 1;
    rb_install_handlers();
}

const char *rb_make_private_tmp(const char *template_path) {
    size_t length = strlen(template_path);
    if (length >= sizeof rb_tmp_path) return NULL;
    // The handlers are in place before the directory exists, and mkdtemp writes its final name
    // into the very buffer the handler reads: a signal at any moment removes what was made.
    memcpy(rb_tmp_path, template_path, length + 1);
    rb_tmp_set = 1;
    rb_install_handlers();
    if (mkdtemp(rb_tmp_path) == NULL) {
        rb_tmp_set = 0;
        return NULL;
    }
    return rb_tmp_path;
}

static void rb_install_handlers(void) {
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

int rb_open_spool(const char *directory) {
    // O_TMPFILE: the file never has a name, so no signal can find the directory non-empty.
    int fd = open(directory, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)) return fd;
    // File systems without O_TMPFILE: a named file, unlinked at once.
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/spool-XXXXXX", directory) >= (int)sizeof path) { errno = ENAMETOOLONG; return -1; }
    fd = mkostemp(path, O_CLOEXEC);
    if (fd >= 0) unlink(path);
    return fd;
}
