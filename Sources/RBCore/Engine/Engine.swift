import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs the selected rules on the targets: concurrently, bounded by `jobs`, over one shared tree
/// per target, with output in a deterministic order whatever the scheduling.
public struct Engine: Sendable {
    public let rules: [Rule]
    public let jobs: Int
    public let limits: ScanLimits
    /// Called as rule runs finish: (finished, total); for a progress bar.
    public let progress: (@Sendable (Int, Int) -> Void)?

    public init(rules: [Rule], jobs: Int, limits: ScanLimits = ScanLimits(), progress: (@Sendable (Int, Int) -> Void)? = nil) {
        self.rules = rules.filter(\.enabled)
        self.jobs = max(1, jobs)
        self.limits = limits
        self.progress = progress
    }

    /// The findings and run diagnostics of one scan.
    public struct Outcome: Sendable {
        public var findings: [Finding]
        public var diagnostics: [Diagnostic]
        /// The rules that ran on at least one target, by ID.
        public var rulesRun: [Rule]
    }

    public func scan(_ targets: [ScanTarget]) async -> Outcome {
        let sink = DiagnosticSink()
        var planned: [(targetIndex: Int, rule: Rule, cost: Int, order: Int)] = []
        for (t, target) in targets.enumerated() {
            for diagnostic in target.tree?.indexDiagnostics ?? [] { sink.report(diagnostic) }
            for rule in rules where rule.applies(to: target.kind) {
                planned.append((t, rule, rule.costHint(for: target.kind), planned.count))
            }
        }
        // Costly rules first (longest-processing-time order); output order does not depend on it.
        planned.sort { $0.cost != $1.cost ? $0.cost > $1.cost : $0.order < $1.order }
        let work = planned.map { (targetIndex: $0.targetIndex, rule: $0.rule) }
        let limits = self.limits
        let engineStart = ContinuousClock.now
        // A whole-tree rule reads every file, one after the other. Reading (for images:
        // decompressing) each file once, spread over all jobs, and letting the rules find the
        // contents in the shared cache keeps both the work single and the cores busy.
        for (t, target) in targets.enumerated() where target.tree != nil {
            let rulesHere = planned.filter { $0.targetIndex == t }
            // What the checks want computed while each file is in memory (digests a package
            // manifest lists), asked before the pass.
            // Asked on every core: a package manifest's plan and the path selections of the
            // other rules are independent. Each lane takes every `lanes`-th rule and the lanes
            // merge in order, so the result does not depend on timing.
            let interestsStart = ContinuousClock.now
            let parts = await inLanes(rulesHere.count, lanes: jobs) { indices in
                var part = ContentInterests()
                for i in indices {
                    let rule = rulesHere[i].rule
                    let context = CheckContext(target: target, limits: limits, ruleID: rule.id, sink: sink)
                    let before = Profiler.threadCPU()
                    for implementation in rule.implementations(for: target.kind) {
                        part.merge(implementation.check.contentInterests(in: context))
                    }
                    Profiler.consumed("interests of " + rule.id, bytes: 0, seconds: Profiler.threadCPU() - before)
                }
                return part
            }
            var interests = ContentInterests()
            for part in parts { interests.merge(part) }
            interests.compact()
            HeapTrim.releaseFree()
            Profiler.note("interests \(target.spec)", since: interestsStart)
            Profiler.flushConsumers("interests \(target.spec)")
            guard !interests.isEmpty || rulesHere.contains(where: { $0.cost >= Engine.wholeTreeCost }) else { continue }
            let start = ContinuousClock.now
            let markers = Array(Set(rulesHere.flatMap { $0.rule.implementations(for: target.kind).flatMap(\.check.binaryMarkers) }))
                .sorted { $0.lexicographicallyPrecedes($1) }
            await prefetch(target, markers: markers, interests: interests)
            Profiler.note("prefetch \(target.spec)", since: start)
            Profiler.flushConsumers("prefetch \(target.spec)")
            if Profiler.enabled {
                for (id, kept) in target.analyses.keptCounts() {
                    Profiler.print("prefetch \(target.spec) kept results \(id.prefix(40)): \(kept) file(s)")
                }
            }
        }
        var findings: [Finding] = []
        await withTaskGroup(of: [Finding].self) { group in
            var next = 0
            func addNext() {
                guard next < work.count else { return }
                let (t, rule) = work[next]
                let target = targets[t]
                next += 1
                group.addTask {
                    let context = CheckContext(target: target, limits: limits, ruleID: rule.id, sink: sink)
                    do {
                        let ruleStart = ContinuousClock.now
                        let cpuStart = Profiler.threadCPU()
                        defer {
                            Profiler.note("rule \(rule.id) on \(target.spec) (started +\(ruleStart - engineStart), thread CPU \(Profiler.threadCPU() - cpuStart) s)",
                                          since: ruleStart)
                        }
                        let observations = try await rule.run(in: context)
                        return Engine.groupReviews(observations.map { Engine.finding(from: $0, rule: rule, targetIndex: t) })
                    } catch {
                        sink.report(Diagnostic(.error, .check, code: "check.failed",
                                               "\(rule.checkIDs) could not complete: \(error)",
                                               at: SourceLocation(file: target.spec), rule: rule.id))
                        return []
                    }
                }
            }
            for _ in 0..<min(jobs, work.count) { addNext() }
            var finished = 0
            for await batch in group {
                findings += batch
                finished += 1
                progress?(finished, work.count)
                addNext()
            }
        }
        Profiler.note("engine", since: engineStart)
        Profiler.flushConsumers("rules")
        findings.sort(by: Finding.deterministicOrder)
        let ran = Set(work.map(\.rule.id))
        let diagnostics = sink.all.sorted { ($0.ruleID ?? "", $0.location?.description ?? "", $0.message) < ($1.ruleID ?? "", $1.location?.description ?? "", $1.message) }
        return Outcome(findings: findings, diagnostics: diagnostics, rulesRun: rules.filter { ran.contains($0.id) })
    }

