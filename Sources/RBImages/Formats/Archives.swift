import RBCore

/// An uncompressed archive found by carving, read by libarchive (`ArchiveTree`); its members
/// that are images are carved in turn.
protocol ArchiveFormat: ImageFormat {
    /// Header checks beyond the magic.
    static func plausible(_ head: [UInt8]) -> Bool
    /// Where the archive ends, when the format says so before it is read (zip, 7z); tar and cpio
    /// are measured by reading them.
    static func extent(_ probe: FormatProbe) -> UInt64?
}

extension ArchiveFormat {
    static var reader: String { "libarchive; members that are images carved" }
    static func extent(_ probe: FormatProbe) -> UInt64? { nil }

    static func open(_ probe: FormatProbe, _ diagnostics: inout [Diagnostic]) -> ContainerNode? {
        guard plausible(probe.head) else { return nil }
        return probe.scanner.openArchive(probe, extent: extent(probe), diagnostics: &diagnostics)
    }
}

enum CpioFormat: ArchiveFormat {
    static let name = "cpio"
    static let summary = "a cpio archive"
    static let signatures = [FormatSignature("07070")]
    static func plausible(_ head: [UInt8]) -> Bool { head.count > 6 && [0x31, 0x32, 0x37].contains(head[5]) }
}

enum TarFormat: ArchiveFormat {
    static let name = "tar"
    static let summary = "a tar archive"
    static let signatures = [FormatSignature("ustar", at: 257)]

    /// The header checksum (the sum of the header bytes with the checksum field as spaces).
    static func plausible(_ head: [UInt8]) -> Bool {
        guard head.count >= 512 else { return false }
        let stored = head[148..<156].filter { (0x30...0x37).contains($0) }
        guard let checksum = Int(String(decoding: stored, as: UTF8.self), radix: 8) else { return false }
        var sum = 0
        for (i, byte) in head[0..<512].enumerated() { sum += (148..<156).contains(i) ? 32 : Int(byte) }
        return sum == checksum
    }
}

enum ZipFormat: ArchiveFormat {
    static let name = "zip"
    static let summary = "a zip archive"
    static let signatures = [FormatSignature([0x50, 0x4b, 0x03, 0x04])]
    static func plausible(_ head: [UInt8]) -> Bool { head.count >= 30 }

    /// The end of the end-of-central-directory record whose directory lies inside the archive
    /// (searched backwards from the end of the range, as zip readers do).
    static func extent(_ probe: FormatProbe) -> UInt64? {
        let region = probe.region
        let tailLength = min(region.size, UInt64(65535 + 22) + (1 << 20))
        let tailStart = region.size - tailLength
        guard let tail = try? region.read(at: tailStart, count: Int(tailLength)), tail.count >= 22 else { return nil }
        var i = tail.count - 22
        while i >= 0 {
            if tail[i] == 0x50, tail.matches([0x50, 0x4b, 0x05, 0x06], at: i) {
                let directorySize = UInt64(tail.le32(i + 12)), directoryOffset = UInt64(tail.le32(i + 16))
                let at = tailStart + UInt64(i)
                if directoryOffset + directorySize == at {
                    return at + 22 + UInt64(tail.le16(i + 20))
                }
            }
            i -= 1
        }
        return nil
    }
}

enum SevenZipFormat: ArchiveFormat {
    static let name = "7z"
    static let summary = "a 7-Zip archive"
    static let signatures = [FormatSignature([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c])]
    static func plausible(_ head: [UInt8]) -> Bool { head.count >= 32 }

    /// The signature header's next-header offset and size (from byte 32).
    static func extent(_ probe: FormatProbe) -> UInt64? {
        let end = 32 + probe.head.le64(12) + probe.head.le64(20)
        return end <= probe.available ? end : nil
    }
}
