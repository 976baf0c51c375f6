import ArgumentParser
import RBCore
import RBReport

/// `--format` / `--output` pairs, shared by `scan`, `merge` and `diff`.
struct ReportOptions: ParsableArguments {
    @Option(name: .customLong("format"), help: "Report format: \(Reporters.names.joined(separator: ", ")) (repeatable).",
            completion: .list(Reporters.names))
    var formats: [String] = []

    @Option(name: .customLong("output"), help: "Report file for the --format in the same position (repeatable); '-' is standard output.", completion: .file())
    var outputs: [String] = []

    @Option(name: .customLong("path-prefix"), help: "For --format sarif-github: a repository directory whose files become the image root (a Buildroot overlay, a Yocto layer's files), relative to the repository root (the working directory); image paths found under it are reported at their repository path (repeatable).", completion: .directory)
    var pathPrefixes: [String] = []

    /// Pairs formats with outputs; nil output = standard output.
    func plan() throws -> [(reporter: any Reporter, output: String?)] {
        var plan: [(any Reporter, String?)] = []
        for i in 0..<max(formats.count, outputs.count) {
            let output = i < outputs.count ? outputs[i] : nil
            var reporter: (any Reporter)?
            if i < formats.count {
                guard let named = Reporters.named(formats[i].lowercased()) else {
                    let hint = Suggestions.closest(to: formats[i], in: Reporters.names).map { "did you mean '\($0)'? " } ?? ""
                    throw ValidationError("unknown format '\(formats[i])'; \(hint)(known: \(Reporters.names.joined(separator: ", ")))")
                }
                reporter = named
            } else if let output, output != "-" {
                reporter = Reporters.forFile(output)
                if reporter == nil { throw ValidationError("cannot tell the format of '\(output)' from its name; add --format") }
            } else {
                throw ValidationError("--output - needs a --format")
            }
            if reporter is SARIFGitHubReporter { reporter = SARIFGitHubReporter(pathPrefixes: pathPrefixes) }
            plan.append((reporter!, output == "-" ? nil : output))
        }
        if plan.filter({ $0.1 == nil }).count > 1 { throw ValidationError("only one report can go to standard output") }
        // Every report went to a file: standard output gets the summary (counts, diagnostics,
        // the gate's verdict), not the whole text report again.
        if !plan.contains(where: { $0.1 == nil }) { plan.append((TextReporter(listsFindings: plan.isEmpty), nil)) }
        return plan
    }

    /// Renders and writes every report of `plan`; diagnostics reach standard error when a
    /// machine-readable report took standard output. Every report is attempted; when one could
    /// not be written, each failure is printed with the scan's own result, and the exit is 2.
    func write(_ report: ScanReport, plan: [(reporter: any Reporter, output: String?)]) throws {
        var failures: [String] = []
        for (reporter, output) in plan {
            let color = output == nil && type(of: reporter).name == TextReporter.name && Output.colorAllowed
            if let output {
                do {
                    try Output.writeFile(output) { sink in try reporter.write(report, color: color, to: sink) }
                } catch {
                    failures.append("\(error)")
                }
            } else {
                try Output.stdout { sink in try reporter.write(report, color: color, to: sink) }
            }
        }
        if let toStdout = plan.first(where: { $0.output == nil }), type(of: toStdout.reporter).name != TextReporter.name {
            for diagnostic in report.diagnostics { Output.stderr("\(diagnostic)\n") }
        }
        if let error = Output.stdoutError { failures.append("cannot write standard output: \(error)") }
        guard failures.isEmpty else {
            for failure in failures { Output.stderr("rbscan: \(failure)\n") }
            let status = report.exitStatus
            let result = status == .ok ? "gate passed" : status == .gateFailed ? "gate failed" : "exit \(status.rawValue)"
            Output.stderr("rbscan: the scan's result was: \(result) (\(report.gatingFindings.count) gating finding(s)); "
                          + "\(failures.count) report(s) were not written (exit 2)\n")
            throw ExitCode(ExitStatus.usage.rawValue)
        }
    }

    /// The reports of a run that stopped before scanning (an input did not load): every
    /// requested report file is written with the diagnostics and no findings. Standard output
    /// gets nothing (the diagnostics went to standard error).
    func writeFailure(_ diagnostics: [Diagnostic]) {
        writeFiles(ScanReport(targets: [], rules: [], findings: [], diagnostics: diagnostics, baselineID: "",
                              gate: .severity(.high), commandLine: CommandLine.arguments.joined(separator: " ")))
    }

    /// Writes the report files of `plan` (not standard output); a file that cannot be written is
    /// reported on standard error.
    func writeFiles(_ report: ScanReport) {
        guard let plan = try? plan() else { return }
        for (reporter, output) in plan {
            guard let output else { continue }
            do {
                try Output.writeFile(output) { sink in try reporter.write(report, color: false, to: sink) }
            } catch {
                Output.stderr("rbscan: \(error)\n")
            }
        }
    }
}
