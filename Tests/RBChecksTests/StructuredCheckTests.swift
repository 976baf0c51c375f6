@testable import RBChecks
import RBCore
import Testing

@Suite("xml.xpath, json.path, yaml.path")
struct StructuredCheckTests {
    let deviceXML = """
    <?xml version="1.0"?>
    <config>
      <telnetd>
        <enabled>true</enabled>
      </telnetd>
      <users><user name="admin" level="3"/><user name="guest" level="1"/></users>
    </config>

    """

    @Test func xpathForbidReportsTheNodeLine() async throws {
        let (obs, diags) = try await run(XPathCheck.self, "{paths: ['**/*.xml'], xpath: \"//telnetd[enabled='true']/enabled\"}",
                                         files: ["device.xml": .file(deviceXML)], kind: .config)
        #expect(diags.isEmpty)
        #expect(obs.map(\.location) == [Location(path: "device.xml", line: 4)])
    }

    @Test func xpathEachCountAndAttributes() async throws {
        let each = "{paths: ['*.xml'], xpath: '//user/@level', mode: each, expect: {op: le, value: 2}}"
        let (levels, _) = try await run(XPathCheck.self, each, files: ["device.xml": .file(deviceXML)])
        #expect(levels.count == 1)
        #expect(levels.first?.location.line == 6)
        #expect(levels.first?.evidence.facts["value"] == "3")
        let count = "{paths: ['*.xml'], xpath: '//user', mode: count, expect: {op: le, value: 1}}"
        #expect(try await run(XPathCheck.self, count, files: ["device.xml": .file(deviceXML)]).observations.count == 1)
        let require = "{paths: ['*.xml'], xpath: '//ntp', mode: require}"
        #expect(try await run(XPathCheck.self, require, files: ["device.xml": .file(deviceXML)]).observations.count == 1)
        let number = "{paths: ['*.xml'], xpath: 'count(//user)', mode: each, expect: {op: eq, value: 2}}"
        #expect(try await run(XPathCheck.self, number, files: ["device.xml": .file(deviceXML)]).observations.isEmpty)
    }

    @Test func malformedXMLIsADiagnosticWithTheLine() async throws {
        // A config file given to be scanned must parse: an error (exit 3) with the line.
        let (obs, diags) = try await run(XPathCheck.self, "{paths: ['*.xml'], xpath: '//a'}",
                                         files: ["bad.xml": .file("<a>\n<b>\n</a>\n")], kind: .config)
        #expect(obs.isEmpty)
        let d = try #require(diags.first)
        #expect(d.code == "check.parse-error" && d.level == .error)
        #expect(d.location?.file.hasSuffix(":bad.xml") == true && d.message.contains("(line "))
    }

    /// The vendor near-XML of a public TRENDnet image (docs/real-firmware.tsv,
    /// binwalk2_firmware.squashfs: `etc/defnodes/S20device.xml` escapes quotes with backslashes
    /// inside an attribute): in a firmware tree it is judged as libxml2 recovers it, with a
    /// warning once per file, and the scan is not partial because of it.
    @Test func nearXMLInFirmwareIsJudgedAsRecoveredWithAWarning() async throws {
        let nearXML = "<?xml version=\"1.0\"?>\n<dev>\n<bootver get=\"getbootver \\\"u-boot\\\"\" />\n<telnetd><enabled>1</enabled></telnetd>\n</dev>\n"
        let options = "{paths: ['**/*.xml'], xpath: '//telnetd/enabled', mode: each, expect: {op: ne, value: '1'}}"
        let (obs, diags) = try await run(XPathCheck.self, options, files: ["etc/defnodes/S20device.xml": .file(nearXML)])
        #expect(obs.map(\.location.line) == [4])
        #expect(diags.map(\.code) == ["check.xml-recovered"])
        #expect(diags.first?.level == .warning && diags.first?.message.contains("(line 3)") == true)
        // Given as a config target, the same file is a parse error.
        let (configObs, configDiags) = try await run(XPathCheck.self, options, files: ["S20device.xml": .file(nearXML)], kind: .config)
        #expect(configObs.isEmpty)
        #expect(configDiags.map(\.code) == ["check.parse-error"])
    }

