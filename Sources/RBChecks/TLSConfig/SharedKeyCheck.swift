import RBCore
import RBCrypto

/// `tls.shared-key`: keys every unit of a firmware shares. A private key in the image whose
/// public key is that of a certificate in the image (the key behind the device's TLS identity)
/// fails, as does an SSH host private key shipped in the image (OpenSSH or Dropbear): whoever
/// extracts the image can impersonate, or decrypt the traffic of, every device running it.
public struct SharedKeyCheck: Check {
    public struct Options: Decodable, Sendable {
        var paths: [String]?
        var exclude: [String]?
        var keyPaths: [String]?
        var hostKeyPaths: [String]?
    }

    public static let id = "tls.shared-key"
    public static let summary = "Finds private keys of the image's certificates and SSH host keys shipped in the image."
    public static let targetKinds: Set<TargetKind> = [.firmware]

    let certificates: CertificateFiles
    let keyPaths: [Glob]
    let hostKeyPaths: [Glob]
    let exclude: [Glob]

    public init(options: Options) throws(CheckOptionError) {
        certificates = try CertificateFiles(paths: options.paths, exclude: options.exclude)
        keyPaths = try PathPatterns.compile(options.keyPaths ?? ["**/*.{pem,key,crt,cer,der,p8,pk8,pkcs8}", "**/*key*", "**/private/**"],
                                            key: "keyPaths")
        hostKeyPaths = try PathPatterns.compile(options.hostKeyPaths ?? ["**/ssh_host_*_key", "**/dropbear_*_host_key",
                                                                         "**/dropbear/*host_key*"],
                                                key: "hostKeyPaths")
        exclude = try PathPatterns.compile(options.exclude ?? ["proc/**", "sys/**", "usr/share/doc/**"], key: "exclude")
    }

    /// The server configs that name certificates are searched in the read-ahead pass.
    public func contentInterests(in context: CheckContext) -> ContentInterests {
        ServerConfigReferences.interests(in: context)
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        var observations: [Observation] = []
        // The image's certificates by public key.
        var subjects: [String: (path: String, subject: String)] = [:]
        for (path, leaf) in certificates.leaves(in: context) where !leaf.publicKeySHA256.isEmpty {
            subjects[leaf.publicKeySHA256] = subjects[leaf.publicKeySHA256] ?? (path, leaf.subject)
        }
        if !subjects.isEmpty {
            for file in context.files(matching: keyPaths, excluding: exclude) where file.size < 1 << 20 {
                guard let content = context.read(file), content.bytes.count < 1 << 20 else { continue }
                for key in Set(Key.privateKeys(in: content.bytes).map(\.spkiSHA256)) {
                    guard let certificate = subjects[key] else { continue }
                    observations.append(Observation(
                        message: "the private key of certificate \(certificate.subject) (\(certificate.path)) ships in the image: every unit shares it",
                        location: Location(path: file.path),
                        evidence: Evidence(key: "tls-key:" + key, facts: ["certificate": certificate.path, "subject": certificate.subject,
                                                                          "spkiSHA256": key])))
                }
            }
        }
        for file in context.files(matching: hostKeyPaths, excluding: exclude) where file.size > 0 && file.size < 1 << 16 {
            guard let content = context.read(file) else { continue }
            let text = String(decoding: content.bytes.prefix(64), as: UTF8.self)
            // OpenSSH and PEM host keys announce themselves; Dropbear's own format starts with
            // the length-prefixed key type ("ssh-rsa", "ssh-ed25519", "ecdsa-sha2-…").
            let openssh = text.contains("PRIVATE KEY-----")
            let bytes = content.bytes
            let nameLength = bytes.count > 8 ? Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3]) : 0
            let name = nameLength > 0 && nameLength < 32 && bytes.count > 4 + nameLength
                ? String(decoding: bytes[4..<(4 + nameLength)], as: UTF8.self) : ""
            let dropbear = name.hasPrefix("ssh-") || name.hasPrefix("ecdsa-sha2-")
            guard openssh || dropbear else { continue }
            observations.append(Observation(
                message: "SSH host private key \(file.path) ships in the image: every unit has the same host identity",
                location: Location(path: file.path),
                evidence: Evidence(key: "ssh-host-key:" + file.path, facts: ["format": openssh ? "PEM/OpenSSH" : "Dropbear"])))
        }
        return observations
    }
}
