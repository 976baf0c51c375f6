import RBCore
#if canImport(Glibc)
import Glibc
#endif

/// One container found in an image: a header, a compressed stream, an archive or a filesystem.
public struct ContainerNode: Sendable {
    /// `squashfs`, `uImage`, `TRX`, `gzip`, `tar`, `cpio`, `zip`, `ext4`, `JFFS2`, `UBI`, `data`…
    public var format: String
    /// Offset in the parent's data (for a decompressed stream's content: in the decompressed bytes).
    public var offset: UInt64
    public var size: UInt64?
    /// Facts for `rbscan inspect`: compression, name, CRC state, files…
    public var details: [String: String]
    public var children: [ContainerNode] = []
    /// Set for filesystems and archives: what the checks scan.
    public var tree: (any FileTree)?
    /// Why this container could not be read, when it could not.
    public var problem: String?

    /// `squashfs@0x200040`.
    public var label: String { format + "@0x" + String(offset, radix: 16) }

    /// Set in `details` on a container not opened because of the nesting limit.
    static let nestingLimitKey = "nestingLimit"
}

/// What an image holds, and the problems met reading it.
public struct ImageAnalysis: Sendable {
    public var path: String
    public var size: UInt64
    public var containers: [ContainerNode]
    public var diagnostics: [Diagnostic]
    /// Shannon entropy (bits per byte) of the first MiB, measured when nothing was recognised:
    /// near 8 means encrypted or compressed with an unknown scheme.
    public var entropy: Double?

    /// What an image with no known container looks like, for messages.
    public var unrecognisedDescription: String? {
        guard containers.isEmpty, let entropy else { return nil }
        let bits = (entropy * 100).rounded() / 100
        return entropy > 7.9
            ? "no known container or filesystem: the data looks encrypted or compressed with an unknown scheme (entropy \(bits) bits/byte)"
            : "no known container or filesystem: an unsupported format, not encrypted (entropy \(bits) bits/byte)"
    }

    /// Every readable tree with its container chain from the image file down (`fw.bin`,
    /// `uImage@0x0`, `squashfs@0x40`).
    public var filesystems: [(chain: [String], node: ContainerNode)] {
        var result: [(chain: [String], node: ContainerNode)] = []
        func visit(_ node: ContainerNode, _ chain: [String]) {
            let here = chain + [node.label]
            if node.tree != nil { result.append((here, node)) }
            for child in node.children { visit(child, here) }
        }
        for node in containers { visit(node, [path]) }
        return result
    }
}

/// Finds what a firmware blob holds, by content only (never by name): containers at any offset
/// (carving), recursively, within the nesting and size limits.
public struct ImageScanner: Sendable {
    public let limits: ScanLimits
    public let budget: ExtractionBudget

    public init(limits: ScanLimits) {
        self.limits = limits
        budget = ExtractionBudget(limit: limits.maxExtractedBytes)
        Spool.setReserve(limits.spoolReserveBytes)
    }

    public func analyze(path: String) throws(ImageError) -> ImageAnalysis {
        let file = try HostFile.open(path)
        var diagnostics: [Diagnostic] = []
        let source = ByteSource(file: file)
        var containers = carve(source, depth: 0, where: path, diagnostics: &diagnostics)
        if containers.isEmpty, let head = try? source.read(at: 0, count: FormatProbe.headSize), !head.isEmpty {
            let probe = FormatProbe(scanner: self, source: source, offset: 0, head: head, signature: 0, depth: 1, context: path)
            for format in ImageFormats.startOnly {
                if let node = format.open(probe, &diagnostics) {
                    containers = [node]
                    break
                }
            }
        }
        var analysis = ImageAnalysis(path: path, size: file.size, containers: containers, diagnostics: diagnostics)
        if containers.isEmpty, let head = try? source.read(at: 0, count: 1 << 20), !head.isEmpty {
            var counts = [Int](repeating: 0, count: 256)
            for byte in head { counts[Int(byte)] += 1 }
            let total = Double(head.count)
            var bits = 0.0
            for count in counts where count > 0 {
                let p = Double(count) / total
                bits -= p * log2(p)
            }
            analysis.entropy = bits
        }
        return analysis
    }

    // MARK: carving

    static let window = 1 << 20
    static let overlap = 4096

