import RBCore
#if canImport(Glibc)
import Glibc
#endif

/// One UDP question to one host: sends `datagram` to `host:port` and collects what comes back
/// from that host's address (any source port: a TFTP server answers from a new one) until
/// `wait` passes or `maxAnswers` datagrams came. Answers from any other address are dropped.
enum UDPExchange {
    /// `respond` may answer a datagram from the same socket, to the port it came from (a TFTP
    /// transfer is ended that way: the server knows the transfer by both ports).
    static func ask(host: String, port: UInt16, datagram: [UInt8], wait: Double, maxAnswers: Int = 1,
                    respond: (([UInt8]) -> [UInt8]?)? = nil) -> [(bytes: [UInt8], port: UInt16)] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var results: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &results) == 0, let address = results else { return [] }
        defer { freeaddrinfo(results) }
        let family = address.pointee.ai_family
        let fd = socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        guard datagram.withUnsafeBytes({ sendto(fd, $0.baseAddress, $0.count, 0, address.pointee.ai_addr, address.pointee.ai_addrlen) }) == datagram.count
        else { return [] }
        let target = Self.addressBytes(address.pointee.ai_addr)
        var answers: [(bytes: [UInt8], port: UInt16)] = []
        let deadline = ContinuousClock.now + .milliseconds(Int(wait * 1000))
        while answers.count < maxAnswers {
            let remaining = deadline - ContinuousClock.now
            let milliseconds = remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000
            guard milliseconds > 0 else { break }
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, Int32(milliseconds)) == 1 else { break }
            var buffer = [UInt8](repeating: 0, count: 65_536)
            var from = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let n = buffer.withUnsafeMutableBytes { raw in
                withUnsafeMutablePointer(to: &from) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, raw.baseAddress, raw.count, 0, $0, &length) }
                }
            }
            guard n > 0 else { continue }
            let (sender, senderPort) = withUnsafePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { (Self.addressBytes($0), Self.port($0)) }
            }
            guard sender == target else { continue }
            let answer = Array(buffer.prefix(n))
            if let reply = respond?(answer) {
                _ = reply.withUnsafeBytes { raw in
                    withUnsafePointer(to: &from) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, raw.baseAddress, raw.count, 0, $0, length) }
                    }
                }
            }
            answers.append((answer, senderPort))
        }
        return answers
    }

    /// The IP address bytes of an IPv4 or IPv6 socket address (IPv4-mapped IPv6 as IPv4).
    static func addressBytes(_ address: UnsafePointer<sockaddr>) -> [UInt8] {
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            return address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin_addr) { Array($0) }
            }
        case AF_INET6:
            let bytes = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }
            }
            return bytes.prefix(12) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] ? Array(bytes.suffix(4)) : bytes
        default:
            return []
        }
    }

    static func port(_ address: UnsafePointer<sockaddr>) -> UInt16 {
        switch Int32(address.pointee.sa_family) {
        case AF_INET: address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        case AF_INET6: address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
        default: 0
        }
    }
}

/// The UDP side of a host sweep: TFTP (a read request for a file that does not exist), SNMP
/// (handled by `SNMPProbe`), SSDP (`M-SEARCH ssdp:all`) and WS-Discovery (`Probe`), each sent to
/// the host's own address, never to a multicast group. A well-known port gets its protocol's
/// probe; any other port listed with `/udp` gets each probe in turn until one is answered.
/// Read-only: a TFTP server that starts sending a file is told to stop at once.
public struct UDPSweep: Sendable {
    public let host: String
    public let ports: [UInt16]
    public let wait: Double

    public init(host: String, ports: [UInt16], wait: Double = 1) {
        self.host = host
        self.ports = ports
        self.wait = wait
    }

    public struct Found: Sendable {
        public var services: [HostFacts.Port] = []
        public var snmp: SNMPFacts?
        public var ssdp: SSDPFacts?
        public var wsDiscovery: WSDiscoveryFacts?
    }

    enum Kind: CaseIterable { case tftp, snmp, ssdp, wsDiscovery }

    static func kinds(for port: UInt16) -> [Kind] {
        switch port {
        case 69: [.tftp]
        case 161: [.snmp]
        case 1900: [.ssdp]
        case 3702: [.wsDiscovery]
        default: Kind.allCases
        }
    }