    /// A rule's review results on one target become one result: the first place as its location,
    /// the others as related locations, every distinct message in it. Reviews are for a person to
    /// look at; 150 rows of one heuristic on one image are not read, one row with 150 places is.
    /// Its identity is the rule and the target (evidence key `reviews`), so fixing one of the
    /// places does not make it a new result.
    static func groupReviews(_ findings: [Finding]) -> [Finding] {
        let reviews = findings.filter { $0.status == .review }.sorted(by: Finding.deterministicOrder)
        guard reviews.count > 1, var grouped = reviews.first else { return findings }
        var messages: [String] = []
        for finding in reviews where !messages.contains(finding.message) { messages.append(finding.message) }
        let shown = messages.prefix(10).joined(separator: "; ")
        grouped.message = "\(reviews.count) items to review: " + shown + (messages.count > 10 ? "; … (\(messages.count - 10) more)" : "")
        var related: [Location] = []
        for finding in reviews.dropFirst() where finding.location != grouped.location && !related.contains(finding.location) {
            related.append(finding.location)
        }
        grouped.relatedLocations = related.isEmpty ? nil : related
        var facts = grouped.evidence.facts
        facts["places"] = String(reviews.count)
        grouped.evidence = Evidence(key: "reviews", snippet: nil, facts: facts)
        grouped.fingerprint = Fingerprint.of(ruleID: grouped.ruleID, path: ".", key: "reviews")
        return findings.filter { $0.status != .review } + [grouped]
    }

    /// Text files larger than this are not read ahead (only their binary verdict is).
    static let prefetchTextLimit: UInt64 = 4 << 20

    /// The cost hint from which a rule counts as a whole-tree pass.
    public static let wholeTreeCost = 100

