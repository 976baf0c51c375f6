import RBCore

/// Broadcom TRX (v1/v2) as OpenWrt and many routers ship it: the CRC over the image is checked
/// and each partition (kernel, root filesystem) carved.
enum TRXFormat: ImageFormat {
    static let name = "TRX"
    static let summary = "a TRX firmware image"
    static let reader = "own reader (CRC, partition table), partitions carved"
    static let signatures = [FormatSignature(TRXHeader.magic)]

    static func open(_ probe: FormatProbe, _ diagnostics: inout [Diagnostic]) -> ContainerNode? {
        guard let header = TRXHeader(probe.head, available: probe.available) else { return nil }
        var node = ContainerNode(format: "TRX", offset: probe.offset, size: UInt64(header.length),
                                 details: ["version": String(header.version)])
        let computed = (try? CRC32.of(probe.source, offset: probe.offset + 12, length: UInt64(header.length) - 12)).map { ~$0 }
        node.details["crc"] = computed == header.crc ? "ok" : "mismatch"
        if probe.tooDeep(&node, &diagnostics) { return node }
        let starts = header.offsets.filter { $0 != 0 }.sorted()
        for (k, start) in starts.enumerated() {
            let end = k + 1 < starts.count ? starts[k + 1] : header.length
            let part = probe.region.slice(UInt64(start), UInt64(end - start))
            node.children += probe.carve(part, &diagnostics).map { child in
                var child = child
                child.offset += UInt64(start)
                return child
            }
        }
        return node
    }
}
