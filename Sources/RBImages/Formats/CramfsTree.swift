import RBCore

/// cramfs, little or big endian (the root filesystem of many HiSilicon, XiongMai and Grain Media
/// cameras and of older Hikvision and Dahua firmware). Layout (Linux `include/uapi/linux/cramfs_fs.h`):
///
/// - superblock (64 bytes): magic 0x28cd3d45, total size, flags, future, "Compressed ROMFS",
///   fsid (crc, edition, blocks, files), volume name[16]; then the root inode (12 bytes).
/// - inode: three 32-bit words holding bit fields: mode:16 uid:16 | size:24 gid:8 |
///   namelen:6 offset:26, least significant field first on a little-endian image and most
///   significant first on a big-endian one; the name (namelen × 4 bytes, NUL padded) follows.
/// - a directory's `offset × 4` is where its children's inodes start and `size` their total
///   length; a file's or symlink's is its block-pointer table: one 32-bit end offset per
///   4 KiB page, each page zlib-compressed after the table (an empty page is a hole). With
///   the extended-pointer flag (0x800) a pointer may instead carry "uncompressed" (bit 31) and
///   "direct" (bit 30, the block's own start / 4) flags. A device's `size` is its rdev.
///
/// No timestamps are stored, gids keep 8 bits, uids 16 (what the image kept is what is shown).
public final class CramfsTree: FileTree {
    public let displayName: String
    public let hasMetadata = true
    public let index: PathIndex
    public let indexDiagnostics: [Diagnostic]
    public let details: [String: String]
    /// The image's size as its superblock says.
    public let declaredSize: UInt32
    private let source: ByteSource
    private let littleEndian: Bool
    private let extendedPointers: Bool
    /// Where each regular file's (and symlink's) block-pointer table starts.
    private let tables: [String: UInt64]

    static let magic: UInt32 = 0x28cd3d45
    static let pageSize = 4096
    static let flagHoles: UInt32 = 0x100
    static let flagExtendedPointers: UInt32 = 0x800
    /// Flags this reader understands (fsid v2, sorted dirs, holes, wrong signature, shifted
    /// root offset, extended block pointers).
    static let knownFlags: UInt32 = 0x1 | 0x2 | 0x100 | 0x200 | 0x400 | 0x800

    struct Inode {
        var mode: UInt32
        var uid: UInt32
        var size: UInt32
        var gid: UInt32
        var nameLength: Int
        var offset: UInt64
    }

    static func inode(_ bytes: [UInt8], at i: Int, littleEndian: Bool) -> Inode {
        let w0 = bytes.u32(i, littleEndian: littleEndian), w1 = bytes.u32(i + 4, littleEndian: littleEndian)
        let w2 = bytes.u32(i + 8, littleEndian: littleEndian)
        if littleEndian {
            return Inode(mode: w0 & 0xffff, uid: w0 >> 16, size: w1 & 0xff_ffff, gid: w1 >> 24,
                         nameLength: Int(w2 & 0x3f) * 4, offset: UInt64(w2 >> 6) * 4)
        }
        return Inode(mode: w0 >> 16, uid: w0 & 0xffff, size: w1 >> 8, gid: w1 & 0xff,
                     nameLength: Int(w2 >> 26) * 4, offset: UInt64(w2 & 0x3ff_ffff) * 4)
    }