    /// Reads every regular file of `target` once (binary verdict, text content) into its cache,
    /// in contiguous batches of the tree's read order so that neighbouring files share
    /// decompressed blocks (a batch never splits the files of one compressed block).
    /// With `markers`, each binary is read to its end (in pieces) and the markers it holds are
    /// recorded in the cache.
    func prefetch(_ target: ScanTarget, markers: [[UInt8]] = [], interests: ContentInterests = ContentInterests()) async {
        guard let tree = target.tree else { return }
        let entries = tree.index.entries
        let chunks = tree.readBatches(entries.indices.compactMap { entries[$0].type == .file ? Int32($0) : nil }, size: 32)
        let limits = self.limits
        // Problems are not reported here: the rules that need a file read it again and report.
        let quiet = DiagnosticSink()
        // Each worker takes the next chunk until none is left, and keeps one batch of MD5
        // lanes across its chunks (the files a package manifest lists are hashed abreast, 8 or
        // 16 at a time, instead of one by one).
        let wantsMD5 = FileLanes.available && interests.digests.values.contains { $0.contains(.md5) }
        let counter = ChunkCounter()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<min(jobs, chunks.count) {
                group.addTask {
                    let context = CheckContext(target: target, limits: limits, ruleID: "", sink: quiet)
                    let lanes = wantsMD5 ? FileLanes() : nil
                    while case let next = counter.take(), next < chunks.count {
                        for position in chunks[next] {
                            let file = entries[Int(position)]
                            // One open for every read of the file below (its first 8 KiB, then a
                            // binary streamed whole); a file that will not open is read by the
                            // usual calls, which report why.
                            let opened = try? tree.opened(file)
                            var analysed = false
                            var digests = interests.digests[file.path] ?? []
                            let analyses = interests.analyses(at: Int(position))
                            // A large text file (a package index) is left to the rules that select
                            // it: caching it would cost its read and its memory for nothing.
                            if file.size > Engine.prefetchTextLimit {
                                context.noteIfBinary(file, from: opened)
                                let binary = context.isKnownBinary(file)
                                let wanted = analyses.filter { $0.binaries || (!binary && $0.text) }
                                if !digests.isEmpty || !wanted.isEmpty,
                                   !context.survey(file, markers: [], digests: digests, analyses: wanted, lanes: lanes, from: opened) {
                                    context.notAnalysed(wanted, file)
                                }
                            } else if let content = context.readUnlessBinary(file, from: opened, keep: { content in
                                // Text analyses run on the content in hand. The content cache then
                                // keeps the files they found something in (rules parse those), and
                                // the files no analysis looks at (rules select them by path), but
                                // not the text every analysis passed over.
                                analysed = true
                                return Self.analyse(analyses, file, content, context)
                            }) {
                                // Already in the cache (a rule's interests read it): analysed here.
                                if !analysed { Self.analyse(analyses, file, content, context) }
                                if let lanes, !content.truncated, digests.contains(.md5) {
                                    context.hashInLanes(content.bytes, of: file, lanes: lanes)
                                    digests.remove(.md5)
                                }
                                if !digests.isEmpty { context.recordDigests(digests, of: file, content: content) }
                            } else if context.isKnownBinary(file) {
                                let binaries = analyses.filter(\.binaries)
                                if !markers.isEmpty || !digests.isEmpty || !binaries.isEmpty,
                                   !context.survey(file, markers: markers, digests: digests, analyses: binaries, lanes: lanes, from: opened) {
                                    context.notAnalysed(binaries, file)
                                }
                            } else {
                                // Unreadable: the rules read it again and report why.
                                context.notAnalysed(analyses, file)
                            }
                        }
                    }
                    if let lanes { context.finishLanes(lanes) }
                }
            }
        }
        // Every text analysis has now seen every file that asked for it.
        let context = CheckContext(target: target, limits: limits, ruleID: "", sink: quiet)
        for analysis in interests.analysisList where analysis.text { context.completed(analysis) }
    }

    /// Runs the text analyses of `analyses` on a text file's content; returns whether a rule will
    /// read the file again (some analysis found something, could not run, or none looks at it).
    @discardableResult
    static func analyse(_ analyses: [ContentAnalysis], _ file: FileEntry, _ content: FileContent, _ context: CheckContext) -> Bool {
        let text = analyses.filter(\.text)
        guard !text.isEmpty else { return true }
        if content.truncated {
            context.notAnalysed(text, file)
            return true
        }
        return context.recordAnalyses(text, of: file, bytes: content.bytes)
    }

    /// Every finding passes the one secret-masking pass here, before any reporter sees it.
    static func finding(from observation: Observation, rule: Rule, targetIndex: Int) -> Finding {
        SecretScrubber.scrub(Finding(ruleID: rule.id, status: observation.status, severity: observation.severity ?? rule.severity,
                                     category: rule.category, message: observation.message, targetIndex: targetIndex,
                                     location: observation.location, evidence: observation.evidence))
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number (for figures and rates).
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// Hands out chunk numbers to the read-ahead pass's workers, each once.
final class ChunkCounter: Sendable {
    private let next = Atomic<Int>(0)

    func take() -> Int { next.add(1, ordering: .relaxed).oldValue }
}

/// `RBSCAN_PROFILE=1` prints phase and per-rule times to standard error (for benchmarks).
public enum Profiler {
    public static let enabled = getenv("RBSCAN_PROFILE") != nil
    /// When the command began (`begin()`): each phase line says when it ended, `@0.123 s`, so
    /// the serial stretches between phases show.
    private static let origin = ContinuousClock.now

    /// Marks the start of the command (called first thing by the CLI): a static is set when
    /// first read.
    public static func begin() {
        guard enabled else { return }
        _ = origin
    }

    public static func note(_ what: String, since start: ContinuousClock.Instant) {
        guard enabled else { return }
        let now = ContinuousClock.now
        print("\(what): \(now - start) @\(String(format: "%.3f", (now - origin).seconds)) s" + memory())
    }

    /// The process's resident and peak resident memory (`/proc/self/status`), as a suffix.
    static func memory() -> String {
        guard let status = try? HostFiles.readText("/proc/self/status", limit: 1 << 16) else { return "" }
        var rss = "?", peak = "?"
        for line in status.splitLines(omittingEmpty: true) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, let kib = Int(fields[1]) else { continue }
            if fields[0] == "VmRSS:" { rss = String(kib / 1024) }
            if fields[0] == "VmHWM:" { peak = String(kib / 1024) }
        }
        return " [RSS \(rss) MB, peak \(peak) MB]"
    }

    /// The calling thread's CPU time in seconds (0 when profiling is off).
    public static func threadCPU() -> Double {
        guard enabled else { return 0 }
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// What each consumer of the read-ahead pass cost (files, bytes, CPU seconds), by name
    /// (`analysis elf-hardening`, `digest md5`).
    private static let consumers = Synchronization.Mutex<[String: (files: Int, bytes: Int, seconds: Double)]>([:])

    /// Adds one file's work to a consumer's figures (nothing when profiling is off).
    public static func consumed(_ name: @autoclosure () -> String, bytes: Int, seconds: Double) {
        guard enabled else { return }
        let name = name()
        consumers.withLock { all in
            var entry = all[name] ?? (0, 0, 0)
            entry.files += 1
            entry.bytes += bytes
            entry.seconds += seconds
            all[name] = entry
        }
    }

    /// Prints the consumers' figures since the last flush, then starts again.
    public static func flushConsumers(_ phase: String) {
        guard enabled else { return }
        let figures = consumers.withLock { all in
            defer { all = [:] }
            return all
        }
        for (name, entry) in figures.sorted(by: { $0.key < $1.key }) {
            print("\(phase) consumer \(name): \(entry.files) file(s), \(entry.bytes / 1024) KiB, \(String(format: "%.3f", entry.seconds)) s CPU")
        }
    }

    /// Prints one line to standard error when profiling is on.
    public static func print(_ line: String) {
        guard enabled else { return }
        let text = "rbscan-profile: \(line)\n"
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    }
}
