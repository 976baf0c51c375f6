import RBCore

/// SquashFS 3.x and 2.x in either byte order (no C library reads them: libsquashfs is 4.0
/// only), with zlib or any of the vendor LZMA framings (`SquashfsBlockDecoder`). Layout as in
/// the squashfs-tools 3.x headers and 7-Zip's squashfs handler:
///
/// - superblock: counts and table starts (32-bit `_2` fields for 2.x, 64-bit for 3.x),
///   block size and log, flags, uid/gid counts, the root inode reference;
/// - metadata blocks (inode, directory and fragment tables): a 16-bit header (bit 15 =
///   stored, the rest the length), plus a check byte when the CHECK flag is set; an inode
///   reference is (the block's offset in its table << 16 | offset in the decoded block);
/// - inode and directory-entry bit fields packed least significant first on little-endian
///   images and most significant first on big-endian ones (not a byte swap);
/// - data blocks contiguous from the inode's start, each with a 32-bit size word (bit 24 =
///   stored, 0 = sparse), the tail of a file in a fragment block;
/// - uid and gid tables as raw 32-bit arrays (gid index 0xff: same as the uid).
public final class LegacySquashfsTree: FileTree {
    public let displayName: String
    public let hasMetadata = true
    public let index: PathIndex
    public let indexDiagnostics: [Diagnostic]
    public var details: [String: String] {
        var facts = baseDetails
        if let variant = decoder.variant { facts["compression"] = variant.description }
        return facts
    }
    public let bytesUsed: UInt64
    private let baseDetails: [String: String]
    private let decoder: SquashfsBlockDecoder
    private let reader: SquashfsFileReader
    private let files: [String: SquashfsFileReader.FileData]

    struct Superblock {
        var major: Int
        var littleEndian: Bool
        var inodes: UInt32
        var bytesUsed: UInt64
        var uidStart: UInt64
        var guidStart: UInt64
        var inodeTable: UInt64
        var directoryTable: UInt64
        var fragmentTable: UInt64
        var blockSize: UInt32
        var blockLog: UInt16
        var flags: UInt8
        var uids: Int
        var guids: Int
        var mkfsTime: UInt32
        var fragmentCount: UInt32
        var root: UInt64
        var check: Bool { flags & 0x04 != 0 }

        /// Parses the 3.x/2.x superblock; the byte order comes from the version field (vendors
        /// change the magic), nil when it is not a plausible 2.x/3.x superblock.
        init?(_ b: [UInt8]) {
            guard b.count >= 0x77 else { return nil }
            var le = true
            var major = Int(b.le16(0x1c))
            if major == 0 || major > 4 { le = false; major = Int(b.be16(0x1c)) }
            guard major == 2 || major == 3 else { return nil }
            self.major = major
            littleEndian = le
            inodes = b.u32(0x04, littleEndian: le)
            blockLog = b.u16(0x22, littleEndian: le)
            flags = b[0x24]
            uids = Int(b[0x25])
            guids = Int(b[0x26])
            mkfsTime = b.u32(0x27, littleEndian: le)
            root = b.u64(0x2b, littleEndian: le)
            blockSize = b.u32(0x33, littleEndian: le)
            fragmentCount = b.u32(0x37, littleEndian: le)
            if major == 3 {
                bytesUsed = b.u64(0x3f, littleEndian: le)
                uidStart = b.u64(0x47, littleEndian: le)
                guidStart = b.u64(0x4f, littleEndian: le)
                inodeTable = b.u64(0x57, littleEndian: le)
                directoryTable = b.u64(0x5f, littleEndian: le)
                fragmentTable = b.u64(0x67, littleEndian: le)
            } else {
                bytesUsed = UInt64(b.u32(0x08, littleEndian: le))
                uidStart = UInt64(b.u32(0x0c, littleEndian: le))
                guidStart = UInt64(b.u32(0x10, littleEndian: le))
                inodeTable = UInt64(b.u32(0x14, littleEndian: le))
                directoryTable = UInt64(b.u32(0x18, littleEndian: le))
                fragmentTable = UInt64(b.u32(0x3b, littleEndian: le))
            }
            guard blockLog >= 12, blockLog <= 20, blockSize == 1 << UInt32(blockLog),
                  inodeTable < directoryTable, directoryTable <= bytesUsed, uidStart <= bytesUsed, bytesUsed > 0x77 else { return nil }
        }
    }

