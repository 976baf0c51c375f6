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
        var protocols: [String: TLSFacts.ProtocolFacts] = [:]
        for result in results {
            protocols[result.version.name] = TLSFacts.ProtocolFacts(supported: !result.accepted.isEmpty,
                                                                   cipherSuites: result.accepted.map(CipherSuites.name))
        }
        // Three OpenSSL handshakes, concurrently: the served certificate, the DHE prime size (only
        // DHE offered) and the ECDHE curve the server picks (every curve offered, weakest first).
        let legacyAccepted = protocols.filter { $0.key != TLSVersion.tls13.name }.values.flatMap(\.cipherSuites)
        let wantCertificate = results.contains { !$0.accepted.isEmpty }
        let wantDH = legacyAccepted.contains { $0.hasPrefix("TLS_DHE_") || $0.hasPrefix("TLS_DH_anon_") }
        let wantEC = legacyAccepted.contains { $0.hasPrefix("TLS_ECDHE_") || $0.hasPrefix("TLS_ECDH_anon_") }
        let (host, port, timeout) = (self.host, self.port, self.timeout)
        async let certificateProbe = maybe(wantCertificate) { CertificateFetcher.leafPEM(host: host, port: port, timeout: timeout) }
        async let dhProbe = maybe(wantDH) {
            CertificateFetcher.handshake(host: host, port: port, timeout: timeout, ciphers: "kDHE:@SECLEVEL=0", groups: nil,
                                         maximumVersion: Int32(TLS1_2_VERSION))
        }
        async let ecProbe = maybe(wantEC) {
            CertificateFetcher.handshake(host: host, port: port, timeout: timeout, ciphers: "kECDHE:@SECLEVEL=0",
                                         groups: CertificateFetcher.weakFirstGroups, maximumVersion: Int32(TLS1_2_VERSION))
        }
        handshakes += [wantCertificate, wantDH, wantEC].filter { $0 }.count
        switch await certificateProbe {
        case .success(let pem)?: certificate = pem
        case .failure(let failure)?: problems.append("certificate: \(failure.message)")
        case nil: break
        }
        var dhBits: Int?, ecdhGroup: String?, ecdhBits: Int?
        switch await dhProbe {
        case .success(let result)? where result.ephemeral?.type == "DH": dhBits = result.ephemeral?.bits
        case nil: break
        default: problems.append("key exchange: the DHE handshake through OpenSSL failed")
        }
        switch await ecProbe {
        case .success(let result)? where result.ephemeral != nil:
            ecdhGroup = result.ephemeral?.group ?? result.ephemeral?.type
            ecdhBits = result.ephemeral?.bits
        case nil: break
        default: problems.append("key exchange: the ECDHE handshake through OpenSSL failed")
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

    /// `blocking(work)` when `condition` holds, else nil.
    func maybe<T: Sendable>(_ condition: Bool, _ work: @escaping @Sendable () -> T) async -> T? {
        condition ? await blocking(work) : nil
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

    func handshake(_ version: TLSVersion, _ suites: [UInt16]) throws -> ServerAnswer {
        try exchange(ClientHello.build(version: version, suites: suites, serverName: host), tooLong: .garbage,
                     parse: ServerHelloParser.parse) ?? .closed
    }

    /// One connection: sends `hello`, reads until `parse` gives an answer, the peer closes (nil,
    /// or what `parse` makes of the bytes so far) or 64 KiB came without one (`tooLong`).
    func exchange<Answer>(_ hello: [UInt8], tooLong: Answer?, parse: ([UInt8]) -> Answer?) throws(TCPConnection.Failure) -> Answer? {
        let connection = try TCPConnection(host: host, port: port, timeout: timeout)
        try connection.send(hello, timeout: timeout)
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        var received: [UInt8] = []
        while received.count < 1 << 16 {
            let chunk = try connection.receive(max: 16_384, deadline: deadline)
            if chunk.isEmpty { return received.isEmpty ? nil : parse(received) }
            received += chunk
            if let answer = parse(received) { return answer }
        }
        return tooLong
    }
}
