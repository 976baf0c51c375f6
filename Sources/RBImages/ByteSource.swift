import CSafeSystem
import RBCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// An open host file (an image, or a spool of decompressed data), never loaded whole. It is
/// mapped read-only when the system allows (reads are then copies from the page cache without a
/// system call, and a reader can pick the few bytes it needs out of every page), else read with
/// `pread`; either way one descriptor serves concurrent readers. Every access to the mapping goes
/// through `CSafeSystem`'s guarded copies: a file that shrinks under the scan is an unreadable
/// image error, not a crash.
public final class HostFile: Sendable {
    public let fd: Int32
    public let size: UInt64
    /// The user's path, or a description for spools (`gzip@0x40 (decompressed)`).
    public let name: String
    /// The read-only mapping of the whole file, when there is one.
    nonisolated(unsafe) private let mapping: UnsafeRawPointer?

    init(fd: Int32, size: UInt64, name: String) {
        self.fd = fd
        self.size = size
        self.name = name
        mapping = size > 0 && size <= UInt64(Int.max) ? rb_map_file(fd, Int(size)) : nil
    }

    /// Opens `path` read-only.
    public static func open(_ path: String) throws(ImageError) -> HostFile {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ImageError(.unreadable, path, "cannot open: \(String(cString: strerror(errno)))") }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw ImageError(.unreadable, path, "not a regular file")
        }
        return HostFile(fd: fd, size: UInt64(st.st_size), name: path)
    }

    deinit {
        if let mapping { rb_unmap_file(mapping, Int(size)) }
        close(fd)
    }

    private func faulted(_ offset: UInt64) -> ImageError {
        ImageError(.unreadable, name, "the file changed or failed while being read (at offset \(offset))", offset: offset)
    }

    /// Up to `count` bytes at `offset` (fewer at the end of the file).
    public func read(at offset: UInt64, count: Int) throws(ImageError) -> [UInt8] {
        guard offset < size, count > 0 else { return [] }
        let wanted = Int(min(UInt64(count), size - offset))
        var failure: ImageError?
        let bytes = [UInt8](unsafeUninitializedCapacity: wanted) { buffer, filled in
            do throws(ImageError) {
                filled = try read(at: offset, into: UnsafeMutableRawBufferPointer(buffer))
            } catch {
                failure = error
                filled = 0
            }
        }
        if let failure { throw failure }
        return bytes
    }

    /// Fills `buffer` from `offset` (fewer bytes at the end of the file) without allocating:
    /// the bytes read.
    public func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        guard offset < size, let base = buffer.baseAddress else { return 0 }
        let wanted = Int(min(UInt64(buffer.count), size - offset))
        if let mapping {
            guard rb_mapped_copy(base, mapping + Int(offset), wanted) == 0 else { throw faulted(offset) }
            return wanted
        }
        var filled = 0
        while filled < wanted {
            let n = pread(fd, base + filled, wanted - filled, off_t(offset) + off_t(filled))
            if n < 0 {
                if errno == EINTR { continue }
                let failure = errno
                throw ImageError(.unreadable, name, "read failed at offset \(offset): \(String(cString: strerror(failure)))", offset: offset)
            }
            if n == 0 { break }
            filled += n
        }
        return filled
    }

    /// Copies `count` pieces of `length` bytes, one every `stride` bytes from `offset`, packed into
    /// `buffer` (which holds `count * length` bytes); every piece must lie inside the file.
    public func gather(at offset: UInt64, stride: Int, length: Int, count: Int, into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) {
        guard count > 0 else { return }
        precondition(stride >= length && buffer.count >= count * length)
        guard offset + UInt64(stride) * UInt64(count - 1) + UInt64(length) <= size, let base = buffer.baseAddress else {
            throw ImageError(.corrupt, name, "read past the end of the file at offset \(offset)", offset: offset)
        }
        if let mapping {
            guard rb_mapped_gather(base, mapping + Int(offset), stride, length, count) == 0 else { throw faulted(offset) }
            return
        }
        for i in 0..<count {
            let at = offset + UInt64(i * stride)
            guard try read(at: at, into: UnsafeMutableRawBufferPointer(rebasing: buffer[(i * length)..<((i + 1) * length)])) == length else {
                throw faulted(at)
            }
        }
    }
}

