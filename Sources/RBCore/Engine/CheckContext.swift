import RBCrypto
import Synchronization

/// A target of a scan, resolved: what it is and how checks see it.
public struct ScanTarget: Sendable {
    /// What the user typed (`rootfs/`, `device.xml`).
    public var spec: String
    public var kind: TargetKind
    /// The tree of a firmware or config target.
    public var tree: (any FileTree)?
    /// A short, unique name used as the SARIF `uriBaseId` (`ROOTFS`, `DEVICE_XML`).
    public var baseID: String
    /// The absolute host location of the tree's root, as a `file://` URI ending in `/`.
    public var baseURI: String?
    /// The container chain from the file given to the tree (`fw.bin` → uImage → squashfs@0x40);
    /// a plain directory has none.
    public var containers: [String]
    /// File contents shared by the rules scanning this target.
    public let cache = ContentCache()
    /// Config adapters for normalised keys (set by the session from the rules directories).
    public var adapters = ConfigAdapters()
    /// File selections already computed for this target.
    public let selections = SelectionCache()
    /// Models built from the tree once and shared by the rules (the boot-service model).
    public let models = ModelCache()
    /// What the read-ahead pass's analyses found.
    public let analyses = AnalysisStore()
    /// The files some check recognised (see `CheckContext.understood`).
    public let understanding = UnderstandingLog()
    /// For an endpoint target: where it is.
    public var endpoint: Endpoint?
    /// For an endpoint target: what its probe found (filled before the rules run), one value
    /// per fact type (`facts[TLSFacts.self]`; `tls`, `ssh`, `http`… are shorthands).
    public var facts = TargetFacts()
    /// The device profile in force (`--profile`, default generic camera): declared interfaces
    /// and paths for endpoint targets, documented web paths for firmware (RB-IFC-007).
    public var profile: DeviceProfile?
    /// For the first filesystem of an image file: the image file itself (host path), for the
    /// checks of the image as a whole (its signature).
    public var imageFile: String?
    /// For a firmware target: its software components (the SBOM), filled after the rules ran.
    public var components: [Component]?
    /// Added by a host sweep on a guess (HTTP over a TLS port): dropped quietly when it does
    /// not answer, instead of being a target error.
    public var guessed = false
    /// The host target whose port sweep found this service: when its probe fails, the other
    /// services of that host still count, and the service is a check that could not complete
    /// (exit 3), not a target error.
    public var sweptFrom: String?
    /// What fleet rules compare across targets (keys served, password hash digests), filled
    /// after the rules ran.
    public var fleet: FleetFacts?
    /// From an inventory: the device's name and tags.
    public var name: String?
    public var tags: [String] = []

    /// How every report names the target: its inventory name; else, for a filesystem in an image,
    /// the image's file name and the filesystem (`cam-5.5.0.bin → squashfs@0x40`, where `spec`
    /// is the whole chain from the path given); else what the user typed. The full chain stays
    /// in `spec` and `containers`.
    public var label: String {
        if let name, !name.isEmpty { return name }
        guard containers.count > 1, let file = containers.first, let filesystem = containers.last else { return spec }
        return (file.split(separator: "/").last.map(String.init) ?? file) + " → " + filesystem
    }

    public init(spec: String, kind: TargetKind, tree: (any FileTree)?, baseID: String, baseURI: String?,
                containers: [String] = []) {
        self.spec = spec
        self.kind = kind
        self.tree = tree
        self.baseID = baseID
        self.baseURI = baseURI
        self.containers = containers
    }
}

/// Collects diagnostics from concurrent checks.
public final class DiagnosticSink: Sendable {
    private let storage = Mutex<[Diagnostic]>([])
    public init() {}
    /// Problems of a file itself, whichever rule read it: said once per file.
    static let oncePerFile: Set<String> = ["check.parse-error", "check.unreadable-file", "check.xml-recovered"]
    /// Records a diagnostic. A note about a file, or a file that does not parse or cannot be read
    /// (several rules read the same file), is kept once: the wording that sorts first, so the
    /// same words every run whichever rule got there first (an HTML page named `.xml` is "not
    /// XML" to two checks, in their own words).
    public func report(_ diagnostic: Diagnostic) {
        storage.withLock { all in
            if diagnostic.level == .note || DiagnosticSink.oncePerFile.contains(diagnostic.code),
               let known = all.firstIndex(where: { $0.level == diagnostic.level && $0.code == diagnostic.code && $0.location == diagnostic.location }) {
                if diagnostic.message < all[known].message { all[known] = diagnostic }
                return
            }
            all.append(diagnostic)
        }
    }
    public var all: [Diagnostic] { storage.withLock { $0 } }
}