    /// Page templates named `.xml` (RomPager's, in the public LANCOM image fact_ros_test.ros) are
    /// pages: a note, never a parse error.
    @Test func htmlPagesNamedXMLAreNotConfigs() async throws {
        let page = "<?xml version=\"1.0\" encoding=\"iso-8859-1\" ?>\n<!-- RpPageHeader RpUrl=/device/pingDB.xml --><!-- RpEnd -->\n<HTML>\n<BODY>\n<form><INPUT name=\"a\"></FORM>\n</BODY>\n</HTML>\n"
        let (obs, diags) = try await run(XPathCheck.self, "{paths: ['**/*.xml'], xpath: '//a'}", files: ["device/pingDB.xml": .file(page)])
        #expect(obs.isEmpty)
        #expect(diags.map(\.code) == ["check.not-a-config"] && diags.first?.level == .note)
        #expect(diags.first?.message.contains("an HTML page") == true)
        let xhtml = "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \"x\">\n<html xmlns=\"http://www.w3.org/1999/xhtml\"/>"
        #expect(ConfigContent.notXML(Array(xhtml.utf8)) == "an HTML page")
        #expect(ConfigContent.notXML(Array("<?xml version=\"1.0\"?>\n<!-- <html> -->\n<config/>".utf8)) == nil)
        #expect(ConfigContent.firstElement(Array("\u{FEFF}<?pi x?><!-- c --><Html>".utf8)) == "Html")
    }

    @Test func externalEntitiesAreNotResolved() async throws {
        let xxe = "<?xml version=\"1.0\"?>\n<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/hostname\">]>\n<a><b>&x;</b></a>\n"
        let (obs, _) = try await run(XPathCheck.self, "{paths: ['*.xml'], xpath: '//b', mode: each, expect: {op: eq, value: ''}}",
                                     files: ["x.xml": .file(xxe)])
        #expect(obs.isEmpty, "the entity must not be expanded from the host: \(obs.map(\.message))")
    }

    @Test func invalidXPathIsAnOptionError() {
        #expect(optionError(XPathCheck.self, "{paths: ['*.xml'], xpath: '//a[@'}")?.contains("xpath") == true)
        #expect(optionError(XPathCheck.self, "{paths: ['*.xml'], xpath: '//a', mode: each}")?.contains("expect") == true)
    }

    @Test func jsonPathsWithLines() async throws {
        let json = "{\n  \"services\": {\n    \"telnet\": {\"enabled\": true},\n    \"ssh\": {\"enabled\": false}\n  },\n  \"users\": [{\"name\": \"admin\", \"password\": \"\"}]\n}\n"
        let forbid = "{paths: ['**/*.json'], path: 'services.telnet.enabled', mode: each, expect: {op: ne, value: 'true'}}"
        let (obs, diags) = try await run(JSONPathCheck.self, forbid, files: ["etc/config.json": .file(json)])
        #expect(diags.isEmpty)
        #expect(obs.map(\.location.line) == [3])
        let wildcard = "{paths: ['**/*.json'], path: 'services.*.enabled', mode: count, expect: {op: eq, value: 2}}"
        #expect(try await run(JSONPathCheck.self, wildcard, files: ["etc/config.json": .file(json)]).observations.isEmpty)
        let empty = "{paths: ['**/*.json'], path: 'users[*].password', mode: each, expect: {op: ne, value: ''}}"
        #expect(try await run(JSONPathCheck.self, empty, files: ["etc/config.json": .file(json)]).observations.map(\.location.line) == [6])
        let (_, broken) = try await run(JSONPathCheck.self, forbid, files: ["etc/config.json": .file("{\"a\": [1, 2}\n")])
        #expect(broken.first?.code == "check.parse-error")
        // Not JSON at all (text, or binary such as an encrypted backup): a note, not a parse error.
        for content in ["key=value\n", "\u{0}\u{1}{\u{2}"] {
            let (_, notes) = try await run(JSONPathCheck.self, forbid, files: ["etc/config.json": .file(content)])
            #expect(notes.map(\.code) == ["check.not-a-config"])
            #expect(notes.first?.level == .note)
        }
        let (_, yamlNotes) = try await run(YAMLPathCheck.self, "{paths: ['*.yaml'], path: 'a', mode: forbid}", files: ["cam.yaml": .file("\u{0}\u{ff}\u{1}")])
        #expect(yamlNotes.map(\.code) == ["check.not-a-config"])
    }

