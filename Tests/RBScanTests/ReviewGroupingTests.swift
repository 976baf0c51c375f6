import Foundation
import RBTestSupport
import Testing

/// A rule's review results on one target are one result with every place (issue 20): one row
/// to read instead of one per match; SARIF carries the others as relatedLocations (schema-valid);
/// the result's identity does not change when one of the places goes away.
@Suite("Review grouping")
struct ReviewGroupingTests {
    let rbscan = Repository.rbscanBinary

    @Test("Three review matches in two files are one review result with related locations; failures are not grouped")
    func grouped() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FixtureWriter.write([
            "rules/manifest.yaml": .file("format: 1\nid: grouping\nversion: 1.0.0\nprefix: GRP\nrbscan: \">=0.1\"\n"),
            "rules/g.yaml": .file("""
                version: 1
                pack: g
                title: Grouping
                rules:
                  - id: GRP-SYS-001
                    title: Debug switches to look at
                    category: SYS
                    severity: low
                    description: d
                    remediation: r
                    check: file.regex
                    targets: [firmware]
                    options: {paths: ["etc/*.conf"], pattern: 'debug=1', status: review, message: "{path}:{line} turns debugging on"}
                  - id: GRP-SYS-002
                    title: Trace switches
                    category: SYS
                    severity: low
                    description: d
                    remediation: r
                    check: file.regex
                    targets: [firmware]
                    options: {paths: ["etc/*.conf"], pattern: 'trace=1', message: "{path}:{line} turns tracing on"}

                """),
            "root/etc/a.conf": .file("debug=1\ntrace=1\ndebug=1\n"),
            "root/etc/b.conf": .file("debug=1\ntrace=1\n"),
        ], into: dir.path)
        func scan() throws -> [[String: Any]] {
            let result = try runProcess(rbscan, ["scan", dir.url("root"), "--rules", dir.url("rules"), "--no-shipped-rules", "--fail-on", "never",
                                                 "--format", "json", "--output", dir.url("r.json"), "--format", "sarif", "--output", dir.url("r.sarif")])
            #expect(result.status == 0, "\(result.stderr)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.url("r.json")))) as? [String: Any])
            return report["findings"] as? [[String: Any]] ?? []
        }
        let findings = try scan()
        let reviews = findings.filter { $0["ruleId"] as? String == "GRP-SYS-001" }
        #expect(reviews.count == 1)
        let review = try #require(reviews.first)
        #expect((review["message"] as? String)?.hasPrefix("3 items to review: ") == true)
        #expect(review["path"] as? String == "etc/a.conf" && review["line"] as? Int == 1)
        let related = try #require(review["relatedLocations"] as? [[String: Any]])
        #expect(related.map { "\($0["path"] ?? ""):\($0["line"] ?? "")" } == ["etc/a.conf:3", "etc/b.conf:1"])
        #expect(findings.filter { $0["ruleId"] as? String == "GRP-SYS-002" }.count == 2, "failures stay one per place")
        let sarif = try String(contentsOfFile: dir.url("r.sarif"), encoding: .utf8)
        #expect(sarif.contains("\"relatedLocations\""))
        #expect(try validateSARIF(dir.url("r.sarif")).status == 0)
        // rbscan merge keeps the other places.
        let merged = try runProcess(rbscan, ["merge", dir.url("r.json"), "--fail-on", "never", "--format", "json"])
        #expect(merged.status == 0 && merged.stdout.contains("\"relatedLocations\""), "\(merged.stderr)")
        // Fixing one place keeps the result's identity.
        let fingerprint = review["fingerprint"] as? String
        try "trace=1\n".write(toFile: dir.url("root/etc/b.conf"), atomically: true, encoding: .utf8)
        let after = try scan().filter { $0["ruleId"] as? String == "GRP-SYS-001" }
        #expect(after.count == 1 && after.first?["fingerprint"] as? String == fingerprint)
        #expect((after.first?["message"] as? String)?.hasPrefix("2 items to review: ") == true)
    }
}
