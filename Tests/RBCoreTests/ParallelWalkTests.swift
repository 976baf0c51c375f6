import Foundation
@testable import RBCore
import RBTestSupport
import Testing

@Suite("Directory walk on all cores")
struct ParallelWalkTests {
    /// The one-thread walk of `path`, as the tree made it before the walk ran on all cores.
    static func serial(_ path: String, _ limits: ScanLimits) -> (entries: [FileEntry], diagnostics: [Diagnostic]) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { close(fd) }
        var walker = DirectoryTree.Walker(limits: limits)
        var st = stat()
        fstat(fd, &st)
        walker.entries.append(FileEntry(path: "", type: .directory, mode: UInt32(st.st_mode) & 0o7777,
                                        uid: st.st_uid, gid: st.st_gid, mtime: Int64(st.st_mtim.tv_sec)))
        walker.walk(directoryFD: fd, relative: "", depth: 0)
        return (walker.entries, walker.diagnostics)
    }

    /// A tree wide and deep enough that subdirectories go to other workers: 40 directories of
    /// up to 3 levels, files, links (one dangling, one to a directory, one out of the root), a
    /// name that is not UTF-8.
    static func makeTree(_ dir: TemporaryDirectory) throws {
        var files: [String: FixtureWriter.Item] = [:]
        for a in 0..<8 {
            for b in 0..<5 {
                files["d\(a)/s\(b)/f.txt"] = .file("x\(a)\(b)\n")
                if b % 2 == 0 { files["d\(a)/s\(b)/deep/er/g.bin"] = .bytes([0, UInt8(a), UInt8(b)]) }
            }
            files["d\(a)/top"] = .file("t\n")
        }
        try FixtureWriter.write(files, into: dir.path)
        symlink("d1/s1", dir.url("link-to-dir"))
        symlink("/etc/passwd", dir.url("link-out"))
        symlink("nowhere", dir.url("dangling"))
        var raw = Array((dir.url("d2") + "/name-").utf8)
        raw += [0xFF, 0x00]
        _ = raw.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { creat($0.baseAddress!, 0o644) }
        }
    }

    @Test("Same entries, in the same order, and the same diagnostics as the one-thread walk")
    func matchesTheSerialWalk() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.makeTree(dir)
        for limits in [ScanLimits(), { var l = ScanLimits(); l.maxDepth = 2; return l }()] {
            let tree = try DirectoryTree(directory: dir.path, limits: limits)
            let expected = Self.serial(dir.path, limits)
            #expect(tree.index.entries.count == expected.entries.count)
            #expect(tree.index.entries.map(\.path) == PathIndex(expected.entries).entries.map(\.path))
            #expect(tree.index.entries == PathIndex(expected.entries).entries)
            #expect(tree.indexDiagnostics == expected.diagnostics)
            if limits.maxDepth == 2 {
                #expect(tree.indexDiagnostics.contains { $0.code == "tree.depth-limit" })
            }
            // Every regular file reads (its identity was kept).
            for entry in tree.index.entries where entry.type == .file {
                #expect(throws: Never.self) { _ = try tree.read(entry, limit: 16) }
            }
        }
    }

    @Test("Past the entry limit the one-thread walk decides which entries are kept")
    func entryLimitFallsBackToTheSerialWalk() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.makeTree(dir)
        for maxEntries in [1, 7, 50, 120] {
            var limits = ScanLimits()
            limits.maxEntries = maxEntries
            let tree = try DirectoryTree(directory: dir.path, limits: limits)
            let expected = Self.serial(dir.path, limits)
            #expect(tree.index.entries == PathIndex(expected.entries).entries)
            #expect(tree.indexDiagnostics == expected.diagnostics)
            #expect(tree.indexDiagnostics.contains { $0.code == "tree.entry-limit" })
        }
    }
}
