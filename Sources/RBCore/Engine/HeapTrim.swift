import CSafeSystem

/// Gives the heap's free pages back to the system between the phases of a scan: building a
/// large image's index frees tens of megabytes (the walk's entries before sorting, their
/// order) on the resolving thread, in that thread's malloc arena, where the pass's workers
/// (other arenas) never reuse it.
public enum HeapTrim {
    public static func releaseFree() { rb_heap_trim() }

    /// Called once at start: arrays of a 200,000-file index (13 MB of entries, their sorted
    /// copies, the pass's orderings) are mapped on their own and go back to the system when
    /// freed. With glibc's moving threshold they left holes: peak RSS 181 -> 160 MB on that
    /// image, the same time (a file's content under 1 MiB still comes from the heap).
    public static func configure() {
        rb_heap_fix_mmap_threshold(1 << 20)
        rb_release_startup_pages()
    }
}
