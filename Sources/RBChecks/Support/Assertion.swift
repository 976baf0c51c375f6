import RBCore

/// What a selector (XPath, a JSON/YAML path) found in one file.
struct SelectedItem {
    /// The item's text value; nil for a container (mapping, list) that has none.
    var value: String?
    var line: Int?
    /// A readable name of the item (`telnetd/enabled`, `services.telnet.enabled`).
    var label: String
}

/// The options shared by the structured checks, and how their results become observations.
struct StructuredAssertion: Sendable {
    let selector: String
    let mode: AssertionMode
    let expect: Expectation?
    let message: String?

    init(selector: String, mode: AssertionMode?, expect: Expectation?, message: String?) throws(CheckOptionError) {
        self.selector = selector
        self.mode = mode ?? (expect == nil ? .forbid : .each)
        self.expect = expect
        self.message = message
        if (self.mode == .each || self.mode == .count) && expect == nil {
            throw CheckOptionError(key: "expect", "mode '\(self.mode.rawValue)' needs an expectation")
        }
        if (self.mode == .forbid || self.mode == .require) && expect != nil {
            throw CheckOptionError(key: "expect", "mode '\(self.mode.rawValue)' takes no expectation")
        }
    }

    func judge(_ items: [SelectedItem], path: String) -> [Observation] {
        func make(_ text: String, line: Int?, key: String, values: [String: String], snippet: String? = nil) -> Observation {
            var all = values
            all["path"] = path
            all["line"] = line.map(String.init) ?? ""
            all["expected"] = expect?.description ?? ""
            all["selector"] = selector
            return Observation(message: Template.render(message ?? text, all), location: Location(path: path, line: line),
                               evidence: Evidence(key: key, snippet: snippet, facts: values))
        }
        switch mode {
        case .forbid:
            return items.map { item in
                make("\(path): \(item.label) is present" + (item.value.map { " (\(Snippet.make($0)))" } ?? ""),
                     line: item.line, key: selector + "|" + item.label,
                     values: ["node": item.label, "value": item.value.map { Snippet.make($0) } ?? ""])
            }
        case .require:
            guard items.isEmpty else { return [] }
            return [make("\(path): nothing matches \(selector)", line: nil, key: "require:" + selector, values: [:])]
        case .each:
            return items.compactMap { item in
                let value = item.value ?? ""
                guard !expect!.isSatisfied(by: value) else { return nil }
                let shown = Snippet.make(value)
                return make("\(path): \(item.label) is '\(shown)', expected \(expect!)", line: item.line,
                            key: selector + "|" + item.label + "=" + value, values: ["node": item.label, "value": shown])
            }
        case .count:
            let count = String(items.count)
            guard !expect!.isSatisfied(by: count) else { return [] }
            return [make("\(path): \(count) match(es) of \(selector), expected \(expect!)", line: items.first?.line,
                         key: "count:" + selector, values: ["count": count])]
        }
    }
}
