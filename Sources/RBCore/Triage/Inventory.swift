/// A fleet inventory (`--inventory FILE`, YAML, `version: 1`): the targets to scan, each with a
/// name and tags.
///
/// ```yaml
/// version: 1
/// targets:
///   - name: cam-lobby-01
///     target: images/cam-5.5.0.bin      # a path (relative to this file), tls://, ssh://, a host…
///     tags: [lobby, hikvision]
/// ```
public struct Inventory: Sendable {
    public static let supportedVersion = 1

    public struct Entry: Decodable, Sendable {
        public var name: String
        public var target: String
        public var tags: [String]?
    }

    struct Document: Decodable {
        var version: Int
        var targets: [Entry]
    }

    public let file: String
    public let entries: [Entry]

    public static func load(file: String) throws(DiagnosticError) -> Inventory {
        let text = try NodeDecoder.readDocument(file, kind: "inventory")
        let (document, root) = try NodeDecoder.decodeVersioned(Document.self, text: text, file: file, kind: "inventory",
                                                               supported: supportedVersion) { $0.version }
        var marks: [SourceLocation] = []
        if case .mapping(let top) = root, case .sequence(let items)? = top["targets"] { marks = items.map { markLocation(file, $0.mark) } }
        let directory = file.contains("/") ? String(file[..<file.lastIndex(of: "/")!]) : "."
        var entries: [Entry] = []
        var names: [String: SourceLocation] = [:]
        var problems: [Diagnostic] = []
        for (i, var entry) in document.targets.enumerated() {
            let at = i < marks.count ? marks[i] : SourceLocation(file: file)
            if let first = names[entry.name] {
                problems.append(Diagnostic(.error, .configuration, code: "inventory.duplicate", "duplicate target name '\(entry.name)' (first at \(first))", at: at))
            }
            names[entry.name] = at
            if entry.name.trimmingWhitespace().isEmpty || entry.target.trimmingWhitespace().isEmpty {
                problems.append(Diagnostic(.error, .configuration, code: "inventory.invalid", "a target needs a name and a target", at: at))
            }
            // Paths are relative to the inventory file; URLs and IP addresses stay as they are.
            if !entry.target.contains("://"), !entry.target.hasPrefix("/"), HostFiles.kind(of: entry.target) == .missing,
               HostFiles.kind(of: directory + "/" + entry.target) != .missing {
                entry.target = directory + "/" + entry.target
            }
            entries.append(entry)
        }
        guard problems.isEmpty else { throw DiagnosticError(problems) }
        return Inventory(file: file, entries: entries)
    }

    public init(file: String, entries: [Entry]) {
        self.file = file
        self.entries = entries
    }
}

/// `--shard I/N`: the I-th of N shards (1-based) takes every target whose position in the list
/// is I-1 modulo N, so N machines (a CI matrix, a Kubernetes Indexed Job) split a fleet without
/// coordination and `rbscan merge` puts it back together.
public struct Shard: Sendable, Equatable {
    public let index: Int
    public let count: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]), count >= 1, (1...count).contains(index) else { return nil }
        self.index = index
        self.count = count
    }

    public func select<T>(_ items: [T]) -> [T] {
        items.enumerated().filter { $0.offset % count == index - 1 }.map(\.element)
    }
}
