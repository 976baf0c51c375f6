import RBCore

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
}

/// What an image holds, and the problems met reading it.
public struct ImageAnalysis: Sendable {
    public var path: String
    public var size: UInt64
    public var containers: [ContainerNode]
    public var diagnostics: [Diagnostic]

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
    }

    /// The first bytes of each format this scanner looks for, for `TargetResolver` to tell an
    /// image from a config file.
    public static func looksLikeImage(_ head: [UInt8]) -> String? {
        for probe in probes where probe.matchesAtStart(head) { return probe.name }
        return nil
    }

    public func analyze(path: String) throws(ImageError) -> ImageAnalysis {
        let file = try HostFile.open(path)
        var diagnostics: [Diagnostic] = []
        let containers = carve(ByteSource(file: file), depth: 0, where: path, diagnostics: &diagnostics)
        return ImageAnalysis(path: path, size: file.size, containers: containers, diagnostics: diagnostics)
    }

    // MARK: carving

    struct Probe {
        var name: String
        var magic: [UInt8]
        /// Where the magic sits from the container's start (tar: 257, ext: 1080).
        var magicOffset: Int = 0

        func matchesAtStart(_ head: [UInt8]) -> Bool { head.matches(magic, at: magicOffset) }
    }

    static let probes: [Probe] = [
        Probe(name: "squashfs", magic: Array("hsqs".utf8)),
        Probe(name: "squashfs-be", magic: Array("sqsh".utf8)),
        Probe(name: "uImage", magic: UImageHeader.magic),
        Probe(name: "TRX", magic: TRXHeader.magic),
        Probe(name: "FDT", magic: [0xd0, 0x0d, 0xfe, 0xed]),
        Probe(name: "gzip", magic: [0x1f, 0x8b, 0x08]),
        Probe(name: "xz", magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]),
        Probe(name: "bzip2", magic: Array("BZh".utf8)),
        Probe(name: "zstd", magic: [0x28, 0xb5, 0x2f, 0xfd]),
        Probe(name: "lz4", magic: [0x04, 0x22, 0x4d, 0x18]),
        // LZMA-alone: the usual properties byte (lc=3, lp=0, pb=2) and a dictionary of a multiple
        // of 64 KiB; validated further before anything is decompressed.
        Probe(name: "lzma", magic: [0x5d, 0x00, 0x00]),
        Probe(name: "cpio", magic: Array("07070".utf8)),
        Probe(name: "tar", magic: Array("ustar".utf8), magicOffset: 257),
        Probe(name: "zip", magic: [0x50, 0x4b, 0x03, 0x04]),
        Probe(name: "7z", magic: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]),
        Probe(name: "ext", magic: [0x53, 0xef], magicOffset: 1080),
        Probe(name: "JFFS2", magic: [0x85, 0x19]),
        Probe(name: "JFFS2-be", magic: [0x19, 0x85]),
        Probe(name: "UBI", magic: Array("UBI#".utf8)),
    ]

    /// For each byte value, the probes whose magic starts with it.
    static let byFirstByte: [[Int]] = {
        var table = [[Int]](repeating: [], count: 256)
        for (i, probe) in probes.enumerated() { table[Int(probe.magic[0])].append(i) }
        return table
    }()

    /// Plain compressed streams: common inside root filesystems (documentation, data), so an
    /// archive member starting like one is not carved unless it is large and binary.
    static let streamFormats: Set<String> = ["gzip", "xz", "bzip2", "zstd", "lz4", "lzma"]

    static let window = 1 << 20
    static let overlap = 4096

    /// Every container in `source`, in offset order.
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
                let candidates = ImageScanner.byFirstByte[Int(bytes[i])]
                if !candidates.isEmpty {
                    for p in candidates {
                        let probe = ImageScanner.probes[p]
                        guard bytes.matches(probe.magic, at: i) else { continue }
                        let start = Int64(chunkStart) + Int64(i) - Int64(probe.magicOffset)
                        guard start >= 0 else { continue }
                        if let node = open(probe.name, at: UInt64(start), in: source, depth: depth, where: context,
                                           diagnostics: &diagnostics) {
                            nodes.append(node)
                            guard let size = node.size, size > 0 else { break scanning }
                            chunkStart = UInt64(start) + size
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

    /// Validates a candidate and reads it; nil when the magic was a coincidence.
    func open(_ format: String, at offset: UInt64, in source: ByteSource, depth: Int, where context: String,
              diagnostics: inout [Diagnostic]) -> ContainerNode? {
        guard let head = try? source.read(at: offset, count: 2048), !head.isEmpty else { return nil }
        let available = source.size - offset
        let absolute = source.base + offset
        let nested = depth + 1
        func tooDeep(_ node: inout ContainerNode) -> Bool {
            guard nested > limits.maxNesting else { return false }
            node.problem = "nesting deeper than \(limits.maxNesting) containers; not opened"
            diagnostics.append(Diagnostic(.error, .check, code: "image.nesting-limit", node.problem!,
                                          at: SourceLocation(file: context, offset: Int(absolute))))
            return true
        }
        switch format {
        case "squashfs":
            guard head.count >= 96, head.le16(28) == 4, head.le16(30) == 0 else { return nil }
            let blockSize = head.le32(12), blockLog = head.le16(22), compression = head.le16(20)
            let bytesUsed = head.le64(40)
            guard blockLog >= 12, blockLog <= 20, blockSize == 1 << UInt32(blockLog), (1...6).contains(compression),
                  bytesUsed > 96 else { return nil }
            var node = ContainerNode(format: "squashfs", offset: offset, size: min(bytesUsed, available),
                                     details: ["compression": SquashfsTree.compressionName(compression)])
            openFilesystem(&node, declaredSize: bytesUsed, available: available, at: absolute, where: context,
                           depth: nested, diagnostics: &diagnostics) { () throws(ImageError) in
                let tree = try SquashfsTree(source: source.slice(offset, bytesUsed), name: "\(context)#squashfs@0x\(String(absolute, radix: 16))", limits: limits)
                return (tree, tree.details, nil)
            }
            return node
        case "squashfs-be":
            let major = UInt16(head.count > 29 ? head[28] : 0) << 8 | UInt16(head.count > 29 ? head[29] : 0)
            guard (1...3).contains(major) else { return nil }
            let node = ContainerNode(format: "squashfs", offset: offset, size: nil, details: ["version": "\(major).x big endian"],
                                     problem: "squashfs \(major).x (big endian, pre-4.0) is not supported")
            diagnostics.append(Diagnostic(.error, .check, code: "image.unsupported", node.problem!,
                                          at: SourceLocation(file: context, offset: Int(absolute))))
            return node
        case "uImage":
            return openUImage(head, at: offset, in: source, depth: nested, where: context, diagnostics: &diagnostics)
        case "TRX":
            guard let header = TRXHeader(head, available: available) else { return nil }
            var node = ContainerNode(format: "TRX", offset: offset, size: UInt64(header.length),
                                     details: ["version": String(header.version)])
            let computed = (try? CRC32.of(source, offset: offset + 12, length: UInt64(header.length) - 12)).map { ~$0 }
            node.details["crc"] = computed == header.crc ? "ok" : "mismatch"
            if tooDeep(&node) { return node }
            let starts = header.offsets.filter { $0 != 0 }.sorted()
            for (k, start) in starts.enumerated() {
                let end = k + 1 < starts.count ? starts[k + 1] : header.length
                let part = source.slice(offset + UInt64(start), UInt64(end - start))
                node.children += carve(part, depth: nested, where: context, diagnostics: &diagnostics).map { child in
                    var child = child
                    child.offset += UInt64(start)
                    return child
                }
            }
            return node
        case "FDT":
            let total = UInt64(head.be32(4))
            guard head.be32(20) >= 16, total >= 40, total <= available,
                  let tree = try? DeviceTree(source.slice(offset)) else { return nil }
            guard tree.isFIT else {
                return ContainerNode(format: "FDT", offset: offset, size: total, details: ["note": "device tree blob"])
            }
            let payloads = tree.payloads
            let extent = payloads.map { $0.offset + $0.length }.max().map { max($0, total) } ?? total
            var node = ContainerNode(format: "FIT", offset: offset, size: min(extent, available),
                                     details: ["images": String(payloads.count),
                                               "signed": payloads.contains(where: \.signed) ? "yes" : "no",
                                               "description": tree.root.properties["description"]?.string ?? ""])
            if tooDeep(&node) { return node }
            for payload in payloads {
                let part = source.slice(offset + payload.offset, payload.length)
                var image = ContainerNode(format: payload.name, offset: payload.offset, size: payload.length,
                                          details: ["type": payload.type, "compression": payload.compression,
                                                    "signature": payload.signed ? "present" : "absent"])
                if payload.offset + payload.length > available {
                    image.problem = "data out of bounds (truncated image?)"
                    diagnostics.append(Diagnostic(.error, .check, code: "image.corrupt", "FIT image '\(payload.name)': \(image.problem!)",
                                                  at: SourceLocation(file: context, offset: Int(absolute))))
                } else if payload.compression == "none" {
                    image.children = carve(part, depth: nested, where: context, diagnostics: &diagnostics)
                } else if ["gzip", "bzip2", "lzma", "lz4", "zstd", "xz"].contains(payload.compression) {
                    image.children = [decompressedChild(payload.compression, part, depth: nested, where: context, diagnostics: &diagnostics)]
                } else {
                    image.problem = "FIT payload compression \(payload.compression) is not supported"
                    diagnostics.append(Diagnostic(.error, .check, code: "image.unsupported", image.problem!,
                                                  at: SourceLocation(file: context, offset: Int(absolute))))
                }
                node.children.append(image)
            }
            return node
        case "gzip", "xz", "bzip2", "zstd", "lz4", "lzma":
            if format == "gzip", head.count > 3, head[3] & 0xe0 != 0 { return nil }
            if format == "lzma" {
                guard head.count >= 13 else { return nil }
                let dictionary = head.le32(1), size = head.le64(5)
                let shape = dictionary >> dictionary.trailingZeroBitCount
                guard dictionary >= 1 << 16, dictionary <= 1 << 30, shape == 1 || shape == 3,
                      size == UInt64.max || size < 1 << 40 else { return nil }
            }
            if format == "bzip2", !(head.count > 9 && (0x31...0x39).contains(head[3]) && head.matches([0x31, 0x41, 0x59, 0x26, 0x53, 0x59], at: 4)) { return nil }
            return openStream(format, at: offset, in: source, depth: nested, where: context, diagnostics: &diagnostics)
        case "cpio", "tar", "zip", "7z":
            if format == "cpio", !(head.count > 6 && [0x31, 0x32, 0x37].contains(head[5])) { return nil }
            if format == "tar", !ImageScanner.validTarHeader(head) { return nil }
            return openArchive(at: offset, in: source, depth: nested, where: context, diagnostics: &diagnostics)
        case "ext":
            guard head.count >= 1024 + 92 else { return nil }
            let superblock = Array(head[1024...])
            let logBlock = superblock.le32(24), blocksCount = UInt64(superblock.le32(4)), inodes = superblock.le32(0)
            guard logBlock <= 6, inodes > 0, blocksCount > 0, superblock.le32(76) <= 1 else { return nil }
            let size = blocksCount * (1024 << UInt64(logBlock))
            var node = ContainerNode(format: "ext", offset: offset, size: min(size, available),
                                     details: ["blocks": String(blocksCount), "blockSize": String(1024 << logBlock)])
            openFilesystem(&node, declaredSize: size, available: available, at: absolute, where: context,
                           depth: nested, diagnostics: &diagnostics) { () throws(ImageError) in
                let tree = try ExtTree(source: source.slice(offset, size), name: "\(context)#ext@0x\(String(absolute, radix: 16))", limits: limits)
                return (tree, tree.details, tree.details["type"])
            }
            return node
        case "JFFS2", "JFFS2-be":
            guard head.count >= 12 else { return nil }
            let littleEndian = format == "JFFS2"
            let nodeType = littleEndian ? head.le16(2) : UInt16(head[2]) << 8 | UInt16(head[3])
            guard [0xe001, 0xe002, 0x2003, 0x2004, 0xe006, 0xe008, 0xe009].contains(nodeType) else { return nil }
            let storedCRC = littleEndian ? head.le32(8) : head.be32(8)
            // JFFS2 header CRC: zlib's CRC-32 without the pre/post inversion (crc32(0, …) in the kernel's terms).
            guard ~CRC32.of(head[0..<8], seed: 0xffffffff) == storedCRC || CRC32.of(head[0..<8]) == storedCRC else { return nil }
            var node = ContainerNode(format: "JFFS2", offset: offset, size: nil,
                                     details: ["endianness": littleEndian ? "little" : "big"])
            if tooDeep(&node) { return node }
            do {
                let tree = try JFFS2Tree(source: source.slice(offset), name: "\(context)#JFFS2@0x\(String(absolute, radix: 16))",
                                         littleEndian: littleEndian, limits: limits)
                node.tree = tree
                node.size = tree.scannedSize
                node.details.merge(tree.details) { $1 }
                node.details["files"] = String(tree.index.entries.filter { $0.type == .file }.count)
                diagnostics += tree.indexDiagnostics.filter { $0.level == .error }
            } catch {
                node.problem = error.message
                diagnostics.append(diagnostic(error, context))
            }
            return node
        case "UBI":
            guard head.count > 4, head[4] == 1 else { return nil }
            let node = ContainerNode(format: "UBI", offset: offset, size: nil, details: [:],
                                     problem: "UBI/UBIFS images are not read by this build (unsupported)")
            diagnostics.append(Diagnostic(.error, .check, code: "image.unsupported", node.problem!,
                                          at: SourceLocation(file: context, offset: Int(absolute))))
            return node
        default:
            return nil
        }
    }

    /// Opens the filesystem of `node` (a squashfs, an ext…) and records what it found: a size the
    /// header claims beyond the data present is reported as truncation, with the offset.
    func openFilesystem(_ node: inout ContainerNode, declaredSize: UInt64, available: UInt64, at absolute: UInt64,
                        where context: String, depth: Int, diagnostics: inout [Diagnostic],
                        _ open: () throws(ImageError) -> (any FileTree, [String: String], String?)) {
        if declaredSize > available {
            node.problem = "truncated: the superblock says \(declaredSize) bytes, \(available) are present"
            diagnostics.append(Diagnostic(.error, .check, code: "image.corrupt", node.problem!,
                                          at: SourceLocation(file: context, offset: Int(absolute))))
        }
        guard depth <= limits.maxNesting else {
            node.problem = "nesting deeper than \(limits.maxNesting) containers; not opened"
            diagnostics.append(Diagnostic(.error, .check, code: "image.nesting-limit", node.problem!,
                                          at: SourceLocation(file: context, offset: Int(absolute))))
            return
        }
        do {
            let (tree, details, format) = try open()
            node.tree = tree
            if let format { node.format = format }
            node.details.merge(details) { $1 }
            node.details["files"] = String(tree.index.entries.filter { $0.type == .file }.count)
        } catch {
            node.problem = error.message
            diagnostics.append(diagnostic(error, context))
        }
    }

    static func validTarHeader(_ head: [UInt8]) -> Bool {
        guard head.count >= 512 else { return false }
        let stored = head[148..<156].filter { (0x30...0x37).contains($0) }
        guard let checksum = Int(String(decoding: stored, as: UTF8.self), radix: 8) else { return false }
        var sum = 0
        for (i, byte) in head[0..<512].enumerated() { sum += (148..<156).contains(i) ? 32 : Int(byte) }
        return sum == checksum
    }

    func openUImage(_ head: [UInt8], at offset: UInt64, in source: ByteSource, depth: Int, where context: String,
                    diagnostics: inout [Diagnostic]) -> ContainerNode? {
        guard let header = UImageHeader(head) else { return nil }
        let absolute = source.base + offset
        let available = source.size - offset - UInt64(UImageHeader.size)
        var node = ContainerNode(format: "uImage", offset: offset, size: UInt64(UImageHeader.size) + min(UInt64(header.dataSize), available),
                                 details: ["name": header.name, "type": header.typeName, "compression": header.compressionName,
                                           "dataSize": String(header.dataSize)])
        if UInt64(header.dataSize) > available {
            node.problem = "truncated: the header says \(header.dataSize) data bytes, \(available) are present"
            diagnostics.append(Diagnostic(.error, .check, code: "image.corrupt", node.problem!,
                                          at: SourceLocation(file: context, offset: Int(absolute))))
        }
        let data = source.slice(offset + UInt64(UImageHeader.size), UInt64(header.dataSize))
        let crc = try? CRC32.of(data, offset: 0, length: data.size)
        node.details["dataCRC"] = crc == header.dataCRC ? "ok" : "mismatch"
        if crc != header.dataCRC {
            diagnostics.append(Diagnostic(.warning, .check, code: "image.crc-mismatch",
                "uImage '\(header.name)' data CRC does not match its header", at: SourceLocation(file: context, offset: Int(absolute))))
        }
        guard depth <= limits.maxNesting else {
            node.problem = "nesting deeper than \(limits.maxNesting) containers; not opened"
            diagnostics.append(Diagnostic(.error, .check, code: "image.nesting-limit", node.problem!,
                                          at: SourceLocation(file: context, offset: Int(absolute))))
            return node
        }
        // Payloads: one, or for a multi-file image a zero-terminated size list then 4-byte aligned images.
        var parts: [(UInt64, UInt64)] = []
        if header.type == 4 {
            var sizes: [UInt64] = []
            var cursor: UInt64 = 0
            while let raw = try? data.read(at: cursor, count: 4), raw.count == 4 {
                cursor += 4
                let size = UInt64(raw.be32(0))
                if size == 0 || sizes.count > 64 { break }
                sizes.append(size)
            }
            for size in sizes {
                parts.append((cursor, size))
                cursor += (size + 3) & ~3
            }
            node.details["images"] = String(sizes.count)
        } else {
            parts = [(0, data.size)]
        }
        for (start, length) in parts {
            let part = data.slice(start, length)
            var children: [ContainerNode]
            switch header.compression {
            case 0:
                children = carve(part, depth: depth, where: context, diagnostics: &diagnostics)
            case 1, 2, 3, 5, 6:
                children = [decompressedChild(header.compressionName, part, depth: depth, where: context, diagnostics: &diagnostics)]
            default:
                let problem = "uImage payload compression \(header.compressionName) is not supported"
                diagnostics.append(Diagnostic(.error, .check, code: "image.unsupported", problem,
                                              at: SourceLocation(file: context, offset: Int(absolute))))
                children = [ContainerNode(format: header.compressionName, offset: 0, size: length, details: [:], problem: problem)]
            }
            node.children += children.map { child in
                var child = child
                child.offset += UInt64(UImageHeader.size) + start
                return child
            }
        }
        return node
    }

    /// A compressed stream: an archive behind compression is read directly; anything else is
    /// decompressed to a spool and carved.
    func openStream(_ format: String, at offset: UInt64, in source: ByteSource, depth: Int, where context: String,
                    diagnostics: inout [Diagnostic]) -> ContainerNode? {
        let region = source.slice(offset)
        if ArchiveTree.probe(region) != nil {
            return openArchive(at: offset, in: source, depth: depth, where: context, diagnostics: &diagnostics)
        }
        var node = decompressedChild(format, region, depth: depth, where: context, diagnostics: &diagnostics)
        node.offset = offset
        if node.problem != nil, node.children.isEmpty, node.details["decompressed"] == nil {
            // Not a valid stream after all (a coincidental magic): forget it.
            return nil
        }
        return node
    }

    func decompressedChild(_ format: String, _ part: ByteSource, depth: Int, where context: String,
                           diagnostics: inout [Diagnostic]) -> ContainerNode {
        var node = ContainerNode(format: format, offset: 0, size: nil, details: [:])
        let label = "\(context)#\(format)@0x\(String(part.base, radix: 16))"
        do {
            let (spool, filters) = try StreamDecompressor.decompress(part, name: label, budget: budget)
            node.details["decompressed"] = String(spool.size)
            node.details["filters"] = filters.joined(separator: "+")
            guard depth < limits.maxNesting else {
                node.problem = "nesting deeper than \(limits.maxNesting) containers; not opened"
                diagnostics.append(Diagnostic(.error, .check, code: "image.nesting-limit", node.problem!, at: SourceLocation(file: label)))
                return node
            }
            node.children = carve(ByteSource(file: spool), depth: depth + 1, where: label, diagnostics: &diagnostics)
        } catch {
            node.problem = error.message
            if error.code == .limit { diagnostics.append(diagnostic(error, context)) }
        }
        return node
    }

    /// tar, cpio, zip, 7z (behind any compression) from `offset` to the end of the range. Members
    /// that are themselves images are carved too: those that start like a container, and other
    /// binary members of 64 KiB or more that are not ELF executables.
    func openArchive(at offset: UInt64, in source: ByteSource, depth: Int, where context: String,
                     diagnostics: inout [Diagnostic]) -> ContainerNode? {
        let absolute = source.base + offset
        let label = "\(context)#archive@0x\(String(absolute, radix: 16))"
        guard depth <= limits.maxNesting else {
            guard ArchiveTree.probe(source.slice(offset)) != nil else { return nil }
            let problem = "nesting deeper than \(limits.maxNesting) containers; not opened"
            diagnostics.append(Diagnostic(.error, .check, code: "image.nesting-limit", problem,
                                          at: SourceLocation(file: context, offset: Int(absolute))))
            return ContainerNode(format: "archive", offset: offset, size: nil, details: [:], problem: problem)
        }
        let tree: ArchiveTree
        do {
            tree = try ArchiveTree(source: source.slice(offset), name: label, limits: limits, budget: budget)
        } catch {
            return nil
        }
        let format = ([ArchiveScanner.shortName(tree.format)] + tree.filters).joined(separator: "+")
        var node = ContainerNode(format: format, offset: offset, size: nil,
                                 details: ["format": tree.format, "files": String(tree.index.entries.filter { $0.type == .file }.count)])
        node.tree = tree
        diagnostics += tree.indexDiagnostics.filter { $0.level == .error }
        guard depth < limits.maxNesting else { return node }
        for entry in tree.index.entries where entry.type == .file && entry.size >= 512 {
            guard let member = tree.source(of: entry.path), let head = try? member.read(at: 0, count: 8192),
                  !head.matches([0x7f, 0x45, 0x4c, 0x46], at: 0) else { continue }
            let startsLikeImage = ImageScanner.probes.contains { probe in
                !ImageScanner.streamFormats.contains(probe.name) && probe.matchesAtStart(head)
            }
            guard startsLikeImage || (entry.size >= 65536 && head.contains(0)) else { continue }
            let children = carve(member, depth: depth + 1, where: label + ":" + entry.path, diagnostics: &diagnostics)
            if !children.isEmpty {
                node.children.append(ContainerNode(format: entry.path, offset: 0, size: entry.size,
                                                   details: ["member": "archive member"], children: children))
            }
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
