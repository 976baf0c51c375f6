import CBzip2
import CLZ4
import CLZMA
import CZlib
import CZstd
import RBCore

/// The compressed-stream formats found in firmware.
public enum StreamCodec: String, Sendable, CaseIterable {
    case gzip, xz, lzma, bzip2, zstd, lz4

    /// From a uImage/FIT compression name or a format name; nil for one rbscan cannot decode.
    init?(name: String) {
        switch name {
        case "gzip", "gz": self = .gzip
        case "xz": self = .xz
        case "lzma": self = .lzma
        case "bzip2", "bz2": self = .bzip2
        case "zstd": self = .zstd
        case "lz4": self = .lz4
        default: return nil
        }
    }
}

/// What a decoder did with a stream.
struct DecodeOutcome {
    /// Compressed bytes the stream took: where the next container may start.
    var consumed: UInt64
    var produced: UInt64
    /// Why the stream ended before its end marker (truncated, corrupt after some output); nil
    /// when it ended properly.
    var problem: String?
}

/// Decodes compressed streams with the codecs' own libraries (zlib, liblzma, libbz2, libzstd,
/// liblz4), so that the exact compressed length is known: carving goes on right after a
/// stream's real end (a raw LZMA kernel has no length field; what follows it must still be
/// found). Output goes to a sink in pieces; nothing is held whole.
enum StreamDecoder {
    static let inputChunk = 1 << 20
    static let outputChunk = 1 << 18

    /// Decompresses `source` into an unlinked spool (against `budget`).
    static func decompress(_ codec: StreamCodec, _ source: ByteSource, name: String,
                           budget: ExtractionBudget) throws(ImageError) -> (spool: HostFile, consumed: UInt64, problem: String?) {
        let writer = try Spool.create(name: name)
        let outcome = try decode(codec, source, name: name) { (piece: UnsafeRawBufferPointer) throws(ImageError) in
            guard budget.take(UInt64(piece.count)) else {
                throw ImageError(.limit, name, "the decompressed-size limit was reached (\(budget.limit) bytes); raise --max-extracted")
            }
            try writer.append(piece)
        }
        return (writer.finish(), outcome.consumed, outcome.problem)
    }

    /// The compressed length of the stream at the start of `source` (decoded and discarded).
    static func measure(_ codec: StreamCodec, _ source: ByteSource, name: String) throws(ImageError) -> UInt64 {
        try decode(codec, source, name: name) { (_: UnsafeRawBufferPointer) throws(ImageError) in }.consumed
    }

    /// Runs the decoder over `source`, handing output to `sink`. Throws `.corrupt` when not even
    /// the start decodes (not that format after all); a stream that breaks off after producing
    /// output is returned with its `problem`.
    static func decode(_ codec: StreamCodec, _ source: ByteSource, name: String,
                       sink: (UnsafeRawBufferPointer) throws(ImageError) -> Void) throws(ImageError) -> DecodeOutcome {
        var engine: any DecoderEngine
        switch codec {
        case .gzip: engine = try ZlibEngine(windowBits: 16 + 15)
        case .xz: engine = try LZMAEngine(.xz)
        case .lzma: engine = try LZMAEngine(.alone)
        case .bzip2: engine = try Bzip2Engine()
        case .zstd: engine = try ZstdEngine()
        case .lz4: engine = try LZ4Engine()
        }
        return try run(&engine, source, name: name, codec: codec.rawValue, sink: sink)
    }

    private static func run(_ engine: inout any DecoderEngine, _ source: ByteSource, name: String, codec: String,
                            sink: (UnsafeRawBufferPointer) throws(ImageError) -> Void) throws(ImageError) -> DecodeOutcome {
        var consumed: UInt64 = 0
        var produced: UInt64 = 0
        var input: [UInt8] = []
        var inputOffset = 0
        var eof = false
        var stalls = 0
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: outputChunk, alignment: 16)
        defer { output.deallocate() }
        while true {
            if inputOffset == input.count && !eof {
                input = try source.read(at: consumed, count: inputChunk)
                inputOffset = 0
                eof = input.isEmpty || consumed + UInt64(input.count) >= source.size
            }
            let attempt: Result<DecoderStep, DecoderFailure> = input.withUnsafeBytes { raw in
                do throws(DecoderFailure) {
                    return .success(try engine.step(UnsafeRawBufferPointer(rebasing: raw[inputOffset...]), output, finishing: eof))
                } catch {
                    return .failure(error)
                }
            }
            let step: DecoderStep
            switch attempt {
            case .success(let done): step = done
            case .failure(let error):
                guard produced > 0 else {
                    throw ImageError(.corrupt, source.file.name, "not a valid \(codec) stream: \(error.message)", offset: source.base)
                }
                return DecodeOutcome(consumed: consumed, produced: produced, problem: "\(error.message) after \(produced) bytes")
            }
            inputOffset += step.consumed
            consumed += UInt64(step.consumed)
            if step.produced > 0 {
                try sink(UnsafeRawBufferPointer(rebasing: output[0..<step.produced]))
                produced += UInt64(step.produced)
            }
            if step.finished {
                // Several members/frames back to back are one stream (pigz, pzstd, pbzip2).
                let next = try source.read(at: consumed, count: 8)
                guard engine.continues(with: next) else {
                    return DecodeOutcome(consumed: consumed, produced: produced, problem: nil)
                }
                do { try engine.reset() } catch {
                    return DecodeOutcome(consumed: consumed, produced: produced, problem: nil)
                }
                continue
            }
            if step.consumed == 0 && step.produced == 0 {
                stalls += 1
                // Out of input (or a decoder that makes no progress): the stream is cut short.
                if (inputOffset == input.count && eof) || stalls > 2 {
                    guard produced > 0 else {
                        throw ImageError(.corrupt, source.file.name, "not a valid \(codec) stream: the data ends before any output", offset: source.base)
                    }
                    return DecodeOutcome(consumed: consumed, produced: produced, problem: "the compressed data ends before the end of the stream")
                }
            } else {
                stalls = 0
            }
        }
    }
}

