/// A `FileTree` held in memory: rule examples, tests, small synthetic trees.
public struct MemoryTree: FileTree {
    /// One file to put in a memory tree.
    public struct Item: Sendable, Hashable {
        public var type: FileType
        public var content: [UInt8]
        public var mode: UInt32
        public var uid: UInt32
        public var gid: UInt32
        public var linkTarget: String?

        public init(type: FileType = .file, content: [UInt8] = [], mode: UInt32? = nil, uid: UInt32 = 0,
                    gid: UInt32 = 0, linkTarget: String? = nil) {
            self.type = type
            self.content = content
            self.mode = mode ?? (type == .directory ? 0o755 : type == .symlink ? 0o777 : 0o644)
            self.uid = uid
            self.gid = gid
            self.linkTarget = linkTarget
        }

        public static func file(_ text: String, mode: UInt32 = 0o644, uid: UInt32 = 0, gid: UInt32 = 0) -> Item {
            Item(type: .file, content: Array(text.utf8), mode: mode, uid: uid, gid: gid)
        }

        public static func link(_ target: String) -> Item { Item(type: .symlink, linkTarget: target) }
        public static func directory(mode: UInt32 = 0o755, uid: UInt32 = 0) -> Item {
            Item(type: .directory, mode: mode, uid: uid)
        }
    }

    public let displayName: String
    public let hasMetadata: Bool
    public let index: PathIndex
    public let indexDiagnostics: [Diagnostic] = []
    private let contents: [String: [UInt8]]

    /// Builds a tree from `path → item`; missing parent directories are created (0755, root).
    public init(name: String = "memory", items: [String: Item], hasMetadata: Bool = true) {
        var entries: [String: FileEntry] = ["": FileEntry(path: "", type: .directory, mode: 0o755)]
        var contents: [String: [UInt8]] = [:]
        for (rawPath, item) in items {
            let path = rawPath.split(separator: "/", omittingEmptySubsequences: true).joined(separator: "/")
            var parent = ""
            for component in path.split(separator: "/").dropLast() {
                parent = parent.isEmpty ? String(component) : parent + "/" + component
                if entries[parent] == nil { entries[parent] = FileEntry(path: parent, type: .directory, mode: 0o755) }
            }
            entries[path] = FileEntry(path: path, type: item.type, mode: item.mode, uid: item.uid, gid: item.gid,
                                      size: UInt64(item.content.count), linkTarget: item.linkTarget)
            if item.type == .file { contents[path] = item.content }
        }
        self.displayName = name
        self.hasMetadata = hasMetadata
        self.index = PathIndex(Array(entries.values))
        self.contents = contents
    }

    public func read(_ entry: FileEntry, limit: Int) throws -> FileContent {
        guard let bytes = contents[entry.path] else {
            throw FileTreeError(.notRegularFile, path: entry.path, "not a regular file in the tree")
        }
        return FileContent(bytes: Array(bytes.prefix(limit)), truncated: bytes.count > limit)
    }
}
