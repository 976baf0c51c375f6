import Foundation

/// rbscan's external check plugin protocol (docs/plugins.md): JSON lines over the plugin's stdin
/// and stdout, one object per line, each with a `type`. These types are the messages of protocol
/// 1 as both sides speak them: rbscan serves a plugin's requests with them (RBChecks'
/// ExternalCheck) and a Swift plugin sends them (`PluginSession`), so the two cannot drift apart.
public enum PluginProtocol {
    /// The version this library speaks; a manifest's `protocol:` names it.
    public static let version = 1
    /// Bytes one `data` answer holds at most: larger files are read in ranges.
    public static let maxRead = 4 << 20
}

// MARK: rbscan → plugin

/// The first message, once per run: which check, for which rule, with which options, on which target.
public struct RunRequest: Codable, Sendable, Hashable {
    public var `protocol`: Int
    /// The check's ID from the manifest (`wifi.supplicant-networks`): one program may provide several.
    public var check: String
    /// The rule using the check (`EXAMPLE-WIFI-001`).
    public var rule: String
    /// The rule's `options:` (YAML's true/false/null and numbers typed, every other scalar a string).
    public var options: JSONValue
    public var target: Target
    /// For endpoint targets: what rbscan connects to.
    public var endpoint: Endpoint?

    public struct Target: Codable, Sendable, Hashable {
        /// `firmware`, `config` or `endpoint`.
        public var kind: String
        /// The target as rbscan names it (`fw.bin → squashfs@0x40`).
        public var name: String
        /// Whether owners and modes are the image's own (false for a plain directory's copy).
        public var hasMetadata: Bool

        public init(kind: String, name: String, hasMetadata: Bool) {
            self.kind = kind
            self.name = name
            self.hasMetadata = hasMetadata
        }
    }

    public struct Endpoint: Codable, Sendable, Hashable {
        public var scheme: String
        public var host: String
        public var port: Int

        public init(scheme: String, host: String, port: Int) {
            self.scheme = scheme
            self.host = host
            self.port = port
        }
    }

    public init(protocol: Int = PluginProtocol.version, check: String, rule: String, options: JSONValue = [:],
                target: Target, endpoint: Endpoint? = nil) {
        self.protocol = `protocol`
        self.check = check
        self.rule = rule
        self.options = options
        self.target = target
        self.endpoint = endpoint
    }

    /// The options decoded as `T` (a plugin's own `Decodable` options struct).
    public func options<T: Decodable>(as type: T.Type) throws -> T {
        try PluginCoding.decoder.decode(T.self, from: PluginCoding.encoder.encode(options))
    }
}

/// One entry of a `files` answer.
public struct FileEntry: Codable, Sendable, Hashable {
    public var path: String
    /// `file`, `directory`, `symlink`, `charDevice`, `blockDevice`, `fifo`, `socket`.
    public var type: String
    public var size: Int
    /// Permission bits with setuid, setgid and sticky (0o4755).
    public var mode: Int

    public init(path: String, type: String, size: Int, mode: Int) {
        self.path = path
        self.type = type
        self.size = size
        self.mode = mode
    }

    public var isFile: Bool { type == "file" }
}

/// The answer to `list`: the target's entries matching the globs, at most 100,000.
public struct FilesAnswer: Codable, Sendable, Hashable {
    public var files: [FileEntry]
    public init(files: [FileEntry]) { self.files = files }
}

/// The answer to `stat`. A symbolic link is followed inside the target (`fileType` is what it
/// leads to); `link` is its target when `path` itself is a link.
public struct StatAnswer: Codable, Sendable, Hashable {
    public var path: String
    public var fileType: String
    public var size: Int
    public var mode: Int
    public var uid: Int
    public var gid: Int
    public var link: String?

    public init(path: String, fileType: String, size: Int, mode: Int, uid: Int, gid: Int, link: String? = nil) {
        self.path = path
        self.fileType = fileType
        self.size = size
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.link = link
    }
}

/// The answer to `read`: the bytes from `offset` (base64 in the message), at most
/// `PluginProtocol.maxRead`; `size` is the whole file's, `eof` says whether more can be read.
public struct DataAnswer: Codable, Sendable, Hashable {
    public var path: String
    public var offset: Int
    public var size: Int
    public var eof: Bool
    public var data: Data

    public init(path: String, offset: Int, size: Int, eof: Bool, data: Data) {
        self.path = path
        self.offset = offset
        self.size = size
        self.eof = eof
        self.data = data
    }
}

