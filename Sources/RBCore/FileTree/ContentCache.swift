#if canImport(Glibc)
import Glibc
#endif
import CLZ4
import Synchronization

/// Shared by every rule scanning one target, so that rules reading the same files (several rules
/// look at every text file of an image) read each file once: it remembers which files are binary
/// and keeps the content of small text files within a byte budget. Rules scan files in path
/// order, so once the budget is full new files are not kept (evicting the oldest would make a
/// later rule's scan miss on every file).
///
/// Reads are single-flight: when two rules want the same file at the same moment, one reads it
/// and the other waits for the result instead of reading (and, in an image, decompressing) it
/// again.
public final class ContentCache: @unchecked Sendable {
    // @unchecked: all state is guarded by `mutex`; `condition` wakes the waiters.
    public enum Entry: Sendable {
        case binary
        case text(FileContent)
    }

    /// What `claim` returns: the cached answer, or the duty to read the file and `fulfil` it.
    public enum Claim: Sendable {
        case cached(Entry)
        case mustRead
    }

    // Heap-allocated: a pthread mutex and condition must not move.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var binary = Set<String>()
    private var texts: [String: KeptText] = [:]
    /// `bytes` as last set, read without the lock: a text is compressed before the lock is
    /// taken, and not at all once the budget is spent.
    private let keptBytes = Atomic<Int>(0)
    private var loading = Set<String>()
    /// Whole binaries read by `CheckContext.read`, within `binaryBudget`: the ELF, format-string
    /// and sink checks read the same programs.
    private var wholes: [String: FileContent] = [:]
    private var wholeBytes = 0
    public let binaryBudget = 64 << 20
    /// For binaries searched by the read-ahead pass: the markers looked for and those found.
    private var markerResults: [String: (search: MarkerSearch, head: [UInt8])] = [:]
    /// Digests computed by the read-ahead pass for the checks that asked for them.
    private var digests: [String: [DigestAlgorithm: [UInt8]]] = [:]
    private var bytes = 0
    /// Bytes of text content kept at most, as stored (`KeptText`: mostly compressed).
    public let budget: Int
    /// Files larger than this are never kept.
    public let largestFile: Int

    /// 8 MiB of stored text: the whole-tree text rules take what they need from the read-ahead
    /// pass's analyses, so the cache serves the files rules parse in full. Kept compressed it
    /// holds some 20 MB of text. On the 200,000-file image the rules read again after the pass
    /// 3,470 files (0.35 s CPU) at 12 MiB, 359 at 16 MiB, 7,984 (0.82 s) at 8 MiB, and 3,647 with
    /// 32 MiB kept as read; peak RSS 104, 108, 100 and 147 MB. After later savings elsewhere,
    /// 12 MiB peaked at 98.7-99.7 MiB, 10 MiB at 96.5-97.8 and 8 MiB at 94.5-96.3 (ru_maxrss),
    /// each about 0.05-0.08 s slower than the one before: the price of a peak under 100 MB.
    public init(budget: Int = 8 << 20, largestFile: Int = 64 << 20) {
        self.budget = budget
        self.largestFile = largestFile
        mutex.initialize(to: pthread_mutex_t())
        condition.initialize(to: pthread_cond_t())
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Drops the kept texts and whole binaries once the scan is done: writing the reports needs
    /// none of them, and would otherwise add its own memory to the scan's peak. A read after
    /// this goes to the tree again (nothing new is kept: the budget stays spent).
    public func releaseContent() {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        texts = [:]
        wholes = [:]
        keptBytes.store(budget, ordering: .relaxed)
        wholeBytes = binaryBudget
    }

    private func cachedLocked(_ path: String) -> Entry? {
        if binary.contains(path) { return .binary }
        return texts[path].flatMap(\.content).map(Entry.text)
    }

    /// Whether a reader found `path` binary (a set look-up: no kept text is decompressed).
    public func isBinary(_ path: String) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return binary.contains(path)
    }

