import Foundation
import RBCore
import RBImages
import RBTestSupport
import Testing

/// The format table is the one registry of image formats: the docs' table is generated from it,
/// and every format type in the sources is in it.
@Suite("Format table")
struct FormatTableTests {
    @Test func docsTableIsGeneratedFromTheTable() throws {
        let page = try String(contentsOfFile: Repository.root + "/docs/image-formats.md", encoding: .utf8)
        let start = try #require(page.range(of: "<!-- generated: rbscan inspect --formats -->\n"))
        let end = try #require(page.range(of: "<!-- end generated -->"))
        #expect(String(page[start.upperBound..<end.lowerBound]) == ImageFormats.markdownTable,
                "docs/image-formats.md is stale: regenerate its table with rbscan inspect --formats")
    }

    @Test func everyFormatTypeIsRegisteredOnce() throws {
        let registered = ImageFormats.all.map { String(describing: $0) }
        #expect(Set(registered).count == registered.count)
        let directory = Repository.root + "/Sources/RBImages/Formats"
        var declared: [String] = []
        for file in try FileManager.default.contentsOfDirectory(atPath: directory) where file.hasSuffix(".swift") {
            let text = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
            for line in text.split(separator: "\n") where line.hasPrefix("enum ") && line.contains(": ImageFormat")
                || line.hasPrefix("enum ") && (line.contains(": StreamFormat") || line.contains(": ArchiveFormat")) {
                declared.append(String(line.dropFirst(5).prefix { $0 != ":" }))
            }
        }
        #expect(declared.count > 20)
        #expect(Set(declared) == Set(registered), "declared but not registered: \(Set(declared).subtracting(registered))")
        // Names are unique: they are what chains and inspect show.
        #expect(Set(ImageFormats.all.map { $0.name }).count == ImageFormats.all.count)
    }
}
