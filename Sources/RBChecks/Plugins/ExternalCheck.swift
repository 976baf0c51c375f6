import Foundation
import CSafeSystem
import RBCore
import RBPluginSDK

#if canImport(Glibc)
import Glibc
#endif

/// One rule's use of an external plugin's check. Each run starts the plugin's command in an empty
/// private temporary directory with a cleared environment (PATH=/usr/bin:/bin, HOME and TMPDIR
/// the working directory, LANG=C.UTF-8), speaks protocol 1 with it over stdin/stdout (JSON lines),
/// serves its `list`, `stat` and `read` requests from the target's tree (in-process: an image is
/// never extracted for a plugin, and no path outside the target resolves), and turns its `result`
/// into observations. A plugin that exits early, crashes, hangs past its timeout, prints invalid
/// JSON or more than the output limits gets a diagnostic naming it (the check is incomplete,
/// exit 3) and the scan goes on.
struct ExternalCheck: Check {
    struct Options: Decodable, Sendable {}
    static let id = "plugin"
    static let summary = "An external plugin's check."
    static let targetKinds = Set(TargetKind.allCases)

    /// Bytes one protocol line from a plugin may hold, and all its lines together.
    static let maxLine = 4 << 20
    static let maxOutput = 64 << 20
    /// Bytes one `read` answers at most (a plugin reads larger files in ranges).
    static let maxRead = PluginProtocol.maxRead

    let plugin: Plugin
    let spec: Plugin.Spec
    let options: JSONValue

    init(options: Options) throws(CheckOptionError) { throw CheckOptionError("an external check is made by its plugin") }

    init(plugin: Plugin, spec: Plugin.Spec, options: JSONValue) {
        self.plugin = plugin
        self.spec = spec
        self.options = options
    }

    var costHint: Int { spec.wholeTree ? Engine.wholeTreeCost : 4 }

