import CLZMA
import RBCore
import Synchronization

/// Decodes the compressed blocks of squashfs images written by vendor tools, whose LZMA blocks
/// are framed in several incompatible ways (the class sasquatch exists for). The variants, as
/// sasquatch's LZMA wrappers and 7-Zip's squashfs handler describe them, tried in this fixed
/// order (the first that decodes is remembered and tried first on the next block):
///
/// 1. `alone`: the 13-byte LZMA-alone header (properties byte, 32-bit dictionary size, 64-bit
///    uncompressed size), as mainline mksquashfs 4 and the sqlzma patch ("shsq") write it;
/// 2. `noSize`: properties and dictionary only, the raw stream at byte 5 (TP-Link and
///    Broadcom SDK builds: the 8-byte size field is missing);
/// 3. `alt`: the same 5-byte header at byte 0 or 4 (Broadcom's `decompress_lzma_7z`, and
///    images with 4 bytes of vendor junk before it), output exactly the expected size;
/// 4. `ddwrt`: 4 bytes pb, lc, lp, 0 then the raw stream (DD-WRT "hsqt"/"tqsh"), 8 MiB
///    dictionary;
/// 5. `headerless`: a raw stream with the default properties 0x5d (lc 3, lp 0, pb 2) and a
///    dictionary of the block size (7-Zip's rule when a block starts with a 0 byte);
/// 6. `adaptive`: raw LZMA at byte offsets 0–10 with every lc/lp/pb (lc + lp ≤ 4, each ≤ 4),
///    8 MiB dictionary: non-default properties without any header (sasquatch's
///    "lzma-adaptive"). Found once per image, then remembered.
///
/// zlib (the mainline compression of squashfs 1–3) is tried first when `zlibFirst` is set.
/// A block decodes when the output does not exceed what the block may hold and, where the
/// exact size is known, matches it.
final class SquashfsBlockDecoder: SquashfsBlockCodec {
    enum Variant: Sendable, Hashable, CustomStringConvertible {
        case zlib
        case alone
        case noSize
        case alt(offset: Int)
        case ddwrt
        case headerless
        case adaptive(offset: Int, lc: UInt32, lp: UInt32, pb: UInt32)

        var description: String {
            switch self {
            case .zlib: "zlib"
            case .alone: "lzma"
            case .noSize: "lzma (no size field)"
            case .alt(let offset): "lzma (5-byte header at \(offset))"
            case .ddwrt: "lzma (DD-WRT)"
            case .headerless: "lzma (no header)"
            case .adaptive(let offset, let lc, let lp, let pb): "lzma (raw at \(offset), lc \(lc) lp \(lp) pb \(pb))"
            }
        }
    }

    let zlibFirst: Bool
    let blockSize: Int
    private let remembered = Mutex<Variant?>(nil)
    /// The variant that decoded the last block (for `rbscan inspect`).
    var variant: Variant? { remembered.withLock { $0 } }

    init(zlibFirst: Bool, blockSize: Int) {
        self.zlibFirst = zlibFirst
        self.blockSize = blockSize
    }

    /// Decodes one block into at most `capacity` bytes; `exact` when the output size is known.
    /// nil when no variant decodes it.
    func decode(_ input: UnsafeRawBufferPointer, capacity: Int, exact: Bool) -> [UInt8]? {
        if let known = remembered.withLock({ $0 }), let out = attempt(known, input, capacity: capacity, exact: exact) {
            return out
        }
        var ladder: [Variant] = zlibFirst ? [.zlib] : []
        ladder += [.alone, .noSize, .alt(offset: 0), .alt(offset: 4), .ddwrt, .headerless]
        if !zlibFirst { ladder.append(.zlib) }
        for variant in ladder {
            if let out = attempt(variant, input, capacity: capacity, exact: exact) {
                remembered.withLock { $0 = variant }
                return out
            }
        }
        for offset in 0...10 {
            for pb: UInt32 in 0...4 {
                for lp: UInt32 in 0...4 {
                    for lc: UInt32 in 0...4 where lc + lp <= 4 {
                        let variant = Variant.adaptive(offset: offset, lc: lc, lp: lp, pb: pb)
                        if let out = attempt(variant, input, capacity: capacity, exact: exact) {
                            remembered.withLock { $0 = variant }
                            return out
                        }
                    }
                }
            }
        }
        return nil
    }

