@testable import RBCore
import RBTestSupport
import Synchronization
import Testing

/// A memory tree that counts the reads of each file and fails those of `broken`.
private struct CountingTree: FileTree {
    let inner: MemoryTree
    let broken: Set<String>
    final class Reads: Sendable { let counts = Mutex<[String: Int]>([:]) }
    let reads = Reads()
    var displayName: String { inner.displayName }
    var hasMetadata: Bool { true }
    var index: PathIndex { inner.index }
    var indexDiagnostics: [Diagnostic] { [] }
    struct Broken: Error {}
    func read(_ entry: FileEntry, limit: Int) throws -> FileContent {
        reads.counts.withLock { $0[entry.path, default: 0] += 1 }
        if broken.contains(entry.path) { throw Broken() }
        return try inner.read(entry, limit: limit)
    }
    func count(_ path: String) -> Int { reads.counts.withLock { $0[path] ?? 0 } }
}

/// Counts the `x` bytes of every text file through a text analysis, and says per file where
/// the answer came from.
private struct XCountCheck: Check {
    struct Options: Decodable, Sendable {}
    static let id = "test.x-count"
    static let summary = "counts x"
    static let targetKinds: Set<TargetKind> = [.firmware]
    static let analysis = ContentAnalysis(id: "x-count", binaries: false, nothing: 0, isNothing: { $0 == 0 }) { bytes in
        bytes.filter { $0 == UInt8(ascii: "x") }.count
    }
    init(options: Options) {}
    var costHint: Int { Engine.wholeTreeCost }
    func contentInterests(in context: CheckContext) -> ContentInterests {
        var interests = ContentInterests()
        interests.add(Self.analysis, positions: context.filePositions(matching: [try! Glob("**")]))
        return interests
    }
    func run(in context: CheckContext) async throws -> [Observation] {
        context.files(matching: [try! Glob("**")]).map { file in
            let message: String
            if let count = context.analysis(Self.analysis.id, of: file) as? Int {
                message = "\(file.path): \(count) from the pass"
            } else if let content = context.readUnlessBinary(file) {
                message = "\(file.path): \(content.bytes.filter { $0 == UInt8(ascii: "x") }.count) read again"
            } else {
                message = "\(file.path): unreadable or binary"
            }
            return Observation(message: message, location: Location(path: file.path), evidence: Evidence(key: file.path))
        }
    }
}

@Suite("Read-ahead pass: text analyses")
struct TextAnalysisTests {
    /// Text analyses run while the pass holds each file: files with and without matches are
    /// answered without a second read, a text-only analysis says nothing about a binary (whose
    /// cached verdict answers without a read), and a
    /// file the pass could not read is left to the check, which reads it (and reports it).
    @Test func textAnalysesAnswerWithoutASecondRead() async throws {
        let binary = MemoryTree.Item(type: .file, content: Array("xx\u{0}xx".utf8))
        let tree = CountingTree(inner: MemoryTree(items: ["a.txt": .file("xxx\n"), "b.txt": .file("none\n"),
                                                           "bin": binary, "c.txt": .file("x\n")]),
                                broken: ["c.txt"])
        let check = XCountCheck(options: .init())
        let rule = Rule(id: "RB-SYS-001", title: "t", category: .SYS, severity: .low, description: "d", rationale: nil,
                        remediation: "r", references: [],
                        implementations: [RuleImplementation(checkID: XCountCheck.id, check: check, targets: [.firmware])],
                        examples: RuleExamples(), source: SourceLocation(file: "x"), pack: "p")
        let target = ScanTarget(spec: "mem", kind: .firmware, tree: tree, baseID: "MEM", baseURI: nil)
        let outcome = await Engine(rules: [rule], jobs: 2).scan([target])
        let messages = outcome.findings.map(\.message).sorted()
        #expect(messages == ["a.txt: 3 from the pass", "b.txt: 0 from the pass", "bin: unreadable or binary", "c.txt: unreadable or binary"])
        #expect(tree.count("a.txt") == 1, "read again after the pass")
        #expect(tree.count("b.txt") == 1)
        #expect(tree.count("bin") == 1, "the binary was read again")
        #expect(tree.count("c.txt") == 2, "the check did not try the file the pass could not read")
        #expect(outcome.diagnostics.contains { $0.code == "check.unreadable-file" && "\($0)".contains("c.txt") }, "\(outcome.diagnostics)")
    }

    /// After the pass, the content cache holds the text an analysis found something in (rules
    /// parse those) and the text no analysis looks at (rules select it by path), not the text
    /// every analysis passed over: that would fill the cache with files nobody reads again.
    @Test func theCacheKeepsWhatRulesWillRead() async throws {
        let tree = CountingTree(inner: MemoryTree(items: ["a.txt": .file("xxx\n"), "b.txt": .file("none\n"), "etc/passwd": .file("root:x:0:0::/root:/bin/sh\n")]),
                                broken: [])
        let target = ScanTarget(spec: "mem", kind: .firmware, tree: tree, baseID: "MEM", baseURI: nil)
        let context = CheckContext(target: target, limits: ScanLimits(), ruleID: "", sink: DiagnosticSink())
        let positions = ["a.txt", "b.txt"].compactMap { tree.index.position(of: $0) }
        await Engine(rules: [], jobs: 2).prefetch(target, interests: ContentInterests(XCountCheck.analysis, positions: positions))
        #expect(target.cache.lookup("a.txt") != nil, "found something: kept")
        #expect(target.cache.lookup("b.txt") == nil, "found nothing: not kept")
        #expect(target.cache.lookup("etc/passwd") != nil, "no analysis looks at it: kept")
        #expect(context.analysis(XCountCheck.analysis.id, of: try #require(tree.index.entry(at: "b.txt"))) as? Int == 0, "still answered")
        #expect(["a.txt", "b.txt", "etc/passwd"].allSatisfy { tree.count($0) == 1 })
    }
}