    func run(in context: CheckContext) async throws -> [RBCore.Observation] {
        guard spec.targets.contains(context.kind) else { return [] }
        let box = ResultBox()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                box.value = self.session(context)
                continuation.resume()
            }
        }
        switch box.value {
        case .success(let observations):
            return observations
        case .failure(let problem):
            context.report("plugin \(plugin.id) \(plugin.version) (check \(spec.id)): \(problem.message)", code: "plugin.failed")
            return []
        case nil:
            return []
        }
    }

    final class ResultBox: @unchecked Sendable {
        var value: Result<[RBCore.Observation], Problem>?
    }

    struct Problem: Error { var message: String }

    // MARK: The session

    func session(_ context: CheckContext) -> Result<[RBCore.Observation], Problem> {
        let work: String
        do { work = try Self.temporaryDirectory() } catch { return .failure(Problem(message: "cannot make its working directory: \(error)")) }
        defer { try? FileManager.default.removeItem(atPath: work) }
        let child: SpawnedPlugin
        do {
            child = try SpawnedPlugin(command: plugin.command, directory: work,
                                      environment: ["PATH=/usr/bin:/bin", "HOME=\(work)", "TMPDIR=\(work)", "LANG=C.UTF-8"])
        } catch {
            return .failure(Problem(message: "cannot start \(plugin.command[0]): \(error.message)"))
        }
        let writer = child.stdin
        // Writes wait for the plugin under the same deadline as reads: a plugin that stops
        // reading its stdin (while asking for more) must not block the scan.
        _ = fcntl(writer, F_SETFL, fcntl(writer, F_GETFL) | O_NONBLOCK)
        let deadline = Date().addingTimeInterval(plugin.timeout)
        var channel = Channel(stdout: child.stdout, stderr: child.stderr, deadline: deadline)
        // Whatever happens, the plugin and everything it started (its process group) end with the run.
        defer { child.finish() }
        func fail(_ message: String) -> Result<[RBCore.Observation], Problem> {
            let status = child.finish()
            let tail = channel.stderrTail.isEmpty ? "" : "; its stderr ends: " + String(decoding: channel.stderrTail.suffix(400), as: UTF8.self)
                .replacingOccurrences(of: "\n", with: " ⏎ ")
            return .failure(Problem(message: "\(message) (\(status))\(tail)"))
        }
        let target = RunRequest.Target(kind: context.kind.rawValue, name: context.target.spec, hasMetadata: context.tree?.hasMetadata ?? false)
        let endpoint = context.target.endpoint.map { RunRequest.Endpoint(scheme: $0.scheme, host: $0.host, port: Int($0.port)) }
        let request = RunRequest(check: spec.id, rule: context.ruleID, options: options, target: target, endpoint: endpoint)
        switch Self.send(.run(request), to: writer, deadline: deadline) {
        case .sent: break
        case .timeout: return fail("the plugin did not read its request within \(Int(plugin.timeout)) s (timeout)")
        case .closed: return fail("the plugin closed its input before the request")
        }
        while true {
            let line: [UInt8]
            switch channel.nextLine() {
            case .line(let bytes): line = bytes
            case .timeout: return fail("no answer within \(Int(plugin.timeout)) s (timeout)")
            case .closed: return fail("the plugin ended without a result")
            case .tooLong: return fail("a line longer than \(Self.maxLine >> 20) MiB (output limit)")
            case .tooMuch: return fail("more than \(Self.maxOutput >> 20) MiB of output (output limit)")
            }
            if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
            let message: PluginMessage
            do {
                message = try PluginCoding.decoder.decode(PluginMessage.self, from: Data(line))
            } catch let unknown as UnknownMessageType {
                return fail(unknown.description)
            } catch {
                return fail("not a protocol message (\(Self.describe(error))): " + String(decoding: line.prefix(120), as: UTF8.self))
            }
            let answer: HostMessage
            switch message {
            case .result(let result): return parse(result.observations)
            case .list(let list): answer = serve(list, context: context)
            case .stat(let stat): answer = serve(stat, context: context)
            case .read(let read): answer = serve(read, context: context)
            }
            switch Self.send(answer, to: writer, deadline: deadline) {
            case .sent: break
            case .timeout: return fail("the plugin stopped reading the answers to its requests; none taken within \(Int(plugin.timeout)) s (timeout)")
            case .closed: return fail("the plugin closed its input")
            }
        }
    }

    /// What was wrong with a message that did not decode, in a few words (the field's path).
    static func describe(_ error: any Error) -> String {
        func at(_ path: [any CodingKey]) -> String {
            path.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined().drop { $0 == "." }.description
        }
        switch error as? DecodingError {
        case .keyNotFound(let key, let context)?: return "no \(at(context.codingPath + [key]))"
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?:
            return context.codingPath.isEmpty ? "not a JSON object" : "\(at(context.codingPath)) has the wrong type"
        case .dataCorrupted(let context)?: return context.codingPath.isEmpty ? "not JSON" : "\(at(context.codingPath)) is invalid"
        default: return "\(error)"
        }
    }

    /// Answers a file request from the target's tree only: paths are image-relative, `..`
    /// components and absolute paths are refused, links resolve inside the tree.
    func serve(_ request: ListRequest, context: CheckContext) -> HostMessage {
        guard let tree = context.tree else { return Self.noFiles }
        var globs: [Glob] = []
        for pattern in request.globs ?? ["**"] {
            guard let glob = try? Glob(pattern) else { return .error(ErrorAnswer(message: "invalid glob '\(pattern)'")) }
            globs.append(glob)
        }
        // In the order that reads them fastest (an image's block order): a plugin reading the
        // list in turn decompresses each shared block once.
        let entries = tree.readOrder(Array(tree.index.entries(matching: globs).prefix(100_000)))
        return .files(FilesAnswer(files: entries.map { RBPluginSDK.FileEntry(path: $0.path, type: $0.type.rawValue, size: Int($0.size), mode: Int($0.mode)) }))
    }

    func serve(_ request: StatRequest, context: CheckContext) -> HostMessage {
        guard let tree = context.tree else { return Self.noFiles }
        guard let path = Self.safePath(request.path) else { return Self.outside(request.path) }
        guard let entry = tree.index.resolve(path) else { return .error(ErrorAnswer(path: path, message: "no such file in the target")) }
        return .stat(StatAnswer(path: path, fileType: entry.type.rawValue, size: Int(entry.size), mode: Int(entry.mode),
                                uid: Int(entry.uid), gid: Int(entry.gid), link: tree.index.entry(at: path)?.linkTarget))
    }

    func serve(_ request: ReadRequest, context: CheckContext) -> HostMessage {
        guard let tree = context.tree else { return Self.noFiles }
        guard let path = Self.safePath(request.path) else { return Self.outside(request.path) }
        guard let entry = tree.index.resolve(path) else { return .error(ErrorAnswer(path: path, message: "no such file in the target")) }
        guard entry.type == .file else { return .error(ErrorAnswer(path: path, message: "not a regular file")) }
        let offset = max(0, request.offset ?? 0)
        let length = min(max(0, request.length ?? Self.maxRead), Self.maxRead)
        guard offset < context.limits.maxFileBytes || offset >= Int(entry.size) else {
            return .error(ErrorAnswer(path: path, message: "beyond the per-file read limit (--max-file-size)"))
        }
        // Through the scan's content cache (what the read-ahead pass and other rules read is not
        // decompressed again), within --max-file-size. `unlessBinary`: a file whose first 8 KiB
        // hold a NUL byte is answered `binary` without its bytes (the read-ahead pass knows it).
        let content: FileContent
        if request.unlessBinary == true, offset == 0 {
            guard let text = context.readUnlessBinary(entry) else { return .binary(BinaryAnswer(path: path, size: Int(entry.size))) }
            content = text
        } else {
            guard let whole = context.read(entry) else { return .error(ErrorAnswer(path: path, message: "unreadable (see the diagnostics)")) }
            content = whole
        }
        let end = min(offset + length, content.bytes.count)
        let bytes = offset < end ? content.bytes[offset..<end] : []
        return .data(DataAnswer(path: path, offset: offset, size: Int(entry.size),
                                eof: offset + bytes.count >= Int(entry.size) || content.truncated && end == content.bytes.count,
                                data: Data(bytes)))
    }

    static let noFiles = HostMessage.error(ErrorAnswer(message: "this target has no files (an endpoint)"))

    static func outside(_ raw: String) -> HostMessage {
        .error(ErrorAnswer(path: raw, message: "'\(raw)' is not a path inside the target (relative, no '..')"))
    }

    static func safePath(_ raw: String) -> String? {
        guard !raw.hasPrefix("/"), !raw.contains("\0") else { return nil }
        let parts = raw.split(separator: "/").filter { $0 != "." }
        guard !parts.contains("..") else { return nil }
        return parts.joined(separator: "/")
    }

    /// Observations one run may give (docs/plugins.md, Bounds).
    static let maxObservations = 10_000

    func parse(_ items: [RBPluginSDK.Observation]) -> Result<[RBCore.Observation], Problem> {
        guard items.count <= Self.maxObservations else {
            return .failure(Problem(message: "\(items.count) observations, more than \(Self.maxObservations) (output limit)"))
        }
        var observations: [RBCore.Observation] = []
        // Keyless observations per path, for an identity that does not hang on the message.
        var keyless: [String: Int] = [:]
        for item in items {
            guard !item.message.isEmpty else { return .failure(Problem(message: "an observation without a message")) }
            let status = item.status.flatMap { FindingStatus(rawValue: $0.rawValue) } ?? .fail
            let severity = item.severity.flatMap { Severity(rawValue: $0.rawValue) }
            let path = item.path.flatMap(Self.safePath) ?? ""
            let evidence = item.evidence ?? RBPluginSDK.Evidence()
            let snippet = evidence.snippet.map { String($0.prefix(500)) }, facts = evidence.facts ?? [:]
            // Without a key, the identity is the evidence (the offending text, else the facts),
            // else the observation's rank among the path's keyless ones: never the message, so a
            // plugin that rewords its messages keeps its findings' fingerprints.
            let key = evidence.key ?? {
                if let snippet, !snippet.isEmpty { return "\(spec.id):snippet:\(snippet)" }
                if !facts.isEmpty { return "\(spec.id):facts:" + facts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\u{1f}") }
                keyless[path, default: 0] += 1
                return "\(spec.id):#\(keyless[path]!)"
            }()
            observations.append(RBCore.Observation(status: status, severity: severity, message: String(item.message.prefix(2000)),
                                                   location: Location(path: path, line: item.line),
                                                   evidence: RBCore.Evidence(key: key, snippet: snippet, facts: facts)))
        }
        return .success(observations)
    }

    /// How a `send` ended (`closed` also for a message that cannot be encoded, which the
    /// protocol's own types never give).
    enum Sent { case sent, timeout, closed }

    /// One answer as a line on the plugin's stdin. A `data` answer's base64 is spliced into the
    /// encoded message rather than encoded by JSONEncoder, which writes a long string about half
    /// as fast (a file read is the protocol's hot path). `fd` is non-blocking: the bytes go as the
    /// pipe takes them, until `deadline`.
    static func send(_ message: HostMessage, to fd: Int32, deadline: Date) -> Sent {
        var encoded: Data
        if case .data(var answer) = message {
            let bytes = answer.data
            answer.data = Data()
            guard let line = try? PluginCoding.line(HostMessage.data(answer)),
                  let range = line.firstRange(of: Data("\"data\":\"\"".utf8)) else { return .closed }
            encoded = line
            encoded.replaceSubrange(range, with: Data("\"data\":\"".utf8) + bytes.base64EncodedData() + Data("\"".utf8))
        } else {
            guard let line = try? PluginCoding.line(message) else { return .closed }
            encoded = line
        }
        return encoded.withUnsafeBytes { raw -> Sent in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n >= 0 { done += n; continue }
                guard errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR else { return .closed }
                if errno == EINTR { continue }
                let remaining = deadline.timeIntervalSinceNow
                guard remaining > 0 else { return .timeout }
                var out = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let ready = poll(&out, 1, Int32(min(remaining, 1) * 1000) + 1)
                if ready > 0, out.revents & Int16(POLLERR | POLLHUP) != 0, out.revents & Int16(POLLOUT) == 0 { return .closed }
            }
            return .sent
        }
    }

    static func temporaryDirectory() throws -> String {
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        var template = Array((base.hasSuffix("/") ? base : base + "/") + "rbscan-plugin-XXXXXX").map { CChar(bitPattern: $0.asciiValue ?? 95) } + [0]
        guard let made = mkdtemp(&template) else { throw Problem(message: String(cString: strerror(errno))) }
        return String(cString: made)
    }
}