/// The answer to a `read` with `unlessBinary` when the file's first 8 KiB hold a NUL byte: no bytes.
public struct BinaryAnswer: Codable, Sendable, Hashable {
    public var path: String
    public var size: Int
    public init(path: String, size: Int) {
        self.path = path
        self.size = size
    }
}

/// A request rbscan refuses or cannot serve: a path outside the target, no such file, not a
/// regular file, beyond `--max-file-size`, an invalid glob, a target without files.
public struct ErrorAnswer: Codable, Sendable, Hashable, Error, CustomStringConvertible {
    public var path: String?
    public var message: String
    public init(path: String? = nil, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.map { "\($0): \(message)" } ?? message }
}

/// Every message rbscan sends.
public enum HostMessage: Sendable, Hashable {
    case run(RunRequest)
    case files(FilesAnswer)
    case stat(StatAnswer)
    case data(DataAnswer)
    case binary(BinaryAnswer)
    case error(ErrorAnswer)
}

// MARK: plugin → rbscan

/// `list`: the target's entries matching rbscan's globs (`*`, `**`, `?`, `[…]`, relative to the
/// target root); answered by `files` (or `error`).
public struct ListRequest: Codable, Sendable, Hashable {
    /// Absent: every entry (`**`).
    public var globs: [String]?
    public init(globs: [String]) { self.globs = globs }
}

/// `stat`: one entry's metadata; answered by `stat` (or `error`).
public struct StatRequest: Codable, Sendable, Hashable {
    public var path: String
    public init(path: String) { self.path = path }
}

/// `read`: a range of a regular file; answered by `data`, `binary` (with `unlessBinary` at
/// offset 0) or `error`.
public struct ReadRequest: Codable, Sendable, Hashable {
    public var path: String
    /// Absent: 0.
    public var offset: Int?
    /// Absent, or more than `PluginProtocol.maxRead`: `maxRead`.
    public var length: Int?
    /// At offset 0, a file whose first 8 KiB hold a NUL byte is answered `binary`, without its bytes.
    public var unlessBinary: Bool?

    public init(path: String, offset: Int = 0, length: Int = PluginProtocol.maxRead, unlessBinary: Bool = false) {
        self.path = path
        self.offset = offset
        self.length = length
        self.unlessBinary = unlessBinary ? true : nil
    }
}

/// `result`, the last message: the observations, which become findings of the rule. None is a pass.
public struct ResultMessage: Codable, Sendable, Hashable {
    public var observations: [Observation]
    public init(observations: [Observation]) { self.observations = observations }
}

/// One thing a check concluded about the target.
public struct Observation: Codable, Sendable, Hashable {
    /// Target-relative (`etc/wpa_supplicant.conf`); absent for the target as a whole.
    public var path: String?
    public var line: Int?
    /// Absent: `fail`.
    public var status: Status?
    /// Overrides the rule's severity for this one finding.
    public var severity: Severity?
    public var message: String
    public var evidence: Evidence?

    public init(path: String? = nil, line: Int? = nil, status: Status? = nil, severity: Severity? = nil,
                message: String, evidence: Evidence? = nil) {
        self.path = path
        self.line = line
        self.status = status
        self.severity = severity
        self.message = message
        self.evidence = evidence
    }

    /// An observation with its evidence spelled out: `key` is the finding's stable identity
    /// within the rule and path (its fingerprint: independent of wording and line numbers).
    public init(path: String?, line: Int? = nil, status: Status? = nil, severity: Severity? = nil, message: String,
                key: String, snippet: String? = nil, facts: [String: String] = [:]) {
        self.init(path: path, line: line, status: status, severity: severity, message: message,
                  evidence: Evidence(key: key, snippet: snippet, facts: facts))
    }

    /// `fail` (the default), `review` (evidence for a human, never gates) or `notApplicable`.
    /// Any string decodes (rbscan reads one it does not know as `fail`).
    public struct Status: RawRepresentable, Codable, Sendable, Hashable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let fail = Status(rawValue: "fail")
        public static let review = Status(rawValue: "review")
        public static let notApplicable = Status(rawValue: "notApplicable")
    }

    /// `info`, `low`, `medium`, `high`, `critical`. Any string decodes (rbscan ignores one it
    /// does not know: the rule's severity stands).
    public struct Severity: RawRepresentable, Codable, Sendable, Hashable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let info = Severity(rawValue: "info")
        public static let low = Severity(rawValue: "low")
        public static let medium = Severity(rawValue: "medium")
        public static let high = Severity(rawValue: "high")
        public static let critical = Severity(rawValue: "critical")
    }
}

