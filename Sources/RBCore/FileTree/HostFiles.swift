#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Small host-file helpers for rbscan's own inputs (rule packs, baselines), without Foundation.
public enum HostFiles {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var path: String
        public var message: String
        public var description: String { "\(path): \(message)" }
    }

    /// What `path` is on the host, following links (the user named it).
    public enum Kind: Sendable { case directory, regularFile, other, missing }

    public static func kind(of path: String) -> Kind {
        var st = stat()
        guard stat(path, &st) == 0 else { return .missing }
        switch st.st_mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFREG: return .regularFile
        default: return .other
        }
    }

    /// `path` with links and `..` resolved, or nil when it does not exist: two spellings of one
    /// directory (`Rules`, `./Rules/`) compare equal.
    public static func canonicalPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The name of a directory entry readdir returned.
    static func entryName(_ item: UnsafeMutablePointer<dirent>) -> String {
        withUnsafeBytes(of: item.pointee.d_name) { raw in String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self)) }
    }

    /// Names in a directory, sorted.
    public static func list(directory: String) throws(Failure) -> [String] {
        guard let dir = opendir(directory) else {
            throw Failure(path: directory, message: String(cString: strerror(errno)))
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let item = readdir(dir) {
            let name = entryName(item)
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Regular files below `directory` (relative paths, sorted), any depth; links to files are
    /// listed, links to directories not followed (no loops). One readdir per directory: d_type
    /// spares a stat per file.
    public static func walk(directory: String) throws(Failure) -> [String] {
        var files: [String] = []
        var pending = [""]
        while let relative = pending.popLast() {
            let path = relative.isEmpty ? directory : directory + "/" + relative
            guard let dir = opendir(path) else {
                throw Failure(path: path, message: String(cString: strerror(errno)))
            }
            defer { closedir(dir) }
            while let item = readdir(dir) {
                let name = entryName(item)
                guard name != "." && name != ".." else { continue }
                let child = relative.isEmpty ? name : relative + "/" + name
                switch Int32(item.pointee.d_type) {
                case Int32(DT_DIR): pending.append(child)
                case Int32(DT_REG): files.append(child)
                default:
                    var st = stat()
                    let full = directory + "/" + child
                    if Int32(item.pointee.d_type) == Int32(DT_UNKNOWN), lstat(full, &st) == 0, st.st_mode & S_IFMT == S_IFDIR {
                        pending.append(child)
                    } else if stat(full, &st) == 0, st.st_mode & S_IFMT == S_IFREG {
                        files.append(child)
                    }
                }
            }
        }
        return files.sorted()
    }

    /// The size of a regular host file (links followed), or nil.
    public static func size(of path: String) -> UInt64? {
        var st = stat()
        guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        return UInt64(st.st_size)
    }

    /// `count` bytes at `offset` of a host file (fewer at its end); nil when unreadable.
    public static func read(_ path: String, at offset: UInt64, count: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
            if n < 0 { return nil }
            if n == 0 { break }
            done += n
        }
        return Array(buffer.prefix(done))
    }

    /// Reads a text file (at most `limit` bytes; rule files are small).
    public static func readText(_ path: String, limit: Int = 16 << 20) throws(Failure) -> String {
        String(decoding: try readBytes(path, limit: limit), as: UTF8.self)
    }

    /// Reads a regular file's bytes (a file larger than `limit` is an error, never cut short).
    public static func readBytes(_ path: String, limit: Int = 16 << 20) throws(Failure) -> [UInt8] {
        guard kind(of: path) == .regularFile else { throw Failure(path: path, message: "not a regular file") }
        guard let file = fopen(path, "rb") else {
            throw Failure(path: path, message: String(cString: strerror(errno)))
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n > 0 { bytes += buffer[0..<n] }
            if n < buffer.count { break }
            if bytes.count > limit { throw Failure(path: path, message: "larger than \(limit) bytes") }
        }
        if ferror(file) != 0 { throw Failure(path: path, message: "read error") }
        return bytes
    }
}
