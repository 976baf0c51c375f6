import RBCore

/// YAFFS2 NAND images (Aleph One's `yaffs_guts.h` and `yaffs_packedtags2.h`): a sequence of
/// pages, each a data chunk and (usually) a spare area holding the packed tags — block sequence
/// number, object id, chunk id (0: the object header), byte count — in the writer's byte order.
///
/// - Geometry (chunk and spare size, tags at spare offset 0 or 2, or "inband" in the last 16
///   bytes of the chunk) is detected by scoring the first pages of every candidate layout.
/// - A dump without its spare area keeps no tags: objects are then numbered in header order as
///   mkyaffs2image numbers them (from 257), each header followed by its data chunks; this is
///   stated in a warning.
/// - Log semantics: the newest (sequence number, then page) header of each object and copy of
///   each data chunk wins; objects moved to the unlinked/deleted pseudo-directories or shadowed
///   by a rename are gone; kernel-written headers (extra header info in the tags) are read too.
/// - The 512-byte object header: type, parent, name, mode, uid, gid, times, size, hard-link
///   target, symlink alias, rdev.
public final class YAFFS2Tree: FileTree {
    public let displayName: String
    public let hasMetadata = true
    public let index: PathIndex
    public let indexDiagnostics: [Diagnostic]
    public let details: [String: String]
    /// Bytes of the image the pages cover.
    public let scannedSize: UInt64
    private let source: ByteSource
    private let layout: Layout
    /// The newest copy of every data chunk, sorted by object then chunk number; each object's
    /// chunks are one range of it.
    private let chunks: [Chunk]
    private let chunkRange: [UInt32: Range<Int>]
    private let objectOf: [String: UInt32]

    struct Chunk {
        var object: UInt32
        var number: UInt32
        var sequence: UInt32
        var bytes: UInt32
        var page: UInt64
    }

    struct Layout: Hashable, CustomStringConvertible {
        var chunk: Int
        var spare: Int
        /// Where the tags sit in the spare area; nil for inband tags or no tags at all.
        var tagOffset: Int?
        var inband: Bool
        var littleEndian: Bool
        /// The tags' byte order: some converting tools swap the headers but not the tags.
        var tagsLittleEndian: Bool
        var page: Int { chunk + spare }
        var dataBytes: Int { inband ? chunk - 16 : chunk }
        var hasTags: Bool { tagOffset != nil || inband }

        var description: String {
            "\(chunk)+\(spare)" + (inband ? " inband tags" : tagOffset.map { " tags@\($0)" } ?? " no tags") + (littleEndian ? " LE" : " BE")
                + (tagsLittleEndian == littleEndian ? "" : tagsLittleEndian ? " (tags LE)" : " (tags BE)")
        }
    }

    struct Tags {
        var sequence: UInt32
        var object: UInt32
        var chunk: UInt32
        var bytes: UInt32
        var isHeader: Bool
    }

    static func tags(_ bytes: UnsafeRawBufferPointer, at offset: Int, littleEndian: Bool) -> Tags? {
        guard offset >= 0, offset + 16 <= bytes.count else { return nil }
        func word(_ at: Int) -> UInt32 {
            let raw = bytes.loadUnaligned(fromByteOffset: offset + at, as: UInt32.self)
            return littleEndian ? UInt32(littleEndian: raw) : UInt32(bigEndian: raw)
        }
        return tags(sequence: word(0), object: word(4), chunk: word(8), count: word(12))
    }

    static func tags(_ bytes: [UInt8], at offset: Int, littleEndian: Bool) -> Tags? {
        bytes.withUnsafeBytes { tags($0, at: offset, littleEndian: littleEndian) }
    }

    static func tags(sequence: UInt32, object: UInt32, chunk: UInt32, count: UInt32) -> Tags? {
        var object = object, chunk = chunk
        guard sequence >= 0x1000, sequence <= 0xefff_ff00 else { return nil }
        var header = chunk == 0
        if chunk & 0x8000_0000 != 0 {   // kernel-written header: extra info packed in the tags
            header = true
            chunk = 0
            object &= 0x0fff_ffff
        }
        guard object > 0, object <= 0x3ffff else { return nil }
        return Tags(sequence: sequence, object: object, chunk: chunk, bytes: count, isHeader: header)
    }

