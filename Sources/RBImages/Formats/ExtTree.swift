import CExt2fs
import RBCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// An ext2/3/4 filesystem read in place through libext2fs (read-only, checksum errors tolerated
/// and reported by the reads that hit them). libext2fs handles are not thread-safe, so each
/// thread opens its own.
public final class ExtTree: FileTree, @unchecked Sendable {
    // @unchecked: `handles` is guarded by a Mutex; each handle is used by its own thread only.
    public let displayName: String
    public let hasMetadata = true
    public let index: PathIndex
    public let indexDiagnostics: [Diagnostic]
    public let details: [String: String]
    private let device: String
    private let options: String
    private let inodes: [String: UInt32]
    private let handles = Mutex<[UInt: Handle]>([:])
    private let source: ByteSource

    final class Handle: @unchecked Sendable {
        var fs: ext2_filsys?
        init(device: String, options: String, name: String, offset: UInt64) throws(ImageError) {
            var fs: ext2_filsys?
            let rc = ext2fs_open2(device, options, rb_ext2_open_flags(), 0, 0, rb_ext2_unix_io_manager(), &fs)
            guard rc == 0, fs != nil else {
                throw ImageError(.corrupt, name, "cannot open the ext filesystem: \(String(cString: error_message(rc)))", offset: offset)
            }
            self.fs = fs
        }
        deinit { if fs != nil { ext2fs_close_free(&fs) } }
    }

    public init(source: ByteSource, name: String, limits: ScanLimits) throws(ImageError) {
        displayName = name
        self.source = source
        // libext2fs opens by name: /proc/self/fd reaches spools too (they are unlinked).
        device = "/proc/self/fd/\(source.file.fd)"
        options = "offset=\(source.base)"
        let handle = try Handle(device: device, options: options, name: source.file.name, offset: source.base)
        guard let fs = handle.fs else { throw ImageError(.corrupt, source.file.name, "no filesystem", offset: source.base) }
        let superblock = fs.pointee.super!.pointee
        var features: [String] = []
        if superblock.s_feature_compat & UInt32(EXT3_FEATURE_COMPAT_HAS_JOURNAL) != 0 { features.append("journal") }
        if superblock.s_feature_incompat & UInt32(EXT3_FEATURE_INCOMPAT_EXTENTS) != 0 { features.append("extents") }
        let version = superblock.s_feature_incompat & UInt32(EXT3_FEATURE_INCOMPAT_EXTENTS) != 0 ? "ext4"
            : superblock.s_feature_compat & UInt32(EXT3_FEATURE_COMPAT_HAS_JOURNAL) != 0 ? "ext3" : "ext2"
        details = ["type": version, "blockSize": String(fs.pointee.blocksize), "inodes": String(superblock.s_inodes_count),
                   "features": features.joined(separator: "+")]

        var entries: [FileEntry] = []
        var inodes: [String: UInt32] = [:]
        var diagnostics: [Diagnostic] = []
        var pending: [(UInt32, String, Int)] = [(UInt32(EXT2_ROOT_INO), "", 0)]
        var visited = Set<UInt32>()
        while let (dirInode, dirPath, depth) = pending.popLast() {
            guard visited.insert(dirInode).inserted else {
                diagnostics.append(Diagnostic(.error, .check, code: "image.corrupt", "directory loop at inode \(dirInode)",
                                              at: SourceLocation(file: name + ":" + dirPath)))
                continue
            }
            if dirPath.isEmpty {
                var root = ext2_inode()
                if ext2fs_read_inode(fs, dirInode, &root) == 0 {
                    entries.append(ExtTree.entry(path: "", inode: root, type: .directory, link: nil))
                }
            }
            // Collect the directory's entries first: the callback only records names and inodes.
            final class Collector { var children: [(String, UInt32)] = [] }
            let collector = Collector()
            let rc = ext2fs_dir_iterate2(fs, dirInode, 0, nil, { _, _, dirent, _, _, _, data in
                guard let dirent, let data else { return 0 }
                let collector = Unmanaged<Collector>.fromOpaque(data).takeUnretainedValue()
                let length = Int(rb_ext2_dirent_name_len(dirent))
                let name = String(decoding: UnsafeRawBufferPointer(start: rb_ext2_dirent_name(dirent), count: length), as: UTF8.self)
                collector.children.append((name, dirent.pointee.inode))
                return 0
            }, Unmanaged.passUnretained(collector).toOpaque())
            if rc != 0 {
                diagnostics.append(Diagnostic(.error, .check, code: "image.corrupt",
                    "cannot read directory: \(String(cString: error_message(rc)))", at: SourceLocation(file: name + ":" + dirPath)))
                continue
            }
            for (child, number) in collector.children where child != "." && child != ".." && number != 0 {
                guard !child.contains("/"), entries.count < limits.maxEntries else {
                    if entries.count >= limits.maxEntries {
                        diagnostics.append(Diagnostic(.error, .check, code: "image.entry-limit",
                            "more than \(limits.maxEntries) entries; the rest is not indexed", at: SourceLocation(file: name)))
                        pending.removeAll()
                        break
                    }
                    continue
                }
                let path = dirPath.isEmpty ? child : dirPath + "/" + child
                if dirPath.isEmpty && child == "lost+found" { continue }
                var inode = ext2_inode()
                guard ext2fs_read_inode(fs, number, &inode) == 0 else {
                    diagnostics.append(Diagnostic(.error, .check, code: "image.corrupt", "cannot read inode \(number)",
                                                  at: SourceLocation(file: name + ":" + path)))
                    continue
                }
                let type = ExtTree.type(of: inode.i_mode)
                var link: String?
                if type == .symlink { link = ExtTree.symlinkTarget(fs: fs, number: number, inode: &inode) }
                entries.append(ExtTree.entry(path: path, inode: inode, type: type, link: link))
                if type == .file { inodes[path] = number }
                if type == .directory {
                    if depth + 1 > limits.maxDepth {
                        diagnostics.append(Diagnostic(.error, .check, code: "image.depth-limit",
                            "directory nesting deeper than \(limits.maxDepth)", at: SourceLocation(file: name + ":" + path)))
                    } else {
                        pending.append((number, path, depth + 1))
                    }
                }
            }
        }
        index = PathIndex(entries)
        self.inodes = inodes
        indexDiagnostics = diagnostics
        handles.withLock { $0[ThreadKey.current] = handle }
    }