    public init(source: ByteSource, name: String, littleEndian: Bool, limits: ScanLimits) throws(ImageError) {
        displayName = name
        self.source = source
        self.littleEndian = littleEndian
        let superblock = try source.read(at: 0, count: 76)
        guard superblock.count == 76, superblock.u32(0, littleEndian: littleEndian) == CramfsTree.magic,
              superblock.matches(Array("Compressed ROMFS".utf8), at: 16) else {
            throw ImageError(.corrupt, source.file.name, "not a cramfs superblock", offset: source.base)
        }
        let flags = superblock.u32(8, littleEndian: littleEndian)
        declaredSize = superblock.u32(4, littleEndian: littleEndian)
        extendedPointers = flags & CramfsTree.flagExtendedPointers != 0
        let unknown = flags & ~CramfsTree.knownFlags
        guard unknown == 0 else {
            throw ImageError(.unsupported, source.file.name, "cramfs feature flags 0x\(String(unknown, radix: 16)) are not supported", offset: source.base)
        }
        let volume = String(decoding: superblock[48..<64].prefix { $0 != 0 }, as: UTF8.self)
        details = ["endianness": littleEndian ? "little" : "big", "volume": volume,
                   "files": String(superblock.u32(44, littleEndian: littleEndian)), "flags": "0x" + String(flags, radix: 16)]

        let root = CramfsTree.inode(superblock, at: 64, littleEndian: littleEndian)
        var builder = TreeBuilder(limits: limits, image: name, rootMode: root.mode & 0o7777, rootUID: root.uid, rootGID: root.gid)
        var tables: [String: UInt64] = [:]
        // Directories to list: (children offset, total length, path, depth). Offsets visited once.
        var pending: [(UInt64, UInt64, String, Int)] = [(root.offset, UInt64(root.size), "", 0)]
        var visited = Set<UInt64>()
        let size = source.size
        walk: while let (start, length, path, depth) = pending.popLast() {
            guard length > 0 else { continue }
            guard visited.insert(start).inserted else {
                builder.error("image.corrupt", "directory loop (children at 0x\(String(start, radix: 16)) listed twice)", path: path, offset: source.base + start)
                continue
            }
            guard start + length <= size, length <= 1 << 24 else {
                builder.error("image.corrupt", "directory entries out of bounds (truncated image?)", path: path, offset: source.base + start)
                continue
            }
            let bytes = try source.read(at: start, count: Int(length))
            var i = 0
            while i + 12 <= bytes.count {
                let child = CramfsTree.inode(bytes, at: i, littleEndian: littleEndian)
                let nameEnd = i + 12 + child.nameLength
                guard child.nameLength > 0, nameEnd <= bytes.count else {
                    builder.error("image.corrupt", "a directory entry runs past its directory", path: path, offset: source.base + start + UInt64(i))
                    break
                }
                let childName = String(decoding: bytes[(i + 12)..<nameEnd].prefix { $0 != 0 }, as: UTF8.self)
                i = nameEnd
                guard let childPath = builder.childPath(path, childName) else { continue }
                let type = fileType(ofMode: child.mode)
                var entry = FileEntry(path: childPath, type: type, mode: child.mode & 0o7777, uid: child.uid, gid: child.gid,
                                      size: type == .file ? UInt64(child.size) : 0)
                switch type {
                case .file:
                    tables[childPath] = child.offset
                case .symlink:
                    tables[childPath] = child.offset
                    entry.linkTarget = CramfsTree.readWhole(source, table: child.offset, size: Int(min(child.size, 4096)), littleEndian: littleEndian,
                                                            extended: extendedPointers).map { String(decoding: $0, as: UTF8.self) }
                    entry.size = UInt64(child.size)
                    if entry.linkTarget == nil {
                        builder.warn("image.corrupt", "symlink target does not decompress", path: childPath, offset: source.base + child.offset)
                    }
                case .directory:
                    if builder.mayDescend(childPath, depth: depth + 1) {
                        pending.append((child.offset, UInt64(child.size), childPath, depth + 1))
                    }
                default:
                    break
                }
                guard builder.add(entry) else { break walk }
            }
        }
        index = builder.index()
        indexDiagnostics = builder.diagnostics
        self.tables = tables
    }

    /// A whole small file (a symlink target).
    static func readWhole(_ source: ByteSource, table: UInt64, size: Int, littleEndian: Bool, extended: Bool) -> [UInt8]? {
        try? readPages(source, table: table, size: size, upTo: size, littleEndian: littleEndian, extended: extended, path: "")
    }