/// A byte range of a host file: what a container reader looks at.
public struct ByteSource: Sendable {
    public let file: HostFile
    /// Offset of the range in `file`.
    public let base: UInt64
    public let size: UInt64

    public init(file: HostFile, base: UInt64 = 0, size: UInt64? = nil) {
        self.file = file
        self.base = base
        self.size = min(size ?? (file.size - min(base, file.size)), file.size - min(base, file.size))
    }

    /// Bytes at `offset` relative to the range, never past its end.
    public func read(at offset: UInt64, count: Int) throws(ImageError) -> [UInt8] {
        guard offset < size else { return [] }
        return try file.read(at: base + offset, count: Int(min(UInt64(count), size - offset)))
    }

    /// Fills `buffer` from `offset` relative to the range, never past its end: the bytes read.
    public func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        guard offset < size else { return 0 }
        let count = Int(min(UInt64(buffer.count), size - offset))
        return try file.read(at: base + offset, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count]))
    }

    /// `HostFile.gather` relative to the range; every piece must lie inside it.
    public func gather(at offset: UInt64, stride: Int, length: Int, count: Int, into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) {
        guard count > 0 else { return }
        guard offset + UInt64(stride) * UInt64(count - 1) + UInt64(length) <= size else {
            throw ImageError(.corrupt, file.name, "read past the end of the range at offset \(base + offset)", offset: base + offset)
        }
        try file.gather(at: base + offset, stride: stride, length: length, count: count, into: buffer)
    }

    /// A sub-range (clamped to this one).
    public func slice(_ offset: UInt64, _ length: UInt64? = nil) -> ByteSource {
        let start = min(offset, size)
        return ByteSource(file: file, base: base + start, size: min(length ?? (size - start), size - start))
    }
}

/// Spool files: decompressed streams and archive member contents are written to unlinked files
/// in a private temporary directory (`$TMPDIR/rbscan-XXXXXX`, mode 0700, removed at once), so they
/// take disk, not memory, and vanish with the process whatever happens.
public enum Spool {
    private static let directory = Mutex<String?>(nil)
    /// The reserve the user set (`--spool-reserve`); UInt64.max: none set, the default applies.
    private static let reserve = Atomic<UInt64>(.max)
    /// The default reserve: 256 MiB, at most 5 % of the file system.
    static let defaultReserve: UInt64 = 256 << 20

    /// The free space spooling leaves on the temporary file system (`ScanLimits.spoolReserveBytes`).
    public static func setReserve(_ bytes: UInt64?) { reserve.store(bytes ?? .max, ordering: .relaxed) }

    /// The reserve that applies to a file system of `size` bytes.
    static func reserve(onFileSystemOf size: UInt64) -> UInt64 {
        let set = reserve.load(ordering: .relaxed)
        return set == .max ? min(defaultReserve, size / 20) : set
    }

    static func privateDirectory() throws(ImageError) -> String {
        try directory.withLock { (current: inout String?) throws(ImageError) -> String in
            if let current { return current }
            let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
            // Removed when the process is interrupted or terminated (armed before the directory
            // exists: a signal right after it is made must not leave it behind), and at exit
            // whoever the caller is (the CLI also removes it explicitly).
            guard let made = rb_make_private_tmp((base.hasSuffix("/") ? base : base + "/") + "rbscan-XXXXXX") else {
                throw ImageError(.unreadable, base, "cannot create a private temporary directory: \(String(cString: strerror(errno)))")
            }
            let path = String(cString: made)
            current = path
            atexit { Spool.cleanUp() }
            return path
        }
    }

    /// A new empty spool file: open for reading and writing, already unlinked.
    public static func create(name: String) throws(ImageError) -> SpoolWriter {
        let dir = try privateDirectory()
        let fd = rb_open_spool(dir)
        guard fd >= 0 else { throw ImageError(.unreadable, dir, "cannot create a spool file: \(String(cString: strerror(errno)))") }
        return SpoolWriter(fd: fd, name: name, directory: dir)
    }