    /// A plausible object header at `offset` of `bytes`: type 1-5, the unused checksum 0xffff.
    static func plausibleHeader(_ bytes: [UInt8], at offset: Int = 0, littleEndian: Bool) -> Bool {
        guard offset + 512 <= bytes.count else { return false }
        let type = bytes.u32(offset, littleEndian: littleEndian)
        return (1...5).contains(type) && bytes[offset + 8] == 0xff && bytes[offset + 9] == 0xff
    }

    static let candidates: [(Int, Int)] = [(2048, 64), (4096, 128), (4096, 224), (4096, 218), (8192, 256), (8192, 448),
                                           (16384, 512), (1024, 32), (512, 16)]

    /// Scores every candidate layout on the first pages; nil when none fits.
    static func detect(_ source: ByteSource, littleEndian: Bool) throws(ImageError) -> Layout? {
        // The first 32 pages of the largest geometry at most.
        let probe = try source.read(at: 0, count: 32 * (16384 + 512))
        var best: (Layout, Int)?
        func consider(_ layout: Layout) {
            var score = 0
            var pages = 0
            var position = 0
            while position + layout.page <= probe.count, pages < 32 {
                defer { position += layout.page; pages += 1 }
                let tagAt = layout.inband ? position + layout.chunk - 16 : position + layout.chunk + (layout.tagOffset ?? 0)
                // An erased page: its first data bytes and its tags all 0xff.
                if probe.u32(position, littleEndian: true) == 0xffff_ffff, probe.u32(tagAt, littleEndian: true) == 0xffff_ffff,
                   probe.u32(tagAt + 4, littleEndian: true) == 0xffff_ffff { continue }
                if layout.hasTags {
                    guard let tags = tags(probe, at: tagAt, littleEndian: layout.tagsLittleEndian) else { score -= 2; continue }
                    if tags.isHeader {
                        score += plausibleHeader(probe, at: position, littleEndian: littleEndian) ? 3 : -3
                    } else {
                        score += Int(tags.bytes) <= layout.dataBytes ? 1 : -2
                    }
                } else if plausibleHeader(probe, at: position, littleEndian: littleEndian) {
                    score += 1
                }
            }
            if score > (best?.1 ?? 2) { best = (layout, score) }
        }
        for tagsLE in [littleEndian, !littleEndian] {
            for (chunk, spare) in candidates {
                for offset in [0, 2] {
                    consider(Layout(chunk: chunk, spare: spare, tagOffset: offset, inband: false, littleEndian: littleEndian, tagsLittleEndian: tagsLE))
                }
            }
            for chunk in [2048, 4096, 8192, 16384] {
                consider(Layout(chunk: chunk, spare: 0, tagOffset: nil, inband: true, littleEndian: littleEndian, tagsLittleEndian: tagsLE))
            }
        }
        if let found = best { return found.0 }
        // No tags anywhere: a dump without its spare area (headers found at chunk boundaries).
        for chunk in [2048, 4096, 8192, 16384, 512] {
            consider(Layout(chunk: chunk, spare: 0, tagOffset: nil, inband: false, littleEndian: littleEndian, tagsLittleEndian: littleEndian))
        }
        return best?.0
    }

    struct Header {
        var type: UInt32
        var parent: UInt32
        var name: String
        var mode: UInt32
        var uid: UInt32
        var gid: UInt32
        var mtime: UInt32
        var size: UInt64
        var equiv: UInt32
        var alias: String
        var shadows: UInt32
        var sequence: UInt32
        var page: UInt64
    }

    /// `layout`: when the caller detected it already.
    public convenience init(source: ByteSource, name: String, littleEndian: Bool, limits: ScanLimits) throws(ImageError) {
        try self.init(source: source, name: name, littleEndian: littleEndian, layout: nil, limits: limits)
    }

