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
    /// The analyses wanted, each once (by id).
    public private(set) var analysisList: [ContentAnalysis] = []
    /// Per file, by its position in the tree's index, which of `analysisList` want it: bit i
    /// for the i-th (a whole-tree text rule wants every file of a 200,000-file image: a word
    /// per file, no hashing of paths).
    private var wanted: [UInt64] = []
    /// The same for analyses past the 64th, by position.
    private var wantedBeyond: [Int: [Int]] = [:]

    public init(digests: [String: Set<DigestAlgorithm>] = [:]) {
        self.digests = digests
    }

    /// `analyses` for the files at `positions` in the tree's index (`CheckContext.filePositions`).
    public init(_ analyses: ContentAnalysis..., positions: some Sequence<Int>) {
        self.digests = [:]
        for analysis in analyses { add(analysis, positions: positions) }
    }

    /// `analysis` for the files at `positions` in the tree's index (`CheckContext.filePositions`).
    public mutating func add(_ analysis: ContentAnalysis, positions: some Sequence<Int>) {
        let index: Int
        if let known = analysisList.firstIndex(where: { $0.id == analysis.id }) {
            index = known
        } else {
            index = analysisList.count
            analysisList.append(analysis)
        }
        let positions = Array(positions)
        // One word per file up to the last wanted, made at once: a whole-tree rule's interests
        // are a word for each of 200,000 files (grown by doubling, up to twice that).
        if index < 64, let top = positions.max(), top >= wanted.count {
            wanted += [UInt64](repeating: 0, count: top + 1 - wanted.count)
        }
        for position in positions {
            if index < 64 {
                wanted[position] |= UInt64(1) << UInt64(index)
            } else if !(wantedBeyond[position] ?? []).contains(index) {
                wantedBeyond[position, default: []].append(index)
            }
        }
    }

    /// The analyses that want the file at `position` in the tree's index.
    public func analyses(at position: Int) -> [ContentAnalysis] {
        var found: [ContentAnalysis] = []
        var mask = position < wanted.count ? wanted[position] : 0
        while mask != 0 {
            found.append(analysisList[mask.trailingZeroBitCount])
            mask &= mask - 1
        }
        for index in wantedBeyond[position] ?? [] { found.append(analysisList[index]) }
        return found
    }

    /// Drops the words past the last file wanted and the spare capacity merging left: the pass
    /// keeps one set of interests, a word for each file of the tree (1.6 MB for 200,000 files).
    public mutating func compact() {
        while wanted.last == 0 { wanted.removeLast() }
        wanted = wanted.withUnsafeBufferPointer { Array($0) }
    }

    public var isEmpty: Bool { digests.isEmpty && !wanted.contains { $0 != 0 } && wantedBeyond.isEmpty }

    public mutating func merge(_ other: ContentInterests) {
        // Merging into nothing is taking the other whole (a package manifest's interests list
        // thousands of paths: rehashing them all at every merge cost milliseconds).
        if digests.isEmpty && analysisList.isEmpty && wantedBeyond.isEmpty {
            self = other
            return
        }
        if digests.isEmpty {
            digests = other.digests
        } else if !other.digests.isEmpty {
            digests.merge(other.digests) { $0.union($1) }
        }
        guard !other.analysisList.isEmpty else { return }
        // The other's analysis numbers in this one's list.
        var mapped: [Int] = []
        for analysis in other.analysisList {
            if let known = analysisList.firstIndex(where: { $0.id == analysis.id }) {
                mapped.append(known)
            } else {
                mapped.append(analysisList.count)
                analysisList.append(analysis)
            }
        }
        if other.wanted.count > wanted.count { wanted += [UInt64](repeating: 0, count: other.wanted.count - wanted.count) }
        for (position, mask) in other.wanted.enumerated() where mask != 0 {
            var bits = mask
            while bits != 0 {
                let target = mapped[bits.trailingZeroBitCount]
                bits &= bits - 1
                if target < 64 { wanted[position] |= UInt64(1) << UInt64(target) }
                else if !(wantedBeyond[position] ?? []).contains(target) { wantedBeyond[position, default: []].append(target) }
            }
        }
        for (position, indices) in other.wantedBeyond {
            for index in indices {
                let target = mapped[index]
                if target < 64 {
                    if position >= wanted.count { wanted += [UInt64](repeating: 0, count: position + 1 - wanted.count) }
                    wanted[position] |= UInt64(1) << UInt64(target)
                } else if !(wantedBeyond[position] ?? []).contains(target) {
                    wantedBeyond[position, default: []].append(target)
                }
            }
        }
    }
}

/// Facts a check works out from a file's whole content (`run`, given the bytes once), named by
/// `id`; the read-ahead pass keeps the result for the check (`CheckContext.analysis`), so the
/// file is not read, or decompressed from an image, a second time.
///
/// By default an analysis runs on binary files (and text files too large to cache): the pass
/// reads those anyway and the content cache does not keep them. One made `text: true` also runs
/// on every text file the pass reads: a whole-tree text rule then never reads the tree again,
/// however little of it the content cache holds. Such an analysis says what "found nothing" is
/// (`nothing`, `isNothing`): those results, the common case, are not kept per file; the check
/// gets `nothing` for every file of its selection the pass analysed without a stored result.
public struct ContentAnalysis: Sendable {
    public let id: String
    /// Runs on binary files.
    public let binaries: Bool
    /// Runs on the text files the pass reads (it must then give `nothing` and `isNothing`).
    public let text: Bool
    /// The result for a file where the analysis found nothing (text analyses).
    public let nothing: (any Sendable)?
    public let isNothing: @Sendable (any Sendable) -> Bool
    public let run: @Sendable ([UInt8]) -> any Sendable

    /// An analysis of binaries (and of text files too large to cache).
    public init(id: String, run: @escaping @Sendable ([UInt8]) -> any Sendable) {
        self.id = id
        self.binaries = true
        self.text = false
        self.nothing = nil
        self.isNothing = { _ in false }
        self.run = run
    }

    /// An analysis of text files (and of binaries when `binaries`), whose empty result is
    /// `nothing`.
    public init<Result: Sendable>(id: String, binaries: Bool, nothing: Result, isNothing: @escaping @Sendable (Result) -> Bool,
                                  run: @escaping @Sendable ([UInt8]) -> Result) {
        self.id = id
        self.binaries = binaries
        self.text = true
        self.nothing = nothing
        self.isNothing = { ($0 as? Result).map(isNothing) ?? false }
        self.run = { run($0) }
    }
}
