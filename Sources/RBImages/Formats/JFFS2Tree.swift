import CLZMA
import CLZO
import CZlib
import RBCore

/// A JFFS2 filesystem (little or big endian), read natively: the log of nodes is scanned once,
/// the newest version of every inode and directory entry wins, and file data is assembled on
/// demand from its data nodes (none, zero, zlib, rtime, lzo and the OpenWrt lzma compression;
/// the rubin compressors are reported as unsupported for the files that use them).
public final class JFFS2Tree: FileTree {
    public let displayName: String
    public let hasMetadata = true
    public let index: PathIndex
    public let indexDiagnostics: [Diagnostic]
    public let details: [String: String]
    /// Bytes of the image the node scan covered.
    public let scannedSize: UInt64
    private let source: ByteSource
    private let littleEndian: Bool
    private let dataNodes: [UInt32: [DataNode]]
    private let inodeOf: [String: UInt32]

    struct DataNode: Sendable {
        var version: UInt32
        /// Offset of the node's compressed data in `source`.
        var dataOffset: UInt64
        var fileOffset: UInt32
        var compressedSize: UInt32
        var size: UInt32
        var compression: UInt8
    }

    struct InodeMeta {
        var version: UInt32
        var mode: UInt32
        var uid: UInt32
        var gid: UInt32
        var size: UInt32
        var mtime: UInt32
    }

    struct Dirent {
        var version: UInt32
        var ino: UInt32
        var type: UInt8
    }

    static let accurate: UInt16 = 0x2000

    /// Whether a node header's CRC is valid, with the ACCURATE bit set as the CRC was computed
    /// (an obsolete node has it cleared). JFFS2's CRC-32 is zlib's without the inversions.
    static func headerCRCValid(_ header: [UInt8], littleEndian: Bool) -> Bool {
        guard header.count >= 12 else { return false }
        var bytes = Array(header[0..<8])
        bytes[littleEndian ? 3 : 2] |= 0x20
        let stored = littleEndian ? header.le32(8) : header.be32(8)
        return ~CRC32.of(bytes[...], seed: 0xffff_ffff) == stored || CRC32.of(bytes[...]) == stored
    }

    static let nodeDirent: UInt16 = 0xe001
    static let nodeInode: UInt16 = 0xe002

