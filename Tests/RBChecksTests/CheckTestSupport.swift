import RBChecks
import RBCore
import RBTestSupport
import Testing
import Yams

/// Builds a check from YAML options the way the loader does, runs it on a memory tree, and
/// returns the observations and the diagnostics it reported.
func run<C: Check>(_ type: C.Type, _ options: String, files: [String: MemoryTree.Item],
                   kind: TargetKind = .firmware, hasMetadata: Bool = true, limits: ScanLimits = ScanLimits()) async throws -> (observations: [Observation], diagnostics: [Diagnostic]) {
    try await run(type, options, tree: MemoryTree(items: files, hasMetadata: hasMetadata), kind: kind, limits: limits)
}

/// `run` on any tree (a `DirectoryTree` for the streamed-read paths).
func run<C: Check>(_ type: C.Type, _ options: String, tree: any FileTree, kind: TargetKind = .firmware,
                   profile: DeviceProfile? = nil, limits: ScanLimits = ScanLimits()) async throws -> (observations: [Observation], diagnostics: [Diagnostic]) {
    let node = try NodeDecoder.compose(options, file: "options.yaml")
    let decoded = try NodeDecoder(file: "options.yaml").decode(C.Options.self, from: node)
    let check = try C(options: decoded)
    let sink = DiagnosticSink()
    var target = ScanTarget(spec: "t", kind: kind, tree: tree, baseID: "T", baseURI: nil)
    target.profile = profile
    let context = CheckContext(target: target, limits: limits, ruleID: "RB-SYS-999", sink: sink)
    let observations = try await check.run(in: context)
    return (observations, sink.all)
}

func optionError<C: Check>(_ type: C.Type, _ options: String) -> String? {
    do {
        let node = try NodeDecoder.compose(options, file: "options.yaml")
        let decoded = try NodeDecoder(file: "options.yaml").decode(C.Options.self, from: node)
        _ = try C(options: decoded)
        return nil
    } catch {
        return "\(error)"
    }
}
