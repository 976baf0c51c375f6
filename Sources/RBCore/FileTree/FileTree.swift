import Synchronization
#if canImport(Glibc)
import Glibc
#endif
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
    /// The files at `positions` (in `index.entries`, ascending) in read order, cut into batches
    /// of about `size` files for parallel readers. A batch never ends inside a group of files
    /// that share one compressed block (a squashfs fragment block): two workers would each
    /// decompress it. Plain `size` slices by default. Positions, not entries: the read-ahead
    /// pass orders every file of the image.
    func readBatches(_ positions: [Int32], size: Int) -> [ArraySlice<Int32>]
    /// Streams at most `limit` bytes of `entry` through `body` in pieces of at most `chunk` new
    /// bytes, each piece starting with the last `overlap` bytes of the one before (so that a
    /// match shorter than `overlap` is never cut in two). `body` gets the piece and the file
    /// offset of its first byte, and returns false to stop. For searching large binaries without
    /// holding them whole.
    func stream(_ entry: FileEntry, limit: Int, chunk: Int, overlap: Int,
                _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Bool) throws
    /// `entry` held open for several reads by one worker (the read-ahead pass reads a file's
    /// first 8 KiB, then streams a binary's whole content): one open and one check of the
    /// indexed inode instead of one per read. Trees without descriptors hand over a view that
    /// reads as `read`/`stream` do.
    func opened(_ entry: FileEntry) throws -> any OpenedFile
}

/// A file of a tree held open (`FileTree.opened`): the tree's reads, on the one file. Used by one
/// worker at a time; the file is closed when the value goes.
public protocol OpenedFile: AnyObject {
    func readUnlessBinary(limit: Int) throws -> FileContent?
    func read(limit: Int) throws -> FileContent
    func stream(limit: Int, chunk: Int, overlap: Int, _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Bool) throws
}

/// `FileTree.opened` for trees that read by entry: each read goes to the tree.
final class TreeFileView: OpenedFile {
    let tree: any FileTree
    let entry: FileEntry

    init(tree: any FileTree, entry: FileEntry) {
        self.tree = tree
        self.entry = entry
    }

    func readUnlessBinary(limit: Int) throws -> FileContent? { try tree.readUnlessBinary(entry, limit: limit) }
    func read(limit: Int) throws -> FileContent { try tree.read(entry, limit: limit) }
    func stream(limit: Int, chunk: Int, overlap: Int, _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Bool) throws {
        try tree.stream(entry, limit: limit, chunk: chunk, overlap: overlap, body)
    }
}

extension FileTree {
    public func readOrder(_ files: [FileEntry]) -> [FileEntry] { files }

    public func readBatches(_ positions: [Int32], size: Int) -> [ArraySlice<Int32>] {
        let size = max(1, size)
        return stride(from: 0, to: positions.count, by: size).map { positions[$0..<min($0 + size, positions.count)] }
    }

    public func opened(_ entry: FileEntry) throws -> any OpenedFile { TreeFileView(tree: self, entry: entry) }

    /// Reads the file whole and hands it over as one piece (image trees decompress whole files
    /// anyway).
    public func stream(_ entry: FileEntry, limit: Int, chunk: Int, overlap: Int,
                       _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Bool) throws {
        let content = try read(entry, limit: limit)
        _ = try content.bytes.withUnsafeBufferPointer { try body($0, 0) }
    }

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
        regularFilePositions(matching: globs, excluding: excluded).map { index.entries[$0] }
    }

    /// `regularFiles` as positions in `index.entries`.
    public func regularFilePositions(matching globs: [Glob], excluding excluded: [Glob] = []) -> Positions {
        let skip = excluded.isEmpty ? Positions() : index.positions(matching: excluded)
        var targets: [Int32] = []
        var resolvedLink = false
        for position in index.positions(matching: globs) where !skip.contains(position) {
            switch index.entries[position].type {
            case .file: targets.append(Int32(position))
            case .symlink:
                if let target = index.linkTargetPosition(of: position), index.entries[target].type == .file {
                    targets.append(Int32(target))
                    resolvedLink = true
                }
            default: break
            }
        }
        // Index order is path order; only a resolved link can put a file out of place or twice.
        if resolvedLink {
            targets.sort()
            var unique: [Int32] = []
            for position in targets where unique.last != position { unique.append(position) }
            targets = unique
        }
        return Positions(sorted: targets)
    }
}

