import RBCore

/// SquashFS 4.0 in big-endian byte order (AVM and some MIPS vendors' tools), which libsquashfs
/// does not read. The 4.0 layout (the kernel's squashfs documentation) has no bit fields, so a
/// big-endian image is the little-endian one with every field byte-swapped:
///
/// - superblock (96 bytes): counts, block size and log, compression id, flags, id count,
///   version, root inode reference and the table starts;
/// - inode and directory tables in 8 KiB metadata blocks (16-bit header, bit 15 = stored);
/// - inodes: a 16-byte header (type, permissions, uid and gid indices, mtime, number), then per
///   type: directories (block, links, size, offset, parent; the extended form with an index),
///   files (start, fragment, offset, size, block list; extended: 64-bit start and size),
///   symlinks, devices, fifos and sockets (basic and extended);
/// - directory runs: count, inode block, base number, then entries (offset, number delta,
///   type, name);
/// - the id table and the fragment table behind lookup tables of 64-bit block offsets.
///
/// Blocks: zlib, LZMA (every vendor framing), xz, zstd; lzo and lz4 are refused by name.
public final class Squashfs4NativeTree: FileTree {
    public let displayName: String
    public let hasMetadata = true
    public let index: PathIndex
    public let indexDiagnostics: [Diagnostic]
    public let details: [String: String]
    public let bytesUsed: UInt64
    private let reader: SquashfsFileReader
    private let files: [String: SquashfsFileReader.FileData]