    public init(source: ByteSource, name: String, limits: ScanLimits) throws(ImageError) {
        displayName = name
        let head = try source.read(at: 0, count: 0x77)
        guard let sb = Superblock(head) else {
            throw ImageError(.corrupt, source.file.name, "invalid squashfs 2.x/3.x superblock", offset: source.base)
        }
        bytesUsed = sb.bytesUsed
        let blockSize = Int(sb.blockSize)
        let le = sb.littleEndian
        let magic = String(decoding: head[0..<4], as: UTF8.self)
        baseDetails = ["version": "\(sb.major).\(head.u16(0x1e, littleEndian: le))", "endianness": le ? "little" : "big",
                       "magic": magic, "blockSize": String(sb.blockSize), "inodes": String(sb.inodes)]
        // Mainline 2.x/3.x is zlib; vendor magics and AVM's minor 76 mark LZMA.
        let vendorLZMA = !["hsqs", "sqsh"].contains(magic) || head.u16(0x1e, littleEndian: le) == 76
        let decoder = SquashfsBlockDecoder(zlibFirst: !vendorLZMA, blockSize: blockSize)
        self.decoder = decoder

        // The ends of the tables: the next table start after each, or the image's end.
        let starts = [sb.inodeTable, sb.directoryTable, sb.fragmentTable, sb.uidStart, sb.guidStart, sb.bytesUsed]
            .filter { $0 > 0 && $0 <= sb.bytesUsed }
        func end(after start: UInt64) -> UInt64 { starts.filter { $0 > start }.min() ?? sb.bytesUsed }
        let limit = UInt64(limits.maxExtractedBytes)
        let inodeTable = try LegacySquashfsTree.readMetadata(source, from: sb.inodeTable, to: end(after: sb.inodeTable),
                                                             check: sb.check, le: le, decoder: decoder, limit: limit)
        let directoryTable = try LegacySquashfsTree.readMetadata(source, from: sb.directoryTable, to: end(after: sb.directoryTable),
                                                                 check: sb.check, le: le, decoder: decoder, limit: limit)
        // uid/gid tables: raw 32-bit arrays.
        let uidBytes = try source.read(at: sb.uidStart, count: sb.uids * 4)
        let uidTable = (0..<(uidBytes.count / 4)).map { uidBytes.u32($0 * 4, littleEndian: le) }
        let gidBytes = sb.guids > 0 ? try source.read(at: sb.guidStart, count: sb.guids * 4) : []
        let gidTable = (0..<(gidBytes.count / 4)).map { gidBytes.u32($0 * 4, littleEndian: le) }
        // Fragment table: an index of absolute offsets (64-bit in 3.x, 32-bit in 2.x) of
        // metadata blocks holding 16-byte (3.x) or 8-byte (2.x) entries.
        var fragments: [(start: UInt64, size: UInt32)] = []
        if sb.fragmentCount > 0, sb.fragmentCount < 1 << 24 {
            let entrySize = sb.major == 3 ? 16 : 8, pointerSize = sb.major == 3 ? 8 : 4
            let blocks = (Int(sb.fragmentCount) * entrySize + 8191) / 8192
            let index = try source.read(at: sb.fragmentTable, count: blocks * pointerSize)
            var entries: [UInt8] = []
            for i in 0..<(index.count / pointerSize) {
                let at = sb.major == 3 ? index.u64(i * 8, littleEndian: le) : UInt64(index.u32(i * 4, littleEndian: le))
                let block = try LegacySquashfsTree.readMetadata(source, from: at, to: LegacySquashfsTree.singleBlockEnd(at, check: true), check: sb.check, le: le,
                                                                decoder: decoder, limit: limit, single: true)
                entries += block.bytes
            }
            for i in 0..<min(Int(sb.fragmentCount), entries.count / entrySize) {
                let o = i * entrySize
                if sb.major == 3 {
                    fragments.append((entries.u64(o, littleEndian: le), entries.u32(o + 8, littleEndian: le)))
                } else {
                    fragments.append((UInt64(entries.u32(o, littleEndian: le)), entries.u32(o + 4, littleEndian: le)))
                }
            }
        }
        reader = SquashfsFileReader(source: source, codec: decoder, blockSize: blockSize, fragments: fragments)

        var files: [String: SquashfsFileReader.FileData] = [:]
        let parser = InodeParser(major: sb.major, le: le, table: inodeTable, uids: uidTable, gids: gidTable, mkfsTime: sb.mkfsTime)
        guard let root = parser.inode(at: sb.root), root.type == .directory else {
            throw ImageError(.corrupt, source.file.name, "the root inode cannot be read", offset: source.base + sb.inodeTable)
        }
        var builder = TreeBuilder(limits: limits, image: name, rootMode: root.mode, rootUID: root.uid, rootGID: root.gid)
        var pending: [(Inode, String, Int)] = [(root, "", 0)]
        var visited = Set<UInt64>([sb.root])
        walk: while let (directory, path, depth) = pending.popLast() {
            guard let listing = directoryTable.slice(block: directory.directoryBlock, offset: directory.directoryOffset,
                                                     length: directory.listingLength) else {
                builder.error("image.corrupt", "directory listing out of bounds", path: path, offset: source.base + sb.directoryTable)
                continue
            }
            for (childName, reference) in parser.entries(listing) {
                guard let childPath = builder.childPath(path, childName) else { continue }
                guard let inode = parser.inode(at: reference) else {
                    builder.error("image.corrupt", "inode cannot be read", path: childPath, offset: source.base + sb.inodeTable)
                    continue
                }
                var entry = FileEntry(path: childPath, type: inode.type, mode: inode.mode, uid: inode.uid, gid: inode.gid,
                                      size: inode.type == .file ? inode.fileSize : 0, linkTarget: inode.linkTarget, mtime: Int64(inode.mtime))
                if inode.type == .symlink { entry.size = UInt64(inode.linkTarget?.utf8.count ?? 0) }
                if inode.type == .file {
                    guard let blocks = parser.blockList(inode, blockSize: UInt64(sb.blockSize)) else {
                        builder.error("image.corrupt", "block list out of bounds", path: childPath, offset: source.base + sb.inodeTable)
                        continue
                    }
                    files[childPath] = SquashfsFileReader.FileData(start: inode.start, size: inode.fileSize, fragment: inode.fragment,
                                                fragmentOffset: inode.fragmentOffset, blocks: blocks)
                }
                if inode.type == .directory {
                    if visited.insert(reference).inserted {
                        if builder.mayDescend(childPath, depth: depth + 1) { pending.append((inode, childPath, depth + 1)) }
                    } else {
                        builder.error("image.corrupt", "directory loop", path: childPath)
                    }
                }
                guard builder.add(entry) else { break walk }
            }
        }
        index = builder.index()
        indexDiagnostics = builder.diagnostics
        self.files = files
    }

