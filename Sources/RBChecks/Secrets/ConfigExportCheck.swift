import RBCore
import RBCrypto
#if canImport(Glibc)
import Glibc
#endif

/// `secrets.config-export`: encrypted configuration files that a key shipped in every unit
/// opens (RB-SEN-007). Candidate exports are the high-entropy files with configuration names
/// (an image's encrypted factory configuration, or a supplied export scanned as a config
/// target). Candidate keys are
/// - in a firmware image: the 16/24/32-character strings and 32/48/64-digit hex strings of the
///   programs that import an AES implementation (OpenSSL, mbedTLS, wolfSSL, or their own
///   `aes_*`), and
/// - the device profile's `exportKeys` (publicly known vendor keys).
/// Each key is tried with AES-ECB and AES-CBC (zero IV), then with each profile XOR mask; an
/// output that starts like a configuration (XML, JSON, INI, gzip, tar, ZIP, or mostly text) means
/// anyone holding the firmware can read every exported configuration, user table included.
/// Evidence names the key's source and a digest of the key, never the key.
public struct ConfigExportCheck: Check {
    public struct Options: Decodable, Sendable {
        /// Candidate export files (encrypted configurations).
        var paths: [String]?
        /// Programs searched for keys (those importing AES only).
        var programs: [String]?
    }

    public static let id = "secrets.config-export"
    public static let summary = "Tries the firmware's embedded AES keys and known vendor keys on encrypted configuration files."
    public static let targetKinds: Set<TargetKind> = [.firmware, .config]

    let paths: [Glob]
    let programs: [Glob]

    /// Looks into every file named like a config export.
    public var costHint: Int { 10 }

    public init(options: Options) throws(CheckOptionError) {
        paths = try PathPatterns.compile(options.paths ?? ["**/*{config,Config,CONFIG,cfg,conf,backup,param,setting,Setting}*",
                                                           "**/*.{bin,dat,enc,cfg}"], key: "paths")
        programs = try PathPatterns.compile(options.programs ?? ["{bin,sbin,usr/bin,usr/sbin,usr/local/bin,opt,mnt,app,home}/**",
                                                                 "{lib,usr/lib}/**/*.so*"], key: "programs")
    }

    /// A key to try, and where it came from.
    struct Candidate: Hashable {
        var key: [UInt8]
        var source: String
        var xor: [UInt8] = []
    }

    static let aesMarkers = ["AES_set_decrypt_key", "EVP_aes_", "mbedtls_aes_setkey_dec", "wc_AesSetKey", "aes_decrypt", "AES_decrypt",
                             "aes_setkey_dec"].map { Array($0.utf8) }

    /// Whether a file looks encrypted (`looksEncrypted`, which reads its first 4 KiB), worked out
    /// by the read-ahead pass while it holds each file: the others are not read again.
    static let encryptedAnalysis = ContentAnalysis(id: "secrets.config-export:looks-encrypted", binaries: true, nothing: false,
                                                   isNothing: { !$0 }) { looksEncrypted($0) }

    public func contentInterests(in context: CheckContext) -> ContentInterests {
        guard context.kind == .firmware, let entries = context.tree?.index.entries else { return ContentInterests() }
        return ContentInterests(Self.encryptedAnalysis, positions: context.filePositions(matching: paths)
            .filter { entries[$0].size >= 32 && entries[$0].size <= 4 << 20 })
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        // The selection as a view (a filtered copy of a 100,000-file selection was 6 MB).
        let exports = context.files(matching: paths)
        guard !exports.isEmpty else { return [] }
        var encrypted: [(FileEntry, [UInt8])] = []
        let looksEncrypted = context.analysis(Self.encryptedAnalysis.id)
        for file in exports where file.size >= 32 && file.size <= 4 << 20 {
            if looksEncrypted(file) as? Bool == false { continue }
            // Text comes from the shared cache; only binaries are read here.
            guard let content = context.readUnlessBinary(file) ?? context.read(file), Self.looksEncrypted(content.bytes) else { continue }
            encrypted.append((file, content.bytes))
        }
        guard !encrypted.isEmpty else { return [] }
        var candidates: [Candidate] = []
        for key in context.target.profile?.exportKeys ?? [] {
            guard let aes = Hex.decode(key.aes), [16, 24, 32].contains(aes.count) else { continue }
            candidates.append(Candidate(key: aes, source: key.name.map { "profile key \($0)" } ?? "profile key",
                                        xor: key.xor.flatMap(Hex.decode) ?? []))
        }
        if context.kind == .firmware { candidates += firmwareKeys(in: context) }
        var observations: [Observation] = []
        for (file, bytes) in encrypted {
            for candidate in candidates {
                guard let (mode, kind) = Self.opens(bytes, with: candidate) else { continue }
                // Named by where the key was found; a digest of the key only under the user's key.
                var facts = ["keySource": candidate.source, "mode": mode, "content": kind]
                let identity = context.limits.secrets.identity(Hex.encode(candidate.key))
                if let identity { facts["keyHMAC"] = identity }
                observations.append(Observation(
                    message: "\(file.path) decrypts to \(kind) with a key every unit carries (\(candidate.source), AES-\(candidate.key.count * 8)-\(mode)\(candidate.xor.isEmpty ? "" : " + XOR mask"))",
                    location: Location(path: file.path),
                    evidence: Evidence(key: "export-key:" + (identity ?? candidate.source + ":" + mode), facts: facts)))
                break
            }
        }
        return observations
    }