/// Every entry of a tree, sorted by path bytes, with an exact-path table and glob look-ups that
/// only visit the literal directory a pattern starts with.
public struct PathIndex: Sendable {
    public let entries: [FileEntry]
    /// Exact path -> position, open addressing over `entries`' own strings: four bytes a slot
    /// (a `[String: Int]` of 200,000 paths took 12.6 MB, this takes 2 MB).
    private let table: PathTable
    /// For each symlink (by position), the position of what it resolves to inside the root, or
    /// -1 when it dangles or loops: links are resolved once per tree, not once per rule.
    private var links: [Int: Int]
    /// Glob alternatives already looked up, with their positions.
    private let memo = PositionMemo()
    /// Every entry's parent directory is in the index (see `resolve`).
    private let plain: Bool

    public init(_ unsorted: [FileEntry]) {
        // Most trees come sorted (their readers sort): a check instead of a copy.
        let inOrder = zip(unsorted, unsorted.dropFirst()).allSatisfy { !PathOrder.precedes($1.path, $0.path) }
        let sorted = inOrder ? unsorted : unsorted.sorted { PathOrder.precedes($0.path, $1.path) }
        entries = sorted
        let table = PathTable(sorted)
        self.table = table
        // Every entry's parent is a directory of the index: then a path that is an entry's
        // is also where resolution component by component ends (no link on the way).
        plain = sorted.allSatisfy { entry in
            guard let slash = entry.path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return true }
            return table.position(of: String(entry.path[..<slash]), in: sorted).map { sorted[$0].type == .directory } ?? false
        }
        links = [:]
        var links: [Int: Int] = [:]
        for (i, entry) in sorted.enumerated() where entry.type == .symlink {
            links[i] = resolve(entry.path).flatMap { table.position(of: $0.path, in: sorted) } ?? -1
        }
        self.links = links
    }

    /// The position of the entry whose path is exactly `path`.
    public func position(of path: String) -> Int? { table.position(of: path, in: entries) }

    /// What the symlink at `position` resolves to inside the root (nil: dangling or a loop).
    public func linkTarget(of position: Int) -> FileEntry? {
        linkTargetPosition(of: position).map { entries[$0] }
    }

    /// The position of what the symlink at `position` resolves to (nil: dangling or a loop).
    public func linkTargetPosition(of position: Int) -> Int? {
        guard let target = links[position], target >= 0 else { return nil }
        return target
    }

    /// Chroot-semantics resolution (see `FileTree.resolve`).
    public func resolve(_ path: String, followFinalLink: Bool = true, maxHops: Int = 40) -> FileEntry? {
        // The common case in one look-up: the path of an entry whose parents are all plain
        // directories, with no `.` or `..` component; a final link through the table of links
        // resolved when the index was built.
        if plain, maxHops >= 40, let position = position(of: path), PathIndex.isNormal(path) {
            guard entries[position].type == .symlink, followFinalLink else { return entries[position] }
            if let target = links[position] { return target >= 0 ? entries[target] : nil }
        }
        // `resolved[i]` is the path of the first i+1 resolved components: one concatenation per
        // step instead of joining the whole path again.
        var resolved: [String] = []
        var pending: [Substring] = path.split(separator: "/", omittingEmptySubsequences: true).reversed()
        var hops = 0
        while let component = pending.popLast() {
            if component == "." { continue }
            if component == ".." {
                if !resolved.isEmpty { resolved.removeLast() }
                continue
            }
            let candidate = resolved.last.map { $0 + "/" + component } ?? String(component)
            guard let entry = entry(at: candidate) else { return nil }
            if entry.type == .symlink, followFinalLink || !pending.isEmpty {
                hops += 1
                guard hops <= maxHops, let target = entry.linkTarget else { return nil }
                if target.hasPrefix("/") { resolved.removeAll() }
                pending.append(contentsOf: target.split(separator: "/", omittingEmptySubsequences: true).reversed())
                continue
            }
            if !pending.isEmpty, entry.type != .directory { return nil }
            resolved.append(candidate)
        }
        return entry(at: resolved.last ?? "")
    }

    public var count: Int { entries.count }

    /// No `.` or `..` component.
    static func isNormal(_ path: String) -> Bool {
        var dots = 0
        var onlyDots = true
        for byte in path.utf8 {
            if byte == UInt8(ascii: "/") {
                if onlyDots, dots == 1 || dots == 2 { return false }
                dots = 0
                onlyDots = true
            } else if byte == UInt8(ascii: ".") {
                dots += 1
            } else {
                onlyDots = false
            }
        }
        return !(onlyDots && (dots == 1 || dots == 2))
    }

    public func entry(at path: String) -> FileEntry? {
        position(of: path).map { entries[$0] }
    }

    /// Entries whose path matches any of `globs`, in path order, each once.
    ///
    /// Each brace alternative only visits the entries below its literal directory; an entry's
    /// path is split once however many alternatives test it; `**/NAME` alternatives (the most
    /// common shape in rules) only look at the last component.
    /// A view by position, not a copy (13 MB for a whole 200,000-entry tree).
    public func entries(matching globs: [Glob]) -> FileSelection {
        FileSelection(entries: entries, positions: positions(matching: globs))
    }

    /// Positions (into `entries`) of the entries matching any of `globs`, ascending.
    public func positions(matching globs: [Glob]) -> Positions {
        var lists: [Positions] = []
        var distinct = Set<Glob.Alternative>()
        for glob in globs {
            for alternative in glob.compiled where distinct.insert(alternative).inserted {
                lists.append(positions(of: alternative))
            }
        }
        switch lists.count {
        case 0: return Positions()
        case 1: return lists[0]
        default:
            return Positions.union(lists)
        }
    }

    /// Positions of the entries one brace alternative matches, computed once per index: rules
    /// share many patterns (`etc/**`, `**/*.conf`), and every rule asks for its files.
    ///
    /// An alternative whose last segment is a literal, a prefix (`dropbear*`) or a suffix
    /// (`*.conf`) only tests the entries with such a name, found by binary search in the
    /// tree's sorted names: the cost is the matches, not the tree.
    func positions(of alternative: Glob.Alternative) -> Positions {
        if let known = memo.table.withLock({ $0[alternative] }) { return known }
        let range = range(under: alternative.literalPrefix)
        if alternative.everythingUnderPrefix {
            // `prefix/**`, `**`: the prefix and what is below it, without testing each path. In
            // byte order a sibling such as `prefix-x` sorts between `prefix` and `prefix/`, inside
            // the range: the part below starts at `prefix/`. (The root's path is empty: not matched.)
            let prefix = alternative.literalPrefix
            var selected: [Int32] = []
            var below = range.lowerBound
            if range.lowerBound < range.upperBound, entries[range.lowerBound].path == prefix {
                if !prefix.isEmpty { selected.append(Int32(range.lowerBound)) }
                below = range.lowerBound + 1
            }
            if !prefix.isEmpty { below = max(below, lowerBound(prefix + "/")) }
            if below < range.upperBound { selected.append(contentsOf: Int32(below)..<Int32(range.upperBound)) }
            let positions = Positions(sorted: selected)
            memo.table.withLock { $0[alternative] = positions }
            return positions
        }
        var result: [Int32] = []
        func test(_ i: Int) {
            var path = entries[i].path
            if path.withUTF8({ alternative.matches(bytes: $0) }) { result.append(Int32(i)) }
        }
        if range.count > 64, let last = alternative.segments.last, let candidates = memo.names(of: entries).candidates(last) {
            for i in candidates.sorted() where range.contains(Int(i)) { test(Int(i)) }
        } else {
            for i in range { test(i) }
        }
        let positions = Positions(sorted: result)
        memo.table.withLock { $0[alternative] = positions }
        return positions
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
            if PathOrder.precedes(entries[mid].path, key) { low = mid + 1 } else { high = mid }
        }
        return low
    }
}