    /// The first `upTo` bytes of a file of `size` bytes whose pointer table is at `table`.
    static func readPages(_ source: ByteSource, table: UInt64, size: Int, upTo wanted: Int, littleEndian: Bool,
                          extended: Bool, path: String) throws -> [UInt8] {
        let pages = (size + pageSize - 1) / pageSize
        let needed = (wanted + pageSize - 1) / pageSize
        guard pages > 0, needed > 0 else { return [] }
        let pointers = try source.read(at: table, count: pages * 4)
        guard pointers.count == pages * 4 else {
            throw FileTreeError(.unreadable, path: path, "cramfs block pointers out of bounds (truncated image?)", offset: Int(source.base + table))
        }
        var out: [UInt8] = []
        out.reserveCapacity(min(wanted, size))
        var previousEnd = table + UInt64(pages * 4)
        for page in 0..<needed {
            let expected = min(pageSize, size - page * pageSize)
            var pointer = pointers.u32(page * 4, littleEndian: littleEndian)
            var uncompressed = false
            var start = previousEnd
            let direct = extended && pointer & (1 << 30) != 0
            if extended {
                uncompressed = pointer & (1 << 31) != 0
                if direct {
                    // A direct pointer: the block's own start (÷ 4); a compressed one starts with its length.
                    start = UInt64(pointer & 0x3fff_ffff) << 2
                    if uncompressed {
                        pointer = UInt32(truncatingIfNeeded: start) &+ UInt32(expected)
                    } else {
                        let length = try source.read(at: start, count: 2)
                        guard length.count == 2 else {
                            throw FileTreeError(.unreadable, path: path, "cramfs block out of bounds", offset: Int(source.base + start))
                        }
                        start += 2
                        pointer = UInt32(truncatingIfNeeded: start) &+ UInt32(length.u16(0, littleEndian: littleEndian))
                    }
                } else {
                    pointer &= 0x3fff_ffff
                }
            }
            let end = UInt64(pointer)
            // Pointers in the table are end offsets: the next block starts where this one ends. A
            // direct block ends where its length says, and a plain block after it starts there
            // (Linux cramfs_read_folio: "previous ptr might be a direct ptr").
            previousEnd = end
            if end == start {
                out += [UInt8](repeating: 0, count: expected)   // a hole
                continue
            }
            guard end > start, end - start <= UInt64(pageSize * 2), end <= source.size else {
                throw FileTreeError(.unreadable, path: path, "cramfs block \(page) has an invalid extent", offset: Int(source.base + start))
            }
            let block = try source.read(at: start, count: Int(end - start))
            if uncompressed {
                out += block.prefix(expected)
                continue
            }
            guard let data = inflateBlock(block, capacity: pageSize), data.count >= expected else {
                throw FileTreeError(.unreadable, path: path, "cramfs block \(page) does not decompress", offset: Int(source.base + start))
            }
            out += data.prefix(expected)
        }
        return Array(out.prefix(wanted))
    }

    public func read(_ entry: FileEntry, limit: Int) throws -> FileContent {
        guard entry.type == .file, let table = tables[entry.path] else {
            throw FileTreeError(.notRegularFile, path: entry.path, "not a regular file in the image")
        }
        let wanted = Int(min(UInt64(limit), entry.size))
        let bytes = try CramfsTree.readPages(source, table: table, size: Int(entry.size), upTo: wanted, littleEndian: littleEndian,
                                             extended: extendedPointers, path: entry.path)
        return FileContent(bytes: bytes, truncated: entry.size > UInt64(limit))
    }
}

/// cramfs in either byte order.
enum CramfsFormat: ImageFormat {
    static let name = "cramfs"
    static let summary = "a cramfs image"
    static let reader = "own reader (both byte orders, holes, extended block pointers); checked against fsck.cramfs"
    static let signatures = [FormatSignature([0x45, 0x3d, 0xcd, 0x28]), FormatSignature([0x28, 0xcd, 0x3d, 0x45])]

    static func open(_ probe: FormatProbe, _ diagnostics: inout [Diagnostic]) -> ContainerNode? {
        guard probe.head.count >= 76, probe.head.matches(Array("Compressed ROMFS".utf8), at: 16) else { return nil }
        let littleEndian = probe.signature == 0
        let declared = UInt64(probe.head.u32(4, littleEndian: littleEndian))
        guard declared >= 76 else { return nil }
        var node = ContainerNode(format: "cramfs", offset: probe.offset, size: min(declared, probe.available),
                                 details: ["endianness": littleEndian ? "little" : "big"])
        probe.openFilesystem(&node, declaredSize: declared, &diagnostics) { () throws(ImageError) in
            let tree = try CramfsTree(source: probe.region.slice(0, declared), name: probe.treeName("cramfs"),
                                      littleEndian: littleEndian, limits: probe.limits)
            return (tree, tree.details)
        }
        return node
    }
}
