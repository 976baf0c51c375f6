import RBCore

/// `update.verification`: firmware update handlers verify a signature before they write flash
/// (RB-PKG-001). Handlers are the programs whose names say upgrade, fwup, firmware, flash, ota or
/// fw/sys-update, and any script that writes flash (`mtd write`, `flashcp`,
/// `flash_erase`, `nandwrite`, `dd … of=/dev/mtd*`, `ubiupdatevol`, `sysupgrade`).
/// - A script passes when a signature check (`openssl dgst|pkeyutl|rsautl|smime|cms … -verify`,
///   `gpgv`, `gpg --verify`, `usign -V`, `signify -V`, `ucert -V`, `rauc install`, `swupdate … -k`)
///   comes before its first flash write, in it or in a script it sources before that line. It
///   fails at the write's line otherwise; a checksum only (`md5sum`, `sha*sum`, `crc`) is named
///   in the message, since a checksum proves nothing against an attacker.
/// - An ELF updater passes (with evidence) when it imports a signature verification function and
///   embeds a public key; otherwise it is left for review, never failed (its logic cannot be
///   read statically).
public struct UpdateHandlerCheck: Check {
    public struct Options: Decodable, Sendable {
        var paths: [String]?
    }

    public static let id = "update.verification"
    public static let summary = "Checks that firmware update handlers verify a signature before writing flash."
    public static let targetKinds: Set<TargetKind> = [.firmware]

