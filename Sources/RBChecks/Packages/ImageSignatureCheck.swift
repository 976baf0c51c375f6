import RBCore
import RBCrypto
#if canImport(Glibc)
import Glibc
#endif

/// `image.signature`: a firmware image's own signature verifies with the vendor key
/// (RB-PKG-008). Keys come from `--signing-key` (PEM public key or certificate, repeatable) and
/// the rule's `keys` (PEM text, for a baseline). Images are the scanned image file and the
/// update images inside the tree (`images`) that carry a signature beside them. A detached
/// signature `IMAGE.sig|.sign|.signature|.p7s|.cms` is either CMS/PKCS#7 (detached, verified with
/// OpenSSL and its signer's key compared with the given ones) or a raw signature (binary or
/// base64) over the image's SHA-256: RSA PKCS#1 v1.5 or PSS, ECDSA, or Ed25519 (over the digest,
/// or over an image up to 64 MiB). The scanned image is hashed as a stream, never loaded whole.
/// An invalid signature fails critical; a scanned image without one
/// fails high; without a key the check is not applicable.
public struct ImageSignatureCheck: Check {
    public struct Options: Decodable, Sendable {
        var keys: [String]?
        var images: [String]?
    }

    public static let id = "image.signature"
    public static let summary = "Verifies firmware images' detached signatures (raw RSA/PSS/ECDSA/Ed25519 or CMS) with the vendor key."
    public static let targetKinds: Set<TargetKind> = [.firmware]

    static let suffixes = [".sig", ".sign", ".signature", ".p7s", ".cms"]

    let keyTexts: [String]
    let images: [Glob]

    public init(options: Options) throws(CheckOptionError) {
        keyTexts = options.keys ?? []
        for (i, text) in keyTexts.enumerated() where Key.publicKey(pem: Array(text.utf8)) == nil {
            throw CheckOptionError(key: "keys[\(i)]", "not a PEM public key or certificate")
        }
        images = try PathPatterns.compile(options.images ?? ["**/*.{bin,img,itb,fit,swu,trx,ubi,pkg,dav}"], key: "images")
    }

    /// An image's bytes: in memory (a file of the tree), or a host file hashed as a stream (the
    /// scanned image is never loaded whole).
    enum Content {
        case bytes([UInt8])
        case hostFile(String)

        /// SHA-256 of the content (streamed for a host file).
        func sha256() -> [UInt8]? {
            let digest = Digest(.sha256)
            switch self {
            case .bytes(let bytes):
                digest.update(bytes)
            case .hostFile(let path):
                guard let file = fopen(path, "rb") else { return nil }
                defer { fclose(file) }
                var buffer = [UInt8](repeating: 0, count: 1 << 20)
                while true {
                    let n = fread(&buffer, 1, buffer.count, file)
                    if n > 0 { buffer.withUnsafeBytes { digest.update(UnsafeRawBufferPointer(rebasing: $0[..<n])) } }
                    if n < buffer.count { break }
                }
                guard ferror(file) == 0 else { return nil }
            }
            return digest.finalize()
        }

        /// The content as a FIT image, when it is one.
        var fit: FITImage? {
            switch self {
            case .bytes(let bytes): FITImage(bytes: bytes)
            case .hostFile(let path): FITImage(hostFile: path)
            }
        }

        /// The content whole when it is at most `limit` bytes (Ed25519 over the image itself).
        func whole(limit: Int) -> [UInt8]? {
            switch self {
            case .bytes(let bytes): return bytes.count <= limit ? bytes : nil
            case .hostFile(let path): return try? HostFiles.readBytes(path, limit: limit)
            }
        }

        /// The content as a detached CMS signature covers it (OpenSSL reads a host file itself).
        var cms: CMS.Content {
            switch self {
            case .bytes(let bytes): .bytes(bytes)
            case .hostFile(let path): .file(path)
            }
        }
    }

