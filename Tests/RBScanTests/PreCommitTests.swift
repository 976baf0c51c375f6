import Foundation
import RBTestSupport
import Testing

/// The pre-commit hook (`.pre-commit-hooks.yaml`) run by the real `pre-commit` (PyPI, installed
/// by scripts/install-deps) on a sample repository that uses this checkout as its hook repository:
/// a planted telnet-enabled config fails the run, the fixed config passes.
@Suite("pre-commit hook")
struct PreCommitTests {
    @Test func plantedConfigFailsAndFixedPasses() throws {
        let preCommit = toolsBin + "/pre-commit"
        #expect(FileManager.default.isExecutableFile(atPath: preCommit), "\(preCommit) is missing: run scripts/install-deps")
        guard FileManager.default.isExecutableFile(atPath: preCommit) else { return }
        // The hook repository: this checkout at its committed HEAD (pre-commit clones a rev).
        let head = try runProcess("/usr/bin/git", ["-C", Repository.root, "rev-parse", "HEAD"])
        #expect(head.status == 0, "\(head.stderr)")
        let hooks = try runProcess("/usr/bin/git", ["-C", Repository.root, "cat-file", "-e", "HEAD:.pre-commit-hooks.yaml"])
        #expect(hooks.status == 0, "the hook definition must be committed")
        let rev = head.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        let dir = try TemporaryDirectory(prefix: "rbscan-precommit")
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.url("bin"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir.url("bin/rbscan"), withDestinationPath: Repository.rbscanBinary)
        try FixtureWriter.write([
            "sample/configs/device.xml": .file("<config>\n  <telnetd>\n    <enabled>true</enabled>\n  </telnetd>\n</config>\n"),
            "sample/README.md": .file("device configs\n"),
            "sample/.pre-commit-config.yaml": .file("repos:\n  - repo: \(Repository.root)\n    rev: \(rev)\n    hooks: [{id: rbscan-config}]\n"),
        ], into: dir.path)
        let environment = ["PATH": dir.url("bin") + ":/usr/bin:/bin", "HOME": dir.path, "PRE_COMMIT_HOME": dir.url("pre-commit-home"),
                           "RBSCAN_HOME": Repository.root, "GIT_CONFIG_NOSYSTEM": "1",
                           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"]
        let sample = dir.url("sample")
        for command in [["init", "-q"], ["config", "--global", "--add", "safe.directory", "*"], ["add", "-A"]] {
            let git = try runProcess("/usr/bin/git", command, environment: environment, currentDirectory: sample)
            #expect(git.status == 0, "git \(command): \(git.stderr)")
        }
        let planted = try runProcess(preCommit, ["run", "--all-files"], environment: environment, currentDirectory: sample)
        #expect(planted.status == 1, "\(planted.stdout)\(planted.stderr)")
        #expect(planted.stdout.contains("RB-IFC-001") && planted.stdout.contains("Failed"), "\(planted.stdout)")

        try Data("<config>\n  <telnetd>\n    <enabled>false</enabled>\n  </telnetd>\n</config>\n".utf8)
            .write(to: URL(fileURLWithPath: dir.url("sample/configs/device.xml")))
        _ = try runProcess("/usr/bin/git", ["add", "-A"], environment: environment, currentDirectory: sample)
        let fixed = try runProcess(preCommit, ["run", "--all-files"], environment: environment, currentDirectory: sample)
        #expect(fixed.status == 0, "\(fixed.stdout)\(fixed.stderr)")
        #expect(fixed.stdout.contains("Passed"), "\(fixed.stdout)")
    }
}