    @Test func yamlPaths() async throws {
        let yaml = "network:\n  upnp:\n    enabled: yes\n  \"dotted.key\":\n    value: 3\n"
        let (obs, _) = try await run(YAMLPathCheck.self, "{paths: ['*.yaml'], path: 'network.upnp.enabled', mode: each, expect: {op: notIn, value: [yes, 'true']}}",
                                     files: ["cam.yaml": .file(yaml)])
        #expect(obs.map(\.location.line) == [3])
        let (quoted, _) = try await run(YAMLPathCheck.self, "{paths: ['*.yaml'], path: 'network[\"dotted.key\"].value', mode: forbid}",
                                        files: ["cam.yaml": .file(yaml)])
        #expect(quoted.map(\.location.line) == [5])
        #expect(optionError(YAMLPathCheck.self, "{paths: ['*.yaml'], path: 'a[x'}") != nil)
    }
}

@Suite("file.forbidden, file.required, file.mode")
struct FileCheckTests {
    @Test func forbiddenAndRequired() async throws {
        let files: [String: MemoryTree.Item] = ["usr/bin/gdbserver": .file("x"), "root/.ash_history": .file("ls")]
        let (forbidden, _) = try await run(ForbiddenFileCheck.self, "{paths: ['**/gdbserver', '**/.*_history']}", files: files)
        #expect(forbidden.map(\.location.path) == ["root/.ash_history", "usr/bin/gdbserver"])
        let (required, _) = try await run(RequiredFileCheck.self, "{paths: ['etc/ssl/certs/ca-certificates.crt']}", files: files)
        #expect(required.count == 1)
        let (present, _) = try await run(RequiredFileCheck.self, "{paths: ['usr/bin/*'], types: [file]}", files: files)
        #expect(present.isEmpty)
    }

    @Test func modePredicates() async throws {
        let files: [String: MemoryTree.Item] = [
            "bin/busybox": .init(content: Array("BusyBox v1.31".utf8), mode: 0o4755, uid: 0),
            "usr/bin/passwd": .init(content: Array("ELF".utf8), mode: 0o4755, uid: 0),
            "usr/bin/wall": .init(content: Array("ELF".utf8), mode: 0o2755, uid: 0, gid: 5),
            "var/log": .directory(mode: 0o777),
            "tmp": .directory(mode: 0o1777),
            "etc/passwd": .file("x", mode: 0o666),
        ]
        let (suid, _) = try await run(FileModeCheck.self, "{types: [file], anyBits: '4000', owners: [0], contentMatches: 'BusyBox v'}", files: files)
        #expect(suid.map(\.location.path) == ["bin/busybox"])
        #expect(suid.first?.evidence.facts["mode"] == "4755")
        let (others, _) = try await run(FileModeCheck.self, "{types: [file], anyBits: '6000', contentNotMatches: 'BusyBox v', allow: [usr/bin/passwd]}", files: files)
        #expect(others.map(\.location.path) == ["usr/bin/wall"])
        let (dirs, _) = try await run(FileModeCheck.self, "{types: [directory], anyBits: '0002', withoutBits: '1000'}", files: files)
        #expect(dirs.map(\.location.path) == ["var/log"])
        let (writable, _) = try await run(FileModeCheck.self, "{types: [file], anyBits: '0002'}", files: files)
        #expect(writable.map(\.location.path) == ["etc/passwd"])
    }

    @Test func lostMetadataIsNotApplicableNeverPass() async throws {
        let (obs, _) = try await run(FileModeCheck.self, "{anyBits: '0002'}", files: ["a": .file("x", mode: 0o777)], hasMetadata: false)
        #expect(obs.map(\.status) == [.notApplicable])
    }

