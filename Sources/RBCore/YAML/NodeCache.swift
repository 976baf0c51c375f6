#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CSafeSystem
import RBCrypto
import Synchronization
import Yams

/// A cache of composed YAML documents (rule packs, config adapters), so that a scan does not
/// parse the same few hundred kilobytes of rules with libyaml on every start.
///
/// An entry is addressed by the SHA-256 of its text, this build's identity and the entry format
/// version, so an edited file or another rbscan build simply misses; nothing is ever invalidated.
/// It holds the composed node tree (scalars, styles, tags, positions) and, for a rule pack, the
/// registry under which every rule of the pack decoded and built its checks without a single
/// diagnostic: a pack known to be clean can build its checks when a scan first uses them.
///
/// The directory is `RBSCAN_CACHE_DIR`, else `$XDG_CACHE_HOME/rbscan`, else `~/.cache/rbscan`;
/// `RBSCAN_CACHE_DIR=off` turns the cache off. It is created private (0700), entries are
/// written to a temporary name and renamed, and an entry is read only when it is a regular file
/// owned by this user and writable by nobody else (another user's file could plant rules).
/// An entry ends with the SHA-256 of the rest: a damaged entry is a miss. A cache that cannot be
/// written only costs time.
public struct NodeCache: Sendable {
    public let directory: String
    /// Distinguishes builds (the GNU build ID), so that a rebuilt Yams or decoder never reads
    /// entries written by another.
    let build: [UInt8]

    static let formatVersion: UInt8 = 1
    static let magic: [UInt8] = Array("RBNC".utf8)
    /// Entries larger than this are not written (a document with aliases expanding to a
    /// million nodes is legal YAML, but not worth keeping).
    static let maxEntryBytes = 8 << 20

    public init(directory: String) {
        self.directory = directory
        self.build = NodeCache.buildIdentity
    }

    /// The cache the command line uses, from the environment; nil when it is off or no
    /// directory can be named.
    public static func userDefault(environment: [String: String]? = nil) -> NodeCache? {
        func variable(_ name: String) -> String? {
            if let environment { return environment[name] }
            return getenv(name).map { String(cString: $0) }
        }
        let root: String
        if let set = variable("RBSCAN_CACHE_DIR") {
            guard !set.isEmpty, set != "off" else { return nil }
            root = set
        } else if let xdg = variable("XDG_CACHE_HOME"), xdg.hasPrefix("/") {
            root = xdg + "/rbscan"
        } else if let home = variable("HOME"), home.hasPrefix("/") {
            root = home + "/.cache/rbscan"
        } else {
            return nil
        }
        return NodeCache(directory: root + "/yaml-v\(formatVersion)")
    }

    /// What the cache holds for a text.
    public struct Entry {
        public var node: Node
        /// The registry fingerprint under which the document (a rule pack) loaded cleanly.
        public var cleanUnder: [UInt8]?
    }

    /// The entry for `text`, or nil (a miss, a damaged or foreign entry, or Yams' positions
    /// cannot be rebuilt in this build).
    public func entry(for text: String) -> Entry? {
        guard NodeCodec.marksSupported else { return nil }
        let key = self.key(for: text)
        guard let stored = readPrivateFile(path(for: key)), stored.count > 32,
              Digest.sha256(stored.dropLast(32)) == Array(stored.suffix(32)) else { return nil }
        var reader = NodeCodec.Reader(Array(stored.dropLast(32)))
        guard reader.take(4) == NodeCache.magic, reader.byte() == NodeCache.formatVersion,
              reader.take(key.count) == key else { return nil }
        var clean: [UInt8]?
        guard let hasClean = reader.byte() else { return nil }
        if hasClean == 1 {
            guard let fingerprint = reader.take(32) else { return nil }
            clean = fingerprint
        }
        guard let node = NodeCodec.decode(&reader, constructor: Constructor.default), reader.atEnd else { return nil }
        return Entry(node: node, cleanUnder: clean)
    }

    /// Stores `node` as the composed form of `text` (best effort: failures are ignored).
    public func store(_ node: Node, for text: String, cleanUnder: [UInt8]? = nil) {
        guard NodeCodec.marksSupported else { return }
        let key = self.key(for: text)
        var bytes = NodeCache.magic + [NodeCache.formatVersion] + key
        if let cleanUnder, cleanUnder.count == 32 {
            bytes += [1] + cleanUnder
        } else {
            bytes.append(0)
        }
        guard NodeCodec.encode(node, into: &bytes, limit: NodeCache.maxEntryBytes) else { return }
        // A checksum of the whole entry: a damaged one is a miss, never a different rule.
        bytes += Digest.sha256(bytes)
        writePrivateFile(path(for: key), bytes)
        prune()
    }

