import Foundation
import RBChecks
import RBCore
import RBTestSupport
import Testing

@Suite("Check registry")
struct RegistryTests {
    /// Every `struct X: Check` in Sources/RBChecks must be in BuiltinChecks.all: there is no
    /// runtime discovery, so a forgotten registration would silently disable a check.
    @Test func everyCheckTypeIsRegistered() throws {
        let sources = Repository.root + "/Sources/RBChecks"
        let files = try #require(FileManager.default.enumerator(atPath: sources)).compactMap { $0 as? String }
            .filter { $0.hasSuffix(".swift") }
        var declared = Set<String>()
        let pattern = try NSRegularExpression(pattern: #"(?m)^public struct (\w+): (?:Fleet)?Check\b"#)
        for file in files {
            let text = try String(contentsOfFile: sources + "/" + file, encoding: .utf8)
            for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                declared.insert((text as NSString).substring(with: match.range(at: 1)))
            }
        }
        let registered = Set(BuiltinChecks.all.map { String(describing: $0) })
        #expect(!declared.isEmpty)
        #expect(declared == registered)
    }

    @Test func idsAreUniqueAndWellFormed() {
        let ids = BuiltinChecks.all.map { $0.id }
        #expect(Set(ids).count == ids.count)
        for id in ids { #expect(id.split(separator: ".").count == 2, "\(id)") }
    }
}
