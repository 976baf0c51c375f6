import Synchronization
import RBCrypto

/// A rule: a stable ID and the metadata people read, bound to one check with its options.
public struct Rule: Sendable {
    public let id: String
    public let title: String
    public let category: Category
    /// The severity after the baseline's override, if any.
    public var severity: Severity
    public let description: String
    public let rationale: String?
    public let remediation: String
    public let references: [String]
    /// The target kinds of all implementations together.
    public let targets: [TargetKind]
    /// How the rule is checked: one check per target kind or several (a firmware regex and a
    /// config XPath for the same requirement).
    public let implementations: [RuleImplementation]
    public let examples: RuleExamples
    /// Where the rule is defined (`Rules/system.yaml:12:5`).
    public let source: SourceLocation
    /// The pack (file) it belongs to.
    public let pack: String
    /// The manifest of its rules directory, when it has one (id and version, for reports).
    public var manifest: ManifestReference?
    /// False when the baseline disables it.
    public var enabled: Bool = true

    public init(id: String, title: String, category: Category, severity: Severity, description: String,
                rationale: String?, remediation: String, references: [String],
                implementations: [RuleImplementation], examples: RuleExamples, source: SourceLocation, pack: String) {
        self.id = id
        self.title = title
        self.category = category
        self.severity = severity
        self.description = description
        self.rationale = rationale
        self.remediation = remediation
        self.references = references
        var kinds: [TargetKind] = []
        for implementation in implementations {
            for kind in implementation.targets where !kinds.contains(kind) { kinds.append(kind) }
        }
        self.targets = kinds
        self.implementations = implementations
        self.examples = examples
        self.source = source
        self.pack = pack
    }

    /// Whether the rule runs on a target of `kind`.
    public func applies(to kind: TargetKind) -> Bool { targets.contains(kind) }

    /// The implementations that run on a target of `kind`.
    public func implementations(for kind: TargetKind) -> [RuleImplementation] {
        implementations.filter { $0.targets.contains(kind) }
    }

    /// The summed cost hints of the implementations for `kind`.
    public func costHint(for kind: TargetKind) -> Int {
        implementations(for: kind).reduce(0) { $0 + $1.check.costHint }
    }

    /// The check IDs, for humans (`file.regex, xml.xpath`).
    public var checkIDs: String { implementations.map(\.checkID).joined(separator: ", ") }

    /// Runs every implementation for the target's kind and returns their observations, each
    /// with the implementation's severity where it sets one.
    public func run(in context: CheckContext) async throws -> [Observation] {
        var observations: [Observation] = []
        for implementation in implementations(for: context.kind) {
            var batch = try await implementation.check.run(in: context)
            if let severity = implementation.severity {
                for i in batch.indices where batch[i].severity == nil { batch[i].severity = severity }
            }
            observations += batch
        }
        return observations
    }
}

/// One way a rule is checked: a check with its options, on some target kinds.
public struct RuleImplementation: Sendable {
    public let checkID: String
    public let targets: [TargetKind]
    /// Overrides the rule's severity for results of this implementation.
    public let severity: Severity?
    private let cell: CheckCell

    /// The check, built on first use when the loader deferred it.
    public var check: any Check { cell.check }

    public init(checkID: String, check: any Check, targets: [TargetKind], severity: Severity? = nil) {
        self.checkID = checkID
        self.cell = CheckCell(built: check)
        self.targets = targets
        self.severity = severity
    }

    /// An implementation whose check is built when a scan first uses it: the loader defers
    /// building for a pack already known to load cleanly (`NodeCache`), so a scan that runs
    /// few rules (an endpoint) does not compile every rule's patterns. Should building fail
    /// after all, the check reports that as its error on every target.
    public init(checkID: String, targets: [TargetKind], severity: Severity? = nil,
                build: @escaping @Sendable () throws(DiagnosticError) -> any Check) {
        self.checkID = checkID
        self.cell = CheckCell(pending: build)
        self.targets = targets
        self.severity = severity
    }
}

/// A check, or how to build it once.
private final class CheckCell: Sendable {
    private enum State {
        case built(any Check)
        case pending(@Sendable () throws(DiagnosticError) -> any Check)
    }
    private let state: Mutex<State>

    init(built check: any Check) { state = Mutex(.built(check)) }
    init(pending build: @escaping @Sendable () throws(DiagnosticError) -> any Check) { state = Mutex(.pending(build)) }

