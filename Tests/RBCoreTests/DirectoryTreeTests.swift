import Foundation
import RBCore
import RBTestSupport
import Testing

@Suite("DirectoryTree and chroot-safe link resolution")
struct DirectoryTreeTests {
    @Test("stream: pieces of at most chunk new bytes, each starting with the previous piece's last overlap bytes, offsets exact; early stop")
    func streamsInOverlappingPieces() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let content = (0..<10_007).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        try FixtureWriter.write(["blob": .bytes(content), "empty": .bytes([])], into: dir.path)
        let tree = try DirectoryTree(directory: dir.path)
        let entry = try #require(tree.index.entry(at: "blob"))
        var rebuilt: [UInt8] = []
        var pieces = 0
        try tree.stream(entry, limit: .max, chunk: 1000, overlap: 16) { piece, offset in
            #expect(Array(piece) == Array(content[offset..<(offset + piece.count)]))
            #expect(piece.count <= 1016)
            if pieces > 0 { #expect(offset == rebuilt.count - 16) }
            rebuilt.append(contentsOf: piece.dropFirst(pieces > 0 ? 16 : 0))
            pieces += 1
            return true
        }
        #expect(rebuilt == content)
        #expect(pieces == 11)
        var seen = 0
        try tree.stream(entry, limit: 2500, chunk: 1000, overlap: 0) { piece, _ in seen += piece.count; return seen < 1000 }
        #expect(seen == 1000)
        var total = 0
        try tree.stream(entry, limit: 2500, chunk: 1000, overlap: 0) { piece, _ in total += piece.count; return true }
        #expect(total == 2500)
        var calls = 0
        try tree.stream(try #require(tree.index.entry(at: "empty")), limit: .max, chunk: 1000, overlap: 8) { _, _ in calls += 1; return true }
        #expect(calls == 0)
    }

    @Test("An opened file answers every read from one open: a binary's verdict then its whole content streamed; late NULs and text read whole")
    func openedFileServesSeveralReads() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let binary = [0x7f, 0x45, 0x4c, 0x46, 0] + (0..<30_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let lateNUL = [UInt8](repeating: 0x41, count: 20_000) + [0] + (0..<3_000).map { UInt8(truncatingIfNeeded: $0) }
        try FixtureWriter.write(["bin": .bytes(binary), "late": .bytes(lateNUL), "text": .file("line one\nline two\n")], into: dir.path)
        let tree = try DirectoryTree(directory: dir.path)
        // The read-ahead pass's sequence: the verdict, then the binary streamed from offset 0.
        let opened = try tree.opened(try #require(tree.index.entry(at: "bin")))
        #expect(try opened.readUnlessBinary(limit: .max) == nil)
        var streamed: [UInt8] = []
        try opened.stream(limit: .max, chunk: 4096, overlap: 0) { piece, _ in streamed += piece; return true }
        #expect(streamed == binary)
        #expect(try opened.read(limit: .max).bytes == binary)
        #expect(try opened.read(limit: 100).bytes == Array(binary.prefix(100)))
        // A NUL past the first 8 KiB: text by the verdict, read whole.
        let late = try tree.opened(try #require(tree.index.entry(at: "late")))
        #expect(try late.readUnlessBinary(limit: .max)?.bytes == lateNUL)
        let text = try tree.opened(try #require(tree.index.entry(at: "text")))
        #expect(try text.readUnlessBinary(limit: .max)?.text == "line one\nline two\n")
        #expect(try text.readUnlessBinary(limit: 4)?.truncated == true)
    }

    @Test func keepsMetadata() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FixtureWriter.write([
            "bin/busybox": .file("BusyBox v1.36", mode: 0o4755),
            "bin/sh": .symlink("busybox"),
            "tmp": .directory(mode: 0o1777),
            "etc/passwd": .file("root:x:0:0::/root:/bin/sh\n"),
        ], into: dir.path)
        chmod(dir.url("bin/busybox"), 0o4755)
        let tree = try DirectoryTree(directory: dir.path)
        let busybox = try #require(tree.index.entry(at: "bin/busybox"))
        #expect(busybox.type == .file)
        #expect(busybox.octalMode == "4755")
        #expect(busybox.size == 13)
        #expect(tree.index.entry(at: "bin/sh")?.linkTarget == "busybox")
        #expect(tree.index.entry(at: "tmp")?.octalMode == "1777")
        #expect(tree.resolve("bin/sh")?.path == "bin/busybox")
        #expect(tree.index.entry(at: "")?.type == .directory)
        #expect(tree.indexDiagnostics.isEmpty)
    }

    /// The acceptance test: an absolute link inside the scanned root that points at a private
    /// key on the host must never be read; it resolves inside the root (chroot semantics).
    @Test func absoluteLinkToHostKeyIsNotRead() throws {
        let host = try TemporaryDirectory(prefix: "rbscan-hostkey")
        let root = try TemporaryDirectory(prefix: "rbscan-root")
        defer { host.remove(); root.remove() }
        let secret = "-----BEGIN OPENSSH PRIVATE KEY-----\nHOSTSECRET\n-----END OPENSSH PRIVATE KEY-----\n"
        try FixtureWriter.write(["id_rsa": .file(secret, mode: 0o600)], into: host.path)
        try FixtureWriter.write([
            "etc/ssl/private/server.key": .symlink(host.url("id_rsa")),
            "etc/escape.key": .symlink("../../../../../../../../" + host.url("id_rsa")),
            "etc/inside.key": .symlink("/etc/real.key"),
            "etc/real.key": .file("inside the root\n"),
        ], into: root.path)
        let tree = try DirectoryTree(directory: root.path)
        // Resolved inside the root, the host path does not exist: the link dangles.
        #expect(tree.resolve("etc/ssl/private/server.key") == nil)
        #expect(tree.resolve("etc/escape.key") == nil)
        // An absolute link to something inside the root resolves to it.
        #expect(tree.resolve("etc/inside.key")?.path == "etc/real.key")
        // Reading the link entry itself is refused: it is not a regular file.
        let link = try #require(tree.index.entry(at: "etc/ssl/private/server.key"))
        #expect(throws: FileTreeError.self) { try tree.read(link, limit: 1 << 20) }
        // Selecting files through globs never yields the host file.
        let files = tree.regularFiles(matching: [try Glob("**")])
        #expect(files.map(\.path) == ["etc/real.key"])
        for file in files {
            #expect(!(try tree.read(file, limit: 1 << 20).text.contains("HOSTSECRET")))
        }
    }

    @Test func fileSwappedForALinkAfterIndexingIsRefused() throws {
        let host = try TemporaryDirectory(prefix: "rbscan-hostkey")
        let root = try TemporaryDirectory(prefix: "rbscan-root")
        defer { host.remove(); root.remove() }
        try FixtureWriter.write(["secret": .file("HOSTSECRET\n")], into: host.path)
        try FixtureWriter.write(["etc/config": .file("harmless\n")], into: root.path)
        let tree = try DirectoryTree(directory: root.path)
        let entry = try #require(tree.index.entry(at: "etc/config"))
        unlink(root.url("etc/config"))
        symlink(host.url("secret"), root.url("etc/config"))
        #expect(throws: FileTreeError.self) { try tree.read(entry, limit: 1 << 20) }
        #expect(throws: FileTreeError.self) { _ = try tree.opened(entry) }
        // A replaced directory component is caught by the inode check too.
        try FileManager.default.removeItem(atPath: root.url("etc"))
        symlink(host.path, root.url("etc"))
        #expect(throws: FileTreeError.self) { try tree.read(entry, limit: 1 << 20) }
    }

    @Test func linkLoopsAndDeepChainsEnd() throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }
        try FixtureWriter.write(["a": .symlink("b"), "b": .symlink("a"), "c": .symlink("/c")], into: root.path)
        let tree = try DirectoryTree(directory: root.path)
        #expect(tree.resolve("a") == nil)
        #expect(tree.resolve("c") == nil)
    }

    @Test func readRespectsTheLimit() throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }
        try FixtureWriter.write(["big": .file(String(repeating: "x", count: 10_000))], into: root.path)
        let tree = try DirectoryTree(directory: root.path)
        let content = try tree.read(try #require(tree.index.entry(at: "big")), limit: 100)
        #expect(content.bytes.count == 100)
        #expect(content.truncated)
    }

