import Foundation
import RBPluginSDK
import RBTestSupport
import Testing

/// The plugin SDKs (docs/plugins.md, SDKs): the Python helper driven by a real rbscan scan,
/// RBPluginSDK's PluginSession over pipes, and the protocol reference's examples, which must be
/// messages the SDK's types decode.
@Suite("Plugin SDKs")
struct PluginSDKTests {
    let rbscan = Repository.rbscanBinary
    let helper = Repository.root + "/Plugins/sdk/python/rbscan_plugin.py"

    /// A Python plugin using every call of rbscan_plugin.py reports what each returned; a scan of
    /// a directory and of the same tree as squashfs (read through the protocol) shows it all.
    @Test(arguments: ["root", "root.sqfs"])
    func pythonHelperAgainstARealScan(target: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let big = (0..<250).map { String(format: "line%05d\n", $0) }.joined()  // 2,500 bytes: three 1,000-byte ranges
        try FixtureWriter.write([
            "root/etc/big.conf": .file(big),
            "root/etc/link.conf": .symlink("big.conf"),
            "root/bin/tool": .bytes([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0, 1] + Array(repeating: 0x41, count: 92)),
            "plugin/plugin.yaml": .file("protocol: 1\nid: sdk-selftest\nversion: 0.1.0\ncommand: [python3, check.py]\nchecks:\n  - id: sdk.selftest\n    summary: s\n    targets: [firmware]\n"),
            "plugin/check.py": .file(#"""
                import sys
                sys.dont_write_bytecode = True
                import rbscan_plugin

                def check(s):
                    print("a stray print goes to stderr, not into the protocol")
                    s.observe(None, f"run {s.check} {s.rule} {s.target['kind']} limit={s.options['limit']!r} names={','.join(s.options['names'])} endpoint={s.endpoint}", key="run")
                    s.observe(None, "list " + " ".join(f"{e['path']}:{e['type']}:{e['size']}" for e in sorted(s.list("etc/*.conf", "bin/*"), key=lambda e: e["path"])), key="list")
                    st = s.stat("etc/link.conf")
                    s.observe("etc/link.conf", f"stat {st['fileType']} {st['size']} link={st.get('link')}", key="stat")
                    whole, parts, offset = s.read_all("etc/big.conf"), [], 0
                    while True:
                        answer = s.read("etc/big.conf", offset, 1000)
                        parts.append(answer["data"])
                        offset += len(answer["data"])
                        if answer["eof"]:
                            break
                    s.observe("etc/big.conf", f"ranges {len(parts)} equal={b''.join(parts) == whole} size={len(whole)}", key="ranges")
                    answer = s.read("bin/tool", unless_binary=True)
                    s.observe("bin/tool", f"unless_binary {answer['type']} {answer['size']} text={s.read_text('bin/tool')!r}", key="binary")
                    for bad in ("../../etc/shadow", "etc/missing.conf"):
                        try:
                            s.read(bad)
                        except rbscan_plugin.RequestError as error:
                            s.observe(None, f"refused {error.path}: {error.message}", key="refused:" + bad)
                    return [rbscan_plugin.observation("etc/big.conf", "review me", line=3, status="review", severity="low",
                                                      key="review", snippet="line00002", facts={"n": 3})]

                rbscan_plugin.run(check)

                """#),
            "plugin/rules/selftest.yaml": .file("""
                version: 1
                pack: sdk-selftest
                title: SDK self-test
                rules:
                  - id: SDK-TEST-001
                    title: SDK self-test
                    category: SYS
                    severity: high
                    description: d
                    remediation: r
                    check: sdk.selftest
                    targets: [firmware]
                    options:
                      limit: 5
                      names: [a, b]

                """),
        ], into: dir.path)
        try FileManager.default.copyItem(atPath: helper, toPath: dir.url("plugin/rbscan_plugin.py"))
        try ImageFixtures.sh("mksquashfs root root.sqfs -noappend -quiet", in: dir.path)
        let result = try runProcess(rbscan, ["scan", dir.url(target), "--plugins", dir.url("plugin"), "--fail-on", "never", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let messages = try findings(result.stdout).filter { $0.rule == "SDK-TEST-001" }
        func has(_ message: String, _ why: String) {
            #expect(messages.contains { $0.message == message }, "\(why): \(messages.map(\.message))")
        }
        has("run sdk.selftest SDK-TEST-001 firmware limit=5 names=a,b endpoint=None", "the run message, options typed (5, not 5.0)")
        has("list bin/tool:file:100 etc/big.conf:file:2500 etc/link.conf:symlink:8", "list with several globs")
        has("stat file 2500 link=big.conf", "stat follows the link inside the target and names it")
        has("ranges 3 equal=True size=2500", "byte ranges add up to read_all")
        has("unless_binary binary 100 text=None", "a binary file is answered without bytes")
        has("refused ../../etc/shadow: '../../etc/shadow' is not a path inside the target (relative, no '..')", "RequestError")
        has("refused etc/missing.conf: no such file in the target", "RequestError")
        let review = try #require(messages.first { $0.message == "review me" })
        #expect(review.status == "review" && review.severity == "low" && review.line == 3 && review.facts == ["n": "3"], "\(review)")
        #expect(messages.count == 8, "\(messages.map(\.message))")
        #expect(!result.stdout.contains("plugin.failed"), "\(result.stdout.suffix(2000))")
        #expect(!FileManager.default.fileExists(atPath: dir.url("plugin/__pycache__")))
    }

    struct Found: Decodable {
        var rule: String
        var message: String
        var status: String
        var severity: String
        var line: Int?
        var facts: [String: String]

        enum CodingKeys: String, CodingKey { case ruleId, message, status, severity, line, evidence }
        struct Evidence: Decodable { var facts: [String: String] }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            rule = try container.decode(String.self, forKey: .ruleId)
            message = try container.decode(String.self, forKey: .message)
            status = try container.decode(String.self, forKey: .status)
            severity = try container.decode(String.self, forKey: .severity)
            line = try container.decodeIfPresent(Int.self, forKey: .line)
            facts = try container.decode(Evidence.self, forKey: .evidence).facts
        }
    }

    func findings(_ json: String) throws -> [Found] {
        struct Report: Decodable { var findings: [Found] }
        return try JSONDecoder().decode(Report.self, from: Data(json.utf8)).findings
    }

    /// PluginSession writes each request as protocol 1 has it and decodes each answer: ranges
    /// until eof, `binary` as nil, an error answer thrown, the options as the plugin's own type.
    @Test func pluginSessionSpeaksEveryMessage() throws {
        let toPlugin = Pipe(), fromPlugin = Pipe()
        let answers: [HostMessage] = [
            .run(RunRequest(check: "acme.x", rule: "ACME-SYS-001", options: ["limit": 5, "names": ["a", "b"]],
                            target: .init(kind: "firmware", name: "fw.bin", hasMetadata: true))),
            .files(FilesAnswer(files: [FileEntry(path: "etc/a.conf", type: "file", size: 6, mode: 0o644)])),
            .stat(StatAnswer(path: "etc/a.conf", fileType: "file", size: 6, mode: 0o644, uid: 0, gid: 0)),
            .error(ErrorAnswer(path: "etc/missing", message: "no such file in the target")),
            .data(DataAnswer(path: "etc/a.conf", offset: 0, size: 6, eof: false, data: Data("debu".utf8))),
            .data(DataAnswer(path: "etc/a.conf", offset: 4, size: 6, eof: true, data: Data("g\n".utf8))),
            .binary(BinaryAnswer(path: "bin/x", size: 100)),
        ]
        for answer in answers { try toPlugin.fileHandleForWriting.write(contentsOf: PluginCoding.line(answer)) }
        try toPlugin.fileHandleForWriting.close()

        let session = try PluginSession(input: toPlugin.fileHandleForReading, output: fromPlugin.fileHandleForWriting)
        struct Options: Decodable, Equatable { var limit: Int; var names: [String] }
        #expect(try session.run.options(as: Options.self) == Options(limit: 5, names: ["a", "b"]))
        #expect(try session.list(["etc/*.conf"]).map(\.path) == ["etc/a.conf"])
        #expect(try session.stat("etc/a.conf").size == 6)
        #expect(throws: ErrorAnswer(path: "etc/missing", message: "no such file in the target")) { try session.stat("etc/missing") }
        #expect(try session.readAll("etc/a.conf") == Data("debug\n".utf8))
        #expect(try session.readText("bin/x") == nil)
        try session.result([Observation(path: "etc/a.conf", line: 1, severity: .low, message: "debug", key: "debug", facts: ["n": "1"])])
        #expect(throws: PluginSession.ProtocolError.self) { try session.list(["**"]) }
        try fromPlugin.fileHandleForWriting.close()

        let written = try #require(try fromPlugin.fileHandleForReading.readToEnd())
        let requests = try written.split(separator: 10).map { try PluginCoding.decoder.decode(PluginMessage.self, from: Data($0)) }
        #expect(requests == [
            .list(ListRequest(globs: ["etc/*.conf"])),
            .stat(StatRequest(path: "etc/a.conf")),
            .stat(StatRequest(path: "etc/missing")),
            .read(ReadRequest(path: "etc/a.conf")),
            .read(ReadRequest(path: "etc/a.conf", offset: 4)),
            .read(ReadRequest(path: "bin/x", unlessBinary: true)),
            .result(ResultMessage(observations: [Observation(path: "etc/a.conf", line: 1, severity: .low, message: "debug",
                                                             evidence: Evidence(key: "debug", facts: ["n": "1"]))])),
        ])
        #expect(String(decoding: written, as: UTF8.self).hasPrefix(#"{"globs":["etc/*.conf"],"type":"list"}"#), "compact, sorted keys, slashes as they are")
    }

    /// rbscan closing the conversation is `closed` (PluginSession.main then exits quietly).
    @Test func aClosedConversationIsClosed() throws {
        let toPlugin = Pipe(), fromPlugin = Pipe()
        try toPlugin.fileHandleForWriting.write(contentsOf: PluginCoding.line(HostMessage.run(RunRequest(
            check: "acme.x", rule: "ACME-SYS-001", target: .init(kind: "config", name: "x.conf", hasMetadata: false)))))
        try toPlugin.fileHandleForWriting.close()
        let session = try PluginSession(input: toPlugin.fileHandleForReading, output: fromPlugin.fileHandleForWriting)
        #expect(session.run.options == [:] && session.run.endpoint == nil)
        let error = #expect(throws: PluginSession.ProtocolError.self) { try session.list(["**"]) }
        #expect(error?.closed == true)
    }

    /// The protocol reference in docs/plugins.md has an example of every message of protocol 1,
    /// and each is one the SDK's types decode (the reference and the types cannot drift apart).
    @Test func everyMessageOfTheReferenceDecodes() throws {
        let doc = try String(contentsOfFile: Repository.root + "/docs/plugins.md", encoding: .utf8)
        var objects: [String] = []
        for block in doc.components(separatedBy: "```json\n").dropFirst() {
            // The top-level objects of the block (an example may span lines).
            var depth = 0, inString = false, escaped = false, current = ""
            for character in block.components(separatedBy: "```")[0] {
                if depth > 0 || character == "{" { current.append(character) }
                if inString {
                    if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == "\"" { inString = false }
                } else if character == "\"" {
                    inString = true
                } else if character == "{" {
                    depth += 1
                } else if character == "}" {
                    depth -= 1
                    if depth == 0 { objects.append(current); current = "" }
                }
            }
        }
        struct Typed: Decodable { var type: String; var fileType: String? }
        var seen = Set<String>()
        for object in objects {
            let data = Data(object.utf8)
            let typed = try JSONDecoder().decode(Typed.self, from: data)
            // `stat` goes both ways: rbscan's answer is the one with a fileType.
            if ["run", "files", "data", "binary", "error"].contains(typed.type) || typed.fileType != nil {
                let message = try PluginCoding.decoder.decode(HostMessage.self, from: data)
                #expect(try PluginCoding.decoder.decode(HostMessage.self, from: PluginCoding.encoder.encode(message)) == message)
                if case .data(let answer) = message { #expect(answer.offset > 0 || !answer.eof || answer.data.count == answer.size, "\(object)") }
                seen.insert("rbscan: " + typed.type)
            } else {
                let message = try PluginCoding.decoder.decode(PluginMessage.self, from: data)
                #expect(try PluginCoding.decoder.decode(PluginMessage.self, from: PluginCoding.encoder.encode(message)) == message)
                seen.insert("plugin: " + typed.type)
            }
        }
        #expect(seen == ["rbscan: run", "plugin: list", "rbscan: files", "plugin: stat", "rbscan: stat", "plugin: read",
                         "rbscan: data", "rbscan: error", "rbscan: binary", "plugin: result"], "\(seen.sorted())")
    }
}
