import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One run of a plugin written in Swift: the conversation with rbscan (protocol 1,
/// docs/plugins.md) over stdin and stdout. Reading the target's files goes through it only.
///
/// ```swift
/// import RBPluginSDK
///
/// PluginSession.main { session in
///     var observations: [Observation] = []
///     for entry in try session.list(["**/acme.conf"]) where entry.isFile {
///         guard let text = try session.readText(entry.path) else { continue }   // nil: binary
///         if text.contains("debug=1") {
///             observations.append(Observation(path: entry.path, message: "debug is on", key: "debug"))
///         }
///     }
///     return observations
/// }
/// ```
///
/// Requests rbscan refuses (a path outside the target, no such file, beyond `--max-file-size`)
/// throw its `ErrorAnswer`; a broken conversation throws `PluginSession.ProtocolError`.
public final class PluginSession {
    /// The run message: the check, the rule, its options, the target.
    public let run: RunRequest
    private let input: FileHandle
    private let output: FileHandle
    private var buffer = Data()
    private var finished = false

    /// A conversation over the given handles (a test's pipes); reads the run message.
    public init(input: FileHandle, output: FileHandle) throws {
        self.input = input
        self.output = output
        var buffer = Data()
        guard case .run(let run) = try Self.receive(from: input, buffer: &buffer) else {
            throw ProtocolError("the first message is not run")
        }
        guard run.protocol == PluginProtocol.version else {
            throw ProtocolError("rbscan speaks protocol \(run.protocol), this library \(PluginProtocol.version)")
        }
        self.run = run
        self.buffer = buffer
    }

    /// The conversation on stdin and stdout; reads the run message. Standard output is moved to
    /// standard error first: a stray `print` would otherwise be a line of the protocol (and end
    /// the run as "not a protocol message"); rbscan keeps the end of stderr for its diagnostic.
    public convenience init() throws {
        let protocolOutput = dup(STDOUT_FILENO)
        guard protocolOutput >= 0, dup2(STDERR_FILENO, STDOUT_FILENO) >= 0 else {
            throw ProtocolError("cannot set standard output aside: \(String(cString: strerror(errno)))")
        }
        try self.init(input: FileHandle.standardInput, output: FileHandle(fileDescriptor: protocolOutput, closeOnDealloc: true))
    }

    /// Runs a plugin: reads the run message, calls `body`, sends its observations as the result.
    /// A thrown error is written to stderr and the process exits 1 (rbscan reports
    /// `plugin.failed` with the end of stderr); rbscan closing the conversation exits quietly.
    public static func main(_ body: (PluginSession) throws -> [Observation]) -> Never {
        do {
            let session = try PluginSession()
            try session.result(try body(session))
            exit(0)
        } catch let error as ProtocolError where error.closed {
            exit(0)
        } catch {
            log("\(error)")
            exit(1)
        }
    }

    /// A line on stderr (what rbscan shows at the end of a `plugin.failed` diagnostic).
    public static func log(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    // MARK: Requests

    /// The target's entries matching rbscan's globs (`*`, `**`, `?`, `[…]`; target-relative), in
    /// the order that reads them fastest (an image's block order).
    public func list(_ globs: [String]) throws -> [FileEntry] {
        switch try request(.list(ListRequest(globs: globs))) {
        case .files(let answer): return answer.files
        case .error(let refusal): throw refusal
        default: throw ProtocolError("list was not answered with files")
        }
    }

    /// An entry's metadata (links followed inside the target).
    public func stat(_ path: String) throws -> StatAnswer {
        switch try request(.stat(StatRequest(path: path))) {
        case .stat(let answer): return answer
        case .error(let refusal): throw refusal
        default: throw ProtocolError("stat was not answered with stat")
        }
    }

    /// What one `read` answers: bytes, or (`unlessBinary` at offset 0) that the file is binary.
    public enum ReadAnswer: Sendable, Hashable {
        case data(DataAnswer)
        case binary(BinaryAnswer)
    }

    /// One range of a regular file: at most `PluginProtocol.maxRead` bytes from `offset`.
    public func read(_ path: String, offset: Int = 0, length: Int = PluginProtocol.maxRead, unlessBinary: Bool = false) throws -> ReadAnswer {
        switch try request(.read(ReadRequest(path: path, offset: offset, length: length, unlessBinary: unlessBinary))) {
        case .data(let answer): return .data(answer)
        case .binary(let answer): return .binary(answer)
        case .error(let refusal): throw refusal
        default: throw ProtocolError("read was not answered with data")
        }
    }

    /// A whole file, read in ranges up to its end (or `--max-file-size`, where rbscan stops); nil
    /// when `unlessBinary` and the file is binary.
    public func readAll(_ path: String, unlessBinary: Bool = false) throws -> Data? {
        var bytes = Data()
        while true {
            switch try read(path, offset: bytes.count, unlessBinary: unlessBinary && bytes.isEmpty) {
            case .binary: return nil
            case .data(let answer):
                bytes.append(answer.data)
                if answer.eof || answer.data.isEmpty { return bytes }
            }
        }
    }

    /// A text file as UTF-8 (invalid sequences replaced); nil when it is binary.
    public func readText(_ path: String) throws -> String? {
        try readAll(path, unlessBinary: true).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The last message: the observations (none is a pass). Nothing can be asked afterwards.
    public func result(_ observations: [Observation]) throws {
        try send(.result(ResultMessage(observations: observations)))
        finished = true
    }

    // MARK: The conversation

    /// A broken conversation: rbscan closed it, or answered something that is not protocol 1.
    public struct ProtocolError: Error, CustomStringConvertible {
        public var message: String
        /// rbscan closed the conversation (the run is over: its timeout, or rbscan ending).
        public var closed = false
        public init(_ message: String, closed: Bool = false) {
            self.message = message
            self.closed = closed
        }
        public var description: String { "rbscan plugin protocol: \(message)" }
    }

    func request(_ message: PluginMessage) throws -> HostMessage {
        try send(message)
        return try Self.receive(from: input, buffer: &buffer)
    }

    func send(_ message: PluginMessage) throws {
        guard !finished else { throw ProtocolError("the result is sent already") }
        do {
            try output.write(contentsOf: PluginCoding.line(message))
        } catch let error as EncodingError {
            throw error
        } catch {
            throw ProtocolError("rbscan closed the conversation", closed: true)
        }
    }

    /// The next line, decoded. Lines are read in chunks, and a line may be several MiB (a data answer).
    static func receive(from input: FileHandle, buffer: inout Data) throws -> HostMessage {
        while true {
            if let newline = buffer.firstIndex(of: 10) {
                let line = buffer[buffer.startIndex..<newline]
                defer { buffer.removeSubrange(buffer.startIndex...newline) }
                if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
                do {
                    return try PluginCoding.decoder.decode(HostMessage.self, from: Data(line))
                } catch {
                    throw ProtocolError("not a message of protocol \(PluginProtocol.version): \(error)")
                }
            }
            // One read(2) at a time: FileHandle's read(upToCount:) waits for the whole count, and
            // rbscan's answer may be shorter (then it waits for the next request: a deadlock).
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            var count: Int
            repeat { count = chunk.withUnsafeMutableBytes { Glibc.read(input.fileDescriptor, $0.baseAddress, $0.count) } } while count < 0 && errno == EINTR
            guard count > 0 else { throw ProtocolError("rbscan closed the conversation", closed: true) }
            buffer.append(contentsOf: chunk[..<count])
        }
    }
}