/// Exact-path look-up for a `PathIndex`: open addressing (linear probing) over positions, the
/// paths themselves staying in the entries. FNV-1a of the path's bytes picks the slot.
struct PathTable: Sendable {
    /// Position + 1 in each slot, 0 for an empty one; a power-of-two count, at most half full.
    private let slots: [Int32]
    private let mask: Int

    init(_ entries: [FileEntry]) {
        var size = 16
        while size < entries.count * 2 { size <<= 1 }
        mask = size - 1
        var slots = [Int32](repeating: 0, count: size)
        for (i, entry) in entries.enumerated() {
            var slot = Self.hash(entry.path) & mask
            while true {
                let taken = Int(slots[slot])
                // A path named twice (a malformed image): the later entry, as a dictionary kept.
                if taken == 0 || entries[taken - 1].path == entry.path {
                    slots[slot] = Int32(i + 1)
                    break
                }
                slot = (slot + 1) & mask
            }
        }
        self.slots = slots
    }

    func position(of path: String, in entries: [FileEntry]) -> Int? {
        var slot = Self.hash(path) & mask
        while true {
            let taken = Int(slots[slot])
            if taken == 0 { return nil }
            if entries[taken - 1].path == path { return taken - 1 }
            slot = (slot + 1) & mask
        }
    }

