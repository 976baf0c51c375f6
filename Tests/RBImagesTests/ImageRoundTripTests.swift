import Foundation
import RBCore
import RBImages
import RBTestSupport
import Testing

/// Builds the fixture tree into every format with the real tools and checks that each reader
/// yields the same paths, types, modes, owners, link targets and contents as the directory.
@Suite("Image readers round-trip the fixture tree", .serialized)
struct ImageRoundTripTests {
    /// One shared work directory: the fixture tree and the images made from it.
    static let work: (dir: TemporaryDirectory, source: String, expected: [String: ImageFixtures.EntrySnapshot])? = {
        guard let dir = try? TemporaryDirectory.removedAtExit(prefix: "rbscan-images") else { return nil }
        let source = dir.url("src")
        guard (try? ImageFixtures.makeSourceTree(at: source)) != nil,
              let tree = try? DirectoryTree(directory: source),
              let expected = try? ImageFixtures.snapshot(tree) else { return nil }
        return (dir, source, expected)
    }()

    /// Image name → the shell command (run in the work directory) that builds it from `src`.
    static let builders: [(String, String)] = [
        ("sq-gzip.img", "mksquashfs src sq-gzip.img -comp gzip -noappend -quiet"),
        ("sq-xz.img", "mksquashfs src sq-xz.img -comp xz -noappend -quiet"),
        ("sq-lzma.img", "mksquashfs src sq-lzma.img -comp lzma -noappend -quiet"),
        ("sq-lz4.img", "mksquashfs src sq-lz4.img -comp lz4 -noappend -quiet"),
        ("sq-zstd.img", "mksquashfs src sq-zstd.img -comp zstd -noappend -quiet"),
        ("ustar.tar", "tar --format=ustar -C src -cf ustar.tar ."),
        ("gnu.tar", "tar --format=gnu -C src -cf gnu.tar ."),
        ("pax.tar.gz", "tar --format=pax -C src -czf pax.tar.gz ."),
        ("gnu.tar.xz", "tar --format=gnu -C src -cJf gnu.tar.xz ."),
        ("gnu.tar.bz2", "tar --format=gnu -C src -cjf gnu.tar.bz2 ."),
        ("newc.cpio", "cd src && find . | cpio --quiet -o -H newc > ../newc.cpio"),
        ("crc.cpio", "cd src && find . | cpio --quiet -o -H crc > ../crc.cpio"),
        ("odc.cpio", "cd src && find . | cpio --quiet -o -H odc > ../odc.cpio"),
        ("newc.cpio.gz", "cd src && find . | cpio --quiet -o -H newc | gzip -9 > ../newc.cpio.gz"),
        ("fixture.zip", "cd src && zip -qry ../fixture.zip ."),
        ("sq.img.gz", "mksquashfs src sq-raw.img -comp xz -noappend -quiet && gzip -9nc sq-raw.img > sq.img.gz"),
        ("sq.img.bz2", "mksquashfs src sq-raw2.img -comp xz -noappend -quiet && bzip2 -9c sq-raw2.img > sq.img.bz2"),
        ("sq.img.xz", "mksquashfs src sq-raw3.img -comp gzip -noappend -quiet && xz -c sq-raw3.img > sq.img.xz"),
        ("sq.img.lzma", "mksquashfs src sq-raw4.img -comp gzip -noappend -quiet && xz --format=lzma -c sq-raw4.img > sq.img.lzma"),
        ("sq.img.zst", "mksquashfs src sq-raw5.img -comp gzip -noappend -quiet && zstd -q -c sq-raw5.img > sq.img.zst"),
        ("fs.ext2", "mke2fs -q -t ext2 -d src fs.ext2 8M"),
        ("fs.ext3", "mke2fs -q -t ext3 -d src fs.ext3 8M"),
        ("fs.ext4", "mke2fs -q -t ext4 -d src fs.ext4 8M"),
        ("le-zlib.jffs2", "mkfs.jffs2 -l -r src -o le-zlib.jffs2"),
        ("be-zlib.jffs2", "mkfs.jffs2 -b -r src -o be-zlib.jffs2"),
        ("le-rtime.jffs2", "mkfs.jffs2 -l -x zlib -X rtime -r src -o le-rtime.jffs2"),
        ("be-none.jffs2", "mkfs.jffs2 -b -x zlib -x rtime -r src -o be-none.jffs2"),
        ("le-lzo.jffs2", "mkfs.jffs2 -l -X lzo -x zlib -x rtime -r src -o le-lzo.jffs2"),
        ("le-lzma.jffs2", "mkfs.jffs2 -l -x zlib -x rtime -r src -o le-raw.jffs2 && python3 \(Repository.root)/Tests/RBImagesTests/Tools/jffs2-lzma.py le-raw.jffs2 le-lzma.jffs2 little"),
        ("be-lzma.jffs2", "mkfs.jffs2 -b -x zlib -x rtime -r src -o be-raw.jffs2 && python3 \(Repository.root)/Tests/RBImagesTests/Tools/jffs2-lzma.py be-raw.jffs2 be-lzma.jffs2 big"),
        ("sq.uimg", "mksquashfs src sq-for-uimg.img -comp xz -noappend -quiet && mkimage -A arm -O linux -T filesystem -C none -n rootfs -d sq-for-uimg.img sq.uimg >/dev/null"),
        ("sq-gz.uimg", "mksquashfs src sq-for-gz.img -comp gzip -noappend -quiet && gzip -9c sq-for-gz.img > sq-for-gz.img.gz && mkimage -A arm -O linux -T ramdisk -C gzip -n rootfs -d sq-for-gz.img.gz sq-gz.uimg >/dev/null"),
    ]

