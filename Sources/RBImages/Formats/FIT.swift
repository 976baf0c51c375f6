import RBCore

/// FIT images (a device tree with `/images` and `/configurations`) as containers: their
/// payloads' byte ranges, embedded (`data`) or external (`data-offset` / `data-position`).
extension DeviceTree {
    /// Reads the blob at the start of `source`; a malformed one is an image error at its offset.
    init(_ source: ByteSource) throws(ImageError) {
        do {
            try self.init(size: source.size) { offset, count in try? source.read(at: offset, count: count) }
        } catch {
            throw ImageError(.corrupt, source.file.name, error.message, offset: source.base + error.offset)
        }
    }

    /// A FIT image's payloads: name, type, compression and byte range (from the blob's start).
    struct Payload {
        var name: String
        var type: String
        var compression: String
        var offset: UInt64
        var length: UInt64
        var signed: Bool
    }

    var isFIT: Bool { root.child("images") != nil }

    var payloads: [Payload] {
        guard let images = root.child("images") else { return [] }
        let external = (totalSize + 3) & ~3
        return images.children.compactMap { image in
            let type = image.properties["type"]?.string ?? "unknown"
            let compression = image.properties["compression"]?.string ?? "none"
            let signed = image.children.contains { $0.name.hasPrefix("signature") }
            if let data = image.properties["data"] {
                return Payload(name: image.name, type: type, compression: compression, offset: data.offset,
                               length: UInt64(data.length), signed: signed)
            }
            guard let size = image.properties["data-size"]?.u32 else { return nil }
            if let position = image.properties["data-position"]?.u32 {
                return Payload(name: image.name, type: type, compression: compression, offset: UInt64(position),
                               length: UInt64(size), signed: signed)
            }
            guard let offset = image.properties["data-offset"]?.u32 else { return nil }
            return Payload(name: image.name, type: type, compression: compression, offset: external + UInt64(offset),
                           length: UInt64(size), signed: signed)
        }
    }
}

/// Flattened device trees: a FIT image's payloads (embedded or external data) are opened as
/// their `compression` property says; a plain device tree blob is listed and skipped.
enum FITFormat: ImageFormat {
    static let name = "FIT"
    static let summary = "a flattened device tree / FIT image"
    static let reader = "own device-tree reader; payloads decompressed and carved"
    static let signatures = [FormatSignature([0xd0, 0x0d, 0xfe, 0xed])]

    static func open(_ probe: FormatProbe, _ diagnostics: inout [Diagnostic]) -> ContainerNode? {
        let head = probe.head
        let total = UInt64(head.be32(4))
        guard head.be32(20) >= 16, total >= 40, total <= probe.available,
              let tree = try? DeviceTree(probe.region) else { return nil }
        guard tree.isFIT else {
            return ContainerNode(format: "FDT", offset: probe.offset, size: total, details: ["note": "device tree blob"])
        }
        let payloads = tree.payloads
        let extent = payloads.map { $0.offset + $0.length }.max().map { max($0, total) } ?? total
        var node = ContainerNode(format: "FIT", offset: probe.offset, size: min(extent, probe.available),
                                 details: ["images": String(payloads.count),
                                           "signed": payloads.contains(where: \.signed) ? "yes" : "no",
                                           "description": tree.root.properties["description"]?.string ?? ""])
        if probe.tooDeep(&node, &diagnostics) { return node }
        for payload in payloads {
            let part = probe.region.slice(payload.offset, payload.length)
            var image = ContainerNode(format: payload.name, offset: payload.offset, size: payload.length,
                                      details: ["type": payload.type, "compression": payload.compression,
                                                "signature": payload.signed ? "present" : "absent"])
            if payload.offset + payload.length > probe.available {
                image.problem = "data out of bounds (truncated image?)"
                diagnostics.append(Diagnostic(.error, .check, code: "image.corrupt", "FIT image '\(payload.name)': \(image.problem!)",
                                              at: probe.location))
            } else if payload.compression == "none" {
                image.children = probe.carve(part, &diagnostics)
            } else if StreamCodec(name: payload.compression) != nil {
                image.children = [probe.scanner.decompressedChild(payload.compression, part, depth: probe.depth, where: probe.context,
                                                                  diagnostics: &diagnostics)]
            } else {
                image.problem = "FIT payload compression \(payload.compression) is not supported"
                diagnostics.append(Diagnostic(.error, .check, code: "image.unsupported", image.problem!, at: probe.location))
            }
            node.children.append(image)
        }
        return node
    }
}
