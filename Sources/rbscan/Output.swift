#if canImport(Glibc)
import Glibc
#endif

/// Writing to the standard streams and files without Foundation's globals (strict concurrency).
enum Output {
    static func stdout(_ text: String) { write(fd: 1, text) }
    static func stderr(_ text: String) { write(fd: 2, text) }

    static func write(fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return
            }
            bytes = bytes.dropFirst(n)
        }
    }

    /// Writes `text` to `path` through a temporary file and a rename, so a reader never sees a
    /// half-written report.
    static func writeFile(_ path: String, _ text: String) throws(OutputError) {
        let temporary = path + ".rbscan-tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw OutputError(path: path, message: String(cString: strerror(errno))) }
        write(fd: fd, text)
        let ok = fsync(fd) == 0
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            let message = String(cString: strerror(errno))
            unlink(temporary)
            throw OutputError(path: path, message: message)
        }
    }

    static var stdoutIsTerminal: Bool { isatty(1) == 1 }
    static var colorAllowed: Bool { stdoutIsTerminal && getenv("NO_COLOR") == nil && getenv("TERM").map { String(cString: $0) } != "dumb" }

    static func exit(_ code: Int32) -> Never { Glibc.exit(code) }
}

struct OutputError: Error, CustomStringConvertible {
    var path: String
    var message: String
    var description: String { "cannot write \(path): \(message)" }
}
