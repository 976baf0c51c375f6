#ifndef RBSCAN_CSQLITE_SHIM_H
#define RBSCAN_CSQLITE_SHIM_H
#include <sqlite3.h>
#include <string.h>

/* Opens a database image held in memory, read-only, with no file behind it (no temp files, no
   journal). Returns NULL on failure. */
static inline sqlite3 *rb_sqlite_open_bytes(const void *bytes, sqlite3_int64 size) {
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) { sqlite3_close(db); return NULL; }
    unsigned char *copy = (unsigned char *)sqlite3_malloc64((sqlite3_uint64)size);
    if (copy == NULL) { sqlite3_close(db); return NULL; }
    memcpy(copy, bytes, (size_t)size);
    if (sqlite3_deserialize(db, "main", copy, size, size, SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_READONLY) != SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}
/* SQLITE_TRANSIENT is a cast macro. */
static inline sqlite3_destructor_type rb_sqlite_transient(void) { return SQLITE_TRANSIENT; }
#endif