    /// Entries kept at most: every build and every edit of a rule file writes new ones (about
    /// 15 entries, 400 KB, for the shipped rules), and nothing else removes the old.
    static let maxEntries = 512

    /// Removes the oldest entries (by modification time: when they were written) beyond
    /// `maxEntries`, and temporary files a killed run left.
    func prune() {
        guard let names = try? HostFiles.list(directory: directory), names.count > NodeCache.maxEntries else { return }
        var entries: [(name: String, written: Int)] = []
        for name in names {
            var st = stat()
            guard lstat(directory + "/" + name, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            entries.append((name, Int(st.st_mtim.tv_sec)))
        }
        entries.sort { $0.written > $1.written }
        for entry in entries.dropFirst(NodeCache.maxEntries / 2) { unlink(directory + "/" + entry.name) }
    }

    /// A registry's fingerprint: the built-in check IDs of this build. (Packs that use an
    /// external plugin's check are never recorded as clean: a plugin can change under the pack.)
    public static func fingerprint(checkIDs: [String]) -> [UInt8] {
        Digest.sha256(Array(("registry\u{0}" + checkIDs.sorted().joined(separator: "\u{0}")).utf8))
    }

    func key(for text: String) -> [UInt8] {
        var input = Array("rbscan-yaml\u{0}".utf8) + [NodeCache.formatVersion] + build
        input += Array(text.utf8)
        return Digest.sha256(input)
    }

    func path(for key: [UInt8]) -> String {
        directory + "/" + Hex.encode(key)
    }

    // MARK: - Files

    private func readPrivateFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_uid == geteuid(),
              st.st_mode & (S_IWGRP | S_IWOTH) == 0, st.st_size > 0, Int(st.st_size) <= NodeCache.maxEntryBytes + 128
        else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            done += n
        }
        return bytes
    }

    private func writePrivateFile(_ path: String, _ bytes: [UInt8]) {
        guard makePrivateDirectory(directory) else { return }
        var template = Array((path + ".tmp-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { return }
        let temporary = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            done += n
        }
        let complete = done == bytes.count && fchmod(fd, 0o600) == 0
        close(fd)
        if !complete || rename(temporary, path) != 0 { unlink(temporary) }
    }

    /// Creates the cache directory and its parents as needed, private to this user; false when
    /// the directory is not ours or not private.
    private func makePrivateDirectory(_ path: String) -> Bool {
        var st = stat()
        if lstat(path, &st) != 0 {
            var prefix = ""
            for part in path.split(separator: "/", omittingEmptySubsequences: true) {
                prefix += "/" + part
                if mkdir(prefix, 0o700) != 0 && errno != EEXIST { return false }
            }
            guard lstat(path, &st) == 0 else { return false }
        }
        return (st.st_mode & S_IFMT) == S_IFDIR && st.st_uid == geteuid() && st.st_mode & (S_IWGRP | S_IWOTH) == 0
    }

    // MARK: - Build identity

    /// The running executable's GNU build ID; else its size, modification time and inode.
    static let buildIdentity: [UInt8] = {
        if let id = gnuBuildID(), !id.isEmpty { return id }
        var st = stat()
        guard stat("/proc/self/exe", &st) == 0 else { return Array(RBScanVersion.current.utf8) }
        return Array("\(st.st_size)-\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)-\(st.st_ino)".utf8)
    }()

    /// The main program's `NT_GNU_BUILD_ID` note.
    private static func gnuBuildID() -> [UInt8]? {
        var id = [UInt8](repeating: 0, count: 64)
        let length = id.withUnsafeMutableBufferPointer { rb_build_id($0.baseAddress, $0.count) }
        return length > 0 ? Array(id.prefix(Int(length))) : nil
    }
}

/// The binary form of a composed node tree: kind, style, tag, position, then the scalar's
/// text or the collection's children; integers as LEB128.
enum NodeCodec {
    static func encode(_ node: Node, into bytes: inout [UInt8], limit: Int) -> Bool {
        func varint(_ value: Int) {
            var v = UInt(bitPattern: value)
            while v >= 0x80 {
                bytes.append(UInt8(v & 0x7f) | 0x80)
                v >>= 7
            }
            bytes.append(UInt8(v))
        }
        func string(_ s: String) {
            varint(s.utf8.count)
            bytes += s.utf8
        }
        func header(_ kind: UInt8, _ style: UInt32, _ tag: Tag, _ mark: Mark?) {
            bytes.append(kind)
            bytes.append(UInt8(truncatingIfNeeded: style))
            string(tag.rawValue)
            if let mark {
                bytes.append(1)
                varint(mark.line)
                varint(mark.column)
            } else {
                bytes.append(0)
            }
        }
        func walk(_ node: Node) -> Bool {
            guard bytes.count <= limit else { return false }
            switch node {
            case .scalar(let scalar):
                header(0, scalar.style.rawValue, scalar.tag, scalar.mark)
                string(scalar.string)
            case .mapping(let mapping):
                header(1, mapping.style.rawValue, mapping.tag, mapping.mark)
                varint(mapping.count)
                for (key, value) in mapping {
                    guard walk(key), walk(value) else { return false }
                }
            case .sequence(let sequence):
                header(2, sequence.style.rawValue, sequence.tag, sequence.mark)
                varint(sequence.count)
                for child in sequence {
                    guard walk(child) else { return false }
                }
            case .alias:
                // Composition resolves aliases; a tree still holding one is not cached.
                return false
            }
            return true
        }
        return walk(node) && bytes.count <= limit
    }

