import RBCore
import RBCrypto

/// D-Link's "SHRS" encrypted firmware (DIR-8xx/3xxx generation): AES-128-CBC under a key that
/// was published after it shipped in the devices' own decryption tool. Header (big endian):
/// "SHRS", the decrypted length, the encrypted length, the IV at 0x0c, digests and a signature,
/// the ciphertext from 0x6dc. Decrypted (bounded), then carved.
enum DLinkSHRSFormat: ImageFormat {
    static let name = "D-Link SHRS"
    static let summary = "a D-Link SHRS encrypted firmware"
    static let reader = "AES-128-CBC with the published key (OpenSSL); decrypted payload carved"
    static let signatures = [FormatSignature("SHRS")]
    static let key: [UInt8] = [0xc0, 0x5f, 0xbf, 0x19, 0x36, 0xc9, 0x94, 0x29, 0xce, 0x2a, 0x07, 0x81, 0xf0, 0x8d, 0x6a, 0xd8]
    static let payloadOffset: UInt64 = 0x6dc
    static let largest: UInt64 = 256 << 20

    static func open(_ probe: FormatProbe, _ diagnostics: inout [Diagnostic]) -> ContainerNode? {
        let head = probe.head
        guard head.count >= 0x1c else { return nil }
        let plainLength = UInt64(head.be32(4)), encryptedLength = UInt64(head.be32(8))
        guard plainLength > 0, encryptedLength >= plainLength, encryptedLength % 16 == 0, encryptedLength - plainLength < 16 else { return nil }
        var node = ContainerNode(format: name, offset: probe.offset, size: min(payloadOffset + encryptedLength, probe.available),
                                 details: ["cipher": "AES-128-CBC (published D-Link key)", "decrypted": String(plainLength)])
        guard payloadOffset + encryptedLength <= probe.available else {
            probe.fail(&node, "image.corrupt", "D-Link SHRS: the header says \(encryptedLength) encrypted bytes, fewer are present (truncated?)", &diagnostics)
            return node
        }
        guard encryptedLength <= largest else {
            probe.fail(&node, "image.limit", "D-Link SHRS payload of \(encryptedLength) bytes is larger than \(largest); not decrypted", &diagnostics)
            return node
        }
        if probe.tooDeep(&node, &diagnostics) { return node }
        let label = probe.treeName("SHRS")
        do throws(ImageError) {
            let encrypted = try probe.region.read(at: payloadOffset, count: Int(encryptedLength))
            guard let plain = AES.decrypt(encrypted, key: key, mode: .cbc(iv: Array(head[0x0c..<0x1c]))), probe.scanner.budget.take(plainLength) else {
                throw ImageError(.limit, label, "cannot decrypt (OpenSSL error, or the decompressed-size limit reached)")
            }
            let writer = try Spool.create(name: label + " (decrypted)")
            try writer.append(Array(plain.prefix(Int(plainLength))))
            node.children = probe.scanner.carve(ByteSource(file: writer.finish()), depth: probe.depth, where: label, diagnostics: &diagnostics)
        } catch {
            probe.fail(&node, "image." + error.code.rawValue, error.message, &diagnostics)
        }
        return node
    }
}

/// D-Link's "MH01" container (a header, then an OpenSSL-"Salted__" AES payload whose key is not
/// public): named precisely as encrypted instead of an unknown format.
enum DLinkMH01Format: ImageFormat {
    static let name = "D-Link MH01"
    static let summary = "a D-Link MH01 encrypted firmware"
    static let reader = "recognised (encrypted, key not public)"
    static let signatures = [FormatSignature("MH01")]

    static func open(_ probe: FormatProbe, _ diagnostics: inout [Diagnostic]) -> ContainerNode? {
        let head = probe.head
        guard head.count >= 32, let salted = head.withUnsafeBufferPointer({ ByteScan.find(Array("Salted__".utf8), in: $0) }), salted < 1024 else {
            return nil
        }
        var node = ContainerNode(format: name, offset: probe.offset, size: probe.available, details: ["payload": "0x" + String(salted, radix: 16)])
        probe.fail(&node, "image.encrypted",
                   "D-Link MH01 firmware: the payload at 0x\(String(probe.absolute + UInt64(salted), radix: 16)) is OpenSSL-encrypted (\"Salted__\") with a key that is not public; it cannot be read",
                   &diagnostics)
        return node
    }
}
