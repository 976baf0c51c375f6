import Dispatch
import RBCore

/// The raw-handshake TLS scanner: for every protocol version, ClientHellos built byte by byte
/// offer every IANA suite range; the server's choice is removed and the rest offered again until
/// it refuses (elimination), so the accepted set comes out in the server's preference order.
/// Protocols are scanned concurrently (bounded), every connection has a deadline.
public struct TLSScanner: Sendable {
    public let host: String
    public let port: UInt16
    public let timeout: Double
    public let parallel: Int
    /// CA certificates the served chain is verified against; nil: no verification.
    public let caFile: String?

    public init(host: String, port: UInt16, timeout: Double = 4, parallel: Int = 5, caFile: String? = nil) {
        self.host = host
        self.port = port
        self.timeout = timeout
        self.parallel = parallel
        self.caFile = caFile
    }

    /// What one elimination found for one version: the suites (or groups) the server accepted,
    /// in the order it picked them.
    struct Elimination: Sendable {
        var version: TLSVersion
        var accepted: [UInt16] = []
        var handshakes = 0
        var problem: String?
        /// The first ServerHello (renegotiation, compression, heartbeat).
        var firstHello: ServerHello?
    }

    public func scan() async -> TLSFacts {
        async let sslv2Probe = blocking { self.probeSSLv2() }
        var results: [Elimination] = []
        await withTaskGroup(of: Elimination.self) { group in
            var pending = TLSVersion.allCases[...]
            func next() {
                guard let version = pending.popFirst() else { return }
                group.addTask { await blocking { self.enumerate(version) } }
            }
            for _ in 0..<min(parallel, pending.count) { next() }
            for await result in group {
                results.append(result)
                next()
            }
        }
        results.sort { $0.version < $1.version }
        var problems = results.compactMap(\.problem)
        var handshakes = results.reduce(0) { $0 + $1.handshakes }
        var protocols: [String: TLSFacts.ProtocolFacts] = [:]
        for result in results {
            protocols[result.version.name] = TLSFacts.ProtocolFacts(supported: !result.accepted.isEmpty,
                                                                   cipherSuites: result.accepted.map(CipherSuites.name))
        }

        // Then, concurrently: the served certificate (one OpenSSL handshake), the ECDHE curves of
        // the newest legacy version that accepts ECDHE and the TLS 1.3 groups (elimination over
        // every group, weakest first), and the DHE prime (one handshake offering only DHE).
        func newest(_ prefixes: [String]) -> (TLSVersion, [UInt16])? {
            for result in results.reversed() where result.version != .tls13 {
                let suites = result.accepted.filter { suite in prefixes.contains { CipherSuites.name(suite).hasPrefix($0) } }
                if !suites.isEmpty { return (result.version, suites) }
            }
            return nil
        }
        let ecdhe = newest(["TLS_ECDHE_", "TLS_ECDH_anon_"])
        let dhe = newest(["TLS_DHE_", "TLS_DH_anon_"])
        let tls13 = results.first { $0.version == .tls13 && !$0.accepted.isEmpty }
        let wantCertificate = results.contains { !$0.accepted.isEmpty }
        let (host, port, timeout, caFile) = (self.host, self.port, self.timeout, self.caFile)
        async let certificateProbe = maybe(wantCertificate) {
            CertificateFetcher.certificate(host: host, port: port, timeout: timeout, caFile: caFile)
        }
        async let ecProbe = maybe(ecdhe) { version, suites in
            self.enumerateGroups(version, suites: suites, candidates: TLSGroup.all.filter { $0.kind == .ellipticCurve }.map(\.id))
        }
        async let tls13Probe = maybe(tls13?.accepted) { suites in
            self.enumerateGroups(.tls13, suites: suites, candidates: TLSGroup.all.map(\.id))
        }
        async let dhProbe = maybe(dhe) { version, suites in self.primeBits(version, suites: suites) }

        var facts = TLSFacts(protocols: protocols, handshakes: 0, problems: [])
        if wantCertificate { handshakes += 1 }
        switch await certificateProbe {
        case .success(let result)?:
            facts.certificate = result.certificatePEM
            facts.chainLength = result.chainLength
            facts.trust = result.trust
        case .failure(let failure)?: problems.append("certificate: \(failure.message)")
        case nil: break
        }
        for result in [await ecProbe, await tls13Probe].compactMap({ $0 }) {
            handshakes += result.handshakes
            if let problem = result.problem { problems.append(problem) }
            facts.protocols[result.version.name]?.groups = result.accepted.map(TLSGroup.name)
        }
        if let (bits, used, problem) = await dhProbe {
            facts.dhBits = bits
            handshakes += used
            if let problem { problems.append(problem) }
        }

        // RFC 5746, compression and heartbeat from the first ServerHello of each TLS 1.0–1.2
        // version (SSLv3 hellos carry no extensions).
        let hellos = results.filter { $0.version != .tls13 && $0.version != .ssl3 }.compactMap(\.firstHello)
        if !hellos.isEmpty {
            facts.secureRenegotiation = hellos.allSatisfy { $0.extensions[0xff01] != nil }
            facts.heartbeat = hellos.contains { $0.extensions[0x000f] != nil }
        }
        let legacyHellos = results.filter { $0.version != .tls13 }.compactMap(\.firstHello)
        if !legacyHellos.isEmpty { facts.compression = legacyHellos.contains { $0.compression != 0 } }

        let sslv2 = await sslv2Probe
        facts.protocols["SSLv2"] = TLSFacts.ProtocolFacts(supported: !sslv2.ciphers.isEmpty, cipherSuites: sslv2.ciphers)
        handshakes += 1
        if let problem = sslv2.problem { problems.append(problem) }
        facts.handshakes = handshakes
        facts.problems = problems.sorted()
        return facts
    }

