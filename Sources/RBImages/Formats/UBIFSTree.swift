import CLZO
import CZstd
import RBCore

/// UBIFS (a volume of a UBI image, or a bare dump of one), read natively (Linux
/// `fs/ubifs/ubifs-media.h`; little endian). Every node starts with a 24-byte header (magic
/// 0x06101831, CRC-32 without final inversion over the rest, sequence number, length, type).
/// The superblock node (LEB 0) gives the LEB size; the newest valid master node (LEBs 1–2)
/// the root of the index B-tree, whose leaves are the inode, directory-entry and data nodes of
/// the last committed state. Data nodes hold 4 KiB blocks compressed with LZO, raw deflate or
/// zstd (or stored). Authenticated or encrypted file systems are refused with a diagnostic.
public final class UBIFSTree: FileTree {
    public let displayName: String
    public let hasMetadata = true
    public let index: PathIndex
    public let indexDiagnostics: [Diagnostic]
    public let details: [String: String]
    private let source: ByteSource
    private let lebSize: UInt64
    /// Per inode number: its data nodes by block number (absolute node offset in `source`).
    private let data: [UInt64: [UInt32: UInt64]]
    private let inodeOf: [String: UInt64]

    static let magic: UInt32 = 0x0610_1831
    static let blockSize = 4096

    struct InodeNode {
        var size: UInt64
        var mode: UInt32
        var uid: UInt32
        var gid: UInt32
        var mtime: Int64
        var inline: [UInt8]
    }

    /// Reads and validates the node at `offset` (header CRC over the whole node).
    static func node(_ source: ByteSource, at offset: UInt64, maxLength: Int = 1 << 20) throws(ImageError) -> [UInt8]? {
        let header = try source.read(at: offset, count: 24)
        guard header.count == 24, header.le32(0) == magic else { return nil }
        let length = Int(header.le32(16))
        guard length >= 24, length <= maxLength else { return nil }
        let bytes = try source.read(at: offset, count: length)
        guard bytes.count == length, ~CRC32.of(bytes[8...]) == bytes.le32(4) else { return nil }
        return bytes
    }

