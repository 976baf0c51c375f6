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