    @Test(arguments: builders.map(\.0))
    func roundTrip(image: String) throws {
        let work = try #require(Self.work)
        let command = try #require(Self.builders.first { $0.0 == image }?.1)
        try ImageFixtures.sh(command, in: work.dir.path)
        let analysis = try ImageScanner(limits: ScanLimits()).analyze(path: work.dir.url(image))
        #expect(analysis.diagnostics.filter { $0.level == .error }.isEmpty, "\(analysis.diagnostics)")
        let filesystems = analysis.filesystems
        #expect(filesystems.count == 1, "\(filesystems.map(\.chain))")
        let tree = try #require(filesystems.first?.node.tree)
        let actual = try ImageFixtures.snapshot(tree)
        // Info-ZIP keeps Unix modes (external attributes) and owners (its "ux" extra field) but
        // skips FIFOs and device nodes.
        var expected = work.expected
        if image.hasSuffix(".zip") { expected = expected.filter { $0.value.type != .fifo && $0.value.type != .charDevice } }
        let differences = ImageFixtures.differences(expected, actual)
        #expect(differences.isEmpty, "\(image):\n\(differences.joined(separator: "\n"))")
    }

    /// A multi-file uImage holds two images: each filesystem in it round-trips.
    @Test func multiFileUImage() throws {
        let work = try #require(Self.work)
        try ImageFixtures.sh("""
            mksquashfs src multi-a.sqfs -comp xz -noappend -quiet && tar --format=gnu -C src -czf multi-b.tar.gz . && \
            mkimage -A arm -O linux -T multi -C none -n multi -d multi-a.sqfs:multi-b.tar.gz multi.uimg >/dev/null
            """, in: work.dir.path)
        let analysis = try ImageScanner(limits: ScanLimits()).analyze(path: work.dir.url("multi.uimg"))
        #expect(analysis.containers.first?.details["images"] == "2")
        let filesystems = analysis.filesystems
        #expect(filesystems.count == 2)
        for (_, node) in filesystems {
            let tree = try #require(node.tree)
            let differences = ImageFixtures.differences(work.expected, try ImageFixtures.snapshot(tree))
            #expect(differences.isEmpty, "\(node.label):\n\(differences.joined(separator: "\n"))")
        }
    }

