import Foundation
import Testing
@testable import RBScan
import RBNet
import RBTestSupport

/// Replays the fuzzing targets' committed inputs (Tests/Fuzz/<target>/: seeds and every crash
/// libFuzzer found, once fixed) through the same functions `scripts/fuzz` drives, so that a
/// fixed crash stays fixed in an ordinary test run (no sanitizer build needed).
@Suite("Fuzzing regressions")
struct FuzzRegressionTests {
    static func inputs(_ target: String) throws -> [(String, [UInt8])] {
        let directory = Repository.root + "/Tests/Fuzz/" + target
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { !$0.hasPrefix("README") }.sorted()
        return try names.map { ($0, Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/" + $0)))) }
    }

    @Test("Every fuzzing target is registered once, with its input directory", arguments: ["image", "config", "network", "triage"])
    func registered(_ name: String) throws {
        #expect(Fuzzing.targets.filter { $0.name == name }.count == 1)
        #expect(FileManager.default.fileExists(atPath: Repository.root + "/Tests/Fuzz/" + name))
    }

    @Test("Saved inputs replay without a crash", arguments: ["image", "config", "network", "triage"])
    func replay(_ name: String) throws {
        let target = try #require(Fuzzing.target(named: name))
        var inputs = try Self.inputs(name)
        if name == "image" {
            // The image readers' own seed corpus (the mutation harness's) as well.
            let corpus = Repository.root + "/Tests/RBImagesTests/Corpus"
            for file in try FileManager.default.contentsOfDirectory(atPath: corpus).sorted() {
                inputs.append((file, Array(try Data(contentsOf: URL(fileURLWithPath: corpus + "/" + file)))))
            }
        } else {
            #expect(!inputs.isEmpty, "no seeds for \(name)")
        }
        if name == "config" {
            // The config target scans with the shipped rules, not with none.
            #expect(Fuzzing.configuration.isValid && Fuzzing.configuration.rules.count >= 70, "\(Fuzzing.configuration.diagnostics)")
        }
        for (_, bytes) in inputs + [("empty", []), ("one byte", [0xff])] {
            target.run(bytes)
        }
    }

    @Test("The network seeds are real answers the parsers recognise")
    func networkSeedsParse() throws {
        for (name, bytes) in try Self.inputs("network") {
            #expect(PeerBytes.parseAll(bytes) > 0, "\(name) was recognised by no parser")
        }
        #expect(PeerBytes.parseAll(Array(repeating: 0x41, count: 64)) == 0)
    }
}
