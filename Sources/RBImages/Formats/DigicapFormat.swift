import RBCore

/// Hikvision firmware update files (`digicap.dav`). As published by hiktools and Hikvision's
/// own repack scripts:
///
/// - the header is XOR-obfuscated with a public 16-byte key whose position advances one extra
///   step every 16 bytes (`plain[i] = enc[i] ^ key[(i + i / 16) % 16]`); the payload is plain;
/// - decoded, "SWKH", a checksum (the byte sum of the header from offset 12), the header
///   length (0x40 + 44 × files), the file count, language, device class, OEM code, version
///   and features, then at 0x40 a table of 44-byte entries: name[32], offset, size, checksum
///   (the byte sum of the file). Tools disagree on the order of offset and size; the order
///   that makes the files start at the header's end and follow each other is taken;
/// - "02KH" headers use the same obfuscation but an undocumented layout (the files are
///   carved as they are); "03KH" headers and files are AES-256 encrypted with per-device keys
///   (named precisely, not decryptable).
enum DigicapFormat: ImageFormat {
    static let name = "digicap"
    static let summary = "a Hikvision digicap.dav update file"
    static let reader = "own reader (XOR header, file table, checksums); files carved; checked against hiktools"
    static let key: [UInt8] = [0xba, 0xcd, 0xbc, 0xfe, 0xd6, 0xca, 0xdd, 0xd3, 0xba, 0xb9, 0xa3, 0xab, 0xbf, 0xcb, 0xb5, 0xbe]
    /// "SWKH", "02KH", "03KH" as they appear obfuscated.
    static let signatures = ["SWKH", "02KH", "03KH"].map { FormatSignature(deobfuscate(Array($0.utf8))) }

    /// XOR with the position-dependent key (its own inverse).
    static func deobfuscate(_ bytes: [UInt8], from start: Int = 0) -> [UInt8] {
        bytes.enumerated().map { i, byte in
            let position = start + i
            return byte ^ key[(position + (position >> 4)) & 15]
        }
    }

    static func open(_ probe: FormatProbe, _ diagnostics: inout [Diagnostic]) -> ContainerNode? {
        guard probe.head.count >= 16 else { return nil }
        let first = deobfuscate(Array(probe.head.prefix(16)))
        let magic = String(decoding: first[0..<4], as: UTF8.self)
        let headerLength = Int(first.le32(8)), count = Int(first.le32(12))
        var node = ContainerNode(format: "digicap", offset: probe.offset, size: nil, details: ["magic": magic])
        switch magic {
        case "03KH":
            guard headerLength > 16, headerLength < 1 << 20 else { return nil }
            probe.fail(&node, "image.encrypted",
                       "Hikvision digicap (03KH): the header and files are AES-256 encrypted with a per-device key; they cannot be read", &diagnostics)
            return node
        case "02KH":
            guard headerLength > 16, headerLength < 1 << 20 else { return nil }
            node.size = UInt64(headerLength)
            diagnostics.append(Diagnostic(.warning, .check, code: "image.undocumented",
                "Hikvision digicap (02KH): the header layout is not documented; what follows it is carved as it is", at: probe.location))
            return node
        default:
            break
        }
        guard count >= 1, count <= 256, headerLength == 0x40 + 44 * count, UInt64(headerLength) <= probe.available,
              let raw = try? probe.region.read(at: 0, count: headerLength), raw.count == headerLength else { return nil }
        let header = deobfuscate(raw)
        let sum = header[12...].reduce(UInt32(0)) { $0 &+ UInt32($1) }
        node.details["headerChecksum"] = sum == header.le32(4) ? "ok" : "mismatch"
        node.details["files"] = String(count)
        node.details["language"] = String(header.le32(0x10))
        node.details["deviceClass"] = String(header.le32(0x14))
        node.details["oem"] = String(header.le32(0x18))
        var entries: [(name: String, a: UInt64, b: UInt64, checksum: UInt32)] = []
        for k in 0..<count {
            let at = 0x40 + 44 * k
            entries.append((String(decoding: header[at..<(at + 32)].prefix { $0 != 0 }, as: UTF8.self),
                            UInt64(header.le32(at + 32)), UInt64(header.le32(at + 36)), header.le32(at + 40)))
        }
        // (offset, size) or (size, offset): the order under which the files tile the payload.
        func tiles(_ pairs: [(offset: UInt64, size: UInt64)]) -> Bool {
            var next = UInt64(headerLength)
            for pair in pairs {
                guard pair.offset == next, pair.offset + pair.size <= probe.available else { return false }
                next = pair.offset + pair.size
            }
            return true
        }
        let direct = entries.map { (offset: $0.a, size: $0.b) }, swapped = entries.map { (offset: $0.b, size: $0.a) }
        let files: [(offset: UInt64, size: UInt64)]
        if tiles(direct) {
            files = direct
        } else if tiles(swapped) {
            files = swapped
        } else {
            // Not contiguous: accept any in-bounds order, else report.
            let inBounds = { (pairs: [(offset: UInt64, size: UInt64)]) in
                pairs.allSatisfy { $0.offset >= UInt64(headerLength) && $0.offset + $0.size <= probe.available }
            }
            guard let chosen = inBounds(direct) ? direct : inBounds(swapped) ? swapped : nil else {
                node.size = UInt64(headerLength)
                probe.fail(&node, "image.corrupt", "Hikvision digicap: the file table points outside the file (truncated update?)", &diagnostics)
                return node
            }
            files = chosen
        }
        node.size = files.map { $0.offset + $0.size }.max() ?? UInt64(headerLength)
        if probe.tooDeep(&node, &diagnostics) { return node }
        for (entry, file) in zip(entries, files) {
            let part = probe.region.slice(file.offset, file.size)
            var child = ContainerNode(format: entry.name.isEmpty ? "file" : entry.name, offset: file.offset, size: file.size, details: [:])
            if let sum = try? byteSum(part) {
                child.details["checksum"] = sum == entry.checksum ? "ok" : "mismatch"
                if sum != entry.checksum {
                    diagnostics.append(Diagnostic(.warning, .check, code: "image.crc-mismatch",
                        "digicap file '\(entry.name)': its checksum does not match the file table", at: probe.location))
                }
            }
            child.children = probe.carve(part, &diagnostics)
            node.children.append(child)
        }
        return node
    }

    static func byteSum(_ part: ByteSource) throws(ImageError) -> UInt32 {
        var sum: UInt32 = 0
        var offset: UInt64 = 0
        while offset < part.size {
            let chunk = try part.read(at: offset, count: 1 << 20)
            if chunk.isEmpty { break }
            for byte in chunk { sum &+= UInt32(byte) }
            offset += UInt64(chunk.count)
        }
        return sum
    }
}
