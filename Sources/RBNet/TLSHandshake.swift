/// TLS protocol versions rbscan probes, by their wire value.
public enum TLSVersion: UInt16, CaseIterable, Sendable, Comparable {
    case ssl3 = 0x0300
    case tls10 = 0x0301
    case tls11 = 0x0302
    case tls12 = 0x0303
    case tls13 = 0x0304

    /// The key used in reports: SSLv3, TLSv1.0 … TLSv1.3.
    public var name: String {
        switch self {
        case .ssl3: "SSLv3"
        case .tls10: "TLSv1.0"
        case .tls11: "TLSv1.1"
        case .tls12: "TLSv1.2"
        case .tls13: "TLSv1.3"
        }
    }

    public static func < (a: TLSVersion, b: TLSVersion) -> Bool { a.rawValue < b.rawValue }
}

/// Builds ClientHellos byte by byte: no TLS library offers SSLv3, EXPORT or NULL suites on
/// purpose, and a scanner must.
enum ClientHello {
    static func build(version: TLSVersion, suites: [UInt16], serverName: String?) -> [UInt8] {
        var body: [UInt8] = []
        let legacy = version == .tls13 ? TLSVersion.tls12.rawValue : version.rawValue
        body += be16(legacy)
        body += (0..<32).map { _ in UInt8.random(in: 0...255) }
        let session = version == .tls13 ? (0..<32).map { _ in UInt8.random(in: 0...255) } : []
        body.append(UInt8(session.count))
        body += session
        body += be16(UInt16(suites.count * 2))
        for suite in suites { body += be16(suite) }
        body += [1, 0]                                    // compression: null only
        var extensions: [UInt8] = []
        if let serverName, !serverName.isEmpty, serverName.first?.isLetter == true, version != .ssl3 {
            let name = Array(serverName.utf8)
            extensions += ext(0x0000, be16(UInt16(name.count + 3)) + [0] + be16(UInt16(name.count)) + name)
        }
        if version != .ssl3 {
            let groups: [UInt16] = [0x001d, 0x0017, 0x0018, 0x0019, 0x001e, 0x0100, 0x0101, 0x0102, 0x0103, 0x0104]
            extensions += ext(0x000a, be16(UInt16(groups.count * 2)) + groups.flatMap(be16))
            extensions += ext(0x000b, [1, 0])
            let signatures: [UInt16] = [0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0807, 0x0808, 0x0401, 0x0501, 0x0601,
                                        0x0203, 0x0201, 0x0402, 0x0202, 0x0101]
            extensions += ext(0x000d, be16(UInt16(signatures.count * 2)) + signatures.flatMap(be16))
            extensions += ext(0xff01, [0])                // secure renegotiation
        }
        if version == .tls13 {
            extensions += ext(0x002b, [2] + be16(0x0304))
            extensions += ext(0x002d, [1, 1])
            let share = (0..<32).map { _ in UInt8.random(in: 0...255) }
            extensions += ext(0x0033, be16(36) + be16(0x001d) + be16(32) + share)
        }
        if !extensions.isEmpty { body += be16(UInt16(extensions.count)) + extensions }
        let handshake: [UInt8] = [1] + be24(body.count) + body
        let recordVersion = version == .ssl3 ? TLSVersion.ssl3.rawValue : TLSVersion.tls10.rawValue
        return [0x16] + be16(recordVersion) + be16(UInt16(handshake.count)) + handshake
    }

    static func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xff)] }
    static func be24(_ value: Int) -> [UInt8] { [UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)] }
    static func ext(_ type: UInt16, _ data: [UInt8]) -> [UInt8] { be16(type) + be16(UInt16(data.count)) + data }
}

/// What the server answered to one ClientHello.
enum ServerAnswer: Equatable {
    /// A ServerHello (or a HelloRetryRequest): the negotiated version and suite.
    case hello(version: UInt16, suite: UInt16)
    /// A fatal alert (handshake_failure, protocol_version…).
    case alert(UInt8)
    /// The connection closed, or bytes that are not TLS.
    case closed
    case garbage
}

/// Reads records until the ServerHello or an alert: handles a hello split over records and
/// several handshake messages in one record; never reads more than 64 KiB.
enum ServerHelloParser {
    static func parse(_ bytes: [UInt8]) -> ServerAnswer? {
        var handshake: [UInt8] = []
        var i = 0
        while i + 5 <= bytes.count {
            let type = bytes[i]
            let length = Int(bytes[i + 3]) << 8 | Int(bytes[i + 4])
            guard [0x14, 0x15, 0x16, 0x17].contains(type), bytes[i + 1] == 3 else { return .garbage }
            guard i + 5 + length <= bytes.count else { return nil }
            let fragment = bytes[(i + 5)..<(i + 5 + length)]
            if type == 0x15 { return fragment.count >= 2 ? .alert(fragment[fragment.startIndex + 1]) : .garbage }
            if type == 0x16 { handshake += fragment }
            i += 5 + length
            if handshake.count >= 4 {
                guard handshake[0] == 2 else { return .garbage }
                let helloLength = Int(handshake[1]) << 16 | Int(handshake[2]) << 8 | Int(handshake[3])
                if handshake.count >= 4 + helloLength { return hello(Array(handshake[4..<(4 + helloLength)])) }
            }
        }
        return nil
    }

    static func hello(_ body: [UInt8]) -> ServerAnswer {
        guard body.count >= 38 else { return .garbage }
        var version = UInt16(body[0]) << 8 | UInt16(body[1])
        let sessionLength = Int(body[34])
        var i = 35 + sessionLength
        guard i + 3 <= body.count else { return .garbage }
        let suite = UInt16(body[i]) << 8 | UInt16(body[i + 1])
        i += 3
        if i + 2 <= body.count {
            let end = min(body.count, i + 2 + (Int(body[i]) << 8 | Int(body[i + 1])))
            i += 2
            while i + 4 <= end {
                let type = UInt16(body[i]) << 8 | UInt16(body[i + 1])
                let length = Int(body[i + 2]) << 8 | Int(body[i + 3])
                if type == 0x002b, length == 2, i + 6 <= end { version = UInt16(body[i + 4]) << 8 | UInt16(body[i + 5]) }
                i += 4 + length
            }
        }
        return .hello(version: version, suite: suite)
    }
}