    /// `blocking(work)` when `condition` holds, else nil.
    func maybe<T: Sendable>(_ condition: Bool, _ work: @escaping @Sendable () -> T) async -> T? {
        condition ? await blocking(work) : nil
    }

    /// `blocking { work(input) }` when there is an input, else nil.
    func maybe<Input: Sendable, T: Sendable>(_ input: Input?, _ work: @escaping @Sendable (Input) -> T) async -> T? {
        guard let input else { return nil }
        return await blocking { work(input) }
    }

    /// The suites `version` accepts, by elimination.
    func enumerate(_ version: TLSVersion) -> Elimination {
        eliminate(version == .tls13 ? CipherSuites.tls13 : CipherSuites.legacy, version: version, label: version.name,
                  limit: 400, flight: false, pick: { $0.suite }, name: CipherSuites.name) {
            ClientHello.build(version: version, suites: $0, serverName: host)
        }
    }

    /// The groups `version` accepts with `suites`, by elimination: TLS 1.3 hellos carry no key
    /// share, so the server names its group in a HelloRetryRequest; older versions offer only
    /// (EC)DHE suites and the ServerKeyExchange names the curve. The version accepts these
    /// suites, so a refusal before any group is reported.
    func enumerateGroups(_ version: TLSVersion, suites: [UInt16], candidates: [UInt16]) -> Elimination {
        eliminate(candidates, version: version, label: "\(version.name) groups", limit: 64, flight: true,
                  pick: { version == .tls13 ? $0.keyShareGroup : $0.namedCurve }, name: TLSGroup.name, expectAny: true) {
            ClientHello.build(version: version, suites: suites, serverName: host, groups: $0, keyShare: false)
        }
    }