    @Test func lzoSquashfsIsAPreciseDiagnostic() throws {
        let work = try #require(Self.work)
        try ImageFixtures.sh("mksquashfs src sq-lzo.img -comp lzo -noappend -quiet", in: work.dir.path)
        let analysis = try ImageScanner(limits: ScanLimits()).analyze(path: work.dir.url("sq-lzo.img"))
        #expect(analysis.filesystems.isEmpty)
        let d = try #require(analysis.diagnostics.first)
        #expect(d.code == "image.unsupported")
        #expect(d.message.contains("unsupported squashfs compression: lzo"))
        #expect(d.location?.offset == 0)
    }

    /// The read-ahead pass hands batches of read order to its workers: a batch must not end in
    /// the middle of a fragment block's files, or two workers decompress that block. 400 files of
    /// 1-5 KB share some 13 fragment blocks of 128 KiB; batches of 32 would split nearly all.
    @Test func readBatchesKeepFragmentBlocksWhole() throws {
        let dir = try TemporaryDirectory(prefix: "rbscan-batches")
        var random = SplitMix(seed: 21)
        for i in 0..<400 {
            let folder = dir.url("src/d\(i % 7)")
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let size = 1000 + Int(random.next() % 4000)
            try Data((0..<size).map { UInt8(32 + ($0 * 7 + i) % 90) }).write(to: URL(fileURLWithPath: folder + "/f\(i).txt"))
        }
        try ImageFixtures.sh("mksquashfs src fragments.sqfs -comp gzip -noappend -quiet", in: dir.path)
        let analysis = try ImageScanner(limits: ScanLimits()).analyze(path: dir.url("fragments.sqfs"))
        let tree = try #require(analysis.filesystems.first?.node.tree as? SquashfsTree)
        let files = tree.index.entries.filter { $0.type == .file }
        let positions = tree.index.entries.indices.compactMap { tree.index.entries[$0].type == .file ? Int32($0) : nil }
        let batches = tree.readBatches(positions, size: 32).map { $0.map { tree.index.entries[Int($0)] } }
        // The same files in the same order as read order, none lost or repeated.
        #expect(batches.flatMap { $0 }.map(\.path) == tree.readOrder(files).map(\.path))
        #expect(batches.dropLast().allSatisfy { $0.count >= 32 })
        let blocks = Set(files.compactMap { tree.fragmentBlock(of: $0) })
        #expect(blocks.count >= 10, "the fixture should spread over many fragment blocks")
        for (a, b) in zip(batches, batches.dropFirst()) {
            let last = try #require(a.last), first = try #require(b.first)
            let block = try #require(tree.fragmentBlock(of: last))
            #expect(tree.fragmentBlock(of: first) != block, "\(last.path) and \(first.path) share fragment block \(block)")
        }
        // The rule bit: some batch went past 32 to finish its block.
        #expect(batches.contains { $0.count > 32 })
    }

