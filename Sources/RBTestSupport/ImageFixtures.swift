import Foundation
import RBCore
import RBCrypto

#if canImport(Glibc)
import Glibc
#endif

/// The fixture tree every image format is built from, and a comparable snapshot of any tree.
public enum ImageFixtures {
    /// Files, directories, symlinks (relative, absolute, dangling), a SUID binary, a 0777 file,
    /// a non-root owner and a larger binary file spanning several squashfs blocks.
    public static func makeSourceTree(at root: String) throws {
        try FixtureWriter.write([
            "etc/inittab": .file("::sysinit:/etc/init.d/rcS\n::respawn:/usr/sbin/telnetd -F\n"),
            "etc/init.d/rcS": .file("#!/bin/sh\nmount -a\nsyslogd -R 192.0.2.1\n", mode: 0o755),
            "etc/sysctl.conf": .file("kernel.randomize_va_space = 0\n"),
            "etc/shadow": .file("root::19000:0:99999:7:::\n", mode: 0o600),
            "bin/busybox": .file("\u{7f}ELF BusyBox v1.31.1 multi-call binary\n", mode: 0o755),
            "bin/sh": .symlink("busybox"),
            "usr/bin/world": .file("anyone may change me\n", mode: 0o777),
            "usr/lib/libfoo.so.1": .symlink("/usr/lib/libfoo.so.1.2"),
            "usr/lib/dangling": .symlink("../nowhere"),
            "home/user/notes.txt": .file("owned by a user\n", mode: 0o640),
            "var/empty": .directory(mode: 0o755),
            "tmp": .directory(mode: 0o1777),
        ], into: root)
        // A binary file over several 128 KiB blocks, with a fragment-sized tail.
        var generator = SplitMix(seed: 42)
        let big = Data((0..<(300 * 1024 + 123)).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
        try big.write(to: URL(fileURLWithPath: root + "/usr/lib/libfoo.so.1.2"))
        chmod(root + "/usr/lib/libfoo.so.1.2", 0o755)
        chmod(root + "/bin/busybox", 0o4755)
        chmod(root + "/usr/bin/world", 0o777)
        chmod(root + "/tmp", 0o1777)
        _ = chown(root + "/home/user", 1234, 5678)
        _ = chown(root + "/home/user/notes.txt", 1234, 5678)
        // Special files are kept as metadata: a FIFO, a hard link and (as root) a device node.
        mkfifo(root + "/var/log-fifo", 0o600)
        link(root + "/etc/inittab", root + "/etc/inittab.hardlink")
        if getuid() == 0 { mknod(root + "/dev-null", S_IFCHR | 0o666, dev_t(1 << 8 | 3)) }
    }

    /// What must survive a round trip through an image format.
    public struct EntrySnapshot: Hashable, CustomStringConvertible, Sendable {
        public var type: FileType
        public var mode: UInt32
        public var uid: UInt32
        public var gid: UInt32
        public var link: String?
        public var sha256: String?

        public var description: String {
            "\(type.rawValue) \(String(mode, radix: 8)) \(uid):\(gid)" + (link.map { " -> \($0)" } ?? "") + (sha256.map { " \($0.prefix(12))" } ?? "")
        }
    }

    /// Path → snapshot of every entry below the root.
    public static func snapshot(_ tree: any FileTree) throws -> [String: EntrySnapshot] {
        var result: [String: EntrySnapshot] = [:]
        for entry in tree.index.entries where !entry.path.isEmpty {
            var hash: String?
            if entry.type == .file {
                let bytes = try tree.read(entry, limit: Int.max).bytes
                hash = Digest.sha256Hex(bytes)
                // Streaming in small overlapping pieces gives the same bytes as reading whole.
                var streamed: [UInt8] = []
                try tree.stream(entry, limit: Int.max, chunk: 777, overlap: 5) { piece, offset in
                    streamed += piece[(streamed.count - offset)...]
                    return true
                }
                if streamed != bytes { hash = "streamed bytes differ from read bytes (\(streamed.count) vs \(bytes.count))" }
            }
            result[entry.path] = EntrySnapshot(type: entry.type, mode: entry.mode, uid: entry.uid, gid: entry.gid,
                                               link: entry.linkTarget, sha256: hash)
        }
        return result
    }

    /// Differences between two snapshots, one line each; empty when they agree.
    public static func differences(_ expected: [String: EntrySnapshot], _ actual: [String: EntrySnapshot],
                                   ignoreOwners: Bool = false) -> [String] {
        var lines: [String] = []
        for path in Set(expected.keys).union(actual.keys).sorted() {
            guard var a = actual[path] else { lines.append("missing \(path)"); continue }
            guard var e = expected[path] else { lines.append("unexpected \(path)"); continue }
            if ignoreOwners { a.uid = 0; a.gid = 0; e.uid = 0; e.gid = 0 }
            if a != e { lines.append("\(path): expected \(e), got \(a)") }
        }
        return lines
    }

    /// Runs a shell command line (fixture building with real tools); throws with its output on failure.
    @discardableResult
    public static func sh(_ command: String, in directory: String? = nil) throws -> String {
        let result = try runProcess("/bin/sh", ["-c", command], currentDirectory: directory)
        guard result.status == 0 else {
            throw TestSupportError("`\(command)` failed (\(result.status)): \(result.stderr)\(result.stdout)")
        }
        return result.stdout
    }
}

/// A small deterministic generator for fixture bytes, corruption seeds and random test inputs
/// (the messages of a failing test are the same on every run).
public struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