    /// An image to check: where its bytes and its signature come from.
    struct Subject {
        var name: String
        var location: String
        var data: () -> Content?
        var signature: [UInt8]?
        var signatureName: String?
        var required: Bool
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        var subjects: [Subject] = []
        if let image = context.target.imageFile {
            let signature = Self.suffixes.lazy.compactMap { suffix in
                (try? HostFiles.readBytes(image + suffix, limit: 1 << 20)).map { ($0, image + suffix) }
            }.first
            subjects.append(Subject(name: image, location: ".", data: { .hostFile(image) },
                                    signature: signature?.0, signatureName: signature?.1, required: true))
        }
        if let tree = context.tree {
            for file in context.files(matching: images) {
                var signed = false
                for suffix in Self.suffixes {
                    guard let entry = tree.resolve(file.path + suffix), entry.type == .file, let signature = context.read(entry) else { continue }
                    subjects.append(Subject(name: file.path, location: file.path, data: { context.read(file).map { .bytes($0.bytes) } },
                                            signature: signature.bytes, signatureName: entry.path, required: false))
                    signed = true
                    break
                }
                // A FIT in the tree carries its signatures inside.
                if !signed, let head = try? tree.read(file, limit: 40).bytes, DeviceTree.isBlob(head) {
                    subjects.append(Subject(name: file.path, location: file.path, data: { context.read(file).map { .bytes($0.bytes) } },
                                            signature: nil, signatureName: nil, required: false))
                }
            }
        }
        guard !subjects.isEmpty else { return [] }
        var keys: [Key] = []
        for text in keyTexts { if let key = Key.publicKey(pem: Array(text.utf8)) { keys.append(key) } }
        for path in context.limits.signingKeys {
            guard let bytes = Self.signingKeyPEM(path), let key = Key.publicKey(pem: bytes) else {
                context.report("--signing-key \(path): not a readable PEM public key or certificate", code: "check.signing-key")
                continue
            }
            keys.append(key)
        }
        var observations: [Observation] = []
        guard !keys.isEmpty else {
            // Nothing to verify with: not applicable, said once for the scanned image.
            guard let image = subjects.first(where: \.required) else { return [] }
            return [Observation(status: .notApplicable,
                message: "\(image.name): no --signing-key given, so its signature\(image.signature == nil ? " (none found beside it)" : "") cannot be verified",
                location: Location(path: image.location), evidence: Evidence(key: "no-signing-key"))]
        }
        for subject in subjects {
            guard let signature = subject.signature else {
                if let data = subject.data(), let fit = data.fit, !fit.signatures.isEmpty {
                    observations += Self.verifyFIT(fit, subject: subject, keys: keys)
                    continue
                }
                guard subject.required else { continue }
                observations.append(Observation(message: "\(subject.name) carries no signature (no \(Self.suffixes.map { "IMAGE" + $0 }.joined(separator: ", ")) beside it, no FIT signature node in it)",
                                                location: Location(path: subject.location), evidence: Evidence(key: "unsigned-image")))
                continue
            }
            guard let data = subject.data() else { continue }
            if Self.verify(data: data, signature: signature, keys: keys) != nil { continue }   // verified
            observations.append(Observation(severity: .critical,
                message: "the signature \(subject.signatureName ?? "") does not verify \(subject.name) with the given key(s): the image was modified or signed by someone else",
                location: Location(path: subject.location),
                evidence: Evidence(key: "bad-signature:" + (subject.signatureName ?? ""), facts: ["signature": subject.signatureName ?? ""])))
        }
        return observations
    }

    /// A FIT's signature nodes verified with `keys`: an invalid one fails critical (the image
    /// was changed after signing, or signed with another key); nodes whose algorithm or data
    /// cannot be checked are review results; all verifying passes.
    static func verifyFIT(_ fit: FITImage, subject: Subject, keys: [Key]) -> [Observation] {
        var observations: [Observation] = []
        for mismatch in fit.hashMismatches {
            observations.append(Observation(severity: .critical,
                message: "\(subject.name): the data of /\(mismatch.path.split(separator: "/").dropLast().joined(separator: "/")) differs from its \(mismatch.algo) hash \(mismatch.path): changed after the FIT was made",
                location: Location(path: subject.location),
                evidence: Evidence(key: "fit-hash-mismatch:" + mismatch.path, facts: ["node": mismatch.path, "algo": mismatch.algo])))
        }
        for node in fit.signatures {
            switch FITImage.verify(node, keys: keys) {
            case .verified:
                continue
            case .invalid:
                observations.append(Observation(severity: .critical,
                    message: "\(subject.name): FIT signature \(node.path) (\(node.algo)) does not verify with the given key(s): the \(node.scope.rawValue) was modified after signing or signed by someone else",
                    location: Location(path: subject.location),
                    evidence: Evidence(key: "bad-fit-signature:" + node.path, facts: ["node": node.path, "algo": node.algo, "key-name-hint": node.keyName ?? ""])))
            case .unsupported(let reason):
                observations.append(Observation(status: .review,
                    message: "\(subject.name): FIT signature \(node.path) cannot be checked: \(reason)",
                    location: Location(path: subject.location), evidence: Evidence(key: "unchecked-fit-signature:" + node.path)))
            }
        }
        return observations
    }

    /// A `--signing-key` value's PEM: a file path, or the PEM text itself (rule examples).
    static func signingKeyPEM(_ value: String) -> [UInt8]? {
        value.hasPrefix("-----BEGIN") ? Array(value.utf8) : try? HostFiles.readBytes(value, limit: 1 << 20)
    }

    /// How the signature verified (`CMS`, `RSA PKCS#1`, …), or nil.
    static func verify(data: Content, signature: [UInt8], keys: [Key]) -> String? {
        if CMS.verifiesDetached(signature, content: data.cms, keys: keys) { return "CMS" }
        guard let digest = data.sha256() else { return nil }
        var candidates = [signature]
        if let decoded = Base64.decode(signature, .ignoringWhitespace), !decoded.isEmpty { candidates.append(decoded) }
        for raw in candidates {
            for key in keys {
                switch key.kind {
                case .rsa:
                    if key.verifies(raw, digest: digest, algorithm: .sha256, padding: .pkcs1) { return "RSA PKCS#1 v1.5" }
                    if key.verifies(raw, digest: digest, algorithm: .sha256, padding: .pss) { return "RSA-PSS" }
                case .ec:
                    if key.verifies(raw, digest: digest, algorithm: .sha256) { return "ECDSA" }
                case .ed25519:
                    if key.verifies(raw, message: digest, digest: nil) { return "Ed25519 over SHA-256" }
                    if let whole = data.whole(limit: 64 << 20), key.verifies(raw, message: whole, digest: nil) { return "Ed25519" }
                default:
                    continue
                }
            }
        }
        return nil
    }
}
