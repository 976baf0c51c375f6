import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Runs blocking socket work on a Dispatch worker, off the cooperative pool: a stalled
/// connection waits out its deadline without starving the rules or other endpoints.
func blocking<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: work()) }
    }
}

/// Why an endpoint gave no facts at all: closed, not speaking the protocol, stalled.
public struct ProbeUnreachable: Error, Sendable {
    public var message: String
}

/// A TCP connection with deadlines on connect, send and receive (poll), so an unreachable host,
/// a closed port or a stalling server ends in a bounded time, never a hang. Public for endpoint
/// probes outside this module (one file per probe, `EndpointProbes`).
public final class TCPConnection {
    let fd: Int32

    public struct Failure: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Connects to `host` (an IPv4/IPv6 literal or a name) within `timeout` seconds.
    public init(host: String, port: UInt16, timeout: Double) throws(Failure) {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var results: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &results)
        guard rc == 0, let first = results else {
            throw Failure(message: "cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(results) }
        let fd = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw Failure(message: "socket: \(String(cString: strerror(errno)))") }
        if connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) != 0 && errno != EINPROGRESS {
            let message = String(cString: strerror(errno))
            close(fd)
            throw Failure(message: "connect to \(host):\(port): \(message)")
        }
        var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let ready = poll(&descriptor, 1, Int32(timeout * 1000))
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        guard ready == 1, error == 0 else {
            close(fd)
            throw Failure(message: ready == 0 ? "connect to \(host):\(port): timed out" : "connect to \(host):\(port): \(String(cString: strerror(error)))")
        }
        self.fd = fd
    }

    deinit { close(fd) }

    public func send(_ bytes: [UInt8], timeout: Double) throws(Failure) {
        var sent = 0
        while sent < bytes.count {
            var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard poll(&descriptor, 1, Int32(timeout * 1000)) == 1 else { throw Failure(message: "send timed out") }
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw Failure(message: "send: \(String(cString: strerror(errno)))")
            }
            sent += n
        }
    }

    /// Reads until `done(bytes)` holds, the peer closes, `limit` bytes came or `deadline` passes;
    /// throws only when the deadline or an error comes before the first byte.
    public func receive(until done: ([UInt8]) -> Bool, limit: Int, deadline: ContinuousClock.Instant) throws(Failure) -> [UInt8] {
        var received: [UInt8] = []
        while received.count < limit, !done(received) {
            let chunk: [UInt8]
            do { chunk = try receive(max: 16_384, deadline: deadline) } catch {
                if received.isEmpty { throw error }
                break
            }
            if chunk.isEmpty { break }
            received += chunk
        }
        return received
    }

    /// Up to `count` bytes, waiting at most until `deadline`; [] at end of stream.
    public func receive(max count: Int, deadline: ContinuousClock.Instant) throws(Failure) -> [UInt8] {
        while true {
            let remaining = deadline - ContinuousClock.now
            let milliseconds = remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000
            guard milliseconds > 0 else { throw Failure(message: "no answer within the timeout") }
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, Int32(min(milliseconds, 60_000)))
            if ready == 0 { continue }
            var buffer = [UInt8](repeating: 0, count: count)
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, count, 0) }
            if n < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw Failure(message: "receive: \(String(cString: strerror(errno)))")
            }
            return Array(buffer.prefix(n))
        }
    }
}