    @Test func entryAndDepthLimitsAreReportedNotSilent() throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }
        try FixtureWriter.write(["a/b/c/d/e/f": .file("x"), "g": .file("y"), "h": .file("z")], into: root.path)
        var limits = ScanLimits()
        limits.maxEntries = 3
        let few = try DirectoryTree(directory: root.path, limits: limits)
        #expect(few.indexDiagnostics.map(\.code) == ["tree.entry-limit"])
        #expect(few.index.count <= 4)
        limits = ScanLimits()
        limits.maxDepth = 2
        let shallow = try DirectoryTree(directory: root.path, limits: limits)
        #expect(shallow.indexDiagnostics.map(\.code) == ["tree.depth-limit"])
        #expect(shallow.index.entry(at: "a/b/c/d/e/f") == nil)
        #expect(shallow.index.entry(at: "g") != nil)
    }

    @Test func contentCacheKeepsVerdictsAndTextWithinBudget() {
        let cache = ContentCache(budget: 10, largestFile: 8)
        cache.storeBinary("bin/x")
        cache.storeText("a", FileContent(bytes: Array("12345".utf8)))
        cache.storeText("b", FileContent(bytes: Array("123456".utf8)))   // over the budget: not kept
        cache.storeText("c", FileContent(bytes: Array("123456789".utf8))) // larger than a file may be
        cache.storeText("d", FileContent(bytes: Array("1234".utf8)))
        if case .binary? = cache.lookup("bin/x") {} else { Issue.record("binary verdict lost") }
        if case .text(let a)? = cache.lookup("a") { #expect(a.text == "12345") } else { Issue.record("a not kept") }
        #expect(cache.lookup("b") == nil)
        #expect(cache.lookup("c") == nil)
        #expect(cache.lookup("d") != nil)
    }

    @Test func singleFileTree() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FixtureWriter.write(["device.xml": .file("<a/>\n")], into: dir.path)
        let tree = try DirectoryTree(file: dir.url("device.xml"))
        #expect(tree.index.entries.map(\.path) == ["", "device.xml"])
        #expect(try tree.read(try #require(tree.index.entry(at: "device.xml")), limit: 100).text == "<a/>\n")
        #expect(throws: FileTreeError.self) { try DirectoryTree(file: dir.url("missing.xml")) }
        #expect(throws: FileTreeError.self) { try DirectoryTree(directory: dir.url("missing")) }
    }

    /// Creates `name` (raw bytes) under the directory descriptor `fd`: a directory when
    /// `content` is nil, else a file holding it. Returns the new directory's descriptor (or -1).
    static func make(_ fd: Int32, _ name: [UInt8], content: String? = nil) -> Int32 {
        let cName = (name + [0]).map { CChar(bitPattern: $0) }
        guard let content else {
            mkdirat(fd, cName, 0o755)
            return openat(fd, cName, O_RDONLY | O_DIRECTORY)
        }
        let file = openat(fd, cName, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        _ = Array(content.utf8).withUnsafeBytes { write(file, $0.baseAddress, $0.count) }
        close(file)
        return -1
    }

    @Test("File names that are not UTF-8 are indexed, told apart and read by their own bytes")
    func nonUTF8Names() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = open(dir.path, O_RDONLY | O_DIRECTORY)
        defer { close(root) }
        let etc = Self.make(root, Array("etc".utf8))
        defer { close(etc) }
        _ = Self.make(etc, Array("rc.".utf8) + [0xff], content: "telnetd -l /bin/sh\n")
        _ = Self.make(etc, Array("rc.".utf8) + [0xfe], content: "dropbear\n")
        _ = Self.make(etc, Array("caf\u{e9}".utf8), content: "utf8\n")
        let latin = Self.make(root, [0x64, 0xe9, 0x6a, 0xe0])   // "déjà" in Latin-1: a directory
        defer { close(latin) }
        _ = Self.make(latin, Array("passwd".utf8), content: "root::0:0::/:/bin/sh\n")

        let tree = try DirectoryTree(directory: dir.path)
        #expect(tree.indexDiagnostics.isEmpty, "\(tree.indexDiagnostics)")
        let paths = Set(tree.index.entries.map(\.path))
        #expect(paths.isSuperset(of: ["etc/rc.\\xFF", "etc/rc.\\xFE", "etc/caf\u{e9}", "d\\xE9j\\xE0/passwd"]), "\(paths)")
        func text(_ path: String) throws -> String? { try tree.read(try #require(tree.index.entry(at: path)), limit: 100).text }
        #expect(try text("etc/rc.\\xFF") == "telnetd -l /bin/sh\n")
        #expect(try text("etc/rc.\\xFE") == "dropbear\n")
        #expect(try text("etc/caf\u{e9}") == "utf8\n")
        #expect(try text("d\\xE9j\\xE0/passwd") == "root::0:0::/:/bin/sh\n")
        #expect(DirectoryTree.displayName([0x61, 0xc3, 0xa9, 0xc3, 0x62, 0xf0, 0x9f, 0x98, 0x80]) == "a\u{e9}\\xC3b\u{1F600}")
    }

    @Test("A file deeper than PATH_MAX is indexed and read, one directory at a time")
    func pathsBeyondPathMax() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var fd = open(dir.path, O_RDONLY | O_DIRECTORY)
        let segment = Array(String(repeating: "d", count: 250).utf8)
        for _ in 0..<20 {
            let next = Self.make(fd, segment)
            close(fd)
            fd = next
        }
        _ = Self.make(fd, Array("id_rsa".utf8), content: "-----BEGIN RSA PRIVATE KEY-----\n")
        close(fd)
        let tree = try DirectoryTree(directory: dir.path)
        #expect(tree.indexDiagnostics.isEmpty, "\(tree.indexDiagnostics)")
        let key = try #require(tree.index.entries.first { $0.path.hasSuffix("/id_rsa") })
        #expect(key.path.utf8.count > Int(PATH_MAX))
        #expect(try tree.read(key, limit: 100).text == "-----BEGIN RSA PRIVATE KEY-----\n")
        var pieces = 0
        try tree.stream(key, limit: 100, chunk: 8, overlap: 2) { _, _ in pieces += 1; return true }
        #expect(pieces > 1)
    }
}
