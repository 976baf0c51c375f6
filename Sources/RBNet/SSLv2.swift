/// The SSLv2 probe: one SSLv2 CLIENT-HELLO offering all seven SSLv2 cipher kinds. An SSLv2
/// server answers with a SERVER-HELLO listing every kind it shares, so one connection tells both
/// whether SSLv2 is on and with which ciphers. A TLS server answers with a TLS record or closes.
enum SSLv2 {
    static let cipherKinds: [(UInt32, String)] = [
        (0x010080, "SSL_CK_RC4_128_WITH_MD5"), (0x020080, "SSL_CK_RC4_128_EXPORT40_WITH_MD5"),
        (0x030080, "SSL_CK_RC2_128_CBC_WITH_MD5"), (0x040080, "SSL_CK_RC2_128_CBC_EXPORT40_WITH_MD5"),
        (0x050080, "SSL_CK_IDEA_128_CBC_WITH_MD5"), (0x060040, "SSL_CK_DES_64_CBC_WITH_MD5"),
        (0x0700c0, "SSL_CK_DES_192_EDE3_CBC_WITH_MD5"),
    ]

    static func clientHello() -> [UInt8] {
        var body: [UInt8] = [1, 0x00, 0x02]                       // CLIENT-HELLO, version 2
        let specs = cipherKinds.flatMap { [UInt8($0.0 >> 16), UInt8(($0.0 >> 8) & 0xff), UInt8($0.0 & 0xff)] }
        body += [UInt8(specs.count >> 8), UInt8(specs.count & 0xff), 0, 0, 0, 16]
        body += specs
        body += (0..<16).map { _ in UInt8.random(in: 0...255) }
        return [0x80 | UInt8(body.count >> 8), UInt8(body.count & 0xff)] + body
    }

    enum Answer: Equatable {
        /// An SSLv2 SERVER-HELLO with the cipher kinds the server shares.
        case serverHello([String])
        /// Anything else: TLS records, an SSLv2 error, a close.
        case notSSLv2
        /// More bytes are needed.
        case incomplete
    }

    static func parse(_ bytes: [UInt8]) -> Answer {
        guard bytes.count >= 2 else { return .incomplete }
        guard bytes[0] & 0x80 != 0 else { return .notSSLv2 }
        let length = Int(bytes[0] & 0x7f) << 8 | Int(bytes[1])
        guard bytes.count >= 2 + length else { return .incomplete }
        let body = Array(bytes[2..<(2 + length)])
        guard body.count >= 11, body[0] == 4, body[3] == 0, body[4] == 2 else { return .notSSLv2 }
        let certificateLength = Int(body[5]) << 8 | Int(body[6])
        let specsLength = Int(body[7]) << 8 | Int(body[8])
        let start = 11 + certificateLength
        guard specsLength % 3 == 0, start + specsLength <= body.count else { return .notSSLv2 }
        var names: [String] = []
        for i in stride(from: start, to: start + specsLength, by: 3) {
            let kind = UInt32(body[i]) << 16 | UInt32(body[i + 1]) << 8 | UInt32(body[i + 2])
            names.append(cipherKinds.first { $0.0 == kind }?.1 ?? "SSL_CK_0x" + String(kind, radix: 16, uppercase: true))
        }
        return .serverHello(names)
    }
}