    public init(source: ByteSource, name: String, limits: ScanLimits) throws(ImageError) {
        displayName = name
        self.source = source
        guard let superblock = try UBIFSTree.node(source, at: 0, maxLength: 4096), superblock[20] == 6 else {
            throw ImageError(.corrupt, source.file.name, "no valid UBIFS superblock node", offset: source.base)
        }
        let flags = superblock.le32(28)
        lebSize = UInt64(superblock.le32(36))
        guard lebSize >= 4096, lebSize <= 1 << 24 else {
            throw ImageError(.corrupt, source.file.name, "implausible UBIFS LEB size \(lebSize)", offset: source.base)
        }
        guard flags & (16 | 32) == 0 else {
            throw ImageError(.unsupported, source.file.name,
                             "UBIFS with \(flags & 16 != 0 ? "encryption" : "authentication") is not supported", offset: source.base)
        }
        let compressions = ["none", "lzo", "zlib", "zstd"]
        let defaultCompression = Int(superblock.le16(84))
        details = ["lebSize": String(lebSize), "lebs": String(superblock.le32(40)),
                   "compression": defaultCompression < compressions.count ? compressions[defaultCompression] : "type \(defaultCompression)"]
        // The newest valid master node in LEBs 1 and 2 (written one after another).
        var master: [UInt8]?
        for leb: UInt64 in 1...2 {
            var offset = leb * lebSize
            while offset + 512 <= (leb + 1) * lebSize, let candidate = try UBIFSTree.node(source, at: offset, maxLength: 4096) {
                if candidate[20] == 7, master.map({ $0.le64(8) < candidate.le64(8) }) ?? true { master = candidate }
                offset += UInt64((candidate.count + 7) & ~7)
            }
        }
        guard let master else {
            throw ImageError(.corrupt, source.file.name, "no valid UBIFS master node in LEBs 1-2", offset: source.base + lebSize)
        }
        var inodes: [UInt64: InodeNode] = [:]
        var dents: [UInt64: [(name: String, inum: UInt64, sqnum: UInt64)]] = [:]
        var data: [UInt64: [UInt32: UInt64]] = [:]
        var indexProblems: [(code: String, message: String)] = []
        // The index B-tree, depth first; every node visited once.
        var pending: [(lnum: UInt64, offs: UInt64, depth: Int)] = [(UInt64(master.le32(48)), UInt64(master.le32(52)), 0)]
        var visited = Set<UInt64>()
        var broken = 0
        var nodeCount = 0
        while let (lnum, offs, depth) = pending.popLast() {
            let at = lnum * lebSize + offs
            guard depth < 64, visited.insert(at).inserted else { continue }
            nodeCount += 1
            guard nodeCount <= limits.maxEntries * 4 else {
                indexProblems.append(("image.entry-limit", "the UBIFS index has more nodes than the entry limit allows; the rest is not read"))
                break
            }
            guard let node = try UBIFSTree.node(source, at: at, maxLength: Int(lebSize)) else {
                broken += 1
                continue
            }
            let key = node.count >= 32 ? (inum: UInt64(node.le32(24)), type: node.le32(28) >> 29, payload: node.le32(28) & 0x1fff_ffff)
                                       : (inum: 0, type: 0, payload: 0)
            switch node[20] {
            case 9:   // index node: branches of 12 bytes + an 8-byte key
                let count = Int(node.le16(24))
                for b in 0..<count {
                    let base = 28 + b * 20
                    guard base + 12 <= node.count else { break }
                    pending.append((UInt64(node.le32(base)), UInt64(node.le32(base + 4)), depth + 1))
                }
            case 0 where node.count >= 160:
                let dataLength = Int(node.le32(112))
                inodes[key.inum] = InodeNode(size: node.le64(48), mode: node.le32(104), uid: node.le32(96), gid: node.le32(100),
                                             mtime: Int64(bitPattern: node.le64(72)),
                                             inline: Array(node[160..<min(node.count, 160 + dataLength)]))
            case 2 where node.count >= 56:
                let length = Int(node.le16(50))
                guard 56 + length <= node.count else { broken += 1; continue }
                dents[key.inum, default: []].append((String(decoding: node[56..<(56 + length)], as: UTF8.self), node.le64(40), node.le64(8)))
            case 1 where node.count >= 48:
                data[key.inum, default: [:]][key.payload] = at
            default:
                break
            }
        }
        if broken > 0 {
            indexProblems.append(("image.corrupt", "\(broken) UBIFS index or leaf node(s) unreadable (bad CRC or out of bounds); what they held is missing"))
        }
        guard let root = inodes[1] else {
            throw ImageError(.corrupt, source.file.name, "the UBIFS root inode is not in the index", offset: source.base)
        }
        var builder = TreeBuilder(limits: limits, image: name, rootMode: root.mode & 0o7777, rootUID: root.uid, rootGID: root.gid)
        for problem in indexProblems { builder.error(problem.code, problem.message) }
        var inodeOf: [String: UInt64] = [:]
        var queue: [(UInt64, String, Int)] = [(1, "", 0)]
        var seenDirectories = Set<UInt64>([1])
        walk: while let (directory, path, depth) = queue.popLast() {
            // The newest entry per name; inode 0 is a deletion.
            var byName: [String: (inum: UInt64, sqnum: UInt64)] = [:]
            for dent in dents[directory] ?? [] where byName[dent.name].map({ $0.sqnum < dent.sqnum }) ?? true {
                byName[dent.name] = (dent.inum, dent.sqnum)
            }
            for (childName, dent) in byName.sorted(by: { $0.key < $1.key }) where dent.inum != 0 {
                guard let childPath = builder.childPath(path, childName) else { continue }
                guard let inode = inodes[dent.inum] else {
                    builder.warn("image.corrupt", "directory entry without an inode (\(dent.inum))", path: childPath)
                    continue
                }
                let type = fileType(ofMode: inode.mode)
                var entry = FileEntry(path: childPath, type: type, mode: inode.mode & 0o7777, uid: inode.uid, gid: inode.gid,
                                      size: type == .file ? inode.size : 0, mtime: inode.mtime)
                if type == .symlink {
                    entry.linkTarget = String(decoding: inode.inline, as: UTF8.self)
                    entry.size = UInt64(inode.inline.count)
                }
                if type == .file { inodeOf[childPath] = dent.inum }
                if type == .directory {
                    if seenDirectories.insert(dent.inum).inserted, builder.mayDescend(childPath, depth: depth + 1) {
                        queue.append((dent.inum, childPath, depth + 1))
                    }
                }
                guard builder.add(entry) else { break walk }
            }
        }
        index = builder.index()
        indexDiagnostics = builder.diagnostics
        self.data = data
        self.inodeOf = inodeOf
    }

