import RBCore

/// romfs (Linux `Documentation/filesystems/romfs.rst`): all big endian, 16-byte aligned.
///
/// - superblock: "-rom1fs-", full size, checksum of the first 512 bytes, volume name (NUL
///   terminated, padded to 16).
/// - file header: next header offset (its low 4 bits: bit 3 executable, bits 0–2 the type),
///   spec.info, size, checksum, name (padded to 16), then the data (padded to 16). Types:
///   0 hard link (spec = the linked header), 1 directory (spec = its first entry), 2 file,
///   3 symlink (data = target), 4 block and 5 char device (spec = major << 16 | minor),
///   6 socket, 7 fifo. Directories list "." and "..".
///
/// romfs keeps no owners or permissions: entries carry the modes the kernel presents (files
/// 0644, or 0755 when executable; symlinks 0777; devices 0600; owner root), which is what the
/// device sees.
public final class RomfsTree: FileTree {
    public let displayName: String
    public let hasMetadata = true
    public let index: PathIndex
    public let indexDiagnostics: [Diagnostic]
    public let details: [String: String]
    public let declaredSize: UInt32
    private let source: ByteSource
    /// Where each regular file's data starts.
    private let data: [String: UInt64]

    /// The kernel's mode for each type (fs/romfs/super.c, romfs_modemap).
    static let modes: [UInt32] = [0, 0o040644, 0o100644, 0o120777, 0o060600, 0o020600, 0o140644, 0o010644]

    struct Header {
        var next: UInt64
        var type: Int
        var executable: Bool
        var spec: UInt32
        var size: UInt32
        var name: String
        var dataOffset: UInt64
    }

    /// Reads the file header at `offset` (name up to 256 bytes).
    static func header(_ source: ByteSource, at offset: UInt64) throws(ImageError) -> Header? {
        let bytes = try source.read(at: offset, count: 16 + 256)
        guard bytes.count >= 32 else { return nil }
        let word = bytes.be32(0)
        let nameBytes = bytes[16...].prefix { $0 != 0 }
        guard nameBytes.count < bytes.count - 16 else { return nil }
        let nameEnd = 16 + ((nameBytes.count + 16) & ~15)
        return Header(next: UInt64(word & ~0xf), type: Int(word & 7), executable: word & 8 != 0, spec: bytes.be32(4),
                      size: bytes.be32(8), name: String(decoding: nameBytes, as: UTF8.self), dataOffset: offset + UInt64(nameEnd))
    }

    public init(source: ByteSource, name: String, limits: ScanLimits) throws(ImageError) {
        displayName = name
        self.source = source
        let superblock = try source.read(at: 0, count: 16 + 256)
        guard superblock.count >= 32, superblock.matches(Array("-rom1fs-".utf8), at: 0) else {
            throw ImageError(.corrupt, source.file.name, "not a romfs superblock", offset: source.base)
        }
        declaredSize = superblock.be32(8)
        let volumeBytes = superblock[16...].prefix { $0 != 0 }
        let first = UInt64(16 + ((volumeBytes.count + 16) & ~15))
        details = ["volume": String(decoding: volumeBytes, as: UTF8.self)]
        var builder = TreeBuilder(limits: limits, image: name)
        var data: [String: UInt64] = [:]
        // (first header of a directory's list, its path, depth)
        var pending: [(UInt64, String, Int)] = [(first, "", 0)]
        var visitedHeaders = Set<UInt64>()
        var hardLinks: [(path: String, target: UInt64)] = []
        var fileAt: [UInt64: String] = [:]
        walk: while let (start, path, depth) = pending.popLast() {
            var offset = start
            while offset != 0 {
                guard offset < source.size, offset % 16 == 0, visitedHeaders.insert(offset).inserted else {
                    builder.error("image.corrupt", "invalid or looping file header offset 0x\(String(offset, radix: 16))", path: path, offset: source.base + offset)
                    break
                }
                guard let header = try RomfsTree.header(source, at: offset) else {
                    builder.error("image.corrupt", "file header out of bounds (truncated image?)", path: path, offset: source.base + offset)
                    break
                }
                defer { offset = header.next }
                if header.name == "." || header.name == ".." { continue }
                guard let childPath = builder.childPath(path, header.name) else { continue }
                var mode = RomfsTree.modes[header.type]
                if header.executable { mode |= 0o111 }
                var entry = FileEntry(path: childPath, type: fileType(ofMode: mode), mode: mode & 0o7777)
                switch header.type {
                case 0:
                    hardLinks.append((childPath, UInt64(header.spec & ~0xf)))
                    continue
                case 1:
                    if header.spec != 0, builder.mayDescend(childPath, depth: depth + 1) {
                        pending.append((UInt64(header.spec & ~0xf), childPath, depth + 1))
                    }
                case 2:
                    guard header.dataOffset + UInt64(header.size) <= source.size else {
                        builder.error("image.corrupt", "file data out of bounds (truncated image?)", path: childPath, offset: source.base + offset)
                        continue
                    }
                    entry.size = UInt64(header.size)
                    data[childPath] = header.dataOffset
                    fileAt[offset] = childPath
                case 3:
                    let target = try source.read(at: header.dataOffset, count: Int(min(header.size, 4096)))
                    entry.linkTarget = String(decoding: target.prefix { $0 != 0 }, as: UTF8.self)
                    entry.size = UInt64(target.count)
                default:
                    break
                }
                guard builder.add(entry) else { break walk }
            }
        }
        // A hard link shares the data of the file whose header it names.
        for link in hardLinks {
            guard let target = fileAt[link.target], let offset = data[target],
                  let targetEntry = builder.entries.first(where: { $0.path == target }) else {
                builder.warn("image.corrupt", "hard link to a header that is not a regular file", path: link.path)
                continue
            }
            var entry = targetEntry
            entry.path = link.path
            data[link.path] = offset
            builder.add(entry)
        }
        index = builder.index()
        indexDiagnostics = builder.diagnostics
        self.data = data
    }

    public func read(_ entry: FileEntry, limit: Int) throws -> FileContent {
        guard entry.type == .file, let offset = data[entry.path] else {
            throw FileTreeError(.notRegularFile, path: entry.path, "not a regular file in the image")
        }
        let bytes = try source.read(at: offset, count: Int(min(UInt64(limit), entry.size)))
        return FileContent(bytes: bytes, truncated: entry.size > UInt64(limit))
    }
}

/// romfs (uClinux, bootloaders, small camera partitions).
enum RomfsFormat: ImageFormat {
    static let name = "romfs"
    static let summary = "a romfs image"
    static let reader = "own reader (kernel's modes; hard links, devices); checked against the source tree"
    static let signatures = [FormatSignature("-rom1fs-")]

    static func open(_ probe: FormatProbe, _ diagnostics: inout [Diagnostic]) -> ContainerNode? {
        let declared = UInt64(probe.head.be32(8))
        guard probe.head.count >= 32, declared >= 32 else { return nil }
        var node = ContainerNode(format: "romfs", offset: probe.offset, size: min(declared, probe.available), details: [:])
        probe.openFilesystem(&node, declaredSize: declared, &diagnostics) { () throws(ImageError) in
            let tree = try RomfsTree(source: probe.region.slice(0, declared), name: probe.treeName("romfs"), limits: probe.limits)
            return (tree, tree.details)
        }
        return node
    }
}