    public func lookup(_ path: String) -> Entry? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return cachedLocked(path)
    }

    /// The cached entry, after waiting for another reader of the same file if there is one;
    /// otherwise the caller must read the file and call `fulfil` (or `abandon`).
    public func claim(_ path: String) -> Claim {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while true {
            if let entry = cachedLocked(path) { return .cached(entry) }
            if !loading.contains(path) {
                loading.insert(path)
                return .mustRead
            }
            pthread_cond_wait(condition, mutex)
            // The other reader finished; if it could not keep the content (budget), read it here.
            if cachedLocked(path) == nil, !loading.contains(path) {
                loading.insert(path)
                return .mustRead
            }
        }
    }

    /// Records what the claiming reader found and wakes the waiters. `keep` false: a text is not
    /// kept (the read-ahead pass found nothing in it that any rule reads it for), and a waiter
    /// reads it for itself.
    public func fulfil(_ path: String, _ entry: Entry, keep: Bool = true) {
        // Compressed before the lock is taken (the other workers go on meanwhile).
        var kept: KeptText?
        if case .text(let content) = entry, keep, content.bytes.count <= largestFile,
           keptBytes.load(ordering: .relaxed) < budget {
            kept = KeptText(content)
        }
        pthread_mutex_lock(mutex)
        switch entry {
        case .binary: binary.insert(path)
        case .text: if let kept { storeLocked(path, kept) }
        }
        loading.remove(path)
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    /// The claiming reader failed: waiters try for themselves.
    public func abandon(_ path: String) {
        pthread_mutex_lock(mutex)
        loading.remove(path)
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    /// A file's whole content if a reader kept it (text or binary).
    public func whole(_ path: String) -> FileContent? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return wholes[path] ?? texts[path]?.content
    }

    public func storeWhole(_ path: String, _ content: FileContent) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        let size = content.bytes.count
        guard size <= 16 << 20, wholes[path] == nil, texts[path] == nil, wholeBytes + size <= binaryBudget else { return }
        wholes[path] = content
        wholeBytes += size
    }

    public func storeMarkers(_ path: String, _ search: MarkerSearch, head: [UInt8]) {
        pthread_mutex_lock(mutex)
        markerResults[path] = (search, head)
        pthread_mutex_unlock(mutex)
    }

    public func markers(_ path: String) -> (search: MarkerSearch, head: [UInt8])? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return markerResults[path]
    }

    public func storeDigest(_ path: String, _ algorithm: DigestAlgorithm, _ digest: [UInt8]) {
        pthread_mutex_lock(mutex)
        digests[path, default: [:]][algorithm] = digest
        pthread_mutex_unlock(mutex)
    }

    public func digest(_ path: String, _ algorithm: DigestAlgorithm) -> [UInt8]? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return digests[path]?[algorithm]
    }

    public func storeBinary(_ path: String) { fulfil(path, .binary) }
    public func storeText(_ path: String, _ content: FileContent) { fulfil(path, .text(content)) }

    private func storeLocked(_ path: String, _ kept: KeptText) {
        let size = kept.stored.count
        guard texts[path] == nil, bytes + size <= budget else { return }
        texts[path] = kept
        bytes += size
        keptBytes.store(bytes, ordering: .relaxed)
    }
}

/// A text the content cache keeps: LZ4-compressed when that saves room (configuration and
/// script text shrinks to a half or a third), as read otherwise. Compressing costs about a
/// millisecond a megabyte, reading it back a fifth of that; the room saved keeps files in the
/// cache that rules would otherwise read (for images: decompress) again.
struct KeptText: Sendable {
    /// The bytes kept: compressed when `size` differs from their count.
    let stored: [UInt8]
    let size: Int
    let truncated: Bool

    init(_ content: FileContent) {
        let size = content.bytes.count
        self.size = size
        truncated = content.truncated
        // Short texts are kept as they are: little to save, and a second buffer for nothing.
        guard size >= 512, size < Int(Int32.max) else {
            stored = content.bytes
            return
        }
        let bound = Int(LZ4_compressBound(Int32(size)))
        var packed = [UInt8](repeating: 0, count: bound)
        let written = content.bytes.withUnsafeBytes { source in
            packed.withUnsafeMutableBytes { target in
                LZ4_compress_default(source.baseAddress!.assumingMemoryBound(to: CChar.self),
                                     target.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(size), Int32(bound))
            }
        }
        // Kept compressed only when that is at least an eighth smaller (an exact-size copy).
        if written > 0, Int(written) < size - size / 8 {
            stored = Array(packed[..<Int(written)])
        } else {
            stored = content.bytes
        }
    }

    /// The text as it was read (nil if it would not decompress: the caller reads the file).
    var content: FileContent? {
        guard stored.count != size else { return FileContent(bytes: stored, truncated: truncated) }
        var complete = false
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            let read = stored.withUnsafeBytes { source in
                LZ4_decompress_safe(source.baseAddress!.assumingMemoryBound(to: CChar.self),
                                    UnsafeMutableRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self),
                                    Int32(stored.count), Int32(size))
            }
            complete = read == Int32(size)
            count = complete ? size : 0
        }
        guard complete else { return nil }
        return FileContent(bytes: bytes, truncated: truncated)
    }
}

/// File selections by pattern set, shared by the rules scanning one target: many rules (and the
/// several checks of one rule) select files with the same patterns.
public final class SelectionCache: Sendable {
    private let selections = Synchronization.Mutex<[String: Positions]>([:])

    public init() {}

    /// The selection for `key`, as positions in the tree's index.
    public func positions(_ key: String, _ compute: () -> Positions) -> Positions {
        if let known = selections.withLock({ $0[key] }) { return known }
        let positions = compute()
        selections.withLock { $0[key] = positions }
        return positions
    }
}

