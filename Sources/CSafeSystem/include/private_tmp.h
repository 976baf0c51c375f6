#ifndef RBSCAN_PRIVATE_TMP_H
#define RBSCAN_PRIVATE_TMP_H

/// Removes the (empty) private temporary directory `path` when the process is ended by SIGINT,
/// SIGTERM or SIGHUP, then lets the signal take its default course (exit status as before).
/// Spool files in it are unlinked when made, so removing the directory is all that is left.
void rb_remove_on_signal(const char *path);

/// Creates the private temporary directory from `template_path` (ending in XXXXXX) with the
/// removal on SIGINT/SIGTERM/SIGHUP armed before it exists, so that no signal can leave it
/// behind; returns its path (static storage) or NULL with errno set.
const char *rb_make_private_tmp(const char *template_path);

/// Opens a new spool file in `directory` that has no name (O_TMPFILE; where the file system lacks
/// it, a named file unlinked at once). Returns the descriptor, or -1 with errno set.
int rb_open_spool(const char *directory);

/// Forgets the directory (it was removed normally).
void rb_forget_on_signal(void);

#endif