struct DecoderStep {
    var consumed: Int
    var produced: Int
    var finished: Bool
}

struct DecoderFailure: Error {
    var message: String
}

/// One codec's streaming decoder: consumes input, fills output, says when its stream ended.
protocol DecoderEngine {
    mutating func step(_ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer, finishing: Bool) throws(DecoderFailure) -> DecoderStep
    /// Whether the bytes after a finished stream start another member of the same stream.
    func continues(with next: [UInt8]) -> Bool
    mutating func reset() throws(DecoderFailure)
}

extension DecoderEngine {
    func continues(with next: [UInt8]) -> Bool { false }
    mutating func reset() throws(DecoderFailure) {}

    /// Runs the decoder over one whole in-memory block into at most `room` bytes: the output and
    /// whether the stream ended (false: the input ran out or the output is full); nil on a
    /// decoding error.
    mutating func decodeBlock(_ input: UnsafeRawBufferPointer, room: Int) -> (bytes: [UInt8], ended: Bool)? {
        var out = [UInt8](repeating: 0, count: room)
        var consumed = 0, produced = 0
        while produced < room {
            let step: DecoderStep? = out.withUnsafeMutableBytes { o in
                try? self.step(UnsafeRawBufferPointer(rebasing: input[consumed...]), UnsafeMutableRawBufferPointer(rebasing: o[produced...]),
                               finishing: true)
            }
            guard let step else { return nil }
            consumed += step.consumed
            produced += step.produced
            if step.finished { return (Array(out.prefix(produced)), true) }
            if step.consumed == 0 && step.produced == 0 { break }
        }
        return (Array(out.prefix(produced)), false)
    }
}

final class ZlibEngine: DecoderEngine {
    private var stream = z_stream()
    private let windowBits: Int32

    init(windowBits: Int32) throws(ImageError) {
        self.windowBits = windowBits
        guard rb_inflate_init2(&stream, windowBits) == Z_OK else { throw ImageError(.unreadable, "zlib", "out of memory") }
    }

    deinit { inflateEnd(&stream) }

    func step(_ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer, finishing: Bool) throws(DecoderFailure) -> DecoderStep {
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        stream.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.avail_out = uInt(output.count)
        let rc = inflate(&stream, Z_NO_FLUSH)
        let consumed = input.count - Int(stream.avail_in), produced = output.count - Int(stream.avail_out)
        switch rc {
        case Z_OK: return DecoderStep(consumed: consumed, produced: produced, finished: false)
        case Z_STREAM_END: return DecoderStep(consumed: consumed, produced: produced, finished: true)
        case Z_BUF_ERROR: return DecoderStep(consumed: consumed, produced: produced, finished: false)
        default:
            let message = stream.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
            throw DecoderFailure(message: message)
        }
    }

    func continues(with next: [UInt8]) -> Bool { windowBits > 15 && next.matches([0x1f, 0x8b, 0x08], at: 0) }

    func reset() throws(DecoderFailure) {
        guard inflateReset(&stream) == Z_OK else { throw DecoderFailure(message: "cannot reset") }
    }
}

final class LZMAEngine: DecoderEngine {
    enum Kind { case xz, alone }
    private var stream = lzma_stream()
    private let kind: Kind

    init(_ kind: Kind) throws(ImageError) {
        self.kind = kind
        guard LZMAEngine.initialise(&stream, kind) == LZMA_OK else {
            throw ImageError(.unreadable, "liblzma", "cannot start the decoder (unsupported properties or out of memory)")
        }
    }

    private static func initialise(_ stream: inout lzma_stream, _ kind: Kind) -> lzma_ret {
        switch kind {
        case .xz: lzma_stream_decoder(&stream, UInt64.max, 0)
        case .alone: lzma_alone_decoder(&stream, UInt64.max)
        }
    }

    deinit { lzma_end(&stream) }

