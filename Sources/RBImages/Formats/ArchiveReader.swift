import CArchive
import RBCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Bytes decompressed or extracted so far in one scan, against `ScanLimits.maxExtractedBytes`.
public final class ExtractionBudget: Sendable {
    private let used = Mutex<UInt64>(0)
    public let limit: UInt64

    public init(limit: UInt64) { self.limit = limit }

    /// Takes `count` bytes from the budget; false when that would exceed it.
    func take(_ count: UInt64) -> Bool {
        used.withLock { used in
            guard used + count <= limit else { return false }
            used += count
            return true
        }
    }

    public var consumed: UInt64 { used.withLock { $0 } }
}

/// libarchive over a byte range of a host file, read through callbacks that never go past it.
final class ArchiveHandle {
    let archive: OpaquePointer
    private let context: Unmanaged<ReadContext>

    final class ReadContext {
        let source: ByteSource
        var position: UInt64 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        init(source: ByteSource) { self.source = source }
    }

    /// `raw`: read the range as one compressed stream (format "raw") instead of an archive.
    init(source: ByteSource, raw: Bool) throws(ImageError) {
        guard let archive = archive_read_new() else { throw ImageError(.unreadable, source.file.name, "out of memory") }
        self.archive = archive
        archive_read_support_filter_all(archive)
        if raw {
            archive_read_support_format_raw(archive)
        } else {
            archive_read_support_format_tar(archive)
            archive_read_support_format_cpio(archive)
            archive_read_support_format_zip(archive)
            archive_read_support_format_7zip(archive)
            archive_read_support_format_ar(archive)
        }
        context = Unmanaged.passRetained(ReadContext(source: source))
        // Seeking lets the zip reader use the central directory (Unix modes, symlinks).
        archive_read_set_seek_callback(archive) { _, data, offset, whence in
            guard let data else { return -1 }
            let context = Unmanaged<ReadContext>.fromOpaque(data).takeUnretainedValue()
            let base: Int64
            switch whence {
            case SEEK_SET: base = 0
            case SEEK_CUR: base = Int64(context.position)
            case SEEK_END: base = Int64(context.source.size)
            default: return -1
            }
            let target = base + offset
            guard target >= 0, UInt64(target) <= context.source.size else { return -1 }
            context.position = UInt64(target)
            return target
        }
        let rc = archive_read_open2(archive, context.toOpaque(), nil, { _, data, pointer in
            guard let data, let pointer else { return -1 }
            let context = Unmanaged<ReadContext>.fromOpaque(data).takeUnretainedValue()
            let remaining = context.source.size - context.position
            guard remaining > 0 else { return 0 }
            let count = Int(min(UInt64(context.buffer.count), remaining))
            let n = context.buffer.withUnsafeMutableBytes { buffer in
                pread(context.source.file.fd, buffer.baseAddress!, count, off_t(context.source.base + context.position))
            }
            guard n >= 0 else { return -1 }
            context.position += UInt64(n)
            context.buffer.withUnsafeBytes { pointer.pointee = $0.baseAddress }
            return n
        }, { _, data, request in
            guard let data else { return 0 }
            let context = Unmanaged<ReadContext>.fromOpaque(data).takeUnretainedValue()
            let step = min(UInt64(max(0, request)), context.source.size - context.position)
            context.position += step
            return Int64(step)
        }, nil)
        guard rc == ARCHIVE_OK else {
            // Fully initialised: deinit frees the archive and the context when this throws.
            throw ImageError(.corrupt, source.file.name, "cannot open: \(ArchiveHandle.errorText(archive))", offset: source.base)
        }
    }

    deinit {
        archive_read_free(archive)
        context.release()
    }

    static func errorText(_ archive: OpaquePointer) -> String {
        archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
    }

    var formatName: String { archive_format_name(archive).map { String(cString: $0) } ?? "unknown" }

    /// The compression filters in front of the data, outermost first (`gzip`), without "none".
    var filters: [String] {
        let count = archive_filter_count(archive)
        return (0..<max(0, count)).reversed().compactMap { i in
            let name = archive_filter_name(archive, i).map { String(cString: $0) } ?? ""
            return name == "none" || name.isEmpty ? nil : name
        }
    }

    /// Copies the current entry's data into `spool`; returns the bytes written.
    func copyData(to spool: SpoolWriter, budget: ExtractionBudget, limit: UInt64, name: String) throws(ImageError) -> UInt64 {
        var total: UInt64 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { archive_read_data(archive, $0.baseAddress, $0.count) }
            if n < 0 { throw ImageError(.corrupt, name, "data error: \(ArchiveHandle.errorText(archive))") }
            if n == 0 { return total }
            guard total + UInt64(n) <= limit, budget.take(UInt64(n)) else {
                throw ImageError(.limit, name, "the decompressed-size limit was reached (\(budget.limit) bytes); raise --max-extracted")
            }
            var failure: ImageError?
            buffer.withUnsafeBytes { raw in
                do throws(ImageError) { try spool.append(UnsafeRawBufferPointer(rebasing: raw[0..<n])) } catch { failure = error }
            }
            if let failure { throw failure }
            total += UInt64(n)
        }
    }
}

