import RBCore
import RBCrypto

/// The SSH transport probe (no login, no credentials): the server's identification line and
/// KEXINIT algorithm lists, each host key type read by running the key exchange up to the
/// server's reply (the ephemeral key rbscan sends is never used for anything), and the prime a
/// diffie-hellman-group-exchange server sends for a 1024-bit request. Connections run
/// concurrently on Dispatch workers, each with the connect/read deadlines of `TCPConnection`.
public struct SSHProbe: Sendable {
    public let host: String
    public let port: UInt16
    public let timeout: Double

    public init(host: String, port: UInt16, timeout: Double = 4) {
        self.host = host
        self.port = port
        self.timeout = timeout
    }

    static let clientBanner = "SSH-2.0-rbscan_0.1"

    /// The facts, or why nothing SSH answered.
    public func scan() async -> Result<SSHFacts, ProbeUnreachable> {
        let first = await blocking { self.session(kex: nil, hostKey: nil) }
        guard case .success(let hello) = first else {
            if case .failure(let failure) = first { return .failure(ProbeUnreachable(message: failure.message)) }
            return .failure(ProbeUnreachable(message: "no SSH answer"))
        }
        var facts = SSHFacts(banner: hello.banner)
        facts.handshakes = 1
        guard let kexinit = hello.kexinit else {
            // SSH-1-only servers send no KEXINIT to an SSH-2 client.
            facts.problems.append("no KEXINIT after the banner" + (hello.disconnect.map { ": \($0)" } ?? ""))
            return .success(facts)
        }
        facts.kex = kexinit.lists[0]
        facts.hostKeyAlgorithms = kexinit.lists[1]
        facts.ciphers = Self.union(kexinit.lists[2], kexinit.lists[3])
        facts.macs = Self.union(kexinit.lists[4], kexinit.lists[5])
        facts.compression = Self.union(kexinit.lists[6], kexinit.lists[7])

        // One key exchange per host key type, and the group-exchange probe, concurrently.
        guard let kex = Self.exchanges.first(where: { facts.kex.contains($0.name) }) else {
            facts.problems.append("host keys: no key exchange rbscan can start (\(facts.kex.joined(separator: ",")))")
            return .success(facts)
        }
        var algorithms: [String] = []
        for type in Self.hostKeyTypes {
            if let algorithm = type.first(where: { facts.hostKeyAlgorithms.contains($0) }) { algorithms.append(algorithm) }
        }
        let gex = ["diffie-hellman-group-exchange-sha256", "diffie-hellman-group-exchange-sha1"].first { facts.kex.contains($0) }
        let hostKeyAlgorithms = facts.hostKeyAlgorithms
        await withTaskGroup(of: (String, Result<Session, TCPConnection.Failure>).self) { group in
            for algorithm in algorithms {
                group.addTask { (algorithm, await blocking { self.session(kex: kex, hostKey: algorithm) }) }
            }
            if let gex, let algorithm = hostKeyAlgorithms.first {
                group.addTask { ("gex", await blocking { self.session(kex: Exchange(name: gex, kind: .groupExchange), hostKey: algorithm) }) }
            }
            for await (label, result) in group {
                facts.handshakes += 1
                switch result {
                case .success(let session) where label == "gex":
                    facts.gexModulusBits = session.gexPrimeBits
                case .success(let session):
                    if let key = session.hostKey {
                        facts.hostKeys.append(key)
                    } else {
                        facts.problems.append("host key \(label): no key exchange reply" + (session.disconnect.map { " (\($0))" } ?? ""))
                    }
                case .failure(let failure):
                    facts.problems.append("\(label): \(failure.message)")
                }
            }
        }
        facts.hostKeys.sort { $0.type < $1.type }
        facts.problems.sort()
        return .success(facts)
    }

    static func union(_ a: [String], _ b: [String]) -> [String] { a + b.filter { !a.contains($0) } }

    /// Host key algorithms probed, one per key type (the first the server offers of each).
    static let hostKeyTypes: [[String]] = [
        ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"], ["ssh-dss"], ["ecdsa-sha2-nistp256"], ["ecdsa-sha2-nistp384"],
        ["ecdsa-sha2-nistp521"], ["ssh-ed25519"], ["ssh-ed448"],
    ]

    struct Exchange: Sendable {
        enum Kind: Sendable { case curve25519, nistp256, modp(bytes: Int), groupExchange }
        var name: String
        var kind: Kind
    }

