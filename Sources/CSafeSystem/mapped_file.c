// Read-only file mappings whose faults are survivable.
//
// A mapped file that shrinks under a reader (or whose device fails) raises SIGBUS on access
// instead of returning an error. Every access to a mapping goes through the two copy functions
// below, which run under a per-thread recovery point: the SIGBUS handler jumps back to it and the
// copy returns -1. A SIGBUS raised anywhere else is handed to whichever handler was installed
// before (the Swift runtime's backtracer), or ends the process as it would have.
#define _GNU_SOURCE
#include "mapped_file.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

static __thread sigjmp_buf *rb_recovery;
static struct sigaction rb_previous;
static pthread_once_t rb_once = PTHREAD_ONCE_INIT;

static void rb_on_sigbus(int sig, siginfo_t *info, void *context) {
    sigjmp_buf *recovery = rb_recovery;
    if (recovery != NULL) {
        rb_recovery = NULL;
        siglongjmp(*recovery, 1);
    }
    if (rb_previous.sa_flags & SA_SIGINFO) {
        if (rb_previous.sa_sigaction != NULL) {
            rb_previous.sa_sigaction(sig, info, context);
            return;
        }
    } else if (rb_previous.sa_handler == SIG_IGN) {
        return;
    } else if (rb_previous.sa_handler != SIG_DFL && rb_previous.sa_handler != NULL) {
        rb_previous.sa_handler(sig);
        return;
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void rb_install(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = rb_on_sigbus;
    // SA_NODEFER: SIGBUS stays unblocked when the handler jumps out, so the recovery point
    // need not save and restore the signal mask (no system call per copy).
    action.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    sigaction(SIGBUS, &action, &rb_previous);
}

const void *rb_map_file(int fd, size_t size) {
    if (size == 0) return NULL;
    pthread_once(&rb_once, rb_install);
    void *base = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    return base == MAP_FAILED ? NULL : base;
}

void rb_unmap_file(const void *base, size_t size) {
    if (base != NULL) munmap((void *)base, size);
}

int rb_mapped_copy(void *dst, const void *src, size_t n) {
    sigjmp_buf recovery;
    if (sigsetjmp(recovery, 0) != 0) return -1;
    rb_recovery = &recovery;
    memcpy(dst, src, n);
    rb_recovery = NULL;
    return 0;
}

int rb_mapped_gather(void *dst, const void *src, size_t stride, size_t length, size_t count) {
    sigjmp_buf recovery;
    if (sigsetjmp(recovery, 0) != 0) return -1;
    rb_recovery = &recovery;
    const unsigned char *from = src;
    unsigned char *to = dst;
    for (size_t i = 0; i < count; i++) {
        memcpy(to, from, length);
        to += length;
        from += stride;
    }
    rb_recovery = NULL;
    return 0;
}