/// What a check gets: the target, its tree, limits and a place for per-file problems.
public struct CheckContext: Sendable {
    public let target: ScanTarget
    public let limits: ScanLimits
    public let ruleID: String
    let sink: DiagnosticSink

    public init(target: ScanTarget, limits: ScanLimits, ruleID: String, sink: DiagnosticSink) {
        self.target = target
        self.limits = limits
        self.ruleID = ruleID
        self.sink = sink
    }

    public var kind: TargetKind { target.kind }
    public var tree: (any FileTree)? { target.tree }

    /// Records a problem that kept the check from looking at something (exit code 3).
    public func report(_ message: String, path: String? = nil, code: String = "check.incomplete") {
        sink.report(Diagnostic(.error, .check, code: code, message,
                               at: path.map { SourceLocation(file: target.spec + ":" + $0) } ?? SourceLocation(file: target.spec),
                               rule: ruleID))
    }

    /// Records that this check recognised `path` as its format and judged it (pass or fail).
    public func understood(_ path: String) {
        target.understanding.mark(path, by: ruleID)
    }

    /// A file that does not parse as its format (binary or encrypted content was told apart
    /// before, as a note): what it says was not judged, so the scan is incomplete (exit 3). Said
    /// once per file, however many rules tried to read it.
    public func unparsable(_ message: String, path: String) {
        sink.report(Diagnostic(.error, .check, code: "check.parse-error", message, at: SourceLocation(file: target.spec + ":" + path)))
    }

    /// A firmware file that is not well-formed XML but that libxml2's recovery reads (vendor
    /// dialects: backslash-escaped quotes, HTML-style tags): it was judged as recovered, which the
    /// device's own parser may read otherwise. A warning, said once per file: the exit code is
    /// not affected.
    public func recovered(_ message: String, path: String) {
        sink.report(Diagnostic(.warning, .check, code: "check.xml-recovered", message, at: SourceLocation(file: target.spec + ":" + path)))
    }

    /// An informational notice about a file (not a failure: the exit code is not affected).
    public func note(_ message: String, path: String, code: String) {
        sink.report(Diagnostic(.note, .check, code: code, message, at: SourceLocation(file: target.spec + ":" + path)))
    }

    /// The regular files a rule's path patterns select. For a config-file target the one file is
    /// selected when its name matches a pattern's last component (`**/*.xml` selects `device.xml`).
    public func files(matching globs: [Glob], excluding excluded: [Glob] = []) -> FileSelection {
        guard let tree else { return FileSelection() }
        // Only the positions are kept (4 bytes a file, not a copy of each entry): a 200,000-file
        // image has a handful of whole-tree selections, and a copy of one is 13 MB.
        return FileSelection(entries: tree.index.entries, positions: filePositions(matching: globs, excluding: excluded))
    }

    /// `files(matching:excluding:)` as positions in the tree's index (`tree.index.entries`):
    /// how a check names the files it wants analysed (`ContentInterests.add`).
    public func filePositions(matching globs: [Glob], excluding excluded: [Glob] = []) -> Positions {
        guard let tree else { return Positions() }
        if kind == .config {
            return Positions(tree.index.entries.indices.filter { i in
                tree.index.entries[i].type == .file && globs.contains { $0.matchesBasename(String(tree.index.entries[i].name)) }
            })
        }
        let key = globs.map(\.pattern).joined(separator: "\u{0}") + "\u{1}" + excluded.map(\.pattern).joined(separator: "\u{0}")
        return target.selections.positions(key) { tree.regularFilePositions(matching: globs, excluding: excluded) }
    }

    /// Counts bytes produced by the tree (for an image: decompressed) by the read-ahead pass or by
    /// a rule, for `RBSCAN_PROFILE`: what exceeds the tree's content size was read twice.
    private func readFromTree(_ bytes: Int, since start: Double) {
        guard Profiler.enabled else { return }
        Profiler.consumed(ruleID.isEmpty ? "tree read (pass)" : "tree read by " + ruleID, bytes: bytes, seconds: Profiler.threadCPU() - start)
    }