    /// Key exchanges rbscan can start, preferred first. The client value sent is never used for
    /// keys: a random X25519 value, the P-256 generator, a random number below the MODP prime.
    static let exchanges: [Exchange] = [
        .init(name: "curve25519-sha256", kind: .curve25519), .init(name: "curve25519-sha256@libssh.org", kind: .curve25519),
        .init(name: "ecdh-sha2-nistp256", kind: .nistp256),
        .init(name: "diffie-hellman-group14-sha256", kind: .modp(bytes: 256)), .init(name: "diffie-hellman-group16-sha512", kind: .modp(bytes: 512)),
        .init(name: "diffie-hellman-group14-sha1", kind: .modp(bytes: 256)), .init(name: "diffie-hellman-group1-sha1", kind: .modp(bytes: 128)),
    ]

    static let p256Generator: [UInt8] = [0x04,
        0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4, 0x40, 0xf2,
        0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96,
        0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16,
        0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5]

    struct KexInit: Sendable {
        var lists: [[String]]
    }

    /// What one connection saw.
    struct Session: Sendable {
        var banner = ""
        var kexinit: KexInit?
        var hostKey: SSHFacts.HostKey?
        var gexPrimeBits: Int?
        var disconnect: String?
    }

    /// One connection: banners, the server's KEXINIT and, with `kex`, rbscan's KEXINIT naming
    /// `kex` and `hostKey` followed by the key exchange's first message, up to the server's reply.
    func session(kex: Exchange?, hostKey: String?) -> Result<Session, TCPConnection.Failure> {
        do {
            let connection = try TCPConnection(host: host, port: port, timeout: timeout)
            let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
            try connection.send(Array((Self.clientBanner + "\r\n").utf8), timeout: timeout)
            var reader = SSHReader(connection: connection, deadline: deadline)
            var session = Session()
            session.banner = try reader.banner()
            guard session.banner.hasPrefix("SSH-2.0-") || session.banner.hasPrefix("SSH-1.99-") else { return .success(session) }
            guard let payload = try reader.packet(), payload.first == 20, let kexinit = SSHWire.kexinit(payload) else {
                return .success(session)
            }
            session.kexinit = kexinit
            guard let kex, let hostKey else { return .success(session) }
            let lists = kexinit.lists
            var ours: [UInt8] = [20] + (0..<16).map { _ in UInt8.random(in: 0...255) }
            for list in [[kex.name], [hostKey], lists[2], lists[3], lists[4], lists[5], ["none"], ["none"], [], []] {
                ours += SSHWire.string(Array(list.joined(separator: ",").utf8))
            }
            ours += [0, 0, 0, 0, 0]
            var message: [UInt8]
            switch kex.kind {
            case .curve25519: message = [30] + SSHWire.string((0..<32).map { _ in UInt8.random(in: 0...255) })
            case .nistp256: message = [30] + SSHWire.string(Self.p256Generator)
            case .modp(let bytes):
                // A positive value below the prime with many bits set: valid for the server's checks.
                let value = [UInt8.random(in: 0x10...0x7f)] + (1..<(bytes - 1)).map { _ in UInt8.random(in: 0...255) }
                message = [30] + SSHWire.string(value)
            case .groupExchange:
                message = [34] + SSHWire.uint32(1024) + SSHWire.uint32(1024) + SSHWire.uint32(1024)
            }
            try connection.send(SSHWire.packet(ours) + SSHWire.packet(message), timeout: timeout)
            while let reply = try reader.packet() {
                switch reply.first {
                case 31?:
                    var cursor = SSHCursor(reply.dropFirst())
                    if case .groupExchange = kex.kind {
                        session.gexPrimeBits = cursor.mpint().map(SSHWire.bits)
                    } else if let blob = cursor.string() {
                        session.hostKey = SSHWire.hostKey(blob)
                    }
                    return .success(session)
                case 1?:
                    var cursor = SSHCursor(reply.dropFirst(5))
                    session.disconnect = cursor.string().map { String(decoding: $0, as: UTF8.self) } ?? "disconnect"
                    return .success(session)
                default: continue          // ignore, debug, ext-info
                }
            }
            return .success(session)
        } catch {
            return .failure(error)
        }
    }

}

/// Reads the identification line and unencrypted binary packets (RFC 4253 4.2, 6).
struct SSHReader {
    let connection: TCPConnection
    let deadline: ContinuousClock.Instant
    var buffer: [UInt8] = []

    init(connection: TCPConnection, deadline: ContinuousClock.Instant) {
        self.connection = connection
        self.deadline = deadline
    }

    mutating func fill() throws(TCPConnection.Failure) -> Bool {
        let chunk = try connection.receive(max: 16_384, deadline: deadline)
        buffer += chunk
        return !chunk.isEmpty
    }