    init(source: ByteSource, name: String, littleEndian: Bool, layout known: Layout?, limits: ScanLimits) throws(ImageError) {
        displayName = name
        self.source = source
        let detected: Layout?
        if let known { detected = known } else { detected = try YAFFS2Tree.detect(source, littleEndian: littleEndian) }
        guard let layout = detected else {
            throw ImageError(.corrupt, source.file.name, "no YAFFS2 page layout fits (tried 512-16384 byte chunks, spare areas, inband tags)",
                             offset: source.base)
        }
        self.layout = layout
        var builder = TreeBuilder(limits: limits, image: name)
        if !layout.hasTags {
            builder.warn("image.yaffs2-no-tags", "YAFFS2 image without spare area (no tags): objects numbered in header order as mkyaffs2image numbers them; deleted or rewritten objects cannot be told apart")
        }
        var headers: [UInt32: Header] = [:]
        var found: [Chunk] = []
        let pageSize = UInt64(layout.page)
        let pageCount = source.size / pageSize
        var end: UInt64 = 0

        /// One page with its tags (or made-up tags for a tagless dump) and, for a header, its
        /// first 512 bytes; false when the entry limit stops the index.
        func take(_ page: UInt64, _ tags: Tags, _ data: [UInt8]) -> Bool {
            end = (page + 1) * pageSize
            if tags.isHeader {
                guard data.count == 512, YAFFS2Tree.plausibleHeader(data, littleEndian: littleEndian) else { return true }
                let header = YAFFS2Tree.header(data, littleEndian: littleEndian, sequence: tags.sequence, page: page)
                if let known = headers[tags.object], known.sequence > header.sequence { return true }
                headers[tags.object] = header
                guard headers.count <= limits.maxEntries else {
                    builder.error("image.entry-limit", "more than \(limits.maxEntries) YAFFS2 objects; the rest is not indexed")
                    return false
                }
            } else if tags.chunk > 0 {
                found.append(Chunk(object: tags.object, number: tags.chunk, sequence: tags.sequence,
                                   bytes: min(tags.bytes, UInt32(layout.dataBytes)), page: page))
            }
            return true
        }

        if layout.hasTags {
            // Only the tags of every page are read (gathered from the mapped image in batches),
            // the first bytes of a page whose tags are erased, and the first 512 bytes of each
            // object header: data chunks are read when a file is.
            let tagPosition = layout.inband ? layout.chunk - 16 : layout.chunk + (layout.tagOffset ?? 0)
            let batch = 4096
            let tagBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: batch * 16, alignment: 16)
            defer { tagBuffer.deallocate() }
            let view = UnsafeRawBufferPointer(tagBuffer)
            var first: UInt64 = 0
            batches: while first < pageCount {
                let count = Int(min(UInt64(batch), pageCount - first))
                try source.gather(at: first * pageSize + UInt64(tagPosition), stride: layout.page, length: 16, count: count, into: tagBuffer)
                for k in 0..<count {
                    let page = first + UInt64(k)
                    let at = page * pageSize
                    if view[(k * 16)..<(k * 16 + 16)].allSatisfy({ $0 == 0xff }) {
                        // Erased flash: tags and the first data bytes all 0xff.
                        if try source.read(at: at, count: 4) == [0xff, 0xff, 0xff, 0xff] { end = at + pageSize }
                        continue
                    }
                    guard let tags = YAFFS2Tree.tags(view, at: k * 16, littleEndian: layout.tagsLittleEndian) else { continue }
                    let data = tags.isHeader ? try source.read(at: at, count: min(512, layout.chunk)) : []
                    guard take(page, tags, data) else { break batches }
                }
                first += UInt64(count)
            }
        } else {
            // No tags: every page is looked at (a header, or the next chunk of the object being
            // filled), through one window buffer refilled in place.
            var nextObject: UInt32 = 257
            var current: (object: UInt32, next: UInt32, remaining: UInt64)?
            let window = UnsafeMutableRawBufferPointer.allocate(byteCount: max(Int(pageSize), 1 << 20), alignment: 16)
            defer { window.deallocate() }
            let view = UnsafeRawBufferPointer(window)
            var windowStart: UInt64 = 0
            var windowCount = 0
            var page: UInt64 = 0
            while page < pageCount {
                let at = page * pageSize
                defer { page += 1 }
                if at < windowStart || at + pageSize > windowStart + UInt64(windowCount) {
                    windowStart = at
                    windowCount = try source.read(at: at, into: window)
                }
                let offset = Int(at - windowStart)
                let head = Array(view[offset..<(offset + min(512, layout.chunk))])
                if view[offset..<(offset + Int(pageSize))].allSatisfy({ $0 == 0xff }) {
                    end = at + pageSize
                    continue
                }
                let tags: Tags
                if YAFFS2Tree.plausibleHeader(head, littleEndian: littleEndian) {
                    tags = Tags(sequence: 0x1000, object: nextObject, chunk: 0, bytes: 0xffff, isHeader: true)
                    let header = YAFFS2Tree.header(head, littleEndian: littleEndian, sequence: 0x1000, page: page)
                    current = (nextObject, 1, header.type == 1 ? header.size : 0)
                    nextObject += 1
                } else if let filling = current, filling.remaining > 0 {
                    let count = min(UInt64(layout.dataBytes), filling.remaining)
                    tags = Tags(sequence: 0x1000, object: filling.object, chunk: filling.next, bytes: UInt32(count), isHeader: false)
                    current = (filling.object, filling.next + 1, filling.remaining - count)
                } else {
                    break   // tagless: the image ends at the first page that is neither
                }
                guard take(page, tags, tags.isHeader ? head : []) else { break }
            }
        }
        // The newest copy of each chunk wins (sequence number, then page): sorted, the last of
        // each (object, chunk) run.
        found.sort { ($0.object, $0.number, $0.sequence, $0.page) < ($1.object, $1.number, $1.sequence, $1.page) }
        var newest: [Chunk] = []
        newest.reserveCapacity(found.count)
        var chunkRange: [UInt32: Range<Int>] = [:]
        for (i, chunk) in found.enumerated() where i + 1 == found.count || (found[i + 1].object, found[i + 1].number) != (chunk.object, chunk.number) {
            if let last = newest.last, last.object == chunk.object {
                chunkRange[chunk.object] = chunkRange[chunk.object]!.lowerBound..<(newest.count + 1)
            } else {
                chunkRange[chunk.object] = newest.count..<(newest.count + 1)
            }
            newest.append(chunk)
        }
        scannedSize = end
        // Shadowed objects (replaced by a rename) are gone.
        for header in headers.values where header.shadows > 0 && header.shadows != 0xffff_ffff {
            headers[header.shadows] = nil
        }
        var children: [UInt32: [(UInt32, Header)]] = [:]
        for (object, header) in headers where object != 1 && header.parent != 3 && header.parent != 4 {
            children[header.parent, default: []].append((object, header))
        }
        var objectOf: [String: UInt32] = [:]
        var pending: [(UInt32, String, Int)] = [(1, "", 0)]
        var visited = Set<UInt32>([1])
        var links: [(String, UInt32)] = []
        walk: while let (directory, path, depth) = pending.popLast() {
            for (object, header) in (children[directory] ?? []).sorted(by: { $0.1.name < $1.1.name }) {
                guard let childPath = builder.childPath(path, header.name) else { continue }
                var entry = FileEntry(path: childPath, type: fileType(ofMode: header.mode), mode: header.mode & 0o7777,
                                      uid: header.uid, gid: header.gid, mtime: Int64(header.mtime))
                switch header.type {
                case 1:
                    entry.type = .file
                    entry.size = header.size
                    objectOf[childPath] = object
                case 2:
                    entry.type = .symlink
                    entry.linkTarget = header.alias
                    entry.size = UInt64(header.alias.utf8.count)
                case 3:
                    entry.type = .directory
                    if visited.insert(object).inserted, builder.mayDescend(childPath, depth: depth + 1) {
                        pending.append((object, childPath, depth + 1))
                    }
                case 4:
                    links.append((childPath, header.equiv))
                    continue
                default:
                    break
                }
                guard builder.add(entry) else { break walk }
            }
        }
        // Hard links: the target object's metadata and data under another name.
        for (path, target) in links {
            guard let header = headers[target], header.type == 1 else {
                builder.warn("image.corrupt", "hard link to object \(target), which is not a regular file", path: path)
                continue
            }
            objectOf[path] = target
            builder.add(FileEntry(path: path, type: .file, mode: header.mode & 0o7777, uid: header.uid, gid: header.gid,
                                  size: header.size, mtime: Int64(header.mtime)))
        }
        index = builder.index()
        indexDiagnostics = builder.diagnostics
        self.objectOf = objectOf
        self.chunks = newest
        self.chunkRange = chunkRange
        details = ["layout": layout.description, "objects": String(headers.count)]
    }

    static func header(_ data: [UInt8], littleEndian le: Bool, sequence: UInt32, page: UInt64) -> Header {
        func text(_ range: Range<Int>) -> String { String(decoding: data[range].prefix { $0 != 0 }, as: UTF8.self) }
        let low = UInt64(data.u32(292, littleEndian: le)), high = data.u32(496, littleEndian: le)
        let size = high == 0xffff_ffff || high == 0 ? (low == 0xffff_ffff ? 0 : low) : UInt64(high) << 32 | low
        return Header(type: data.u32(0, littleEndian: le), parent: data.u32(4, littleEndian: le), name: text(10..<266),
                      mode: data.u32(268, littleEndian: le), uid: data.u32(272, littleEndian: le), gid: data.u32(276, littleEndian: le),
                      mtime: data.u32(284, littleEndian: le), size: size, equiv: data.u32(296, littleEndian: le), alias: text(300..<460),
                      shadows: data.u32(504, littleEndian: le), sequence: sequence, page: page)
    }

    /// The chunks of the regular file `entry` (sorted by chunk number).
    private func pieces(of entry: FileEntry) throws -> ArraySlice<Chunk> {
        guard entry.type == .file, let object = objectOf[entry.path] else {
            throw FileTreeError(.notRegularFile, path: entry.path, "not a regular file in the image")
        }
        return chunkRange[object].map { chunks[$0] } ?? []
    }

    /// Writes the file bytes `start..<start + buffer.count` into `buffer`: each chunk's data
    /// copied from its page, missing chunks (holes) as zeros. `from` is the index in `pieces` to
    /// search from (the pieces before it end before `start`); returns where the next call may start.
    private func fill(_ buffer: UnsafeMutableRawBufferPointer, at start: Int, pieces: ArraySlice<Chunk>, from: Int) throws(ImageError) -> Int {
        let per = layout.dataBytes
        let end = start + buffer.count
        var i = from
        while i < pieces.endIndex, Int(pieces[i].number) * per <= start { i += 1 }
        let resume = i
        var written = start   // file offset up to which `buffer` holds its bytes
        while i < pieces.endIndex {
            let piece = pieces[i]
            let pieceStart = Int(piece.number - 1) * per
            guard pieceStart < end else { break }
            let from = max(start, pieceStart), to = min(end, pieceStart + Int(piece.bytes))
            if from < to {
                if written < from { buffer.baseAddress!.advanced(by: written - start).initializeMemory(as: UInt8.self, repeating: 0, count: from - written) }
                let target = UnsafeMutableRawBufferPointer(rebasing: buffer[(from - start)..<(to - start)])
                let got = try source.read(at: piece.page * UInt64(layout.page) + UInt64(from - pieceStart), into: target)
                if got < target.count { target.baseAddress!.advanced(by: got).initializeMemory(as: UInt8.self, repeating: 0, count: target.count - got) }
                written = to
            }
            i += 1
        }
        if written < end { buffer.baseAddress!.advanced(by: written - start).initializeMemory(as: UInt8.self, repeating: 0, count: end - written) }
        return resume
    }

    public func read(_ entry: FileEntry, limit: Int) throws -> FileContent {
        let pieces = try pieces(of: entry)
        let wanted = Int(min(UInt64(limit), entry.size))
        var failure: ImageError?
        let out = [UInt8](unsafeUninitializedCapacity: wanted) { buffer, filled in
            filled = wanted
            do throws(ImageError) {
                _ = try fill(UnsafeMutableRawBufferPointer(buffer), at: 0, pieces: pieces, from: pieces.startIndex)
            } catch {
                failure = error
                UnsafeMutableRawBufferPointer(buffer).initializeMemory(as: UInt8.self, repeating: 0)
            }
        }
        if let failure { throw failure }
        return FileContent(bytes: out, truncated: entry.size > UInt64(limit))
    }

    /// Streams through one buffer of `overlap + chunk` bytes filled straight from the image: no
    /// copy of the whole file is ever made.
    public func stream(_ entry: FileEntry, limit: Int, chunk: Int, overlap: Int,
                       _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Bool) throws {
        precondition(chunk > 0 && overlap >= 0)
        let pieces = try pieces(of: entry)
        let total = Int(min(UInt64(limit), entry.size))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: overlap + chunk, alignment: 16)
        defer { buffer.deallocate() }
        var kept = 0       // bytes carried over from the previous piece
        var position = 0   // bytes of the file produced so far
        var next = pieces.startIndex
        while position < total {
            let count = min(chunk, total - position)
            next = try fill(UnsafeMutableRawBufferPointer(rebasing: buffer[kept..<(kept + count)]), at: position, pieces: pieces, from: next)
            position += count
            let filled = kept + count
            let piece = UnsafeBufferPointer(start: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), count: filled)
            guard try body(piece, position - filled) else { return }
            kept = min(overlap, filled)
            if kept > 0 { buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + (filled - kept), byteCount: kept) }
        }
    }
}