    /// Elimination: offers `candidates` in the hello `build` makes, removes the one the server
    /// picks (`pick` reads it from the ServerHello or its first flight) and offers the rest again
    /// until the server refuses, at most `limit` connections.
    func eliminate(_ candidates: [UInt16], version: TLSVersion, label: String, limit: Int, flight: Bool,
                   pick: (ServerHello) -> UInt16?, name: (UInt16) -> String, expectAny: Bool = false,
                   build: ([UInt16]) -> [UInt8]) -> Elimination {
        var offered = candidates
        var result = Elimination(version: version)
        while !offered.isEmpty, result.handshakes < limit {
            let hello = build(offered)
            let answer: ServerAnswer
            switch retrying(&result.handshakes, { () throws(TCPConnection.Failure) in
                try exchange(hello, tooLong: .garbage, parse: flight ? ServerHelloParser.parseFlight : ServerHelloParser.parse) ?? .closed
            }) {
            case .success(let value): answer = value
            case .failure(let error):
                result.problem = "\(label): \(error)"
                return result
            }
            guard case .hello(let reply) = answer, reply.version == version.rawValue else {
                if case .garbage = answer {
                    result.problem = "\(label): the server does not speak TLS"
                } else if expectAny, result.accepted.isEmpty {
                    result.problem = "\(label): nothing accepted (\(describe(answer)))"
                }
                break
            }
            guard let value = pick(reply) else {
                result.problem = "\(label): the server named none (explicit curve parameters or a truncated key exchange)"
                break
            }
            guard let index = offered.firstIndex(of: value) else {
                result.problem = "\(label): the server chose \(name(value)), which was not offered"
                break
            }
            if result.firstHello == nil { result.firstHello = reply }
            result.accepted.append(value)
            offered.remove(at: index)
        }
        return result
    }

    func describe(_ answer: ServerAnswer) -> String {
        switch answer {
        case .hello(let hello): "the server answered with version 0x\(String(hello.version, radix: 16))"
        case .alert(let code): "alert \(code)"
        case .closed: "connection closed"
        case .garbage: "not TLS"
        }
    }

    /// The DH prime size of the ServerKeyExchange when only DHE `suites` are offered.
    func primeBits(_ version: TLSVersion, suites: [UInt16]) -> (bits: Int?, handshakes: Int, problem: String?) {
        var handshakes = 0
        let hello = ClientHello.build(version: version, suites: suites, serverName: host, groups: [])
        switch retrying(&handshakes, { () throws(TCPConnection.Failure) in
            try exchange(hello, tooLong: .garbage, parse: ServerHelloParser.parseFlight) ?? .closed
        }) {
        case .success(.hello(let reply)) where reply.dhPrimeBits != nil: return (reply.dhPrimeBits, handshakes, nil)
        case .success: return (nil, handshakes, "\(version.name) DHE: no DH parameters in the server's key exchange")
        case .failure(let error): return (nil, handshakes, "\(version.name) DHE: \(error)")
        }
    }

    /// One attempt and, on a connection error, one retry: a reset under load is not a verdict.
    func retrying(_ handshakes: inout Int, _ attempt: () throws(TCPConnection.Failure) -> ServerAnswer) -> Result<ServerAnswer, TCPConnection.Failure> {
        handshakes += 1
        do { return .success(try attempt()) } catch {
            handshakes += 1
            do { return .success(try attempt()) } catch { return .failure(error) }
        }
    }

    /// One SSLv2 CLIENT-HELLO; the cipher kinds an SSLv2 server shares (empty: no SSLv2).
    func probeSSLv2() -> (ciphers: [String], problem: String?) {
        do {
            let answer = try exchange(SSLv2.clientHello(), tooLong: nil) { received -> SSLv2.Answer? in
                let answer = SSLv2.parse(received)
                return answer == .incomplete ? nil : answer
            }
            if case .serverHello(let ciphers)? = answer { return (ciphers, nil) }
            return ([], nil)
        } catch {
            // A TLS-only server may simply not answer an SSLv2 hello before the deadline.
            return ([], error.message.contains("timeout") || error.message.contains("timed out") ? nil : "SSLv2: \(error)")
        }
    }

    /// One connection: sends `hello`, reads until `parse` gives an answer, the peer closes (nil,
    /// or what `parse` makes of the bytes so far) or 256 KiB came without one (`tooLong`); a
    /// first flight with a long certificate chain fits.
    func exchange<Answer>(_ hello: [UInt8], tooLong: Answer?, parse: ([UInt8]) -> Answer?) throws(TCPConnection.Failure) -> Answer? {
        let connection = try TCPConnection(host: host, port: port, timeout: timeout)
        try connection.send(hello, timeout: timeout)
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        var received: [UInt8] = []
        while received.count < 1 << 18 {
            let chunk = try connection.receive(max: 16_384, deadline: deadline)
            if chunk.isEmpty { return received.isEmpty ? nil : parse(received) }
            received += chunk
            if let answer = parse(received) { return answer }
        }
        return tooLong
    }
}