/// A plugin process started with posix_spawn in a process group of its own, its stdin, stdout
/// and stderr on pipes and no other descriptor of rbscan inherited. (Foundation's Process waits
/// forever when a grandchild keeps one of its descriptors open, and cannot kill grandchildren.)
final class SpawnedPlugin: @unchecked Sendable {
    let pid: pid_t
    let stdin: Int32
    let stdout: Int32
    let stderr: Int32
    private var status: String?

    struct Failure: Error { var message: String }

    init(command: [String], directory: String, environment: [String]) throws(Failure) {
        var toChild: [Int32] = [0, 0], fromChild: [Int32] = [0, 0], errorsFromChild: [Int32] = [0, 0]
        // (The spawn closes every descriptor from 3 up in the child, so no other plugin's pipe leaks
        // into it; close-on-exec covers anything else rbscan might start.)
        guard pipe(&toChild) == 0, pipe(&fromChild) == 0, pipe(&errorsFromChild) == 0 else {
            throw Failure(message: String(cString: strerror(errno)))
        }
        for fd in toChild + fromChild + errorsFromChild { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var pid: pid_t = 0
        let argv = command.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        let childFDs: [Int32] = [toChild[0], fromChild[1], errorsFromChild[1]]
        let spawned = rb_spawn_plugin(command[0], argv, envp, directory, childFDs, &pid)
        close(toChild[0]); close(fromChild[1]); close(errorsFromChild[1])
        guard spawned == 0 else {
            close(toChild[1]); close(fromChild[0]); close(errorsFromChild[0])
            throw Failure(message: String(cString: strerror(spawned)))
        }
        self.pid = pid
        stdin = toChild[1]
        stdout = fromChild[0]
        stderr = errorsFromChild[0]
    }

    /// Kills the plugin's process group (if it still runs), reaps it, closes the pipes; says how
    /// it ended. Idempotent.
    @discardableResult
    func finish() -> String {
        if let status { return status }
        kill(-pid, SIGKILL)
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        close(stdin); close(stdout); close(stderr)
        let signal = raw & 0x7f
        let described = signal == 0 ? "exit \((raw >> 8) & 0xff)" : signal == SIGKILL ? "stopped" : "killed by signal \(signal)"
        status = described
        return described
    }
}

/// The plugin's stdout read line by line under a deadline and output limits, its stderr drained
/// at the same time (its last 4 KiB kept for the diagnostic).
struct Channel {
    let stdout: Int32
    let stderr: Int32
    let deadline: Date
    var buffer: [UInt8] = []
    var searched = 0
    var total = 0
    var stdoutOpen = true
    var stderrOpen = true
    var stderrTail: [UInt8] = []

