import RBCore

/// Where a format's magic sits, measured from the container's first byte (tar: 257, ext: 1080).
public struct FormatSignature: Sendable {
    public var magic: [UInt8]
    public var offset: Int

    public init(_ magic: [UInt8], at offset: Int = 0) {
        self.magic = magic
        self.offset = offset
    }

    public init(_ text: String, at offset: Int = 0) {
        self.init(Array(text.utf8), at: offset)
    }
}

/// One container format rbscan reads from firmware: how it is recognised (magic, then header
/// validation) and how it is opened (children to carve further, or a `FileTree` to scan).
///
/// Every format is one file and one line in `ImageFormats.all`; carving, `rbscan inspect`,
/// the target resolver and the docs' format table all come from that table.
public protocol ImageFormat: Sendable {
    /// The name in container chains and `rbscan inspect` (`squashfs`, `cramfs`, `UBI`).
    static var name: String { get }
    /// What a file starting with it is, for target messages ("a cramfs image").
    static var summary: String { get }
    /// How it is read, for the docs' format table ("own reader; checked against fsck.cramfs").
    static var reader: String { get }
    static var signatures: [FormatSignature] { get }
    /// The signatures in words, for the docs' table, where listing them would not help.
    static var signatureSummary: String? { get }
    /// Validates the candidate at `probe.offset` and opens it; nil when the magic was a
    /// coincidence (a bad header). A real container that cannot be read is a node with a
    /// `problem` and a diagnostic, never nil.
    static func open(_ probe: FormatProbe, _ diagnostics: inout [Diagnostic]) -> ContainerNode?
}

extension ImageFormat {
    public static var signatureSummary: String? { nil }
}

/// Every format, in the order candidates at one offset are tried.
public enum ImageFormats {
    public static let all: [any ImageFormat.Type] = [
        SquashfsFormat.self,
        CramfsFormat.self,
        RomfsFormat.self,
        UImageFormat.self,
        TRXFormat.self,
        FITFormat.self,
        DigicapFormat.self,
        HiLinkFormat.self,
        DLinkSHRSFormat.self,
        DLinkMH01Format.self,
        GzipFormat.self,
        XZFormat.self,
        Bzip2Format.self,
        ZstdFormat.self,
        LZ4Format.self,
        LZMAFormat.self,
        CpioFormat.self,
        TarFormat.self,
        ZipFormat.self,
        SevenZipFormat.self,
        ExtFormat.self,
        JFFS2Format.self,
        UBIFormat.self,
        UBIFSFormat.self,
        YAFFS2Format.self,
    ]

    /// Every signature of every format, flattened for the carving loop.
    struct Candidate {
        var format: Int
        var signature: Int
        var magic: [UInt8]
        var offset: Int
    }

    static let candidates: [Candidate] = all.enumerated().flatMap { f, format in
        format.signatures.enumerated().map { s, signature in Candidate(format: f, signature: s, magic: signature.magic, offset: signature.offset) }
    }

    /// For each value of a magic's first byte, then of its second, the candidates (positions in
    /// `candidates`) whose magic starts with those bytes: a byte pair rules out nearly every
    /// coincidence before any comparison.
    /// Keyed by the two bytes as one big-endian number; only pairs some magic starts with (a
    /// table of all 65,536 pairs held 512 KB of empty lists).
    static let byFirstTwoBytes: [Int: [Int]] = {
        var table: [Int: [Int]] = [:]
        for (k, candidate) in candidates.enumerated() {
            precondition(candidate.magic.count >= 2, "a magic needs at least two bytes")
            table[Int(candidate.magic[0]) << 8 | Int(candidate.magic[1]), default: []].append(k)
        }
        return table
    }()

    /// Whether any magic starts with each two-byte value: the carving loop's hot path reads this
    /// flat table instead of the candidate lists (no reference counting per byte).
    static let hasCandidate: [Bool] = (0..<65536).map { byFirstTwoBytes[$0] != nil }

    /// The first offset in `from..<limit` where some magic's first two bytes are (the second
    /// byte may lie past `limit`, within `bytes`), or `limit`.
    static func nextCandidateOffset(in bytes: [UInt8], from start: Int, limit: Int) -> Int {
        let end = min(limit, bytes.count - 1)
        guard start < end else { return limit }
        return bytes.withUnsafeBufferPointer { data in
            hasCandidate.withUnsafeBufferPointer { mask in
                var i = start
                while i < end {
                    if mask[Int(data[i]) << 8 | Int(data[i + 1])] { return i }
                    i += 1
                }
                return limit
            }
        }
    }

