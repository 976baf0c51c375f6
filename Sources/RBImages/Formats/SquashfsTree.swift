import CDeflate
import CSquashFS
import RBCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A squashfs 4.0 filesystem read in place through libsquashfs (gzip, xz, lzma, lz4, zstd; lzo
/// is refused with a precise diagnostic because Debian's libsquashfs is built without it).
///
/// The directory hierarchy is loaded once; file data is decompressed on demand by a small pool
/// of libsquashfs data readers (one per concurrent reader: they cache blocks and are not
/// thread-safe), all reading the image with `pread`.
public final class SquashfsTree: FileTree, @unchecked Sendable {
    // @unchecked: the C objects below are created in init and never mutated afterwards, except the
    // data readers, which are handed out one per caller through `pool` (a Mutex).
    public let displayName: String
    public let hasMetadata = true
    public let index: PathIndex
    public let indexDiagnostics: [Diagnostic]
    /// Compression, block size, inode count, bytes used: for `rbscan inspect`.
    public var details: [String: String] {
        var facts = baseDetails
        if superblock.compression_id == 2, let variant = lzma.variant { facts["compression"] = variant.description }
        return facts
    }
    private let baseDetails: [String: String]
    public let bytesUsed: UInt64

    private let source: ByteSource
    private var superblock: sqfs_super_t
    /// What reading each regular file needs, by position in `index` (`FileRecord.none` for
    /// the other entries), and the block sizes of all of them: 24 bytes a file, where keeping
    /// libsquashfs's inode took 80 and a pointer (17 MB for 200,000 files).
    private let records: [FileRecord]
    private let blockSizes: [UInt32]
    /// One data reader per thread: its block and fragment cache then follows that thread's
    /// path-ordered reads instead of being thrashed by readers taking turns.
    private let readers = Mutex<[UInt: DataReader]>([:])
    /// Decodes LZMA blocks in any vendor framing (remembers the one the image uses).
    private let lzma: SquashfsBlockDecoder

    /// Names of libsquashfs compressor IDs.
    static func compressionName(_ id: UInt16) -> String {
        switch id {
        case 1: "gzip"
        case 2: "lzma"
        case 3: "lzo"
        case 4: "xz"
        case 5: "lz4"
        case 6: "zstd"
        default: "unknown(\(id))"
        }
    }

    public init(source: ByteSource, name: String, limits: ScanLimits) throws(ImageError) {
        displayName = name
        self.source = source
        guard let file = rb_sqfs_region_create(source.file.fd, source.base, source.size) else {
            throw ImageError(.unreadable, name, "out of memory")
        }
        defer { rb_sqfs_destroy(file) }
        var superblock = sqfs_super_t()
        var rc = sqfs_super_read(&superblock, file)
        guard rc == 0 else {
            throw ImageError(.corrupt, source.file.name, "invalid squashfs superblock (\(SquashfsTree.errorText(rc)))", offset: source.base)
        }
        self.superblock = superblock
        bytesUsed = superblock.bytes_used
        let compression = SquashfsTree.compressionName(superblock.compression_id)
        baseDetails = ["compression": compression, "blockSize": String(superblock.block_size),
                   "inodes": String(superblock.inode_count), "version": "\(superblock.version_major).\(superblock.version_minor)"]
        lzma = SquashfsBlockDecoder(zlibFirst: false, blockSize: Int(superblock.block_size))
        let components = try SquashfsTree.openComponents(file: file, superblock: &self.superblock, name: source.file.name,
                                                         offset: source.base, compression: compression, lzma: lzma)
        defer { rb_sqfs_destroy(components.compressor) }
        guard let ids = sqfs_id_table_create(0) else { throw ImageError(.unreadable, name, "out of memory") }
        defer { rb_sqfs_destroy(UnsafeMutableRawPointer(ids)) }
        rc = sqfs_id_table_read(ids, file, &self.superblock, components.compressor)
        guard rc == 0 else {
            throw ImageError(.corrupt, source.file.name, "cannot read the squashfs id table (\(SquashfsTree.errorText(rc)))", offset: source.base)
        }
        guard let directories = sqfs_dir_reader_create(&self.superblock, components.compressor, file, 0) else {
            throw ImageError(.corrupt, source.file.name, "cannot create a squashfs directory reader", offset: source.base)
        }
        defer { rb_sqfs_destroy(UnsafeMutableRawPointer(directories)) }
        var root: UnsafeMutablePointer<sqfs_inode_generic_t>?
        rc = sqfs_dir_reader_get_root_inode(directories, &root)
        guard rc == 0, let root else {
            throw ImageError(.corrupt, source.file.name, "cannot read the squashfs directory tree (\(SquashfsTree.errorText(rc)))", offset: source.base)
        }
        var entries: [FileEntry] = []
        // Each entry's inode (regular files only), in step with `entries`.
        var records: [FileRecord] = []
        var diagnostics: [Diagnostic] = []
        if let note = components.optionsNote {
            diagnostics.append(Diagnostic(.warning, .check, code: "image.compressor-options", note,
                                          at: SourceLocation(file: source.file.name, offset: Int(source.base) + 96)))
        }
        // One directory listing at a time, not libsquashfs's whole tree at once (a node per
        // entry: some 20 MB for 200,000 entries, freed in the middle of what stays).
        var walker = Walker(reader: directories, ids: ids, limits: limits, image: source.file.name)
        let walked = walker.visit(root, path: "", depth: 0, ancestors: [])
        entries = walker.entries
        records = walker.records
        diagnostics += walker.diagnostics
        if walked != 0 {
            throw ImageError(.corrupt, source.file.name, "cannot read the squashfs directory tree (\(SquashfsTree.errorText(walked)))", offset: source.base)
        }
        // Path order for both (a path named twice by a malformed image keeps its walk order:
        // the index finds the last one, whose inode is read, as before).
        let order = entries.indices.sorted { PathOrder.precedes(entries[$0].path, entries[$1].path) }
        index = PathIndex(order.map { entries[$0] })
        self.records = order.map { records[$0] }
        blockSizes = walker.blockSizes
        indexDiagnostics = diagnostics
    }

    /// What reading the regular file `entry` of this tree needs.
    private func record(of entry: FileEntry) -> FileRecord? {
        guard let position = index.position(of: entry.path), records[position].isFile else { return nil }
        return records[position]
    }

    /// The inode libsquashfs's data reader reads `record`'s file by (free it with `free`).
    private func inode(of record: FileRecord, size: UInt64) -> UnsafeMutablePointer<sqfs_inode_generic_t>? {
        blockSizes.withUnsafeBufferPointer { sizes in
            rb_sqfs_file_inode(record.blocksStart, size, record.fragment, record.fragmentOffset,
                               sizes.baseAddress.map { $0 + Int(record.firstBlock) }, record.blockCount)
        }
    }

    static func errorText(_ rc: Int32) -> String {
        switch rc {
        case SQFS_ERROR_ALLOC.rawValue: "out of memory"
        case SQFS_ERROR_IO.rawValue: "I/O error"
        case SQFS_ERROR_COMPRESSOR.rawValue: "decompression failed"
        case -9: "bad magic"
        case -10: "unsupported version"
        case SQFS_ERROR_SUPER_BLOCK_SIZE.rawValue: "bad block size"
        case SQFS_ERROR_OUT_OF_BOUNDS.rawValue: "data out of bounds (truncated image?)"
        case SQFS_ERROR_CORRUPTED.rawValue: "corrupted"
        case SQFS_ERROR_UNSUPPORTED.rawValue: "unsupported"
        case SQFS_ERROR_LINK_LOOP.rawValue: "directory loop"
        default: "error \(rc)"
        }
    }

    struct Components {
        let compressor: UnsafeMutablePointer<sqfs_compressor_t>
        /// Set when the options block was not understood and was ignored.
        let optionsNote: String?
    }

    /// The payload length of the options metadata block at offset 96 (its 2-byte header).
    static func optionsBlockLength(_ file: UnsafeMutablePointer<sqfs_file_t>) -> Int? {
        var header: [UInt8] = [0, 0]
        let rc = header.withUnsafeMutableBytes { rb_sqfs_read_at(file, 96, $0.baseAddress, 2) }
        return rc == 0 ? Int(UInt16(header[0]) | UInt16(header[1]) << 8) & 0x7fff : nil
    }

    /// A decompressor for this image (with the image's compressor options, if stored).
    static func sqfs_compressor_config_init_result(_ superblock: sqfs_super_t) -> sqfs_compressor_config_t {
        var config = sqfs_compressor_config_t()
        sqfs_compressor_config_init(&config, SQFS_COMPRESSOR(rawValue: UInt32(superblock.compression_id)),
                                    Int(superblock.block_size), UInt16(SQFS_COMP_FLAG_UNCOMPRESS.rawValue))
        return config
    }

    /// `lzma`: the image's LZMA block decoder (used when the compression is LZMA), owned by
    /// the tree and outliving every compressor made here.
    static func openComponents(file: UnsafeMutablePointer<sqfs_file_t>, superblock: inout sqfs_super_t, name: String,
                               offset: UInt64, compression: String, lzma: SquashfsBlockDecoder) throws(ImageError) -> Components {
        var config = sqfs_compressor_config_init_result(superblock)
        if superblock.compression_id == 2 {
            // LZMA: the vendor framings (no size field, other lc/lp/pb, no header) as well as
            // mainline's 13-byte header, through rbscan's ladder.
            guard let compressor = rb_sqfs_callback_compressor_create(&config, squashfsLZMABlock,
                                                                      Unmanaged.passUnretained(lzma).toOpaque(), nil) else {
                throw ImageError(.unreadable, name, "out of memory")
            }
            return Components(compressor: compressor, optionsNote: nil)
        }
        var compressor: UnsafeMutablePointer<sqfs_compressor_t>?
        let rc = sqfs_compressor_create(&config, &compressor)
        guard rc == 0, let compressor else {
            if rc == SQFS_ERROR_UNSUPPORTED.rawValue {
                throw ImageError(.unsupported, name, "unsupported squashfs compression: \(compression) (the system libsquashfs is built without it)", offset: offset)
            }
            throw ImageError(.corrupt, name, "cannot create the \(compression) decompressor (\(errorText(rc)))", offset: offset)
        }
        if superblock.flags & UInt16(SQFS_FLAG_COMPRESSOR_OPTIONS.rawValue) != 0 {
            let optionsRC = rb_sqfs_read_compressor_options(compressor, file)
            if optionsRC != 0 {
                // Decoding needs none of the options (the xz and lzma streams carry their own
                // properties), so an options block in another layout than mainline's (OpenWrt's
                // 12-byte xz block with lc/lp/pb) is noted and ignored, as unsquashfs does. A
                // fresh compressor: a failed read may have left the first one half-configured.
                rb_sqfs_destroy(compressor)
                var fresh: UnsafeMutablePointer<sqfs_compressor_t>?
                guard sqfs_compressor_create(&config, &fresh) == 0, let fresh else {
                    throw ImageError(.corrupt, name, "cannot create the \(compression) decompressor", offset: offset)
                }
                let length = optionsBlockLength(file)
                return fastest(Components(compressor: fresh, optionsNote:
                    "the \(compression) compressor options block is not in the standard layout (\(length.map { "\($0) bytes" } ?? "unreadable"): \(errorText(optionsRC))); decompressing with the stream's own properties, as unsquashfs does"),
                               config: &config, compressionID: superblock.compression_id)
            }
        }
        return fastest(Components(compressor: compressor, optionsNote: nil), config: &config, compressionID: superblock.compression_id)
    }

    /// gzip blocks are decoded by libdeflate (whole-block decoding, about twice zlib's speed, and
    /// its Adler-32 check is vectorised) instead of libsquashfs's zlib decompressor, which has
    /// served only to read the options block. Other compressions keep libsquashfs's.
    static func fastest(_ components: Components, config: inout sqfs_compressor_config_t, compressionID: UInt16) -> Components {
        guard compressionID == 1, let decompressor = rb_deflate_decompressor_new() else { return components }
        guard let fast = rb_sqfs_callback_compressor_create(&config, rb_deflate_zlib_block, decompressor,
                                                            rb_deflate_decompressor_free) else {
            rb_deflate_decompressor_free(decompressor)
            return components
        }
        rb_sqfs_destroy(components.compressor)
        return Components(compressor: fast, optionsNote: components.optionsNote)
    }

    /// Walks the directory tree from the root inode with one libsquashfs directory reader,
    /// listing a directory, then descending into its subdirectories.
    struct Walker {
        let reader: OpaquePointer
        let ids: OpaquePointer
        let limits: ScanLimits
        let image: String
        var entries: [FileEntry] = []
        /// Each entry's file record (`FileRecord.none` but for regular files), in step with
        /// `entries`, and the files' block sizes.
        var records: [FileRecord] = []
        var blockSizes: [UInt32] = []
        var diagnostics: [Diagnostic] = []
        private var limitReported = false

        init(reader: OpaquePointer, ids: OpaquePointer, limits: ScanLimits, image: String) {
            self.reader = reader
            self.ids = ids
            self.limits = limits
            self.image = image
        }

        /// Records `inode` (owned by the walk, freed here) at `path`, and what is below it for a
        /// directory. Returns 0, or libsquashfs's error (a directory that is its own ancestor:
        /// a loop).
        mutating func visit(_ inode: UnsafeMutablePointer<sqfs_inode_generic_t>, path: String, depth: Int,
                            ancestors: [UInt32]) -> Int32 {
            defer { sqfs_free(inode) }
            guard entries.count < limits.maxEntries else {
                if !limitReported {
                    limitReported = true
                    diagnostics.append(Diagnostic(.error, .check, code: "image.entry-limit",
                        "more than \(limits.maxEntries) entries; the rest is not indexed", at: SourceLocation(file: image)))
                }
                return 0
            }
            let base = inode.pointee.base
            var uid: UInt32 = 0, gid: UInt32 = 0
            var rc = sqfs_id_table_index_to_id(ids, base.uid_idx, &uid)
            if rc == 0 { rc = sqfs_id_table_index_to_id(ids, base.gid_idx, &gid) }
            guard rc == 0 else { return rc }
            var type: FileType
            var size: UInt64 = 0
            var link: String?
            switch Int32(base.type) {
            case Int32(SQFS_INODE_DIR.rawValue), Int32(SQFS_INODE_EXT_DIR.rawValue): type = .directory
            case Int32(SQFS_INODE_FILE.rawValue), Int32(SQFS_INODE_EXT_FILE.rawValue):
                type = .file
                var fileSize: UInt64 = 0
                if sqfs_inode_get_file_size(inode, &fileSize) == 0 { size = fileSize }
            case Int32(SQFS_INODE_SLINK.rawValue), Int32(SQFS_INODE_EXT_SLINK.rawValue):
                type = .symlink
                let length = Int(rb_sqfs_slink_size(inode))
                if let target = rb_sqfs_slink_target(inode) {
                    link = String(decoding: UnsafeRawBufferPointer(start: target, count: min(length, 4096)), as: UTF8.self)
                }
                size = UInt64(length)
            case Int32(SQFS_INODE_BDEV.rawValue), Int32(SQFS_INODE_EXT_BDEV.rawValue): type = .blockDevice
            case Int32(SQFS_INODE_CDEV.rawValue), Int32(SQFS_INODE_EXT_CDEV.rawValue): type = .charDevice
            case Int32(SQFS_INODE_FIFO.rawValue), Int32(SQFS_INODE_EXT_FIFO.rawValue): type = .fifo
            default: type = .socket
            }
            entries.append(FileEntry(path: path, type: type, mode: UInt32(base.mode) & 0o7777, uid: uid,
                                     gid: gid, size: size, linkTarget: link, mtime: Int64(base.mod_time)))
            // What reading a regular file needs. A malformed image naming one path twice: the
            // last one is read.
            if type == .file {
                var start: UInt64 = 0, fragment: UInt32 = 0xffff_ffff, offset: UInt32 = 0
                _ = sqfs_inode_get_file_block_start(inode, &start)
                if sqfs_inode_get_frag_location(inode, &fragment, &offset) != 0 { fragment = 0xffff_ffff }
                let count = rb_sqfs_file_block_count(inode)
                records.append(FileRecord(blocksStart: start, fragment: fragment, fragmentOffset: offset,
                                          firstBlock: UInt32(truncatingIfNeeded: blockSizes.count), blockCount: count))
                if count > 0, let sizes = rb_sqfs_file_block_sizes(inode) {
                    blockSizes.append(contentsOf: UnsafeBufferPointer(start: sizes, count: Int(count)))
                }
            } else {
                records.append(.none)
            }
            guard type == .directory else { return 0 }
            guard depth < limits.maxDepth else {
                diagnostics.append(Diagnostic(.error, .check, code: "image.depth-limit",
                    "directory nesting deeper than \(limits.maxDepth)", at: SourceLocation(file: image + ":" + path)))
                return 0
            }
            if ancestors.contains(base.inode_number) { return SQFS_ERROR_LINK_LOOP.rawValue }
            // The listing first (the reader holds one directory at a time), then each child.
            rc = sqfs_dir_reader_open_dir(reader, inode, 0)
            guard rc == 0 else { return rc }
            var children: [(name: String, inode: UnsafeMutablePointer<sqfs_inode_generic_t>)] = []
            defer { for child in children { sqfs_free(child.inode) } }
            while true {
                var entry: UnsafeMutablePointer<sqfs_dir_entry_t>?
                rc = sqfs_dir_reader_read(reader, &entry)
                if rc > 0 { break }
                guard rc == 0, let entry else { return rc }
                let name = String(decoding: UnsafeRawBufferPointer(start: rb_sqfs_dir_entry_name(entry), count: Int(entry.pointee.size) + 1),
                                  as: UTF8.self)
                sqfs_free(entry)
                var child: UnsafeMutablePointer<sqfs_inode_generic_t>?
                rc = sqfs_dir_reader_get_inode(reader, &child)
                guard rc == 0, let child else { return rc }
                children.append((name, child))
            }
            let listed = children
            children = []
            for (i, child) in listed.enumerated() {
                let name = child.name
                if name.isEmpty || name == "." || name == ".." || name.utf8.contains(UInt8(ascii: "/")) || name.utf8.contains(0) {
                    diagnostics.append(Diagnostic(.warning, .check, code: "image.bad-name",
                        "invalid entry name '\(name)' skipped", at: SourceLocation(file: image + ":" + path)))
                    sqfs_free(child.inode)
                    continue
                }
                let failed = visit(child.inode, path: path.isEmpty ? name : path + "/" + name, depth: depth + 1,
                                   ancestors: ancestors + [base.inode_number])
                if failed != 0 {
                    for rest in listed[(i + 1)...] { sqfs_free(rest.inode) }
                    return failed
                }
            }
            return 0
        }
    }

    // MARK: reading

    /// On-disk order: files living in fragment blocks grouped by fragment, the others by their
    /// first data block, so each compressed block is decompressed once by a sequential reader.
    public func readOrder(_ files: [FileEntry]) -> [FileEntry] { ordered(files).map(\.entry) }

    /// Read order cut into batches of about `size` files, a fragment block's files never split
    /// between two batches: workers taking turns would each decompress the block (with files of
    /// about 4 KB a 128 KiB fragment block holds some 30 of them, so nearly every block would be
    /// decompressed twice).
    public func readBatches(_ positions: [Int32], size: Int) -> [ArraySlice<Int32>] {
        let ordered = SquashfsFileReader.ordered(positions: positions) { position in
            records[position].isFile ? place(of: records[position], size: index.entries[position].size) : nil
        }
        return SquashfsFileReader.batches(positions: ordered, size: size)
    }

    /// The fragment block holding the whole of `entry` (a file shorter than a block whose tail
    /// went to a fragment), nil for any other file. Read order groups files by it.
    public func fragmentBlock(of entry: FileEntry) -> UInt32? {
        guard entry.size < UInt64(superblock.block_size), let record = record(of: entry), record.fragment != 0xffff_ffff else { return nil }
        return record.fragment
    }

    /// `files` sorted by where their bytes start, with the fragment block each one lives in
    /// (nil for files with data blocks, which come after the fragment groups).
    private func ordered(_ files: [FileEntry]) -> [(entry: FileEntry, fragment: UInt32?)] {
        SquashfsFileReader.ordered(files) { entry in record(of: entry).map { place(of: $0, size: entry.size) } }
    }

    /// Where the bytes of a file of `size` bytes start (see `SquashfsFileReader.ordered`).
    private func place(of record: FileRecord, size: UInt64) -> (fragment: UInt32?, offset: UInt64) {
        if size < UInt64(superblock.block_size), record.fragment != 0xffff_ffff {
            return (record.fragment, UInt64(record.fragmentOffset))
        }
        return (nil, record.blocksStart)
    }

    /// One libsquashfs data reader with its own decompressor and file object.
    final class DataReader: @unchecked Sendable {
        // @unchecked: used by one caller at a time (checked out of the pool).
        let file: UnsafeMutablePointer<sqfs_file_t>
        let compressor: UnsafeMutablePointer<sqfs_compressor_t>
        let reader: OpaquePointer

        init(source: ByteSource, superblock: inout sqfs_super_t, lzma: SquashfsBlockDecoder) throws(ImageError) {
            guard let file = rb_sqfs_region_create(source.file.fd, source.base, source.size) else {
                throw ImageError(.unreadable, source.file.name, "out of memory")
            }
            let components: Components
            do {
                components = try SquashfsTree.openComponents(file: file, superblock: &superblock, name: source.file.name,
                                                             offset: source.base, compression: SquashfsTree.compressionName(superblock.compression_id), lzma: lzma)
            } catch {
                rb_sqfs_destroy(file)
                throw error
            }
            guard let reader = sqfs_data_reader_create(file, Int(superblock.block_size), components.compressor, 0) else {
                rb_sqfs_destroy(components.compressor)
                rb_sqfs_destroy(file)
                throw ImageError(.unreadable, source.file.name, "cannot create a squashfs data reader")
            }
            let rc = sqfs_data_reader_load_fragment_table(reader, &superblock)
            self.file = file
            self.compressor = components.compressor
            self.reader = reader
            if rc != 0 {
                throw ImageError(.corrupt, source.file.name, "cannot read the fragment table (\(SquashfsTree.errorText(rc)))", offset: source.base)
            }
        }

        deinit {
            rb_sqfs_destroy(UnsafeMutableRawPointer(reader))
            rb_sqfs_destroy(compressor)
            rb_sqfs_destroy(file)
        }
    }

    /// The calling thread's reader. A thread runs one read at a time (reads never suspend), so a
    /// reader is never used by two callers at once.
    private func checkout() throws(ImageError) -> DataReader {
        let thread = ThreadKey.current
        if let reader = readers.withLock({ $0[thread] }) { return reader }
        var superblock = self.superblock
        let reader = try DataReader(source: source, superblock: &superblock, lzma: lzma)
        readers.withLock { $0[thread] = reader }
        return reader
    }

    private func checkin(_ reader: DataReader) {}

    /// Reads `[offset, offset + count)` of the file `inode` into `bytes`.
    private func read(_ inode: UnsafeMutablePointer<sqfs_inode_generic_t>, into bytes: inout [UInt8], from offset: Int,
                      count: Int, reader: DataReader, path: String) throws {
        guard count > 0 else { return }
        let start = bytes.count
        var failure: Int32 = 0
        bytes.append(contentsOf: repeatElement(0, count: count))
        var done = 0
        bytes.withUnsafeMutableBytes { buffer in
            while done < count {
                let chunk = UInt32(min(count - done, 1 << 24))
                let n = sqfs_data_reader_read(reader.reader, inode, UInt64(offset + done), buffer.baseAddress! + start + done, chunk)
                if n < 0 { failure = n; return }
                if n == 0 { return }
                done += Int(n)
            }
        }
        if failure != 0 {
            throw FileTreeError(.unreadable, path: path, "squashfs data error: \(SquashfsTree.errorText(failure))")
        }
        if done < count { bytes.removeSubrange((start + done)...) }
    }

    /// The inode to read `entry` by (free it with `free`).
    private func fileInode(_ entry: FileEntry) throws -> UnsafeMutablePointer<sqfs_inode_generic_t> {
        guard entry.type == .file, let record = record(of: entry) else {
            throw FileTreeError(.notRegularFile, path: entry.path, "not a regular file in the image")
        }
        guard let inode = inode(of: record, size: entry.size) else {
            throw FileTreeError(.unreadable, path: entry.path, "out of memory")
        }
        return inode
    }

    public func read(_ entry: FileEntry, limit: Int) throws -> FileContent {
        let inode = try fileInode(entry)
        defer { free(inode) }
        let reader = try checkout()
        defer { checkin(reader) }
        var bytes: [UInt8] = []
        let wanted = Int(min(UInt64(limit), entry.size))
        bytes.reserveCapacity(wanted)
        try read(inode, into: &bytes, from: 0, count: wanted, reader: reader, path: entry.path)
        return FileContent(bytes: bytes, truncated: entry.size > UInt64(limit))
    }

    /// One pass: the first 8 KiB decide, a text file's rest follows from the same reader (whose
    /// block cache still holds the first block).
    public func readUnlessBinary(_ entry: FileEntry, limit: Int) throws -> FileContent? {
        let inode = try fileInode(entry)
        defer { free(inode) }
        let reader = try checkout()
        defer { checkin(reader) }
        let wanted = Int(min(UInt64(limit), entry.size))
        var bytes: [UInt8] = []
        try read(inode, into: &bytes, from: 0, count: min(8192, wanted), reader: reader, path: entry.path)
        if ByteScan.hasNUL(bytes) { return nil }
        bytes.reserveCapacity(wanted)
        try read(inode, into: &bytes, from: bytes.count, count: wanted - bytes.count, reader: reader, path: entry.path)
        return FileContent(bytes: bytes, truncated: entry.size > UInt64(limit))
    }
}

/// libsquashfs's block callback for LZMA images: decodes through the tree's ladder.
private func squashfsLZMABlock(_ context: UnsafeMutableRawPointer?, _ input: UnsafePointer<UInt8>?, _ size: UInt32,
                               _ output: UnsafeMutablePointer<UInt8>?, _ capacity: UInt32) -> Int {
    guard let context, let input, let output else { return -1 }
    let decoder = Unmanaged<SquashfsBlockDecoder>.fromOpaque(context).takeUnretainedValue()
    guard let out = decoder.decode(UnsafeRawBufferPointer(start: input, count: Int(size)), capacity: Int(capacity), exact: false) else {
        return -1
    }
    out.withUnsafeBytes { UnsafeMutableRawPointer(output).copyMemory(from: $0.baseAddress!, byteCount: out.count) }
    return out.count
}

/// What reading a regular file of a squashfs image needs (`SquashfsTree` keeps one per entry).
struct FileRecord: Sendable {
    var blocksStart: UInt64
    /// Fragment block index, 0xFFFFFFFF for none.
    var fragment: UInt32
    var fragmentOffset: UInt32
    /// Where the file's block sizes start in the tree's list of them, and how many.
    var firstBlock: UInt32
    var blockCount: UInt32

    /// Not a regular file.
    static let none = FileRecord(blocksStart: 0, fragment: 0xffff_ffff, fragmentOffset: 0, firstBlock: 0, blockCount: UInt32.max)
    var isFile: Bool { blockCount != UInt32.max }
}