    public init(source: ByteSource, name: String, littleEndian le: Bool, limits: ScanLimits) throws(ImageError) {
        displayName = name
        let sb = try source.read(at: 0, count: 96)
        guard sb.count == 96, sb.u16(28, littleEndian: le) == 4 else {
            throw ImageError(.corrupt, source.file.name, "invalid squashfs 4.0 superblock", offset: source.base)
        }
        let inodeCount = sb.u32(4, littleEndian: le), blockSize = Int(sb.u32(12, littleEndian: le))
        let fragmentCount = sb.u32(16, littleEndian: le), compression = sb.u16(20, littleEndian: le)
        let blockLog = sb.u16(22, littleEndian: le), flags = sb.u16(24, littleEndian: le), idCount = Int(sb.u16(26, littleEndian: le))
        let root = sb.u64(32, littleEndian: le)
        bytesUsed = sb.u64(40, littleEndian: le)
        let idTable = sb.u64(48, littleEndian: le), inodeTable = sb.u64(64, littleEndian: le)
        let directoryTable = sb.u64(72, littleEndian: le), fragmentTable = sb.u64(80, littleEndian: le)
        guard blockLog >= 12, blockLog <= 20, blockSize == 1 << Int(blockLog), inodeTable < directoryTable, directoryTable < bytesUsed else {
            throw ImageError(.corrupt, source.file.name, "invalid squashfs 4.0 superblock", offset: source.base)
        }
        let codec: any SquashfsBlockCodec
        switch compression {
        case 1: codec = SquashfsBlockDecoder(zlibFirst: true, blockSize: blockSize)
        case 2: codec = SquashfsBlockDecoder(zlibFirst: false, blockSize: blockSize)
        case 4: codec = StreamBlockCodec(codec: .xz)
        case 6: codec = StreamBlockCodec(codec: .zstd)
        default:
            throw ImageError(.unsupported, source.file.name,
                             "squashfs 4.0 \(le ? "little" : "big") endian with \(SquashfsTree.compressionName(compression)) compression is not supported",
                             offset: source.base)
        }
        var facts = ["version": "4.0", "endianness": le ? "little" : "big", "compression": SquashfsTree.compressionName(compression),
                     "blockSize": String(blockSize), "inodes": String(inodeCount)]
        let limit = UInt64(limits.maxExtractedBytes)
        // Tables end where the next one starts (the id and fragment lookups sit after them).
        let used = sb.u64(40, littleEndian: le)
        let starts = [inodeTable, directoryTable, fragmentTable, idTable, used].filter { $0 > 0 && $0 <= used }
        func end(after start: UInt64) -> UInt64 { starts.filter { $0 > start }.min() ?? used }
        // The metadata block headers' byte order: AVM's big-endian images keep them little
        // endian. The first inode-table block must end inside the inode table.
        let first = try source.read(at: inodeTable, count: 2)
        func fits(_ littleEndian: Bool) -> Bool {
            let length = UInt64(first.u16(0, littleEndian: littleEndian) & 0x7fff)
            return length > 0 && length <= 8192 + 64 && inodeTable + 2 + length <= directoryTable
        }
        let headersLE = fits(le) ? le : fits(!le) ? !le : le
        let inodes = try LegacySquashfsTree.readMetadata(source, from: inodeTable, to: end(after: inodeTable), check: false, le: headersLE,
                                                         decoder: codec, limit: limit)
        let directories = try LegacySquashfsTree.readMetadata(source, from: directoryTable, to: end(after: directoryTable), check: false,
                                                              le: headersLE, decoder: codec, limit: limit)
        // Entries behind a lookup table of 64-bit metadata block offsets.
        func lookup(_ start: UInt64, entries: Int, size: Int) throws(ImageError) -> [UInt8] {
            guard entries > 0, entries < 1 << 24 else { return [] }
            let blocks = (entries * size + 8191) / 8192
            let pointers = try source.read(at: start, count: blocks * 8)
            var bytes: [UInt8] = []
            for b in 0..<(pointers.count / 8) {
                let at = pointers.u64(b * 8, littleEndian: le)
                bytes += try LegacySquashfsTree.readMetadata(source, from: at, to: LegacySquashfsTree.singleBlockEnd(at, check: false), check: false, le: headersLE, decoder: codec,
                                                             limit: limit, single: true).bytes
            }
            return bytes
        }
        let idBytes = try lookup(idTable, entries: idCount, size: 4)
        let ids = (0..<(idBytes.count / 4)).map { idBytes.u32($0 * 4, littleEndian: le) }
        var fragments: [(start: UInt64, size: UInt32)] = []
        if flags & 0x10 == 0 {
            let entries = try lookup(fragmentTable, entries: Int(fragmentCount), size: 16)
            for i in 0..<min(Int(fragmentCount), entries.count / 16) {
                fragments.append((entries.u64(i * 16, littleEndian: le), entries.u32(i * 16 + 8, littleEndian: le)))
            }
        }
        reader = SquashfsFileReader(source: source, codec: codec, blockSize: blockSize, fragments: fragments)
        if headersLE != le { facts["metadataHeaders"] = "little endian" }
        details = facts

        struct Inode {
            var type: FileType
            var mode: UInt32
            var uid: UInt32
            var gid: UInt32
            var mtime: UInt32
            var link: String?
            var file: SquashfsFileReader.FileData?
            var directory: (block: UInt64, offset: Int, length: Int)?
        }
        func inode(_ reference: UInt64) -> Inode? {
            guard let base = inodes.starts[reference >> 16] else { return nil }
            let at = base + Int(reference & 0xffff)
            guard at + 16 <= inodes.bytes.count else { return nil }
            let b = Array(inodes.bytes[at..<min(inodes.bytes.count, at + 64)])
            let kind = Int(b.u16(0, littleEndian: le)), uidIndex = Int(b.u16(4, littleEndian: le)), gidIndex = Int(b.u16(6, littleEndian: le))
            guard uidIndex < ids.count, gidIndex < ids.count else { return nil }
            var node = Inode(type: .file, mode: UInt32(b.u16(2, littleEndian: le)) & 0o7777, uid: ids[uidIndex], gid: ids[gidIndex],
                             mtime: b.u32(8, littleEndian: le))
            func blockList(from listAt: Int, size: UInt64, fragment: UInt32) -> [UInt32]? {
                let count = fragment == 0xffff_ffff ? (size + UInt64(blockSize) - 1) / UInt64(blockSize) : size / UInt64(blockSize)
                let start = at + listAt
                guard count < 1 << 24, start + Int(count) * 4 <= inodes.bytes.count else { return nil }
                return (0..<Int(count)).map { inodes.bytes.u32(start + $0 * 4, littleEndian: le) }
            }
            switch kind {
            case 1:
                node.type = .directory
                node.directory = (UInt64(b.u32(16, littleEndian: le)), Int(b.u16(26, littleEndian: le)), Int(b.u16(24, littleEndian: le)) - 3)
            case 8:
                node.type = .directory
                node.directory = (UInt64(b.u32(24, littleEndian: le)), Int(b.u16(34, littleEndian: le)), Int(b.u32(20, littleEndian: le)) - 3)
            case 2:
                let size = UInt64(b.u32(28, littleEndian: le)), fragment = b.u32(20, littleEndian: le)
                guard let blocks = blockList(from: 32, size: size, fragment: fragment) else { return nil }
                node.file = SquashfsFileReader.FileData(start: UInt64(b.u32(16, littleEndian: le)), size: size, fragment: fragment,
                                                        fragmentOffset: b.u32(24, littleEndian: le), blocks: blocks)
            case 9:
                let size = b.u64(24, littleEndian: le), fragment = b.u32(44, littleEndian: le)
                guard let blocks = blockList(from: 56, size: size, fragment: fragment) else { return nil }
                node.file = SquashfsFileReader.FileData(start: b.u64(16, littleEndian: le), size: size, fragment: fragment,
                                                        fragmentOffset: b.u32(48, littleEndian: le), blocks: blocks)
            case 3, 10:
                let length = Int(b.u32(20, littleEndian: le))
                guard length <= 4096, at + 24 + length <= inodes.bytes.count else { return nil }
                node.type = .symlink
                node.mode = 0o777
                node.link = String(decoding: inodes.bytes[(at + 24)..<(at + 24 + length)], as: UTF8.self)
            case 4, 11: node.type = .blockDevice
            case 5, 12: node.type = .charDevice
            case 6, 13: node.type = .fifo
            case 7, 14: node.type = .socket
            default: return nil
            }
            return node
        }
        guard let rootInode = inode(root), let rootListing = rootInode.directory else {
            throw ImageError(.corrupt, source.file.name, "the root inode cannot be read", offset: source.base + inodeTable)
        }
        var builder = TreeBuilder(limits: limits, image: name, rootMode: rootInode.mode, rootUID: rootInode.uid, rootGID: rootInode.gid)
        var files: [String: SquashfsFileReader.FileData] = [:]
        var pending: [((block: UInt64, offset: Int, length: Int), String, Int)] = [(rootListing, "", 0)]
        var visited = Set<UInt64>([root])
        walk: while let (listing, path, depth) = pending.popLast() {
            guard let bytes = directories.slice(block: listing.block, offset: listing.offset, length: listing.length) else {
                builder.error("image.corrupt", "directory listing out of bounds", path: path, offset: source.base + directoryTable)
                continue
            }
            let b = Array(bytes)
            var i = 0
            while i + 12 <= b.count {
                let count = Int(b.u32(i, littleEndian: le)) + 1, block = UInt64(b.u32(i + 4, littleEndian: le))
                i += 12
                for _ in 0..<min(count, 256) {
                    guard i + 8 <= b.count else { break }
                    let offset = UInt64(b.u16(i, littleEndian: le)), length = Int(b.u16(i + 6, littleEndian: le)) + 1
                    guard i + 8 + length <= b.count else { break }
                    let childName = String(decoding: b[(i + 8)..<(i + 8 + length)], as: UTF8.self)
                    i += 8 + length
                    let reference = block << 16 | offset
                    guard let childPath = builder.childPath(path, childName) else { continue }
                    guard let child = inode(reference) else {
                        builder.error("image.corrupt", "inode cannot be read", path: childPath, offset: source.base + inodeTable)
                        continue
                    }
                    var entry = FileEntry(path: childPath, type: child.type, mode: child.mode, uid: child.uid, gid: child.gid,
                                          size: child.file?.size ?? 0, linkTarget: child.link, mtime: Int64(child.mtime))
                    if let link = child.link { entry.size = UInt64(link.utf8.count) }
                    if let file = child.file { files[childPath] = file }
                    if let listing = child.directory {
                        if visited.insert(reference).inserted, builder.mayDescend(childPath, depth: depth + 1) {
                            pending.append((listing, childPath, depth + 1))
                        }
                    }
                    guard builder.add(entry) else { break walk }
                }
            }
        }
        index = builder.index()
        indexDiagnostics = builder.diagnostics
        self.files = files
    }

    /// On-disk order: each fragment block's files together, then the others by first block.
    public func readOrder(_ files: [FileEntry]) -> [FileEntry] { ordered(files).map(\.entry) }

    public func readBatches(_ positions: [Int32], size: Int) -> [ArraySlice<Int32>] {
        SquashfsFileReader.batches(positions, size: size, entries: index.entries, files: files)
    }

    private func ordered(_ entries: [FileEntry]) -> [(entry: FileEntry, fragment: UInt32?)] {
        SquashfsFileReader.ordered(entries, data: { $0.type == .file ? files[$0.path] : nil })
    }

    public func read(_ entry: FileEntry, limit: Int) throws -> FileContent {
        guard entry.type == .file, let file = files[entry.path] else {
            throw FileTreeError(.notRegularFile, path: entry.path, "not a regular file in the image")
        }
        return try reader.read(file, limit: limit, path: entry.path)
    }
}
