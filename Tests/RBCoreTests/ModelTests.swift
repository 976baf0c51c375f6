import RBCore
import RBCrypto
import Testing

@Suite("Model: severities, IDs, masking, fingerprints, exit codes")
struct ModelTests {
    @Test func severityOrderAndSARIFMapping() {
        #expect(Severity.critical > .high && Severity.high > .medium && Severity.low > .info)
        #expect(Severity.critical.securitySeverity == "9.5")
        #expect(Severity.high.securitySeverity == "8.0")
        #expect(Severity.medium.securitySeverity == "5.5")
        #expect(Severity.low.securitySeverity == "3.0")
        #expect(Severity.high.sarifLevel == "error")
        #expect(Severity.medium.sarifLevel == "warning")
        #expect(Severity.low.sarifLevel == "note")
    }

    @Test(arguments: [("RB-SYS-001", Category.SYS), ("RB-AUTH-012", .AUTH), ("RB-TLS-009", .TLS)])
    func validIDs(id: String, category: Category) {
        #expect(RuleID.category(of: id) == category)
    }

    @Test(arguments: ["RB-FOO-001", "RB-SYS-1", "RB-SYS-0001", "XX-SYS-001", "RB-SYS-00a", "rb-sys-001", "RB-SYS"])
    func invalidIDs(id: String) {
        #expect(RuleID.category(of: id) == nil)
    }

    /// A mask shows neither characters nor the length; only a token format's published prefix.
    @Test func masksSecrets() {
        #expect(Mask.secret("AKIAIOSFODNN7EXAMPLE") == "AKIA********")
        #expect(Mask.secret("12345") == "********")
        #expect(Mask.secret("password") == "********")
        #expect(Mask.secret("a-much-longer-password-of-40-characters!") == "********")
        #expect(Mask.secret("AKIA") == "********", "a prefix alone is not a token")
        #expect(Mask.secret("") == "")
        // Masking a mask changes nothing (reports mask again what rules already masked).
        #expect(Mask.secret(Mask.secret("AKIAIOSFODNN7EXAMPLE")) == "AKIA********")
    }

    /// Secret digests are HMACs: under a user key stable and comparable, under the run's own
    /// key different every run; never the plain SHA-256 a word list reverses.
    @Test func secretDigestsAreKeyed() {
        let key = Array("0123456789abcdef0123".utf8)
        let a = SecretDigest(userKey: key), b = SecretDigest(userKey: key)
        #expect(a.userKeyed && a.hex("hunter2") == b.hex("hunter2") && a.keyID == b.keyID)
        #expect(a.identity("hunter2") == a.hex("hunter2"))
        #expect(!a.hex("hunter2").hasPrefix(String(Digest.sha256Hex(Array("hunter2".utf8)).prefix(16))))
        let run1 = SecretDigest(), run2 = SecretDigest()
        #expect(!run1.userKeyed && run1.identity("hunter2") == nil)
        #expect(run1.hex("hunter2") != run2.hex("hunter2") && run1.keyID != run2.keyID)
        #expect(SecretDigest(userKey: []).userKeyed == false)
    }

    @Test func fingerprintIgnoresLinesAndTimes() {
        let a = Finding(ruleID: "RB-SYS-001", status: .fail, severity: .medium, category: .SYS, message: "x",
                        targetIndex: 0, location: Location(path: "etc/sysctl.conf", line: 2),
                        evidence: Evidence(key: "kernel.randomize_va_space=0"))
        let b = Finding(ruleID: "RB-SYS-001", status: .fail, severity: .medium, category: .SYS, message: "other text",
                        targetIndex: 3, location: Location(path: "etc/sysctl.conf", line: 40),
                        evidence: Evidence(key: "kernel.randomize_va_space=0"))
        let c = Finding(ruleID: "RB-SYS-001", status: .fail, severity: .medium, category: .SYS, message: "x",
                        targetIndex: 0, location: Location(path: "etc/sysctl.d/x.conf", line: 2),
                        evidence: Evidence(key: "kernel.randomize_va_space=0"))
        #expect(a.fingerprint == b.fingerprint)
        #expect(a.fingerprint != c.fingerprint)
        #expect(a.fingerprint.count == 32)
    }

    @Test func exitCodePolicy() {
        let high = Finding(ruleID: "RB-IFC-001", status: .fail, severity: .high, category: .IFC, message: "m",
                           targetIndex: 0, location: Location(path: "etc/inittab"), evidence: Evidence(key: "k"))
        var review = high
        review.status = .review
        let checkError = Diagnostic(.error, .check, code: "check.failed", "boom")
        let configError = Diagnostic(.error, .configuration, code: "rule.bad-id", "bad")
        func decide(_ findings: [Finding], _ diagnostics: [Diagnostic], _ gate: GateThreshold, onlyNew: Bool = false) -> RBCore.ExitStatus {
            var report = ScanReport(targets: [], rules: [], findings: findings, diagnostics: diagnostics, baselineID: "b", gate: gate)
            report.failOnNew = onlyNew
            return report.exitStatus
        }
        #expect(decide([high], [], .severity(.high)) == .gateFailed)
        #expect(decide([high], [], .severity(.critical)) == .ok)
        #expect(decide([high], [], .never) == .ok)
        #expect(decide([review], [], .severity(.low)) == .ok)
        // The precedence (README): configuration errors, then nothing scanned (2); a failed gate
        // wins over incomplete checks and failed targets (1); then incomplete (3).
        #expect(decide([high], [checkError], .severity(.high)) == .gateFailed)
        #expect(decide([high], [checkError], .never) == .incomplete)
        #expect(decide([], [configError, checkError], .severity(.high)) == .usage)
        #expect(decide([high], [configError], .severity(.high)) == .usage)
        let targetError = Diagnostic(.error, .target, code: "target.unreachable", "refused")
        #expect(decide([], [targetError], .severity(.high)) == .usage, "no target scanned")
        let scanned = ScanTarget(spec: "root", kind: .firmware, tree: nil, baseID: "ROOT", baseURI: nil)
        func decide(_ findings: [Finding], _ diagnostics: [Diagnostic], scanned targets: [ScanTarget], _ gate: GateThreshold) -> RBCore.ExitStatus {
            ScanReport(targets: targets, rules: [], findings: findings, diagnostics: diagnostics, baselineID: "b", gate: gate).exitStatus
        }
        #expect(decide([], [targetError], scanned: [scanned], .severity(.high)) == .incomplete, "one target of several failed")
        #expect(decide([high], [targetError], scanned: [scanned], .severity(.high)) == .gateFailed)
        #expect(decide([], [Diagnostic(.warning, .check, code: "w", "w")], .severity(.high)) == .ok)
        // Waived and absent findings never gate; with failOnNew only new ones do.
        var waived = high
        waived.waiver = AppliedWaiver(justification: "j", owner: nil, expires: "2999-01-01", source: "w.yaml:3")
        var absent = high
        absent.baselineState = .absent
        var known = high
        known.baselineState = .unchanged
        var new = high
        new.baselineState = .new
        #expect(decide([waived], [], .severity(.high)) == .ok)
        #expect(decide([absent], [], .severity(.high)) == .ok)
        #expect(decide([known], [], .severity(.high), onlyNew: true) == .ok)
        #expect(decide([known], [], .severity(.high)) == .gateFailed)
        #expect(decide([known, new], [], .severity(.high), onlyNew: true) == .gateFailed)
    }
}
