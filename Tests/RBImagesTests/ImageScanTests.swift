import Foundation
import RBCore
import RBImages
import RBScan
import RBTestSupport
import Testing

/// Rule scans of images against scans of the directory they were made from, vendor-style blobs,
/// nesting, and `rbscan inspect`.
@Suite("Scanning images", .serialized)
struct ImageScanTests {
    static let example = Repository.root + "/Examples/camera-rootfs"

    func findings(_ target: String) async -> Set<String> {
        let report = await ScanSession.run(ScanSession.Options(targets: [target], baseline: Repository.baselines + "/red-baseline-2.1.yaml",
                                                               ruleDirectories: [Repository.rules]))
        // RB-PKG-005/008 judge the image file itself (a FIT's signatures, the image's own
        // signature): a directory has none to judge.
        return Set(report.findings.filter { $0.ruleID != "RB-PKG-008" && $0.ruleID != "RB-PKG-005" }
            .map { "\($0.ruleID) \($0.location.path):\($0.location.line ?? 0) \($0.message)" })
    }

    @Test(arguments: [
        ("rootfs.sqfs", "mksquashfs SRC rootfs.sqfs -comp xz -noappend -quiet"),
        ("rootfs.tar.gz", "tar -C SRC -czf rootfs.tar.gz ."),
        ("rootfs.cpio", "cd SRC && find . | cpio --quiet -o -H newc > OUT/rootfs.cpio"),
        ("rootfs.zip", "cd SRC && zip -qry OUT/rootfs.zip ."),
        ("rootfs.uimg", "mksquashfs SRC r.sq -comp gzip -noappend -quiet && mkimage -A mips -O linux -T filesystem -C none -n rootfs -d r.sq rootfs.uimg >/dev/null"),
        ("rootfs.odc.cpio.xz", "cd SRC && find . | cpio --quiet -o -H odc | xz > OUT/rootfs.odc.cpio.xz"),
        ("rootfs.ext4", "mke2fs -q -t ext4 -d SRC rootfs.ext4 8M"),
        ("rootfs-le.jffs2", "mkfs.jffs2 -l -r SRC -o rootfs-le.jffs2"),
        ("rootfs-be.jffs2", "mkfs.jffs2 -b -x zlib -X rtime -r SRC -o rootfs-be.jffs2"),
        ("rootfs.cramfs", "mkfs.cramfs SRC rootfs.cramfs >/dev/null"),
        ("rootfs-be.cramfs", "mkfs.cramfs SRC le.cramfs >/dev/null && cramfsswap le.cramfs rootfs-be.cramfs >/dev/null"),
        ("rootfs.romfs", "genromfs -d SRC -f rootfs.romfs"),
        ("rootfs-v4-be.sqfs", "python3 \(Repository.root)/Tests/RBImagesTests/Tools/make-squashfs4.py SRC rootfs-v4-be.sqfs --endian be --compression lzma-raw"),
        ("rootfs-v4-nosize.sqfs", "python3 \(Repository.root)/Tests/RBImagesTests/Tools/make-squashfs4.py SRC rootfs-v4-nosize.sqfs --compression lzma-nosize"),
        ("rootfs-v3.sqfs", "python3 \(Repository.root)/Tests/RBImagesTests/Tools/make-squashfs-legacy.py SRC rootfs-v3.sqfs --major 3 --endian le"),
        ("rootfs-v2-be-lzma.sqfs", "python3 \(Repository.root)/Tests/RBImagesTests/Tools/make-squashfs-legacy.py SRC rootfs-v2-be-lzma.sqfs --major 2 --endian be --compression lzma-nosize --magic sqlz"),
        ("rootfs.yaffs2", "python3 \(Repository.root)/Tests/RBImagesTests/Tools/make-yaffs2.py SRC rootfs.yaffs2"),
        ("rootfs-be-4k.yaffs2", "python3 \(Repository.root)/Tests/RBImagesTests/Tools/make-yaffs2.py SRC rootfs-be-4k.yaffs2 --endian be --chunk 4096 --spare 128 --tag-offset 2"),
        ("rootfs.ubifs", "mkfs.ubifs -r SRC -m 2048 -e 126976 -c 64 -x zlib -o rootfs.ubifs"),
        ("cramfs.uimg", "mkfs.cramfs SRC r.cramfs >/dev/null && mkimage -A arm -O linux -T kernel -C gzip -n linux -d r.cramfs cramfs.uimg >/dev/null"),
    ])
    func sameFindingsAsTheDirectory(image: String, command: String) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try ImageFixtures.sh(command.replacingOccurrences(of: "SRC", with: Self.example).replacingOccurrences(of: "OUT", with: dir.path),
                             in: dir.path)
        let fromDirectory = await findings(Self.example)
        let fromImage = await findings(dir.url(image))
        #expect(fromDirectory.count >= 10)
        #expect(fromImage == fromDirectory, "only in the directory: \(fromDirectory.subtracting(fromImage)); only in the image: \(fromImage.subtracting(fromDirectory))")
    }

    /// A vendor blob: an unknown header, an opaque kernel in a uImage, then a squashfs at an odd
    /// offset; and the same blob inside a tar.gz (a tar.gz holding a firmware.bin holding a
    /// uImage and a squashfs).
    @Test func vendorBlobIsFoundScannedAndInspected() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try ImageFixtures.sh("""
            head -c 131072 /dev/urandom > kernel.raw && \
            mkimage -A arm -O linux -T kernel -C none -a 0x80008000 -e 0x80008000 -n 'Linux-5.10' -d kernel.raw kernel.uimg >/dev/null && \
            mksquashfs \(Self.example) rootfs.sqfs -comp xz -noappend -quiet && \
            { printf 'VNDR\\001\\000CAMFW-2.1.7'; head -c 4079 /dev/zero; cat kernel.uimg; printf 'xyz'; cat rootfs.sqfs; head -c 777 /dev/urandom; } > firmware.bin && \
            mkdir pkg && cp firmware.bin pkg/ && echo 'release notes' > pkg/README && tar -C pkg -czf release.tar.gz .
            """, in: dir.path)
        let analysis = try Inspector.analyze(dir.url("firmware.bin"))
        let filesystems = analysis.filesystems
        #expect(filesystems.count == 1)
        let kernelOffset = 4096
        let squashfsOffset = kernelOffset + 64 + 131072 + 3
        #expect(filesystems.first?.chain == [dir.url("firmware.bin"), "squashfs@0x" + String(squashfsOffset, radix: 16)])
        #expect(analysis.containers.map(\.label) == ["uImage@0x" + String(kernelOffset, radix: 16), "squashfs@0x" + String(squashfsOffset, radix: 16)])
        #expect(analysis.containers.first?.details["name"] == "Linux-5.10")
        #expect(analysis.containers.first?.details["dataCRC"] == "ok")
        let text = Inspector.text(analysis)
        #expect(text.contains("uImage@0x1000"))
        #expect(text.contains("compression=xz"))
        let json = try JSONSerialization.jsonObject(with: Data(try Inspector.json(analysis).utf8)) as? [String: Any]
        #expect((json?["containers"] as? [Any])?.count == 2)

        #expect(await findings(dir.url("firmware.bin")) == findings(Self.example))

        let nested = try Inspector.analyze(dir.url("release.tar.gz"))
        let chains = nested.filesystems.map { Array($0.chain.dropFirst()) }
        #expect(chains.contains(["tar+gzip@0x0"]))
        #expect(chains.contains(["tar+gzip@0x0", "firmware.bin@0x0", "squashfs@0x" + String(squashfsOffset, radix: 16)]), "\(chains)")
        #expect(await findings(dir.url("release.tar.gz")).isSuperset(of: findings(Self.example)))
    }

    /// FIT images made by mkimage -f, with embedded data and with external data (-E).
    @Test(arguments: [false, true])
    func fitImagesAreOpened(external: Bool) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try ImageFixtures.sh("""
            head -c 100000 /dev/urandom > kernel.bin && \
            mksquashfs \(Self.example) rootfs.sqfs -comp xz -noappend -quiet && gzip -9nc rootfs.sqfs > rootfs.sqfs.gz && \
            printf '%s\\n' '/dts-v1/;' '/ {' '  description = "camera firmware";' '  #address-cells = <1>;' '  images {' \
              '    kernel-1 { data = /incbin/("kernel.bin"); type = "kernel"; arch = "arm"; os = "linux"; compression = "none"; load = <0x80008000>; entry = <0x80008000>; hash-1 { algo = "sha256"; }; };' \
              '    rootfs-1 { data = /incbin/("rootfs.sqfs.gz"); type = "ramdisk"; arch = "arm"; os = "linux"; compression = "gzip"; hash-1 { algo = "sha256"; }; };' \
              '  };' '  configurations { default = "conf-1"; conf-1 { kernel = "kernel-1"; ramdisk = "rootfs-1"; }; };' '};' > fit.its && \
            mkimage \(external ? "-E " : "")-f fit.its fit.itb >/dev/null
            """, in: dir.path)
        let analysis = try Inspector.analyze(dir.url("fit.itb"))
        #expect(analysis.diagnostics.isEmpty, "\(analysis.diagnostics)")
        let fit = try #require(analysis.containers.first)
        #expect(fit.format == "FIT")
        #expect(fit.details["description"] == "camera firmware")
        #expect(fit.children.map { $0.details["type"] } == ["kernel", "ramdisk"])
        #expect(fit.children.first?.size == 100000)
        let chain = try #require(analysis.filesystems.first?.chain.dropFirst())
        #expect(Array(chain.prefix(1)) == ["FIT@0x0"])
        #expect(chain.last == "squashfs@0x0")
        #expect(chain.contains { $0.hasPrefix("rootfs-1@0x") })
        #expect(await findings(dir.url("fit.itb")) == findings(Self.example))
    }

    /// TRX (Broadcom/OpenWrt) has no packaged tool on Debian: the header is written here
    /// following OpenWrt's firmware-utils trx.c (little endian; CRC-32 from flag_version on,
    /// initial value ~0 and no final inversion, which is ~zlib's CRC-32).
    @Test func trxPartitionsAreOpened() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try ImageFixtures.sh("mksquashfs \(Self.example) rootfs.sqfs -comp xz -noappend -quiet && head -c 65536 /dev/urandom > kernel.bin", in: dir.path)
        let kernel = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.url("kernel.bin"))))
        let rootfs = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.url("rootfs.sqfs"))))
        func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24)] }
        let kernelOffset: UInt32 = 28, rootfsOffset = UInt32(28 + kernel.count)
        let length = rootfsOffset + UInt32(rootfs.count)
        var body = le32(1 << 16) + le32(kernelOffset) + le32(rootfsOffset) + le32(0) + kernel + rootfs
        let crc = ~CRC32Check.zlib(body)
        var image = Array("HDR0".utf8) + le32(length) + le32(crc)
        image += body
        body.removeAll()
        try Data(image).write(to: URL(fileURLWithPath: dir.url("fw.trx")))
        let analysis = try Inspector.analyze(dir.url("fw.trx"))
        let trx = try #require(analysis.containers.first)
        #expect(trx.format == "TRX")
        #expect(trx.details["crc"] == "ok")
        #expect(analysis.filesystems.map { Array($0.chain.dropFirst()) } == [["TRX@0x0", "squashfs@0x" + String(rootfsOffset, radix: 16)]])
    }

    /// A UBI image with a UBIFS volume and a static squashfs volume (as NAND cameras and
    /// OpenWrt NAND targets ship them): both volumes are assembled, named and scanned.
    @Test func ubiVolumesAreAssembledAndScanned() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try ImageFixtures.sh("""
            mksquashfs \(Self.example) rootfs.sqfs -comp xz -noappend -quiet && \
            mkfs.ubifs -r \(Self.example) -m 2048 -e 126976 -c 64 -x lzo -o config.ubifs && \
            printf '[rootfs]\\nmode=ubi\\nimage=rootfs.sqfs\\nvol_id=0\\nvol_type=static\\nvol_name=rootfs\\n[config]\\nmode=ubi\\nimage=config.ubifs\\nvol_id=1\\nvol_type=dynamic\\nvol_name=config\\nvol_size=3MiB\\n' > ubi.ini && \
            ubinize -o fw.ubi -m 2048 -p 128KiB -s 2048 ubi.ini
            """, in: dir.path)
        let analysis = try Inspector.analyze(dir.url("fw.ubi"))
        #expect(analysis.diagnostics.isEmpty, "\(analysis.diagnostics)")
        #expect(analysis.filesystems.map { Array($0.chain.dropFirst()) } == [["UBI@0x0", "rootfs@0x0", "squashfs@0x0"],
                                                                             ["UBI@0x0", "config@0x0", "UBIFS@0x0"]])
        #expect(analysis.containers.first?.details["pebSize"] == "131072")
        // Every filesystem of the image is scanned: the example's findings appear in both.
        let directory = await findings(Self.example)
        let report = await ScanSession.run(ScanSession.Options(targets: [dir.url("fw.ubi")], baseline: Repository.baselines + "/red-baseline-2.1.yaml",
                                                               ruleDirectories: [Repository.rules]))
        #expect(report.targets.count == 2)
        // One image holding the same accounts twice: the fleet rule sees the shared hashes.
        #expect(report.findings.filter { $0.ruleID == "RB-PWD-007" }.count == 4)
        for (index, target) in report.targets.enumerated() {
            let mine = Set(report.findings.filter { $0.targetIndex == index && !["RB-PKG-008", "RB-PKG-005", "RB-PWD-007"].contains($0.ruleID) }
                .map { "\($0.ruleID) \($0.location.path):\($0.location.line ?? 0) \($0.message)" })
            #expect(mine == directory, "\(target.spec): only in the directory: \(directory.subtracting(mine)); only in the image: \(mine.subtracting(directory))")
        }
    }

    /// Hikvision digicap.dav (the vendor whose baseline this is): made from the published layout
    /// with the field order of both published readers; hiktools (PyPI) extracts the same files,
    /// and rbscan scans the root filesystem inside with the directory's findings.
    @Test(arguments: ["offset-size", "size-offset"])
    func hikvisionDigicapIsOpened(order: String) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try ImageFixtures.sh("""
            head -c 4000 /dev/urandom > kernel && mkimage -A arm -O linux -T kernel -C none -n linux -d kernel uImage >/dev/null && \
            mksquashfs \(Self.example) hroot.img -comp xz -noappend -quiet && \
            python3 \(Repository.root)/Tests/RBImagesTests/Tools/make-digicap.py digicap.dav uImage hroot.img --order \(order)
            """, in: dir.path)
        let analysis = try Inspector.analyze(dir.url("digicap.dav"))
        #expect(analysis.diagnostics.isEmpty, "\(analysis.diagnostics)")
        let dav = try #require(analysis.containers.first)
        #expect(dav.format == "digicap")
        #expect(dav.details["headerChecksum"] == "ok")
        #expect(dav.children.map(\.format) == ["uImage", "hroot.img"])
        #expect(dav.children.allSatisfy { $0.details["checksum"] == "ok" })
        #expect(analysis.filesystems.map { Array($0.chain.dropFirst()) } == [["digicap@0x0", "hroot.img@0x" + String(0x98 + 4064, radix: 16), "squashfs@0x0"]])
        if order == "size-offset" {
            // hiktools reads the fields in this order: its extraction must match the table rbscan read.
            try ImageFixtures.sh("\(toolsBin)/python -m hiktools.fmod digicap.dav hik >/dev/null", in: dir.path)
            for child in dav.children {
                let extracted = try Data(contentsOf: URL(fileURLWithPath: dir.url("hik/" + child.format)))
                #expect(UInt64(extracted.count) == child.size)
                let original = try Data(contentsOf: URL(fileURLWithPath: dir.url(child.format)))
                #expect(extracted == original)
            }
        }
        #expect(await findings(dir.url("digicap.dav")) == findings(Self.example))
    }

    /// Hi-Link's DES-encrypted uImage: made here by inverting the published two-pass decryption
    /// with the openssl command (legacy provider); rbscan decrypts it, finds the uImage and the
    /// squashfs in it, and scans it with the directory's findings.
    @Test func hiLinkEncryptedUImageIsDecrypted() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let des = "openssl enc -des-ecb -nopad -K 48404c394b2a2833 -provider legacy -provider default"
        try ImageFixtures.sh("""
            mksquashfs \(Self.example) rootfs.sqfs -comp xz -noappend -quiet && \
            mkimage -A mips -O linux -T filesystem -C none -n 'HLK-RM04 rootfs' -d rootfs.sqfs fw.uimg >/dev/null && \
            cp fw.uimg plain && truncate -s %8 plain && \
            \(des) -in plain -out t && head -c 3 t > p1 && tail -c +4 t > d && head -c 3 /dev/zero >> d && \
            \(des) -in d -out p2 && cat p1 p2 > hilink.bin
            """, in: dir.path)
        let analysis = try Inspector.analyze(dir.url("hilink.bin"))
        #expect(analysis.diagnostics.isEmpty, "\(analysis.diagnostics)")
        let node = try #require(analysis.containers.first)
        #expect(node.format == "hilink")
        #expect(node.details["name"] == "HLK-RM04 rootfs")
        #expect(analysis.filesystems.map { Array($0.chain.dropFirst()) } == [["hilink@0x0", "uImage@0x0", "squashfs@0x40"]])
        #expect(analysis.filesystems.first.map { $0.node.tree != nil } == true)
        #expect(try ImageFixtures.snapshot(try #require(analysis.filesystems.first?.node.tree)).count > 10)
        #expect(await findings(dir.url("hilink.bin")) == findings(Self.example))
    }

    /// D-Link SHRS: AES-128-CBC under the published key, header as the D-Link tools write it
    /// (made here with the openssl command); the squashfs inside scans with the directory's
    /// findings. An MH01 container (OpenSSL-salted, key not public) is named as encrypted.
    @Test func dlinkContainers() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try ImageFixtures.sh("""
            mksquashfs \(Self.example) rootfs.sqfs -comp xz -noappend -quiet && cp rootfs.sqfs padded && truncate -s %16 padded && \
            openssl enc -aes-128-cbc -nopad -K c05fbf1936c99429ce2a0781f08d6ad8 -iv 00112233445566778899aabbccddeeff -in padded -out payload && \
            printf 'SHRS' > fw.bin && printf "%08x%08x" $(stat -c %s rootfs.sqfs) $(stat -c %s payload) | xxd -r -p >> fw.bin && \
            printf '00112233445566778899aabbccddeeff' | xxd -r -p >> fw.bin && truncate -s 1756 fw.bin && cat payload >> fw.bin && \
            printf 'MH01' > mh.bin && head -c 60 /dev/zero >> mh.bin && printf 'secret' | openssl enc -aes-256-cbc -salt -pbkdf2 -pass pass:x >> mh.bin
            """, in: dir.path)
        let analysis = try Inspector.analyze(dir.url("fw.bin"))
        #expect(analysis.diagnostics.isEmpty, "\(analysis.diagnostics)")
        #expect(analysis.filesystems.map { Array($0.chain.dropFirst()) } == [["D-Link SHRS@0x0", "squashfs@0x0"]])
        #expect(await findings(dir.url("fw.bin")) == findings(Self.example))
        let mh = try Inspector.analyze(dir.url("mh.bin"))
        let d = try #require(mh.diagnostics.first)
        #expect(d.code == "image.encrypted")
        #expect(d.message.contains("0x40") && d.message.contains("Salted__"))
    }

    /// A 03KH digicap (AES-256 with per-device keys) is named precisely, never "unknown".
    @Test func encryptedDigicapIsNamed() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let key: [UInt8] = [0xba, 0xcd, 0xbc, 0xfe, 0xd6, 0xca, 0xdd, 0xd3, 0xba, 0xb9, 0xa3, 0xab, 0xbf, 0xcb, 0xb5, 0xbe]
        // "03KH", checksum 0, header length 0x200, 3 files; then ciphertext (random here).
        let head: [UInt8] = Array("03KH".utf8) + [0, 0, 0, 0, 0, 2, 0, 0, 3, 0, 0, 0]
        var generator = SplitMix(seed: 7)
        let bytes = head.enumerated().map { $1 ^ key[($0 + ($0 >> 4)) & 15] } + (0..<8192).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        try Data(bytes).write(to: URL(fileURLWithPath: dir.url("enc.dav")))
        let (targets, diagnostics) = TargetResolver(limits: ScanLimits()).resolve([dir.url("enc.dav")])
        #expect(targets.isEmpty)
        let d = try #require(diagnostics.first { $0.code == "image.encrypted" })
        #expect(d.message.contains("03KH") && d.message.contains("AES-256"))
        #expect(d.location?.offset == 0)
        #expect(diagnostics.contains { $0.code == "target.no-filesystem" && $0.message.hasPrefix("a Hikvision digicap.dav update file") })
    }

    @Test func archivePathsAreNormalisedAndReported() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try ImageFixtures.sh("""
            mkdir -p src/etc && echo 'root::0:0::/root:/bin/sh' > src/etc/passwd && \
            tar -C src -cPf evil.tar --transform='s,^etc,../../../etc,' etc/passwd && \
            tar -C src -rPf evil.tar --transform='s,^etc,/abs/etc,' etc/passwd
            """, in: dir.path)
        let analysis = try Inspector.analyze(dir.url("evil.tar"))
        let tree = try #require(analysis.filesystems.first?.node.tree)
        #expect(tree.index.entry(at: "etc/passwd")?.type == .file)
        #expect(tree.index.entry(at: "abs/etc/passwd")?.type == .file)
        #expect(!tree.index.entries.contains { $0.path.contains("..") || $0.path.hasPrefix("/") })
        let warnings = tree.indexDiagnostics.filter { $0.code == "image.path-normalised" }
        #expect(warnings.count == 2)
    }

    /// Hard links to files the archive does not hold (out of the root, absolute, missing) read
    /// as empty files with one warning each, not one "not a regular file" error per rule; a
    /// hard link inside the archive shares its target's content.
    @Test func danglingHardLinksAreOneWarning() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try ImageFixtures.sh(#"""
            python3 - <<'PY'
            import tarfile, io
            t = tarfile.open('links.tar', 'w')
            f = tarfile.TarInfo('etc/passwd'); data = b'root:x:0:0::/root:/bin/sh\n'; f.size = len(data); t.addfile(f, io.BytesIO(data))
            for name, target in [('etc/up', '../../../etc/shadow'), ('etc/abs', '/etc/shadow'), ('etc/gone', 'etc/missing'), ('etc/same', 'etc/passwd')]:
                h = tarfile.TarInfo(name); h.type = tarfile.LNKTYPE; h.linkname = target; t.addfile(h)
            t.close()
            PY
            """#, in: dir.path)
        let analysis = try Inspector.analyze(dir.url("links.tar"))
        let tree = try #require(analysis.filesystems.first?.node.tree)
        let warnings = tree.indexDiagnostics.filter { $0.code == "image.dangling-hard-link" }
        #expect(warnings.count == 3, "\(tree.indexDiagnostics)")
        for path in ["etc/up", "etc/abs", "etc/gone"] {
            let entry = try #require(tree.index.entry(at: path))
            #expect(try tree.read(entry, limit: 1024).bytes.isEmpty)
        }
        let same = try #require(tree.index.entry(at: "etc/same"))
        #expect(String(decoding: try tree.read(same, limit: 1024).bytes, as: UTF8.self).hasPrefix("root:"))
        let result = try runProcess(Repository.rbscanBinary, ["scan", dir.url("links.tar"), "--fail-on", "never", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stdout.contains("check.unreadable-file"))
    }

    @Test func limitsStopDecompressionWithADiagnostic() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try ImageFixtures.sh("head -c 4000000 /dev/zero > zeros && mkdir src && cp zeros src/ && tar -C src -czf bomb.tar.gz .", in: dir.path)
        var limits = ScanLimits()
        limits.maxExtractedBytes = 1_000_000
        let analysis = try ImageScanner(limits: limits).analyze(path: dir.url("bomb.tar.gz"))
        #expect(analysis.diagnostics.contains { $0.code == "image.size-limit" }, "\(analysis.diagnostics)")
        var nesting = ScanLimits()
        nesting.maxNesting = 0
        let shallow = try ImageScanner(limits: nesting).analyze(path: dir.url("bomb.tar.gz"))
        #expect(shallow.filesystems.isEmpty)
        #expect(shallow.diagnostics.contains { $0.code == "image.nesting-limit" })
    }
}

/// zlib's CRC-32, computed independently of the reader (bitwise, reflected 0xEDB88320).
enum CRC32Check {
    static func zlib(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xedb8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
