import RBCore

/// SquashFS: 4.0 little endian through libsquashfs; 3.x and 2.x (either byte order, and the
/// vendor magics of that era) through `LegacySquashfsTree`.
enum SquashfsFormat: ImageFormat {
    static let name = "squashfs"
    static let summary = "a squashfs image"
    static let reader = "4.0: libsquashfs (gzip, xz incl. OpenWrt's options block, lzma incl. vendor variants, lz4, zstd); 4.0 big endian and 3.x/2.x: own readers, checked against unsquashfs and 7z"
    /// "hsqs"/"sqsh" in either byte order, then the vendor magics of the LZMA era: "shsq" and
    /// "qshs" (the sqlzma patch, Broadcom SDKs), "hsqt" and "tqsh" (DD-WRT), "sqlz" and "zlqs".
    static let signatures = ["hsqs", "sqsh", "shsq", "qshs", "hsqt", "tqsh", "sqlz", "zlqs"].map { FormatSignature($0) }

    static func open(_ probe: FormatProbe, _ diagnostics: inout [Diagnostic]) -> ContainerNode? {
        let head = probe.head
        guard head.count >= 96 else { return nil }
        // The version field decides the byte order (vendors change the magic).
        let major = head.le16(28) >= 1 && head.le16(28) <= 4 ? head.le16(28) : head.be16(28)
        switch major {
        case 4 where head.le16(28) == 4 && probe.signature == 0:
            return openVersion4(probe, &diagnostics)
        case 4:
            // Big-endian 4.0 (AVM and some MIPS vendors): libsquashfs reads little endian only.
            guard head.be16(22) >= 12, head.be16(22) <= 20, head.be32(12) == 1 << UInt32(head.be16(22)) else { return nil }
            let bytesUsed = head.be64(40)
            guard bytesUsed > 96 else { return nil }
            var node = ContainerNode(format: "squashfs", offset: probe.offset, size: min(bytesUsed, probe.available),
                                     details: ["version": "4.0 big endian"])
            probe.openFilesystem(&node, declaredSize: bytesUsed, &diagnostics) { () throws(ImageError) in
                let tree = try Squashfs4NativeTree(source: probe.region.slice(0, bytesUsed), name: probe.treeName("squashfs"),
                                                   littleEndian: false, limits: probe.limits)
                return (tree, tree.details)
            }
            return node
        case 2, 3:
            guard let superblock = LegacySquashfsTree.Superblock(Array(head.prefix(0x77))) else { return nil }
            var node = ContainerNode(format: "squashfs", offset: probe.offset, size: min(superblock.bytesUsed, probe.available),
                                     details: ["version": "\(major).x \(superblock.littleEndian ? "little" : "big") endian"])
            probe.openFilesystem(&node, declaredSize: superblock.bytesUsed, &diagnostics) { () throws(ImageError) in
                let tree = try LegacySquashfsTree(source: probe.region.slice(0, superblock.bytesUsed), name: probe.treeName("squashfs"),
                                                  limits: probe.limits)
                return (tree, tree.details)
            }
            return node
        case 1:
            var node = ContainerNode(format: "squashfs", offset: probe.offset, size: nil, details: ["version": "1.x"])
            probe.fail(&node, "image.unsupported", "squashfs 1.x is not supported", &diagnostics)
            return node
        default:
            return nil
        }
    }

    static func openVersion4(_ probe: FormatProbe, _ diagnostics: inout [Diagnostic]) -> ContainerNode? {
        let head = probe.head
        guard head.le16(30) == 0 else { return nil }
        let blockSize = head.le32(12), blockLog = head.le16(22), compression = head.le16(20)
        let bytesUsed = head.le64(40)
        guard blockLog >= 12, blockLog <= 20, blockSize == 1 << UInt32(blockLog), (1...6).contains(compression),
              bytesUsed > 96 else { return nil }
        var node = ContainerNode(format: "squashfs", offset: probe.offset, size: min(bytesUsed, probe.available),
                                 details: ["compression": SquashfsTree.compressionName(compression)])
        probe.openFilesystem(&node, declaredSize: bytesUsed, &diagnostics) { () throws(ImageError) in
            let tree = try SquashfsTree(source: probe.region.slice(0, bytesUsed), name: probe.treeName("squashfs"), limits: probe.limits)
            return (tree, tree.details)
        }
        return node
    }
}