/// A tar, cpio, zip, 7-Zip or ar archive (possibly compressed) read by libarchive. Archives are
/// sequential, so the one pass that indexes them also spools member contents into an unlinked
/// private temporary file; reads are then `pread`s of that spool. Names with `..` or a leading
/// `/` are normalised into the root and reported.
public final class ArchiveTree: FileTree {
    public let displayName: String
    public let hasMetadata: Bool
    public let index: PathIndex
    public let indexDiagnostics: [Diagnostic]
    public let format: String
    public let filters: [String]
    /// Bytes of the range the archive took when it is not compressed (tar and cpio readers
    /// consume exactly their archive, end-of-archive blocks included); nil otherwise.
    public let consumed: UInt64?
    private let spool: HostFile
    private let extents: [String: Extent]

    struct Extent: Sendable {
        var offset: UInt64
        var size: UInt64
    }

    /// Whether the range starts with an archive libarchive can read (behind any compression).
    static func probe(_ source: ByteSource) -> (format: String, filters: [String])? {
        guard let handle = try? ArchiveHandle(source: source, raw: false) else { return nil }
        let entry = UnsafeMutablePointer<OpaquePointer?>.allocate(capacity: 1)
        defer { entry.deallocate() }
        guard archive_read_next_header(handle.archive, entry) == ARCHIVE_OK else { return nil }
        return (handle.formatName, handle.filters)
    }

    /// The diagnostic for a member whose data could not be copied: indexing stops there, which
    /// the message says (the entries after it are not in the tree).
    static func stopped(_ error: ImageError, at location: String) -> Diagnostic {
        let code = switch error.code {
        case .limit: "image.size-limit"
        case .spool: "image.spool"
        default: "image.corrupt"
        }
        return Diagnostic(.error, .check, code: code, error.message + "; the archive's entries after this one were not indexed",
                          at: SourceLocation(file: location))
    }

