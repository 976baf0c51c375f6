import RBCore
import RBCrypto
#if canImport(Glibc)
import Glibc
#endif

/// `secrets.private-key`: private keys in the image, each confirmed by parsing it, so that the
/// PEM label strings inside crypto libraries and documentation are never reported (RB-SEN-001).
/// Every file is searched, binaries included (a key compiled into a daemon is still a key), but
/// not the package-archive indexes apt downloads (`var/lib/apt/lists`, `var/cache/apt`):
/// - PEM blocks (`-----BEGIN … PRIVATE KEY-----`): unencrypted ones must parse with OpenSSL
///   (PKCS#1, SEC1, PKCS#8); `ENCRYPTED PRIVATE KEY` must decode to a DER SEQUENCE, and
///   `Proc-Type: 4,ENCRYPTED` must carry a DEK-Info header;
/// - OpenSSH keys: the `openssh-key-v1` structure, encrypted when its cipher is not `none`;
/// - PuTTY key files: the header and `Encryption:` line;
/// - DER keys in `*.key`, `*.der`, `*.p8`, `*.pk8`, or any small file whose ASN.1 start is a
///   private key's (SEQUENCE, INTEGER 0 or 1): parsed with OpenSSL;
/// - PKCS#12 bundles (`*.p12`, `*.pfx`) with a key: opened with an empty password, else
///   reported as password-protected;
/// - SSH host keys shipped in Dropbear's own format.
/// An unencrypted key fails at the rule's severity; an encrypted one is low (its passphrase may
/// be in the image too). The key itself is never printed: evidence is its public key's SHA-256.
public struct PrivateKeyCheck: Check {
    public struct Options: Decodable, Sendable {
        var paths: [String]?
        var exclude: [String]?
        /// Public-key SHA-256s of published test vectors (a crypto library's self-test keys):
        /// not reported inside a shared library (`lib*.so*`), reported as publicly known anywhere else.
        var knownTestKeys: [String]?
    }

    public static let id = "secrets.private-key"
    public static let summary = "Finds private keys (PEM, OpenSSH, PuTTY, DER, Dropbear), confirmed by parsing them."
    public static let targetKinds: Set<TargetKind> = [.firmware, .config]

    let paths: [Glob]
    let exclude: [Glob]
    let derNames: [Glob]
    let pkcs12Names: [Glob]
    let dropbearNames: [Glob]
    /// The three name lists together (every binary is tested against them).
    let keyNames: [Glob]
    let knownTestKeys: Set<String>

    public init(options: Options) throws(CheckOptionError) {
        knownTestKeys = Set((options.knownTestKeys ?? []).map { $0.lowercased() })
        paths = try PathPatterns.compile(options.paths ?? ["**"], key: "paths")
        exclude = try PathPatterns.compile(options.exclude ?? ["proc/**", "sys/**", "dev/**", "usr/share/doc/**", "usr/share/man/**",
                                                                                "var/lib/apt/lists/**", "var/cache/apt/**"], key: "exclude")
        derNames = try PathPatterns.compile(["**/*.{key,der,p8,pk8}"], key: "paths")
        pkcs12Names = try PathPatterns.compile(["**/*.{p12,pfx,P12,PFX}"], key: "paths")
        dropbearNames = try PathPatterns.compile(["**/dropbear_*_host_key", "**/dropbear/*host_key*"], key: "paths")
        keyNames = derNames + pkcs12Names + dropbearNames
    }

    /// A key found in a file.
    struct Found: Equatable, Sendable {
        var kind: String
        var encrypted: Bool
        var line: Int
        /// The public key's SPKI SHA-256 when OpenSSL read the key, else a digest of the block.
        var identity: String
    }

    static let begin = Array("-----BEGIN ".utf8)
    static let privateLabel = Array("PRIVATE KEY-----".utf8)
    static let putty = Array("PuTTY-User-Key-File-".utf8)
    /// Every candidate the content scan looks at starts with `begin` and has `privateLabel`
    /// after it, or starts with `putty`: a binary without them holds no key the scan finds
    /// (libcrypto has `-----BEGIN ` format strings, never `PRIVATE KEY-----`).
    static let markers = [begin, putty, privateLabel]