    /// OpenWrt's mksquashfs (and its forks) store a 12-byte xz options block (mainline: 8 bytes,
    /// dictionary size and filter flags). Layout as read from OpenWrt/PandoraBox images (see
    /// docs/real-firmware.md): after the 2-byte metadata header 0x800c come 12 bytes
    /// `14 00 09 00 90 00 40 00 00 00 04 00`. The fixture is mksquashfs's own image with its
    /// 8-byte block rewritten to those 12 bytes: the first data block is an uncompressible file
    /// (stored raw, sorted first) that starts with the 4 extra bytes, so nothing else moves.
    /// unsquashfs warns about the block and extracts every file; so must rbscan.
    @Test func openWrtXZOptionsBlock() throws {
        let work = try #require(Self.work)
        try ImageFixtures.sh("""
            rm -rf src-openwrt && cp -a src src-openwrt && \
            python3 -c "import os, sys; sys.stdout.buffer.write(bytes([0, 0, 4, 0]) + os.urandom(131068))" > src-openwrt/aaa-first.bin && \
            echo 'aaa-first.bin 32767' > sort.txt && \
            mksquashfs src-openwrt sq-openwrt.img -comp xz -Xdict-size 50% -sort sort.txt -noappend -quiet && \
            python3 \(Repository.root)/Tests/RBImagesTests/Tools/openwrt-xz-options.py sq-openwrt.img
            """, in: work.dir.path)
        // The independent reader: unsquashfs extracts every file despite the block.
        let listing = try ImageFixtures.sh("unsquashfs -d unsq-openwrt -f sq-openwrt.img 2>&1; find unsq-openwrt -type f | wc -l", in: work.dir.path)
        let expectedTree = try DirectoryTree(directory: work.dir.url("src-openwrt"))
        let expected = try ImageFixtures.snapshot(expectedTree)
        #expect(listing.hasSuffix("\(expected.values.filter { $0.type == .file }.count)\n"), "\(listing)")
        let analysis = try ImageScanner(limits: ScanLimits()).analyze(path: work.dir.url("sq-openwrt.img"))
        #expect(analysis.diagnostics.filter { $0.level == .error }.isEmpty, "\(analysis.diagnostics)")
        let tree = try #require(analysis.filesystems.first?.node.tree)
        let differences = ImageFixtures.differences(expected, try ImageFixtures.snapshot(tree))
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
        let note = try #require(tree.indexDiagnostics.first { $0.code == "image.compressor-options" })
        #expect(note.level == .warning)
        #expect(note.message.contains("12 bytes"))
        #expect(note.location?.offset == 96)
    }