    /// Candidate keys from the programs that import AES.
    func firmwareKeys(in context: CheckContext) -> [Candidate] {
        var candidates: [Candidate] = []
        var seen = Set<[UInt8]>()
        for file in context.files(matching: programs) where file.size > 64 && file.size <= 64 << 20 && candidates.count < 4000 {
            guard context.readUnlessBinary(file) == nil, let content = context.read(file) else { continue }
            let bytes = content.bytes
            guard bytes.starts(with: [0x7f, 0x45, 0x4c, 0x46]),
                  Self.aesMarkers.contains(where: { ByteSearch.firstIndex(of: $0, in: bytes) != nil }) else { continue }
            for string in Self.strings(in: bytes) where candidates.count < 4000 {
                var key: [UInt8]?
                if [16, 24, 32].contains(string.count) { key = string }
                if [32, 48, 64].contains(string.count), let decoded = Hex.decode(String(decoding: string, as: UTF8.self)) {
                    if seen.insert(decoded).inserted { candidates.append(Candidate(key: decoded, source: "hex string in \(file.path)")) }
                }
                if let key, seen.insert(key).inserted { candidates.append(Candidate(key: key, source: "string in \(file.path)")) }
            }
        }
        return candidates
    }

    /// NUL-terminated printable strings (no spaces) of 16 to 64 bytes: key-shaped literals.
    static func strings(in bytes: [UInt8]) -> [[UInt8]] {
        var result: [[UInt8]] = []
        var start = -1
        for (i, byte) in bytes.enumerated() {
            let printable = byte > 0x20 && byte < 0x7f
            if printable {
                if start < 0 { start = i }
                continue
            }
            if start >= 0, byte == 0, (16...64).contains(i - start), start > 0, bytes[start - 1] == 0 {
                result.append(Array(bytes[start..<i]))
            }
            start = -1
        }
        return result
    }

    /// Whether `bytes` look like ciphertext: no config magic, mostly non-text, high entropy.
    static func looksEncrypted(_ bytes: [UInt8]) -> Bool {
        guard bytes.count % 16 == 0 || bytes.count > 256, kind(of: Array(bytes.prefix(512))) == nil,
              !compressedMagics.contains(where: { bytes.starts(with: $0) }) else { return false }
        var counts = [Int](repeating: 0, count: 256)
        let sample = bytes.prefix(4096)
        for byte in sample { counts[Int(byte)] += 1 }
        var entropy = 0.0
        for count in counts where count > 0 {
            let p = Double(count) / Double(sample.count)
            entropy -= p * log2(p)
        }
        return entropy > (sample.count >= 1024 ? 7.0 : 4.5)
    }

    /// Compressed or container formats: high entropy, but not ciphertext.
    static let compressedMagics: [[UInt8]] = [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], Array("BZh".utf8), [0x28, 0xb5, 0x2f, 0xfd],
                                              [0x5d, 0x00, 0x00], Array("hsqs".utf8), Array("sqsh".utf8), [0x89, 0x50, 0x4e, 0x47],
                                              [0xff, 0xd8, 0xff], Array("GIF8".utf8), Array("RIFF".utf8), Array("OggS".utf8),
                                              Array("ID3".utf8), [0x00, 0x00, 0x00], Array("\u{7f}ELF".utf8), Array("SQLite".utf8),
                                              Array("070701".utf8), [0x27, 0x05, 0x19, 0x56], [0xd0, 0x0d, 0xfe, 0xed], Array("LZIP".utf8)]

    /// What a decrypted start looks like, if it looks like a configuration.
    static func kind(of block: [UInt8]) -> String? {
        let start = Array(block.prefix(64))
        let text = String(decoding: start.prefix(16), as: UTF8.self)
        if text.hasPrefix("<?xml") || text.hasPrefix("<") && start.count > 1 && (start[1] >= 0x41) { return "XML" }
        if start.starts(with: [0x1f, 0x8b]) { return "gzip data" }
        if start.starts(with: Array("PK\u{3}\u{4}".utf8)) { return "a ZIP archive" }
        if block.count >= 262, Array(block[257..<262]) == Array("ustar".utf8) { return "a tar archive" }
        let printable = start.filter { ($0 >= 0x20 && $0 < 0x7f) || $0 == 9 || $0 == 10 || $0 == 13 }.count
        guard start.count >= 32, printable * 100 >= start.count * 95 else { return nil }
        if text.hasPrefix("{") || text.hasPrefix("[") { return text.hasPrefix("[") && text.contains("]") && !text.contains("\"") ? "INI text" : "JSON" }
        return "text"
    }

    /// Tries `candidate` on the first 64 bytes: the mode and content kind when it opens them.
    static func opens(_ bytes: [UInt8], with candidate: Candidate) -> (String, String)? {
        let head = Array(bytes.prefix(512))
        guard head.count >= 32 else { return nil }
        for mode in ["ECB", "CBC"] {
            guard var plain = decrypt(head, key: candidate.key, cbc: mode == "CBC") else { continue }
            if !candidate.xor.isEmpty {
                for i in plain.indices { plain[i] ^= candidate.xor[i % candidate.xor.count] }
            }
            if let kind = kind(of: plain) { return (mode, kind) }
        }
        return nil
    }

    /// The whole 16-byte blocks of `data` decrypted (CBC with a zero IV); nil for less than
    /// one block or a key that is not AES-128/192/256.
    static func decrypt(_ data: [UInt8], key: [UInt8], cbc: Bool) -> [UInt8]? {
        let usable = data.count - data.count % 16
        guard usable >= 16 else { return nil }
        return AES.decrypt(Array(data.prefix(usable)), key: key, mode: cbc ? .cbc(iv: [UInt8](repeating: 0, count: 16)) : .ecb)
    }
}
