import Foundation
import RBCore
import RBImages
import RBScan
import RBTestSupport
import Testing

/// Carving through vendor blobs: nothing after a stream or an unsized container is left unseen,
/// and a filesystem that cannot be read is named with its offset and the reason.
@Suite("Carving never stops early", .serialized)
struct CarvingTests {
    static let example = Repository.root + "/Examples/camera-rootfs"

    /// [vendor header][raw LZMA kernel, no length anywhere][padding][squashfs 1 MiB further on].
    @Test(arguments: ["lzma", "gzip", "xz", "bzip2", "zstd", "lz4"])
    func filesystemAfterACompressedKernelIsFound(codec: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let compress = ["lzma": "xz --format=lzma -c", "gzip": "gzip -9nc", "xz": "xz -c", "bzip2": "bzip2 -c",
                        "zstd": "zstd -q -c", "lz4": "lz4 -q -c"][codec]!
        // The "kernel": compressible bytes with no container magic inside.
        try ImageFixtures.sh("""
            python3 -c "import sys; sys.stdout.buffer.write(b''.join(b'kernel text %08d\\n' % i for i in range(60000)))" > kernel && \
            \(compress) kernel > kernel.c && \
            mksquashfs \(Self.example) rootfs.sqfs -comp xz -noappend -quiet && \
            { printf 'HDR-CAMFW-3.1'; head -c 499 /dev/zero; cat kernel.c; head -c 1048576 /dev/zero; cat rootfs.sqfs; } > fw.bin
            """, in: dir.path)
        let kernelSize = try FileManager.default.attributesOfItem(atPath: dir.url("kernel.c"))[.size] as! Int
        let squashfsOffset = 512 + kernelSize + 1_048_576
        let analysis = try Inspector.analyze(dir.url("fw.bin"))
        let labels = analysis.containers.map(\.label)
        #expect(labels == ["\(codec)@0x200", "squashfs@0x" + String(squashfsOffset, radix: 16)], "\(labels)")
        // The stream's size is its exact compressed length.
        #expect(analysis.containers.first?.size == UInt64(kernelSize))
        #expect(analysis.containers.first?.details["decompressed"] == String(60000 * 21))
        #expect(analysis.filesystems.count == 1)
        #expect(analysis.diagnostics.filter { $0.level == .error }.isEmpty, "\(analysis.diagnostics)")
    }