/// What the read-ahead pass's analyses found, per analysis and file path (the paths are the
/// index's own strings, not new keys), and which text analyses have seen all their files.
public final class AnalysisStore: Sendable {
    private final class Table: Sendable {
        let results = Synchronization.Mutex<[String: any Sendable]>([:])
        /// Set when the pass has run the analysis on every file that asked for it: its result
        /// for a file without a kept one, and whether it ran on binaries.
        let nothing = Synchronization.Mutex<(value: any Sendable, binaries: Bool)?>(nil)
    }
    /// A handful per target, found by comparing ids (hashing a file.regex id, its patterns
    /// spelt out, for every file and analysis cost more).
    private let tables = Synchronization.Mutex<[(id: String, table: Table)]>([])

    public init() {}

    private func table(_ id: String, create: Bool) -> Table? {
        tables.withLock { tables in
            if let known = tables.first(where: { $0.id == id }) { return known.table }
            guard create else { return nil }
            let made = Table()
            tables.append((id, made))
            return made
        }
    }

    /// The kept result of analysis `id` for `path` (nil: none kept).
    public func result(_ id: String, _ path: String) -> (any Sendable)? {
        table(id, create: false)?.results.withLock { $0[path] }
    }

    /// The kept result for `path` and, when none is kept, what the completed analysis answers
    /// (one table lookup: rules ask this for every file of their selection).
    public func answer(_ id: String, _ path: String) -> (kept: (any Sendable)?, nothing: (value: any Sendable, binaries: Bool)?) {
        guard let table = table(id, create: false) else { return (nil, nil) }
        if let kept = table.results.withLock({ $0[path] }) { return (kept, nil) }
        return (nil, table.nothing.withLock { $0 })
    }

    /// Analysis `id`'s kept results and its completion, as they stand now: for a rule that asks
    /// about every file of its selection after the pass (one lookup each, no lock).
    public func view(_ id: String) -> AnalysisView {
        guard let table = table(id, create: false) else { return AnalysisView(kept: [:], nothing: nil) }
        return AnalysisView(kept: table.results.withLock { $0 }, nothing: table.nothing.withLock { $0 })
    }

    /// Keeps `value` unless a result is kept already.
    public func store(_ id: String, _ path: String, _ value: any Sendable) {
        table(id, create: true)!.results.withLock { results in
            if results[path] == nil { results[path] = value }
        }
    }

    /// For RBSCAN_PROFILE: each analysis and how many per-file results it keeps.
    public func keptCounts() -> [(id: String, kept: Int)] {
        tables.withLock { tables in tables.map { ($0.id, $0.table.results.withLock { $0.count }) } }
    }

    public func complete(_ id: String, nothing: any Sendable, binaries: Bool) {
        table(id, create: true)!.nothing.withLock { $0 = (nothing, binaries) }
    }

}

/// A snapshot of one analysis's results (`AnalysisStore.view`).
public struct AnalysisView: Sendable {
    let kept: [String: any Sendable]
    let nothing: (value: any Sendable, binaries: Bool)?
}

/// Values computed once per target and shared by every rule that asks for them (a model of the
/// tree, such as what starts at boot). Two rules asking at the same time may both compute it;
/// the first stored value wins and both get the same one.
public final class ModelCache: Sendable {
    private let values = Synchronization.Mutex<[String: any Sendable]>([:])

    public init() {}

    /// The value when some rule already computed it; nil otherwise (nothing is computed).
    public func existing<T: Sendable>(_ key: String, as type: T.Type) -> T? {
        values.withLock { $0[key] } as? T
    }

    public func value<T: Sendable>(_ key: String, _ compute: () -> T) -> T {
        if let known = values.withLock({ $0[key] }) as? T { return known }
        let computed = compute()
        return values.withLock { stored in
            if let existing = stored[key] as? T { return existing }
            stored[key] = computed
            return computed
        }
    }
}

/// The files of a target that some check recognised and read as its format (a normalised key
/// found, an sshd_config parsed, an XPath that selected something), whatever the verdict: a
/// config target nothing recognised is said so, never a silent pass.
public final class UnderstandingLog: Sendable {
    private let files = Synchronization.Mutex<[String: Set<String>]>([:])

    public init() {}

    public func mark(_ path: String, by check: String) {
        files.withLock { _ = $0[path, default: []].insert(check) }
    }

    public var isEmpty: Bool { files.withLock { $0.isEmpty } }
}

/// Which byte markers the read-ahead pass searched a binary for, and which it found: kept as the
/// list searched (the same few for every binary) and one flag each, so that asking costs a
/// comparison of short arrays, not hashing them.
public struct MarkerSearch: Sendable {
    public let searched: [[UInt8]]
    public let found: [Bool]

    public init(searched: [[UInt8]], found: [Bool]) {
        precondition(searched.count == found.count)
        self.searched = searched
        self.found = found
    }

    /// Whether the file holds `marker`; nil when it was not searched for it.
    public func holds(_ marker: [UInt8]) -> Bool? {
        searched.firstIndex(of: marker).map { found[$0] }
    }

    /// Whether it was searched for every one of `markers`, and which of them it holds.
    public func holds(_ markers: [[UInt8]]) -> [Bool]? {
        if markers == searched { return found }
        var answers: [Bool] = []
        for marker in markers {
            guard let answer = holds(marker) else { return nil }
            answers.append(answer)
        }
        return answers
    }
}