    /// Formats without a reliable magic, tried at the start of a blob in which carving found
    /// nothing (encrypted vendor images whose header only shows after decryption).
    static let startOnly: [any ImageFormat.Type] = [HiLinkFormat.self]

    /// The format whose signature matches at the very start of `head` (a whole file's first
    /// bytes), if any.
    public static func atStart(_ head: [UInt8]) -> (any ImageFormat.Type)? {
        all.first { format in format.signatures.contains { head.matches($0.magic, at: $0.offset) } }
    }

    /// The docs' format table (Markdown), generated from `all`.
    public static var markdownTable: String {
        var out = "| format | magic (offset) | read by |\n|---|---|---|\n"
        for format in all {
            let magics = format.signatures.map { signature in
                let printable = signature.magic.allSatisfy { (0x21...0x7e).contains($0) }
                let text = printable ? "`" + String(decoding: signature.magic, as: UTF8.self) + "`"
                    : signature.magic.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
                return signature.offset == 0 ? text : "\(text) (@\(signature.offset))"
            }
            out += "| \(format.name) | \(format.signatureSummary ?? magics.joined(separator: ", ")) | \(format.reader) |\n"
        }
        return out
    }
}

/// A candidate container: where its magic matched, and the scanner's services for opening it.
public struct FormatProbe: Sendable {
    let scanner: ImageScanner
    /// The range being carved; the candidate starts at `offset` in it.
    let source: ByteSource
    let offset: UInt64
    /// Up to `headSize` bytes from `offset`.
    let head: [UInt8]
    static let headSize = 4096
    /// Which of the format's signatures matched.
    let signature: Int
    /// The nesting depth of what this candidate opens.
    let depth: Int
    /// The image (or spool) label for diagnostics.
    let context: String

    var limits: ScanLimits { scanner.limits }
    /// Bytes from the candidate's start to the end of the range.
    var available: UInt64 { source.size - offset }
    /// The candidate's offset in the underlying host file, for diagnostics.
    var absolute: UInt64 { source.base + offset }
    /// The candidate's bytes, to the end of the range.
    var region: ByteSource { source.slice(offset) }
    var location: SourceLocation { SourceLocation(file: context, offset: Int(absolute)) }
    /// `image#cramfs@0x40`: how trees name themselves.
    func treeName(_ format: String) -> String { "\(context)#\(format)@0x\(String(absolute, radix: 16))" }

    /// Records why `node` could not be read (an error diagnostic at the candidate's offset).
    func fail(_ node: inout ContainerNode, _ code: String, _ problem: String, _ diagnostics: inout [Diagnostic]) {
        node.problem = problem
        diagnostics.append(Diagnostic(.error, .check, code: code, problem, at: location))
    }

    /// True (and the node marked) when opening it would exceed the nesting limit.
    func tooDeep(_ node: inout ContainerNode, _ diagnostics: inout [Diagnostic]) -> Bool {
        guard depth > limits.maxNesting else { return false }
        fail(&node, "image.nesting-limit", "nesting deeper than \(limits.maxNesting) containers (--max-nesting); this container and anything after it in the same data were not opened", &diagnostics)
        node.details[ContainerNode.nestingLimitKey] = "true"
        return true
    }

    /// Every container inside `part` (a range of this candidate), at this candidate's depth.
    func carve(_ part: ByteSource, _ diagnostics: inout [Diagnostic]) -> [ContainerNode] {
        scanner.carve(part, depth: depth, where: context, diagnostics: &diagnostics)
    }

    /// Opens a filesystem reader over `declaredSize` bytes and fills `node` (see
    /// `ImageScanner.openFilesystem`).
    func openFilesystem(_ node: inout ContainerNode, declaredSize: UInt64, _ diagnostics: inout [Diagnostic],
                        _ open: () throws(ImageError) -> (any FileTree, [String: String])) {
        scanner.openFilesystem(&node, declaredSize: declaredSize, available: available, at: absolute, where: context,
                               depth: depth, diagnostics: &diagnostics, open)
    }
}