    public func run() async -> Found {
        await withTaskGroup(of: Found.self) { group in
            // Bounded like the TCP sweep: a wide `--ports …/udp` range must not start one
            // waiting probe per port at once.
            var pending = ports[...]
            func next() {
                guard let port = pending.popFirst() else { return }
                group.addTask { await self.probe(port) }
            }
            for _ in 0..<min(16, pending.count) { next() }
            var found = Found()
            for await one in group {
                next()
                found.services += one.services
                found.snmp = found.snmp ?? one.snmp
                found.ssdp = found.ssdp ?? one.ssdp
                found.wsDiscovery = found.wsDiscovery ?? one.wsDiscovery
            }
            found.services.sort { $0.port < $1.port }
            return found
        }
    }

    /// A well-known port gets its one probe; any other port all of them at once (one socket
    /// each), the first kind in `Kind` order that was answered winning.
    func probe(_ port: UInt16) async -> Found {
        let kinds = Self.kinds(for: port)
        let answers = await withTaskGroup(of: (Int, Found).self) { group in
            for (i, kind) in kinds.enumerated() { group.addTask { (i, await self.probe(port, kind)) } }
            var all: [(Int, Found)] = []
            for await answer in group { all.append(answer) }
            return all.sorted { $0.0 < $1.0 }.map(\.1)
        }
        return answers.first { !$0.services.isEmpty } ?? Found()
    }

    func probe(_ port: UInt16, _ kind: Kind) async -> Found {
        var found = Found()
        do {
            switch kind {
            case .snmp:
                let facts = await SNMPProbe(host: host, port: port, timeout: wait).scan()
                if !facts.communities.isEmpty {
                    found.snmp = facts
                    found.services.append(HostFacts.Port(port: port, service: "snmp", banner: facts.sysDescr.map { PortSweep.printable(Array($0.utf8)) }))
                }
            case .tftp:
                if let banner = await blocking({ self.tftp(port) }) {
                    found.services.append(HostFacts.Port(port: port, service: "tftp", banner: banner))
                }
            case .ssdp:
                if let facts = await blocking({ self.ssdp(port) }) {
                    found.ssdp = facts
                    found.services.append(HostFacts.Port(port: port, service: "ssdp",
                                                         banner: facts.answers.first.map { "\($0.server ?? "") \($0.st)".trimmingWhitespace() }.map(String.init)))
                }
            case .wsDiscovery:
                if let facts = await blocking({ self.wsDiscovery(port) }) {
                    found.wsDiscovery = facts
                    found.services.append(HostFacts.Port(port: port, service: "ws-discovery", banner: facts.types.joined(separator: " ")))
                }
            }
        }
        return found
    }

    // MARK: TFTP (RFC 1350)

    /// A read request for a random file name; a DATA (3) or ERROR (5) answer means a TFTP server.
    /// Returns the ERROR message (or "DATA") as banner; nil when nothing answered.
    func tftp(_ port: UInt16) -> String? {
        let name = "rbscan-probe-" + String(UInt64.random(in: 0...UInt64.max), radix: 36) + ".txt"
        let request: [UInt8] = [0, 1] + Array(name.utf8) + [0] + Array("octet".utf8) + [0]
        // A DATA answer means it is sending a file by that name: end the transfer at once.
        let stop: [UInt8] = [0, 5, 0, 0] + Array("rbscan probe".utf8) + [0]
        guard let answer = UDPExchange.ask(host: host, port: port, datagram: request, wait: wait,
                                           respond: { $0.starts(with: [0, 3]) ? stop : nil }).first,
              answer.bytes.count >= 4, answer.bytes[0] == 0 else { return nil }
        switch answer.bytes[1] {
        case 5:
            let message = answer.bytes.dropFirst(4).prefix { $0 != 0 }
            return "ERROR \(Int(answer.bytes[2]) << 8 | Int(answer.bytes[3])): " + PortSweep.printable(Array(message))
        case 3:
            return "DATA"
        default:
            return nil
        }
    }

    // MARK: SSDP (UPnP Device Architecture 1.1, unicast M-SEARCH)