    /// A metadata table decoded: the bytes, and where each on-disk block's output starts.
    struct Metadata {
        var bytes: [UInt8]
        var starts: [UInt64: Int]

        func slice(block: UInt64, offset: Int, length: Int) -> ArraySlice<UInt8>? {
            guard let start = starts[block], length >= 0, start + offset + length <= bytes.count else { return nil }
            return bytes[(start + offset)..<(start + offset + length)]
        }
    }

    /// Where one metadata block starting at `start` ends at most (8 KiB of data and its header):
    /// the `to` of a `single` read. Saturates: a pointer read from the image may be anything.
    static func singleBlockEnd(_ start: UInt64, check: Bool) -> UInt64 {
        let (end, overflow) = start.addingReportingOverflow(8192 + (check ? 3 : 2))
        return overflow ? .max : end
    }

    static func readMetadata(_ source: ByteSource, from start: UInt64, to end: UInt64, check: Bool, le: Bool,
                             decoder: any SquashfsBlockCodec, limit: UInt64, single: Bool = false) throws(ImageError) -> Metadata {
        // Table pointers come from the image: one past its end is corrupt (and would overflow
        // the block arithmetic below).
        guard start <= source.size else {
            throw ImageError(.corrupt, source.file.name,
                             "metadata block pointer \(start) lies past the end of the filesystem (\(source.size) bytes)", offset: source.base)
        }
        var out = Metadata(bytes: [], starts: [:])
        var offset = start
        let headerSize: UInt64 = check ? 3 : 2
        while offset + headerSize <= end {
            let header = try source.read(at: offset, count: Int(headerSize))
            guard header.count == Int(headerSize) else { break }
            let word = header.u16(0, littleEndian: le)
            let stored = word & 0x8000 != 0
            let length = UInt64(word & 0x7fff == 0 ? 0x8000 : word & 0x7fff)
            guard offset + headerSize + length <= source.size else {
                throw ImageError(.corrupt, source.file.name, "metadata block out of bounds (truncated image?)", offset: source.base + offset)
            }
            let payload = try source.read(at: offset + headerSize, count: Int(length))
            out.starts[offset - start] = out.bytes.count
            if stored {
                out.bytes += payload
            } else {
                guard let decoded = payload.withUnsafeBytes({ decoder.decode($0, capacity: 8192, exact: false) }) else {
                    throw ImageError(.corrupt, source.file.name, "a metadata block does not decompress with zlib or any known LZMA variant",
                                     offset: source.base + offset)
                }
                out.bytes += decoded
            }
            guard UInt64(out.bytes.count) <= limit else {
                throw ImageError(.limit, source.file.name, "metadata larger than the decompressed-size limit", offset: source.base + offset)
            }
            offset += headerSize + length
            if single { break }
        }
        return out
    }

