#ifndef RBSCAN_PRIVATE_TMP_H
#define RBSCAN_PRIVATE_TMP_H

/// Removes the (empty) private temporary directory `path` when the process is ended by SIGINT,
/// SIGTERM or SIGHUP, then lets the signal take its default course (exit status as before).
/// Spool files in it are unlinked when made, so removing the directory is all that is left.
void rb_remove_on_signal(const char *path);

/// Forgets the directory (it was removed normally).
void rb_forget_on_signal(void);

#endif
