import RBCore

/// UBI images (ubinize output, NAND dumps): recognised by their erase-counter header.
enum UBIFormat: ImageFormat {
    static let name = "UBI"
    static let summary = "a UBI image"
    static let reader = "recognised only"
    static let signatures = [FormatSignature("UBI#")]

    static func open(_ probe: FormatProbe, _ diagnostics: inout [Diagnostic]) -> ContainerNode? {
        guard probe.head.count > 4, probe.head[4] == 1 else { return nil }
        var node = ContainerNode(format: "UBI", offset: probe.offset, size: nil, details: [:])
        probe.fail(&node, "image.unsupported", "UBI/UBIFS images are not read by this build (unsupported)", &diagnostics)
        return node
    }
}