/// YAFFS2 in either byte order; recognised by an object header at a chunk start.
enum YAFFS2Format: ImageFormat {
    static let name = "YAFFS2"
    static let summary = "a YAFFS2 image"
    static let reader = "own reader (page/spare layout detected, inband tags, tagless dumps); checked against unyaffs"
    static let signatureSummary: String? = "an object header: type 1-5, parent 1, ff ff (either byte order)"
    /// An object header of type 1-5 whose parent is the root, with the unused checksum 0xffff.
    /// The big-endian form is matched from its type byte (offset 3): a magic starting with
    /// zero bytes would be tried at every zero of every blob.
    static let signatures: [FormatSignature] = (1...5).map { FormatSignature([UInt8($0), 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff]) }
        + (1...5).map { FormatSignature([UInt8($0), 0, 0, 0, 1, 0xff, 0xff], at: 3) }

    static func open(_ probe: FormatProbe, _ diagnostics: inout [Diagnostic]) -> ContainerNode? {
        let littleEndian = probe.signature < 5
        guard YAFFS2Tree.plausibleHeader(probe.head, littleEndian: littleEndian),
              let layout = try? YAFFS2Tree.detect(probe.region, littleEndian: littleEndian) else { return nil }
        var node = ContainerNode(format: "YAFFS2", offset: probe.offset, size: nil, details: ["endianness": littleEndian ? "little" : "big"])
        if probe.tooDeep(&node, &diagnostics) { return node }
        do {
            let tree = try YAFFS2Tree(source: probe.region, name: probe.treeName("YAFFS2"), littleEndian: littleEndian, layout: layout,
                                      limits: probe.limits)
            node.tree = tree
            node.size = tree.scannedSize
            node.details.merge(tree.details) { $1 }
            node.details["files"] = String(tree.index.entries.filter { $0.type == .file }.count)
        } catch {
            probe.fail(&node, "image." + error.code.rawValue, error.message, &diagnostics)
        }
        return node
    }
}
