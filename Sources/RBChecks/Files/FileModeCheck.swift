import RBCore

/// `file.mode`: mode and owner predicates over the tree's metadata (world-writable files,
/// SUID/SGID binaries, SUID-root BusyBox, key files readable by others).
///
/// An entry is a finding when every predicate given holds: `anyBits` (mode has at least one of
/// these bits), `allBits` (has all), `withoutBits` (has none of these; e.g. no sticky bit),
/// `owners` / `notOwners` (uid), `contentMatches` / `contentNotMatches` (a regex over the file's content), and it is
/// not on the `allow` list. Trees that lost their metadata give one not-applicable result, never
/// a pass.
public struct FileModeCheck: Check {
    public struct Options: Decodable, Sendable {
        var paths: [String]?
        var exclude: [String]?
        /// Entry types; default `file` and `directory`.
        var types: [FileType]?
        var anyBits: String?
        var allBits: String?
        var withoutBits: String?
        var owners: [UInt32]?
        var notOwners: [UInt32]?
        var contentMatches: String?
        /// Skip files whose content matches (e.g. BusyBox, reported by a separate rule part).
        var contentNotMatches: String?
        /// Allowed paths (globs): never a finding.
        var allow: [String]?
        /// Finding message; `{path}`, `{mode}`, `{uid}`, `{gid}`, `{type}` are filled in.
        var message: String?
    }

    public static let id = "file.mode"
    public static let summary = "Reports entries whose mode bits and owner match predicates (world-writable, SUID/SGID, owner)."
    public static let targetKinds: Set<TargetKind> = [.firmware]

    let paths: [Glob]
    let exclude: [Glob]
    let allow: [Glob]
    let types: Set<FileType>
    let anyBits: UInt32?
    let allBits: UInt32?
    let withoutBits: UInt32?
    let owners: Set<UInt32>?
    let notOwners: Set<UInt32>?
    let content: Regex?
    let contentExcluded: Regex?
    let message: String

    public init(options: Options) throws(CheckOptionError) {
        func bits(_ text: String?, _ key: String) throws(CheckOptionError) -> UInt32? {
            guard let text else { return nil }
            guard let value = UInt32(text, radix: 8), value <= 0o7777, value != 0 else {
                throw CheckOptionError(key: key, "'\(text)' is not a non-zero octal mode mask such as 0002 or 4000")
            }
            return value
        }
        paths = try PathPatterns.compile(options.paths ?? ["**"], key: "paths")
        exclude = try PathPatterns.compile(options.exclude ?? [], key: "exclude")
        allow = try PathPatterns.compile(options.allow ?? [], key: "allow")
        types = Set(options.types ?? [.file, .directory])
        anyBits = try bits(options.anyBits, "anyBits")
        allBits = try bits(options.allBits, "allBits")
        withoutBits = try bits(options.withoutBits, "withoutBits")
        owners = options.owners.map(Set.init)
        notOwners = options.notOwners.map(Set.init)
        if anyBits == nil, allBits == nil, owners == nil, notOwners == nil {
            throw CheckOptionError("give at least one of anyBits, allBits, owners, notOwners: otherwise every entry matches")
        }
        if let pattern = options.contentMatches {
            do { content = try Regex(pattern) } catch { throw CheckOptionError(key: "contentMatches", error.description) }
        } else {
            content = nil
        }
        if let pattern = options.contentNotMatches {
            do { contentExcluded = try Regex(pattern) } catch { throw CheckOptionError(key: "contentNotMatches", error.description) }
        } else {
            contentExcluded = nil
        }
        message = options.message ?? "{path} has mode {mode} (uid {uid})"
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        guard let tree = context.tree else { return [] }
        guard tree.hasMetadata else {
            return [Observation(status: .notApplicable, message: "the image kept no file metadata (modes, owners)",
                                location: Location(path: ""), evidence: Evidence(key: "metadata-lost"))]
        }
        var observations: [Observation] = []
        for entry in tree.index.entries(matching: paths) where types.contains(entry.type) {
            let mode = entry.mode
            if let anyBits, mode & anyBits == 0 { continue }
            if let allBits, mode & allBits != allBits { continue }
            if let withoutBits, mode & withoutBits != 0 { continue }
            if let owners, !owners.contains(entry.uid) { continue }
            if let notOwners, notOwners.contains(entry.uid) { continue }
            if exclude.contains(where: { $0.matches(entry.path) }) || allow.contains(where: { $0.matches(entry.path) }) { continue }
            if content != nil || contentExcluded != nil {
                guard entry.type == .file, let bytes = context.read(entry) else { continue }
                // Binary content is matched as is: invalid UTF-8 never stops the search.
                if let content, !content.hasMatch(in: bytes.bytes) { continue }
                if let contentExcluded, contentExcluded.hasMatch(in: bytes.bytes) { continue }
            }
            let values = ["path": entry.path, "mode": entry.octalMode, "uid": String(entry.uid),
                          "gid": String(entry.gid), "type": entry.type.rawValue]
            observations.append(Observation(
                message: Template.render(message, values), location: Location(path: entry.path),
                evidence: Evidence(key: entry.path, facts: ["mode": entry.octalMode, "uid": String(entry.uid),
                                                            "gid": String(entry.gid), "type": entry.type.rawValue])))
        }
        return observations
    }
}