    enum Next { case line([UInt8]), timeout, closed, tooLong, tooMuch }

    init(stdout: Int32, stderr: Int32, deadline: Date) {
        self.stdout = stdout
        self.stderr = stderr
        self.deadline = deadline
    }

    mutating func nextLine() -> Next {
        var chunk = [UInt8](repeating: 0, count: 1 << 18)
        while true {
            // Only the bytes not searched yet are searched (a flood without newlines stays linear).
            if let newline = buffer[searched...].firstIndex(of: 10) {
                let line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                searched = 0
                return .line(line)
            }
            searched = buffer.count
            if buffer.count > ExternalCheck.maxLine { return .tooLong }
            if total > ExternalCheck.maxOutput { return .tooMuch }
            if !stdoutOpen { return .closed }
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { return .timeout }
            var fds = [pollfd(fd: stdout, events: Int16(POLLIN), revents: 0)]
            if stderrOpen { fds.append(pollfd(fd: stderr, events: Int16(POLLIN), revents: 0)) }
            let ready = poll(&fds, nfds_t(fds.count), Int32(min(remaining, 1) * 1000))
            if ready < 0 { if errno == EINTR { continue }; return .closed }
            if ready == 0 { continue }
            if stderrOpen, fds.count > 1, fds[1].revents != 0 {
                let n = chunk.withUnsafeMutableBytes { read(stderr, $0.baseAddress, $0.count) }
                if n <= 0 { stderrOpen = false } else {
                    stderrTail += chunk[..<n]
                    if stderrTail.count > 4096 { stderrTail.removeFirst(stderrTail.count - 4096) }
                }
            }
            if fds[0].revents != 0 {
                let n = chunk.withUnsafeMutableBytes { read(stdout, $0.baseAddress, $0.count) }
                if n <= 0 { stdoutOpen = false } else {
                    buffer += chunk[..<n]
                    total += n
                }
            }
        }
    }
}