    public init(source: ByteSource, name: String, littleEndian: Bool, limits: ScanLimits) throws(ImageError) {
        displayName = name
        self.source = source
        self.littleEndian = littleEndian
        var inodes: [UInt32: InodeMeta] = [:]
        var data: [UInt32: [DataNode]] = [:]
        var dirents: [UInt32: [String: Dirent]] = [:]
        var diagnostics: [Diagnostic] = []
        var counts = (inodes: 0, dirents: 0, badCRC: 0, obsolete: 0)
        // Where runs of damaged nodes start: damage before the last valid node lost data; damage
        // after it is an interrupted last write.
        var badRuns: [UInt64] = []
        var lastWasBad = false
        // Every inode some directory entry (any version) names: an inode no entry names lost its
        // entry (a deleted file's inode is still named by the entry its deletion superseded).
        var named = Set<UInt32>()
        var offset: UInt64 = 0
        var end: UInt64 = 0
        let magic: [UInt8] = littleEndian ? [0x85, 0x19] : [0x19, 0x85]
        var window: [UInt8] = []
        var windowStart: UInt64 = 0
        func bytes(_ at: UInt64, _ count: Int) throws(ImageError) -> [UInt8] {
            if at >= windowStart, at + UInt64(count) <= windowStart + UInt64(window.count) {
                let from = Int(at - windowStart)
                return Array(window[from..<(from + count)])
            }
            windowStart = at
            window = try source.read(at: at, count: max(count, 1 << 20))
            return Array(window.prefix(count))
        }
        func u16(_ b: [UInt8], _ at: Int) -> UInt16 { littleEndian ? b.le16(at) : UInt16(b[at]) << 8 | UInt16(b[at + 1]) }
        func u32(_ b: [UInt8], _ at: Int) -> UInt32 { littleEndian ? b.le32(at) : b.be32(at) }
        func crc(_ b: ArraySlice<UInt8>) -> UInt32 { ~CRC32.of(b, seed: 0xffff_ffff) }

        func damaged(_ at: UInt64) {
            counts.badCRC += 1
            if !lastWasBad { badRuns.append(at) }
            lastWasBad = true
        }
        while offset + 12 <= source.size {
            let header = try bytes(offset, 12)
            guard header.count == 12, header.matches(magic, at: 0) else { offset += 4; continue }
            let nodeType = u16(header, 2)
            let length = UInt64(u32(header, 4))
            guard length >= 12, offset + length <= source.size else {
                damaged(offset)
                offset += 4
                continue
            }
            if crc(header[0..<8]) != u32(header, 8) {
                // An obsolete node: the kernel clears the ACCURATE bit (0x2000) of a node it
                // replaces, on flash, without touching the CRC computed with the bit set.
                if nodeType & JFFS2Tree.accurate == 0, JFFS2Tree.headerCRCValid(header, littleEndian: littleEndian) {
                    counts.obsolete += 1
                    end = offset + length
                    offset += (length + 3) & ~3
                } else {
                    damaged(offset)
                    offset += 4
                }
                continue
            }
            var intact = true
            switch nodeType {
            case JFFS2Tree.nodeDirent where length >= 40:
                let node = try bytes(offset, Int(min(length, 40 + 255)))
                let nameLength = Int(node[28])
                // The node CRC covers the header fields, the name CRC the name.
                guard node.count >= 40 + nameLength, crc(node[0..<32]) == u32(node, 32),
                      crc(node[40..<(40 + nameLength)]) == u32(node, 36) else { damaged(offset); intact = false; break }
                let name = String(decoding: node[40..<(40 + nameLength)], as: UTF8.self)
                let parent = u32(node, 12), version = u32(node, 16), ino = u32(node, 20)
                if ino != 0 { named.insert(ino) }
                if let existing = dirents[parent]?[name], existing.version > version { break }
                dirents[parent, default: [:]][name] = Dirent(version: version, ino: ino, type: node[29])
                counts.dirents += 1
            case JFFS2Tree.nodeInode where length >= 68:
                let node = try bytes(offset, 68)
                guard crc(node[0..<60]) == u32(node, 64) else { damaged(offset); intact = false; break }
                let ino = u32(node, 12), version = u32(node, 16)
                let meta = InodeMeta(version: version, mode: u32(node, 20), uid: UInt32(u16(node, 24)), gid: UInt32(u16(node, 26)),
                                     size: u32(node, 28), mtime: u32(node, 36))
                if (inodes[ino]?.version ?? 0) <= version { inodes[ino] = meta }
                let compressedSize = u32(node, 48), size = u32(node, 52)
                if size > 0, 68 + UInt64(compressedSize) <= length {
                    data[ino, default: []].append(DataNode(version: version, dataOffset: offset + 68, fileOffset: u32(node, 44),
                                                           compressedSize: compressedSize, size: size, compression: node[56]))
                }
                counts.inodes += 1
            default:
                break
            }
            if intact { lastWasBad = false }
            end = offset + length
            offset += (length + 3) & ~3
        }
        guard counts.inodes + counts.dirents > 0 else {
            throw ImageError(.corrupt, source.file.name, "no valid JFFS2 nodes", offset: source.base)
        }
        // Damage followed by valid nodes lost data (directory entries, file contents): the scan
        // is incomplete. Damage only after the last valid node is an interrupted write.
        let inside = badRuns.filter { $0 < end }
        if counts.badCRC > 0 {
            if inside.isEmpty {
                diagnostics.append(Diagnostic(.warning, .check, code: "image.crc-mismatch",
                    "\(counts.badCRC) damaged JFFS2 node(s) after the last valid one (an interrupted write) ignored", at: SourceLocation(file: name)))
            } else {
                diagnostics.append(Diagnostic(.error, .check, code: "image.crc-mismatch",
                    "\(counts.badCRC) damaged JFFS2 node(s) in \(inside.count) place(s) (first at offset 0x\(String(inside[0], radix: 16))) ignored: the directory entries or file data they held are missing from the scan",
                    at: SourceLocation(file: name)))
            }
        }
        // Paths from the root inode (1), newest entries only; a zero inode is a deletion.
        var entries: [FileEntry] = [FileEntry(path: "", type: .directory, mode: 0o755)]
        var inodeOf: [String: UInt32] = [:]
        var visited = Set<UInt32>([1])
        var reached = Set<UInt32>([1])
        func walk(from root: UInt32, at rootPath: String) {
          var pending: [(UInt32, String, Int)] = [(root, rootPath, rootPath.split(separator: "/").count)]
          while let (directory, path, depth) = pending.popLast() {
            for (childName, dirent) in (dirents[directory] ?? [:]).sorted(by: { $0.key < $1.key }) where dirent.ino != 0 {
                guard !childName.isEmpty, childName != ".", childName != "..", !childName.contains("/") else { continue }
                guard entries.count < limits.maxEntries else {
                    diagnostics.append(Diagnostic(.error, .check, code: "image.entry-limit",
                        "more than \(limits.maxEntries) entries; the rest is not indexed", at: SourceLocation(file: name)))
                    pending.removeAll()
                    break
                }
                let childPath = path.isEmpty ? childName : path + "/" + childName
                guard let meta = inodes[dirent.ino] else {
                    diagnostics.append(Diagnostic(.warning, .check, code: "image.corrupt",
                        "directory entry without an inode (\(dirent.ino))", at: SourceLocation(file: name + ":" + childPath)))
                    continue
                }
                let type = ExtTree.type(of: UInt16(truncatingIfNeeded: meta.mode))
                var link: String?
                if type == .symlink {
                    link = (try? JFFS2Tree.assemble(data[dirent.ino] ?? [], size: Int(meta.size), source: source)).map {
                        String(decoding: $0.bytes, as: UTF8.self)
                    }
                }
                entries.append(FileEntry(path: childPath, type: type, mode: meta.mode & 0o7777, uid: meta.uid, gid: meta.gid,
                                         size: type == .directory ? 0 : UInt64(meta.size), linkTarget: link, mtime: Int64(meta.mtime)))
                reached.insert(dirent.ino)
                if type == .file { inodeOf[childPath] = dirent.ino }
                if type == .directory {
                    guard visited.insert(dirent.ino).inserted, depth < limits.maxDepth else {
                        diagnostics.append(Diagnostic(.error, .check, code: "image.corrupt",
                            "directory loop or nesting too deep", at: SourceLocation(file: name + ":" + childPath)))
                        continue
                    }
                    pending.append((dirent.ino, childPath, depth + 1))
                }
            }
          }
        }
        walk(from: 1, at: "")
        // Inodes no directory entry names. In an undamaged image they are unlinked files the
        // kernel deletes at mount (their entry was erased by garbage collection): left out. In a
        // damaged one they lost their entry: recovered under lost+found/inode-N as fsck does, so
        // their contents are still scanned, and an error says that their paths are unknown.
        let lost = Set(inodes.keys).union(dirents.keys).subtracting(named).subtracting(reached).subtracting([1]).sorted()
        if !lost.isEmpty, !inside.isEmpty {
            entries.append(FileEntry(path: "lost+found", type: .directory, mode: 0o700))
            var recovered = 0
            for ino in lost where entries.count < limits.maxEntries {
                let path = "lost+found/inode-\(ino)"
                let meta = inodes[ino]
                let type = meta.map { ExtTree.type(of: UInt16(truncatingIfNeeded: $0.mode)) } ?? .directory
                entries.append(FileEntry(path: path, type: type == .symlink ? .file : type, mode: (meta?.mode ?? 0o755) & 0o7777,
                                         uid: meta?.uid ?? 0, gid: meta?.gid ?? 0, size: type == .directory ? 0 : UInt64(meta?.size ?? 0),
                                         mtime: Int64(meta?.mtime ?? 0)))
                reached.insert(ino)
                if type == .directory {
                    if visited.insert(ino).inserted { walk(from: ino, at: path) }
                } else {
                    inodeOf[path] = ino
                }
                recovered += 1
            }
            diagnostics.append(Diagnostic(.error, .check, code: "image.lost-entries",
                "\(lost.count) JFFS2 inode(s) are named by no directory entry (damaged or missing entries): recovered under lost+found/ with \(entries.filter { $0.path.hasPrefix("lost+found/") }.count) entries, but their real paths are unknown, so rules looking for named files (etc/…) did not see them",
                at: SourceLocation(file: name)))
        }
        index = PathIndex(entries)
        dataNodes = data
        self.inodeOf = inodeOf
        indexDiagnostics = diagnostics
        scannedSize = end
        details = ["endianness": littleEndian ? "little" : "big", "nodes": String(counts.inodes + counts.dirents),
                   "obsoleteNodes": String(counts.obsolete)]
    }