    struct Inode {
        var type: FileType
        var mode: UInt32
        var uid: UInt32
        var gid: UInt32
        var mtime: UInt32
        var fileSize: UInt64 = 0
        var start: UInt64 = 0
        var fragment: UInt32 = 0xffff_ffff
        var fragmentOffset: UInt32 = 0
        var linkTarget: String?
        var directoryBlock: UInt64 = 0
        var directoryOffset: Int = 0
        var listingLength: Int = 0
        /// Where a regular file's block list starts in the inode table's bytes.
        var blockListAt: Int = 0
    }

    /// Reads 2.x and 3.x inodes and directory listings out of the decoded tables.
    struct InodeParser {
        let major: Int
        let le: Bool
        let table: Metadata
        let uids: [UInt32]
        let gids: [UInt32]
        let mkfsTime: UInt32

        /// `(bits, count)` fields of a packed little- or big-endian word.
        func type(of raw: UInt16) -> (Int, UInt32) {
            le ? (Int(raw & 0xf), UInt32(raw >> 4)) : (Int(raw >> 12), UInt32(raw & 0xfff))
        }

        func inode(at reference: UInt64) -> Inode? {
            guard let base = table.starts[reference >> 16] else { return nil }
            let at = base + Int(reference & 0xffff)
            guard at + 16 <= table.bytes.count || at + 4 <= table.bytes.count else { return nil }
            let b = Array(table.bytes[at..<min(table.bytes.count, at + 64)])
            func u8(_ i: Int) -> Int { i < b.count ? Int(b[i]) : 0 }
            let (kind, permissions) = type(of: b.u16(0, littleEndian: le))
            let uidIndex = u8(2), gidIndex = u8(3)
            guard uidIndex < uids.count, gidIndex == 0xff || gidIndex < gids.count else { return nil }
            let uid = uids[uidIndex]
            let gid = gidIndex == 0xff ? uid : gids[gidIndex]
            var inode = Inode(type: .file, mode: permissions & 0o7777, uid: uid, gid: gid, mtime: mkfsTime)
            let v3 = major == 3
            if v3 { inode.mtime = b.u32(4, littleEndian: le) }
            switch kind {
            case 1, 8:
                inode.type = .directory
                if kind == 1 {
                    let packed = b.u32(v3 ? 16 : 4, littleEndian: le)
                    let size = le ? Int(packed & 0x7ffff) : Int(packed >> 13)
                    inode.directoryOffset = le ? Int(packed >> 19) : Int(packed & 0x1fff)
                    inode.listingLength = v3 ? size - 3 : size
                    if v3 {
                        inode.directoryBlock = UInt64(b.u32(20, littleEndian: le))
                    } else {
                        inode.mtime = b.u32(8, littleEndian: le)
                        let word = b.u32(11, littleEndian: le)
                        inode.directoryBlock = UInt64(le ? word >> 8 : word & 0xff_ffff)
                    }
                } else {
                    // ldir: a 40-bit field (size 27 bits, offset 13 bits).
                    let at40 = v3 ? 16 : 4
                    var x: UInt64 = 0
                    for i in 0..<5 { x |= UInt64(u8(at40 + i)) << (le ? 8 * UInt64(i) : 8 * UInt64(4 - i)) }
                    let size = le ? Int(x & 0x7ff_ffff) : Int(x >> 13)
                    inode.directoryOffset = le ? Int(x >> 27) : Int(x & 0x1fff)
                    inode.listingLength = v3 ? size - 3 : size
                    if v3 {
                        inode.directoryBlock = UInt64(b.u32(21, littleEndian: le))
                    } else {
                        inode.mtime = b.u32(9, littleEndian: le)
                        let word = b.u32(12, littleEndian: le)
                        inode.directoryBlock = UInt64(le ? word >> 8 : word & 0xff_ffff)
                    }
                }
            case 2, 9:
                let long = kind == 9
                let (startAt, fragAt, offAt, sizeAt, listAt): (Int, Int, Int, Int, Int) =
                    v3 ? (long ? (16, 24, 28, 32, 40) : (12, 20, 24, 28, 32)) : (8, 12, 16, 20, 24)
                if !v3 { inode.mtime = b.u32(4, littleEndian: le) }
                inode.start = v3 ? b.u64(startAt, littleEndian: le) : UInt64(b.u32(startAt, littleEndian: le))
                inode.fragment = b.u32(fragAt, littleEndian: le)
                inode.fragmentOffset = b.u32(offAt, littleEndian: le)
                inode.fileSize = long ? b.u64(sizeAt, littleEndian: le) : UInt64(b.u32(sizeAt, littleEndian: le))
                inode.type = .file
                inode.blockListAt = at + listAt
            case 3:
                inode.type = .symlink
                let (sizeAt, targetAt) = v3 ? (16, 18) : (4, 6)
                let length = Int(b.u16(sizeAt, littleEndian: le))
                guard at + targetAt + length <= table.bytes.count else { return nil }
                inode.linkTarget = String(decoding: table.bytes[(at + targetAt)..<(at + targetAt + length)], as: UTF8.self)
                inode.mode = 0o777
            case 4: inode.type = .blockDevice
            case 5: inode.type = .charDevice
            case 6: inode.type = .fifo
            case 7: inode.type = .socket
            default: return nil
            }
            return inode
        }

