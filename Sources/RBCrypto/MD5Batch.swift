import CMD5Lanes

/// MD5 of many messages at once: each message takes a vector lane (16 with AVX-512, 8 with
/// AVX2) and the lanes advance together, several times the throughput of one MD5 at a time
/// (whose dependent additions leave most of a core idle). For the read-ahead pass, which hashes
/// every file a package manifest lists.
///
/// `add` hands over a message with a number of the caller's choosing (its tag) and gives back
/// the digests of the messages that finished meanwhile; `finish` completes the rest. Messages are hashed in the order they fill lanes;
/// the batch holds at most `budget` bytes of messages (beyond that, `add` hashes until some
/// finish). Not shared between threads: one batch per worker.
///
/// `MD5Batch.width` is 0 on a processor without either vector unit: use `Digest(.md5)` there.
public final class MD5Batch {
    /// The lanes this processor hashes at once (0: no vector unit for it).
    public static var width: Int { Int(rb_md5_lanes_width()) }

    private struct Message {
        let bytes: [UInt8]
        let tag: Int
    }

    private struct Lane {
        let message: Message
        /// MD5's padded last block(s) once the message's whole blocks are done; nil before.
        var tail: [UInt8]?
        /// Blocks of the current part (the message's whole blocks, then the tail) done.
        var done = 0

        var source: [UInt8] { tail ?? message.bytes }
        /// Blocks left in the current part.
        var left: Int { source.count / 64 - done }
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
        self.alone = max(1, self.width / 4)
        lanes = Array(repeating: nil, count: self.width)
        pointers.initialize(repeating: nil, count: Int(RB_MD5_MAX_LANES))
    }

    deinit { pointers.deallocate() }

    /// Queues `bytes` under `tag`; returns the messages that finished meanwhile (possibly
    /// others than this one, possibly none).
    public func add(_ bytes: [UInt8], tag: Int) -> [(tag: Int, digest: [UInt8])] {
        queue.append(Message(bytes: bytes, tag: tag))
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

    /// Fills the idle lanes and advances the busy ones until the first of them completes its
    /// current part; false when nothing was left to do.
    private func step() -> Bool {
        for i in 0..<width where lanes[i] == nil && queueHead < queue.count {
            lanes[i] = Lane(message: queue[queueHead])
            rb_md5_lanes_reset(&state, Int32(i))
            queueHead += 1
        }
        if queueHead == queue.count {
            queue.removeAll(keepingCapacity: true)
            queueHead = 0
        } else if queueHead > 64 && queueHead * 2 > queue.count {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
        // A lane whose part is done moves on (a message shorter than a block has no whole
        // blocks: straight to its tail).
        for i in 0..<width { advanceIfDone(i) }
        let busy = (0..<width).filter { lanes[$0] != nil }
        guard !busy.isEmpty else { return false }
        if queueHead == queue.count && busy.count < alone {
            for i in busy { finishAlone(i) }
            return true
        }
        let blocks = busy.map { lanes[$0]!.left }.min()!
        withPointers(0) {
            rb_md5_lanes_blocks(&state, pointers, blocks, Int32(width))
        }
        for i in busy { lanes[i]!.done += blocks }
        for i in busy { advanceIfDone(i) }
        return true
    }

    /// Points `pointers[i]` at lane i's next block for every lane from `i` on, then runs `body`
    /// while the messages' storage is pinned.
    private func withPointers(_ i: Int, _ body: () -> Void) {
        guard i < width else { return body() }
        guard let lane = lanes[i] else {
            pointers[i] = nil
            return withPointers(i + 1, body)
        }
        lane.source.withUnsafeBufferPointer { buffer in
            pointers[i] = buffer.baseAddress.map { UnsafePointer($0 + lane.done * 64) }
            withPointers(i + 1, body)
        }
        pointers[i] = nil
    }

    /// Moves lane i from its body to its tail, or from its tail to done, when its part is over.
    private func advanceIfDone(_ i: Int) {
        guard let lane = lanes[i], lane.left == 0 else { return }
        if lane.tail == nil {
            lanes[i]!.tail = MD5Batch.tail(of: lane.message.bytes)
            lanes[i]!.done = 0
            return
        }
        var digest = [UInt8](repeating: 0, count: 16)
        for word in 0..<4 {
            let value = withUnsafeBytes(of: state.state) { raw in
                raw.load(fromByteOffset: (word * Int(RB_MD5_MAX_LANES) + i) * 4, as: UInt32.self)
            }
            for byte in 0..<4 { digest[word * 4 + byte] = UInt8(truncatingIfNeeded: value >> (8 * byte)) }
        }
        done.append((lane.message.tag, digest))
        held -= lane.message.bytes.count
        lanes[i] = nil
    }

    /// Finishes lane i one block at a time, without the vector unit.
    private func finishAlone(_ i: Int) {
        while let lane = lanes[i] {
            if lane.left > 0 {
                lane.source.withUnsafeBufferPointer { buffer in
                    rb_md5_lane_blocks(&state, Int32(i), buffer.baseAddress! + lane.done * 64, lane.left)
                }
                lanes[i]!.done += lane.left
            }
            advanceIfDone(i)
        }
    }

    /// The message's last partial block with MD5's padding: 0x80, zeros, the bit length as a
    /// little-endian 64-bit number; one block, or two when the length does not fit.
    static func tail(of bytes: [UInt8]) -> [UInt8] {
        let whole = bytes.count / 64 * 64
        var tail = Array(bytes[whole...])
        tail.append(0x80)
        let length = tail.count + 8 <= 64 ? 64 : 128
        tail += [UInt8](repeating: 0, count: length - 8 - tail.count)
        let bits = UInt64(bytes.count) &* 8
        for byte in 0..<8 { tail.append(UInt8(truncatingIfNeeded: bits >> (8 * byte))) }
        return tail
    }
}