    /// Reads a file within the limits; a failure is reported and gives nil.
    public func read(_ entry: FileEntry) -> FileContent? {
        guard let tree else { return nil }
        if let kept = target.cache.whole(entry.path), !kept.truncated { return kept }
        do {
            let before = Profiler.threadCPU()
            let content = try tree.read(entry, limit: limits.maxFileBytes)
            readFromTree(content.bytes.count, since: before)
            if content.truncated {
                report("only the first \(limits.maxFileBytes) bytes were read", path: entry.path, code: "check.file-truncated")
            } else {
                target.cache.storeWhole(entry.path, content)
            }
            return content
        } catch {
            report("\(error)", path: entry.path, code: "check.unreadable-file")
            return nil
        }
    }

    /// Streams a file through `body` in pieces (see `FileTree.stream`) within the limits; a
    /// failure is reported and gives false. Large binaries are searched this way without being
    /// held whole.
    @discardableResult
    public func stream(_ entry: FileEntry, chunk: Int = 1 << 20, overlap: Int, from opened: (any OpenedFile)? = nil,
                       _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Bool) -> Bool {
        guard let tree else { return false }
        do {
            let before = Profiler.threadCPU()
            if let opened {
                try opened.stream(limit: limits.maxFileBytes, chunk: chunk, overlap: overlap, body)
            } else {
                try tree.stream(entry, limit: limits.maxFileBytes, chunk: chunk, overlap: overlap, body)
            }
            readFromTree(Int(min(entry.size, UInt64(limits.maxFileBytes))), since: before)
            if entry.size > UInt64(limits.maxFileBytes) {
                report("only the first \(limits.maxFileBytes) bytes were read", path: entry.path, code: "check.file-truncated")
            }
            return true
        } catch {
            report("\(error)", path: entry.path, code: "check.unreadable-file")
            return false
        }
    }

    /// Streams a binary once and records in the shared cache which of `markers` it holds.
    public func recordMarkers(_ markers: [[UInt8]], in entry: FileEntry) {
        survey(entry, markers: markers, digests: [])
    }

