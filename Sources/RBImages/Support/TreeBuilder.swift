import RBCore

/// Collects the entries of a filesystem a native reader walks (cramfs, romfs, squashfs 3,
/// YAFFS2, UBIFS), enforcing the scan limits and the name rules every reader shares: a name
/// is never empty, `.`, `..` or holds a `/` (so no entry can leave the root), entry count and
/// depth are bounded, and what is skipped is a diagnostic.
struct TreeBuilder {
    let limits: ScanLimits
    let image: String
    private(set) var entries: [FileEntry] = [FileEntry(path: "", type: .directory, mode: 0o755)]
    private(set) var diagnostics: [Diagnostic] = []
    private var full = false

    init(limits: ScanLimits, image: String, rootMode: UInt32 = 0o755, rootUID: UInt32 = 0, rootGID: UInt32 = 0) {
        self.limits = limits
        self.image = image
        entries[0] = FileEntry(path: "", type: .directory, mode: rootMode, uid: rootUID, gid: rootGID)
    }

    /// The child path for `name` in `parent`, or nil (and a warning) for an invalid name.
    mutating func childPath(_ parent: String, _ name: String) -> String? {
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), !name.contains("\0") else {
            diagnostics.append(Diagnostic(.warning, .check, code: "image.bad-name",
                "invalid entry name '\(name)' skipped", at: SourceLocation(file: image + ":" + parent)))
            return nil
        }
        return parent.isEmpty ? name : parent + "/" + name
    }

    /// Whether a directory at `depth` may be descended into (a diagnostic when not).
    mutating func mayDescend(_ path: String, depth: Int) -> Bool {
        guard depth < limits.maxDepth else {
            diagnostics.append(Diagnostic(.error, .check, code: "image.depth-limit",
                "directory nesting deeper than \(limits.maxDepth)", at: SourceLocation(file: image + ":" + path)))
            return false
        }
        return true
    }

    /// Adds an entry; false once the entry limit is reached (reported once).
    @discardableResult
    mutating func add(_ entry: FileEntry) -> Bool {
        guard entries.count < limits.maxEntries else {
            if !full {
                full = true
                diagnostics.append(Diagnostic(.error, .check, code: "image.entry-limit",
                    "more than \(limits.maxEntries) entries; the rest is not indexed", at: SourceLocation(file: image)))
            }
            return false
        }
        entries.append(entry)
        return true
    }

    var isFull: Bool { full }

    mutating func warn(_ code: String, _ message: String, path: String = "", offset: UInt64? = nil) {
        diagnostics.append(Diagnostic(.warning, .check, code: code, message,
                                      at: SourceLocation(file: path.isEmpty ? image : image + ":" + path, offset: offset.map(Int.init))))
    }

    mutating func error(_ code: String, _ message: String, path: String = "", offset: UInt64? = nil) {
        diagnostics.append(Diagnostic(.error, .check, code: code, message,
                                      at: SourceLocation(file: path.isEmpty ? image : image + ":" + path, offset: offset.map(Int.init))))
    }

    /// The index, with parents an image did not list added as implied directories.
    func index() -> PathIndex {
        var known = Set(entries.map(\.path))
        var all = entries
        for entry in entries {
            var parent = entry.path
            while let slash = parent.utf8.lastIndex(of: UInt8(ascii: "/")) {
                parent = String(parent[..<slash])
                if known.insert(parent).inserted { all.append(FileEntry(path: parent, type: .directory, mode: 0o755)) }
            }
        }
        return PathIndex(all)
    }
}

/// The file type in the `S_IFMT` bits of a Unix mode.
func fileType(ofMode mode: UInt32) -> FileType {
    switch mode & 0o170000 {
    case 0o040000: .directory
    case 0o120000: .symlink
    case 0o020000: .charDevice
    case 0o060000: .blockDevice
    case 0o010000: .fifo
    case 0o140000: .socket
    default: .file
    }
}

extension Array where Element == UInt8 {
    func be16(_ at: Int) -> UInt16 {
        guard at + 2 <= count else { return 0 }
        return UInt16(self[at]) << 8 | UInt16(self[at + 1])
    }
    func be64(_ at: Int) -> UInt64 {
        guard at + 8 <= count else { return 0 }
        return UInt64(be32(at)) << 32 | UInt64(be32(at + 4))
    }
    /// 16/32-bit reads in either byte order.
    func u16(_ at: Int, littleEndian: Bool) -> UInt16 { littleEndian ? le16(at) : be16(at) }
    func u32(_ at: Int, littleEndian: Bool) -> UInt32 { littleEndian ? le32(at) : be32(at) }
    func u64(_ at: Int, littleEndian: Bool) -> UInt64 { littleEndian ? le64(at) : be64(at) }
}

/// zlib inflate of one complete block (with the zlib header unless `raw`), into at most
/// `capacity` bytes; nil when the data does not inflate.
func inflateBlock(_ input: [UInt8], capacity: Int, raw: Bool = false) -> [UInt8]? {
    var engine: any DecoderEngine
    do { engine = try ZlibEngine(windowBits: raw ? -15 : 15) } catch { return nil }
    let room = Swift.max(capacity, 1)
    guard let result = input.withUnsafeBytes({ engine.decodeBlock($0, room: room) }) else { return nil }
    // Ended, or full, or cut short after producing something: what was decoded.
    return result.ended || !result.bytes.isEmpty || capacity == 0 ? result.bytes : nil
}