    func ssdp(_ port: UInt16) -> SSDPFacts? {
        let hostHeader = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        let search = "M-SEARCH * HTTP/1.1\r\nHOST: \(hostHeader)\r\nMAN: \"ssdp:discover\"\r\nST: ssdp:all\r\nUSER-AGENT: rbscan/0.1 UPnP/1.1\r\n\r\n"
        let answers = UDPExchange.ask(host: host, port: port, datagram: Array(search.utf8), wait: wait, maxAnswers: 32).compactMap { Self.ssdpAnswer($0.bytes) }
        guard !answers.isEmpty else { return nil }
        var facts = SSDPFacts(port: port, answers: answers)
        // The device description, only when it is served by the host being scanned.
        if let location = answers.compactMap(\.location).first, let (locationHost, locationPort, path) = Self.httpURL(location),
           Self.sameHost(locationHost, host),
           let response = try? HTTPProbe(host: host, port: locationPort, tls: false, timeout: max(wait, 2)).request("GET", path),
           response.status == 200 {
            let fields: Set<String> = ["friendlyName", "manufacturer", "modelName", "modelNumber", "modelDescription", "serialNumber", "UDN", "presentationURL"]
            if let texts = XMLElements.texts(fields, in: response.body) {
                facts.description = texts.compactMapValues { $0.first }
            }
        }
        return facts
    }

    /// `HTTP/1.1 200 OK` with ST/USN/SERVER/LOCATION headers; nil for anything else.
    static func ssdpAnswer(_ bytes: [UInt8]) -> SSDPFacts.Answer? {
        let lines = String(decoding: bytes.prefix(8192), as: UTF8.self).split(separator: "\r\n").map(String.init)
        guard lines.first?.hasPrefix("HTTP/1.") == true, lines.first?.contains(" 200") == true else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = String(line[line.index(after: colon)...].trimmingWhitespace())
        }
        guard let st = headers["st"] else { return nil }
        return SSDPFacts.Answer(st: st, usn: headers["usn"], server: headers["server"], location: headers["location"])
    }

    /// `http://host:port/path` → its parts (port 80 when absent); nil for other schemes.
    public static func httpURL(_ url: String) -> (host: String, port: UInt16, path: String)? {
        guard url.lowercased().hasPrefix("http://") else { return nil }
        let rest = url.dropFirst(7)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        let path = slash < rest.endIndex ? String(rest[slash...]) : "/"
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            let host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            let port = after.hasPrefix(":") ? UInt16(after.dropFirst()) : 80
            return port.map { (host, $0, path) }
        }
        let parts = authority.split(separator: ":", maxSplits: 1)
        guard let first = parts.first else { return nil }
        let port = parts.count == 2 ? UInt16(parts[1]) : 80
        return port.map { (String(first), $0, path) }
    }

    /// Two host spellings name the same address (literal compare after lower-casing; no lookups).
    public static func sameHost(_ a: String, _ b: String) -> Bool {
        func bare(_ text: String) -> String { text.lowercased().filter { $0 != "[" && $0 != "]" } }
        return bare(a) == bare(b)
    }

    // MARK: WS-Discovery (2005/04, as ONVIF uses it)

    func wsDiscovery(_ port: UInt16) -> WSDiscoveryFacts? {
        let id = (0..<4).map { _ in String(UInt32.random(in: 0...UInt32.max), radix: 16) }
        let probe = """
        <?xml version="1.0" encoding="UTF-8"?>
        <s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" \
        xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><s:Header>\
        <a:Action s:mustUnderstand="1">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action>\
        <a:MessageID>urn:uuid:\(id.joined(separator: "-"))</a:MessageID>\
        <a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>\
        <a:To s:mustUnderstand="1">urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header>\
        <s:Body><d:Probe/></s:Body></s:Envelope>
        """
        for answer in UDPExchange.ask(host: host, port: port, datagram: Array(probe.utf8), wait: wait, maxAnswers: 4) {
            guard let texts = XMLElements.texts(["ProbeMatch", "Types", "Scopes", "XAddrs"], in: answer.bytes), texts["ProbeMatch"] != nil else { continue }
            func words(_ key: String) -> [String] { (texts[key] ?? []).flatMap { $0.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init) } }
            return WSDiscoveryFacts(port: port, types: words("Types"), scopes: words("Scopes"), xaddrs: words("XAddrs"))
        }
        return nil
    }
}
