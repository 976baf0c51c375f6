import Dispatch
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A `FileTree` over a directory on the host (an extracted root filesystem) or over one host file
/// (a config-file target).
///
/// Safety: the tree is walked once with `openat`/`fstatat` relative to directory descriptors and
/// never follows a link while walking. Content is read with `openat(O_NOFOLLOW)` from the root's
/// descriptor and accepted only when the opened file's device and inode are the ones indexed, so
/// neither a link in the tree nor one swapped in during the scan can make rbscan read a host file.
/// Links are resolved by `FileTree.resolve`, inside the root (chroot semantics).
public final class DirectoryTree: FileTree {
    public let displayName: String
    public let hasMetadata = true
    public let index: PathIndex
    public let indexDiagnostics: [Diagnostic]
    /// The host path of the root directory.
    public let hostRoot: String
    private let rootFD: Int32
    private let identities: [String: FileIdentity]

    struct FileIdentity: Sendable {
        var device: UInt64
        var inode: UInt64
        /// The path's bytes as the host names it, relative to the root: a name that is not
        /// UTF-8 is shown escaped (`\xFF`) but opened by its own bytes.
        var raw: [UInt8]
    }

    /// Indexes the directory `path`.
    public init(directory path: String, limits: ScanLimits = ScanLimits()) throws(FileTreeError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            throw FileTreeError(.unreadable, path: path, "cannot open directory: \(DirectoryTree.errnoText())")
        }
        var rootStat = stat()
        fstat(fd, &rootStat)
        let root = FileEntry(path: "", type: .directory, mode: UInt32(rootStat.st_mode) & 0o7777,
                             uid: rootStat.st_uid, gid: rootStat.st_gid, mtime: Int64(rootStat.st_mtim.tv_sec))
        // On all cores; a tree past the entry limit is walked again on one thread, so that which
        // entries are kept (the first ones in walk order) does not depend on timing.
        let walked = ParallelWalk.run(root, rootFD: fd, limits: limits) ?? {
            var walker = Walker(limits: limits)
            walker.entries.append(root)
            walker.walk(directoryFD: fd, relative: "", depth: 0)
            return (walker.entries, walker.identities, walker.diagnostics)
        }()
        self.rootFD = fd
        self.hostRoot = path
        self.displayName = path
        self.index = PathIndex(walked.entries)
        self.identities = walked.identities
        self.indexDiagnostics = walked.diagnostics
    }

    /// A tree holding exactly one host file, under its base name: a config-file target.
    public init(file path: String) throws(FileTreeError) {
        let slash = path.lastIndex(of: "/")
        let parent = slash.map { String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let fd = open(parent.isEmpty ? "/" : parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            throw FileTreeError(.unreadable, path: path, "cannot open the directory of the file: \(DirectoryTree.errnoText())")
        }
        var st = stat()
        guard fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
            let text = DirectoryTree.errnoText()
            close(fd)
            throw FileTreeError(.unreadable, path: path, "cannot stat: \(text)")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw FileTreeError(.notRegularFile, path: path, "not a regular file")
        }
        rootFD = fd
        hostRoot = parent
        displayName = path
        index = PathIndex([
            FileEntry(path: "", type: .directory, mode: 0o755),
            Walker.entry(path: name, stat: st, linkTarget: nil),
        ])
        identities = [name: FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), raw: Array(name.utf8))]
        indexDiagnostics = []
    }

    deinit { close(rootFD) }

    public func read(_ entry: FileEntry, limit: Int) throws -> FileContent {
        try withVerifiedFile(entry) { fd, size in try Self.read(fd, size: size, limit: limit, path: entry.path) }
    }

    /// One open: the first 8 KiB decide, and a text file's rest is read from the same descriptor.
    public func readUnlessBinary(_ entry: FileEntry, limit: Int) throws -> FileContent? {
        try withVerifiedFile(entry) { fd, size in try Self.readUnlessBinary(fd, size: size, limit: limit, path: entry.path) }
    }

    public func stream(_ entry: FileEntry, limit: Int, chunk: Int, overlap: Int,
                       _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Bool) throws {
        try withVerifiedFile(entry) { fd, size in
            try Self.stream(fd, size: size, limit: limit, chunk: chunk, overlap: overlap, path: entry.path, body)
        }
    }

    /// The file opened and checked once; every read of it `pread`s from offset 0.
    public func opened(_ entry: FileEntry) throws -> any OpenedFile {
        let (fd, size) = try openVerified(entry)
        return Opened(fd: fd, size: size, path: entry.path)
    }

    private final class Opened: OpenedFile {
        let fd: Int32
        let size: Int
        let path: String

        init(fd: Int32, size: Int, path: String) {
            self.fd = fd
            self.size = size
            self.path = path
        }

        deinit { close(fd) }

        func readUnlessBinary(limit: Int) throws -> FileContent? {
            try DirectoryTree.readUnlessBinary(fd, size: size, limit: limit, path: path)
        }

        func read(limit: Int) throws -> FileContent { try DirectoryTree.read(fd, size: size, limit: limit, path: path) }

        func stream(limit: Int, chunk: Int, overlap: Int, _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Bool) throws {
            try DirectoryTree.stream(fd, size: size, limit: limit, chunk: chunk, overlap: overlap, path: path, body)
        }
    }

    private static func read(_ fd: Int32, size: Int, limit: Int, path: String) throws -> FileContent {
        let (bytes, _) = try readAll(fd, into: [], upTo: min(limit, size), path: path)
        return FileContent(bytes: bytes, truncated: size > limit)
    }

    private static func readUnlessBinary(_ fd: Int32, size: Int, limit: Int, path: String) throws -> FileContent? {
        let wanted = min(limit, size)
        let (head, _) = try readAll(fd, into: [], upTo: min(8192, wanted), path: path)
        if ByteScan.hasNUL(head) { return nil }
        let (bytes, _) = try readAll(fd, into: head, upTo: wanted, path: path)
        return FileContent(bytes: bytes, truncated: size > limit)
    }

    /// `pread`s into one buffer of `overlap + chunk` bytes: no allocation per piece and nothing
    /// larger than a chunk in memory.
    private static func stream(_ fd: Int32, size: Int, limit: Int, chunk: Int, overlap: Int, path: String,
                               _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Bool) throws {
        precondition(chunk > 0 && overlap >= 0)
        let total = min(limit, size)
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: overlap + chunk)
        defer { buffer.deallocate() }
        var kept = 0      // bytes carried over from the previous piece
        var offset = 0    // file offset of buffer[0]
        var position = 0  // bytes of the file read so far
        while position < total {
            var filled = kept
            while filled < kept + chunk, position < total {
                let n = pread(fd, buffer.baseAddress! + filled, min(kept + chunk - filled, total - position), off_t(position))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FileTreeError(.unreadable, path: path, "read failed at offset \(position): \(DirectoryTree.errnoText())")
                }
                if n == 0 { break }
                filled += n
                position += n
            }
            if filled == kept { break }
            guard try body(UnsafeBufferPointer(rebasing: buffer[0..<filled]), offset) else { return }
            kept = min(overlap, filled)
            if kept > 0 {
                memmove(buffer.baseAddress!, buffer.baseAddress! + (filled - kept), kept)
            }
            offset += filled - kept
            if position >= total { break }
        }
    }

    /// Opens `entry` relative to the root without following links and checks that it is the
    /// indexed inode before handing the descriptor over.
    private func withVerifiedFile<T>(_ entry: FileEntry, _ body: (Int32, Int) throws -> T) throws -> T {
        let (fd, size) = try openVerified(entry)
        defer { close(fd) }
        return try body(fd, size)
    }

    /// The descriptor of `entry`, opened without following a final link, and its size, once
    /// its inode is checked to be the indexed one. The caller closes it.
    private func openVerified(_ entry: FileEntry) throws -> (Int32, Int) {
        guard entry.type == .file, let identity = identities[entry.path] else {
            throw FileTreeError(.notRegularFile, path: entry.path, "not a regular file in the index")
        }
        let fd = DirectoryTree.openFile(identity.raw, under: rootFD)
        guard fd >= 0 else {
            throw FileTreeError(.unreadable, path: entry.path, "cannot open: \(DirectoryTree.errnoText())")
        }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG,
              UInt64(st.st_dev) == identity.device, UInt64(st.st_ino) == identity.inode else {
            close(fd)
            throw FileTreeError(.changedDuringScan, path: entry.path,
                                "the file changed during the scan (not the indexed inode); not read")
        }
        return (fd, Int(st.st_size))
    }

    /// Appends to `start` until it holds `total` bytes or the file ends (no zero-filling).
    private static func readAll(_ fd: Int32, into start: [UInt8], upTo total: Int, path: String) throws -> ([UInt8], Bool) {
        let already = start.count
        guard total > already else { return (start, false) }
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: total) { buffer, count in
            var filled = already
            if already > 0 {
                _ = start.withUnsafeBufferPointer { memcpy(buffer.baseAddress!, $0.baseAddress!, already) }
            }
            while filled < total {
                let n = pread(fd, buffer.baseAddress! + filled, total - filled, off_t(filled))
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                if n == 0 { break }
                filled += n
            }
            count = filled
        }
        if failure != 0 {
            throw FileTreeError(.unreadable, path: path, "read failed: \(String(cString: strerror(failure)))")
        }
        return (bytes, bytes.count < total)
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }

    /// Opens the regular file at `raw` (relative path bytes) under `rootFD` without following a
    /// final link. A path longer than PATH_MAX is opened one directory at a time (each step
    /// `O_NOFOLLOW`), so depth alone never makes a file unreadable. The caller checks the inode.
    static func openFile(_ raw: [UInt8], under rootFD: Int32) -> Int32 {
        let fileFlags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY
        if raw.count < Int(PATH_MAX) - 1 {
            return withCName(raw) { openat(rootFD, $0, fileFlags) }
        }
        let components = raw.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true)
        var directory = rootFD
        defer { if directory != rootFD { close(directory) } }
        for component in components.dropLast() {
            let next = withCName(Array(component)) { openat(directory, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            guard next >= 0 else { return -1 }
            if directory != rootFD { close(directory) }
            directory = next
        }
        guard let last = components.last else { return -1 }
        return withCName(Array(last)) { openat(directory, $0, fileFlags) }
    }

    /// `body` with `bytes` as a NUL-terminated C string.
    static func withCName<T>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) -> T) -> T {
        (bytes + [0]).withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) }
        }
    }

    /// A host file name for display and matching: itself when it is UTF-8, else each byte that
    /// is not part of a valid UTF-8 sequence written as `\xNN` (so that no two names collapse
    /// into one and none is lost).
    public static func displayName(_ raw: [UInt8]) -> String {
        if let text = String(validating: raw, as: UTF8.self) { return text }
        var result = ""
        var i = 0
        while i < raw.count {
            let lead = raw[i]
            let length = lead < 0x80 ? 1 : lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0
            if length > 0, i + length <= raw.count, let scalar = String(validating: raw[i..<(i + length)], as: UTF8.self) {
                result += scalar
                i += length
            } else {
                let hex = String(lead, radix: 16, uppercase: true)
                result += "\\x" + (hex.count < 2 ? "0" + hex : hex)
                i += 1
            }
        }
        return result
    }

    /// The one-pass walk: `readdir` + `fstatat(AT_SYMLINK_NOFOLLOW)` relative to each directory's
    /// descriptor, never following links.
    struct Walker {
        let limits: ScanLimits
        var entries: [FileEntry] = []
        var identities: [String: FileIdentity] = [:]
        var diagnostics: [Diagnostic] = []
        private var limitReported = false

        init(limits: ScanLimits) { self.limits = limits }

        static func entry(path: String, stat st: stat, linkTarget: String?) -> FileEntry {
            let type: FileType
            switch st.st_mode & S_IFMT {
            case S_IFDIR: type = .directory
            case S_IFLNK: type = .symlink
            case S_IFCHR: type = .charDevice
            case S_IFBLK: type = .blockDevice
            case S_IFIFO: type = .fifo
            case S_IFSOCK: type = .socket
            default: type = .file
            }
            return FileEntry(path: path, type: type, mode: UInt32(st.st_mode) & 0o7777, uid: st.st_uid,
                             gid: st.st_gid, size: UInt64(max(0, st.st_size)), linkTarget: linkTarget,
                             mtime: Int64(st.st_mtim.tv_sec))
        }

        mutating func walk(directoryFD: Int32, relative: String, relativeRaw: [UInt8] = [], depth: Int) {
            guard depth <= limits.maxDepth else {
                diagnostics.append(Walker.depthLimit(limits, at: relative))
                return
            }
            guard let names = Walker.list(directoryFD) else {
                diagnostics.append(Walker.unreadable(at: relative))
                return
            }
            for (name, rawName) in names {
                guard entries.count < limits.maxEntries else {
                    if !limitReported {
                        limitReported = true
                        diagnostics.append(Diagnostic(.error, .check, code: "tree.entry-limit",
                            "more than \(limits.maxEntries) entries; the rest is not indexed",
                            at: SourceLocation(file: relative.isEmpty ? "." : relative)))
                    }
                    return
                }
                switch Walker.visit(directoryFD, name: name, rawName: rawName, relative: relative, relativeRaw: relativeRaw) {
                case .failed(let diagnostic):
                    diagnostics.append(diagnostic)
                case .entry(let entry, let identity, let child):
                    entries.append(entry)
                    if let identity { identities[entry.path] = identity }
                    switch child {
                    case nil: break
                    case .failed(let diagnostic)?: diagnostics.append(diagnostic)
                    case .opened(let childFD, let rawPath)?:
                        walk(directoryFD: childFD, relative: entry.path, relativeRaw: rawPath, depth: depth + 1)
                        close(childFD)
                    }
                }
            }
        }

        static func depthLimit(_ limits: ScanLimits, at relative: String) -> Diagnostic {
            Diagnostic(.error, .check, code: "tree.depth-limit",
                       "directory nesting deeper than \(limits.maxDepth); not indexed below this point",
                       at: SourceLocation(file: relative))
        }

        static func unreadable(at relative: String) -> Diagnostic {
            Diagnostic(.error, .check, code: "tree.unreadable-directory",
                       "cannot list directory: \(DirectoryTree.errnoText())", at: SourceLocation(file: relative.isEmpty ? "." : relative))
        }

        /// The directory's names (not `.` and `..`) in path order, as readdir gave their bytes:
        /// every call below uses them, never a lossy decoding (a name that is not UTF-8 would
        /// otherwise be "cannot stat"). Nil when it cannot be listed.
        static func list(_ directoryFD: Int32) -> [(display: String, raw: [UInt8])]? {
            let dupFD = dup(directoryFD)
            guard dupFD >= 0, let dir = fdopendir(dupFD) else {
                if dupFD >= 0 { close(dupFD) }
                return nil
            }
            // The duplicate shares the directory's read offset: start from the top whatever
            // an earlier listing of it left (the one-thread walk after an abandoned parallel one).
            rewinddir(dir)
            var names: [(display: String, raw: [UInt8])] = []
            while let item = readdir(dir) {
                let raw = withUnsafeBytes(of: item.pointee.d_name) { bytes in
                    Array(bytes.prefix { $0 != 0 })
                }
                if raw != [0x2e] && raw != [0x2e, 0x2e] { names.append((DirectoryTree.displayName(raw), raw)) }
            }
            closedir(dir)
            names.sort { PathOrder.precedes($0.display, $1.display) }
            return names
        }

        enum Child {
            case opened(Int32, rawPath: [UInt8])
            case failed(Diagnostic)
        }

        enum Visit {
            case entry(FileEntry, FileIdentity?, Child?)
            case failed(Diagnostic)
        }

        /// One name of a directory: its entry (`fstatat`, never following a link), a regular
        /// file's identity, and a subdirectory opened for walking (the caller closes it).
        static func visit(_ directoryFD: Int32, name: String, rawName: [UInt8], relative: String, relativeRaw: [UInt8]) -> Visit {
            let path = relative.isEmpty ? name : relative + "/" + name
            let rawPath = relativeRaw.isEmpty ? rawName : relativeRaw + [UInt8(ascii: "/")] + rawName
            var st = stat()
            guard DirectoryTree.withCName(rawName, { fstatat(directoryFD, $0, &st, AT_SYMLINK_NOFOLLOW) }) == 0 else {
                return .failed(Diagnostic(.error, .check, code: "tree.unreadable-entry",
                    "cannot stat: \(DirectoryTree.errnoText())", at: SourceLocation(file: path)))
            }
            var linkTarget: String?
            if (st.st_mode & S_IFMT) == S_IFLNK {
                var buffer = [CChar](repeating: 0, count: 4097)
                let n = DirectoryTree.withCName(rawName) { readlinkat(directoryFD, $0, &buffer, 4096) }
                if n >= 0 {
                    linkTarget = DirectoryTree.displayName(buffer[0..<n].map { UInt8(bitPattern: $0) })
                }
            }
            let entry = Walker.entry(path: path, stat: st, linkTarget: linkTarget)
            switch st.st_mode & S_IFMT {
            case S_IFREG:
                return .entry(entry, FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), raw: rawPath), nil)
            case S_IFDIR:
                let child = DirectoryTree.withCName(rawName) { openat(directoryFD, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
                if child < 0 {
                    return .entry(entry, nil, .failed(Diagnostic(.error, .check, code: "tree.unreadable-directory",
                        "cannot open directory: \(DirectoryTree.errnoText())", at: SourceLocation(file: path))))
                }
                return .entry(entry, nil, .opened(child, rawPath: rawPath))
            default:
                return .entry(entry, nil, nil)
            }
        }
    }

    /// The walk on all cores: each directory's listing is made by whichever worker reaches it
    /// (a subdirectory goes to another worker while fewer than two per core are waiting, else
    /// the worker walks it itself), then the listings are joined in the one-thread walk's order:
    /// the same entries, identities and diagnostics, in the same order. Directories are walked
    /// through descriptors as in `Walker` (a queued one holds its own), so a link swapped in
    /// during the walk is never followed. Nil when the tree has more entries than the limit:
    /// the one-thread walk then decides which are kept.
    enum ParallelWalk {
        /// What a directory's walk produced, in walk order.
        enum Item {
            case entry(FileEntry, FileIdentity?)
            case diagnostic(Diagnostic)
            /// The listing of the subdirectory walked by another worker.
            case listing(Int)
        }

        final class State: Sendable {
            let limits: ScanLimits
            let workers: Int
            let group = DispatchGroup()
            let listings = Synchronization.Mutex<[Int: [Item]]>([:])
            let nextID = Atomic<Int>(1)
            let queued = Atomic<Int>(0)
            let seen = Atomic<Int>(0)
            let overflow = Atomic<Bool>(false)

            init(limits: ScanLimits, workers: Int) {
                self.limits = limits
                self.workers = workers
            }
        }

        static func run(_ root: FileEntry, rootFD: Int32, limits: ScanLimits) -> (entries: [FileEntry], identities: [String: FileIdentity], diagnostics: [Diagnostic])? {
            let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
            let state = State(limits: limits, workers: workers)
            state.seen.store(1, ordering: .relaxed)  // the root, as the one-thread walk counts it
            let rootCopy = dup(rootFD)
            guard rootCopy >= 0 else { return nil }
            state.group.enter()
            schedule(state, fd: rootCopy, relative: "", relativeRaw: [], depth: 0, id: 0)
            state.group.wait()
            guard !state.overflow.load(ordering: .acquiring) else { return nil }
            let listings = state.listings.withLock { $0 }
            var entries = [root]
            entries.reserveCapacity(state.seen.load(ordering: .relaxed))
            var identities: [String: FileIdentity] = [:]
            identities.reserveCapacity(state.seen.load(ordering: .relaxed))
            var diagnostics: [Diagnostic] = []
            func join(_ id: Int) {
                for item in listings[id] ?? [] {
                    switch item {
                    case .entry(let entry, let identity):
                        entries.append(entry)
                        if let identity { identities[entry.path] = identity }
                    case .diagnostic(let diagnostic): diagnostics.append(diagnostic)
                    case .listing(let child): join(child)
                    }
                }
            }
            join(0)
            return (entries, identities, diagnostics)
        }

        private static func schedule(_ state: State, fd: Int32, relative: String, relativeRaw: [UInt8], depth: Int, id: Int) {
            state.queued.add(1, ordering: .relaxed)
            DispatchQueue.global().async {
                state.queued.subtract(1, ordering: .relaxed)
                var items: [Item] = []
                walk(state, fd: fd, relative: relative, relativeRaw: relativeRaw, depth: depth, into: &items)
                close(fd)
                state.listings.withLock { $0[id] = items }
                state.group.leave()
            }
        }

        private static func walk(_ state: State, fd: Int32, relative: String, relativeRaw: [UInt8], depth: Int, into items: inout [Item]) {
            guard !state.overflow.load(ordering: .relaxed) else { return }
            guard depth <= state.limits.maxDepth else {
                items.append(.diagnostic(Walker.depthLimit(state.limits, at: relative)))
                return
            }
            guard let names = Walker.list(fd) else {
                items.append(.diagnostic(Walker.unreadable(at: relative)))
                return
            }
            // Past the limit the one-thread walk decides: stop here.
            if state.seen.add(names.count, ordering: .relaxed).newValue > state.limits.maxEntries {
                state.overflow.store(true, ordering: .releasing)
                return
            }
            for (name, rawName) in names {
                switch Walker.visit(fd, name: name, rawName: rawName, relative: relative, relativeRaw: relativeRaw) {
                case .failed(let diagnostic):
                    items.append(.diagnostic(diagnostic))
                case .entry(let entry, let identity, let child):
                    items.append(.entry(entry, identity))
                    switch child {
                    case nil: break
                    case .failed(let diagnostic)?: items.append(.diagnostic(diagnostic))
                    case .opened(let childFD, let rawPath)?:
                        if state.queued.load(ordering: .relaxed) < 2 * state.workers {
                            let id = state.nextID.add(1, ordering: .relaxed).oldValue
                            items.append(.listing(id))
                            state.group.enter()
                            schedule(state, fd: childFD, relative: entry.path, relativeRaw: rawPath, depth: depth + 1, id: id)
                        } else {
                            walk(state, fd: childFD, relative: entry.path, relativeRaw: rawPath, depth: depth + 1, into: &items)
                            close(childFD)
                        }
                    }
                }
            }
        }
    }
}
