import RBCore

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
    /// Groups offered while enumerating suites: every group, strongest first, so no ECDHE suite
    /// is refused for want of a curve the server has.
    static let everyGroup: [UInt16] = TLSGroup.all.reversed().map(\.id)

    /// `groups` go in supported_groups; TLS 1.3 hellos carry an x25519 key share unless
    /// `keyShare` is false (an empty key_share makes the server name its group in a
    /// HelloRetryRequest). TLS 1.2 and older also offer DEFLATE compression and the heartbeat
    /// extension, so the ServerHello tells whether the server would use them.
    static func build(version: TLSVersion, suites: [UInt16], serverName: String?,
                      groups: [UInt16] = everyGroup, keyShare: Bool = true) -> [UInt8] {
        var body: [UInt8] = []
        let legacy = version == .tls13 ? TLSVersion.tls12.rawValue : version.rawValue
        body += be16(legacy)
        body += (0..<32).map { _ in UInt8.random(in: 0...255) }
        let session = version == .tls13 ? (0..<32).map { _ in UInt8.random(in: 0...255) } : []
        body.append(UInt8(session.count))
        body += session
        body += be16(UInt16(suites.count * 2))
        for suite in suites { body += be16(suite) }
        body += version == .tls13 ? [1, 0] : [2, 1, 0]    // compression: (DEFLATE,) null
        var extensions: [UInt8] = []
        if let serverName, !serverName.isEmpty, serverName.first?.isLetter == true, version != .ssl3 {
            let name = Array(serverName.utf8)
            extensions += ext(0x0000, be16(UInt16(name.count + 3)) + [0] + be16(UInt16(name.count)) + name)
        }
        if version != .ssl3 {
            if !groups.isEmpty { extensions += ext(0x000a, be16(UInt16(groups.count * 2)) + groups.flatMap(be16)) }
            extensions += ext(0x000b, [1, 0])
            let signatures: [UInt16] = [0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0807, 0x0808, 0x0401, 0x0501, 0x0601,
                                        0x0203, 0x0201, 0x0402, 0x0202, 0x0101]
            extensions += ext(0x000d, be16(UInt16(signatures.count * 2)) + signatures.flatMap(be16))
            extensions += ext(0xff01, [0])                // secure renegotiation
        }
        if version != .ssl3, version != .tls13 {
            extensions += ext(0x000f, [1])                // heartbeat, peer allowed to send
        }
        if version == .tls13 {
            extensions += ext(0x002b, [2] + be16(0x0304))
            extensions += ext(0x002d, [1, 1])
            if keyShare {
                let share = (0..<32).map { _ in UInt8.random(in: 0...255) }
                extensions += ext(0x0033, be16(36) + be16(0x001d) + be16(32) + share)
            } else {
                extensions += ext(0x0033, be16(0))
            }
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

/// A ServerHello (or HelloRetryRequest) as far as a scanner cares.
struct ServerHello: Equatable, Sendable {
    /// The negotiated version (from supported_versions for TLS 1.3).
    var version: UInt16
    var suite: UInt16
    var compression: UInt8 = 0
    /// Extension type → data.
    var extensions: [UInt16: [UInt8]] = [:]
    var isRetryRequest = false
    /// The ServerKeyExchange body (TLS 1.2 and older), when the whole first flight was read.
    var keyExchange: [UInt8]?

    /// The group of the key_share extension: the group selected in a HelloRetryRequest, or of
    /// the server's share in a ServerHello.
    var keyShareGroup: UInt16? {
        guard let data = extensions[0x0033], data.count >= 2 else { return nil }
        return UInt16(data[0]) << 8 | UInt16(data[1])
    }

    /// The DH prime size of a DHE ServerKeyExchange (dh_p is its first field).
    var dhPrimeBits: Int? {
        guard let body = keyExchange, body.count >= 2 else { return nil }
        let length = Int(body[0]) << 8 | Int(body[1])
        guard length > 0, 2 + length <= body.count else { return nil }
        let prime = body[2..<(2 + length)].drop { $0 == 0 }
        guard let top = prime.first else { return nil }
        return (prime.count - 1) * 8 + (8 - top.leadingZeroBitCount)
    }

    /// The named curve of an ECDHE ServerKeyExchange (curve_type 3, named_curve).
    var namedCurve: UInt16? {
        guard let body = keyExchange, body.count >= 3, body[0] == 3 else { return nil }
        return UInt16(body[1]) << 8 | UInt16(body[2])
    }

    /// SHA-256 of "HelloRetryRequest" (RFC 8446 4.1.3), sent as the random of a HelloRetryRequest.
    static let retryRandom: [UInt8] = [
        0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
        0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
    ]
}

/// What the server answered to one ClientHello.
enum ServerAnswer: Equatable {
    case hello(ServerHello)
    /// A fatal alert (handshake_failure, protocol_version…).
    case alert(UInt8)
    /// The connection closed, or bytes that are not TLS.
    case closed
    case garbage
}

/// Reads records until the ServerHello (or, with `flight`, the rest of the server's first
/// flight up to ServerHelloDone, for the ServerKeyExchange) or an alert: handles messages
/// split over records and several messages in one record.
enum ServerHelloParser {
    static func parse(_ bytes: [UInt8]) -> ServerAnswer? { parse(bytes, flight: false) }

    static func parseFlight(_ bytes: [UInt8]) -> ServerAnswer? { parse(bytes, flight: true) }

    static func parse(_ bytes: [UInt8], flight: Bool) -> ServerAnswer? {
        var handshake: [UInt8] = []
        var alert: UInt8?
        var i = 0
        records: while i + 5 <= bytes.count {
            let type = bytes[i]
            let length = Int(bytes[i + 3]) << 8 | Int(bytes[i + 4])
            guard [0x14, 0x15, 0x16, 0x17].contains(type), bytes[i + 1] == 3 else { return .garbage }
            guard i + 5 + length <= bytes.count else { break }
            let fragment = bytes[(i + 5)..<(i + 5 + length)]
            switch type {
            case 0x15:
                guard fragment.count >= 2 else { return .garbage }
                alert = fragment[fragment.startIndex + 1]
                break records
            case 0x16: handshake += fragment
            default: break
            }
            i += 5 + length
        }
        // The handshake messages complete so far.
        var messages: [(type: UInt8, body: [UInt8])] = []
        var j = 0
        while j + 4 <= handshake.count {
            let length = Int(handshake[j + 1]) << 16 | Int(handshake[j + 2]) << 8 | Int(handshake[j + 3])
            guard j + 4 + length <= handshake.count else { break }
            messages.append((handshake[j], Array(handshake[(j + 4)..<(j + 4 + length)])))
            j += 4 + length
        }
        if let first = handshake.first, first != 2 { return .garbage }
        guard let first = messages.first else { return alert.map(ServerAnswer.alert) }
        guard var hello = hello(first.body) else { return .garbage }
        if !flight || hello.isRetryRequest || hello.version == TLSVersion.tls13.rawValue { return .hello(hello) }
        hello.keyExchange = messages.first { $0.type == 12 }?.body
        // Done at ServerHelloDone or the ServerKeyExchange; an alert ends the flight early.
        if hello.keyExchange != nil || messages.contains(where: { $0.type == 14 }) || alert != nil { return .hello(hello) }
        return nil
    }

    static func hello(_ body: [UInt8]) -> ServerHello? {
        guard body.count >= 38 else { return nil }
        var hello = ServerHello(version: UInt16(body[0]) << 8 | UInt16(body[1]), suite: 0)
        hello.isRetryRequest = Array(body[2..<34]) == ServerHello.retryRandom
        let sessionLength = Int(body[34])
        var i = 35 + sessionLength
        guard i + 3 <= body.count else { return nil }
        hello.suite = UInt16(body[i]) << 8 | UInt16(body[i + 1])
        hello.compression = body[i + 2]
        i += 3
        if i + 2 <= body.count {
            let end = min(body.count, i + 2 + (Int(body[i]) << 8 | Int(body[i + 1])))
            i += 2
            while i + 4 <= end {
                let type = UInt16(body[i]) << 8 | UInt16(body[i + 1])
                let length = Int(body[i + 2]) << 8 | Int(body[i + 3])
                guard i + 4 + length <= end else { break }
                hello.extensions[type] = Array(body[(i + 4)..<(i + 4 + length)])
                i += 4 + length
            }
        }
        if let versions = hello.extensions[0x002b], versions.count == 2 {
            hello.version = UInt16(versions[0]) << 8 | UInt16(versions[1])
        }
        return hello
    }
}
