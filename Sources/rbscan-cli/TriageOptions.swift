import ArgumentParser
import RBCore

/// Waivers and comparison with earlier results, shared by `scan` and `merge`.
struct TriageOptions: ParsableArguments {
    @Option(name: .customLong("waivers"), help: "A waivers file (YAML): accepted findings with justification, owner and expiry; they stay visible and leave the gate.", completion: .file(extensions: ["yaml", "yml"]))
    var waivers: String?

    @Option(name: .customLong("compare"), help: "An earlier rbscan SARIF or JSON report: every result gets a baselineState (new, unchanged, updated, absent).", completion: .file(extensions: ["json", "sarif"]))
    var compare: String?

    @Flag(name: .customLong("fail-on-new"), help: "Only findings new since --compare count for the gate.")
    var failOnNew = false

    @Flag(name: .customLong("omit-waived"), help: "Leave waived and absent results out of the SARIF report (GitHub code scanning ignores suppressions and baselineState).")
    var omitWaived = false

    func validate() throws {
        if failOnNew && compare == nil { throw ValidationError("--fail-on-new needs --compare PREVIOUS.sarif|json") }
    }

    /// Reads the waivers and the earlier results before any scanning: a broken file costs no
    /// scan (exit 2, file:line on standard error).
    func load(reports: ReportOptions) throws -> (waivers: WaiverSet?, previous: PreviousResults?) {
        do {
            let waiverSet = try waivers.map { file throws(DiagnosticError) in try WaiverSet.load(file: file) }
            let previous = try compare.map { file throws(DiagnosticError) in try PreviousResults.load(file: file) }
            return (waiverSet, previous)
        } catch {
            throw Output.usageFailure(error, "nothing scanned", reports: reports)
        }
    }

    /// Compared results first (absent findings are never waived), then waivers, then the gate options.
    func apply(_ loaded: (waivers: WaiverSet?, previous: PreviousResults?), to report: inout ScanReport) {
        loaded.previous?.apply(to: &report)
        loaded.waivers?.apply(to: &report)
        report.failOnNew = failOnNew
        report.sarifOmitsWaived = omitWaived
    }
}