    /// Removes the private directory (empty: spools are unlinked when created).
    public static func cleanUp() {
        directory.withLock { current in
            rb_forget_on_signal()
            if let path = current { rmdir(path) }
            current = nil
        }
    }
}

/// Appends to a spool file, then hands it over as a read-only `HostFile`.
public final class SpoolWriter {
    let fd: Int32
    let name: String
    /// The private temporary directory the spool lives in (named when space runs out).
    let directory: String
    private(set) var size: UInt64 = 0
    private var handedOver = false

    init(fd: Int32, name: String, directory: String) {
        self.fd = fd
        self.name = name
        self.directory = directory
    }

    deinit { if !handedOver { close(fd) } }

    /// Bytes written since the free space was last looked at.
    private var unchecked: UInt64 = 0
    /// How often (in bytes written) the free space of the spool's file system is looked at.
    static let checkInterval: UInt64 = 16 << 20

    func append(_ buffer: UnsafeRawBufferPointer) throws(ImageError) {
        if unchecked == 0 || unchecked >= Self.checkInterval {
            try checkFreeSpace()
            unchecked = 0
        }
        unchecked += UInt64(buffer.count)
        var done = 0
        while done < buffer.count {
            let n = write(fd, buffer.baseAddress! + done, buffer.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                throw ImageError(.spool, name, "cannot write the decompressed data to the temporary spool in \(directory) after \(size + UInt64(done)) bytes: \(reason); what follows was not examined (free space there, or set TMPDIR to a larger file system)")
            }
            done += n
        }
        size += UInt64(buffer.count)
    }

    /// Stops before the spool would leave less than the reserve free on its file system: the
    /// scan names what it did not examine instead of filling the host's disk.
    private func checkFreeSpace() throws(ImageError) {
        var info = statvfs()
        guard fstatvfs(fd, &info) == 0 else { return }
        let unit = UInt64(info.f_frsize)
        let free = UInt64(info.f_bavail) * unit
        let reserve = Spool.reserve(onFileSystemOf: UInt64(info.f_blocks) * unit)
        guard reserve > 0, free < reserve + Self.checkInterval else { return }
        throw ImageError(.spool, name, "stopped writing the decompressed data to the temporary spool in \(directory) after \(size) bytes: "
                         + "\(free >> 20) MiB are left free there and rbscan leaves \(reserve >> 20) MiB (--spool-reserve); what follows was not examined "
                         + "(set TMPDIR to a larger file system, or lower --spool-reserve)")
    }

    func append(_ bytes: [UInt8]) throws(ImageError) {
        let result: Result<Void, ImageError> = bytes.withUnsafeBytes { raw in
            do throws(ImageError) { try append(raw); return .success(()) } catch { return .failure(error) }
        }
        try result.get()
    }

    func finish() -> HostFile {
        handedOver = true
        return HostFile(fd: fd, size: size, name: name)
    }
}

/// A problem with an image, with the offset where it was found.
public struct ImageError: Error, Sendable, CustomStringConvertible {
    /// `spool`: the temporary space for decompressed data ran out (or failed): not the image's fault.
    public enum Code: String, Sendable { case unreadable, corrupt, unsupported, limit, spool }
    public var code: Code
    public var path: String
    public var message: String
    public var offset: UInt64?

    public init(_ code: Code, _ path: String, _ message: String, offset: UInt64? = nil) {
        self.code = code
        self.path = path
        self.message = message
        self.offset = offset
    }

    public var description: String {
        "\(path)" + (offset.map { "@0x" + String($0, radix: 16) } ?? "") + ": \(message)"
    }
}

/// A key for per-thread state (libsquashfs and libext2fs handles are not thread-safe; a read
/// never suspends, so a thread's handle is never used by two callers at once).
enum ThreadKey {
    static var current: UInt { UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(bitPattern: UInt(pthread_self())))) }
}
