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
    /// Analyses wanted per file: facts worked out from the whole file while the pass holds it
    /// (an executable's ELF hardening facts), kept instead of the bytes.
    public var analyses: [String: [ContentAnalysis]]

    public init(digests: [String: Set<DigestAlgorithm>] = [:], analyses: [String: [ContentAnalysis]] = [:]) {
        self.digests = digests
        self.analyses = analyses
    }

    public var isEmpty: Bool { digests.isEmpty && analyses.isEmpty }

    public mutating func merge(_ other: ContentInterests) {
        digests.merge(other.digests) { $0.union($1) }
        analyses.merge(other.analyses) { mine, theirs in mine + theirs.filter { new in !mine.contains { $0.id == new.id } } }
    }
}

/// Facts a check works out from a file's whole content (`run`, given the bytes once), named by
/// `id`; the read-ahead pass keeps the result for the check (`CheckContext.analysis`), so the
/// file is not read, or decompressed from an image, a second time. The pass runs analyses on
/// binary files (and text files too large to cache); the text it caches, checks read from the
/// cache as before.
public struct ContentAnalysis: Sendable {
    public let id: String
    public let run: @Sendable ([UInt8]) -> any Sendable

    public init(id: String, run: @escaping @Sendable ([UInt8]) -> any Sendable) {
        self.id = id
        self.run = run
    }
}
