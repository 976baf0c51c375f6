import RBCore

/// U-Boot legacy images (`mkimage -T kernel|ramdisk|filesystem|multi`): the header's data CRC
/// is checked, the payload decompressed as the header says (or read as it is when it is not
/// compressed after all), multi-file images split into their parts.
enum UImageFormat: ImageFormat {
    static let name = "uImage"
    static let summary = "a U-Boot uImage"
    static let reader = "own reader (header CRC, data CRC, multi-file), payload carved"
    static let signatures = [FormatSignature(UImageHeader.magic)]

    static func open(_ probe: FormatProbe, _ diagnostics: inout [Diagnostic]) -> ContainerNode? {
        guard let header = UImageHeader(probe.head) else { return nil }
        let available = probe.available - UInt64(UImageHeader.size)
        var node = ContainerNode(format: "uImage", offset: probe.offset, size: UInt64(UImageHeader.size) + min(UInt64(header.dataSize), available),
                                 details: ["name": header.name, "type": header.typeName, "compression": header.compressionName,
                                           "dataSize": String(header.dataSize)])
        if UInt64(header.dataSize) > available {
            probe.fail(&node, "image.corrupt", "truncated: the header says \(header.dataSize) data bytes, \(available) are present", &diagnostics)
        }
        let data = probe.region.slice(UInt64(UImageHeader.size), UInt64(header.dataSize))
        let crc = try? CRC32.of(data, offset: 0, length: data.size)
        node.details["dataCRC"] = crc == header.dataCRC ? "ok" : "mismatch"
        if crc != header.dataCRC {
            diagnostics.append(Diagnostic(.warning, .check, code: "image.crc-mismatch",
                "uImage '\(header.name)' data CRC does not match its header", at: probe.location))
        }
        if probe.tooDeep(&node, &diagnostics) { return node }
        // Payloads: one, or for a multi-file image a zero-terminated size list then 4-byte aligned images.
        var parts: [(UInt64, UInt64)] = []
        if header.type == 4 {
            var sizes: [UInt64] = []
            var cursor: UInt64 = 0
            while let raw = try? data.read(at: cursor, count: 4), raw.count == 4 {
                cursor += 4
                let size = UInt64(raw.be32(0))
                if size == 0 || sizes.count > 64 { break }
                sizes.append(size)
            }
            for size in sizes {
                parts.append((cursor, size))
                cursor += (size + 3) & ~3
            }
            node.details["images"] = String(sizes.count)
        } else {
            parts = [(0, data.size)]
        }
        for (start, length) in parts {
            let part = data.slice(start, length)
            var children: [ContainerNode]
            switch header.compression {
            case 0:
                children = probe.carve(part, &diagnostics)
            case 1, 2, 3, 5, 6:
                children = [probe.scanner.decompressedChild(header.compressionName, part, depth: probe.depth, where: probe.context,
                                                            diagnostics: &diagnostics)]
            default:
                let problem = "uImage payload compression \(header.compressionName) is not supported"
                diagnostics.append(Diagnostic(.error, .check, code: "image.unsupported", problem, at: probe.location))
                children = [ContainerNode(format: header.compressionName, offset: 0, size: length, details: [:], problem: problem)]
            }
            node.children += children.map { child in
                var child = child
                child.offset += UInt64(UImageHeader.size) + start
                return child
            }
        }
        return node
    }
}