        /// The block list of a regular-file inode parsed by `inode(at:)`.
        func blockList(_ inode: Inode, blockSize: UInt64) -> [UInt32]? {
            let count = inode.fragment == 0xffff_ffff ? (inode.fileSize + blockSize - 1) / blockSize : inode.fileSize / blockSize
            let at = inode.blockListAt
            guard count < 1 << 24, at + Int(count) * 4 <= table.bytes.count else { return nil }
            return (0..<Int(count)).map { table.bytes.u32(at + $0 * 4, littleEndian: le) }
        }

        /// (name, inode reference) of every entry of a directory listing.
        func entries(_ listing: ArraySlice<UInt8>) -> [(String, UInt64)] {
            let b = Array(listing)
            var result: [(String, UInt64)] = []
            var i = 0
            let v3 = major == 3
            while i + (v3 ? 9 : 4) <= b.count {
                let count: Int, block: UInt64
                if v3 {
                    count = Int(b[i]) + 1
                    block = UInt64(b.u32(i + 1, littleEndian: le))
                    i += 9
                } else {
                    let word = b.u32(i, littleEndian: le)
                    count = Int(le ? word & 0xff : word >> 24) + 1
                    block = UInt64(le ? word >> 8 : word & 0xff_ffff)
                    i += 4
                }
                for _ in 0..<count {
                    let fixed = v3 ? 5 : 3
                    guard i + fixed <= b.count else { return result }
                    let word = b.u16(i, littleEndian: le)
                    let offset = le ? UInt64(word & 0x1fff) : UInt64(word >> 3)
                    let nameLength = Int(b[i + 2]) + 1
                    guard i + fixed + nameLength <= b.count else { return result }
                    result.append((String(decoding: b[(i + fixed)..<(i + fixed + nameLength)], as: UTF8.self), block << 16 | offset))
                    i += fixed + nameLength
                }
            }
            return result
        }
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
