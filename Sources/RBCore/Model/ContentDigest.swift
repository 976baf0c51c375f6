import COpenSSL

/// A file digest a check can ask the read-ahead pass for (package manifests list MD5 or SHA-256).
public enum DigestAlgorithm: String, Sendable, Hashable, CaseIterable, Comparable {
    case md5, sha1, sha256

    /// The algorithm whose digests have `length` bytes (16: MD5, 20: SHA-1, 32: SHA-256).
    public init?(digestLength length: Int) {
        switch length {
        case 16: self = .md5
        case 20: self = .sha1
        case 32: self = .sha256
        default: return nil
        }
    }

    var evp: OpaquePointer? {
        switch self {
        case .md5: EVP_md5()
        case .sha1: EVP_sha1()
        case .sha256: EVP_sha256()
        }
    }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// One incremental digest (OpenSSL EVP), fed piece by piece: the one place file digests are
/// computed.
public final class StreamingDigest {
    public let algorithm: DigestAlgorithm
    private let context: OpaquePointer?
    private var failed = false

    public init(_ algorithm: DigestAlgorithm) {
        self.algorithm = algorithm
        context = EVP_MD_CTX_new()
        failed = context == nil || EVP_DigestInit_ex(context, algorithm.evp, nil) != 1
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard !failed, bytes.count > 0 else { return }
        failed = EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) != 1
    }

    public func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The digest; nil if OpenSSL failed at any step.
    public func finish() -> [UInt8]? {
        guard !failed else { return nil }
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var size: UInt32 = 0
        guard EVP_DigestFinal_ex(context, &out, &size) == 1 else { return nil }
        failed = true
        return Array(out.prefix(Int(size)))
    }

    /// The digest of `bytes` in one call.
    public static func of(_ bytes: [UInt8], _ algorithm: DigestAlgorithm) -> [UInt8]? {
        let digest = StreamingDigest(algorithm)
        digest.update(bytes)
        return digest.finish()
    }
}

/// What a check wants the engine's read-ahead pass to compute for it while each file's bytes are
/// in memory (each file is read, for images decompressed, once for all checks).
public struct ContentInterests: Sendable {
    /// Digests wanted per file, by the file's resolved path in the tree.
    public var digests: [String: Set<DigestAlgorithm>]

    public init(digests: [String: Set<DigestAlgorithm>] = [:]) {
        self.digests = digests
    }

    public var isEmpty: Bool { digests.isEmpty }

    public mutating func merge(_ other: ContentInterests) {
        digests.merge(other.digests) { $0.union($1) }
    }
}