    var check: any Check {
        state.withLock { state in
            switch state {
            case .built(let check):
                return check
            case .pending(let build):
                let check: any Check
                do {
                    check = try build()
                } catch let error as DiagnosticError {
                    check = UnbuildableCheck(diagnostics: error.diagnostics)
                } catch {
                    check = UnbuildableCheck(diagnostics: [Diagnostic(.error, .configuration, code: "rule.bad-option", "\(error)")])
                }
                state = .built(check)
                return check
            }
        }
    }
}

/// Stands for a deferred check that could not be built: running it throws why.
struct UnbuildableCheck: Check {
    struct Options: Decodable, Sendable {}
    static let id = "rbscan.unbuildable"
    static let summary = "A rule's check that could not be built"
    static let targetKinds = Set(TargetKind.allCases)
    let diagnostics: [Diagnostic]

    init(options: Options) { diagnostics = [] }
    init(diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }

    func run(in context: CheckContext) async throws -> [Observation] {
        throw DiagnosticError(diagnostics)
    }
}

/// The `examples:` of a rule: trees or config texts that must fail and must pass.
public struct RuleExamples: Decodable, Sendable {
    public var fail: [RuleExample]
    public var pass: [RuleExample]

    public init(fail: [RuleExample] = [], pass: [RuleExample] = []) {
        self.fail = fail
        self.pass = pass
    }

    enum CodingKeys: String, CodingKey { case fail, pass }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        fail = try container.decodeIfPresent([RuleExample].self, forKey: .fail) ?? []
        pass = try container.decodeIfPresent([RuleExample].self, forKey: .pass) ?? []
    }
}

/// The offline vulnerability data of a rule example.
public struct ExampleVulnerabilities: Decodable, Sendable {
    public var records: [Advisory]
    public var kev: [String]?

    /// The database the example's scan matches against.
    public var database: VulnerabilityDatabase {
        VulnerabilityDatabase(advisories: records, knownExploited: (kev ?? []).map {
            KnownExploited(cve: $0, vendor: "", product: "", name: "", dateAdded: "example", ransomware: "")
        })
    }
}

/// One example: a small file tree (`files:`), one config text (`config:`) or what a TLS
/// endpoint negotiated (`tls:`, protocol version → accepted IANA suite names).
public struct RuleExample: Decodable, Sendable {
    /// Path → content or `{content, mode, uid, gid, link, type}`.
    public var files: [String: ExampleFile]?
    public var config: ExampleConfig?
    public var tls: [String: [String]]?
    /// What an SSH endpoint announced (`banner`, `kex`, `ciphers`, `hostKeys` …).
    public var ssh: ExampleSSH?
    /// What a host's port sweep found (`ports: [{port, service, banner}]`).
    public var host: ExampleHost?
    /// What an HTTP endpoint answered (`status`, `headers`, `passwordForm`, `https` …).
    public var http: ExampleHTTP?
    /// What an RTSP endpoint answered to DESCRIBE (`paths: [{path, status, challenges, media}]`).
    public var rtsp: ExampleRTSP?
    /// With `tls:`: the key exchange facts (`dhBits`; `groups`, version → accepted group names).
    public var keyExchange: ExampleKeyExchange?
    /// For fail examples: the exact number of failing results expected (optional).
    /// `--signing-key` values for the example (PEM text): image signature rules.
    public var signingKeys: [String]?
    /// `--vuln-db` data for the example: OSV `records` and KEV CVE IDs (`kev`).
    public var vulnerabilities: ExampleVulnerabilities?
    public var findings: Int?
    /// For file-tree and config examples: the device profile's declared interfaces.
    public var declared: [DeviceProfile.Interface]?
    /// For fail examples: the line the (first) finding must point at (optional).
    public var line: Int?
    /// For fail examples: the highest severity among the failing results (optional).
    public var severity: Severity?
    public var note: String?
    /// Where the example is written, for `rules test` messages.
    public var source: SourceLocation?