    public init(source: ByteSource, name: String, limits: ScanLimits, budget: ExtractionBudget) throws(ImageError) {
        displayName = name
        let handle = try ArchiveHandle(source: source, raw: false)
        let writer = try Spool.create(name: name + " (spool)")
        var entries: [String: FileEntry] = ["": FileEntry(path: "", type: .directory, mode: 0o755)]
        var extents: [String: Extent] = [:]
        var linkGroups: [String: [String]] = [:]
        // Hard links whose data had not come yet (cpio stores it with the last link of a group).
        var hardLinks: [String: String] = [:]
        var diagnostics: [Diagnostic] = []
        var header: OpaquePointer?
        var count = 0
        loop: while true {
            let rc = archive_read_next_header(handle.archive, &header)
            if rc == ARCHIVE_EOF { break }
            if rc == ARCHIVE_WARN {
                diagnostics.append(Diagnostic(.warning, .check, code: "image.archive-warning", ArchiveHandle.errorText(handle.archive),
                                              at: SourceLocation(file: name)))
            } else if rc != ARCHIVE_OK {
                let problem = "\(ArchiveHandle.errorText(handle.archive)) after \(count) entries"
                if count == 0 { throw ImageError(.corrupt, source.file.name, problem, offset: source.base) }
                diagnostics.append(Diagnostic(.error, .check, code: "image.corrupt", problem, at: SourceLocation(file: name)))
                break
            }
            guard let header else { break }
            count += 1
            guard count <= limits.maxEntries else {
                diagnostics.append(Diagnostic(.error, .check, code: "image.entry-limit",
                    "more than \(limits.maxEntries) entries; the rest is not indexed", at: SourceLocation(file: name)))
                break
            }
            let rawName = archive_entry_pathname_utf8(header).map { String(cString: $0) }
                ?? archive_entry_pathname(header).map { String(cString: $0) } ?? ""
            let (path, changed) = ArchiveTree.normalise(rawName)
            if changed {
                diagnostics.append(Diagnostic(.warning, .check, code: "image.path-normalised",
                    "archive member '\(rawName)' normalised to '\(path)' (absolute or '..' names never leave the root)",
                    at: SourceLocation(file: name)))
            }
            if path.isEmpty { continue }
            let mode = UInt32(archive_entry_mode(header))
            let kind = mode & RB_AE_IFMT
            var type: FileType
            switch kind {
            case RB_AE_IFDIR: type = .directory
            case RB_AE_IFLNK: type = .symlink
            case RB_AE_IFCHR: type = .charDevice
            case RB_AE_IFBLK: type = .blockDevice
            case RB_AE_IFIFO: type = .fifo
            case RB_AE_IFSOCK: type = .socket
            default: type = .file
            }
            var entry = FileEntry(path: path, type: type, mode: mode & 0o7777, uid: UInt32(truncatingIfNeeded: archive_entry_uid(header)),
                                  gid: UInt32(truncatingIfNeeded: archive_entry_gid(header)),
                                  size: UInt64(max(0, archive_entry_size(header))),
                                  linkTarget: archive_entry_symlink_utf8(header).map { String(cString: $0) }
                                    ?? archive_entry_symlink(header).map { String(cString: $0) },
                                  mtime: Int64(archive_entry_mtime(header)))
            if let hardlink = archive_entry_hardlink_utf8(header).map({ String(cString: $0) })
                ?? archive_entry_hardlink(header).map({ String(cString: $0) }) {
                // A hard link shares its target's content and is kept as a regular file. cpio
                // stores the data with the last link of a group: then every link gets it.
                let target = ArchiveTree.normalise(hardlink).path
                let group = linkGroups[target, default: [target]] + [path]
                for member in group { linkGroups[member] = group }
                if entry.size > 0 {
                    let offset = writer.size
                    do {
                        let written = try handle.copyData(to: writer, budget: budget, limit: UInt64(Int64.max), name: name + ":" + path)
                        for member in group {
                            extents[member] = Extent(offset: offset, size: written)
                            entries[member]?.size = written
                        }
                        entry.size = written
                    } catch {
                        diagnostics.append(ArchiveTree.stopped(error, at: name + ":" + path))
                        break loop
                    }
                } else if let extent = extents[target], let original = entries[target] {
                    entry.size = original.size
                    extents[path] = extent
                } else {
                    hardLinks[path] = hardlink
                }
                entry.type = .file
                entries[path] = entry
                continue
            }
            if type == .file {
                let offset = writer.size
                do {
                    let written = try handle.copyData(to: writer, budget: budget, limit: UInt64(Int64.max), name: name + ":" + path)
                    extents[path] = Extent(offset: offset, size: written)
                    entry.size = written
                } catch {
                    diagnostics.append(ArchiveTree.stopped(error, at: name + ":" + path))
                    entries[path] = entry
                    break loop
                }
            }
            entries[path] = entry
        }
        // A hard link to a file the archive does not hold (outside the root, or missing) has no
        // data: one warning for the link, and an empty file, instead of one "not a regular file"
        // error from every rule that reads it.
        for (path, target) in hardLinks.sorted(by: { $0.key < $1.key }) where extents[path] == nil && entries[path]?.type == .file {
            extents[path] = Extent(offset: 0, size: 0)
            entries[path]?.size = 0
            diagnostics.append(Diagnostic(.warning, .check, code: "image.dangling-hard-link",
                "hard link to '\(target)', which the archive does not hold (a link never leaves the root): read as an empty file",
                at: SourceLocation(file: name + ":" + path)))
        }
        // Parents the archive did not list are implied directories.
        for path in Array(entries.keys) {
            var parent = path
            while let slash = parent.utf8.lastIndex(of: UInt8(ascii: "/")) {
                parent = String(parent[..<slash])
                if entries[parent] == nil { entries[parent] = FileEntry(path: parent, type: .directory, mode: 0o755) }
            }
        }
        format = handle.formatName
        filters = handle.filters
        consumed = filters.isEmpty && !ArchiveScanner.shortName(format).hasPrefix("zip") && ArchiveScanner.shortName(format) != "7z"
            ? UInt64(max(0, archive_filter_bytes(handle.archive, 0))) : nil
        // libarchive reports Unix modes and owners where the archive stores them (tar, cpio;
        // Info-ZIP's Unix extra fields in zip).
        hasMetadata = true
        index = PathIndex(Array(entries.values))
        self.extents = extents
        spool = writer.finish()
        indexDiagnostics = diagnostics
    }

    /// `./a/../b`, `/etc/passwd`, `../../x` → a path inside the root, and whether it changed
    /// beyond dropping `./`.
    static func normalise(_ name: String) -> (path: String, changed: Bool) {
        var parts: [Substring] = []
        var changed = name.hasPrefix("/")
        for component in name.split(separator: "/", omittingEmptySubsequences: true) {
            if component == "." { continue }
            if component == ".." {
                changed = true
                if !parts.isEmpty { parts.removeLast() }
                continue
            }
            parts.append(component)
        }
        return (parts.joined(separator: "/"), changed)
    }

    public func read(_ entry: FileEntry, limit: Int) throws -> FileContent {
        guard entry.type == .file, let extent = extents[entry.path] else {
            throw FileTreeError(.notRegularFile, path: entry.path, "not a regular file in the archive")
        }
        let count = Int(min(UInt64(limit), extent.size))
        let bytes = try spool.read(at: extent.offset, count: count)
        return FileContent(bytes: bytes, truncated: extent.size > UInt64(limit))
    }

    /// The spooled content of a member as a byte range (for nested images inside archives).
    func source(of path: String) -> ByteSource? {
        extents[path].map { ByteSource(file: spool, base: $0.offset, size: $0.size) }
    }
}
