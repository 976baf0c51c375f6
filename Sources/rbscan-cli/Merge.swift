import ArgumentParser
import RBChecks
import RBCore
import RBReport
import RBScan

/// The gate of a report read back (`merge`, `diff`): `--fail-on`, else the threshold of the
/// baseline (`--baseline`, else the one the reports name, else the default one), never the
/// reports' own: shards scanned with `--fail-on never` (as a fleet pipeline does, to keep every
/// shard's report) must not make the merged gate unable to fail.
enum ReportGate {
    static func resolve(failOn: String?, baseline: String?, reports: [ScanReport], output: ReportOptions) throws -> GateThreshold {
        if let failOn, let gate = GateThreshold(rawValue: failOn) { return gate }
        let named = baseline ?? reports.lazy.map(\.baselineID).first { Resources.baselinePath($0).map { HostFiles.kind(of: $0) == .regularFile } ?? false }
        guard let path = Resources.baselinePath(named), HostFiles.kind(of: path) == .regularFile || baseline != nil else {
            return .severity(.high)
        }
        do {
            return try Baseline.load(file: path).failOn
        } catch {
            throw Output.usageFailure(error, reports: output)
        }
    }
}

/// `rbscan merge`: several rbscan JSON/SARIF reports (the shards of a fleet) into one report,
/// with the fleet rules applied over every target; the exit code is the merged gate's.
struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge rbscan JSON or SARIF reports (e.g. the shards of a fleet scan) into one; fleet rules run over the merged targets.",
        discussion: """
        The merged gate is --fail-on, else the baseline's threshold: never the shards' own (a \
        fleet scan writes its shards with --fail-on never).

        Examples:
          rbscan merge shard-*.json --format sarif --output fleet.sarif
          rbscan merge shard-*.json --waivers waivers.yaml --format markdown --output summary.md
          rbscan merge shard-*.json --format cyclonedx --output fleet.cdx.json
        """)

    @Argument(help: "Reports written by rbscan scan (--format json keeps everything; SARIF works too).", completion: .file(extensions: ["json", "sarif"]))
    var reports: [String]

    @Option(name: .customLong("fail-on"), help: "Gate threshold for the merged report (default: the baseline's; never the shards' own, which a fleet scan sets to never).")
    var failOn: String?

    @Option(help: "Baseline whose gate threshold applies (name or file; default: the one the reports name, else red-baseline-2.1).")
    var baseline: String?

    @OptionGroup var triage: TriageOptions

    @OptionGroup var output: ReportOptions

    func validate() throws {
        guard !reports.isEmpty else { throw ValidationError("give at least one report") }
        if let failOn, GateThreshold(rawValue: failOn) == nil { throw ValidationError("--fail-on must be one of critical, high, medium, low, info, never") }
        _ = try output.plan()
    }

    func run() throws {
        let loadedTriage = try triage.load(reports: output)
        var loaded: [ScanReport] = []
        for file in reports {
            do { loaded.append(try ReportReader.load(file: file)) } catch {
                throw Output.usageFailure(error, reports: output)
            }
        }
        let gate = try ReportGate.resolve(failOn: failOn, baseline: baseline, reports: loaded, output: output)
        var merged = ReportMerger.merge(loaded, gate: gate, registry: BuiltinChecks.registry)
        // Waivers and comparison given here apply to the merged fleet as they would to one scan,
        // in place of those the shards applied.
        if triage.compare != nil {
            merged.findings.removeAll { $0.baselineState == .absent }
            for i in merged.findings.indices { merged.findings[i].baselineState = nil }
        }
        if triage.waivers != nil {
            for i in merged.findings.indices { merged.findings[i].waiver = nil }
        }
        triage.apply(loadedTriage, to: &merged)
        try output.write(merged, plan: try output.plan())
        throw ExitCode(merged.exitStatus.rawValue)
    }
}

/// `rbscan diff OLD NEW`: what changed between two reports, as baseline states on NEW (new,
/// updated, unchanged, and OLD's absent results); the gate counts only new findings.
struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two rbscan reports: NEW's results get a baselineState against OLD; exit 1 when NEW has new findings at or above the gate.")

    @Argument(help: "The earlier report (JSON or SARIF).")
    var old: String

    @Argument(help: "The later report (JSON or SARIF).")
    var new: String

    @Option(name: .customLong("fail-on"), help: "Gate threshold for new findings (default: the baseline's; never NEW's own).")
    var failOn: String?

    @Option(help: "Baseline whose gate threshold applies (name or file; default: the one NEW names, else red-baseline-2.1).")
    var baseline: String?

    @OptionGroup var output: ReportOptions

    func validate() throws {
        if let failOn, GateThreshold(rawValue: failOn) == nil { throw ValidationError("--fail-on must be one of critical, high, medium, low, info, never") }
        _ = try output.plan()
    }

    func run() throws {
        var report: ScanReport
        let previous: PreviousResults
        do {
            report = try ReportReader.load(file: new)
            previous = try PreviousResults.load(file: old)
        } catch {
            throw Output.usageFailure(error, reports: output)
        }
        // NEW's own comparison (if it had one) gives way to this one.
        report.findings.removeAll { $0.baselineState == .absent }
        for i in report.findings.indices { report.findings[i].baselineState = nil }
        previous.apply(to: &report)
        report.failOnNew = true
        report.gate = try ReportGate.resolve(failOn: failOn, baseline: baseline, reports: [report], output: output)
        try output.write(report, plan: try output.plan())
        throw ExitCode(report.exitStatus.rawValue)
    }
}