    enum CodingKeys: String, CodingKey { case files, config, tls, ssh, host, http, rtsp, keyExchange, signingKeys, vulnerabilities, findings, line, severity, note, declared }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        files = try container.decodeIfPresent([String: ExampleFile].self, forKey: .files)
        config = try container.decodeIfPresent(ExampleConfig.self, forKey: .config)
        tls = try container.decodeIfPresent([String: [String]].self, forKey: .tls)
        ssh = try container.decodeIfPresent(ExampleSSH.self, forKey: .ssh)
        host = try container.decodeIfPresent(ExampleHost.self, forKey: .host)
        http = try container.decodeIfPresent(ExampleHTTP.self, forKey: .http)
        rtsp = try container.decodeIfPresent(ExampleRTSP.self, forKey: .rtsp)
        keyExchange = try container.decodeIfPresent(ExampleKeyExchange.self, forKey: .keyExchange)
        signingKeys = try container.decodeIfPresent([String].self, forKey: .signingKeys)
        vulnerabilities = try container.decodeIfPresent(ExampleVulnerabilities.self, forKey: .vulnerabilities)
        findings = try container.decodeIfPresent(Int.self, forKey: .findings)
        line = try container.decodeIfPresent(Int.self, forKey: .line)
        severity = try container.decodeIfPresent(Severity.self, forKey: .severity)
        note = try container.decodeIfPresent(String.self, forKey: .note)
        declared = try container.decodeIfPresent([DeviceProfile.Interface].self, forKey: .declared)
        if [files != nil, config != nil, tls != nil, ssh != nil, host != nil, http != nil, rtsp != nil].filter({ $0 }).count != 1 {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "an example has exactly one of 'files' (a tree), 'config' (a config text), 'tls', 'ssh', 'host', 'http' or 'rtsp' (endpoint facts)"))
        }
        for version in Set((tls ?? [:]).keys).union((keyExchange?.groups ?? [:]).keys) where !TLSFacts.versionOrder.contains(version) {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath + [CodingKeys.tls],
                debugDescription: "unknown protocol version \(version) (one of \(TLSFacts.versionOrder.joined(separator: ", ")))"))
        }
    }

    /// The device profile of the example: its host's, or the `declared:` interfaces.
    public var profile: DeviceProfile? {
        host?.profile ?? declared.map { DeviceProfile(id: "example", title: "example", file: "example", interfaces: $0, sensitivePaths: []) }
    }

    /// The target kind the example stands for.
    public var kind: TargetKind { config != nil ? .config : tls != nil || ssh != nil || host != nil || http != nil || rtsp != nil ? .endpoint : .firmware }

    /// The endpoint an endpoint example stands for.
    public var endpoint: Endpoint? {
        tls != nil ? Endpoint(scheme: "tls", host: "example", port: 443) : ssh != nil ? Endpoint(scheme: "ssh", host: "example", port: 22)
            : host != nil ? Endpoint(scheme: "host", host: "example", port: 0)
            : http.map { Endpoint(scheme: $0.https == true ? "https" : "http", host: "example", port: $0.https == true ? 443 : 80) }
            ?? rtsp.map { _ in Endpoint(scheme: "rtsp", host: "example", port: 554) }
    }

    /// The endpoint facts of a `tls:` example: listed versions are supported with those suites.
    public var tlsFacts: TLSFacts? {
        tls.map { versions in
            var facts = TLSFacts(protocols: versions.mapValues { TLSFacts.ProtocolFacts(supported: !$0.isEmpty, cipherSuites: $0) },
                                 handshakes: 0, problems: [])
            facts.dhBits = keyExchange?.dhBits
            for (version, groups) in keyExchange?.groups ?? [:] {
                facts.protocols[version, default: TLSFacts.ProtocolFacts(supported: false, cipherSuites: [])].groups = groups
            }
            return facts
        }
    }

    /// The example as a tree.
    public func tree() -> MemoryTree {
        if let config {
            return MemoryTree(name: config.name, items: [config.name: .file(config.content)])
        }
        var items: [String: MemoryTree.Item] = [:]
        for (path, file) in files ?? [:] { items[path] = file.item }
        return MemoryTree(name: "example", items: items)
    }
}

/// The facts of an `ssh:` example: the banner, and whatever lists and host keys matter.
public struct ExampleSSH: Decodable, Sendable {
    public var banner: String
    public var kex: [String]?
    public var hostKeyAlgorithms: [String]?
    public var ciphers: [String]?
    public var macs: [String]?
    public var hostKeys: [HostKey]?
    public var gexModulusBits: Int?
    /// The user of a default pair the SSH login accepted (`--allow-auth-tests`).
    public var defaultLoginAccepted: String?

    public struct HostKey: Decodable, Sendable {
        public var type: String
        public var bits: Int
    }

    public var facts: SSHFacts {
        var facts = SSHFacts(banner: banner, kex: kex ?? [], hostKeyAlgorithms: hostKeyAlgorithms ?? [], ciphers: ciphers ?? [],
                             macs: macs ?? [], hostKeys: (hostKeys ?? []).map { SSHFacts.HostKey(type: $0.type, bits: $0.bits, sha256: "") },
                             gexModulusBits: gexModulusBits)
        if let defaultLoginAccepted { facts.defaultLogin = LoginAttempts(attempts: 1, accepted: defaultLoginAccepted, lockout: false) }
        return facts
    }
}