    /// One data node's 4 KiB block, decompressed.
    private func block(at offset: UInt64, path: String) throws -> [UInt8] {
        guard let node = try UBIFSTree.node(source, at: offset, maxLength: Int(lebSize)) else {
            throw FileTreeError(.unreadable, path: path, "UBIFS data node unreadable (bad CRC)", offset: Int(source.base + offset))
        }
        let size = Int(node.le32(40)), compression = node.le16(44)
        let payload = Array(node[48...])
        guard size <= UBIFSTree.blockSize else {
            throw FileTreeError(.unreadable, path: path, "UBIFS data node larger than a block", offset: Int(source.base + offset))
        }
        var out: [UInt8]?
        switch compression {
        case 0: out = payload
        case 1: out = JFFS2Tree.unlzo(payload, size: size)
        case 2: out = inflateBlock(payload, capacity: size, raw: true)
        case 3:
            var buffer = [UInt8](repeating: 0, count: size)
            let n = buffer.withUnsafeMutableBytes { o in payload.withUnsafeBytes { i in ZSTD_decompress(o.baseAddress, o.count, i.baseAddress, i.count) } }
            out = ZSTD_isError(n) == 0 ? Array(buffer.prefix(n)) : nil
        default:
            throw FileTreeError(.unreadable, path: path, "UBIFS compression type \(compression) is not supported", offset: Int(source.base + offset))
        }
        guard let out, out.count >= size else {
            throw FileTreeError(.unreadable, path: path, "UBIFS data node does not decompress", offset: Int(source.base + offset))
        }
        return Array(out.prefix(size))
    }

    public func read(_ entry: FileEntry, limit: Int) throws -> FileContent {
        guard entry.type == .file, let inum = inodeOf[entry.path] else {
            throw FileTreeError(.notRegularFile, path: entry.path, "not a regular file in the image")
        }
        let wanted = Int(min(UInt64(limit), entry.size))
        let blocks = data[inum] ?? [:]
        var out: [UInt8] = []
        out.reserveCapacity(wanted)
        var number: UInt32 = 0
        while out.count < wanted {
            var piece = [UInt8]()
            if let offset = blocks[number] { piece = try block(at: offset, path: entry.path) }
            // Holes, and blocks shorter than 4 KiB before the end, read as zeros.
            if piece.count < UBIFSTree.blockSize { piece += [UInt8](repeating: 0, count: UBIFSTree.blockSize - piece.count) }
            out += piece.prefix(wanted - out.count)
            number += 1
        }
        return FileContent(bytes: out, truncated: entry.size > UInt64(limit))
    }
}

/// A bare UBIFS volume (a dump of one UBI volume, or one assembled from a UBI image).
enum UBIFSFormat: ImageFormat {
    static let name = "UBIFS"
    static let summary = "a UBIFS image"
    static let reader = "own reader (index B-tree from the newest master node; lzo, zlib, zstd); checked against ubireader"
    static let signatures = [FormatSignature([0x31, 0x18, 0x10, 0x06])]

    static func open(_ probe: FormatProbe, _ diagnostics: inout [Diagnostic]) -> ContainerNode? {
        // Only a superblock node starts a file system.
        guard probe.head.count >= 48, probe.head[20] == 6, probe.head.le32(16) == 4096,
              let superblock = try? UBIFSTree.node(probe.region, at: 0, maxLength: 4096) else { return nil }
        let size = UInt64(superblock.le32(36)) * UInt64(superblock.le32(40))
        var node = ContainerNode(format: "UBIFS", offset: probe.offset, size: min(size, probe.available), details: [:])
        probe.openFilesystem(&node, declaredSize: min(size, probe.available), &diagnostics) { () throws(ImageError) in
            let tree = try UBIFSTree(source: probe.region.slice(0, size), name: probe.treeName("UBIFS"), limits: probe.limits)
            return (tree, tree.details)
        }
        return node
    }
}