    private func attempt(_ variant: Variant, _ input: UnsafeRawBufferPointer, capacity: Int, exact: Bool) -> [UInt8]? {
        let bytes = input.bindMemory(to: UInt8.self)
        func props(_ at: Int) -> (lc: UInt32, lp: UInt32, pb: UInt32)? {
            guard at < bytes.count else { return nil }
            let p = UInt32(bytes[at])
            guard p < 225 else { return nil }
            let lc = p % 9, lp = (p / 9) % 5, pb = p / 45
            return lc + lp <= 4 ? (lc, lp, pb) : nil
        }
        func dictionary(_ at: Int) -> UInt32? {
            guard at + 4 <= bytes.count else { return nil }
            let d = UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
            return d >= 4096 && d <= 1 << 28 ? d : nil
        }
        switch variant {
        case .zlib:
            guard bytes.count >= 2, bytes[0] & 0x0f == 8, (UInt16(bytes[0]) << 8 | UInt16(bytes[1])) % 31 == 0 else { return nil }
            guard let out = inflateBlock(Array(bytes), capacity: capacity) else { return nil }
            return !exact || out.count == capacity ? out : nil
        case .alone:
            guard let (lc, lp, pb) = props(0), let dict = dictionary(1), bytes.count > 13 else { return nil }
            var size: UInt64 = 0
            for i in 0..<8 { size |= UInt64(bytes[5 + i]) << (8 * UInt64(i)) }
            guard size <= UInt64(capacity), !exact || size == UInt64(capacity) else { return nil }
            return raw(bytes, from: 13, dict: dict, lc: lc, lp: lp, pb: pb, capacity: Int(size), exact: true)
        case .noSize:
            guard let (lc, lp, pb) = props(0), let dict = dictionary(1), bytes.count > 9 else { return nil }
            let low = UInt32(bytes[5]) | UInt32(bytes[6]) << 8 | UInt32(bytes[7]) << 16 | UInt32(bytes[8]) << 24
            guard low > UInt32(capacity) else { return nil }   // a size field would fit: that is `alone`
            return raw(bytes, from: 5, dict: dict, lc: lc, lp: lp, pb: pb, capacity: capacity, exact: exact)
        case .alt(let offset):
            guard let (lc, lp, pb) = props(offset), lc + lp + pb > 0, pb <= 4, let dict = dictionary(offset + 1) else { return nil }
            return raw(bytes, from: offset + 5, dict: dict, lc: lc, lp: lp, pb: pb, capacity: capacity, exact: exact)
        case .ddwrt:
            guard bytes.count > 4 else { return nil }
            let pb = UInt32(bytes[0]), lc = UInt32(bytes[1]), lp = UInt32(bytes[2])
            guard pb <= 4, lc <= 4, lp <= 4, lc + lp <= 4 else { return nil }
            return raw(bytes, from: 4, dict: 1 << 23, lc: lc, lp: lp, pb: pb, capacity: capacity, exact: exact)
        case .headerless:
            guard bytes.count > 1, bytes[0] == 0 else { return nil }
            return raw(bytes, from: 0, dict: UInt32(max(blockSize, 4096)), lc: 3, lp: 0, pb: 2, capacity: capacity, exact: exact)
        case .adaptive(let offset, let lc, let lp, let pb):
            guard bytes.count > offset + 1, bytes[offset] == 0 else { return nil }   // a range coder starts with 0
            return raw(bytes, from: offset, dict: 1 << 23, lc: lc, lp: lp, pb: pb, capacity: capacity, exact: exact)
        }
    }

    /// A raw LZMA1 decode of `bytes[from...]`. With `exact`, the output must fill `capacity`
    /// (the stream may hold no end marker: decoding stops there). Otherwise it is accepted when
    /// it consumed the whole input or reached its end marker without error, within `capacity`
    /// (one byte of room beyond it tells "too much output" from "exactly full").
    private func raw(_ bytes: UnsafeBufferPointer<UInt8>, from: Int, dict: UInt32, lc: UInt32, lp: UInt32, pb: UInt32,
                     capacity: Int, exact: Bool) -> [UInt8]? {
        guard from < bytes.count, capacity > 0 else { return nil }
        var out = [UInt8](repeating: 0, count: exact ? capacity : capacity + 1)
        var consumed = 0
        var ended: Int32 = 0
        let produced = out.withUnsafeMutableBufferPointer { o in
            rb_lzma1_raw_block(bytes.baseAddress! + from, bytes.count - from, o.baseAddress, o.count, dict, lc, lp, pb, &consumed, &ended)
        }
        if exact { return produced == capacity ? out : nil }
        guard produced > 0, produced <= capacity, ended != 0 || consumed == bytes.count - from else { return nil }
        out.removeSubrange(produced...)
        return out
    }
}

/// Decodes one compressed squashfs block (metadata or data) into at most `capacity` bytes.
protocol SquashfsBlockCodec: Sendable {
    func decode(_ input: UnsafeRawBufferPointer, capacity: Int, exact: Bool) -> [UInt8]?
}

/// xz and zstd blocks (squashfs 4.0 compression ids 4 and 6): each block is one stream.
struct StreamBlockCodec: SquashfsBlockCodec {
    let codec: StreamCodec

    func decode(_ input: UnsafeRawBufferPointer, capacity: Int, exact: Bool) -> [UInt8]? {
        var engine: any DecoderEngine
        do {
            switch codec {
            case .xz: engine = try LZMAEngine(.xz)
            case .zstd: engine = try ZstdEngine()
            default: return nil
            }
        } catch {
            return nil
        }
        // One byte of room beyond the capacity tells "too much output" from "exactly full".
        guard let result = engine.decodeBlock(input, room: capacity + 1) else { return nil }
        guard result.bytes.count <= capacity, !exact || result.bytes.count == capacity else { return nil }
        return result.bytes
    }
}
