import CMD5Lanes

/// MD5 of many messages at once: each message takes a vector lane (16 with AVX-512, 8 with
/// AVX2) and the lanes advance together, several times the throughput of one MD5 at a time
/// (whose dependent additions leave most of a core idle). For the read-ahead pass, which hashes
/// every file a package manifest lists.
///
/// `add` hands over a copy of a message with a number of the caller's choosing (its tag) and
/// gives back the digests of the messages that finished meanwhile; `finish` completes the rest.
/// Messages fill lanes in the order they come; the batch holds at most `budget` bytes of
/// messages (beyond that, `add` hashes until some finish). Not shared between threads: one
/// batch per worker.
///
/// `MD5Batch.width` is 0 on a processor without either vector unit: use `Digest(.md5)` there.
public final class MD5Batch {
    /// The lanes this processor hashes at once (0: no vector unit for it).
    public static var width: Int { Int(rb_md5_lanes_width()) }

    /// A message copied with MD5's padding after it (so a lane reads it straight through, and
    /// its storage stays put until its digest is out).
    private struct Message {
        let blocks: UnsafeMutableRawBufferPointer
        let count: Int
        let tag: Int
    }

    private struct Lane {
        let message: Message
        /// Blocks done.
        var done = 0
        var left: Int { message.blocks.count / 64 - done }
        var next: UnsafePointer<UInt8> { UnsafePointer(message.blocks.baseAddress!.assumingMemoryBound(to: UInt8.self) + done * 64) }
    }

    private let width: Int
    private let budget: Int
    /// Fewer lanes than this left busy, with nothing queued: they finish one by one (a vector
    /// step costs the same however few lanes it advances).
    private let alone: Int
    private var lanes: [Lane?]
    private var queue: [Message] = []
    private var queueHead = 0
    private var held = 0
    private var state = rb_md5_lanes()
    private var done: [(tag: Int, digest: [UInt8])] = []
    private let pointers = UnsafeMutablePointer<UnsafePointer<UInt8>?>.allocate(capacity: Int(RB_MD5_MAX_LANES))

    /// `width` lanes (at most the processor's, `MD5Batch.width`; a test may ask for fewer to
    /// exercise the narrower kernel); at most `budget` bytes of messages held.
    public init(width: Int = MD5Batch.width, budget: Int = 16 << 20) {
        self.width = max(1, min(width, Int(RB_MD5_MAX_LANES)))
        self.budget = budget
        // One lane of a vector step advances at 1/width of its throughput, which is 8-11 times
        // one scalar MD5's here: two lanes or more are still faster abreast.
        self.alone = min(2, self.width)
        lanes = Array(repeating: nil, count: self.width)
        pointers.initialize(repeating: nil, count: Int(RB_MD5_MAX_LANES))
    }

    deinit {
        for lane in lanes { lane?.message.blocks.deallocate() }
        for message in queue[queueHead...] { message.blocks.deallocate() }
        pointers.deallocate()
    }

    /// Queues a copy of `bytes` under `tag`; returns the messages that finished meanwhile
    /// (possibly others than this one, possibly none).
    public func add(_ bytes: [UInt8], tag: Int) -> [(tag: Int, digest: [UInt8])] {
        queue.append(MD5Batch.padded(bytes, tag: tag))
        held += bytes.count
        while held > budget || queue.count - queueHead > width {
            guard step() else { break }
        }
        return takeDone()
    }

    /// Completes every message queued; the batch is then empty and can be used again.
    public func finish() -> [(tag: Int, digest: [UInt8])] {
        while step() {}
        return takeDone()
    }

    private func takeDone() -> [(tag: Int, digest: [UInt8])] {
        defer { done.removeAll(keepingCapacity: true) }
        return done
    }

    /// Fills the idle lanes and advances the busy ones until the first of them completes; false
    /// when nothing was left to do.
    private func step() -> Bool {
        var busy = 0
        var blocks = Int.max
        for i in 0..<width {
            if lanes[i] == nil, queueHead < queue.count {
                lanes[i] = Lane(message: queue[queueHead])
                rb_md5_lanes_reset(&state, Int32(i))
                queueHead += 1
            }
            if let lane = lanes[i] {
                busy += 1
                blocks = min(blocks, lane.left)
                pointers[i] = lane.next
            } else {
                pointers[i] = nil
            }
        }
        if queueHead == queue.count {
            queue.removeAll(keepingCapacity: true)
            queueHead = 0
        } else if queueHead > 64 && queueHead * 2 > queue.count {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
        guard busy > 0 else { return false }
        if queueHead == queue.count && busy < alone {
            for i in 0..<width { if let lane = lanes[i] { rb_md5_lane_blocks(&state, Int32(i), lane.next, lane.left); complete(i) } }
            return true
        }
        rb_md5_lanes_blocks(&state, pointers, blocks, Int32(width))
        for i in 0..<width where lanes[i] != nil {
            lanes[i]!.done += blocks
            if lanes[i]!.left == 0 { complete(i) }
        }
        return true
    }

    /// Takes lane i's digest out and frees its message.
    private func complete(_ i: Int) {
        guard let lane = lanes[i] else { return }
        var digest = [UInt8](repeating: 0, count: 16)
        withUnsafeBytes(of: state.state) { raw in
            for word in 0..<4 {
                let value = raw.load(fromByteOffset: (word * Int(RB_MD5_MAX_LANES) + i) * 4, as: UInt32.self)
                for byte in 0..<4 { digest[word * 4 + byte] = UInt8(truncatingIfNeeded: value >> (8 * byte)) }
            }
        }
        done.append((lane.message.tag, digest))
        held -= lane.message.count
        lane.message.blocks.deallocate()
        lanes[i] = nil
    }

    /// A copy of `bytes` followed by MD5's padding: 0x80, zeros, the bit length as a
    /// little-endian 64-bit number, to a whole number of blocks.
    private static func padded(_ bytes: [UInt8], tag: Int) -> Message {
        let count = bytes.count
        let length = (count + 1 + 8 + 63) / 64 * 64
        let blocks = UnsafeMutableRawBufferPointer.allocate(byteCount: length, alignment: 64)
        bytes.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: blocks[..<count]).copyMemory(from: $0) }
        blocks[count] = 0x80
        blocks.baseAddress!.advanced(by: count + 1).initializeMemory(as: UInt8.self, repeating: 0, count: length - 8 - count - 1)
        let bits = UInt64(count) &* 8
        for byte in 0..<8 { blocks[length - 8 + byte] = UInt8(truncatingIfNeeded: bits >> (8 * byte)) }
        return Message(blocks: blocks, count: count, tag: tag)
    }
}
