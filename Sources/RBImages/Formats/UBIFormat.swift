import RBCore

/// UBI images (`ubinize` output, NAND dumps of cameras and routers), read natively (Linux
/// `drivers/mtd/ubi/ubi-media.h`; everything big endian, CRCs are zlib's CRC-32 without the
/// final inversion):
///
/// - every physical erase block (PEB) starts with an erase-counter header ("UBI#": version,
///   erase count, where the volume-id header and the data start);
/// - a mapped PEB has a volume-id header ("UBI!": volume id, logical block number, sequence
///   number, data size of static volumes, alignment padding);
/// - the volume table lives in the layout volume (id 0x7fffefff): 172-byte records with each
///   volume's name, type and alignment.
///
/// Each volume is assembled (logical blocks in order, the newest copy of each, unmapped ones
/// left erased) into a spool and carved: UBIFS, squashfs or anything else it holds is found
/// there. The PEB size is the distance between consecutive valid erase-counter headers.
enum UBIFormat: ImageFormat {
    static let name = "UBI"
    static let summary = "a UBI image"
    static let reader = "own reader (volume table, newest copy of each block); volumes carved; checked against ubireader"
    static let signatures = [FormatSignature("UBI#")]

    static let layoutVolume: UInt32 = 0x7fff_efff

    /// The erase-counter header at `offset`, validated (CRC), or nil.
    static func ecHeader(_ bytes: [UInt8], at offset: Int = 0) -> (vidOffset: UInt32, dataOffset: UInt32)? {
        guard bytes.count >= offset + 64, bytes.matches(Array("UBI#".utf8), at: offset), bytes[offset + 4] == 1 else { return nil }
        let crc = ~CRC32.of(bytes[offset..<(offset + 60)])
        guard crc == bytes.be32(offset + 60) else { return nil }
        return (bytes.be32(offset + 16), bytes.be32(offset + 20))
    }

    struct Block {
        var volume: UInt32
        var lnum: UInt32
        var sqnum: UInt64
        var dataSize: UInt32
        var dataPad: UInt32
        var copy: Bool
        var pebOffset: UInt64
    }

    struct Volume {
        var id: UInt32
        var name: String
        var isStatic: Bool
        var dataPad: UInt32
        var updateMarker: Bool
    }

