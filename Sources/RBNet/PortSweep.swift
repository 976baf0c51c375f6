import RBCore

/// A TCP connect sweep of one host with service identification by first bytes: what the server
/// says unprompted (SSH banner, telnet option negotiation or login prompt, FTP `220`), else its
/// answer to a TLS ClientHello (a ServerHello or alert: TLS; an `HTTP/` or `RTSP/` error reply:
/// HTTP or RTSP), else its answer to an RTSP `OPTIONS` on a second connection. Read-only: nothing
/// is sent but those two probes. Connections are bounded (`parallel`) and each has a deadline.
public struct PortSweep: Sendable {
    public let host: String
    public let ports: [UInt16]
    public let timeout: Double
    /// How long a silent service gets to speak first.
    public let bannerWait: Double
    public let parallel: Int

    public init(host: String, ports: [UInt16], timeout: Double = 2, bannerWait: Double = 1, parallel: Int = 32) {
        self.host = host
        self.ports = ports
        self.timeout = timeout
        self.bannerWait = bannerWait
        self.parallel = parallel
    }

    public func run() async -> HostFacts {
        var open: [HostFacts.Port] = []
        var problems: [String] = []
        await withTaskGroup(of: Result<HostFacts.Port?, TCPConnection.Failure>.self) { group in
            var pending = ports[...]
            func next() {
                guard let port = pending.popFirst() else { return }
                group.addTask { await blocking { self.identify(port) } }
            }
            for _ in 0..<min(parallel, pending.count) { next() }
            for await result in group {
                switch result {
                case .success(let port?): open.append(port)
                case .success(nil): break
                case .failure(let failure): problems.append(failure.message)
                }
                next()
            }
        }
        return HostFacts(ports: open.sorted { $0.port < $1.port }, scanned: ports.count, problems: problems.sorted())
    }

    /// nil when the port is closed or filtered; a failure only for errors other than those.
    func identify(_ port: UInt16) -> Result<HostFacts.Port?, TCPConnection.Failure> {
        let connection: TCPConnection
        do { connection = try TCPConnection(host: host, port: port, timeout: timeout) } catch { return .success(nil) }
        let first = (try? read(connection, wait: bannerWait)) ?? []
        if !first.isEmpty {
            let service = Self.serverFirst(first)
            var found = HostFacts.Port(port: port, service: service, banner: Self.printable(first))
            if service == "ftp" { found.anonymousLogin = FTPLogin(connection: connection, timeout: timeout).attempt(user: "anonymous", password: "rbscan@invalid") }
            return .success(found)
        }
        // Silent: a client-first protocol. A TLS ClientHello tells TLS from HTTP and RTSP servers,
        // which answer it with an error status line.
        let hello = ClientHello.build(version: .tls12, suites: CipherSuites.legacy, serverName: nil)
        if (try? connection.send(hello, timeout: timeout)) != nil, let answer = try? read(connection, wait: timeout), !answer.isEmpty {
            if let service = Self.clientFirst(answer) {
                return .success(HostFacts.Port(port: port, service: service, banner: Self.printable(answer)))
            }
            if let redis = redis(port, answer) { return .success(redis) }
        }
        // Closed on the hello: ask as RTSP (an HTTP server answers with HTTP/…).
        if let again = try? TCPConnection(host: host, port: port, timeout: timeout),
           (try? again.send(Array("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: rbscan\r\n\r\n".utf8), timeout: timeout)) != nil,
           let answer = try? read(again, wait: timeout), !answer.isEmpty {
            if let redis = redis(port, answer) { return .success(redis) }
            return .success(HostFacts.Port(port: port, service: Self.clientFirst(answer) ?? "unknown", banner: Self.printable(answer)))
        }
        return .success(HostFacts.Port(port: port, service: "unknown"))
    }

    /// Redis answers an unknown inline command with `-ERR`; then `PING` tells whether it wants a
    /// password (`+PONG`: none; `-NOAUTH`: required). The banner is that answer.
    func redis(_ port: UInt16, _ answer: [UInt8]) -> HostFacts.Port? {
        guard answer.starts(with: Array("-ERR".utf8)) else { return nil }
        let pong = (try? TCPConnection(host: host, port: port, timeout: timeout)).flatMap { again -> [UInt8]? in
            guard (try? again.send(Array("PING\r\n".utf8), timeout: timeout)) != nil else { return nil }
            return try? read(again, wait: timeout)
        } ?? []
        return HostFacts.Port(port: port, service: "redis", banner: Self.printable(pong.isEmpty ? answer : pong))
    }

