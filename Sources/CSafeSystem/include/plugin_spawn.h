#ifndef RBSCAN_PLUGIN_SPAWN_H
#define RBSCAN_PLUGIN_SPAWN_H
#include <sys/types.h>

/// Starts an external check plugin: `path` with `argv` and `envp` (NULL-terminated), in the
/// working directory `dir`, in a process group of its own (so that it and everything it starts can
/// be killed together), with `child_fds[0..2]` as its stdin, stdout and stderr, every other
/// descriptor closed and SIGPIPE at its default. Returns 0 and sets *pid, or an errno value.
/// (glibc's posix_spawn file actions for closefrom and chdir are GNU extensions Swift cannot see.)
int rb_spawn_plugin(const char *path, char *const argv[], char *const envp[], const char *dir,
                    const int child_fds[3], pid_t *pid);

/// Starts a helper server for the tests (sshd, snmpd, a Python server): `path` with `argv`, stdin
/// and stdout/stderr on /dev/null, every other descriptor closed, so it can never hold another
/// test's pipe open. Returns 0 and sets *pid, or an errno value.
int rb_spawn_detached(const char *path, char *const argv[], char *const envp[], pid_t *pid);

#endif