    /// A clean squashfs, a gzip blob, then a squashfs that starts telnetd: the second root
    /// filesystem is scanned (it used to be skipped, a false pass).
    @Test func secondRootFilesystemBehindAStreamIsScanned() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try ImageFixtures.sh("""
            mkdir -p clean/etc && echo 'hostname cam' > clean/etc/hostname && \
            mksquashfs clean a.sqfs -comp gzip -noappend -quiet && \
            mksquashfs \(Self.example) b.sqfs -comp xz -noappend -quiet && \
            head -c 20000 /dev/urandom | gzip -c > blob.gz && \
            cat a.sqfs blob.gz b.sqfs > fw.bin
            """, in: dir.path)
        let analysis = try Inspector.analyze(dir.url("fw.bin"))
        #expect(analysis.filesystems.count == 2)
        #expect(analysis.containers.map(\.format) == ["squashfs", "gzip", "squashfs"])
        let report = await ScanSession.run(ScanSession.Options(targets: [dir.url("fw.bin")],
                                                               baseline: Repository.baselines + "/red-baseline-2.1.yaml",
                                                               ruleDirectories: [Repository.rules]))
        #expect(report.findings.contains { $0.ruleID == "RB-IFC-001" }, "telnetd in the second filesystem")
        #expect(report.exitStatus == .gateFailed)
    }

    /// A blob whose only filesystem cannot be read names it, its offset and the exact reason.
    @Test func unreadableFilesystemIsNamedWithOffsetAndReason() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try ImageFixtures.sh("""
            mksquashfs \(Self.example) lzo.sqfs -comp lzo -noappend -quiet && \
            { head -c 4096 /dev/zero; head -c 70000 /dev/urandom | xz --format=lzma -c; cat lzo.sqfs; } > fw.bin
            """, in: dir.path)
        let size = try FileManager.default.attributesOfItem(atPath: dir.url("fw.bin"))[.size] as! Int
        let lzoSize = try FileManager.default.attributesOfItem(atPath: dir.url("lzo.sqfs"))[.size] as! Int
        let analysis = try Inspector.analyze(dir.url("fw.bin"))
        #expect(analysis.filesystems.isEmpty)
        let d = try #require(analysis.diagnostics.first { $0.code == "image.unsupported" })
        #expect(d.message == "unsupported squashfs compression: lzo (the system libsquashfs is built without it)")
        #expect(d.location?.offset == size - lzoSize)
        let targets = TargetResolver(limits: ScanLimits()).resolve([dir.url("fw.bin")])
        #expect(targets.targets.isEmpty)
        #expect(targets.diagnostics.contains { $0.code == "target.no-filesystem" })
        #expect(targets.diagnostics.contains { $0.message.contains("lzo") && $0.location?.offset == size - lzoSize })
    }

    /// A uImage whose header claims gzip while its payload is a raw squashfs: read as it is,
    /// with a warning (vendors mislabel payloads; U-Boot never decompresses a rootfs itself).
    @Test func mislabelledUImagePayloadIsReadAsItIs() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try ImageFixtures.sh("""
            mksquashfs \(Self.example) rootfs.sqfs -comp xz -noappend -quiet && \
            mkimage -A arm -O linux -T filesystem -C gzip -n rootfs -d rootfs.sqfs fw.uimg >/dev/null
            """, in: dir.path)
        let analysis = try Inspector.analyze(dir.url("fw.uimg"))
        #expect(analysis.filesystems.map { Array($0.chain.dropFirst()) } == [["uImage@0x0", "raw@0x40", "squashfs@0x0"]])
        #expect(analysis.diagnostics.contains { $0.code == "image.mislabelled" && $0.level == .warning })
    }

    /// A JFFS2 image whose `etc` directory entry is damaged (as a bad flash page does it) loses
    /// the whole `etc/` tree from its paths. That is never a warning-only pass: the damage is an
    /// error, and the orphaned directory is recovered under lost+found/ with its files, so their
    /// contents are still scanned.
    @Test(arguments: [true, false])
    func damagedJFFS2EntriesAreErrorsAndRecovered(littleEndian: Bool) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try ImageFixtures.sh("""
            mkdir -p src/etc src/bin && printf '::respawn:/usr/sbin/telnetd -F\\n' > src/etc/inittab && echo x > src/bin/tool && \
            mkfs.jffs2 \(littleEndian ? "-l" : "-b") -r src -o fs.jffs2
            """, in: dir.path)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.url("fs.jffs2"))))
        func u16(_ at: Int) -> Int { littleEndian ? Int(bytes[at]) | Int(bytes[at + 1]) << 8 : Int(bytes[at]) << 8 | Int(bytes[at + 1]) }
        func u32(_ at: Int) -> Int { littleEndian ? u16(at) | u16(at + 2) << 16 : u16(at) << 16 | u16(at + 2) }
        var offset = 0
        var etc: Int?
        while offset + 12 <= bytes.count {
            guard u16(offset) == 0x1985 else { offset += 4; continue }
            if u16(offset + 2) == 0xe001, String(decoding: bytes[(offset + 40)..<(offset + 40 + Int(bytes[offset + 28]))], as: UTF8.self) == "etc" {
                etc = offset
            }
            offset += (u32(offset + 4) + 3) & ~3
        }
        let at = try #require(etc)
        bytes[at + 41] ^= 0x20   // one bit of the name: the node CRC no longer matches
        try Data(bytes).write(to: URL(fileURLWithPath: dir.url("damaged.jffs2")))
        let analysis = try Inspector.analyze(dir.url("damaged.jffs2"))
        let errors = analysis.diagnostics.filter { $0.level == .error }.map(\.code)
        #expect(errors.contains("image.crc-mismatch") && errors.contains("image.lost-entries"), "\(analysis.diagnostics)")
        let tree = try #require(analysis.filesystems.first?.node.tree)
        #expect(tree.index.entry(at: "bin/tool") != nil && tree.index.entry(at: "etc") == nil)
        let recovered = tree.index.entries.filter { $0.path.hasPrefix("lost+found/") && $0.path.hasSuffix("/inittab") }
        #expect(recovered.count == 1, "\(tree.index.entries.map(\.path))")
        if let inittab = recovered.first {
            #expect(String(decoding: try tree.read(inittab, limit: 1 << 20).bytes, as: UTF8.self).contains("telnetd"))
        }
        // The whole scan is incomplete (exit 3), not a pass.
        let result = try runProcess(Repository.rbscanBinary, ["scan", dir.url("damaged.jffs2"), "--fail-on", "never"])
        #expect(result.status == 3, "\(result.stdout)\(result.stderr)")
    }

    /// Obsolete JFFS2 nodes (the kernel clears the ACCURATE bit of replaced nodes on NOR flash,
    /// leaving the CRC computed with it set) are skipped silently, not reported as bad CRCs.
    @Test(arguments: [true, false])
    func obsoleteJFFS2NodesAreNotCRCErrors(littleEndian: Bool) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try ImageFixtures.sh("""
            mkdir -p src/etc && echo 'keep' > src/etc/kept && echo 'gone' > src/etc/removed && \
            mkfs.jffs2 \(littleEndian ? "-l" : "-b") -r src -o fs.jffs2
            """, in: dir.path)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.url("fs.jffs2"))))
        func u16(_ at: Int) -> Int { littleEndian ? Int(bytes[at]) | Int(bytes[at + 1]) << 8 : Int(bytes[at]) << 8 | Int(bytes[at + 1]) }
        func u32(_ at: Int) -> Int { littleEndian ? u16(at) | u16(at + 2) << 16 : u16(at) << 16 | u16(at + 2) }
        // Find the dirent of etc/removed, then obsolete it and every inode node of its file.
        var nodes: [(offset: Int, type: Int)] = []
        var offset = 0
        while offset + 12 <= bytes.count {
            guard u16(offset) == 0x1985 else { offset += 4; continue }
            nodes.append((offset, u16(offset + 2)))
            offset += (u32(offset + 4) + 3) & ~3
        }
        let dirent = try #require(nodes.first { node in
            node.type == 0xe001 && String(decoding: bytes[(node.offset + 40)..<(node.offset + 40 + Int(bytes[node.offset + 28]))], as: UTF8.self) == "removed"
        })
        let ino = u32(dirent.offset + 20)
        var obsoleted = 0
        for node in nodes where node.offset == dirent.offset || (node.type == 0xe002 && u32(node.offset + 12) == ino) {
            bytes[node.offset + (littleEndian ? 3 : 2)] &= ~0x20
            obsoleted += 1
        }
        #expect(obsoleted >= 2)
        try Data(bytes).write(to: URL(fileURLWithPath: dir.url("obsolete.jffs2")))
        let analysis = try Inspector.analyze(dir.url("obsolete.jffs2"))
        #expect(analysis.diagnostics.isEmpty, "\(analysis.diagnostics)")
        let node = try #require(analysis.filesystems.first?.node)
        #expect(node.details["obsoleteNodes"] == String(obsoleted))
        let tree = try #require(node.tree)
        #expect(tree.index.entry(at: "etc/kept") != nil)
        #expect(tree.index.entry(at: "etc/removed") == nil)
        #expect(tree.indexDiagnostics.isEmpty, "\(tree.indexDiagnostics)")
    }

    /// A blob in which nothing is recognised says whether it looks encrypted (entropy near 8
    /// bits/byte) or is an unsupported plain format: never a bare "unknown format".
    @Test func unrecognisedBlobsSayWhatTheyLookLike() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var generator = SplitMix(seed: 3)
        try Data((0..<200_000).map { _ in UInt8(truncatingIfNeeded: generator.next()) }).write(to: URL(fileURLWithPath: dir.url("enc.bin")))
        let plainBytes: [UInt8] = (0..<200_000).map { (i: Int) -> UInt8 in i % 7 == 0 ? 0 : UInt8(0x41 + i % 5) }
        try Data(plainBytes).write(to: URL(fileURLWithPath: dir.url("plain.bin")))
        let resolver = TargetResolver(limits: ScanLimits())
        let encrypted = try #require(resolver.resolve([dir.url("enc.bin")]).diagnostics.first { $0.code == "target.no-filesystem" })
        #expect(encrypted.message.contains("looks encrypted or compressed with an unknown scheme (entropy 8.0 bits/byte)"), "\(encrypted.message)")
        let plain = try #require(resolver.resolve([dir.url("plain.bin")]).diagnostics.first { $0.code == "target.no-filesystem" })
        #expect(plain.message.contains("an unsupported format, not encrypted"), "\(plain.message)")
    }
}
