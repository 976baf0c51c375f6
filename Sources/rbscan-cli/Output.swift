#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import RBCore
import RBReport
import Synchronization

/// Writing to the standard streams and files without Foundation's globals (strict concurrency).
/// Every write is checked: a report that could not be written is never a silent success.
enum Output {
    /// The first error writing standard output (errno), 0 while none: the exit code becomes 2.
    private static let stdoutFailure = Atomic<Int32>(0)
    /// Whether standard output was closed when rbscan started (then /dev/null holds the
    /// descriptor, so no file opened later can take it, and every write to it counts as failed).
    private static let stdoutClosed = Atomic<Bool>(false)

    /// Makes sure descriptors 0-2 are open before anything else is (a closed standard output
    /// would otherwise be taken by the first file opened, and reports written into it), and
    /// turns SIGPIPE and SIGXFSZ into write errors that are reported instead of killing the
    /// process.
    static func prepareStandardStreams() {
        for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) == -1 && errno == EBADF {
            let null = open("/dev/null", O_RDWR)
            if null >= 0, null != fd {
                dup2(null, fd)
                close(null)
            }
            if fd == 1 { stdoutClosed.store(true, ordering: .relaxed) }
        }
        signal(SIGPIPE, SIG_IGN)
        signal(SIGXFSZ, SIG_IGN)
    }

    static func stdout(_ text: String) {
        if stdoutClosed.load(ordering: .relaxed) {
            _ = stdoutFailure.compareExchange(expected: 0, desired: EBADF, ordering: .relaxed)
            return
        }
        let error = write(fd: 1, text)
        if error != 0 { _ = stdoutFailure.compareExchange(expected: 0, desired: error, ordering: .relaxed) }
    }

    static func stderr(_ text: String) { _ = write(fd: 2, text) }

    /// The first error met writing standard output, if any.
    static var stdoutError: String? {
        let error = stdoutFailure.load(ordering: .relaxed)
        return error == 0 ? nil : String(cString: strerror(error))
    }

    /// Writes all of `text`; returns 0 or the errno that stopped it.
    @discardableResult
    static func write(fd: Int32, _ text: String) -> Int32 {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            if n == 0 { return EIO }
            bytes = bytes.dropFirst(n)
        }
        return 0
    }

    /// Writes `text` to `path` (see `writeFile(_:producing:)`).
    static func writeFile(_ path: String, _ text: String) throws(OutputError) {
        try writeFile(path) { sink in try sink.write(text) }
    }

    /// Writes what `produce` gives its sink to `path`. A regular file (or a new one) is written
    /// through a temporary file in the same directory and a rename, so a reader never sees a
    /// half-written report; anything else that exists (`/dev/null`, `/dev/stdout`, a FIFO) is
    /// written in place and never replaced.
    static func writeFile(_ path: String, producing produce: (any ReportSink) throws -> Void) throws(OutputError) {
        var st = stat()
        let exists = stat(path, &st) == 0
        if exists && (st.st_mode & S_IFMT) != S_IFREG {
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { throw OutputError(path: path, message: String(cString: strerror(errno))) }
            var failure = fill(fd, path: path, produce)
            if close(fd) != 0, failure == nil { failure = OutputError(path: path, message: String(cString: strerror(errno))) }
            if let failure { throw failure }
            return
        }
        // Write, flush and close are all checked before the rename: a full disk leaves the
        // previous report (or none), never a truncated one.
        let temporary = path + ".rbscan-tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, exists ? st.st_mode & 0o777 : 0o644)
        guard fd >= 0 else { throw OutputError(path: path, message: String(cString: strerror(errno))) }
        var failure = fill(fd, path: path, produce)
        if failure == nil, fsync(fd) != 0 { failure = OutputError(path: path, message: String(cString: strerror(errno))) }
        if close(fd) != 0, failure == nil { failure = OutputError(path: path, message: String(cString: strerror(errno))) }
        if failure == nil, rename(temporary, path) != 0 { failure = OutputError(path: path, message: String(cString: strerror(errno))) }
        if let failure {
            unlink(temporary)
            throw failure
        }
    }

    /// Runs `produce` into a buffered sink on `fd`; the first write error, or the producer's own.
    private static func fill(_ fd: Int32, path: String, _ produce: (any ReportSink) throws -> Void) -> OutputError? {
        let sink = DescriptorSink(fd: fd)
        do {
            try produce(sink)
            try sink.flush()
            return nil
        } catch let error as OutputError {
            return OutputError(path: path, message: error.message)
        } catch {
            return OutputError(path: path, message: "\(error)")
        }
    }

    /// Writes what `produce` gives its sink to standard output; a write error is kept for the
    /// exit code (`stdoutError`), as `stdout(_:)` does.
    static func stdout(producing produce: (any ReportSink) throws -> Void) throws {
        if stdoutClosed.load(ordering: .relaxed) {
            _ = stdoutFailure.compareExchange(expected: 0, desired: EBADF, ordering: .relaxed)
            return
        }
        let sink = DescriptorSink(fd: 1)
        do {
            try produce(sink)
            try sink.flush()
        } catch let error as OutputError {
            _ = stdoutFailure.compareExchange(expected: 0, desired: error.errno, ordering: .relaxed)
        }
    }

    static var stdoutIsTerminal: Bool { isatty(1) == 1 }
    static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// Prints the diagnostics of an input that did not load (and a closing line), writes the
    /// requested reports holding those diagnostics (a CI job keeps its report whatever the exit
    /// code), and returns the usage exit (2) to throw.
    static func usageFailure(_ error: DiagnosticError, _ summary: String? = nil, reports: ReportOptions? = nil) -> ExitCode {
        usageFailure(error.diagnostics, summary, reports: reports)
    }

    static func usageFailure(_ diagnostics: [Diagnostic], _ summary: String? = nil, reports: ReportOptions? = nil) -> ExitCode {
        for diagnostic in diagnostics { stderr("\(diagnostic)\n") }
        reports?.writeFailure(diagnostics)
        if let summary { stderr("rbscan: \(summary) (exit 2)\n") }
        return ExitCode(ExitStatus.usage.rawValue)
    }

    /// A one-line progress bar on standard error (`[#####     ] 120/380 rule runs`), redrawn in
    /// place and cleared at the end.
    static func progress(_ finished: Int, _ total: Int) {
        guard total > 0 else { return }
        let width = 30, filled = finished * width / total
        if finished == total {
            stderr("\r\u{1B}[K")
        } else if finished == 1 || finished * 100 / total != (finished - 1) * 100 / total {
            stderr("\r[" + String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled) + "] \(finished)/\(total) rule runs")
        }
    }
    static var colorAllowed: Bool { stdoutIsTerminal && getenv("NO_COLOR") == nil && getenv("TERM").map { String(cString: $0) } != "dumb" }

    static func exit(_ code: Int32) -> Never { Glibc.exit(code) }

    /// Keeps `value` alive until the process exits, so that its memory goes back with the
    /// process instead of being released object by object on the way out (a scan's report of a
    /// few thousand results costs 5-10 ms to tear down, after its last use).
    static func keepUntilExit<T>(_ value: T) {
        _ = Unmanaged.passRetained(KeptUntilExit(value))
    }
}

private final class KeptUntilExit<T> {
    let value: T
    init(_ value: T) { self.value = value }
}

struct OutputError: Error, CustomStringConvertible {
    var path: String
    var message: String
    var errno: Int32 = EIO
    var description: String { "cannot write \(path): \(message)" }
}

/// A report sink on a descriptor, buffered in 1 MiB pieces; the first write error stops it.
final class DescriptorSink: ReportSink {
    private let fd: Int32
    private var buffer = ""

    init(fd: Int32) { self.fd = fd }

    func write(_ text: String) throws {
        buffer += text
        if buffer.utf8.count >= 1 << 20 { try flush() }
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        let error = Output.write(fd: fd, buffer)
        buffer = ""
        if error != 0 { throw OutputError(path: "", message: String(cString: strerror(error)), errno: error) }
    }
}
