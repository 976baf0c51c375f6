import RBCore

/// `tls.protocols`: judges the protocol versions a `tls://` endpoint negotiated.
/// `forbidden` versions that complete a handshake fail, one finding each; `requireAnyOf` fails
/// once when none of its versions could be negotiated.
public struct TLSProtocolCheck: Check {
    public struct Options: Decodable, Sendable {
        var forbidden: [String]?
        var requireAnyOf: [String]?
    }

    public static let id = "tls.protocols"
    public static let summary = "Judges the TLS protocol versions an endpoint negotiates (raw ClientHellos)."
    public static let targetKinds: Set<TargetKind> = [.endpoint]

    let forbidden: [String]
    let required: [String]

    public init(options: Options) throws(CheckOptionError) {
        forbidden = options.forbidden ?? []
        required = options.requireAnyOf ?? []
        for version in forbidden + required where !TLSFacts.versionOrder.contains(version) {
            throw CheckOptionError("unknown protocol version \(version) (one of \(TLSFacts.versionOrder.joined(separator: ", ")))")
        }
        guard !forbidden.isEmpty || !required.isEmpty else {
            throw CheckOptionError("tls.protocols needs forbidden or requireAnyOf")
        }
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        guard let facts = context.tlsFacts() else { return [] }
        let uri = context.target.spec
        var observations: [Observation] = []
        for version in forbidden {
            guard let found = facts.protocols[version], found.supported else { continue }
            observations.append(Observation(
                message: "\(uri) negotiates \(version) (\(found.cipherSuites.count) cipher suite\(found.cipherSuites.count == 1 ? "" : "s"))",
                location: Location(path: uri),
                evidence: Evidence(key: "protocol:" + version,
                                   facts: ["protocol": version, "suites": found.cipherSuites.joined(separator: " ")])))
        }
        if !required.isEmpty, !required.contains(where: { facts.protocols[$0]?.supported == true }) {
            let offered = TLSFacts.versionOrder.filter { facts.protocols[$0]?.supported == true }
            observations.append(Observation(
                message: "\(uri) negotiates none of \(required.joined(separator: ", ")) (only \(offered.joined(separator: ", ")))",
                location: Location(path: uri),
                evidence: Evidence(key: "protocol-missing:" + required.joined(separator: ","),
                                   facts: ["supported": offered.joined(separator: " ")])))
        }
        return observations
    }
}

/// `tls.cipher-suites`: judges every suite a `tls://` endpoint accepted, by class.
/// Classes: `broken` (NULL, anon, EXPORT, RC4, single DES, RC2, IDEA), `3des`,
/// `no-forward-secrecy` (static RSA/DH/ECDH key exchange, TLS 1.2 and older), `cbc`.
/// One finding per (class, suite), naming the versions that accept it.
public struct TLSCipherSuiteCheck: Check {
    public struct Options: Decodable, Sendable {
        var classes: [String: Severity]
    }

    public static let id = "tls.cipher-suites"
    public static let summary = "Judges the cipher suites an endpoint accepts, by class (broken, 3des, no-forward-secrecy, cbc)."
    public static let targetKinds: Set<TargetKind> = [.endpoint]

    let classes: [(SuiteClass, Severity)]

