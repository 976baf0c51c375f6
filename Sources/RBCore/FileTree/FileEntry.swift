/// The type of a file-system entry, as every reader reports it.
public enum FileType: String, Codable, Sendable {
    case file, directory, symlink, charDevice, blockDevice, fifo, socket
}

/// One entry of a `FileTree`, with the metadata the image kept.
public struct FileEntry: Hashable, Sendable {
    /// Path inside the root: relative, `/`-separated, no leading slash; the root itself is "".
    public var path: String
    public var type: FileType
    /// Permission bits including setuid (0o4000), setgid (0o2000) and sticky (0o1000).
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var size: UInt64
    /// The target of a symlink, exactly as stored (may be absolute or contain `..`).
    public var linkTarget: String?
    /// Modification time, seconds since the epoch.
    public var mtime: Int64

    public init(path: String, type: FileType, mode: UInt32 = 0o644, uid: UInt32 = 0, gid: UInt32 = 0,
                size: UInt64 = 0, linkTarget: String? = nil, mtime: Int64 = 0) {
        self.path = path
        self.type = type
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.size = size
        self.linkTarget = linkTarget
        self.mtime = mtime
    }

    /// The last path component.
    public var name: Substring { FileEntry.lastComponent(of: path) }

    /// The part of `path` after its last `/` (byte search: `/` is ASCII, so the index after it
    /// is a valid String.Index).
    public static func lastComponent(of path: String) -> Substring {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return Substring(path) }
        return path[path.utf8.index(after: slash)...]
    }

    /// `0755`-style octal text of the permission bits.
    public var octalMode: String {
        let text = String(mode & 0o7777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - text.count)) + text
    }
}

/// The bytes of a file, up to a limit.
public struct FileContent: Sendable {
    public var bytes: [UInt8]
    /// True when the file was longer than the limit and `bytes` holds only its start.
    public var truncated: Bool

    public init(bytes: [UInt8], truncated: Bool = false) {
        self.bytes = bytes
        self.truncated = truncated
    }

    /// Heuristic used by text checks: a NUL byte in the first 8 KiB means binary.
    public var looksBinary: Bool { ByteScan.hasNUL(bytes, within: 8192) }

    /// The content as text (invalid UTF-8 repaired).
    public var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// Bounds on everything an attacker controls in a scanned tree.
public struct ScanLimits: Sendable, Hashable {
    /// Bytes read from one file; the rest is not read and a note says so.
    public var maxFileBytes: Int = 64 << 20
    /// Structured configs (XML, JSON, YAML) larger than this are not parsed (`--max-config-size`):
    /// a device's config is kilobytes, and a document tree of tens of megabytes costs gigabytes
    /// and seconds per rule. A `check.limit` diagnostic (exit 3) names each one.
    public var maxConfigBytes: Int = 8 << 20
    /// Entries indexed in one tree.
    public var maxEntries: Int = 2_000_000
    /// Directory nesting depth.
    public var maxDepth: Int = 256
    /// Bytes decompressed or extracted from images in one scan (all streams and archives).
    public var maxExtractedBytes: UInt64 = 8 << 30
    /// Free space the spool leaves on the temporary file system (`--spool-reserve`): writing
    /// decompressed data stops with an `image.spool` diagnostic before less than this would be
    /// left, so a bomb or a huge image never fills the host's disk or tmpfs whatever
    /// `maxExtractedBytes` allows. nil: 256 MiB, at most 5 % of that file system; 0: only a
    /// full file system stops it.
    public var spoolReserveBytes: UInt64?
    /// Containers nested in containers (a tar.gz holding a uImage holding a squashfs is 3).
    public var maxNesting: Int = 8
    /// Seconds the password-cracking step may take per target (all accounts together).
    public var crackSeconds: Double = 30
    /// Extra candidate passwords (`--wordlist FILE`), tried after the bundled defaults.
    public var extraPasswords: [String] = []
    /// Threads for CPU-bound steps (password cracking); the scan's --jobs.
    public var threads: Int = 2
    /// Seconds for each network connect/send/receive on endpoint targets.
    public var networkTimeout: Double = 5
    /// TCP ports a host target's sweep tries (`--ports`); nil: the camera port set.
    public var ports: [UInt16]?
    /// UDP ports a host target's sweep probes (`--ports …/udp`); nil: the camera UDP set.
    public var udpPorts: [UInt16]?
    /// Opt-in default-credential attempts on HTTP and RTSP (`--allow-auth-tests`).
    public var allowAuthTests = false
    /// The device profile file (`--profile`); nil: the shipped generic camera profile.
    public var profileFile: String?
    /// CA certificates (PEM) that served chains are verified against (`--ca-file`).
    public var caFile: String?
    /// `--signing-key`: PEM public keys or certificates the image's own signature is checked
    /// with (RB-PKG-008).
    public var signingKeys: [String] = []
    /// `--vuln-db` / `--kev`: the OSV records and KEV catalog components are matched against
    /// (RB-PKG-003); nil: no offline vulnerability data was given.
    public var vulnerabilities: VulnerabilityDatabase?
    /// How secrets are digested for comparison and identity (`--secret-key-file`,
    /// `RBSCAN_SECRET_KEY`); by default under a key of this run only (see `SecretDigest`).
    public var secrets = SecretDigest()

    public init() {}
}

/// An error reading a tree, with the path and (for images) the offset concerned.
public struct FileTreeError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case notFound, unreadable, notRegularFile, changedDuringScan, limitExceeded, outsideRoot
    }
    public var code: Code
    public var path: String
    public var message: String
    public var offset: Int?

    public init(_ code: Code, path: String, _ message: String, offset: Int? = nil) {
        self.code = code
        self.path = path
        self.message = message
        self.offset = offset
    }

    public var description: String { "\(path): \(message)" }
}