    /// Streams a file once for the read-ahead pass and records in the shared cache which of
    /// `markers` it holds (when there are markers) and its `digests` (when the whole file could
    /// be read). Reading stops early only when no digest is wanted and every marker was found.
    /// Returns whether the analyses were run (the whole file was read).
    /// With `lanes`, a file's MD5 (when wanted, and the file is at most `laneLimit` bytes) is
    /// computed in the worker's MD5 lanes with other files' instead of on its own: the file is
    /// gathered whole and handed over.
    @discardableResult
    public func survey(_ entry: FileEntry, markers: [[UInt8]], digests: Set<DigestAlgorithm>, analyses: [ContentAnalysis] = [],
                       lanes: FileLanes? = nil, laneLimit: UInt64 = 4 << 20, from opened: (any OpenedFile)? = nil) -> Bool {
        let wantMarkers = !markers.isEmpty && target.cache.markers(entry.path) == nil
        let whole = entry.size <= UInt64(limits.maxFileBytes)
        let inLanes = lanes != nil && whole && entry.size <= laneLimit && digests.contains(.md5) && target.cache.digest(entry.path, .md5) == nil
        let hashing = whole ? digests.filter { !(inLanes && $0 == .md5) && target.cache.digest(entry.path, $0) == nil }.sorted().map { ($0, Digest($0.algorithm)) } : []
        // Analyses need the whole file: its pieces are gathered while they stream by.
        let analysing = whole ? analyses.filter { target.analyses.result($0.id, entry.path) == nil } : []
        guard wantMarkers || !hashing.isEmpty || !analysing.isEmpty || inLanes else { return whole }
        var found = [Bool](repeating: false, count: markers.count)
        var head: [UInt8] = []
        var gathered: [UInt8] = []
        // Analyses and MD5 lanes need the whole file (both only when it is within the limit).
        let gathering = !analysing.isEmpty || inLanes
        let overlap = wantMarkers ? markers.map(\.count).max() ?? 0 : 0
        var fed = 0
        var digestSeconds = 0.0, markerSeconds = 0.0
        let complete: Bool
        if gathering, let tree {
            // The whole file is wanted in memory anyway: read it into place at once, instead of
            // streaming pieces through a buffer and copying each into the gathered bytes.
            let before = Profiler.threadCPU()
            do {
                gathered = try (opened.map { try $0.read(limit: limits.maxFileBytes) } ?? tree.read(entry, limit: limits.maxFileBytes)).bytes
                readFromTree(gathered.count, since: before)
                head = Array(gathered.prefix(16))
                let t0 = Profiler.threadCPU()
                for (_, digest) in hashing { digest.update(gathered) }
                let t1 = Profiler.threadCPU()
                digestSeconds = t1 - t0
                if wantMarkers {
                    found = gathered.withUnsafeBufferPointer { ByteScan.present(markers, in: $0) }
                    markerSeconds = Profiler.threadCPU() - t1
                }
                fed = gathered.count
                complete = true
            } catch {
                report("\(error)", path: entry.path, code: "check.unreadable-file")
                complete = false
            }
        } else {
            complete = stream(entry, overlap: overlap, from: opened) { piece, offset in
                if offset == 0 { head = Array(piece.prefix(16)) }
                // The overlap was fed with the piece before.
                let fresh = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(piece)[min(piece.count, max(0, fed - offset))...])
                let t0 = Profiler.threadCPU()
                for (_, digest) in hashing { digest.update(fresh) }
                let t1 = Profiler.threadCPU()
                digestSeconds += t1 - t0
                fed = offset + piece.count
                if wantMarkers {
                    found = ByteScan.present(markers, in: piece, skipping: found)
                    markerSeconds += Profiler.threadCPU() - t1
                }
                return !hashing.isEmpty || found.contains(false)
            }
        }
        guard complete else { return false }
        if wantMarkers {
            target.cache.storeMarkers(entry.path, MarkerSearch(searched: markers, found: found), head: head)
            Profiler.consumed("binary markers", bytes: fed, seconds: markerSeconds)
        }
        guard UInt64(fed) == entry.size else { return false }
        for (algorithm, digest) in hashing {
            if let value = digest.finalize() { target.cache.storeDigest(entry.path, algorithm, value) }
            Profiler.consumed("digest " + algorithm.rawValue, bytes: fed, seconds: digestSeconds / Double(hashing.count))
        }
        if !analysing.isEmpty { recordAnalyses(analysing, of: entry, bytes: gathered) }
        if inLanes, let lanes { hashInLanes(gathered, of: entry, lanes: lanes) }
        return true
    }

    /// Hands a whole file to the worker's MD5 lanes, and keeps the digests of the files that
    /// finished meanwhile.
    public func hashInLanes(_ bytes: [UInt8], of entry: FileEntry, lanes: FileLanes) {
        guard UInt64(bytes.count) == entry.size, target.cache.digest(entry.path, .md5) == nil else { return }
        let before = Profiler.threadCPU()
        keepLaneDigests(lanes.add(bytes, path: entry.path))
        Profiler.consumed("digest md5 (lanes)", bytes: bytes.count, seconds: Profiler.threadCPU() - before)
    }

    /// Completes the MD5 lanes' files and keeps their digests, and says what finishing them
    /// cost.
    public func finishLanes(_ lanes: FileLanes) {
        let before = Profiler.threadCPU()
        keepLaneDigests(lanes.finish())
        Profiler.consumed("digest md5 (lanes)", bytes: 0, seconds: Profiler.threadCPU() - before)
    }

    private func keepLaneDigests(_ finished: [(path: String, digest: [UInt8])]) {
        for (path, digest) in finished { target.cache.storeDigest(path, .md5, digest) }
    }

    /// Stands for a file a text analysis could not run on (unreadable, cut short): its check
    /// reads the file itself, and reports why.
    struct NotAnalysed: Sendable {}

    /// Runs `analyses` on a file whose whole content is in hand and keeps their results (a text
    /// analysis's "nothing found" is not kept per file: see `analysis(_:of:)`). Returns whether
    /// a rule will read the file again for them: some analysis found something in it, or could
    /// not run on it.
    @discardableResult
    public func recordAnalyses(_ analyses: [ContentAnalysis], of entry: FileEntry, bytes: [UInt8]) -> Bool {
        guard UInt64(bytes.count) == entry.size else {
            notAnalysed(analyses, entry)
            return true
        }
        var found = false
        for analysis in analyses {
            if let known = target.analyses.result(analysis.id, entry.path) {
                found = found || !(analysis.text && analysis.isNothing(known))
                continue
            }
            let before = Profiler.threadCPU()
            let value = analysis.run(bytes)
            Profiler.consumed("analysis " + analysis.id.prefix(40), bytes: bytes.count, seconds: Profiler.threadCPU() - before)
            if analysis.text && analysis.isNothing(value) { continue }
            target.analyses.store(analysis.id, entry.path, value)
            found = true
        }
        return found
    }

    /// Records that the text analyses among `analyses` could not run on `entry`.
    public func notAnalysed(_ analyses: [ContentAnalysis], _ entry: FileEntry) {
        for analysis in analyses where analysis.text { target.analyses.store(analysis.id, entry.path, NotAnalysed()) }
    }

    /// Records that the read-ahead pass has run `analysis` over every file that asked for it:
    /// from now on a file of its selection without a kept result is one where it found nothing.
    public func completed(_ analysis: ContentAnalysis) {
        guard analysis.text, let nothing = analysis.nothing else { return }
        target.analyses.complete(analysis.id, nothing: nothing, binaries: analysis.binaries)
    }

    /// What the read-ahead pass's analysis `id` found in `entry`, a file the check declared
    /// interest in (`Check.contentInterests`); nil: not analysed, read the file. A text-only
    /// analysis says nothing about a binary: nil there too (the check's own binary handling,
    /// or `readUnlessBinary` answering from the cached verdict).
    public func analysis(_ id: String, of entry: FileEntry) -> (any Sendable)? {
        let answer = target.analyses.answer(id, entry.path)
        return analysis(kept: answer.kept, nothing: answer.nothing, of: entry)
    }

    /// `analysis(id, of:)` for many files: the results as the pass left them, read without a
    /// lock per file (a whole-tree rule asks for thousands).
    public func analysis(_ id: String) -> (_ entry: FileEntry) -> (any Sendable)? {
        let view = target.analyses.view(id)
        return { entry in analysis(kept: view.kept[entry.path], nothing: view.nothing, of: entry) }
    }

    /// The answer for `entry` from its kept result and the analysis's completion (both ways of
    /// asking above).
    private func analysis(kept: (any Sendable)?, nothing: (value: any Sendable, binaries: Bool)?, of entry: FileEntry) -> (any Sendable)? {
        if let kept { return kept is NotAnalysed ? nil : kept }
        guard let nothing, nothing.binaries || !isKnownBinary(entry) else { return nil }
        return nothing.value
    }

    /// Records the digests of a file whose whole content is in hand.
    public func recordDigests(_ digests: Set<DigestAlgorithm>, of entry: FileEntry, content: FileContent) {
        guard !content.truncated, UInt64(content.bytes.count) == entry.size else { return }
        for algorithm in digests.sorted() where target.cache.digest(entry.path, algorithm) == nil {
            let before = Profiler.threadCPU()
            if let value = Digest.hash(content.bytes, algorithm.algorithm) { target.cache.storeDigest(entry.path, algorithm, value) }
            Profiler.consumed("digest " + algorithm.rawValue, bytes: content.bytes.count, seconds: Profiler.threadCPU() - before)
        }
    }

    /// A digest the read-ahead pass computed for `entry` (nil: not computed; read the file).
    public func cachedDigest(_ entry: FileEntry, _ algorithm: DigestAlgorithm) -> [UInt8]? {
        target.cache.digest(entry.path, algorithm)
    }

    /// A file's content when a reader already kept it (cached text, or a whole file a check
    /// read), without reading anything.
    public func cachedContent(_ entry: FileEntry) -> FileContent? {
        target.cache.whole(entry.path).flatMap { $0.truncated ? nil : $0 }
    }

    /// The first 16 bytes of a binary the read-ahead pass searched (nil: not searched).
    public func head(of entry: FileEntry) -> [UInt8]? {
        target.cache.markers(entry.path)?.head
    }

    /// Which markers the read-ahead pass searched `entry` for and which it found (nil: not
    /// searched): one lookup for a check that asks about several.
    public func markerSearch(of entry: FileEntry) -> MarkerSearch? {
        target.cache.markers(entry.path)?.search
    }

    /// Whether `entry` holds `marker`, when the read-ahead pass searched it for that marker
    /// (nil: not searched; read the file).
    public func holds(_ marker: [UInt8], in entry: FileEntry) -> Bool? {
        markerSearch(of: entry)?.holds(marker)
    }

    /// Records in the shared cache that `entry` is binary when its first 8 KiB say so, without
    /// keeping a text file's content (nothing is reported: a rule reading it will).
    /// Whether the shared cache holds the verdict that `entry` is binary.
    public func isKnownBinary(_ entry: FileEntry) -> Bool { target.cache.isBinary(entry.path) }

    public func noteIfBinary(_ entry: FileEntry, from opened: (any OpenedFile)? = nil) {
        guard let tree, case .mustRead = target.cache.claim(entry.path) else { return }
        if let head = try? (opened.map { try $0.read(limit: 8192) } ?? tree.read(entry, limit: 8192)), head.looksBinary {
            target.cache.fulfil(entry.path, .binary)
        } else {
            target.cache.abandon(entry.path)
        }
    }

    /// Reads a text file: nil for binary content (NUL in the first 8 KiB) or a read failure.
    /// Only the first 8 KiB of a binary file is read.
    public func readText(_ entry: FileEntry) -> String? {
        guard let content = readUnlessBinary(entry) else { return nil }
        return content.text
    }

    /// Reads a file unless its first 8 KiB hold a NUL byte (then nil, having read only those).
    /// Verdicts and small text files are shared with the other rules scanning this target.
    /// With `opened` (the read-ahead pass), the file is read through it.
    public func readUnlessBinary(_ entry: FileEntry, from opened: (any OpenedFile)? = nil) -> FileContent? {
        readUnlessBinary(entry, from: opened, keep: { _ in true })
    }

    /// `readUnlessBinary`, with `keep` deciding, while the file is still claimed, whether its
    /// text goes into the content cache (the read-ahead pass keeps the files its analyses found
    /// something in: the ones rules will parse, instead of whichever came first).
    public func readUnlessBinary(_ entry: FileEntry, from opened: (any OpenedFile)?, keep: (FileContent) -> Bool) -> FileContent? {
        guard let tree else { return nil }
        switch target.cache.claim(entry.path) {
        case .cached(.binary): return nil
        case .cached(.text(let content)): return content
        case .mustRead: break
        }
        do {
            let before = Profiler.threadCPU()
            let read = try opened.map { try $0.readUnlessBinary(limit: limits.maxFileBytes) } ?? tree.readUnlessBinary(entry, limit: limits.maxFileBytes)
            readFromTree(read?.bytes.count ?? Int(min(entry.size, 8192)), since: before)
            guard let content = read else {
                target.cache.fulfil(entry.path, .binary)
                return nil
            }
            if content.truncated {
                report("only the first \(limits.maxFileBytes) bytes were read", path: entry.path, code: "check.file-truncated")
            }
            target.cache.fulfil(entry.path, .text(content), keep: keep(content))
            return content
        } catch {
            target.cache.abandon(entry.path)
            report("\(error)", path: entry.path, code: "check.unreadable-file")
            return nil
        }
    }
}

