import RBCore

/// `ssh.transport`: an `ssh://` endpoint's identification line, KEXINIT algorithms and host keys
/// (no login) against algorithm lists kept in the rule (each list cites its sources): SSH-1
/// (`SSH-1.5-`, `SSH-1.99-`), a `fail` algorithm or a weak RSA/DSA host key at the rule's
/// severity; a group-exchange prime under `minimumGroupExchangeBits`, and Terrapin exposure
/// (chacha20-poly1305 or an encrypt-then-MAC MAC offered without strict key exchange) at
/// `mediumSeverity`; a `warn` algorithm (SHA-1) at `warnSeverity`. Patterns are globs
/// (`hmac-md5*`).
public struct SSHTransportCheck: Check {
    public struct Lists: Decodable, Sendable {
        var kex: [String]?
        var hostKey: [String]?
        var cipher: [String]?
        var mac: [String]?
    }

    public struct Options: Decodable, Sendable {
        var fail: Lists
        var warn: Lists?
        var minimumRSABits: Int?
        var minimumGroupExchangeBits: Int?
        var mediumSeverity: Severity?
        var warnSeverity: Severity?
    }

    public static let id = "ssh.transport"
    public static let summary = "Judges an SSH endpoint's protocol version, KEXINIT algorithms and host keys (no login)."
    public static let targetKinds: Set<TargetKind> = [.endpoint]

    struct Compiled: Sendable {
        var kex: [Glob], hostKey: [Glob], cipher: [Glob], mac: [Glob]

        init(_ lists: Lists?, key: String) throws(CheckOptionError) {
            func compile(_ patterns: [String]?, _ name: String) throws(CheckOptionError) -> [Glob] {
                var globs: [Glob] = []
                for pattern in patterns ?? [] {
                    do { globs.append(try Glob(pattern)) } catch {
                        throw CheckOptionError(key: "\(key).\(name)", "\(pattern): \(error)")
                    }
                }
                return globs
            }
            kex = try compile(lists?.kex, "kex")
            hostKey = try compile(lists?.hostKey, "hostKey")
            cipher = try compile(lists?.cipher, "cipher")
            mac = try compile(lists?.mac, "mac")
        }
    }

    let fail: Compiled
    let warn: Compiled
    let minimumRSA: Int
    let minimumGEX: Int
    let medium: Severity
    let low: Severity

    public init(options: Options) throws(CheckOptionError) {
        fail = try Compiled(options.fail, key: "fail")
        warn = try Compiled(options.warn, key: "warn")
        minimumRSA = options.minimumRSABits ?? 2048
        minimumGEX = options.minimumGroupExchangeBits ?? 2048
        medium = options.mediumSeverity ?? .medium
        low = options.warnSeverity ?? .low
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        guard context.target.spec.hasPrefix("ssh://") else { return [] }
        guard let facts = context.target.ssh else {
            context.report("no SSH facts for this endpoint")
            return []
        }
        let uri = context.target.spec
        var observations: [Observation] = []
        func add(_ severity: Severity?, _ message: String, _ key: String, _ evidence: [String: String] = [:]) {
            observations.append(Observation(severity: severity, message: "\(uri) " + message, location: Location(path: uri),
                                            evidence: Evidence(key: key, facts: evidence.merging(["banner": facts.banner]) { a, _ in a })))
        }
        let version = facts.protocolVersion
        if version.hasPrefix("1.") {
            add(nil, "speaks SSH protocol 1 (banner \(facts.banner))", "protocol:" + version)
        }
        let lists: [(String, [String], KeyPath<Compiled, [Glob]>)] = [
            ("key exchange", facts.kex, \.kex), ("host key algorithm", facts.hostKeyAlgorithms, \.hostKey),
            ("cipher", facts.ciphers, \.cipher), ("MAC", facts.macs, \.mac),
        ]
        for (kind, offered, path) in lists {
            for name in offered {
                if fail[keyPath: path].contains(where: { $0.matchesBasename(name) }) {
                    add(nil, "offers the broken \(kind) \(name)", "\(kind):\(name)")
                } else if warn[keyPath: path].contains(where: { $0.matchesBasename(name) }) {
                    add(low, "offers the SHA-1 based \(kind) \(name)", "\(kind):\(name)")
                }
            }
        }
        for key in facts.hostKeys where (key.type == "ssh-rsa" || key.type == "ssh-dss") && key.bits < minimumRSA {
            add(nil, "has a \(key.bits)-bit \(key.type) host key (at least \(minimumRSA))", "host-key:\(key.type):\(key.bits)",
                ["sha256": key.sha256])
        }
        if let bits = facts.gexModulusBits, bits < minimumGEX {
            add(medium, "sends a \(bits)-bit group-exchange prime (at least \(minimumGEX))", "gex:\(bits)")
        }
        // Terrapin (CVE-2023-48795): prefix truncation works on chacha20-poly1305 and on
        // encrypt-then-MAC MACs (with CBC ciphers) unless both sides use strict key exchange.
        let chacha = facts.ciphers.contains("chacha20-poly1305@openssh.com")
        let etm = facts.macs.contains { $0.hasSuffix("-etm@openssh.com") } && facts.ciphers.contains { $0.hasSuffix("-cbc") }
        if (chacha || etm) && !facts.strictKex {
            add(medium, "is exposed to Terrapin (CVE-2023-48795): \(chacha ? "chacha20-poly1305" : "CBC with encrypt-then-MAC") without strict key exchange",
                "terrapin")
        }
        return observations
    }
}
