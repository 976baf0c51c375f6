import Foundation
import RBTestSupport
import Testing

/// The HTML triage report of a real scan, opened in headless Chromium (Debian's `chromium`): the
/// page's script runs without errors, filters and sorting (driven through the address fragment,
/// as a user's bookmark would) leave exactly the expected rows, the compliance view maps
/// results to provisions, nothing is fetched from the network, and a screenshot renders.
@Suite("HTML report in headless Chromium", .serialized)
struct HTMLReportTests {
    let rbscan = Repository.rbscanBinary
    let example = Repository.root + "/Examples/camera-rootfs"

    func chromium(_ arguments: [String]) throws -> ProcessResult {
        try runProcess("/usr/bin/chromium", ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                             "--no-first-run", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000"] + arguments)
    }

    /// The findings' `<tbody>` attributes of the DOM after the page ran, and whether each is shown.
    func rows(_ dom: String) -> [(attributes: [String: String], visible: Bool)] {
        var result: [(attributes: [String: String], visible: Bool)] = []
        let pattern = try! NSRegularExpression(pattern: #"<tbody class="finding"([^>]*)>"#)
        let attribute = try! NSRegularExpression(pattern: #"([a-z-]+)="([^"]*)""#)
        for match in pattern.matches(in: dom, range: NSRange(dom.startIndex..., in: dom)) {
            let text = String(dom[Range(match.range(at: 1), in: dom)!])
            var attributes: [String: String] = [:]
            for pair in attribute.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                attributes[String(text[Range(pair.range(at: 1), in: text)!])] = String(text[Range(pair.range(at: 2), in: text)!])
            }
            result.append((attributes, !text.contains(" hidden")))
        }
        return result
    }

    @Test("Opens without script errors; severity, text, status filters and sorting work in the DOM; compliance view; no network; screenshot")
    func report() throws {
        let out = try TemporaryDirectory(prefix: "rbscan-html")
        defer { out.remove() }
        let scan = try runProcess(rbscan, ["scan", example, "--fail-on", "high", "--format", "json", "--output", out.url("r.json"),
                                           "--output", out.url("report.html")])
        #expect(scan.status == 1, "\(scan.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out.url("r.json")))) as? [String: Any])
        let findings = json["findings"] as? [[String: Any]] ?? []
        let html = try String(contentsOfFile: out.url("report.html"), encoding: .utf8)
        // Self-contained: no resource from elsewhere.
        #expect(html.range(of: #"(src|href)\s*=\s*"(https?:)?//"#, options: .regularExpression) == nil)
        #expect(!html.contains("<link ") && !html.contains("@import"))

        let url = URL(fileURLWithPath: out.url("report.html")).absoluteString
        func dom(_ fragment: String) throws -> String {
            let result = try chromium(["--dump-dom", url + fragment])
            #expect(result.status == 0, "\(result.stderr.suffix(500))")
            // Console errors and uncaught exceptions are logged by Chromium as CONSOLE lines.
            let console = result.stderr.split(separator: "\n").filter { $0.contains("CONSOLE") || $0.contains("Uncaught") }
            #expect(console.isEmpty, "\(console)")
            #expect(result.stdout.range(of: #"<body[^>]*data-ready="true""#, options: .regularExpression) != nil, "the script ran")
            #expect(result.stdout.range(of: #"<body[^>]*data-js-error"#, options: .regularExpression) == nil, "no script error")
            return result.stdout
        }

        let all = rows(try dom(""))
        #expect(all.count == findings.count && all.allSatisfy(\.visible))

        let critical = rows(try dom("#severity=critical"))
        let expectedCritical = findings.filter { $0["severity"] as? String == "critical" && $0["status"] as? String == "fail" }.count
        #expect(expectedCritical > 0)
        #expect(critical.filter(\.visible).count == expectedCritical)
        #expect(critical.filter(\.visible).allSatisfy { $0.attributes["data-severity"] == "critical" })

        let telnet = rows(try dom("#q=telnet"))
        let expectedTelnet = findings.filter { ("\($0["ruleId"] ?? "") \($0["path"] ?? "") \($0["message"] ?? "")").lowercased().contains("telnet") }.count
        #expect(telnet.filter(\.visible).count >= expectedTelnet && expectedTelnet > 0)
        #expect(telnet.filter(\.visible).allSatisfy { $0.attributes["data-search"]?.contains("telnet") == true })

        let gating = rows(try dom("#status=gating"))
        #expect(gating.filter(\.visible).count == findings.filter { $0["gating"] as? Bool == true }.count)

        let sortedDOM = try dom("#sort=severity:desc")
        #expect(sortedDOM.contains(#"data-sorted="severity:desc""#))
        let ranks = rows(sortedDOM).map { Int($0.attributes["data-rank"] ?? "") ?? -9 }
        #expect(ranks == ranks.sorted(by: >), "\(ranks)")
        let byRule = rows(try dom("#sort=rule")).map { Int($0.attributes["data-index"] ?? "") ?? 0 }
        let ruleOrder = byRule.map { findings[$0]["ruleId"] as? String ?? "" }
        #expect(ruleOrder == ruleOrder.sorted(), "\(ruleOrder)")

        // Compliance view: default passwords fail OWASP I1; I6 (privacy) has no rule: not checked.
        let full = try dom("")
        #expect(full.range(of: #"<tr class="c-fail" data-provision="I1">"#, options: .regularExpression) != nil)
        #expect(full.contains(#"<tr class="c-unchecked" data-provision="I6">"#))
        #expect(full.contains(#"data-standard="etsi""#) && full.contains(#"data-standard="gbt""#) && full.contains(#"data-provision="§7.1""#))

        // A screenshot renders (the one in docs/ is made the same way by scripts/html-screenshot).
        let shot = out.url("report.png")
        let screenshot = try chromium(["--screenshot=\(shot)", "--window-size=1280,1600", url])
        #expect(screenshot.status == 0, "\(screenshot.stderr.suffix(300))")
        let png = try Data(contentsOf: URL(fileURLWithPath: shot))
        #expect(png.count > 20_000 && png.starts(with: [0x89, 0x50, 0x4e, 0x47]))
    }
}