/// The files a selection names, read from the tree's index by position as they are used: a
/// view, not a copy of the entries.
public struct FileSelection: RandomAccessCollection, Sendable {
    let entries: [FileEntry]
    let positions: Positions

    public init() {
        entries = []
        positions = Positions()
    }

    init(entries: [FileEntry], positions: Positions) {
        self.entries = entries
        self.positions = positions
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { positions.count }
    /// Where each selected file is in the tree's index (`tree.index.entries`), in selection order.
    public var indexPositions: Positions { positions }
    public subscript(position: Int) -> FileEntry { entries[positions[position]] }

    /// In order, sequentially (indexing a bitset of positions is a search per element).
    public struct Iterator: IteratorProtocol {
        let entries: [FileEntry]
        var positions: Positions.Iterator
        public mutating func next() -> FileEntry? { positions.next().map { entries[$0] } }
    }

    public func makeIterator() -> Iterator { Iterator(entries: entries, positions: positions.makeIterator()) }
}

/// One read-ahead worker's MD5 lanes (`MD5Batch`): files in, digests by path out.
public final class FileLanes {
    private let batch = MD5Batch(budget: 8 << 20)
    private var paths: [Int: String] = [:]
    private var next = 0

    public init() {}

    /// Whether this processor hashes in lanes at all (otherwise: one file at a time).
    public static var available: Bool { MD5Batch.width > 0 }

    func add(_ bytes: [UInt8], path: String) -> [(path: String, digest: [UInt8])] {
        paths[next] = path
        next += 1
        return named(batch.add(bytes, tag: next - 1))
    }

    func finish() -> [(path: String, digest: [UInt8])] { named(batch.finish()) }

    private func named(_ finished: [(tag: Int, digest: [UInt8])]) -> [(path: String, digest: [UInt8])] {
        finished.map { (paths.removeValue(forKey: $0.tag)!, $0.digest) }
    }
}