    /// Every container in `source`, in offset order. A container whose extent is known is
    /// skipped over; after one whose end is unknown, carving goes on at the next byte, so a
    /// filesystem behind a stream or a blob is never left unseen.
    func carve(_ source: ByteSource, depth: Int, where context: String, diagnostics: inout [Diagnostic]) -> [ContainerNode] {
        var nodes: [ContainerNode] = []
        var chunkStart: UInt64 = 0
        scanning: while chunkStart < source.size {
            let bytes: [UInt8]
            do {
                bytes = try source.read(at: chunkStart, count: ImageScanner.window + ImageScanner.overlap)
            } catch {
                diagnostics.append(diagnostic(error, context))
                break
            }
            let limit = min(ImageScanner.window, bytes.count)
            var i = 0
            while i < limit {
                i = ImageFormats.nextCandidateOffset(in: bytes, from: i, limit: limit)
                guard i < limit else { break }
                let candidates = ImageFormats.byFirstTwoBytes[Int(bytes[i]) << 8 | Int(bytes[i + 1])] ?? []
                if !candidates.isEmpty {
                    for k in candidates {
                        let candidate = ImageFormats.candidates[k]
                        guard bytes.matches(candidate.magic, at: i) else { continue }
                        let start = Int64(chunkStart) + Int64(i) - Int64(candidate.offset)
                        guard start >= 0 else { continue }
                        // The candidate's first 4 KiB (every format validates its header within
                        // them; larger structures are read from the probe's region): from the
                        // window when it holds them, which spares a read per coincidental magic.
                        let head: [UInt8]
                        let windowOffset = Int(start - Int64(chunkStart))
                        if windowOffset >= 0, windowOffset + FormatProbe.headSize <= bytes.count {
                            head = Array(bytes[windowOffset..<(windowOffset + FormatProbe.headSize)])
                        } else {
                            guard let read = try? source.read(at: UInt64(start), count: FormatProbe.headSize), !read.isEmpty else { continue }
                            head = read
                        }
                        let probe = FormatProbe(scanner: self, source: source, offset: UInt64(start), head: head, signature: candidate.signature,
                                                depth: depth + 1, context: context)
                        if let node = ImageFormats.all[candidate.format].open(probe, &diagnostics) {
                            nodes.append(node)
                            // Past the nesting limit every container here is too deep: one
                            // diagnostic for this part, not one per offset.
                            if node.details[ContainerNode.nestingLimitKey] != nil { break scanning }
                            if let size = node.size, size > 0 {
                                chunkStart = UInt64(start) + size
                            } else {
                                chunkStart = UInt64(start) + UInt64(candidate.offset) + 1
                            }
                            continue scanning
                        }
                    }
                }
                i += 1
            }
            chunkStart += UInt64(limit)
            if bytes.count < ImageScanner.window { break }
        }
        return nodes
    }

    func diagnostic(_ error: ImageError, _ context: String, level: Diagnostic.Level = .error) -> Diagnostic {
        Diagnostic(level, .check, code: "image." + error.code.rawValue, error.message,
                   at: SourceLocation(file: context, offset: error.offset.map(Int.init)))
    }

    /// Opens the filesystem of `node` (a squashfs, an ext…) and records what it found: a size the
    /// header claims beyond the data present is reported as truncation, with the offset.
    func openFilesystem(_ node: inout ContainerNode, declaredSize: UInt64, available: UInt64, at absolute: UInt64,
                        where context: String, depth: Int, diagnostics: inout [Diagnostic],
                        _ open: () throws(ImageError) -> (any FileTree, [String: String])) {
        if declaredSize > available {
            node.problem = "truncated: the superblock says \(declaredSize) bytes, \(available) are present"
            diagnostics.append(Diagnostic(.error, .check, code: "image.corrupt", node.problem!,
                                          at: SourceLocation(file: context, offset: Int(absolute))))
        }
        guard depth <= limits.maxNesting else {
            node.problem = "nesting deeper than \(limits.maxNesting) containers (--max-nesting); this container and anything after it in the same data were not opened"
            node.details[ContainerNode.nestingLimitKey] = "true"
            diagnostics.append(Diagnostic(.error, .check, code: "image.nesting-limit", node.problem!,
                                          at: SourceLocation(file: context, offset: Int(absolute))))
            return
        }
        do {
            let (tree, details) = try open()
            node.tree = tree
            node.details.merge(details) { $1 }
            node.details["files"] = String(tree.index.entries.filter { $0.type == .file }.count)
        } catch {
            node.problem = error.message
            diagnostics.append(diagnostic(error, context))
        }
    }