    /// Bytes that arrive within `wait` (up to 4 KiB); [] when the peer stays silent or closes.
    func read(_ connection: TCPConnection, wait: Double) throws(TCPConnection.Failure) -> [UInt8] {
        // Enough to decide: a full line, a TLS record header, telnet negotiation.
        try connection.receive(until: { bytes in bytes.contains(10) || bytes.count >= 5 && [0x15, 0x16].contains(bytes[0]) || bytes.first == 0xff },
                               limit: 4096, deadline: ContinuousClock.now + .milliseconds(Int(wait * 1000)))
    }

    static func serverFirst(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        if text.hasPrefix("SSH-") { return "ssh" }
        // Telnet: the server opens with option negotiation (RFC 854/855) and what follows is text;
        // or, without negotiation, a text login prompt. Random or binary bytes that merely hold
        // an IAC pair or the word "login:" somewhere are not telnet.
        if let textStart = telnetNegotiation(bytes) {
            return isMostlyText(bytes[textStart...]) ? "telnet" : "unknown"
        }
        guard isMostlyText(bytes[...]) else { return "unknown" }
        let lower = text.lowercased()
        if lower.contains("login:") || lower.contains("password:") { return "telnet" }
        if text.hasPrefix("220") { return "ftp" }
        return "unknown"
    }

    /// Where the text after a leading run of telnet commands starts, when `bytes` opens with at
    /// least one complete option negotiation (IAC WILL/WONT/DO/DONT option) and every command
    /// before the text is well formed (negotiations, subnegotiations closed by IAC SE, and the
    /// two-byte commands NOP…GA); nil otherwise.
    static func telnetNegotiation(_ bytes: [UInt8]) -> Int? {
        var i = 0
        var negotiations = 0
        while i < bytes.count, bytes[i] == 0xff {
            guard i + 1 < bytes.count else { return negotiations > 0 ? bytes.count : nil }
            let command = bytes[i + 1]
            switch command {
            case 0xfb...0xfe:
                guard i + 2 < bytes.count else { return nil }
                negotiations += 1
                i += 3
            case 0xfa:
                // SB option … IAC SE; an IAC inside the data is doubled.
                var j = i + 3
                var closed = false
                while j + 1 < bytes.count {
                    if bytes[j] == 0xff {
                        if bytes[j + 1] == 0xf0 { closed = true; break }
                        guard bytes[j + 1] == 0xff else { return nil }
                        j += 2
                    } else {
                        j += 1
                    }
                }
                guard closed, j - i <= 512 else { return nil }
                i = j + 2
            case 0xf1...0xf9:
                i += 2
            default:
                return nil
            }
        }
        return negotiations > 0 ? i : nil
    }

    /// True when at least 90% of `bytes` are printable ASCII, whitespace or UTF-8 sequences (an
    /// empty tail counts as text: the server may print its prompt after the negotiation).
    static func isMostlyText(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard !bytes.isEmpty else { return true }
        let printable = bytes.reduce(0) { $0 + ((32...126).contains($1) || [9, 10, 13].contains($1) || $1 >= 0x80 ? 1 : 0) }
        guard printable * 10 >= bytes.count * 9 else { return false }
        // Bytes above 0x7f must decode as UTF-8, not as a random byte soup.
        return !bytes.contains(where: { $0 >= 0x80 }) || String(validating: Array(bytes), as: UTF8.self) != nil
    }

    static func clientFirst(_ bytes: [UInt8]) -> String? {
        if let answer = ServerHelloParser.parse(bytes) {
            switch answer {
            case .hello, .alert: return "tls"
            default: break
            }
        }
        let text = String(decoding: bytes.prefix(16), as: UTF8.self)
        if text.hasPrefix("RTSP/") { return "rtsp" }
        if text.hasPrefix("HTTP/") { return "http" }
        // An HTML error page without a status line: an HTTP server answering in HTTP/0.9 style
        // to a request line it could not parse (Python's http.server, some embedded servers).
        let start = String(decoding: bytes.prefix(64), as: UTF8.self).lowercased().trimmingWhitespace()
        if start.hasPrefix("<!doctype html") || start.hasPrefix("<html") { return "http" }
        return nil
    }

    static func printable(_ bytes: [UInt8]) -> String {
        String(bytes.prefix(256).map { (32...126).contains($0) ? Character(UnicodeScalar($0)) : "." })
    }
}
