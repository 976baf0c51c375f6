#ifndef RBSCAN_CLIBSSH_SHIM_H
#define RBSCAN_CLIBSSH_SHIM_H
#include <libssh/libssh.h>

/* ssh_options_set takes a void pointer whose type depends on the option: typed wrappers. */
static inline int rb_ssh_set_string(ssh_session s, enum ssh_options_e option, const char *value) {
    return ssh_options_set(s, option, value);
}
static inline int rb_ssh_set_uint(ssh_session s, enum ssh_options_e option, unsigned int value) {
    return ssh_options_set(s, option, &value);
}
static inline int rb_ssh_set_long(ssh_session s, enum ssh_options_e option, long value) {
    return ssh_options_set(s, option, &value);
}
static inline int rb_ssh_set_int(ssh_session s, enum ssh_options_e option, int value) {
    return ssh_options_set(s, option, &value);
}
#endif
