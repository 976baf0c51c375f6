import COpenSSL
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

    public init(host: String, port: UInt16, timeout: Double = 4, parallel: Int = 5) {
        self.host = host
        self.port = port
        self.timeout = timeout
        self.parallel = parallel
    }

    struct VersionResult: Sendable {
        var version: TLSVersion
        var accepted: [UInt16]
        var handshakes: Int
        var problem: String?
    }

    public func scan() async -> TLSFacts {
        async let sslv2Probe = blocking { self.probeSSLv2() }
        var results: [VersionResult] = []
        await withTaskGroup(of: VersionResult.self) { group in
            var pending = TLSVersion.allCases[...]
            func next() {
                guard let version = pending.popFirst() else { return }
                group.addTask { await self.blocking { self.enumerate(version) } }
            }
            for _ in 0..<min(parallel, pending.count) { next() }
            for await result in group {
                results.append(result)
                next()
            }
        }
        let sslv2 = await sslv2Probe
        var problems = results.compactMap(\.problem)
        var certificate: String?
        var handshakes = results.reduce(0) { $0 + $1.handshakes }
        if results.contains(where: { !$0.accepted.isEmpty }) {
            handshakes += 1
            switch await blocking({ CertificateFetcher.leafPEM(host: host, port: port, timeout: timeout) }) {
            case .success(let pem): certificate = pem
            case .failure(let failure): problems.append("certificate: \(failure.message)")
            }
        }
        var protocols: [String: TLSFacts.ProtocolFacts] = [:]
        for result in results {
            protocols[result.version.name] = TLSFacts.ProtocolFacts(supported: !result.accepted.isEmpty,
                                                                   cipherSuites: result.accepted.map(CipherSuites.name))
        }
        // Key exchange sizes through OpenSSL: one handshake restricted to DHE, one to ECDHE.
        let legacyAccepted = results.filter { $0.version != .tls13 }.flatMap(\.accepted).map(CipherSuites.name)
        var dhBits: Int?, ecdhGroup: String?, ecdhBits: Int?
        if legacyAccepted.contains(where: { $0.hasPrefix("TLS_DHE_") || $0.hasPrefix("TLS_DH_anon_") }) {
            handshakes += 1
            if case .success(let result) = await blocking({ CertificateFetcher.handshake(host: host, port: port, timeout: timeout,
                    ciphers: "kDHE:@SECLEVEL=0", groups: nil, maximumVersion: Int32(TLS1_2_VERSION)) }),
               let key = result.ephemeral, key.type == "DH" {
                dhBits = key.bits
            } else {
                problems.append("key exchange: the DHE handshake through OpenSSL failed")
            }
        }
        if legacyAccepted.contains(where: { $0.hasPrefix("TLS_ECDHE_") || $0.hasPrefix("TLS_ECDH_anon_") }) {
            handshakes += 1
            if case .success(let result) = await blocking({ CertificateFetcher.handshake(host: host, port: port, timeout: timeout,
                    ciphers: "kECDHE:@SECLEVEL=0", groups: CertificateFetcher.weakFirstGroups, maximumVersion: Int32(TLS1_2_VERSION)) }),
               let key = result.ephemeral {
                ecdhGroup = key.group ?? key.type
                ecdhBits = key.bits
            } else {
                problems.append("key exchange: the ECDHE handshake through OpenSSL failed")
            }
        }
        protocols["SSLv2"] = TLSFacts.ProtocolFacts(supported: !sslv2.ciphers.isEmpty, cipherSuites: sslv2.ciphers)
        handshakes += 1
        if let problem = sslv2.problem { problems.append(problem) }
        var facts = TLSFacts(protocols: protocols, handshakes: handshakes, problems: problems.sorted())
        facts.certificate = certificate
        facts.dhBits = dhBits
        facts.ecdhGroup = ecdhGroup
        facts.ecdhBits = ecdhBits
        return facts
    }

    /// Runs blocking socket work on a Dispatch worker, off the cooperative pool: a stalled
    /// connection waits out its deadline without starving the rules or other endpoints.
    func blocking<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: work()) }
        }
    }

    /// The suites `version` accepts, by elimination.
    func enumerate(_ version: TLSVersion) -> VersionResult {
        var offered = version == .tls13 ? CipherSuites.tls13 : CipherSuites.legacy
        var accepted: [UInt16] = []
        var handshakes = 0
        var problem: String?
        while !offered.isEmpty, handshakes < 400 {
            handshakes += 1
            let answer: ServerAnswer
            do {
                answer = try handshake(version, offered)
            } catch {
                // One retry: a reset under load is not a verdict.
                handshakes += 1
                do { answer = try handshake(version, offered) } catch {
                    problem = "\(version.name): \(error)"
                    break
                }
            }
            guard case .hello(let negotiated, let suite) = answer, negotiated == version.rawValue else {
                if case .garbage = answer { problem = "\(version.name): the server does not speak TLS" }
                break
            }
            guard let index = offered.firstIndex(of: suite) else {
                problem = "\(version.name): the server chose suite \(CipherSuites.name(suite)), which was not offered"
                break
            }
            accepted.append(suite)
            offered.remove(at: index)
        }
        return VersionResult(version: version, accepted: accepted, handshakes: handshakes, problem: problem)
    }

    /// One SSLv2 CLIENT-HELLO; the cipher kinds an SSLv2 server shares (empty: no SSLv2).
    func probeSSLv2() -> (ciphers: [String], problem: String?) {
        do {
            let connection = try TCPConnection(host: host, port: port, timeout: timeout)
            try connection.send(SSLv2.clientHello(), timeout: timeout)
            let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
            var received: [UInt8] = []
            while received.count < 1 << 16 {
                let chunk = try connection.receive(max: 16_384, deadline: deadline)
                if chunk.isEmpty { return ([], nil) }
                received += chunk
                switch SSLv2.parse(received) {
                case .serverHello(let ciphers): return (ciphers, nil)
                case .notSSLv2: return ([], nil)
                case .incomplete: continue
                }
            }
            return ([], nil)
        } catch {
            // A TLS-only server may simply not answer an SSLv2 hello before the deadline.
            return ([], error.message.contains("timeout") || error.message.contains("timed out") ? nil : "SSLv2: \(error)")
        }
    }

    func handshake(_ version: TLSVersion, _ suites: [UInt16]) throws -> ServerAnswer {
        let connection = try TCPConnection(host: host, port: port, timeout: timeout)
        try connection.send(ClientHello.build(version: version, suites: suites, serverName: host), timeout: timeout)
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        var received: [UInt8] = []
        while received.count < 1 << 16 {
            let chunk = try connection.receive(max: 16_384, deadline: deadline)
            if chunk.isEmpty { return received.isEmpty ? .closed : (ServerHelloParser.parse(received) ?? .closed) }
            received += chunk
            if let answer = ServerHelloParser.parse(received) { return answer }
        }
        return .garbage
    }
}
