import RBCore
import RBCrypto

/// Hi-Link (HLK) router firmware: a uImage encrypted with single DES in ECB mode under the
/// published key "H@L9K*(3", in two passes with a 3-byte shift (binwalk's former Hi-Link
/// plugin): the bytes from offset 3 are decrypted, the first 3 bytes put back in front, and the
/// result decrypted again. Recognised by the encrypted header bytes binwalk lists (4a 52 ca da
/// at 0x23), or at the start of a blob in which nothing else was found; accepted only when the
/// decrypted header is a valid uImage header (its CRC), then decrypted whole and carved.
enum HiLinkFormat: ImageFormat {
    static let name = "hilink"
    static let summary = "a Hi-Link DES-encrypted uImage"
    static let reader = "DES-ECB with the published key (OpenSSL legacy provider); decrypted uImage carved"
    static let signatures = [FormatSignature([0x4a, 0x52, 0xca, 0xda], at: 0x23)]
    static let key = Array("H@L9K*(3".utf8)
    /// Largest encrypted image decrypted (it is decrypted in memory).
    static let largest: UInt64 = 64 << 20

    static func decrypt(_ data: [UInt8]) -> [UInt8]? {
        guard data.count > 3, let first = DES.decryptECB(Array(data[3...]), key: key) else { return nil }
        return DES.decryptECB(Array(data[0..<3]) + first, key: key)
    }

    static func open(_ probe: FormatProbe, _ diagnostics: inout [Diagnostic]) -> ContainerNode? {
        guard probe.head.count >= 72, let plain = decrypt(Array(probe.head.prefix(72))), let header = UImageHeader(plain) else { return nil }
        let total = UInt64(UImageHeader.size) + UInt64(header.dataSize)
        var node = ContainerNode(format: "hilink", offset: probe.offset, size: min(total, probe.available),
                                 details: ["name": header.name, "cipher": "DES-ECB (published Hi-Link key)"])
        guard total <= largest else {
            probe.fail(&node, "image.limit", "Hi-Link encrypted image of \(total) bytes is larger than \(largest) bytes; not decrypted", &diagnostics)
            return node
        }
        if probe.tooDeep(&node, &diagnostics) { return node }
        let label = probe.treeName("hilink")
        do throws(ImageError) {
            let encrypted = try probe.region.read(at: 0, count: Int(min(total + 8, probe.available)))
            guard let decrypted = decrypt(encrypted), probe.scanner.budget.take(UInt64(decrypted.count)) else {
                throw ImageError(.limit, label, "cannot decrypt (OpenSSL's legacy provider missing, or the decompressed-size limit reached)")
            }
            let writer = try Spool.create(name: label + " (decrypted)")
            try writer.append(Array(decrypted.prefix(Int(total))))
            let spool = writer.finish()
            node.children = probe.scanner.carve(ByteSource(file: spool), depth: probe.depth, where: label, diagnostics: &diagnostics)
        } catch {
            probe.fail(&node, "image." + error.code.rawValue, error.message, &diagnostics)
        }
        return node
    }
}