/// The facts of an `http:` example: what `GET /` (and TRACE, the auth-bypass pattern) answered.
public struct ExampleHTTP: Decodable, Sendable {
    public var https: Bool?
    public var status: Int?
    public var headers: [String: String]?
    public var title: String?
    public var passwordForm: Bool?
    public var directoryListing: Bool?
    /// TRACE answered 200 with the request echoed.
    public var traceEchoed: Bool?
    /// Paths that answered `?auth=` with the success marker after refusing without it.
    public var authBypass: [String]?
    /// Profile paths served (200 with the marker) without credentials.
    public var unauthenticated: [String]?
    /// The user of a default pair the login accepted (`--allow-auth-tests`).
    public var defaultLoginAccepted: String?
    /// The page's body text.
    public var body: String?
    /// What the ONVIF device service answered without credentials.
    public var onvif: ExampleONVIF?

    public struct ExampleONVIF: Decodable, Sendable {
        public var getUsersStatus: Int
        public var fault: String?
        public var usernames: [String]?
        /// GetDeviceInformation fields served without credentials.
        public var deviceInformation: [String: String]?
        public var defaultLoginAccepted: String?
    }

    public var facts: HTTPFacts {
        var root = HTTPFacts.Response(status: status ?? 200, headers: (headers ?? [:]).sorted { $0.key < $1.key }.map { [$0.key, $0.value] },
                                      title: title, passwordForm: passwordForm ?? false, directoryListing: directoryListing ?? false)
        root.text = body ?? ""
        var facts = HTTPFacts(root: root)
        if let onvif {
            var onvifFacts = ONVIFFacts(path: "/onvif/device_service", getUsers: ONVIFFacts.Answer(status: onvif.getUsersStatus, fault: onvif.fault))
            onvifFacts.usernames = onvif.usernames ?? []
            onvifFacts.deviceInformation = onvif.deviceInformation ?? [:]
            if let accepted = onvif.defaultLoginAccepted { onvifFacts.defaultLogin = LoginAttempts(attempts: 1, accepted: accepted, lockout: false) }
            facts.onvif = onvifFacts
        }
        if let traceEchoed { facts.trace = HTTPFacts.Trace(status: traceEchoed ? 200 : 405, echoed: traceEchoed) }
        facts.authBypass = (authBypass ?? []).map { HTTPFacts.Bypass(path: $0, statusWithout: 401, statusWith: 200, marker: true) }
        facts.sensitive = (unauthenticated ?? []).map { HTTPFacts.Sensitive(path: $0, status: 200, marker: true) }
        if let defaultLoginAccepted { facts.defaultLogin = LoginAttempts(attempts: 1, accepted: defaultLoginAccepted, lockout: false) }
        return facts
    }
}

/// The facts of an `rtsp:` example.
public struct ExampleRTSP: Decodable, Sendable {
    public struct Path: Decodable, Sendable {
        public var path: String
        public var status: Int
        public var challenges: [String]?
        public var media: Bool?
    }
    public var paths: [Path]
    public var defaultLoginAccepted: String?
    /// The `Server` header of the OPTIONS answer.
    public var server: String?

    public var facts: RTSPFacts {
        var facts = RTSPFacts(server: server, methods: [], paths: paths.map {
            RTSPFacts.Path(path: $0.path, status: $0.status, challenges: $0.challenges ?? [], media: $0.media ?? false)
        }, requests: paths.count)
        if let defaultLoginAccepted { facts.defaultLogin = LoginAttempts(attempts: 1, accepted: defaultLoginAccepted, lockout: false) }
        return facts
    }
}

/// The facts of a `host:` example: the open ports the sweep found.
public struct ExampleHost: Decodable, Sendable {
    public var ports: [Port]
    /// The device profile's declared interfaces, when the example has one.
    public var declared: [DeviceProfile.Interface]?
    /// Default SNMP communities the host's UDP 161 answered.
    public var snmpCommunities: [String]?
    /// UDP services that answered (`tftp`, `ssdp`, `ws-discovery`, `snmp`).
    public var udp: [Port]?
    /// SSDP answers (`st`, `usn`, `server`, `location`) to the M-SEARCH on UDP 1900.
    public var ssdp: [SSDPFacts.Answer]?
    /// The UPnP device description's fields (`modelName`, `serialNumber` …).
    public var upnpDescription: [String: String]?
    /// WS-Discovery ProbeMatch scopes.
    public var wsDiscoveryScopes: [String]?