    /// The `SSH-` line; lines before it are skipped (RFC 4253 4.2), at most 32 KiB of them.
    mutating func banner() throws(TCPConnection.Failure) -> String {
        while true {
            while let newline = buffer.firstIndex(of: 10) {
                var line = Array(buffer[..<newline])
                buffer.removeFirst(newline + 1)
                if line.last == 13 { line.removeLast() }
                let text = String(decoding: line.prefix(255), as: UTF8.self)
                if text.hasPrefix("SSH-") { return text }
            }
            guard buffer.count < 1 << 15 else { throw TCPConnection.Failure(message: "not SSH: no identification line") }
            guard try fill() else {
                throw TCPConnection.Failure(message: buffer.isEmpty ? "the server closed without an identification line" : "not SSH: no identification line")
            }
        }
    }

    /// The next packet's payload; nil when the server closed.
    mutating func packet() throws(TCPConnection.Failure) -> [UInt8]? {
        while true {
            if buffer.count >= 5 {
                let length = Int(buffer[0]) << 24 | Int(buffer[1]) << 16 | Int(buffer[2]) << 8 | Int(buffer[3])
                guard length >= 5, length <= 256 * 1024 else { throw TCPConnection.Failure(message: "not SSH: packet length \(length)") }
                if buffer.count >= 4 + length {
                    let padding = Int(buffer[4])
                    guard padding < length else { throw TCPConnection.Failure(message: "not SSH: padding \(padding)") }
                    let payload = Array(buffer[5..<(4 + length - padding)])
                    buffer.removeFirst(4 + length)
                    return payload
                }
            }
            guard try fill() else { return nil }
        }
    }
}

/// A read position in SSH wire data (RFC 4251 5).
struct SSHCursor {
    var bytes: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

    mutating func uint32() -> Int? {
        guard bytes.count >= 4 else { return nil }
        let b = bytes.prefix(4).map(Int.init)
        bytes = bytes.dropFirst(4)
        return b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]
    }

    mutating func string() -> [UInt8]? {
        guard let length = uint32(), length <= bytes.count else { return nil }
        defer { bytes = bytes.dropFirst(length) }
        return Array(bytes.prefix(length))
    }

    mutating func mpint() -> [UInt8]? { string() }
}

enum SSHWire {
    static func uint32(_ value: Int) -> [UInt8] { [UInt8(value >> 24 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)] }
    static func string(_ bytes: [UInt8]) -> [UInt8] { uint32(bytes.count) + bytes }

    /// An unencrypted binary packet with at least 4 bytes of padding, to a multiple of 8.
    static func packet(_ payload: [UInt8]) -> [UInt8] {
        var padding = 8 - (payload.count + 5) % 8
        if padding < 4 { padding += 8 }
        return uint32(payload.count + padding + 1) + [UInt8(padding)] + payload + [UInt8](repeating: 0, count: padding)
    }

    static func kexinit(_ payload: [UInt8]) -> SSHProbe.KexInit? {
        var cursor = SSHCursor(payload.dropFirst(17))
        var lists: [[String]] = []
        for _ in 0..<10 {
            guard let list = cursor.string() else { return nil }
            lists.append(String(decoding: list, as: UTF8.self).split(separator: ",").map(String.init))
        }
        return SSHProbe.KexInit(lists: lists)
    }

    /// Bits of a big-endian unsigned integer (mpint without its sign byte).
    static func bits(_ bytes: [UInt8]) -> Int {
        let value = bytes.drop { $0 == 0 }
        guard let top = value.first else { return 0 }
        return (value.count - 1) * 8 + (8 - top.leadingZeroBitCount)
    }

    /// Type and size of a public host key blob (RFC 4253 6.6, RFC 5656, RFC 8709).
    static func hostKey(_ blob: [UInt8]) -> SSHFacts.HostKey? {
        var cursor = SSHCursor(blob[...])
        guard let typeBytes = cursor.string() else { return nil }
        let type = String(decoding: typeBytes, as: UTF8.self)
        var bits = 0
        switch type {
        case "ssh-rsa":
            _ = cursor.mpint()
            bits = cursor.mpint().map(Self.bits) ?? 0
        case "ssh-dss":
            bits = cursor.mpint().map(Self.bits) ?? 0
        case "ecdsa-sha2-nistp256": bits = 256
        case "ecdsa-sha2-nistp384": bits = 384
        case "ecdsa-sha2-nistp521": bits = 521
        case "ssh-ed25519": bits = 256
        case "ssh-ed448": bits = 456
        default: break
        }
        return SSHFacts.HostKey(type: type, bits: bits, sha256: Digest.sha256Hex(blob))
    }
}
