import RBCore

/// SquashFS: 4.0 little endian through libsquashfs; 3.x and 2.x (either byte order, and the
/// vendor magics of that era) through `LegacySquashfsTree`.
enum SquashfsFormat: ImageFormat {
    static let name = "squashfs"
    static let summary = "a squashfs image"
    static let reader = "4.0: libsquashfs (gzip, xz incl. OpenWrt's options block, lzma incl. vendor variants, lz4, zstd); 3.x/2.x: own reader, checked against 7z"
    static let signatures = [FormatSignature("hsqs"), FormatSignature("sqsh")]

    static func open(_ probe: FormatProbe, _ diagnostics: inout [Diagnostic]) -> ContainerNode? {
        let head = probe.head
        guard head.count >= 96 else { return nil }
        let littleEndian = probe.signature == 0
        let major = littleEndian ? head.le16(28) : UInt16(head[28]) << 8 | UInt16(head[29])
        switch major {
        case 4 where littleEndian:
            return openVersion4(probe, &diagnostics)
        case 1...3:
            var node = ContainerNode(format: "squashfs", offset: probe.offset, size: nil,
                                     details: ["version": "\(major).x \(littleEndian ? "little" : "big") endian"])
            probe.fail(&node, "image.unsupported", "squashfs \(major).x (\(littleEndian ? "little" : "big") endian, pre-4.0) is not supported", &diagnostics)
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