    /// Offsets of `-----BEGIN … PRIVATE KEY-----` (label within 40 bytes) and of the first
    /// `PuTTY-User-Key-File-`, ascending, at most 64.
    static func candidates(in bytes: [UInt8]) -> [Int] {
        var result: [Int] = []
        bytes.withUnsafeBufferPointer { buffer in
            var from = 0
            while result.count < 64, from < buffer.count, let hit = ByteScan.find(begin, in: UnsafeBufferPointer(rebasing: buffer[from...])) {
                let at = from + hit
                let labelStart = at + begin.count
                let window = UnsafeBufferPointer(rebasing: buffer[labelStart..<min(buffer.count, labelStart + 40 + privateLabel.count)])
                if let label = ByteScan.find(privateLabel, in: window),
                   window[..<label].allSatisfy({ ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x20 }) {
                    result.append(at)
                }
                from = labelStart
            }
            if let found = ByteScan.find(putty, in: buffer) { result.append(found) }
        }
        return result.sorted()
    }
    static let dashes = Array("-----".utf8)

    /// The 1-based line of `offset` (counted only for the rare hits): the newlines before it,
    /// found by memchr (a key inside a 2 MB library is not worth a whole line index).
    static func lineNumber(_ bytes: [UInt8], at offset: Int) -> Int {
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return 1 }
            var line = 1, at = 0
            let end = min(offset, raw.count)
            while at < end, let hit = memchr(base + at, 10, end - at) {
                line += 1
                at = base.distance(to: UnsafeRawPointer(hit)) + 1
            }
            return line
        }
    }

    public var binaryMarkers: [[UInt8]] { Self.markers }

    /// Whether a binary holds a key marker: from the read-ahead pass when it searched the file,
    /// else by streaming it.
    static func holdsMarker(_ file: FileEntry, in context: CheckContext) -> Bool {
        func marked(_ has: [Bool]) -> Bool { (has[0] && has[2]) || has[1] }
        if let known = context.markerSearch(of: file)?.holds(markers) { return marked(known) }
        var has = [false, false, false]
        context.stream(file, overlap: 32) { piece, _ in
            has = ByteScan.present(markers, in: piece, skipping: has)
            return !marked(has)
        }
        return marked(has)
    }

    /// Every file, binaries included: a whole-image pass (the read-ahead pass searches the binaries).
    public var costHint: Int { paths.contains(where: \.selectsEverything) ? Engine.wholeTreeCost : 1 }

    public func run(in context: CheckContext) async throws -> [Observation] {
        var found: [Observation] = []
        let selected = context.files(matching: paths, excluding: exclude)
        // Looked up once for the whole selection: the pass's text results, and the files whose
        // names make them DER, PKCS#12 or Dropbear key candidates.
        let analysed = context.analysis(Self.textAnalysis.id)
        let named = Set(context.filePositions(matching: keyNames))
        for (file, position) in zip(selected, selected.indexPositions) where file.size > 0 {
            found += observations(in: file, named: named.contains(position), analysed: analysed, context: context)
        }
        return found
    }

    /// What the content scan finds in a text file: its keys, or (a text starting with `0`,
    /// the DER SEQUENCE byte) a file whose name may still make it a DER or PKCS#12 key.
    enum TextScan: Sendable {
        case keys([Found])
        case byName
    }

    /// Text files are scanned by the read-ahead pass while it holds them (an image's text is far
    /// larger than the content cache); binaries by their markers, as below.
    static let textAnalysis = ContentAnalysis(id: "secrets.private-key:text", binaries: false, nothing: TextScan.keys([]),
                                              isNothing: { if case .keys(let found) = $0 { found.isEmpty } else { false } }) { bytes in
        bytes.first == 0x30 ? .byName : .keys(scan(bytes))
    }

    public func contentInterests(in context: CheckContext) -> ContentInterests {
        guard context.kind == .firmware, let entries = context.tree?.index.entries else { return ContentInterests() }
        return ContentInterests(Self.textAnalysis, positions: context.filePositions(matching: paths, excluding: exclude).filter { entries[$0].size > 0 })
    }

    private func observations(in file: FileEntry, named: Bool, analysed: (FileEntry) -> (any Sendable)?, context: CheckContext) -> [Observation] {
        if case .keys(let found)? = analysed(file) as? TextScan {
            return report(found, in: file)
        }
        // Text files come from the shared cache. A binary is searched in pieces for a marker
        // and read whole only when it holds one (or its name says it is a DER/Dropbear key).
        let content: FileContent
        if let text = context.readUnlessBinary(file) {
            content = text
        } else {
            let marked = Self.holdsMarker(file, in: context)
            // A small binary shaped like a DER private key, whatever its name.
            let shaped = !marked && !named && file.size <= 16 << 10
                && Self.derShaped(context.head(of: file) ?? Self.head(of: file, in: context))
            guard marked || named || shaped, let whole = context.read(file) else { return [] }
            content = whole
        }
        var found = Self.scan(content.bytes)
        // Name-based formats: decided per file, only for files with nothing found by content.
        if found.isEmpty, content.bytes.first == 0x30, derNames.contains(where: { $0.matches(file.path) }) || Self.derShaped(content.bytes),
           let key = Self.derKey(content.bytes) { found.append(key) }
        if found.isEmpty, content.bytes.first == 0x30, pkcs12Names.contains(where: { $0.matches(file.path) }),
           let key = Self.pkcs12Key(content.bytes) { found.append(key) }
        if found.isEmpty, content.bytes.first == 0, dropbearNames.contains(where: { $0.matches(file.path) }),
           let type = Self.dropbearKeyType(content.bytes) {
            found.append(Found(kind: "Dropbear \(type) host key", encrypted: false, line: 1,
                               identity: Digest.sha256Hex(content.bytes)))
        }
        return report(found, in: file)
    }

    private func report(_ found: [Found], in file: FileEntry) -> [Observation] {
        guard !found.isEmpty else { return [] }
        var observations: [Observation] = []
        let name = file.path.split(separator: "/").last ?? ""
        let library = name.hasPrefix("lib") && name.contains(".so")
        for key in found {
            let testVector = knownTestKeys.contains(key.identity)
            if testVector && library { continue }
            observations.append(Observation(
                severity: key.encrypted ? .low : nil,
                message: (key.encrypted ? "an encrypted \(key.kind) is stored in \(file.path) (its passphrase may ship too)"
                                        : "an unencrypted \(key.kind) is stored in \(file.path)")
                    + (testVector ? ": a published test key, known to everyone" : ""),
                location: Location(path: file.path, line: key.line),
                evidence: Evidence(key: "private-key:" + key.identity, facts: ["kind": key.kind, "encrypted": String(key.encrypted),
                                                                               "publicKeySHA256": key.identity])))
        }
        return observations
    }

    /// Every PEM, OpenSSH and PuTTY private key in `bytes`, confirmed.
    static func scan(_ bytes: [UInt8]) -> [Found] {
        var found: [Found] = []
        var from = 0
        // The marker offsets by memchr (label strings are rare; certificates are skipped by label).
        let candidates = Self.candidates(in: bytes)
        guard !candidates.isEmpty else { return [] }
        for start in candidates where found.count < 32 {
            guard bytes[start] == UInt8(ascii: "-"), start >= from else { continue }
            from = start + begin.count
            // The label: up to "-----" on the same line.
            let lineEnd = bytes[from...].prefix(80).firstIndex(of: 10) ?? min(bytes.count, from + 80)
            guard let labelEnd = ByteSearch.firstIndex(of: dashes, in: bytes, range: from..<lineEnd) else { continue }
            let label = String(decoding: bytes[from..<labelEnd], as: UTF8.self)
            guard label.hasSuffix("PRIVATE KEY") else { continue }
            let endMarker = Array("-----END \(label)-----".utf8)
            guard let endStart = ByteSearch.firstIndex(of: endMarker, in: bytes, range: labelEnd..<min(bytes.count, labelEnd + (1 << 16))) else { continue }
            let end = endStart + endMarker.count
            let block = Array(bytes[start..<end])
            // The line is counted only for a confirmed key: a crypto library holds many label
            // strings, and counting lines is a pass over the whole file.
            if var key = confirm(block, label: label, line: 0) {
                key.line = lineNumber(bytes, at: start)
                found.append(key)
            }
            from = end
        }
        if let start = candidates.first(where: { bytes[$0] == UInt8(ascii: "P") }) {
            let text = String(decoding: bytes[start..<min(bytes.count, start + 4096)], as: UTF8.self)
            if let encryption = text.splitLines(omittingEmpty: true).first(where: { $0.hasPrefix("Encryption:") }),
               text.contains("Private-Lines:") || text.contains("Private-MAC:") {
                let type = text.splitLines(omittingEmpty: true).first.map { $0.split(separator: ":").dropFirst().joined(separator: ":").trimmingWhitespace() } ?? ""
                let line = lineNumber(bytes, at: start)
                found.append(Found(kind: "PuTTY \(type) key", encrypted: !encryption.contains("none"), line: line,
                                   identity: Digest.sha256Hex(Array(text.utf8))))
            }
        }
        return found
    }

    /// A PEM block that is a real key, or nil (a label string, a truncated or fake block).
    static func confirm(_ block: [UInt8], label: String, line: Int) -> Found? {
        let text = String(decoding: block, as: UTF8.self)
        var body = ""
        for line in text.splitLines(omittingEmpty: true) {
            let trimmed = line.trimmingWhitespace()
            if trimmed.isEmpty || trimmed.hasPrefix("-----") || trimmed.contains(":") { continue }
            body += trimmed
        }
        switch label {
        case "OPENSSH PRIVATE KEY":
            guard let decoded = Base64.decode(body), decoded.starts(with: Array("openssh-key-v1\u{0}".utf8)) else { return nil }
            // After the magic: string ciphername.
            let at = 15
            guard decoded.count > at + 4 else { return nil }
            let length = Int(decoded[at]) << 24 | Int(decoded[at + 1]) << 16 | Int(decoded[at + 2]) << 8 | Int(decoded[at + 3])
            guard length > 0, length < 64, decoded.count >= at + 4 + length else { return nil }
            let cipher = String(decoding: decoded[(at + 4)..<(at + 4 + length)], as: UTF8.self)
            return Found(kind: "OpenSSH private key", encrypted: cipher != "none", line: line, identity: Digest.sha256Hex(decoded))
        case "ENCRYPTED PRIVATE KEY":
            guard let decoded = Base64.decode(body), decoded.count > 64, decoded.first == 0x30 else { return nil }
            return Found(kind: "PKCS#8 private key", encrypted: true, line: line, identity: Digest.sha256Hex(decoded))
        default:
            if text.contains("Proc-Type: 4,ENCRYPTED") {
                guard text.contains("DEK-Info:"), let decoded = Base64.decode(body), decoded.count > 64 else { return nil }
                let algorithm = label == "PRIVATE KEY" ? "PEM" : String(label.dropLast(" PRIVATE KEY".count))
                return Found(kind: algorithm + " private key", encrypted: true, line: line, identity: Digest.sha256Hex(decoded))
            }
            guard let identity = Key.privateKeys(in: block).first?.spkiSHA256 else { return nil }
            let kind = label == "PRIVATE KEY" ? "PKCS#8 private key" : String(label.dropLast(" PRIVATE KEY".count)) + " private key"
            return Found(kind: kind, encrypted: false, line: line, identity: identity)
        }
    }

    /// A PKCS#12 bundle (`.p12`, `.pfx`) holding a private key: opened with an empty password
    /// (and none) as OpenSSL's own tools do; one that needs a real password is reported
    /// encrypted (its password may ship in the image too), identified by its digest.
    static func pkcs12Key(_ bytes: [UInt8]) -> Found? {
        guard bytes.first == 0x30, bytes.count < 1 << 20 else { return nil }
        switch PKCS12.open(bytes) {
        case nil, .certificatesOnly:
            return nil
        case .privateKey(let key):
            return Found(kind: "PKCS#12 private key", encrypted: false, line: 1, identity: key.spkiSHA256)
        case .passwordProtected:
            return Found(kind: "PKCS#12 bundle (password-protected)", encrypted: true, line: 1, identity: Digest.sha256Hex(bytes))
        }
    }

    /// The ASN.1 start of a DER private key: a SEQUENCE whose first element is INTEGER 0
    /// (PKCS#1 RSA/DSA, PKCS#8) or INTEGER 1 (SEC1 EC).
    static func derShaped(_ head: [UInt8]) -> Bool {
        guard head.count >= 8, head[0] == 0x30 else { return false }
        var at = 1
        switch head[1] {
        case 0x81: at = 3
        case 0x82: at = 4
        case 0x01...0x7f: at = 2
        default: return false
        }
        guard at + 3 <= head.count else { return false }
        return head[at] == 0x02 && head[at + 1] == 0x01 && (head[at + 2] == 0x00 || head[at + 2] == 0x01)
    }

    /// The first 16 bytes of a file (when the read-ahead pass did not record them).
    static func head(of file: FileEntry, in context: CheckContext) -> [UInt8] {
        guard file.size > 0, file.size <= 16 << 10 else { return [] }
        var head: [UInt8] = []
        context.stream(file, chunk: 16, overlap: 0) { piece, _ in
            head = Array(piece)
            return false
        }
        return head
    }

    static func derKey(_ bytes: [UInt8]) -> Found? {
        guard bytes.first == 0x30, bytes.count < 1 << 16 else { return nil }
        return Key.privateKeys(in: bytes).first.map { Found(kind: "DER private key", encrypted: false, line: 1, identity: $0.spkiSHA256) }
    }

    /// Dropbear's own key format starts with the length-prefixed key type.
    static func dropbearKeyType(_ bytes: [UInt8]) -> String? {
        guard bytes.count > 8 else { return nil }
        let length = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
        guard length > 0, length < 32, bytes.count > 4 + length else { return nil }
        let name = String(decoding: bytes[4..<(4 + length)], as: UTF8.self)
        return name.hasPrefix("ssh-") || name.hasPrefix("ecdsa-sha2-") ? name : nil
    }
}