/// What backs an observation. rbscan masks secrets in `snippet` and `facts` like a built-in
/// check's.
public struct Evidence: Codable, Sendable, Hashable {
    /// The finding's identity within the rule and path; absent, rbscan derives one from the message.
    public var key: String?
    /// A short excerpt (at most 500 characters are kept).
    public var snippet: String?
    /// Named facts. rbscan also takes other JSON values here, as their text.
    public var facts: [String: String]?

    public init(key: String? = nil, snippet: String? = nil, facts: [String: String]? = nil) {
        self.key = key
        self.snippet = snippet
        self.facts = facts
    }

    enum CodingKeys: String, CodingKey { case key, snippet, facts }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        key = try container.decodeIfPresent(String.self, forKey: .key)
        snippet = try container.decodeIfPresent(String.self, forKey: .snippet)
        facts = try container.decodeIfPresent([String: JSONValue].self, forKey: .facts)?.mapValues(\.text)
    }
}

/// Every message a plugin sends.
public enum PluginMessage: Sendable, Hashable {
    case list(ListRequest)
    case stat(StatRequest)
    case read(ReadRequest)
    case result(ResultMessage)
}

// MARK: The `type` field

/// A message whose `type` is none of the protocol's (for its side).
public struct UnknownMessageType: Error, CustomStringConvertible {
    public var type: String
    public var description: String { "unknown message type '\(type)'" }
}

private enum TypeKey: String, CodingKey { case type }

// Each message is its payload's fields plus `type`, in one flat object.
extension HostMessage: Codable {
    public init(from decoder: any Decoder) throws {
        let type = try decoder.container(keyedBy: TypeKey.self).decode(String.self, forKey: .type)
        switch type {
        case "run": self = .run(try RunRequest(from: decoder))
        case "files": self = .files(try FilesAnswer(from: decoder))
        case "stat": self = .stat(try StatAnswer(from: decoder))
        case "data": self = .data(try DataAnswer(from: decoder))
        case "binary": self = .binary(try BinaryAnswer(from: decoder))
        case "error": self = .error(try ErrorAnswer(from: decoder))
        default: throw UnknownMessageType(type: type)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: TypeKey.self)
        switch self {
        case .run(let payload): try container.encode("run", forKey: .type); try payload.encode(to: encoder)
        case .files(let payload): try container.encode("files", forKey: .type); try payload.encode(to: encoder)
        case .stat(let payload): try container.encode("stat", forKey: .type); try payload.encode(to: encoder)
        case .data(let payload): try container.encode("data", forKey: .type); try payload.encode(to: encoder)
        case .binary(let payload): try container.encode("binary", forKey: .type); try payload.encode(to: encoder)
        case .error(let payload): try container.encode("error", forKey: .type); try payload.encode(to: encoder)
        }
    }
}

extension PluginMessage: Codable {
    public init(from decoder: any Decoder) throws {
        let type = try decoder.container(keyedBy: TypeKey.self).decode(String.self, forKey: .type)
        switch type {
        case "list": self = .list(try ListRequest(from: decoder))
        case "stat": self = .stat(try StatRequest(from: decoder))
        case "read": self = .read(try ReadRequest(from: decoder))
        case "result": self = .result(try ResultMessage(from: decoder))
        default: throw UnknownMessageType(type: type)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: TypeKey.self)
        switch self {
        case .list(let payload): try container.encode("list", forKey: .type); try payload.encode(to: encoder)
        case .stat(let payload): try container.encode("stat", forKey: .type); try payload.encode(to: encoder)
        case .read(let payload): try container.encode("read", forKey: .type); try payload.encode(to: encoder)
        case .result(let payload): try container.encode("result", forKey: .type); try payload.encode(to: encoder)
        }
    }
}

/// The JSON coding both sides use: compact, keys sorted, slashes unescaped (a POSIX sh plugin
/// matches `"path":"etc/x","size":…` with grep), `Data` as base64.
public enum PluginCoding {
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static var decoder: JSONDecoder { JSONDecoder() }

    /// One message as a protocol line (its JSON and a newline).
    public static func line(_ message: some Encodable) throws -> Data {
        var data = try encoder.encode(message)
        data.append(10)
        return data
    }
}