    /// Program names that say firmware update (narrower than "update": `update-alternatives`
    /// and `update-rc.d` are not updaters).
    static let handlerName = try? Regex(#"(?i)upgrade|fwup|firmware|flash|(^|[-_.])ota([-_.]|$)|(fw|sys|ota|firm)[-_]?update|update[-_]?(fw|firm)"#)
    static let flashWrite = try? Regex(#"(^|[\s;|&(`])(mtd\s+(-\w+\s+)*write|flashcp|flash_erase|nandwrite|ubiupdatevol|sysupgrade\s|dd\s[^\n]*\bof=/dev/(mtd|mmcblk|ubi))"#)
    /// A literal every match of `flashWrite` contains (`of=/dev/` by its rarer `=/dev/`): a
    /// file holding none cannot match, and one scan of its bytes for all of them (two-byte
    /// bitmap, `LiteralSet`) rules most text out. A regex of the same alternation ran at a
    /// third of the speed: its possible first bytes (m, f, n, u, s, o) start most words.
    static let flashWriteHints = LiteralSet(["mtd", "flashcp", "flash_erase", "nandwrite", "ubiupdatevol", "sysupgrade", "=/dev/"])
    /// The first flash write in a script's bytes (the hints rule most text out first).
    static func firstFlashWrite(in bytes: [UInt8]) -> Regex.Match? {
        guard !flashWriteHints.occurrences(in: bytes, limit: 1).isEmpty else { return nil }
        return flashWrite?.matches(in: bytes, limit: 1).first
    }
    static let verification = try? Regex(#"(^|[\s;|&(`])(openssl\s+(dgst|pkeyutl|rsautl|smime|cms)\b[^\n]*\s-verify|gpgv\b|gpg\s[^\n]*--verify|usign\s[^\n]*-V\b|signify\s[^\n]*-V\b|ucert\s[^\n]*-V\b|rauc\s+install\b|swupdate\s[^\n]*\s-k\s)"#)
    static let checksum = try? Regex(#"\b(md5sum|sha1sum|sha256sum|sha512sum|crc32|cksum)\b"#)
    static let source = try? Regex(#"(^|[\s;])(\.|source)\s+(/[^\s;]+)"#)
    static let verifyImports = ["RSA_verify", "EVP_DigestVerifyFinal", "EVP_DigestVerify", "EVP_VerifyFinal", "ECDSA_verify",
                                "mbedtls_pk_verify", "wc_RsaSSL_Verify", "ed25519_verify"].map { Array($0.utf8) }
    static let publicKeyMarkers = ["-----BEGIN PUBLIC KEY-----", "-----BEGIN RSA PUBLIC KEY-----", "untrusted comment:"].map { Array($0.utf8) }

    /// Where update scripts and programs live.
    static let defaultPaths = ["{bin,sbin,usr/bin,usr/sbin,usr/local/bin,usr/local/sbin,opt,mnt,app,home}/**",
                               "etc/init.d/**", "etc/rc.d/**", "lib/upgrade/**", "usr/lib/upgrade/**", "**/cgi-bin/**", "www/**"]

    let paths: [Glob]

    public init(options: Options) throws(CheckOptionError) {
        paths = try PathPatterns.compile(options.paths ?? Self.defaultPaths, key: "paths")
    }

    /// Whether a text file writes flash at all, worked out by the read-ahead pass while it holds
    /// each file (most scripts do not, and an image's text is larger than the content cache).
    static let writesFlashAnalysis = ContentAnalysis(id: "update.verification:writes-flash", binaries: false, nothing: false,
                                                     isNothing: { !$0 }) { firstFlashWrite(in: $0) != nil }

    public func contentInterests(in context: CheckContext) -> ContentInterests {
        guard let entries = context.tree?.index.entries else { return ContentInterests() }
        return ContentInterests(Self.writesFlashAnalysis, positions: context.filePositions(matching: paths)
            .filter { entries[$0].size > 0 && entries[$0].size < 64 << 20 })
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        var observations: [Observation] = []
        let writesFlash = context.analysis(Self.writesFlashAnalysis.id)
        for file in context.files(matching: paths) where file.size > 0 && file.size < 64 << 20 {
            // A text file the pass saw write no flash needs no second read.
            if writesFlash(file) as? Bool == false { continue }
            let named = Self.handlerName?.hasMatch(in: Array(file.name.utf8)) ?? false
            if let content = context.readUnlessBinary(file) {
                guard let write = Self.firstFlashWrite(in: content.bytes) else { continue }
                let lines = LineIndex(content.bytes)
                let writeLine = lines.line(atOffset: write.range.lowerBound + (content.bytes[write.range.lowerBound] == 10 ? 1 : 0))
                if verifies(content.bytes, before: write.range.lowerBound, in: context, depth: 0) { continue }
                let text = lines.text(ofLine: writeLine, in: content.bytes)
                let checksumOnly = Self.checksum?.hasMatch(in: Array(content.bytes[..<write.range.lowerBound])) ?? false
                observations.append(Observation(
                    message: "\(file.path) writes flash without verifying a signature first"
                        + (checksumOnly ? " (only a checksum, which anyone can recompute)" : "") + ": \(Snippet.make(text))",
                    location: Location(path: file.path, line: writeLine),
                    evidence: Evidence(key: "unverified-update:" + file.name, snippet: Snippet.make(text),
                                       facts: ["checksumOnly": String(checksumOnly)])))
            } else if named, let content = context.read(file), content.bytes.starts(with: [0x7f, 0x45, 0x4c, 0x46]) {
                let imports = Self.verifyImports.filter { ByteSearch.firstIndex(of: $0, in: content.bytes) != nil }
                let key = Self.publicKeyMarkers.contains { ByteSearch.firstIndex(of: $0, in: content.bytes) != nil }
                if !imports.isEmpty && key { continue }
                observations.append(Observation(status: .review,
                    message: "\(file.path) looks like an update program; "
                        + (imports.isEmpty ? "it imports no signature verification function" : "it embeds no public key")
                        + ": check by hand that it verifies a signature before writing flash",
                    location: Location(path: file.path),
                    evidence: Evidence(key: "updater-elf:" + file.name,
                                       facts: ["verifyImports": imports.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " "),
                                               "embeddedPublicKey": String(key)])))
            }
        }
        return observations
    }

    /// Whether a signature check appears in `bytes` before `offset`, directly or in a script
    /// sourced before it (followed two levels).
    func verifies(_ bytes: [UInt8], before offset: Int, in context: CheckContext, depth: Int) -> Bool {
        let head = Array(bytes[..<offset])
        if Self.verification?.hasMatch(in: head) ?? false { return true }
        guard depth < 2, let tree = context.tree else { return false }
        for match in Self.source?.matches(in: head, limit: 16) ?? [] {
            guard match.groups.count >= 3, let range = match.groups[2] else { continue }
            let path = String(String(decoding: head[range], as: UTF8.self).drop { $0 == "/" })
            guard let entry = tree.resolve(path), entry.type == .file, let sourced = context.readUnlessBinary(entry) else { continue }
            if verifies(sourced.bytes, before: sourced.bytes.count, in: context, depth: depth + 1) { return true }
        }
        return false
    }
}
