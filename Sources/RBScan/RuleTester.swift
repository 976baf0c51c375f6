import RBCore

/// `rbscan rules test`: runs every example of every rule. A fail example must give at least one
/// failing result (exactly `findings:` when given, the first at `line:` when given); a pass
/// example must give none; a rule without both kinds of example is itself a failure.
public struct RuleTester {
    public struct Outcome: Sendable {
        public var ruleID: String
        public var passed: Bool
        public var failExamples: Int
        public var passExamples: Int
        public var problems: [String]
    }

    public let limits: ScanLimits
    public let adapters: ConfigAdapters

    public init(limits: ScanLimits = ScanLimits(), adapters: ConfigAdapters = ConfigAdapters()) {
        self.limits = limits
        self.adapters = adapters
    }

    public func test(_ rules: [Rule]) async -> [Outcome] {
        var outcomes: [Outcome] = []
        for rule in rules.sorted(by: { $0.id < $1.id }) {
            outcomes.append(await test(rule))
        }
        return outcomes
    }

    public func test(_ rule: Rule) async -> Outcome {
        var problems: [String] = []
        if rule.examples.fail.isEmpty { problems.append("no fail example: nothing shows the rule can fail") }
        if rule.examples.pass.isEmpty { problems.append("no pass example: nothing shows the rule can pass") }
        for (expectFailure, examples) in [(true, rule.examples.fail), (false, rule.examples.pass)] {
            for (i, example) in examples.enumerated() {
                let name = "\(expectFailure ? "fail" : "pass") example \(i + 1)" + (example.source.map { " (\($0))" } ?? "")
                guard rule.applies(to: example.kind) else {
                    problems.append("\(name): a \(example.kind.rawValue) example, but the rule targets \(rule.targets.map(\.rawValue).joined(separator: ", "))")
                    continue
                }
                let tree = example.tree()
                var target = ScanTarget(spec: example.endpoint?.uri ?? "example", kind: example.kind,
                                        tree: example.kind == .endpoint ? nil : tree, baseID: "EXAMPLE", baseURI: nil)
                target.endpoint = example.endpoint
                target.tls = example.tlsFacts
                target.ssh = example.ssh?.facts
                target.host = example.host?.facts
                target.http = example.http?.facts
                target.rtsp = example.rtsp?.facts
                target.profile = example.profile
                target.adapters = adapters
                let sink = DiagnosticSink()
                var exampleLimits = limits
                if let keys = example.signingKeys { exampleLimits.signingKeys = keys }
                if let data = example.vulnerabilities { exampleLimits.vulnerabilities = data.database }
                let context = CheckContext(target: target, limits: exampleLimits, ruleID: rule.id, sink: sink)
                let observations: [Observation]
                do {
                    observations = try await rule.run(in: context)
                } catch {
                    problems.append("\(name): the check threw: \(error)")
                    continue
                }
                for diagnostic in sink.all where diagnostic.level == .error {
                    problems.append("\(name): \(diagnostic.message)")
                }
                let failures = observations.filter { $0.status == .fail }
                if expectFailure {
                    if failures.isEmpty {
                        problems.append("\(name): expected a finding, got none")
                    } else if let count = example.findings, failures.count != count {
                        problems.append("\(name): expected \(count) finding(s), got \(failures.count): " + failures.map(\.message).joined(separator: " | "))
                    }
                    if let severity = example.severity, let highest = failures.map({ $0.severity ?? rule.severity }).max(), highest != severity {
                        problems.append("\(name): expected severity \(severity.rawValue), got \(highest.rawValue)")
                    }
                    if let line = example.line, let first = failures.first, first.location.line != line {
                        problems.append("\(name): expected the finding at line \(line), got \(first.location.line.map(String.init) ?? "no line")")
                    }
                } else if !failures.isEmpty {
                    problems.append("\(name): expected no finding, got \(failures.count): " + failures.map(\.message).joined(separator: " | "))
                }
            }
        }
        return Outcome(ruleID: rule.id, passed: problems.isEmpty, failExamples: rule.examples.fail.count,
                       passExamples: rule.examples.pass.count, problems: problems)
    }
}