    struct Assembled {
        var bytes: [UInt8]
        var unsupported: String?
    }

    /// Applies the data nodes of one inode, oldest version first, into a buffer of `size` bytes.
    static func assemble(_ nodes: [DataNode], size: Int, source: ByteSource) throws(ImageError) -> Assembled {
        var buffer = [UInt8](repeating: 0, count: size)
        var unsupported: String?
        for node in nodes.sorted(by: { $0.version < $1.version }) {
            let start = Int(node.fileOffset)
            guard start < size else { continue }
            let count = min(Int(node.size), size - start)
            let payload = try source.read(at: node.dataOffset, count: Int(node.compressedSize))
            var out: [UInt8]
            switch node.compression {
            case 0x00: out = payload
            case 0x01: out = [UInt8](repeating: 0, count: Int(node.size))
            case 0x06: out = inflate(payload, size: Int(node.size))
            case 0x02: out = rtime(payload, size: Int(node.size))
            case 0x07: out = unlzo(payload, size: Int(node.size))
            case 0x08: out = unlzma(payload, size: Int(node.size))
            default:
                unsupported = "JFFS2 compression \(node.compression == 0x03 ? "rubinmips" : node.compression == 0x05 ? "dynrubin" : "type \(node.compression)") is not supported"
                continue
            }
            if out.count < count { throw ImageError(.corrupt, source.file.name, "a JFFS2 data node does not decompress", offset: source.base + node.dataOffset) }
            buffer.replaceSubrange(start..<(start + count), with: out[0..<count])
        }
        return Assembled(bytes: buffer, unsupported: unsupported)
    }