    public struct Port: Decodable, Sendable {
        public var port: UInt16
        public var service: String
        public var banner: String?
        /// FTP: `USER anonymous` was accepted.
        public var anonymousLogin: Bool?
        /// Telnet/FTP: the user of a default pair the login accepted (`--allow-auth-tests`).
        public var defaultLoginAccepted: String?
    }

    public var facts: HostFacts {
        func port(_ p: Port) -> HostFacts.Port {
            var port = HostFacts.Port(port: p.port, service: p.service, banner: p.banner, anonymousLogin: p.anonymousLogin)
            port.defaultLogin = p.defaultLoginAccepted.map { LoginAttempts(attempts: 1, accepted: $0, lockout: false) }
            return port
        }
        var facts = HostFacts(ports: ports.map(port), scanned: ports.count)
        facts.udp = (udp ?? []).map(port)
        facts.snmp = snmpCommunities.map { SNMPFacts(communities: $0, sysDescr: nil) }
        facts.ssdp = ssdp.map { SSDPFacts(port: 1900, answers: $0, description: upnpDescription) }
        facts.wsDiscovery = wsDiscoveryScopes.map { WSDiscoveryFacts(port: 3702, types: ["dn:NetworkVideoTransmitter"], scopes: $0, xaddrs: []) }
        return facts
    }

    public var profile: DeviceProfile? {
        declared.map { DeviceProfile(id: "example", title: "example", file: "example", interfaces: $0, sensitivePaths: []) }
    }
}

/// The key exchange facts of a `tls:` example.
public struct ExampleKeyExchange: Decodable, Sendable {
    public var dhBits: Int?
    /// Protocol version → the groups it accepts, in the server's pick order.
    public var groups: [String: [String]]?

    enum CodingKeys: String, CodingKey { case dhBits, groups }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        dhBits = try container.decodeIfPresent(Int.self, forKey: .dhBits)
        groups = try container.decodeIfPresent([String: [String]].self, forKey: .groups)
        for name in (groups ?? [:]).values.joined() where TLSGroup.named(name) == nil {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath + [CodingKeys.groups],
                debugDescription: "unknown group \(name) (IANA names: secp256r1, x25519, ffdhe2048 …)"))
        }
    }
}

/// A config text example: the file name decides which rules' path patterns it matches.
public struct ExampleConfig: Decodable, Sendable {
    public var name: String
    public var content: String
}

/// A file in an example tree: a string is its content; a mapping gives metadata.
public struct ExampleFile: Decodable, Sendable {
    public var item: MemoryTree.Item

    enum CodingKeys: String, CodingKey { case content, base64, mode, uid, gid, link, type }

    public init(from decoder: any Decoder) throws {
        if let text = try? decoder.singleValueContainer().decode(String.self) {
            item = .file(text)
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        var content = Array((try container.decodeIfPresent(String.self, forKey: .content) ?? "").utf8)
        // Binary content (a database, an ELF header) as base64.
        if let encoded = try container.decodeIfPresent(String.self, forKey: .base64) {
            guard let decoded = Base64.decode(encoded, .lenient) else {
                throw DecodingError.dataCorruptedError(forKey: .base64, in: container, debugDescription: "not valid base64")
            }
            content = decoded
        }
        let link = try container.decodeIfPresent(String.self, forKey: .link)
        var type = link != nil ? FileType.symlink : .file
        if let raw = try container.decodeIfPresent(String.self, forKey: .type) {
            guard let parsed = FileType(rawValue: raw) else {
                throw DecodingError.dataCorruptedError(forKey: .type, in: container,
                    debugDescription: "'\(raw)' is not a file type (file, directory, symlink, charDevice, blockDevice, fifo, socket)")
            }
            type = parsed
        }
        var mode: UInt32?
        if let raw = try container.decodeIfPresent(String.self, forKey: .mode) {
            guard let parsed = UInt32(raw, radix: 8), parsed <= 0o7777 else {
                throw DecodingError.dataCorruptedError(forKey: .mode, in: container,
                    debugDescription: "'\(raw)' is not an octal mode such as 0644 or 4755")
            }
            mode = parsed
        }
        item = MemoryTree.Item(type: type, content: content, mode: mode,
                               uid: try container.decodeIfPresent(UInt32.self, forKey: .uid) ?? 0,
                               gid: try container.decodeIfPresent(UInt32.self, forKey: .gid) ?? 0,
                               linkTarget: link)
    }
}