    @inline(__always)
    static func hash(_ path: String) -> Int {
        var path = path
        return path.withUTF8 { bytes in
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in bytes { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
            return Int(truncatingIfNeeded: h ^ (h >> 29))
        }
    }
}

/// The glob look-ups a `PathIndex` has answered (a class: the index is a copied value, the memo
/// is shared by its copies).
final class PositionMemo: Sendable {
    let table = Mutex<[Glob.Alternative: Positions]>([:])
    private let nameIndex = Mutex<NameIndex?>(nil)

    /// The entries' last components, sorted, built on first use.
    func names(of entries: [FileEntry]) -> NameIndex {
        nameIndex.withLock { index in
            if let index { return index }
            let built = NameIndex(entries)
            Profiler.print("name index built: \(entries.count) entries")
            index = built
            return built
        }
    }
}

/// Every entry's name (last path component) in byte order, and reversed, for finding the entries
/// whose name equals, starts with or ends with a text by binary search. The names are kept in
/// one byte arena with one offset per entry, and both orders as `Int32` positions: 4 MB for
/// 200,000 entries, where an array per name, twice, took 24 MB.
struct NameIndex: Sendable {
    /// Entry i's name is `bytes[starts[i]..<starts[i + 1]]`.
    private let starts: [Int32]
    private let bytes: [UInt8]
    /// Positions sorted by name, and by reversed name.
    private let forward: [Int32]
    private let backward: [Int32]

    init(_ entries: [FileEntry]) {
        var starts: [Int32] = [0]
        starts.reserveCapacity(entries.count + 1)
        // At its size: appending grows the arena to up to twice the names (200,000 names, 2 MB).
        var bytes: [UInt8] = []
        bytes.reserveCapacity(entries.reduce(0) { $0 + $1.name.utf8.count })
        for entry in entries {
            bytes.append(contentsOf: entry.name.utf8)
            starts.append(Int32(bytes.count))
        }
        var forward = (0..<Int32(entries.count)).map { $0 }
        var backward = forward
        bytes.withUnsafeBufferPointer { arena in
            starts.withUnsafeBufferPointer { starts in
                forward.sort { Self.compare(arena, starts, Int($0), Int($1), reversed: false) < 0 }
                backward.sort { Self.compare(arena, starts, Int($0), Int($1), reversed: true) < 0 }
            }
        }
        self.starts = starts
        self.bytes = bytes
        self.forward = forward
        self.backward = backward
    }

    /// Byte order of entry a's name against entry b's, read from the front or from the back
    /// (the shorter first on a common part).
    private static func compare(_ arena: UnsafeBufferPointer<UInt8>, _ starts: UnsafeBufferPointer<Int32>, _ a: Int, _ b: Int,
                                reversed: Bool) -> Int {
        let aStart = Int(starts[a]), aCount = Int(starts[a + 1]) - aStart
        let bStart = Int(starts[b]), bCount = Int(starts[b + 1]) - bStart
        let common = min(aCount, bCount)
        if reversed {
            var k = 1
            while k <= common {
                let x = arena[aStart + aCount - k], y = arena[bStart + bCount - k]
                if x != y { return Int(x) - Int(y) }
                k += 1
            }
        } else if common > 0 {
            let order = memcmp(arena.baseAddress! + aStart, arena.baseAddress! + bStart, common)
            if order != 0 { return Int(order) }
        }
        return aCount - bCount
    }

