/// A flattened device tree read as a stream of tokens from a byte range, keeping only small
/// property values in memory: FIT images embed whole kernels and filesystems in `data`
/// properties, which are recorded as byte ranges instead of being loaded (libfdt needs the whole
/// blob in memory, which an image reader must not do).
struct FlattenedDeviceTree {
    static let magic: [UInt8] = [0xd0, 0x0d, 0xfe, 0xed]

    struct Property {
        var name: String
        /// Offset of the value from the start of the blob, and its length.
        var offset: UInt64
        var length: UInt32
        /// The value when it is small (≤ 4 KiB).
        var value: [UInt8]?

        var string: String? { value.map { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) } }
        var u32: UInt32? { value.flatMap { $0.count == 4 ? $0.be32(0) : nil } }
    }

    final class Node {
        var name: String
        var properties: [String: Property] = [:]
        var children: [Node] = []
        init(name: String) { self.name = name }
        func child(_ name: String) -> Node? { children.first { $0.name == name } }
    }

    let totalSize: UInt64
    let root: Node

    init(_ source: ByteSource) throws(ImageError) {
        let header = try source.read(at: 0, count: 40)
        guard header.count == 40, header.matches(FlattenedDeviceTree.magic, at: 0) else {
            throw ImageError(.corrupt, source.file.name, "not a device tree", offset: source.base)
        }
        totalSize = UInt64(header.be32(4))
        let structOffset = UInt64(header.be32(8)), stringsOffset = UInt64(header.be32(12))
        let structSize = UInt64(header.be32(36)), stringsSize = UInt64(header.be32(32))
        guard header.be32(20) >= 16, totalSize <= source.size, structOffset + structSize <= totalSize,
              stringsOffset + stringsSize <= totalSize, stringsSize <= 1 << 20 else {
            throw ImageError(.corrupt, source.file.name, "device tree header out of bounds", offset: source.base)
        }
        let strings = try source.read(at: stringsOffset, count: Int(stringsSize))
        func string(at offset: Int) -> String {
            guard offset < strings.count else { return "?" }
            return String(decoding: strings[offset...].prefix { $0 != 0 }, as: UTF8.self)
        }
        var stack: [Node] = []
        var top: Node?
        var cursor = structOffset
        let end = structOffset + structSize
        var tokens = 0
        while cursor + 4 <= end {
            tokens += 1
            guard tokens < 1_000_000 else { throw ImageError(.corrupt, source.file.name, "device tree too large", offset: source.base) }
            let token = try source.read(at: cursor, count: 4).be32(0)
            cursor += 4
            switch token {
            case 1:
                let nameBytes = try source.read(at: cursor, count: 256)
                let name = nameBytes.prefix { $0 != 0 }
                guard name.count < nameBytes.count else { throw ImageError(.corrupt, source.file.name, "device tree node name too long", offset: source.base + cursor) }
                cursor += UInt64((name.count + 1 + 3) & ~3)
                let node = Node(name: String(decoding: name, as: UTF8.self))
                stack.last?.children.append(node)
                if top == nil { top = node }
                stack.append(node)
                guard stack.count < 64 else { throw ImageError(.corrupt, source.file.name, "device tree nested too deep", offset: source.base + cursor) }
            case 2:
                guard !stack.isEmpty else { throw ImageError(.corrupt, source.file.name, "unbalanced device tree", offset: source.base + cursor) }
                stack.removeLast()
            case 3:
                let head = try source.read(at: cursor, count: 8)
                guard head.count == 8 else { throw ImageError(.corrupt, source.file.name, "truncated device tree", offset: source.base + cursor) }
                let length = head.be32(0), nameOffset = Int(head.be32(4))
                cursor += 8
                guard cursor + UInt64(length) <= source.size else {
                    throw ImageError(.corrupt, source.file.name, "device tree property out of bounds", offset: source.base + cursor)
                }
                let value = length <= 4096 ? try source.read(at: cursor, count: Int(length)) : nil
                let name = string(at: nameOffset)
                stack.last?.properties[name] = Property(name: name, offset: cursor, length: length, value: value)
                cursor += (UInt64(length) + 3) & ~3
            case 4:
                continue
            case 9:
                cursor = end
            default:
                throw ImageError(.corrupt, source.file.name, "bad device tree token \(token)", offset: source.base + cursor - 4)
            }
        }
        guard let top else { throw ImageError(.corrupt, source.file.name, "empty device tree", offset: source.base) }
        root = top
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