    /// Formats rbscan reads with its own code: each image is made by the real tool and read
    /// back by an independent reader (its extraction compared entry by entry: paths, types,
    /// modes, owners, link targets, contents), and by rbscan against the fixture tree itself
    /// with what the format cannot keep stated (`lossy`).
    /// `source`: the tree the image is made from when it is not `src` (made by `build`).
    static let nativeFormats: [(image: String, build: String, extract: String?, source: String?)] = [
        ("le.cramfs", "mkfs.cramfs src le.cramfs >/dev/null", "fsck.cramfs --extract=OUT le.cramfs", nil),
        ("be.cramfs", "mkfs.cramfs src le-for-be.cramfs >/dev/null && cramfsswap le-for-be.cramfs be.cramfs >/dev/null",
         "fsck.cramfs --extract=OUT be.cramfs", nil),
        // Holes (-z: all-zero pages stored as empty blocks); fsck.cramfs refuses the feature, so
        // this one is checked against its source tree only.
        ("holes.cramfs", "rm -rf src-holes && cp -a src src-holes && { head -c 5000 /dev/urandom; head -c 12288 /dev/zero; echo tail; } > src-holes/sparse.bin && mkfs.cramfs -z src-holes holes.cramfs >/dev/null",
         nil, "src-holes"),
        // Extended block pointers (Linux 4.15+, e.g. ESP32-S3 Linux roots): direct compressed and
        // uncompressed blocks, and plain blocks laid after them; no tool writes or reads them but
        // the kernel, so our rewriter follows fs/cramfs/inode.c and the result is checked against
        // the source tree.
        ("ext-pointers.cramfs", """
            rm -rf src-ext && cp -a src src-ext && head -c 20000 /dev/urandom > src-ext/random.bin && \
            { head -c 9000 /dev/urandom; head -c 9000 /dev/zero; echo tail; } > src-ext/mixed.bin && \
            mkfs.cramfs src-ext plain-ext.cramfs >/dev/null && python3 \(cramfsExtWriter) plain-ext.cramfs ext-pointers.cramfs
            """, nil, "src-ext"),
        // squashfs 3.x/2.x: no tool writes them any more; our generator follows the published
        // layout and 7-Zip (which reads 1.x-4.x, and LZMA behind the sqlzma magics) reads its
        // output back in `legacySquashfsAgreesWith7Zip`.
        ("v3-le.sqfs", "python3 \(legacyWriter) src v3-le.sqfs --major 3 --endian le", "7z", nil),
        ("v3-be.sqfs", "python3 \(legacyWriter) src v3-be.sqfs --major 3 --endian be", "7z", nil),
        ("v2-le.sqfs", "python3 \(legacyWriter) src v2-le.sqfs --major 2 --endian le --block-size 32768", "7z", nil),
        ("v2-be.sqfs", "python3 \(legacyWriter) src v2-be.sqfs --major 2 --endian be", "7z", nil),
        ("v3-shsq-lzma.sqfs", "python3 \(legacyWriter) src v3-shsq-lzma.sqfs --major 3 --endian le --compression lzma-alone --magic shsq", "7z", nil),
        ("v3-qshs-lzma.sqfs", "python3 \(legacyWriter) src v3-qshs-lzma.sqfs --major 3 --endian be --compression lzma-alone --magic qshs", "7z", nil),
        // squashfs 4.0 from our own writer: its little-endian zlib output is read back by
        // unsquashfs (which checks the writer), then the big-endian (AVM) and vendor-LZMA
        // variants of the same writer are checked against the source tree.
        ("v4-le-writer.sqfs", "python3 \(v4Writer) src v4-le-writer.sqfs", "unsquashfs -d OUT v4-le-writer.sqfs", nil),
        ("v4-be.sqfs", "python3 \(v4Writer) src v4-be.sqfs --endian be", nil, nil),
        ("v4-be-lzma.sqfs", "python3 \(v4Writer) src v4-be-lzma.sqfs --endian be --compression lzma-alone", nil, nil),
        ("v4-nosize.sqfs", "python3 \(v4Writer) src v4-nosize.sqfs --compression lzma-nosize", nil, nil),
        ("v4-raw-lzma.sqfs", "python3 \(v4Writer) src v4-raw-lzma.sqfs --compression lzma-raw", nil, nil),
        // Vendor LZMA framings only sasquatch reads (not packaged): checked against the source
        // tree, and on the public images listed in docs/real-firmware.md.
        ("v3-nosize.sqfs", "python3 \(legacyWriter) src v3-nosize.sqfs --major 3 --endian be --compression lzma-nosize --magic sqlz", nil, nil),
        ("v2-raw-lzma.sqfs", "python3 \(legacyWriter) src v2-raw-lzma.sqfs --major 2 --endian le --compression lzma-raw", nil, nil),
        // UBIFS (bare volumes) and UBI (ubinize): ubi_reader (PyPI) is the independent reader.
        ("zlib.ubifs", "mkfs.ubifs -r src -m 2048 -e 126976 -c 64 -x zlib -o zlib.ubifs", "ubireader", nil),
        ("lzo.ubifs", "mkfs.ubifs -r src -m 2048 -e 126976 -c 64 -x lzo -o lzo.ubifs", "ubireader", nil),
        ("zstd.ubifs", "mkfs.ubifs -r src -m 512 -e 15360 -c 256 -x zstd -o zstd.ubifs", "ubireader", nil),
        ("none.ubifs", "mkfs.ubifs -r src -m 2048 -e 126976 -c 64 -x none -o none.ubifs", "ubireader", nil),
        ("two-volumes.ubi", """
            mkfs.ubifs -r src -m 2048 -e 126976 -c 64 -x lzo -o ubi-root.ubifs && echo 'data' > ubi-data.bin && \
            printf '[rootfs]\\nmode=ubi\\nimage=ubi-root.ubifs\\nvol_id=0\\nvol_type=dynamic\\nvol_name=rootfs\\nvol_size=4MiB\\n[data]\\nmode=ubi\\nimage=ubi-data.bin\\nvol_id=1\\nvol_type=static\\nvol_name=data\\n' > ubi.ini && \
            ubinize -o two-volumes.ubi -m 2048 -p 128KiB -s 2048 ubi.ini
            """, "ubireader", nil),
        // YAFFS2: no packaged writer; our generator writes what mkyaffs2image writes and unyaffs
        // (Debian) reads it back. Big-endian, inband-tag and spare-less dumps unyaffs cannot read:
        // checked against the source tree.
        ("le-2048.yaffs2", "python3 \(yaffsWriter) src le-2048.yaffs2", "unyaffs le-2048.yaffs2 OUT", nil),
        ("le-2048-tags2.yaffs2", "python3 \(yaffsWriter) src le-2048-tags2.yaffs2 --tag-offset 2", "unyaffs -b le-2048-tags2.yaffs2 OUT", nil),
        ("le-4096.yaffs2", "python3 \(yaffsWriter) src le-4096.yaffs2 --chunk 4096 --spare 128", "unyaffs -c 4 -s 128 le-4096.yaffs2 OUT", nil),
        ("be-2048.yaffs2", "python3 \(yaffsWriter) src be-2048.yaffs2 --endian be", nil, nil),
        ("inband.yaffs2", "python3 \(yaffsWriter) src inband.yaffs2 --inband", nil, nil),
        ("no-spare.yaffs2", "python3 \(yaffsWriter) src no-spare.yaffs2 --no-spare", nil, nil),
        // No Debian tool extracts romfs and this kernel has no romfs module: checked against the
        // source tree with the modes the kernel presents (see `lossy`).
        ("fs.romfs", "genromfs -d src -f fs.romfs -V fixture", nil, nil),
    ]