    @Test func modeOptionsAreValidated() {
        #expect(optionError(FileModeCheck.self, "{anyBits: '9'}")?.contains("anyBits") == true)
        #expect(optionError(FileModeCheck.self, "{paths: ['**']}") != nil)
    }
}

@Suite("LiteralSet: which adapter names a file holds, in one pass")
struct LiteralSetTests {
    @Test("Agrees with a plain substring search: overlapping, one-byte, multi-byte and edge names")
    func agreesWithSubstringSearch() {
        let names = ["IllegalLoginLock", "Lock", "enabled", "e", "é", "clé", "password", "pass", "ssl.use-sslv3", "zz", "a\"b", "loginLockEnable"]
        let set = LiteralSet(names)
        let texts = ["", "e", "<IllegalLoginLock><enabled>true</enabled></IllegalLoginLock>", "passwor", "xpassword",
                     "ssl.use-sslv3 = \"enable\"", "clé=1\r\n", "z", "zz", "a\"b", "loginLockEnabl", "loginLockEnable"]
        var generator = SystemRandomNumberGenerator()
        var random: [String] = []
        let alphabet = Array("eLockzpasé\"b .").map(String.init)
        for _ in 0..<300 {
            random.append((0..<Int.random(in: 0...40, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }.joined())
        }
        for text in texts + random {
            let expected = Set(names.filter { ByteSearch.contains(text, $0) })
            #expect(set.present(in: text) == expected, "text: \(text)")
            #expect(set.presentBits(in: Array(text.utf8)) == NameBits(set.names.map(expected.contains)), "text: \(text)")
        }
        #expect(LiteralSet([]).present(in: "anything").isEmpty)
    }

    @Test("NameBits: inline words and the rest, intersections")
    func nameBits() {
        var a = NameBits(), b = NameBits()
        #expect(a.isEmpty && !a.intersects(b))
        a.insert(3); a.insert(70); a.insert(200)
        b.insert(200)
        #expect(!a.isEmpty && a.intersects(b) && b.intersects(a))
        var c = NameBits()
        c.insert(4); c.insert(71); c.insert(129)
        #expect(!a.intersects(c))
        c.insert(70)
        #expect(a.intersects(c))
        #expect(NameBits((0..<300).map { $0 == 257 }) == { var d = NameBits(); d.insert(257); return d }())
    }

    /// One-byte names (a scan of every offset), two-byte ones (the pair bitmap) and names of
    /// three bytes or more only (the hashed triple bitmap).
    @Test("occurrences: every place of every literal, overlapping ones included, in order, up to the limit",
          arguments: [["://", "AKIA", "KIA", "psk", "p", "pass", "password"],
                      ["://", "AKIA", "KIA", "psk", "ps", "pass", "password"],
                      ["://", "AKIA", "KIA", "psk", "pass", "password", "sword"]])
    func occurrencesAreEveryPlace(literals: [String]) {
        let set = LiteralSet(literals)
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("AKI:/pswordk ").map(String.init)
        // Short texts, and long ones with more candidate offsets than one batch of the scan.
        for round in 0..<300 {
            let length = round < 280 ? Int.random(in: 0...60, using: &generator) : Int.random(in: 3000...9000, using: &generator)
            let text = (0..<length).map { _ in alphabet.randomElement(using: &generator)! }.joined()
            let bytes = Array(text.utf8)
            var expected: [(Int, Int)] = []
            for offset in 0..<bytes.count {
                for (i, literal) in literals.enumerated() where bytes[offset...].starts(with: literal.utf8) { expected.append((offset, i)) }
            }
            let found = set.occurrences(in: bytes).map { ($0.offset, $0.name) }.sorted { $0 < $1 }
            #expect(found.elementsEqual(expected.sorted { $0 < $1 }, by: ==), "text: \(text)")
            let present = Set(literals.filter { ByteSearch.contains(text, $0) })
            #expect(set.present(in: text) == present)
        }
        #expect(set.occurrences(in: Array("passpasspass".utf8), limit: 2).count == 2)
    }
}
