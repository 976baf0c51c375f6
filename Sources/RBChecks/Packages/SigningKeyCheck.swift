import RBCore
import RBCrypto

/// `update.keys`: the keys the image's update and boot paths trust (RB-PKG-006). Trusted public
/// keys are the PEM public keys that update scripts verify with (`openssl … -verify FILE`,
/// `-verify` / `-pubin -inkey FILE`), the PEM public keys embedded in updater programs, the
/// keys of U-Boot's control device tree (verified boot), and `--signing-key`.
/// When any is found, the image is searched for private keys (as RB-SEN-001 does): the private
/// half of an update key in the image fails critical (anyone with the image signs updates); a
/// key on the rule's `knownKeys` list (SPKI SHA-256 of published test or leaked keys) fails high.
public struct SigningKeyCheck: Check {
    public struct Options: Decodable, Sendable {
        /// SPKI SHA-256 (hex) of known test or leaked signing keys.
        var knownKeys: [String]?
    }

    public static let id = "update.keys"
    public static let summary = "Checks that the update signing key's private half is not in the image and that it is no known test key."
    public static let targetKinds: Set<TargetKind> = [.firmware]

    static let verifyKeyFile = try? Regex(#"openssl\s[^\n]*?(-verify|-pubin\s+-inkey|-inkey)\s+["']?(/[^\s"';|]+)"#)
    static let scriptPaths = try? PathPatterns.compile(UpdateHandlerCheck.defaultPaths, key: "paths")
    static let everything = try? PathPatterns.compile(["**"], key: "paths")
    static let controlTrees = try? PathPatterns.compile(VerifiedBootCheck.controlTreePaths, key: "paths")
    static let skipped = try? PathPatterns.compile(["proc/**", "sys/**", "dev/**", "usr/share/doc/**", "usr/share/man/**",
                                                    "var/lib/apt/lists/**", "var/cache/apt/**"], key: "exclude")

    let knownKeys: Set<String>

    public init(options: Options) throws(CheckOptionError) {
        knownKeys = Set((options.knownKeys ?? []).map { $0.lowercased() })
    }

    init(knownKeys: [String]) {
        self.knownKeys = Set(knownKeys)
    }

    /// Every key the image trusts: update keys, U-Boot's keys, usign/signify keys (and
    /// `--signing-key` unless `includingGiven` is false: the fleet compares what images hold).
    func trustedKeys(in context: CheckContext, includingGiven: Bool = true) -> [TrustedKey] {
        updateKeys(in: context, includingGiven: includingGiven) + usignPublicKeys(in: context)
    }

    /// An update public key and where it was found.
    struct TrustedKey { var identity: String; var source: String }

    /// Whether a text file may hold a private key or a usign secret key at all, worked out by the
    /// read-ahead pass while it holds each file: the search below then reads again only those
    /// (an image's text is larger than the content cache).
    static let mayHoldKey = ContentAnalysis(id: "update.keys:may-hold-key", binaries: false, nothing: false,
                                            isNothing: { !$0 }) { bytes in
        !PrivateKeyCheck.candidates(in: bytes).isEmpty || ByteSearch.firstIndex(of: usignComment, in: bytes) != nil
    }

    /// The key files an update script verifies with (`openssl … -verify FILE`), worked out by the
    /// read-ahead pass for the scripts it holds: most scripts name none, and are not read again.
    static let verifyKeyFiles = ContentAnalysis(id: "update.keys:verify-key-files", binaries: false, nothing: [String](),
                                                isNothing: { $0.isEmpty }) { keyFileNames(in: $0) }

    /// The files named after `-verify` / `-inkey` in a script's `openssl` commands.
    static func keyFileNames(in bytes: [UInt8]) -> [String] {
        (verifyKeyFile?.matches(in: bytes, limit: 16) ?? []).compactMap { match -> String? in
            guard match.groups.count > 1, let range = match.groups[1] else { return nil }
            return String(decoding: bytes[range], as: UTF8.self)
        }
    }

    public func contentInterests(in context: CheckContext) -> ContentInterests {
        guard context.kind == .firmware, let entries = context.tree?.index.entries else { return ContentInterests() }
        var interests = ContentInterests(Self.mayHoldKey, positions: context.filePositions(matching: Self.everything ?? [], excluding: Self.skipped ?? [])
            .filter { entries[$0].size > 0 })
        interests.merge(ContentInterests(Self.verifyKeyFiles, positions: context.filePositions(matching: Self.scriptPaths ?? [])
            .filter { entries[$0].size > 0 && entries[$0].size < 16 << 20 }))
        return interests
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        let trusted = trustedKeys(in: context)
        guard !trusted.isEmpty else { return [] }
        var observations: [Observation] = []
        for key in trusted where knownKeys.contains(key.identity) {
            observations.append(Observation(
                message: "the update key from \(key.source) is a published test or leaked key (SPKI SHA-256 \(key.identity.prefix(16))…)",
                location: Location(path: key.source), evidence: Evidence(key: "known-key:" + key.identity, facts: ["publicKeySHA256": key.identity])))
        }
        // The private halves in the image: the update keys' identities against every private key found.
        let identities = Set(trusted.map(\.identity))
        let usignKeys = Dictionary(trusted.filter { $0.identity.hasPrefix("usign:") }.map { (String($0.identity.dropFirst(6)), $0.source) },
                                   uniquingKeysWith: { a, _ in a })
        let mayHoldKey = context.analysis(Self.mayHoldKey.id)
        for file in context.files(matching: Self.everything ?? [], excluding: Self.skipped ?? []) where file.size > 0 {
            if mayHoldKey(file) as? Bool == false { continue }
            let content: FileContent
            if let text = context.readUnlessBinary(file) {
                content = text
            } else {
                guard PrivateKeyCheck.holdsMarker(file, in: context), let whole = context.read(file) else { continue }
                content = whole
            }
            // usign / signify secret keys (OpenWrt's package and sysupgrade signing).
            if !usignKeys.isEmpty, ByteSearch.firstIndex(of: Self.usignComment, in: content.bytes) != nil {
                for secret in Self.usignBlobs(content.bytes) where secret.blob.count == 104 && secret.blob.starts(with: Array("EdBK".utf8)) {
                    let keynum = Hex.encode(Array(secret.blob[32..<40]))
                    guard let trustedBy = usignKeys[keynum] else { continue }
                    observations.append(Observation(severity: .critical,
                        message: "the usign/signify secret key \(keynum) trusted by \(trustedBy) ships in \(file.path): anyone with the image can sign packages and upgrades the device accepts",
                        location: Location(path: file.path, line: secret.line),
                        evidence: Evidence(key: "update-private-key:usign:" + keynum, facts: ["keynum": keynum, "trustedBy": trustedBy])))
                }
            }
            for found in PrivateKeyCheck.scan(content.bytes) where identities.contains(found.identity) {
                let source = trusted.first { $0.identity == found.identity }?.source ?? ""
                observations.append(Observation(severity: .critical,
                    message: "the private half of the signing key trusted by \(source) ships in \(file.path): anyone with the image can sign updates (or boot images) the device accepts",
                    location: Location(path: file.path, line: found.line),
                    evidence: Evidence(key: "update-private-key:" + found.identity, facts: ["publicKeySHA256": found.identity, "trustedBy": source])))
            }
        }
        return observations
    }

    /// The update public keys: verification key files of update scripts, PEM keys embedded in
    /// updater programs, and `--signing-key`.
    func updateKeys(in context: CheckContext, includingGiven: Bool = true) -> [TrustedKey] {
        var keys: [TrustedKey] = []
        var seen = Set<String>()
        func add(_ pem: [UInt8], source: String) {
            for identity in Self.publicKeyIdentities(pem) where seen.insert(identity).inserted {
                keys.append(TrustedKey(identity: identity, source: source))
            }
        }
        guard let tree = context.tree else { return [] }
        func addKeyFiles(_ named: [String]) {
            for name in named {
                let path = String(name.drop { $0 == "/" })
                guard let entry = tree.resolve(path), entry.type == .file, let key = context.read(entry) else { continue }
                add(key.bytes, source: entry.path)
            }
        }
        let verifyKeyFiles = context.analysis(Self.verifyKeyFiles.id)
        for file in context.files(matching: Self.scriptPaths ?? []) where file.size > 0 && file.size < 16 << 20 {
            if let named = verifyKeyFiles(file) as? [String] {
                addKeyFiles(named)
            } else if let text = context.readUnlessBinary(file) {
                addKeyFiles(Self.keyFileNames(in: text.bytes))
            } else if UpdateHandlerCheck.handlerName?.hasMatch(in: Array(file.name.utf8)) ?? false,
                      let content = context.read(file), ByteSearch.firstIndex(of: Array("-----BEGIN PUBLIC KEY-----".utf8), in: content.bytes) != nil {
                add(content.bytes, source: file.path)
            }
        }
        // The keys U-Boot verifies FIT images with (RB-PKG-005's control device tree).
        if let paths = Self.controlTrees {
            for found in VerifiedBootCheck.ubootKeys(in: context, paths: paths) {
                let identity = found.key.key.spkiSHA256
                if seen.insert(identity).inserted { keys.append(TrustedKey(identity: identity, source: "\(found.path) (U-Boot key \(found.key.name))")) }
            }
        }
        for value in context.limits.signingKeys where includingGiven {
            if let pem = ImageSignatureCheck.signingKeyPEM(value) { add(pem, source: value.hasPrefix("-----BEGIN") ? "--signing-key" : value) }
        }
        return keys
    }

    static let usignComment = Array("untrusted comment:".utf8)
    static let usignPaths = try? PathPatterns.compile(["etc/opkg/keys/*", "etc/opkg/keys/**", "usr/share/ucert/**", "**/*.pub"], key: "paths")

    /// The usign/signify public keys opkg and sysupgrade trust (`etc/opkg/keys/KEYNUM`):
    /// identity `usign:KEYNUM`.
    func usignPublicKeys(in context: CheckContext) -> [TrustedKey] {
        var keys: [TrustedKey] = []
        for file in context.files(matching: Self.usignPaths ?? []) where file.size > 0 && file.size < 64 << 10 {
            guard let text = context.readUnlessBinary(file) else { continue }
            for key in Self.usignBlobs(text.bytes) where key.blob.count == 42 && key.blob.starts(with: Array("Ed".utf8)) {
                keys.append(TrustedKey(identity: "usign:" + Hex.encode(Array(key.blob[2..<10])), source: file.path))
            }
        }
        return keys
    }

    /// The base64 blobs that follow `untrusted comment:` lines (usign/signify key files), with
    /// the line each is on.
    static func usignBlobs(_ bytes: [UInt8]) -> [(blob: [UInt8], line: Int)] {
        var blobs: [(blob: [UInt8], line: Int)] = []
        let lines = bytes.split(separator: 0x0a, omittingEmptySubsequences: false)
        for (i, line) in lines.enumerated() where line.starts(with: usignComment) && i + 1 < lines.count {
            guard let blob = Base64.decode(lines[i + 1], .ignoringWhitespace), !blob.isEmpty else { continue }
            blobs.append((blob, i + 2))
        }
        return blobs
    }

    /// SPKI SHA-256 of every PEM public key (or certificate) in `bytes`.
    static func publicKeyIdentities(_ bytes: [UInt8]) -> [String] {
        var result: [String] = []
        var from = 0
        let begin = Array("-----BEGIN ".utf8)
        while from < bytes.count, result.count < 16 {
            guard let hit = bytes.withUnsafeBufferPointer({ ByteScan.find(begin, in: UnsafeBufferPointer(rebasing: $0[from...])) }) else { break }
            let start = from + hit
            let end = min(bytes.count, start + 16 << 10)
            if let key = Key.publicKey(pem: Array(bytes[start..<end])) { result.append(key.spkiSHA256) }
            from = start + begin.count
        }
        return result
    }
}
