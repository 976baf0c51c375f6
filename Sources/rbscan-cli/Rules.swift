import ArgumentParser
import RBCore
import RBScan

struct Rules: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "List, lint, test and explain rules.",
        subcommands: [List.self, Lint.self, Test.self, Explain.self])

    struct Source: ParsableArguments {
        @Option(name: .customLong("rules"), help: "A rules directory layered over the shipped Rules/ (repeatable).", completion: .directory)
        var ruleDirectories: [String] = []

        @Flag(name: .customLong("no-shipped-rules"), help: "Load only the --rules directories (and plugins' rules/), not the shipped Rules/.")
        var noShippedRules = false

        @Option(help: "Baseline name (in Baselines/) or file.")
        var baseline: String?

        @Option(name: .customLong("plugins"), help: "An external check plugin directory, or a directory of them (repeatable); their rules/ packs are loaded too.", completion: .directory)
        var pluginDirectories: [String] = []

        /// Loads the configuration; prints its diagnostics and exits 2 when it is invalid.
        func load(requireValid: Bool = true) throws -> ScanSession.Configuration {
            let configuration = ScanSession.configuration(ruleDirectories: ruleDirectories, baseline: baseline,
                                                          pluginDirectories: pluginDirectories, shippedRules: !noShippedRules)
            if requireValid && !configuration.isValid {
                for diagnostic in configuration.diagnostics { Output.stderr("\(diagnostic)\n") }
                throw ExitCode(ExitStatus.usage.rawValue)
            }
            return configuration
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the rules the baseline selects.")
        @OptionGroup var source: Source

        func run() throws {
            let configuration = try source.load()
            for rule in configuration.rules {
                let state = rule.enabled ? "" : "  (disabled)"
                Output.stdout("\(rule.id.padded(12)) \(rule.severity.rawValue.padded(8)) \(rule.targets.map(\.rawValue).joined(separator: ",").padded(16)) \(rule.title)\(state)\n")
            }
            Output.stdout("\(configuration.rules.count) rules from \(configuration.packs.count) packs; baseline \(configuration.baseline?.id ?? "-")\n")
        }
    }

    struct Lint: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "lint",
            abstract: "Check rule packs and the baseline: unknown keys and checks, bad options, duplicate or malformed IDs.")
        @OptionGroup var source: Source

        func run() throws {
            let configuration = try source.load(requireValid: false)
            for diagnostic in configuration.diagnostics { Output.stderr("\(diagnostic)\n") }
            let errors = configuration.diagnostics.filter { $0.level == .error }.count
            let rules = configuration.packs.reduce(0) { $0 + $1.rules.count }
            Output.stdout("\(configuration.packs.count) packs, \(rules) rules: \(errors) error(s)\n")
            if errors > 0 { throw ExitCode(ExitStatus.usage.rawValue) }
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "test", abstract: "Run every rule's pass and fail examples.")
        @OptionGroup var source: Source
        @Argument(help: "Rule IDs to test (default: all loaded rules).", completion: .custom { _, _, _ in RuleIDs.all() })
        var ids: [String] = []

        func run() async throws {
            let configuration = try source.load()
            var rules = configuration.packs.flatMap(\.rules)
            if !ids.isEmpty {
                let unknown = ids.filter { id in !rules.contains { $0.id == id } }
                if !unknown.isEmpty {
                    Output.stderr("unknown rule(s): \(unknown.joined(separator: ", "))\n")
                    throw ExitCode(ExitStatus.usage.rawValue)
                }
                rules = rules.filter { ids.contains($0.id) }
            }
            let outcomes = await RuleTester(adapters: configuration.adapters).test(rules)
            let failed = Rules.printOutcomes(outcomes)
            Output.stdout("rules: \(outcomes.count - failed) passed, \(failed) failed\n")
            if failed > 0 { throw ExitCode(1) }
        }
    }

    struct Explain: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "explain", abstract: "Show everything about one rule.")
        @OptionGroup var source: Source
        @Argument(help: "The rule ID, e.g. RB-SYS-001.", completion: .custom { _, _, _ in RuleIDs.all() })
        var id: String

        func run() throws {
            let configuration = try source.load()
            let all = configuration.packs.flatMap(\.rules)
            guard let rule = all.first(where: { $0.id.lowercased() == id.lowercased() }) else {
                let hint = Suggestions.closest(to: id, in: all.map(\.id)).map { "; did you mean \($0)?" } ?? ""
                Output.stderr("unknown rule \(id)\(hint) (rbscan rules list shows them)\n")
                throw ExitCode(ExitStatus.usage.rawValue)
            }
            let ruleID = rule.id
            let selected = configuration.rules.first { $0.id == ruleID }
            var text = "\(rule.id): \(rule.title)\n"
            text += "Category:    \(rule.category.rawValue) (\(rule.category.title))\n"
            text += "Severity:    \(selected?.severity.rawValue ?? rule.severity.rawValue)"
            if let selected, selected.severity != rule.severity { text += " (baseline override; pack says \(rule.severity.rawValue))" }
            text += "\nTargets:     \(rule.targets.map(\.rawValue).joined(separator: ", "))\n"
            text += "Check:       \(rule.checkIDs)\n"
            text += "Defined at:  \(rule.source)\n"
            text += "In baseline: " + (selected == nil ? "no" : selected!.enabled ? "yes" : "disabled") + "\n\n"
            text += "Description:\n\(rule.description.trimmingWhitespace().indented())\n\n"
            if let rationale = rule.rationale { text += "Rationale:\n\(rationale.trimmingWhitespace().indented())\n\n" }
            text += "Remediation:\n\(rule.remediation.trimmingWhitespace().indented())\n"
            if !rule.references.isEmpty {
                text += "\nReferences:\n" + rule.references.map { "  - \($0)\n" }.joined()
            }
            text += "\nExamples: \(rule.examples.fail.count) fail, \(rule.examples.pass.count) pass (rbscan rules test \(rule.id))\n"
            Output.stdout(text)
        }
    }
}

extension StringProtocol {
    func padded(_ width: Int) -> String {
        count >= width ? String(self) : String(self) + String(repeating: " ", count: width - count)
    }

    func indented() -> String {
        split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")
    }
}

/// The shipped rules' IDs, for shell completion.
enum RuleIDs {
    static func all() -> [String] {
        ScanSession.configuration(ruleDirectories: [], baseline: nil, examples: false).packs.flatMap(\.rules).map(\.id).sorted()
    }
}

extension Rules {
    /// Prints PASS/FAIL per rule (with each problem) and returns how many failed.
    static func printOutcomes(_ outcomes: [RuleTester.Outcome]) -> Int {
        var failed = 0
        for outcome in outcomes {
            if outcome.passed {
                Output.stdout("PASS \(outcome.ruleID) (\(outcome.failExamples) fail, \(outcome.passExamples) pass examples)\n")
            } else {
                failed += 1
                Output.stdout("FAIL \(outcome.ruleID)\n")
                for problem in outcome.problems { Output.stdout("     \(problem)\n") }
            }
        }
        return failed
    }
}
