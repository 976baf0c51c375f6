/// The single way checks see files: a read-only tree with metadata, one path index per scan and
/// lazy content reads. Directories, single config files and (later) every image format are
/// `FileTree`s; checks never know which.
public protocol FileTree: Sendable {
    /// What the tree was made from, for humans (`rootfs/`, `device.xml`).
    var displayName: String { get }
    /// False when the source did not keep inode metadata (modes, owners): metadata-dependent
    /// checks then report not-applicable, never pass.
    var hasMetadata: Bool { get }
    /// Every entry, indexed once.
    var index: PathIndex { get }
    /// Problems met while indexing (an unreadable directory, a limit reached). Non-empty means the
    /// tree is incomplete and the scan says so.
    var indexDiagnostics: [Diagnostic] { get }
    /// Reads at most `limit` bytes of the regular file `entry` (already resolved, not a link).
    func read(_ entry: FileEntry, limit: Int) throws -> FileContent
    /// Reads `entry` unless its first 8 KiB hold a NUL byte: then nil, having read only those.
    func readUnlessBinary(_ entry: FileEntry, limit: Int) throws -> FileContent?
    /// `files` in the order that reads them fastest (an image's on-disk order, so that shared
    /// compressed blocks are decompressed once); path order by default.
    func readOrder(_ files: [FileEntry]) -> [FileEntry]
}

extension FileTree {
    public func readOrder(_ files: [FileEntry]) -> [FileEntry] { files }

    /// Two reads: the first 8 KiB, then (for text) the whole file. Trees that can keep the file
    /// open between the two do better.
    public func readUnlessBinary(_ entry: FileEntry, limit: Int) throws -> FileContent? {
        if entry.size > 8192, try read(entry, limit: 8192).looksBinary { return nil }
        let content = try read(entry, limit: limit)
        return content.looksBinary ? nil : content
    }

    /// Resolves `path` with chroot semantics: absolute link targets start again at the tree's root
    /// and `..` at the root stays there, so no link can reach anything outside the tree. Returns
    /// nil for a dangling path or a link loop.
    public func resolve(_ path: String, followFinalLink: Bool = true, maxHops: Int = 40) -> FileEntry? {
        index.resolve(path, followFinalLink: followFinalLink, maxHops: maxHops)
    }

    /// The regular files that `globs` select, with links resolved inside the root and each file
    /// given once (under its resolved path), in path order.
    public func regularFiles(matching globs: [Glob], excluding excluded: [Glob] = []) -> [FileEntry] {
        var seen = Set<String>()
        var result: [FileEntry] = []
        var resolvedLink = false
        let skip = Set(index.positions(matching: excluded))
        for position in index.positions(matching: globs) where !skip.contains(position) {
            let entry = index.entries[position]
            let target: FileEntry?
            switch entry.type {
            case .file: target = entry
            case .symlink:
                target = index.linkTarget(of: position)
                resolvedLink = true
            default: target = nil
            }
            guard let file = target, file.type == .file else { continue }
            if resolvedLink {
                guard seen.insert(file.path).inserted else { continue }
            } else {
                seen.insert(file.path)
            }
            result.append(file)
        }
        // Index order is path order; only a resolved link can put a file out of place.
        return resolvedLink ? result.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) } : result
    }
}

/// Every entry of a tree, sorted by path bytes, with an exact-path map and glob look-ups that
/// only visit the literal directory a pattern starts with.
public struct PathIndex: Sendable {
    public let entries: [FileEntry]
    private let positions: [String: Int]
    /// For each symlink (by position), the position of what it resolves to inside the root, or
    /// -1 when it dangles or loops: links are resolved once per tree, not once per rule.
    private var links: [Int: Int]

    public init(_ unsorted: [FileEntry]) {
        let sorted = unsorted.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        entries = sorted
        var positions = [String: Int](minimumCapacity: sorted.count)
        for (i, entry) in sorted.enumerated() { positions[entry.path] = i }
        self.positions = positions
        links = [:]
        var links: [Int: Int] = [:]
        for (i, entry) in sorted.enumerated() where entry.type == .symlink {
            links[i] = resolve(entry.path).flatMap { positions[$0.path] } ?? -1
        }
        self.links = links
    }

    /// What the symlink at `position` resolves to inside the root (nil: dangling or a loop).
    public func linkTarget(of position: Int) -> FileEntry? {
        guard let target = links[position], target >= 0 else { return nil }
        return entries[target]
    }

    /// Chroot-semantics resolution (see `FileTree.resolve`).
    public func resolve(_ path: String, followFinalLink: Bool = true, maxHops: Int = 40) -> FileEntry? {
        var resolved: [Substring] = []
        var pending: [Substring] = path.split(separator: "/", omittingEmptySubsequences: true).reversed()
        var hops = 0
        while let component = pending.popLast() {
            if component == "." { continue }
            if component == ".." {
                if !resolved.isEmpty { resolved.removeLast() }
                continue
            }
            let candidate = (resolved + [component]).joined(separator: "/")
            guard let entry = entry(at: candidate) else { return nil }
            if entry.type == .symlink, followFinalLink || !pending.isEmpty {
                hops += 1
                guard hops <= maxHops, let target = entry.linkTarget else { return nil }
                if target.hasPrefix("/") { resolved.removeAll() }
                pending.append(contentsOf: target.split(separator: "/", omittingEmptySubsequences: true).reversed())
                continue
            }
            if !pending.isEmpty, entry.type != .directory { return nil }
            resolved.append(component)
        }
        return entry(at: resolved.joined(separator: "/"))
    }

    public var count: Int { entries.count }

    public func entry(at path: String) -> FileEntry? {
        positions[path].map { entries[$0] }
    }

    /// Entries whose path matches any of `globs`, in path order, each once.
    ///
    /// Each brace alternative only visits the entries below its literal directory; an entry's
    /// path is split once however many alternatives test it; `**/NAME` alternatives (the most
    /// common shape in rules) only look at the last component.
    public func entries(matching globs: [Glob]) -> [FileEntry] {
        positions(matching: globs).map { entries[$0] }
    }

    /// Positions (into `entries`) of the entries matching any of `globs`, ascending.
    public func positions(matching globs: [Glob]) -> [Int] {
        var alternatives: [(alternative: Glob.Alternative, range: Range<Int>)] = []
        for glob in globs {
            for alternative in glob.compiled {
                alternatives.append((alternative, range(under: alternative.literalPrefix)))
            }
        }
        guard let low = alternatives.map(\.range.lowerBound).min(),
              let high = alternatives.map(\.range.upperBound).max(), low < high else { return [] }
        var result: [Int] = []
        for i in low..<high {
            let path = entries[i].path
            if alternatives.contains(where: { $0.range.contains(i) && $0.alternative.matches(path) }) {
                result.append(i)
            }
        }
        return result
    }

    /// Positions of `prefix` itself and everything below it.
    func range(under prefix: String) -> Range<Int> {
        if prefix.isEmpty { return 0..<entries.count }
        let start = lowerBound(prefix)
        let below = Array((prefix + "/").utf8)
        var end = start
        if end < entries.count, entries[end].path == prefix { end += 1 }
        end = max(end, lowerBound(prefix + "/"))
        while end < entries.count, entries[end].path.utf8.starts(with: below) { end += 1 }
        return start..<end
    }

    private func lowerBound(_ key: String) -> Int {
        var low = 0, high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].path.utf8.lexicographicallyPrecedes(key.utf8) { low = mid + 1 } else { high = mid }
        }
        return low
    }
}

