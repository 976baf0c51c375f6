import Foundation
import RBCore
import RBTestSupport
import Synchronization
import Testing
import Yams

/// Counts how often it is built, to see when the loader builds checks.
struct CountingCheck: Check {
    struct Options: Decodable, Sendable {
        var path: String
        var limit: Int?
    }
    static let id = "test.counting"
    static let summary = "test check that counts its builds"
    static let targetKinds: Set<TargetKind> = [.firmware, .config]
    static let builds = Mutex(0)
    let options: Options
    init(options: Options) throws(CheckOptionError) {
        if let limit = options.limit, limit < 0 { throw CheckOptionError(key: "limit", "must not be negative") }
        CountingCheck.builds.withLock { $0 += 1 }
        self.options = options
    }
    func run(in context: CheckContext) async throws -> [Observation] {
        guard context.tree?.index.entry(at: options.path) != nil else { return [] }
        return [Observation(message: "found \(options.path)", location: Location(path: options.path, line: 1),
                            evidence: Evidence(key: options.path))]
    }
}

private func countingPack(_ options: String, id: String = "RB-SYS-001") -> String {
    """
    version: 1
    pack: counting
    title: Counting
    rules:
      - id: \(id)
        title: Counting
        category: SYS
        severity: medium
        description: d
        remediation: r
        targets: [firmware]
        check: test.counting
        options: \(options)
    """
}

/// The same node tree: kinds, texts, styles, tags and positions.
private func sameTree(_ a: Node, _ b: Node) -> Bool {
    guard a.mark?.line == b.mark?.line, a.mark?.column == b.mark?.column else { return false }
    switch (a, b) {
    case (.scalar(let x), .scalar(let y)):
        return x.string == y.string && x.style == y.style && x.tag.rawValue == y.tag.rawValue
    case (.mapping(let x), .mapping(let y)):
        return x.count == y.count && x.style == y.style
            && zip(x, y).allSatisfy { sameTree($0.key, $1.key) && sameTree($0.value, $1.value) }
    case (.sequence(let x), .sequence(let y)):
        return x.count == y.count && x.style == y.style && zip(x, y).allSatisfy { sameTree($0, $1) }
    default:
        return false
    }
}

