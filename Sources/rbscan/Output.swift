#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import RBCore

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

    /// Writes `text` to `path`. A regular file (or a new one) is written through a temporary
    /// file in the same directory and a rename, so a reader never sees a half-written report;
    /// anything else that exists (`/dev/null`, `/dev/stdout`, a FIFO) is written in place and
    /// never replaced.
    static func writeFile(_ path: String, _ text: String) throws(OutputError) {
        var st = stat()
        let exists = stat(path, &st) == 0
        if exists && (st.st_mode & S_IFMT) != S_IFREG {
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { throw OutputError(path: path, message: String(cString: strerror(errno))) }
            write(fd: fd, text)
            close(fd)
            return
        }
        let temporary = path + ".rbscan-tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, exists ? st.st_mode & 0o777 : 0o644)
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
}

struct OutputError: Error, CustomStringConvertible {
    var path: String
    var message: String
    var description: String { "cannot write \(path): \(message)" }
}
