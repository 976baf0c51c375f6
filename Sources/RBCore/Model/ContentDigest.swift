import RBCrypto

/// A file digest a check can ask the read-ahead pass for (package manifests list MD5 or SHA-256),
/// computed by RBCrypto's `Digest`.
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

    /// The digest that computes it.
    public var algorithm: Digest.Algorithm {
        switch self {
        case .md5: .md5
        case .sha1: .sha1
        case .sha256: .sha256
        }
    }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
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