    struct Reader {
        let bytes: [UInt8]
        var offset = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { offset == bytes.count }

        mutating func byte() -> UInt8? {
            guard offset < bytes.count else { return nil }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func take(_ count: Int) -> [UInt8]? {
            guard count >= 0, count <= bytes.count - offset else { return nil }
            defer { offset += count }
            return Array(bytes[offset..<offset + count])
        }

        mutating func varint() -> Int? {
            var value: UInt = 0
            var shift: UInt = 0
            while let b = byte() {
                value |= UInt(b & 0x7f) << shift
                if b < 0x80 { return value <= UInt(Int.max) ? Int(value) : nil }
                shift += 7
                if shift > 56 { return nil }
            }
            return nil
        }

        mutating func string() -> String? {
            guard let count = varint(), count <= bytes.count - offset else { return nil }
            defer { offset += count }
            return String(decoding: bytes[offset..<offset + count], as: UTF8.self)
        }
    }

    /// The tree in `reader`, nil when the bytes are not a well-formed tree. Depth is bounded
    /// as composition bounds it.
    /// `constructor`: one for the whole tree (Yams builds a new one, with its tables, each time
    /// `Constructor.default` is read).
    static func decode(_ reader: inout Reader, constructor: Constructor, depth: Int = 0) -> Node? {
        guard depth <= BoundedYAML.maxDepth + 1, let kind = reader.byte(), let style = reader.byte(),
              let tagName = reader.string(), let hasMark = reader.byte() else { return nil }
        var mark: Mark?
        if hasMark == 1 {
            guard let line = reader.varint(), let column = reader.varint() else { return nil }
            mark = makeMark(line: line, column: column)
        }
        // Each node its own Tag, with the basic resolver the decoder composes with: Yams
        // resolves a tag in place when it compares keys.
        let tag = Tag(Tag.Name(rawValue: tagName), .basic, constructor)
        switch kind {
        case 0:
            guard let s = Node.Scalar.Style(rawValue: UInt32(style)), let text = reader.string() else { return nil }
            return .scalar(.init(text, tag, s, mark))
        case 1:
            guard let s = Node.Mapping.Style(rawValue: UInt32(style)), let count = reader.varint(),
                  count <= reader.bytes.count - reader.offset else { return nil }
            var pairs: [(Node, Node)] = []
            pairs.reserveCapacity(count)
            for _ in 0..<count {
                guard let key = decode(&reader, constructor: constructor, depth: depth + 1), let value = decode(&reader, constructor: constructor, depth: depth + 1) else { return nil }
                pairs.append((key, value))
            }
            return .mapping(.init(pairs, tag, s, mark))
        case 2:
            guard let s = Node.Sequence.Style(rawValue: UInt32(style)), let count = reader.varint(),
                  count <= reader.bytes.count - reader.offset else { return nil }
            var nodes: [Node] = []
            nodes.reserveCapacity(count)
            for _ in 0..<count {
                guard let child = decode(&reader, constructor: constructor, depth: depth + 1) else { return nil }
                nodes.append(child)
            }
            return .sequence(.init(nodes, tag, s, mark))
        default:
            return nil
        }
    }

    /// Yams keeps `Mark`'s memberwise initialiser internal. `Mark` is two stored `Int`s, line
    /// then column, and `marksSupported` proves it on this build (against a mark Yams made)
    /// before any entry is read or written; otherwise the cache stays off.
    static func makeMark(line: Int, column: Int) -> Mark {
        unsafeBitCast((line, column), to: Mark.self)
    }

    static let marksSupported: Bool = {
        guard MemoryLayout<Mark>.size == MemoryLayout<(Int, Int)>.size,
              MemoryLayout<Mark>.alignment == MemoryLayout<(Int, Int)>.alignment,
              case .mapping(let mapping)? = try? Yams.compose(yaml: "a:\n  - x\n  -   y\n", .basic),
              case .sequence(let list)? = mapping["a"], list.count == 2, let made = list[1].mark
        else { return false }
        let rebuilt = makeMark(line: 3, column: 7)
        return made.line == 3 && made.column == 7 && rebuilt.line == made.line && rebuilt.column == made.column
    }()
}
