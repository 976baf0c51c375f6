import Foundation
import RBTestSupport
import Testing

/// JUnit XML and Markdown, each read back by a real consumer: junitparser (Debian's
/// python3-junitparser) and cmark-gfm (GitHub's Markdown implementation, with its table
/// extension), compared with the JSON report of the same scan.
@Suite("Report formats read by real consumers: JUnit, Markdown", .serialized)
struct ReportFormatTests {
    let rbscan = Repository.rbscanBinary
    let example = Repository.root + "/Examples/camera-rootfs"

    /// A second target whose curl finding (RB-WEB-006) quotes a pipe and markup.
    func pipeRoot() throws -> TemporaryDirectory {
        let root = try TemporaryDirectory(prefix: "rbscan-formats")
        try FixtureWriter.write([
            "etc/inittab": .file("::sysinit:/etc/init.d/rcS\n"),
            "etc/init.d/rcS": .file("#!/bin/sh\ntelnetd -l /bin/sh\ncurl -k -s https://upd.example.com/x | logger -t <tel*net> `x`\n", mode: 0o755),
        ], into: root.path)
        return root
    }

    /// rule ID → number of gating findings, per target spec, from the JSON report.
    func gating(_ json: String) throws -> [String: [String: Int]] {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let targets = (document["targets"] as? [[String: Any]] ?? []).map { $0["spec"] as? String ?? "" }
        var result: [String: [String: Int]] = [:]
        for finding in document["findings"] as? [[String: Any]] ?? [] where finding["gating"] as? Bool == true {
            let target = targets[finding["target"] as? Int ?? 0]
            result[target, default: [:]][finding["ruleId"] as? String ?? "", default: 0] += 1
        }
        return result
    }

    @Test("JUnit: one test case per rule and target; failures are exactly the rules that gate, per target (junitparser)")
    func junit() throws {
        let root = try pipeRoot()
        let out = try TemporaryDirectory(prefix: "rbscan-junit")
        defer { root.remove(); out.remove() }
        let result = try runProcess(rbscan, ["scan", example, root.path, "--fail-on", "high", "--format", "json", "--output", out.url("r.json"),
                                             "--output", out.url("r.junit.xml")])
        #expect(result.status == 1, "\(result.stderr)")
        let expected = try gating(String(contentsOfFile: out.url("r.json"), encoding: .utf8))
        let script = """
            import json, sys
            from junitparser import JUnitXml, Failure, Error, Skipped
            xml = JUnitXml.fromfile(sys.argv[1])
            out = {}
            for suite in xml:
                cases = list(suite)
                failed = {}
                for case in cases:
                    kinds = [type(r).__name__ for r in case.result]
                    if 'Failure' in kinds:
                        failure = [r for r in case.result if isinstance(r, Failure)][0]
                        lines = failure.text.strip().split('\\n')
                        # one line per gating finding, then the rule's remediation
                        assert lines[-1].startswith('fix: ') and len(lines[-1]) > 10, lines
                        failed[case.name.split(' ')[0]] = len(lines) - 1
                out[suite.name] = {'tests': suite.tests, 'cases': len(cases), 'failures': suite.failures, 'errors': suite.errors, 'failed': failed}
            print(json.dumps(out))
            """
        let parsed = try runProcess("/usr/bin/python3", ["-c", script, out.url("r.junit.xml")])
        #expect(parsed.status == 0, "\(parsed.stderr)")
        let suites = try #require(try JSONSerialization.jsonObject(with: Data(parsed.stdout.utf8)) as? [String: [String: Any]])
        #expect(Set(suites.keys) == [example, root.path])
        for (spec, suite) in suites {
            #expect(suite["tests"] as? Int == suite["cases"] as? Int)
            #expect((suite["tests"] as? Int ?? 0) > 40, "every firmware rule is a test case")
            #expect(suite["errors"] as? Int == 0)
            #expect(suite["failed"] as? [String: Int] == expected[spec], "\(spec): \(suite["failed"] ?? "") vs \(expected[spec] ?? [:])")
            #expect(suite["failures"] as? Int == expected[spec]?.count)
        }
    }

    @Test("Markdown: cmark-gfm renders the gate table with one row per gating finding, a pipe in a message stays inside its cell, markup is not interpreted")
    func markdown() throws {
        let root = try pipeRoot()
        let out = try TemporaryDirectory(prefix: "rbscan-md")
        defer { root.remove(); out.remove() }
        let result = try runProcess(rbscan, ["scan", example, root.path, "--fail-on", "high", "--format", "json", "--output", out.url("r.json"),
                                             "--output", out.url("r.md")])
        #expect(result.status == 1, "\(result.stderr)")
        let total = try gating(String(contentsOfFile: out.url("r.json"), encoding: .utf8)).values.flatMap(\.values).reduce(0, +)
        let html = try runProcess("/usr/bin/cmark-gfm", ["-e", "table", out.url("r.md")])
        #expect(html.status == 0, "\(html.stderr)")
        let script = """
            import sys
            from html.parser import HTMLParser
            class P(HTMLParser):
                def __init__(self):
                    super().__init__(); self.tables = []; self.row = None; self.cell = None; self.h3 = False; self.section = ''
                def handle_starttag(self, tag, attrs):
                    if tag == 'table': self.tables.append((self.section, []))
                    elif tag == 'tr': self.row = []; self.tables[-1][1].append(self.row)
                    elif tag in ('td', 'th'): self.cell = ''
                    elif tag == 'h3': self.h3 = True; self.section = ''
                def handle_endtag(self, tag):
                    if tag in ('td', 'th'): self.row.append(self.cell); self.cell = None
                    elif tag == 'h3': self.h3 = False
                def handle_data(self, data):
                    if self.cell is not None: self.cell += data
                    if self.h3: self.section += data
            p = P(); p.feed(open(sys.argv[1], encoding='utf-8').read())
            gate = [rows for section, rows in p.tables if section.startswith('Findings that fail the gate')][0]
            widths = {len(r) for r in gate}
            pipe = [r for r in gate if 'logger' in r[-2]]
            print(len(gate) - 1, sorted(widths), pipe[0][-2] if pipe else '-')
            """
        try html.stdout.write(toFile: out.url("r.html"), atomically: true, encoding: .utf8)
        let parsed = try runProcess("/usr/bin/python3", ["-c", script, out.url("r.html")])
        #expect(parsed.status == 0, "\(parsed.stderr)")
        let fields = parsed.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ", maxSplits: 2).map(String.init)
        #expect(fields.first == String(total), "\(parsed.stdout)")
        #expect(fields.dropFirst().first == "[6]", "every row has its 6 cells (the last the fix): \(parsed.stdout)")
        #expect(fields.last?.contains("| logger -t <tel*net> `x`") == true, "\(parsed.stdout)")
        let markdown = try String(contentsOfFile: out.url("r.md"), encoding: .utf8)
        #expect(markdown.hasPrefix("## ❌ rbscan: gate failed"))
    }
}
