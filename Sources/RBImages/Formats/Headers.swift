import CZlib

/// Little helpers for fixed-layout headers.
extension Array where Element == UInt8 {
    func be32(_ at: Int) -> UInt32 {
        guard at + 4 <= count else { return 0 }
        return UInt32(self[at]) << 24 | UInt32(self[at + 1]) << 16 | UInt32(self[at + 2]) << 8 | UInt32(self[at + 3])
    }
    func le32(_ at: Int) -> UInt32 {
        guard at + 4 <= count else { return 0 }
        return UInt32(self[at]) | UInt32(self[at + 1]) << 8 | UInt32(self[at + 2]) << 16 | UInt32(self[at + 3]) << 24
    }
    func le16(_ at: Int) -> UInt16 {
        guard at + 2 <= count else { return 0 }
        return UInt16(self[at]) | UInt16(self[at + 1]) << 8
    }
    func le64(_ at: Int) -> UInt64 {
        guard at + 8 <= count else { return 0 }
        return UInt64(le32(at)) | UInt64(le32(at + 4)) << 32
    }
    func matches(_ magic: [UInt8], at: Int) -> Bool {
        at >= 0 && at + magic.count <= count && self[at..<(at + magic.count)].elementsEqual(magic)
    }
}

/// CRC-32 (zlib's: reflected 0xEDB88320, pre- and post-inverted), streamed over a byte range.
enum CRC32 {
    static func of(_ bytes: ArraySlice<UInt8>, seed: UInt = 0) -> UInt32 {
        bytes.withUnsafeBufferPointer { UInt32(crc32(seed, $0.baseAddress, uInt($0.count))) }
    }

    static func of(_ source: ByteSource, offset: UInt64, length: UInt64) throws(ImageError) -> UInt32 {
        var crc: UInt = 0
        var done: UInt64 = 0
        while done < length {
            let chunk = try source.read(at: offset + done, count: Int(min(length - done, 1 << 20)))
            if chunk.isEmpty { break }
            crc = chunk.withUnsafeBufferPointer { UInt(crc32(crc, $0.baseAddress, uInt($0.count))) }
            done += UInt64(chunk.count)
        }
        return UInt32(crc)
    }
}

/// U-Boot legacy image header (64 bytes, big endian): `include/image.h` in U-Boot.
struct UImageHeader {
    static let magic: [UInt8] = [0x27, 0x05, 0x19, 0x56]
    static let size = 64

    var headerCRC: UInt32
    var time: UInt32
    var dataSize: UInt32
    var load: UInt32
    var entry: UInt32
    var dataCRC: UInt32
    var os: UInt8
    var arch: UInt8
    var type: UInt8
    var compression: UInt8
    var name: String

    /// Parses and checks the header CRC; nil when `bytes` is not a valid header.
    init?(_ bytes: [UInt8]) {
        guard bytes.count >= UImageHeader.size, bytes.matches(UImageHeader.magic, at: 0) else { return nil }
        headerCRC = bytes.be32(4)
        var zeroed = Array(bytes[0..<UImageHeader.size])
        zeroed[4] = 0; zeroed[5] = 0; zeroed[6] = 0; zeroed[7] = 0
        guard CRC32.of(zeroed[...]) == headerCRC else { return nil }
        time = bytes.be32(8)
        dataSize = bytes.be32(12)
        load = bytes.be32(16)
        entry = bytes.be32(20)
        dataCRC = bytes.be32(24)
        os = bytes[28]
        arch = bytes[29]
        type = bytes[30]
        compression = bytes[31]
        let rawName = bytes[32..<64].prefix { $0 != 0 }
        name = String(decoding: rawName, as: UTF8.self)
    }

    var typeName: String {
        switch type {
        case 1: "standalone"
        case 2: "kernel"
        case 3: "ramdisk"
        case 4: "multi"
        case 5: "firmware"
        case 6: "script"
        case 7: "filesystem"
        case 8: "flat_dt"
        default: "type \(type)"
        }
    }

    var compressionName: String {
        switch compression {
        case 0: "none"
        case 1: "gzip"
        case 2: "bzip2"
        case 3: "lzma"
        case 4: "lzo"
        case 5: "lz4"
        case 6: "zstd"
        default: "compression \(compression)"
        }
    }
}

/// Broadcom TRX header (little endian): magic "HDR0", total length, CRC-32 of the rest, flags
/// and version, then 3 (v1) or 4 (v2) partition offsets from the header start.
struct TRXHeader {
    static let magic = Array("HDR0".utf8)

    var length: UInt32
    var crc: UInt32
    var version: UInt16
    var offsets: [UInt32]

    init?(_ bytes: [UInt8], available: UInt64) {
        guard bytes.count >= 28, bytes.matches(TRXHeader.magic, at: 0) else { return nil }
        length = bytes.le32(4)
        crc = bytes.le32(8)
        version = bytes.le16(14)
        guard version == 1 || version == 2, length >= 28, UInt64(length) <= available else { return nil }
        let count = version == 1 ? 3 : 4
        offsets = (0..<count).map { bytes.le32(16 + 4 * $0) }
        guard offsets.allSatisfy({ $0 == 0 || ($0 >= 28 && $0 < length) }) else { return nil }
    }
}
