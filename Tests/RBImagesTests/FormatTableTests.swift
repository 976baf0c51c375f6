import Foundation
import RBCore
import RBImages
import RBTestSupport
import Testing

/// The format table is the one registry of image formats: `rbscan inspect --formats` prints it,
/// the docs do not copy it (a format added in its own file needs no other edit), and every format
/// type in the sources is in it.
@Suite("Format table")
struct FormatTableTests {
    @Test func theTableListsEveryFormatAndTheDocsDoNotCopyIt() throws {
        let rows = ImageFormats.markdownTable.split(separator: "\n").dropFirst(2)
        #expect(rows.count == ImageFormats.all.count)
        for (row, format) in zip(rows, ImageFormats.all) {
            #expect(row.hasPrefix("| \(format.name) |"), "\(row)")
        }
        let page = try String(contentsOfFile: Repository.root + "/docs/image-formats.md", encoding: .utf8)
        #expect(page.contains("`rbscan inspect --formats`") && !page.contains("<!-- generated"))
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