    static func inflate(_ input: [UInt8], size: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: size)
        var length = uLongf(size)
        let rc = out.withUnsafeMutableBufferPointer { o in
            input.withUnsafeBufferPointer { i in uncompress(o.baseAddress, &length, i.baseAddress, uLong(i.count)) }
        }
        return rc == Z_OK ? Array(out.prefix(Int(length))) : []
    }

    /// JFFS2's "rtime" run-length/back-reference scheme (fs/jffs2/compr_rtime.c).
    static func rtime(_ input: [UInt8], size: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: size)
        var positions = [Int](repeating: 0, count: 256)
        var inPos = 0, outPos = 0
        while outPos < size, inPos + 1 < input.count {
            let value = input[inPos]
            let repeatCount = Int(input[inPos + 1])
            inPos += 2
            out[outPos] = value
            outPos += 1
            var back = positions[Int(value)]
            positions[Int(value)] = outPos
            for _ in 0..<repeatCount where outPos < size && back < outPos {
                out[outPos] = out[back]
                outPos += 1
                back += 1
            }
        }
        return outPos == size ? out : []
    }

    static func unlzo(_ input: [UInt8], size: Int) -> [UInt8] {
        _ = rb_lzo_init()
        var out = [UInt8](repeating: 0, count: size)
        var length = lzo_uint(size)
        let rc = out.withUnsafeMutableBufferPointer { o in
            input.withUnsafeBufferPointer { i in lzo1x_decompress_safe(i.baseAddress, lzo_uint(i.count), o.baseAddress, &length, nil) }
        }
        return rc == LZO_E_OK ? Array(out.prefix(Int(length))) : []
    }

    /// JFFS2's LZMA (OpenWrt, U-Boot): raw LZMA1, lc=0 lp=0 pb=0, 8 KiB dictionary, no header.
    static func unlzma(_ input: [UInt8], size: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: size)
        let produced = out.withUnsafeMutableBufferPointer { o in
            input.withUnsafeBufferPointer { i in
                var consumed = 0
                var ended: Int32 = 0
                return rb_lzma1_raw_block(i.baseAddress, i.count, o.baseAddress, o.count, 0x2000, 0, 0, 0, &consumed, &ended)
            }
        }
        return produced == size ? out : []
    }

    public func read(_ entry: FileEntry, limit: Int) throws -> FileContent {
        guard entry.type == .file, let ino = inodeOf[entry.path] else {
            throw FileTreeError(.notRegularFile, path: entry.path, "not a regular file in the image")
        }
        let size = Int(min(UInt64(limit), entry.size))
        let assembled: Assembled
        do {
            assembled = try JFFS2Tree.assemble(dataNodes[ino] ?? [], size: size, source: source)
        } catch {
            throw FileTreeError(.unreadable, path: entry.path, error.description)
        }
        if let unsupported = assembled.unsupported { throw FileTreeError(.unreadable, path: entry.path, unsupported) }
        return FileContent(bytes: assembled.bytes, truncated: entry.size > UInt64(limit))
    }
}

