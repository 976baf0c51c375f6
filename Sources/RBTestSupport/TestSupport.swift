import Foundation
import RBCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A private temporary directory, removed by `remove()` (tests call it in `defer`).
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(prefix: String = "rbscan-test") throws {
        var template = Array("\(NSTemporaryDirectory().hasSuffix("/") ? NSTemporaryDirectory() : NSTemporaryDirectory() + "/")\(prefix)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw TestSupportError("mkdtemp failed: \(String(cString: strerror(errno)))") }
        path = String(cString: made)
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
        // FileManager gives up on trees deeper than PATH_MAX; rm -rf does not.
        if FileManager.default.fileExists(atPath: path),
           let rm = try? Process.run(URL(fileURLWithPath: "/bin/rm"), arguments: ["-rf", path]) {
            rm.waitUntilExit()
        }
    }

    public func url(_ relative: String) -> String { path + "/" + relative }

    /// A directory shared by a suite's tests through a static (built once, used by many), so
    /// no test can remove it: it is removed when the test process exits.
    public static func removedAtExit(prefix: String) throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory(prefix: prefix)
        _ = exitCleanup
        exitRemovals.withLock { $0.append(directory) }
        return directory
    }
}

/// The shared directories `TemporaryDirectory.removedAtExit` made, removed by one exit handler.
private let exitRemovals = Mutex<[TemporaryDirectory]>([])
private let exitCleanup: Void = {
    atexit {
        for directory in exitRemovals.withLock({ $0 }) { directory.remove() }
    }
}()

public struct TestSupportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Writes a fixture tree to disk: `path → content` with optional mode; parents are created.
/// `link:` entries become symlinks. Used to build real root filesystems for end-to-end tests.
public enum FixtureWriter {
    public enum Item: Sendable {
        case file(String, mode: mode_t = 0o644)
        /// Raw content (binaries).
        case bytes([UInt8])
        case directory(mode: mode_t = 0o755)
        case symlink(String)
    }

    public static func write(_ items: [String: Item], into root: String) throws {
        let fm = FileManager.default
        for (relative, item) in items.sorted(by: { $0.key < $1.key }) {
            let path = root + "/" + relative
            let parent = (path as NSString).deletingLastPathComponent
            try fm.createDirectory(atPath: parent, withIntermediateDirectories: true)
            switch item {
            case .file(let content, let mode):
                guard fm.createFile(atPath: path, contents: Data(content.utf8)) else { throw TestSupportError("cannot write \(path)") }
                chmod(path, mode)
            case .bytes(let content):
                guard fm.createFile(atPath: path, contents: Data(content)) else { throw TestSupportError("cannot write \(path)") }
            case .directory(let mode):
                try fm.createDirectory(atPath: path, withIntermediateDirectories: true)
                chmod(path, mode)
            case .symlink(let target):
                guard symlink(target, path) == 0 else { throw TestSupportError("symlink \(path): \(String(cString: strerror(errno)))") }
            }
        }
    }
}

/// Locations in the repository, found from this file's path.
public enum Repository {
    /// The checkout's root directory.
    public static var root: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }

    public static var rules: String { root + "/Rules" }
    public static var baselines: String { root + "/Baselines" }

    /// The built `rbscan` executable beside the test bundle.
    public static var rbscanBinary: String {
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("rbscan").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir.deleteLastPathComponent()
        }
        return root + "/.build/debug/rbscan"
    }
}

/// The result of running a program.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// The rule cache of the rbscan processes tests start (`RBSCAN_CACHE_DIR`).
public let testCacheDirectory = (NSTemporaryDirectory().hasSuffix("/") ? NSTemporaryDirectory() : NSTemporaryDirectory() + "/")
    + "rbscan-test-cache-\(getuid())"

/// Runs a program to completion with its output captured.
public func runProcess(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                       currentDirectory: String? = nil) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var environment = environment ?? [:]
    // rbscan's rule cache goes to a temporary directory, never to the user's ~/.cache.
    if environment["RBSCAN_CACHE_DIR"] == nil && ProcessInfo.processInfo.environment["RBSCAN_CACHE_DIR"] == nil {
        environment["RBSCAN_CACHE_DIR"] = testCacheDirectory
    }
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read both pipes before waiting, so a large report cannot fill a pipe and block.
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProcessResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errData, as: UTF8.self))
}

/// Golden files: compares text with `Golden/NAME` in the calling test target's folder, or
/// rewrites it when RBSCAN_RECORD_GOLDEN=1.
public enum Golden {
    public static func check(_ actual: String, name: String, directory: String) throws -> String? {
        let path = directory + "/" + name
        if ProcessInfo.processInfo.environment["RBSCAN_RECORD_GOLDEN"] == "1" {
            try actual.write(toFile: path, atomically: true, encoding: .utf8)
            return nil
        }
        guard let expected = try? String(contentsOfFile: path, encoding: .utf8) else {
            return "golden file \(path) is missing; run with RBSCAN_RECORD_GOLDEN=1 to create it"
        }
        if expected == actual { return nil }
        let a = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let b = actual.split(separator: "\n", omittingEmptySubsequences: false)
        for i in 0..<max(a.count, b.count) where i >= a.count || i >= b.count || a[i] != b[i] {
            return "\(name) differs at line \(i + 1):\n  expected: \(i < a.count ? String(a[i]) : "<end>")\n  actual:   \(i < b.count ? String(b[i]) : "<end>")\n(RBSCAN_RECORD_GOLDEN=1 rewrites it after a deliberate change)"
        }
        return "\(name) differs"
    }
}

/// The `bin` directory of the tools environment scripts/install-deps makes (the CycloneDX
/// validator, ubi_reader).
public var toolsBin: String {
    let environment = ProcessInfo.processInfo.environment
    let cache = environment["XDG_CACHE_HOME"] ?? ((environment["HOME"] ?? "/root") + "/.cache")
    return (environment["RBSCAN_TOOLS_VENV"] ?? cache + "/rbscan/tools-venv") + "/bin"
}

/// Runs scripts/validate-cyclonedx.py (the CycloneDX project's own validator and schemas) with
/// the tools environment scripts/install-deps makes; status 2 when it is missing.
public func validateCycloneDX(_ path: String) throws -> ProcessResult {
    let python = toolsBin + "/python"
    guard FileManager.default.isExecutableFile(atPath: python) else {
        return ProcessResult(status: 2, stdout: "", stderr: "\(python) is missing: run scripts/install-deps")
    }
    return try runProcess(python, [Repository.root + "/scripts/validate-cyclonedx.py", path])
}

/// Runs scripts/validate-sarif.py (a Python with jsonschema) on `path` against the official SARIF
/// 2.1.0 schema (../shared/schemas, or the copy under Tests/RBReportTests/Schemas).
public func validateSARIF(_ path: String) throws -> ProcessResult {
    let shared = Repository.root + "/../shared/schemas/sarif-schema-2.1.0.json"
    let vendored = Repository.root + "/Tests/RBReportTests/Schemas/sarif-schema-2.1.0.json"
    let schema = FileManager.default.fileExists(atPath: shared) ? shared : vendored
    var last = ProcessResult(status: 2, stdout: "", stderr: "no python3 found")
    for python in ["/usr/bin/env", "/usr/bin/python3"] {
        let arguments = python == "/usr/bin/env" ? ["python3", Repository.root + "/scripts/validate-sarif.py", schema, path]
                                                  : [Repository.root + "/scripts/validate-sarif.py", schema, path]
        guard FileManager.default.isExecutableFile(atPath: python) else { continue }
        last = try runProcess(python, arguments)
        if last.status != 2 { return last }
    }
    return last
}