    func step(_ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer, finishing: Bool) throws(DecoderFailure) -> DecoderStep {
        stream.next_in = input.baseAddress?.assumingMemoryBound(to: UInt8.self)
        stream.avail_in = input.count
        stream.next_out = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
        stream.avail_out = output.count
        let rc = lzma_code(&stream, finishing && input.isEmpty ? LZMA_FINISH : LZMA_RUN)
        let consumed = input.count - stream.avail_in, produced = output.count - stream.avail_out
        switch rc {
        case LZMA_OK: return DecoderStep(consumed: consumed, produced: produced, finished: false)
        case LZMA_STREAM_END: return DecoderStep(consumed: consumed, produced: produced, finished: true)
        case LZMA_BUF_ERROR: return DecoderStep(consumed: consumed, produced: produced, finished: false)
        case LZMA_DATA_ERROR: throw DecoderFailure(message: "corrupt data")
        case LZMA_FORMAT_ERROR: throw DecoderFailure(message: "not this format")
        case LZMA_OPTIONS_ERROR: throw DecoderFailure(message: "unsupported options")
        case LZMA_MEM_ERROR, LZMA_MEMLIMIT_ERROR: throw DecoderFailure(message: "out of memory")
        default: throw DecoderFailure(message: "liblzma error \(rc.rawValue)")
        }
    }

    func continues(with next: [UInt8]) -> Bool {
        if case .xz = kind { return next.matches([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], at: 0) }
        return false
    }

    func reset() throws(DecoderFailure) {
        lzma_end(&stream)
        stream = lzma_stream()
        guard LZMAEngine.initialise(&stream, kind) == LZMA_OK else { throw DecoderFailure(message: "cannot restart") }
    }
}

final class Bzip2Engine: DecoderEngine {
    private var stream = bz_stream()

    init() throws(ImageError) {
        guard BZ2_bzDecompressInit(&stream, 0, 0) == BZ_OK else { throw ImageError(.unreadable, "libbz2", "out of memory") }
    }

    deinit { BZ2_bzDecompressEnd(&stream) }

    func step(_ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer, finishing: Bool) throws(DecoderFailure) -> DecoderStep {
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: CChar.self))
        stream.avail_in = UInt32(input.count)
        stream.next_out = output.baseAddress!.assumingMemoryBound(to: CChar.self)
        stream.avail_out = UInt32(output.count)
        let rc = BZ2_bzDecompress(&stream)
        let consumed = input.count - Int(stream.avail_in), produced = output.count - Int(stream.avail_out)
        switch rc {
        case BZ_OK: return DecoderStep(consumed: consumed, produced: produced, finished: false)
        case BZ_STREAM_END: return DecoderStep(consumed: consumed, produced: produced, finished: true)
        default: throw DecoderFailure(message: rc == BZ_DATA_ERROR_MAGIC ? "not this format" : "corrupt data (bzip2 error \(rc))")
        }
    }

    func continues(with next: [UInt8]) -> Bool { next.matches(Array("BZh".utf8), at: 0) }

    func reset() throws(DecoderFailure) {
        BZ2_bzDecompressEnd(&stream)
        stream = bz_stream()
        guard BZ2_bzDecompressInit(&stream, 0, 0) == BZ_OK else { throw DecoderFailure(message: "cannot restart") }
    }
}

final class ZstdEngine: DecoderEngine {
    private let context: OpaquePointer

    init() throws(ImageError) {
        guard let context = ZSTD_createDStream() else { throw ImageError(.unreadable, "libzstd", "out of memory") }
        self.context = context
        ZSTD_initDStream(context)
    }

    deinit { ZSTD_freeDStream(context) }

    func step(_ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer, finishing: Bool) throws(DecoderFailure) -> DecoderStep {
        var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        var outBuffer = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        let rc = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
        if ZSTD_isError(rc) != 0 { throw DecoderFailure(message: String(cString: ZSTD_getErrorName(rc))) }
        return DecoderStep(consumed: inBuffer.pos, produced: outBuffer.pos, finished: rc == 0)
    }

    func continues(with next: [UInt8]) -> Bool { next.matches([0x28, 0xb5, 0x2f, 0xfd], at: 0) }

    func reset() throws(DecoderFailure) { ZSTD_initDStream(context) }
}

final class LZ4Engine: DecoderEngine {
    private var context: OpaquePointer?

    init() throws(ImageError) {
        guard LZ4F_isError(LZ4F_createDecompressionContext(&context, rb_lz4f_version())) == 0, context != nil else {
            throw ImageError(.unreadable, "liblz4", "out of memory")
        }
    }

    deinit { LZ4F_freeDecompressionContext(context) }

    func step(_ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer, finishing: Bool) throws(DecoderFailure) -> DecoderStep {
        var inSize = input.count, outSize = output.count
        let rc = LZ4F_decompress(context, output.baseAddress, &outSize, input.baseAddress, &inSize, nil)
        if LZ4F_isError(rc) != 0 { throw DecoderFailure(message: String(cString: LZ4F_getErrorName(rc))) }
        return DecoderStep(consumed: inSize, produced: outSize, finished: rc == 0)
    }

    func continues(with next: [UInt8]) -> Bool { next.matches([0x04, 0x22, 0x4d, 0x18], at: 0) }

    func reset() throws(DecoderFailure) { LZ4F_resetDecompressionContext(context) }
}