    /// Positions of the entries whose name can match `segment` (a superset the caller tests);
    /// nil when the segment's shape gives no narrowing (`*`, `**`, a pattern that starts and
    /// ends with a wildcard).
    func candidates(_ segment: Glob.Segment) -> [Int32]? {
        switch segment {
        case .literal(let text): return starting(with: Array(text.utf8), in: forward, reversed: false, exact: true)
        case .prefix(let text) where !text.isEmpty: return starting(with: Array(text.utf8), in: forward, reversed: false, exact: false)
        case .suffix(let text) where !text.isEmpty: return starting(with: Array(text.utf8.reversed()), in: backward, reversed: true, exact: false)
        case .contains(let text) where !text.isEmpty: return containing(Array(text.utf8))
        case .pattern(let text):
            // `default*.cfg`: every name it matches starts with the text before the first
            // special character (fnmatch without flags: `*`, `?`, `[`, and `\` escaping) and
            // ends with the text after the last one.
            let utf8 = Array(text.utf8)
            let special: (UInt8) -> Bool = { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "[")
                || $0 == UInt8(ascii: "]") || $0 == UInt8(ascii: "\\") }
            guard let first = utf8.firstIndex(where: special), let last = utf8.lastIndex(where: special) else { return nil }
            let head = Array(utf8[..<first]), tail = Array(utf8[(last + 1)...])
            if head.count >= tail.count, !head.isEmpty { return starting(with: head, in: forward, reversed: false, exact: false) }
            if !tail.isEmpty { return starting(with: tail.reversed(), in: backward, reversed: true, exact: false) }
            return nil
        default: return nil
        }
    }

    /// The entries whose name contains `key`, by one look at each name in the arena (not at
    /// each path).
    private func containing(_ key: [UInt8]) -> [Int32] {
        bytes.withUnsafeBufferPointer { arena in
            starts.withUnsafeBufferPointer { starts in
                var result: [Int32] = []
                for i in 0..<(starts.count - 1) {
                    let start = Int(starts[i]), count = Int(starts[i + 1]) - start
                    guard count >= key.count else { continue }
                    if ByteScan.contains(key, in: UnsafeBufferPointer(rebasing: arena[start..<(start + count)])) { result.append(Int32(i)) }
                }
                return result
            }
        }
    }

    /// The entries of `order` whose name (read backwards when `reversed`) starts with `key`.
    private func starting(with key: [UInt8], in order: [Int32], reversed: Bool, exact: Bool) -> [Int32] {
        bytes.withUnsafeBufferPointer { arena in
            starts.withUnsafeBufferPointer { starts in
                /// The order of entry i's name (read as `reversed` says) against the key, on their
                /// common length: negative, 0 (a prefix either way) or positive.
                func compareKey(_ i: Int) -> (Int, count: Int) {
                    let start = Int(starts[i]), count = Int(starts[i + 1]) - start
                    for k in 0..<min(count, key.count) {
                        let byte = reversed ? arena[start + count - 1 - k] : arena[start + k]
                        if byte != key[k] { return (Int(byte) - Int(key[k]), count) }
                    }
                    return (0, count)
                }
                var low = 0, high = order.count
                while low < high {
                    let mid = (low + high) / 2
                    let (sign, count) = compareKey(Int(order[mid]))
                    if sign < 0 || (sign == 0 && count < key.count) { low = mid + 1 } else { high = mid }
                }
                var result: [Int32] = []
                while low < order.count {
                    let (sign, count) = compareKey(Int(order[low]))
                    guard sign == 0, count >= key.count else { break }
                    if !exact || count == key.count { result.append(order[low]) }
                    low += 1
                }
                return result
            }
        }
    }
}