@Suite("Rule cache: composed packs kept between runs, checks built on first use")
struct NodeCacheTests {
    /// Every YAML file rbscan ships reads back from the cache as the tree libyaml composed.
    @Test func everyShippedDocumentRoundTrips() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let cache = NodeCache(directory: dir.url("cache"))
        var files = try HostFiles.walk(directory: Repository.rules).filter { $0.hasSuffix(".yaml") }.map { Repository.rules + "/" + $0 }
        files.append(Repository.root + "/Baselines/red-baseline-2.1.yaml")
        #expect(files.count > 10)
        for file in files {
            let text = try HostFiles.readText(file)
            let composed = try NodeDecoder.compose(text, file: file)
            #expect(cache.entry(for: text) == nil)
            cache.store(composed, for: text)
            let entry = try #require(cache.entry(for: text), "\(file) was not kept")
            #expect(sameTree(entry.node, composed), "\(file) reads back differently")
            #expect(entry.cleanUnder == nil)
        }
        // Positions are the ones a diagnostic names.
        let text = "a:\n  - x\n  -   'y'\n"
        cache.store(try NodeDecoder.compose(text, file: "t.yaml"), for: text)
        let node = try #require(cache.entry(for: text)?.node)
        guard case .mapping(let mapping) = node, case .sequence(let list)? = mapping["a"] else {
            Issue.record("not the document stored")
            return
        }
        #expect(list[1].mark?.line == 3 && list[1].mark?.column == 7)
        #expect(list[1].scalar?.style == .singleQuoted)
        #expect(list[0].scalar?.style == .plain)
    }

    /// An edited text misses; a damaged, truncated, shared-writable or linked entry is never read.
    @Test func damagedForeignAndEditedEntriesMiss() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let cache = NodeCache(directory: dir.url("cache"))
        let text = goodRule
        cache.store(try NodeDecoder.compose(text, file: "t.yaml"), for: text)
        #expect(cache.entry(for: text) != nil)
        #expect(cache.entry(for: text + "\n# edited") == nil)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.url("cache"))
        #expect(names.count == 1)
        let entry = dir.url("cache/" + names[0])
        let original = try Data(contentsOf: URL(fileURLWithPath: entry))
        // The directory is private, the entry owner-only.
        let directoryMode = try #require(FileManager.default.attributesOfItem(atPath: dir.url("cache"))[.posixPermissions] as? Int)
        let entryMode = try #require(FileManager.default.attributesOfItem(atPath: entry)[.posixPermissions] as? Int)
        #expect(directoryMode == 0o700 && entryMode == 0o600)

        // One byte changed in the middle (inside a string: still a well-formed tree).
        var flipped = original
        flipped[flipped.count / 2] ^= 0x01
        try flipped.write(to: URL(fileURLWithPath: entry))
        #expect(cache.entry(for: text) == nil)
        try original.prefix(original.count - 7).write(to: URL(fileURLWithPath: entry))
        #expect(cache.entry(for: text) == nil)
        try original.write(to: URL(fileURLWithPath: entry))
        #expect(cache.entry(for: text) != nil)
        chmod(entry, 0o666)
        #expect(cache.entry(for: text) == nil, "an entry others can write is read")
        chmod(entry, 0o600)
        try FileManager.default.moveItem(atPath: entry, toPath: dir.url("elsewhere"))
        try FileManager.default.createSymbolicLink(atPath: entry, withDestinationPath: dir.url("elsewhere"))
        #expect(cache.entry(for: text) == nil, "a linked entry is read")
    }

    /// A pack that loaded cleanly builds its checks when they are first used, and they behave
    /// as if built at load time.
    @Test func aCleanPackBuildsItsChecksOnFirstUse() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let cache = NodeCache(directory: dir.url("cache"))
        let registry = CheckRegistry([CountingCheck.self])
        let loader = RuleLoader(registry: registry, examples: false, cache: cache)
        let text = countingPack("{path: etc/x}")
        func builds() -> Int { CountingCheck.builds.withLock { $0 } }

        var before = builds()
        let (first, firstProblems) = loader.loadPack(text: text, file: "Rules/counting.yaml")
        #expect(firstProblems.isEmpty)
        #expect(builds() >= before + 1, "the first load validates by building")
        #expect(cache.entry(for: text)?.cleanUnder != nil)

        before = builds()
        let (second, secondProblems) = loader.loadPack(text: text, file: "Rules/counting.yaml")
        #expect(secondProblems.isEmpty)
        let rule = try #require(second?.rules.first)
        #expect(builds() == before, "a clean cached pack built its checks at load time")
        #expect(rule.id == first?.rules.first?.id && rule.source == first?.rules.first?.source)
        // Built once, on first use, and it works.
        let target = ScanTarget(spec: "mem", kind: .firmware, tree: MemoryTree(items: ["etc/x": .file("x")]), baseID: "MEM", baseURI: nil)
        let context = CheckContext(target: target, limits: ScanLimits(), ruleID: rule.id, sink: DiagnosticSink())
        _ = rule.implementations[0].check
        _ = rule.implementations[0].check
        #expect(builds() == before + 1)
        let observations = try await rule.run(in: context)
        #expect(observations.map(\.message) == ["found etc/x"])

        // Under another registry (other checks, another build's), the pack is validated again.
        before = builds()
        let other = RuleLoader(registry: CheckRegistry([CountingCheck.self, ProbeCheck.self]), examples: false, cache: cache)
        _ = other.loadPack(text: text, file: "Rules/counting.yaml")
        #expect(builds() == before + 1)
        // Rules lint and test (examples) always build at load time.
        before = builds()
        _ = RuleLoader(registry: registry, examples: true, cache: cache).loadPack(text: text, file: "Rules/counting.yaml")
        #expect(builds() == before + 1)
    }

    /// A pack with a problem is never recorded as clean: every load reports it at its line.
    @Test func aBrokenPackIsReportedOnEveryLoad() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let cache = NodeCache(directory: dir.url("cache"))
        let loader = RuleLoader(registry: CheckRegistry([CountingCheck.self]), examples: false, cache: cache)
        let text = countingPack("{path: etc/x, limit: -1}")
        for _ in 0..<3 {
            let (_, problems) = loader.loadPack(text: text, file: "Rules/counting.yaml")
            let problem = try #require(problems.first)
            #expect(problem.code == "rule.bad-option")
            #expect(problem.location?.line == 13)
            #expect(cache.entry(for: text) != nil && cache.entry(for: text)?.cleanUnder == nil)
        }
    }

    /// A deferred check that cannot be built after all fails its rule with the reason.
    @Test func anUnbuildableDeferredCheckFailsItsRule() async throws {
        let implementation = RuleImplementation(checkID: "test.counting", targets: [.firmware]) { () throws(DiagnosticError) -> any Check in
            throw DiagnosticError(Diagnostic(.error, .configuration, code: "rule.bad-option", "option 'limit': must not be negative"))
        }
        let rule = Rule(id: "RB-SYS-001", title: "t", category: .SYS, severity: .medium, description: "d", rationale: nil,
                        remediation: "r", references: [], implementations: [implementation], examples: RuleExamples(),
                        source: SourceLocation(file: "x"), pack: "p")
        let target = ScanTarget(spec: "mem", kind: .firmware, tree: MemoryTree(items: [:]), baseID: "MEM", baseURI: nil)
        let context = CheckContext(target: target, limits: ScanLimits(), ruleID: rule.id, sink: DiagnosticSink())
        let error = await #expect(throws: DiagnosticError.self) { try await rule.run(in: context) }
        #expect(error?.diagnostics.first?.code == "rule.bad-option")
    }

    @Test func theEnvironmentNamesTheDirectory() {
        #expect(NodeCache.userDefault(environment: ["RBSCAN_CACHE_DIR": "/x/c", "HOME": "/h"])?.directory == "/x/c/yaml-v1")
        #expect(NodeCache.userDefault(environment: ["RBSCAN_CACHE_DIR": "off", "HOME": "/h"]) == nil)
        #expect(NodeCache.userDefault(environment: ["RBSCAN_CACHE_DIR": "", "HOME": "/h"]) == nil)
        #expect(NodeCache.userDefault(environment: ["XDG_CACHE_HOME": "/xdg", "HOME": "/h"])?.directory == "/xdg/rbscan/yaml-v1")
        #expect(NodeCache.userDefault(environment: ["XDG_CACHE_HOME": "relative", "HOME": "/h"])?.directory == "/h/.cache/rbscan/yaml-v1")
        #expect(NodeCache.userDefault(environment: [:]) == nil)
    }
}