    static func type(of mode: UInt16) -> FileType {
        switch UInt32(mode) & S_IFMT {
        case S_IFDIR: .directory
        case S_IFLNK: .symlink
        case S_IFCHR: .charDevice
        case S_IFBLK: .blockDevice
        case S_IFIFO: .fifo
        case S_IFSOCK: .socket
        default: .file
        }
    }

    static func entry(path: String, inode: ext2_inode, type: FileType, link: String?) -> FileEntry {
        var copy = inode
        return FileEntry(path: path, type: type, mode: UInt32(inode.i_mode) & 0o7777, uid: UInt32(rb_ext2_inode_uid(&copy)),
                         gid: UInt32(rb_ext2_inode_gid(&copy)), size: type == .directory ? 0 : rb_ext2_inode_size(&copy),
                         linkTarget: link, mtime: Int64(inode.i_mtime))
    }

    static func symlinkTarget(fs: ext2_filsys, number: UInt32, inode: inout ext2_inode) -> String? {
        let size = Int(min(rb_ext2_inode_size(&inode), 4096))
        if ext2fs_is_fast_symlink(&inode) != 0 {
            return String(decoding: UnsafeRawBufferPointer(start: rb_ext2_fast_link(&inode), count: min(size, 60)), as: UTF8.self)
        }
        guard let bytes = try? readFile(fs: fs, number: number, offset: 0, count: size) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func readFile(fs: ext2_filsys, number: UInt32, offset: UInt64, count: Int) throws(ImageError) -> [UInt8] {
        var file: ext2_file_t?
        var rc = ext2fs_file_open(fs, number, 0, &file)
        guard rc == 0, let file else { throw ImageError(.corrupt, "ext", "cannot open inode \(number): \(String(cString: error_message(rc)))") }
        defer { ext2fs_file_close(file) }
        if offset > 0 {
            rc = ext2fs_file_llseek(file, offset, Int32(EXT2_SEEK_SET), nil)
            guard rc == 0 else { throw ImageError(.corrupt, "ext", "cannot seek in inode \(number)") }
        }
        var failure: errcode_t = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, filled in
            filled = 0
            while filled < count {
                var got: UInt32 = 0
                let chunk = UInt32(min(count - filled, 1 << 24))
                let result = ext2fs_file_read(file, buffer.baseAddress! + filled, chunk, &got)
                if result != 0 { failure = result; break }
                if got == 0 { break }
                filled += Int(got)
            }
        }
        if failure != 0 { throw ImageError(.corrupt, "ext", "read error in inode \(number): \(String(cString: error_message(failure)))") }
        return bytes
    }

    private func handle() throws -> ext2_filsys {
        let key = ThreadKey.current
        if let fs = handles.withLock({ $0[key]?.fs }) { return fs }
        let handle = try Handle(device: device, options: options, name: source.file.name, offset: source.base)
        handles.withLock { $0[key] = handle }
        guard let fs = handle.fs else { throw FileTreeError(.unreadable, path: displayName, "no filesystem handle") }
        return fs
    }

    public func read(_ entry: FileEntry, limit: Int) throws -> FileContent {
        guard entry.type == .file, let number = inodes[entry.path] else {
            throw FileTreeError(.notRegularFile, path: entry.path, "not a regular file in the image")
        }
        let fs = try handle()
        do {
            let bytes = try ExtTree.readFile(fs: fs, number: number, offset: 0, count: Int(min(UInt64(limit), entry.size)))
            return FileContent(bytes: bytes, truncated: entry.size > UInt64(limit))
        } catch {
            throw FileTreeError(.unreadable, path: entry.path, error.message)
        }
    }
}

/// ext2/3/4 filesystems through libext2fs.
enum ExtFormat: ImageFormat {
    static let name = "ext"
    static let summary = "an ext2/3/4 image"
    static let reader = "libext2fs"
    static let signatures = [FormatSignature([0x53, 0xef], at: 1080)]

    static func open(_ probe: FormatProbe, _ diagnostics: inout [Diagnostic]) -> ContainerNode? {
        guard probe.head.count >= 1024 + 92 else { return nil }
        let superblock = Array(probe.head[1024..<(1024 + 92)])
        let logBlock = superblock.le32(24), blocksCount = UInt64(superblock.le32(4)), inodes = superblock.le32(0)
        guard logBlock <= 6, inodes > 0, blocksCount > 0, superblock.le32(76) <= 1 else { return nil }
        let size = blocksCount * (1024 << UInt64(logBlock))
        var node = ContainerNode(format: "ext", offset: probe.offset, size: min(size, probe.available),
                                 details: ["blocks": String(blocksCount), "blockSize": String(1024 << logBlock)])
        probe.openFilesystem(&node, declaredSize: size, &diagnostics) { () throws(ImageError) in
            let tree = try ExtTree(source: probe.region.slice(0, size), name: probe.treeName("ext"), limits: probe.limits)
            return (tree, tree.details)
        }
        if let type = node.details["type"] { node.format = type }
        return node
    }
}