    static let cramfsExtWriter = Repository.root + "/Tests/RBImagesTests/Tools/make-cramfs-ext.py"
    static let legacyWriter = Repository.root + "/Tests/RBImagesTests/Tools/make-squashfs-legacy.py"
    static let yaffsWriter = Repository.root + "/Tests/RBImagesTests/Tools/make-yaffs2.py"
    static let v4Writer = Repository.root + "/Tests/RBImagesTests/Tools/make-squashfs4.py"

    @Test(arguments: nativeFormats.map(\.image))
    func nativeReaderAgreesWithIndependentReader(image: String) throws {
        let work = try #require(Self.work)
        let format = try #require(Self.nativeFormats.first { $0.image == image })
        try ImageFixtures.sh(format.build, in: work.dir.path)
        let analysis = try ImageScanner(limits: ScanLimits()).analyze(path: work.dir.url(image))
        #expect(analysis.diagnostics.filter { $0.level == .error }.isEmpty, "\(analysis.diagnostics)")
        #expect(analysis.filesystems.count == 1, "\(analysis.filesystems.map(\.chain))")
        let tree = try #require(analysis.filesystems.first?.node.tree)
        let actual = try ImageFixtures.snapshot(tree)
        if format.extract == "7z" {
            try Self.compareWith7Zip(work.dir.url(image), tree)
        } else if format.extract == "ubireader" {
            // ubi_reader writes OUT/<image sequence>/<volume>/… for UBI and OUT/… for UBIFS; the
            // root is the directory holding etc/. It exits 1 on a volume that is not UBIFS (the
            // second, static volume) after extracting the first.
            let out = work.dir.url("extract-" + image)
            try ImageFixtures.sh("rm -rf \(out) && \(toolsBin)/ubireader_extract_files -k -o \(out) \(image) >/dev/null 2>&1 || true", in: work.dir.path)
            let root = try ImageFixtures.sh("find \(out) -maxdepth 4 -type d -name etc | head -n 1").trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(!root.isEmpty, "ubi_reader extracted nothing")
            let independent = try ImageFixtures.snapshot(try DirectoryTree(directory: String(root.dropLast(4))))
            let differences = ImageFixtures.differences(independent, actual)
            #expect(differences.isEmpty, "\(image) against ubi_reader:\n\(differences.joined(separator: "\n"))")
        } else if let extract = format.extract {
            let out = work.dir.url("extract-" + image)
            try ImageFixtures.sh("rm -rf \(out) && " + extract.replacingOccurrences(of: "OUT", with: out), in: work.dir.path)
            let independent = try ImageFixtures.snapshot(try DirectoryTree(directory: out))
            let differences = ImageFixtures.differences(independent, actual)
            #expect(differences.isEmpty, "\(image) against the independent reader:\n\(differences.joined(separator: "\n"))")
        }
        let expected = try format.source.map { try ImageFixtures.snapshot(try DirectoryTree(directory: work.dir.url($0))) } ?? work.expected
        let differences = ImageFixtures.differences(Self.lossy(expected, for: image), actual)
        #expect(differences.isEmpty, "\(image) against the fixture tree:\n\(differences.joined(separator: "\n"))")
    }