    static func open(_ probe: FormatProbe, _ diagnostics: inout [Diagnostic]) -> ContainerNode? {
        guard let first = ecHeader(probe.head), first.vidOffset >= 64, first.dataOffset > first.vidOffset else { return nil }
        let region = probe.region
        // The PEB size: the nearest following valid EC header at a power-of-two distance.
        var pebSize: UInt64 = 0
        for shift in 9...22 {
            let distance = UInt64(1) << UInt64(shift)
            guard distance > UInt64(first.dataOffset), distance < region.size,
                  let next = try? region.read(at: distance, count: 64), ecHeader(next) != nil else { continue }
            pebSize = distance
            break
        }
        if pebSize == 0 { pebSize = region.size }   // a single erase block
        let vidOffset = UInt64(first.vidOffset), dataOffset = UInt64(first.dataOffset)
        guard pebSize > dataOffset else {
            var node = ContainerNode(format: "UBI", offset: probe.offset, size: region.size, details: [:])
            probe.fail(&node, "image.corrupt", "UBI image truncated: one erase block of \(region.size) bytes, data offset \(dataOffset)", &diagnostics)
            return node
        }
        var node = ContainerNode(format: "UBI", offset: probe.offset, size: nil,
                                 details: ["pebSize": String(pebSize), "dataOffset": String(dataOffset)])
        // Every PEB: the newest copy of each (volume, logical block).
        var newest: [UInt64: Block] = [:]
        var pebs: UInt64 = 0, bad = 0
        var position: UInt64 = 0
        while position + pebSize <= region.size || (position < region.size && pebs == 0) {
            guard let ec = try? region.read(at: position, count: 64), ecHeader(ec) != nil else {
                // 0xff-erased or bad blocks inside an image are skipped; anything else ends it.
                if let bytes = try? region.read(at: position, count: 64), bytes.allSatisfy({ $0 == 0xff }), position + pebSize < region.size {
                    position += pebSize
                    pebs += 1
                    continue
                }
                break
            }
            pebs += 1
            defer { position += pebSize }
            guard let vid = try? region.read(at: position + vidOffset, count: 64), vid.count == 64,
                  vid.matches(Array("UBI!".utf8), at: 0) else { continue }
            guard ~CRC32.of(vid[0..<60]) == vid.be32(60) else { bad += 1; continue }
            let block = Block(volume: vid.be32(8), lnum: vid.be32(12), sqnum: vid.be64(40), dataSize: vid.be32(20),
                              dataPad: vid.be32(28), copy: vid[6] != 0, pebOffset: position)
            let key = UInt64(block.volume) << 32 | UInt64(block.lnum)
            if let known = newest[key], known.sqnum > block.sqnum { continue }
            newest[key] = block
        }
        node.size = pebs * pebSize
        node.details["pebs"] = String(pebs)
        if bad > 0 {
            diagnostics.append(Diagnostic(.warning, .check, code: "image.crc-mismatch",
                "\(bad) UBI volume-id header(s) with a bad CRC ignored", at: probe.location))
        }
        // The volume table (layout volume, block 0; block 1 holds a copy).
        var volumes: [Volume] = []
        let lebSize = pebSize - dataOffset
        for copy: UInt32 in 0...1 {
            guard volumes.isEmpty, let layout = newest[UInt64(layoutVolume) << 32 | UInt64(copy)],
                  let table = try? region.read(at: layout.pebOffset + dataOffset, count: Int(min(lebSize, 128 * 172))) else { continue }
            for slot in 0..<(table.count / 172) {
                let at = slot * 172
                guard table.be32(at) > 0, ~CRC32.of(table[at..<(at + 168)]) == table.be32(at + 168) else { continue }
                let length = Int(min(UInt16(127), table.be16(at + 14)))
                volumes.append(Volume(id: UInt32(slot), name: String(decoding: table[(at + 16)..<(at + 16 + length)], as: UTF8.self),
                                      isStatic: table[at + 12] == 2, dataPad: table.be32(at + 8), updateMarker: table[at + 13] != 0))
            }
        }
        if volumes.isEmpty {
            // No readable volume table: every volume id seen, unnamed.
            let ids = Set(newest.values.map(\.volume)).filter { $0 < layoutVolume }.sorted()
            volumes = ids.map { Volume(id: $0, name: "volume\($0)", isStatic: false, dataPad: 0, updateMarker: false) }
            if !ids.isEmpty {
                diagnostics.append(Diagnostic(.warning, .check, code: "image.corrupt",
                    "the UBI volume table is unreadable; volumes are named by id", at: probe.location))
            }
        }
        node.details["volumes"] = volumes.map(\.name).joined(separator: ",")
        if probe.tooDeep(&node, &diagnostics) { return node }
        for volume in volumes {
            let blocks = newest.values.filter { $0.volume == volume.id }.sorted { $0.lnum < $1.lnum }
            guard !blocks.isEmpty else { continue }
            var child = ContainerNode(format: volume.name.isEmpty ? "volume\(volume.id)" : volume.name, offset: 0, size: nil,
                                      details: ["volume": String(volume.id), "type": volume.isStatic ? "static" : "dynamic",
                                                "blocks": String(blocks.count)])
            if volume.updateMarker {
                diagnostics.append(Diagnostic(.warning, .check, code: "image.corrupt",
                    "UBI volume '\(volume.name)' has its update marker set (an interrupted update): its content may be incomplete",
                    at: probe.location))
            }
            guard lebSize > UInt64(volume.dataPad) else {
                probe.fail(&child, "image.corrupt", "UBI volume '\(volume.name)': alignment padding larger than a block", &diagnostics)
                node.children.append(child)
                continue
            }
            let blockSize = lebSize - UInt64(volume.dataPad)
            let label = probe.treeName("UBI") + ":" + child.format
            do throws(ImageError) {
                let writer = try Spool.create(name: label)
                let erased = [UInt8](repeating: 0xff, count: Int(blockSize))
                var next: UInt32 = 0
                for block in blocks {
                    // Unmapped logical blocks read as erased flash.
                    while next < block.lnum, !volume.isStatic {
                        try writer.append(erased)
                        next += 1
                    }
                    let length = volume.isStatic ? Int(min(UInt64(block.dataSize), blockSize)) : Int(blockSize)
                    guard probe.scanner.budget.take(UInt64(length)) else {
                        throw ImageError(.limit, label, "the decompressed-size limit was reached (\(probe.scanner.budget.limit) bytes); raise --max-extracted")
                    }
                    var data = try region.read(at: block.pebOffset + dataOffset, count: length)
                    if data.count < length { data += [UInt8](repeating: 0xff, count: length - data.count) }
                    try writer.append(data)
                    next = block.lnum + 1
                }
                let spool = writer.finish()
                child.details["bytes"] = String(spool.size)
                child.children = probe.scanner.carve(ByteSource(file: spool), depth: probe.depth, where: label, diagnostics: &diagnostics)
            } catch {
                probe.fail(&child, "image." + error.code.rawValue, error.message, &diagnostics)
            }
            node.children.append(child)
        }
        return node
    }
}