    public init(options: Options) throws(CheckOptionError) {
        var classes: [(SuiteClass, Severity)] = []
        for (name, severity) in options.classes.sorted(by: { $0.key < $1.key }) {
            guard let suiteClass = SuiteClass(rawValue: name) else {
                throw CheckOptionError("unknown suite class \(name) (one of \(SuiteClass.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            classes.append((suiteClass, severity))
        }
        guard !classes.isEmpty else { throw CheckOptionError("tls.cipher-suites needs at least one class") }
        self.classes = classes
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        guard let facts = context.tlsFacts() else { return [] }
        let uri = context.target.spec
        var versionsBySuite: [String: [String]] = [:]
        var order: [String] = []
        for (version, suite) in facts.acceptedSuites {
            if versionsBySuite[suite] == nil { order.append(suite) }
            versionsBySuite[suite, default: []].append(version)
        }
        // One finding per weakness (class, reason and the attack it enables), listing every
        // accepted suite that has it: 60 suites of one server were 60 findings before.
        struct Group { var severity: Severity; var suites: [String] = []; var versions: [String] = [] }
        var groups: [String: Group] = [:]
        var groupOrder: [(SuiteClass, String)] = []
        for suite in order {
            let versions = versionsBySuite[suite]!
            for (suiteClass, severity) in classes {
                guard let why = suiteClass.reason(suite, versions: versions) else { continue }
                let weakness = [why, suiteClass.attack(suite, versions: versions)].compactMap { $0 }.joined(separator: "; ")
                let key = suiteClass.rawValue + ":" + weakness
                if groups[key] == nil {
                    groups[key] = Group(severity: severity)
                    groupOrder.append((suiteClass, weakness))
                }
                groups[key]!.suites.append(suite)
                for version in versions where !groups[key]!.versions.contains(version) { groups[key]!.versions.append(version) }
            }
        }
        return groupOrder.map { suiteClass, weakness in
            let group = groups[suiteClass.rawValue + ":" + weakness]!
            let versions = group.versions.sorted()
            let listed = group.suites.count == 1 ? group.suites[0] : "\(group.suites.count) suites (\(group.suites.joined(separator: ", ")))"
            return Observation(
                severity: group.severity,
                message: "\(uri) accepts \(listed) with \(versions.joined(separator: ", ")): \(weakness)",
                location: Location(path: uri),
                evidence: Evidence(key: suiteClass.rawValue + ":" + weakness,
                                   facts: ["suites": group.suites.joined(separator: " "), "protocols": versions.joined(separator: " "),
                                           "class": suiteClass.rawValue, "count": String(group.suites.count)]))
        }
    }
}

/// Cipher-suite classes, from the IANA name.
public enum SuiteClass: String, CaseIterable, Sendable {
    case broken
    case tripleDES = "3des"
    case noForwardSecrecy = "no-forward-secrecy"
    case cbc

    /// Why `suite` is in this class, or nil.
    public func reason(_ suite: String, versions: [String]) -> String? {
        let name = suite.uppercased()
        switch self {
        case .broken:
            if name.contains("_NULL_") || name.hasSuffix("_NULL") || name.contains("WITH_NULL") { return "NULL encryption" }
            if name.contains("_ANON_") { return "anonymous key exchange" }
            if name.contains("EXPORT") { return "EXPORT-grade" }
            if name.contains("_RC4_") { return "RC4" }
            if name.contains("_DES_CBC_") || name.contains("DES40") { return "single DES" }
            if name.contains("_RC2_") { return "RC2" }
            if name.contains("_IDEA_") { return "IDEA" }
            return nil
        case .tripleDES:
            return name.contains("3DES") || name.contains("DES_EDE") ? "3DES, 64-bit block (Sweet32)" : nil
        case .noForwardSecrecy:
            // TLS 1.3 suites name no key exchange and are always ephemeral.
            guard name.contains("_WITH_"), !name.contains("_ANON_") else { return nil }
            let exchange = name.dropFirst(4).prefix { $0 != "W" }   // after "TLS_", up to "WITH"
            if exchange.hasPrefix("DHE_") || exchange.hasPrefix("ECDHE_") { return nil }
            return "static \(exchange.dropLast()) key exchange, no forward secrecy"
        case .cbc:
            return name.contains("_CBC_") ? "CBC mode" : nil
        }
    }

    /// The named attack a suite of this class is exposed to, where one applies.
    public func attack(_ suite: String, versions: [String]) -> String? {
        let name = suite.uppercased()
        switch self {
        case .broken:
            if name.contains("EXPORT") {
                return name.contains("DHE_") || name.contains("_DH_") ? "Logjam (export-grade Diffie-Hellman)" : "FREAK (export-grade RSA)"
            }
            if name.contains("_RC4_") { return "RC4 keystream biases (Bar Mitzvah; prohibited by RFC 7465)" }
            if name.contains("_ANON_") { return "no server authentication: any man in the middle" }
            return nil
        case .tripleDES:
            return nil   // the reason already names Sweet32
        case .noForwardSecrecy:
            return name.contains("_RSA_WITH_") ? "recorded traffic decrypts once the key leaks; ROBOT where the RSA padding oracle exists" : nil
        case .cbc:
            if versions.contains(where: { $0 == "SSLv3" }) { return "POODLE (CBC in SSLv3)" }
            if versions.contains(where: { $0 == "TLSv1.0" || $0 == "TLSv1" }) { return "BEAST (CBC in TLS 1.0); Lucky13 padding timing" }
            return "Lucky13-class padding timing"
        }
    }
}

/// `tls.key-exchange`: the DHE prime and the key-exchange groups a `tls://` endpoint accepts.
/// A DH prime under `minimumDHBits`, or any accepted curve under `minimumECBits`, fails at the
/// rule's severity; the curve a server picks first for a client offering every group weakest
/// first (what it negotiates when the client lets it) outside `recommendedGroups` is reported
/// at `otherGroupSeverity` (low by default). Finite-field groups are judged by their size only.
public struct TLSKeyExchangeCheck: Check {
    public struct Options: Decodable, Sendable {
        var minimumDHBits: Int?
        var minimumECBits: Int?
        var recommendedGroups: [String]?
        var otherGroupSeverity: Severity?
    }

    public static let id = "tls.key-exchange"
    public static let summary = "Judges the DHE prime size and every key-exchange group an endpoint accepts."
    public static let targetKinds: Set<TargetKind> = [.endpoint]

    let minimumDH: Int
    let minimumEC: Int
    let recommended: Set<String>
    let otherSeverity: Severity

    public init(options: Options) throws(CheckOptionError) {
        minimumDH = options.minimumDHBits ?? 2048
        minimumEC = options.minimumECBits ?? 256
        let names = options.recommendedGroups ?? ["x25519", "secp256r1", "secp384r1", "X25519MLKEM768"]
        for name in names where TLSGroup.named(name) == nil {
            throw CheckOptionError(key: "recommendedGroups", "unknown group \(name)")
        }
        recommended = Set(names.compactMap { TLSGroup.named($0)?.name })
        otherSeverity = options.otherGroupSeverity ?? .low
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        guard let facts = context.tlsFacts() else { return [] }
        let uri = context.target.spec
        var observations: [Observation] = []
        if let bits = facts.dhBits, bits < minimumDH {
            observations.append(Observation(message: "\(uri) uses a \(bits)-bit DH group for DHE (at least \(minimumDH))",
                                            location: Location(path: uri),
                                            evidence: Evidence(key: "dh:\(bits)", facts: ["dhBits": String(bits)])))
        }
        for name in facts.acceptedGroups {
            guard let group = TLSGroup.named(name) else { continue }
            let limit = group.kind == .finiteField ? minimumDH : minimumEC
            guard group.judgedBits < limit else { continue }
            let versions = TLSFacts.versionOrder.filter { facts.protocols[$0]?.groups?.contains(name) == true }
            observations.append(Observation(message: "\(uri) accepts \(name), a \(group.bits)-bit group (at least \(limit)), in \(versions.joined(separator: ", "))",
                                            location: Location(path: uri),
                                            evidence: Evidence(key: "curve:" + name, facts: ["group": name, "bits": String(group.bits),
                                                                                         "versions": versions.joined(separator: ",")])))
        }
        var seen = Set<String>()
        for version in TLSFacts.versionOrder {
            guard let first = facts.protocols[version]?.groups?.first, let group = TLSGroup.named(first),
                  group.kind == .ellipticCurve, group.judgedBits >= minimumEC,
                  !recommended.contains(group.name), seen.insert(group.name).inserted else { continue }
            observations.append(Observation(severity: otherSeverity,
                                            message: "\(uri) picks \(group.name) first in \(version) (client offering every group weakest first), outside the recommended groups",
                                            location: Location(path: uri),
                                            evidence: Evidence(key: "curve-other:" + group.name, facts: ["group": group.name, "bits": String(group.bits)])))
        }
        return observations
    }
}

extension CheckContext {
    /// The TLS scanner's facts for this endpoint; reports the check incomplete when there are none.
    func tlsFacts() -> TLSFacts? {
        // Another protocol's endpoint (ssh://): the TLS rules do not apply.
        guard target.spec.hasPrefix("tls://") else { return nil }
        guard let facts = target.tls else {
            report("no TLS facts for this endpoint (not a tls:// target)")
            return nil
        }
        return facts
    }
}