    /// 7-Zip's listing (`7z l -slt`: path, mode string, owner, size) against the tree, and its
    /// extraction of the regular files against the tree's contents.
    static func compareWith7Zip(_ image: String, _ tree: any FileTree) throws {
        let listing = try ImageFixtures.sh("7z l -slt '\(image)'")
        var independent: [String: String] = [:]
        for block in listing.components(separatedBy: "\n\n") {
            var fields: [String: String] = [:]
            for line in block.split(separator: "\n") {
                guard let range = line.range(of: " = ") else { continue }
                fields[String(line[..<range.lowerBound])] = String(line[range.upperBound...])
            }
            guard let path = fields["Path"], let mode = fields["Mode"], fields["Type"] == nil else { continue }
            let size = mode.hasPrefix("-") ? " " + (fields["Size"] ?? "") : ""
            independent[path] = "\(mode) \(fields["User ID"] ?? "?"):\(fields["Group ID"] ?? "?")" + size
        }
        var ours: [String: String] = [:]
        for entry in tree.index.entries where !entry.path.isEmpty {
            let kind: Character = switch entry.type {
            case .directory: "d"
            case .symlink: "l"
            case .charDevice: "c"
            case .blockDevice: "b"
            case .fifo: "p"
            case .socket: "s"
            case .file: "-"
            }
            var text = String(kind)
            let m = entry.mode
            for (shift, special, specialChar) in [(6, 0o4000, "s"), (3, 0o2000, "s"), (0, 0o1000, "t")] {
                text += (m >> (shift + 2)) & 1 == 1 ? "r" : "-"
                text += (m >> (shift + 1)) & 1 == 1 ? "w" : "-"
                let x = (m >> shift) & 1 == 1
                if m & UInt32(special) != 0 {
                    text += x ? specialChar : specialChar.uppercased()
                } else {
                    text += x ? "x" : "-"
                }
            }
            ours[entry.path] = "\(text) \(entry.uid):\(entry.gid)" + (entry.type == .file ? " \(entry.size)" : "")
        }
        let differences = Set(independent.keys).union(ours.keys).sorted().compactMap { path -> String? in
            independent[path] == ours[path] ? nil : "\(path): 7z \(independent[path] ?? "missing"), rbscan \(ours[path] ?? "missing")"
        }
        #expect(differences.isEmpty, "\(image) against 7-Zip's listing:\n\(differences.joined(separator: "\n"))")
        let out = image + ".7z-out"
        try ImageFixtures.sh("rm -rf '\(out)' && 7z x -y -o'\(out)' '\(image)' >/dev/null 2>&1 || true")  // 7-Zip refuses the fixture's '..' link and exits 2
        for entry in tree.index.entries where entry.type == .file {
            let theirs = try Data(contentsOf: URL(fileURLWithPath: out + "/" + entry.path))
            #expect(try tree.read(entry, limit: Int.max).bytes == [UInt8](theirs), "\(entry.path) differs from 7-Zip's extraction")
        }
    }

    /// What each format cannot keep: cramfs stores 8-bit gids; romfs no owners and no modes
    /// beyond "executable" (the kernel shows files 0644/0755, directories 0755, symlinks 0777,
    /// devices 0600, all root's).
    static func lossy(_ expected: [String: ImageFixtures.EntrySnapshot], for image: String) -> [String: ImageFixtures.EntrySnapshot] {
        expected.mapValues { entry in
            var entry = entry
            if image.hasSuffix(".cramfs") { entry.gid &= 0xff }
            if image.hasSuffix(".romfs") {
                entry.uid = 0
                entry.gid = 0
                switch entry.type {
                case .directory: entry.mode = 0o755
                case .symlink: entry.mode = 0o777
                case .charDevice, .blockDevice: entry.mode = 0o600
                default: entry.mode = entry.mode & 0o100 != 0 ? 0o755 : 0o644
                }
            }
            return entry
        }
    }
}