/// JFFS2 in either byte order (NOR flash partitions, OpenWrt overlays, camera config areas).
enum JFFS2Format: ImageFormat {
    static let name = "JFFS2"
    static let summary = "a JFFS2 image"
    static let reader = "own reader (zlib, rtime, lzo, lzma nodes; obsolete nodes skipped); checked against the mkfs.jffs2 source tree"
    static let signatures = [FormatSignature([0x85, 0x19]), FormatSignature([0x19, 0x85])]

    static func open(_ probe: FormatProbe, _ diagnostics: inout [Diagnostic]) -> ContainerNode? {
        let head = probe.head
        guard head.count >= 12 else { return nil }
        let littleEndian = probe.signature == 0
        let nodeType = littleEndian ? head.le16(2) : UInt16(head[2]) << 8 | UInt16(head[3])
        // The known node types, with or without the ACCURATE bit (0x2000: cleared on obsolete nodes).
        guard [0xe001, 0xe002, 0x2003, 0x2004, 0xe006, 0xe008, 0xe009].contains(nodeType | 0x2000) else { return nil }
        guard JFFS2Tree.headerCRCValid(head, littleEndian: littleEndian) else { return nil }
        var node = ContainerNode(format: "JFFS2", offset: probe.offset, size: nil,
                                 details: ["endianness": littleEndian ? "little" : "big"])
        if probe.tooDeep(&node, &diagnostics) { return node }
        do {
            let tree = try JFFS2Tree(source: probe.region, name: probe.treeName("JFFS2"), littleEndian: littleEndian, limits: probe.limits)
            node.tree = tree
            node.size = tree.scannedSize
            node.details.merge(tree.details) { $1 }
            node.details["files"] = String(tree.index.entries.filter { $0.type == .file }.count)
            diagnostics += tree.indexDiagnostics.filter { $0.level == .error }
        } catch {
            probe.fail(&node, "image." + error.code.rawValue, error.message, &diagnostics)
        }
        return node
    }
}