    /// A compressed payload whose compression is known (a uImage's or a FIT image's header
    /// says it): decompressed to a spool and carved. A payload that does not decompress although
    /// its header says it should is carved as it is (vendors mislabel raw filesystems), with a
    /// warning.
    func decompressedChild(_ format: String, _ part: ByteSource, depth: Int, where context: String,
                           diagnostics: inout [Diagnostic]) -> ContainerNode {
        var node = ContainerNode(format: format, offset: 0, size: nil, details: [:])
        let label = "\(context)#\(format)@0x\(String(part.base, radix: 16))"
        guard let codec = StreamCodec(name: format) else {
            node.problem = "\(format) compression is not supported"
            diagnostics.append(Diagnostic(.error, .check, code: "image.unsupported", node.problem!, at: SourceLocation(file: label)))
            return node
        }
        do {
            let decoded = try StreamDecoder.decompress(codec, part, name: label, budget: budget)
            node.size = decoded.consumed
            node.details["decompressed"] = String(decoded.spool.size)
            if let problem = decoded.problem {
                node.details["incomplete"] = problem
                diagnostics.append(Diagnostic(.warning, .check, code: "image.truncated-stream",
                    "\(format) stream ends early (\(problem)); the \(decoded.spool.size) bytes decompressed so far are scanned",
                    at: SourceLocation(file: context, offset: Int(part.base))))
            }
            guard depth < limits.maxNesting else {
                node.problem = "nesting deeper than \(limits.maxNesting) containers (--max-nesting); its content was not opened"
                diagnostics.append(Diagnostic(.error, .check, code: "image.nesting-limit", node.problem!, at: SourceLocation(file: label)))
                return node
            }
            node.children = carve(ByteSource(file: decoded.spool), depth: depth + 1, where: label, diagnostics: &diagnostics)
        } catch where error.code == .corrupt {
            // Not that compression at all: look at the payload as it is.
            let raw = carve(part, depth: depth, where: context, diagnostics: &diagnostics)
            if raw.isEmpty {
                node.problem = "the header says \(format) but the data is not \(format) (\(error.message)) and holds no known container"
                diagnostics.append(Diagnostic(.error, .check, code: "image.corrupt", node.problem!,
                                              at: SourceLocation(file: context, offset: Int(part.base))))
                return node
            }
            diagnostics.append(Diagnostic(.warning, .check, code: "image.mislabelled",
                "the header says \(format) but the payload is not compressed; read as it is",
                at: SourceLocation(file: context, offset: Int(part.base))))
            node.format = "raw"
            node.details["declared"] = format
            node.size = part.size
            node.children = raw
        } catch {
            node.problem = error.message
            diagnostics.append(diagnostic(error, context))
        }
        return node
    }

    /// tar, cpio, zip, 7z (behind any compression) from `offset` to the end of the range. Members
    /// that are themselves images are carved too: those that start like a container (a
    /// compressed one of any size), and other binary members of 64 KiB or more that are not ELF
    /// executables.
    func openArchive(_ probe: FormatProbe, extent: UInt64?, diagnostics: inout [Diagnostic]) -> ContainerNode? {
        let label = probe.treeName("archive")
        let region = probe.region.slice(0, extent)
        guard probe.depth <= limits.maxNesting else {
            guard ArchiveTree.probe(region) != nil else { return nil }
            var node = ContainerNode(format: "archive", offset: probe.offset, size: extent, details: [:])
            _ = probe.tooDeep(&node, &diagnostics)
            return node
        }
        let tree: ArchiveTree
        do {
            tree = try ArchiveTree(source: region, name: label, limits: limits, budget: budget)
        } catch {
            return nil
        }
        let format = ([ArchiveScanner.shortName(tree.format)] + tree.filters).joined(separator: "+")
        var node = ContainerNode(format: format, offset: probe.offset, size: extent ?? tree.consumed,
                                 details: ["format": tree.format, "files": String(tree.index.entries.filter { $0.type == .file }.count)])
        node.tree = tree
        diagnostics += tree.indexDiagnostics.filter { $0.level == .error }
        var unopened: [String] = []
        for entry in tree.index.entries where entry.type == .file && entry.size >= 16 {
            guard let member = tree.source(of: entry.path), let head = try? member.read(at: 0, count: 8192),
                  !head.matches([0x7f, 0x45, 0x4c, 0x46], at: 0) else { continue }
            let startsLikeImage = ImageFormats.all.contains { format in
                format.signatures.contains { head.matches($0.magic, at: $0.offset) }
            }
            guard startsLikeImage || (entry.size >= 65536 && head.contains(0)) else { continue }
            // At the nesting limit the members are not opened; those that start like an image
            // are named (never a silent pass).
            guard probe.depth < limits.maxNesting else {
                if startsLikeImage { unopened.append(entry.path) }
                continue
            }
            // A member is a file, not a container: what it holds is one level below the archive.
            let children = carve(member, depth: probe.depth, where: label + ":" + entry.path, diagnostics: &diagnostics)
            if !children.isEmpty {
                node.children.append(ContainerNode(format: entry.path, offset: 0, size: entry.size,
                                                   details: ["member": "archive member"], children: children))
            }
        }
        if !unopened.isEmpty {
            diagnostics.append(Diagnostic(.error, .check, code: "image.nesting-limit",
                "nesting deeper than \(limits.maxNesting) containers (--max-nesting): \(unopened.count) member(s) that start like an image were not opened (\(unopened.prefix(3).joined(separator: ", "))\(unopened.count > 3 ? ", …" : ""))",
                at: SourceLocation(file: label)))
        }
        return node
    }
}

enum ArchiveScanner {
    /// `GNU tar format` → `tar`, `SVR4 cpio with no CRC` → `cpio`, `ZIP 2.0 (deflation)` → `zip`.
    static func shortName(_ libarchiveName: String) -> String {
        let lower = libarchiveName.lowercased()
        if lower.contains("tar") { return "tar" }
        if lower.contains("cpio") { return "cpio" }
        if lower.contains("zip") && !lower.contains("7-zip") { return "zip" }
        if lower.contains("7-zip") { return "7z" }
        if lower.contains("ar") { return "ar" }
        return lower
    }
}
