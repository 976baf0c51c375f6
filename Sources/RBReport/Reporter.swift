import Foundation
import RBCore

/// A report format. Reporters are looked up by name (`--format sarif`) or by output file
/// extension (`r.sarif`).
public protocol Reporter: Sendable {
    static var name: String { get }
    static var fileExtensions: [String] { get }
    /// The reporter with its defaults (what `--format NAME` makes).
    init()
    /// Renders the report; `color` only matters to formats meant for a terminal.
    func render(_ report: ScanReport, color: Bool) throws -> String
    /// Writes the report to `sink`, the same bytes as `render`. Formats whose size grows with
    /// the findings (JSON, SARIF) write them one at a time instead of holding the whole text
    /// (and its encoder's tree) in memory; the others write what `render` returns.
    func write(_ report: ScanReport, color: Bool, to sink: any ReportSink) throws
}

extension Reporter {
    public func write(_ report: ScanReport, color: Bool, to sink: any ReportSink) throws {
        try sink.write(render(report, color: color))
    }
}

/// Where a report's text goes, piece by piece (a file being written, standard output).
public protocol ReportSink: AnyObject {
    func write(_ text: String) throws
}

/// A sink that keeps what it is given: `render` and `write` agree (tests), small outputs.
public final class StringSink: ReportSink {
    public private(set) var text = ""
    public init() {}
    public func write(_ text: String) throws { self.text += text }
}

public enum Reporters {
    /// CycloneDX before JSON: `bom.cdx.json` is a CycloneDX file, `r.json` a JSON report.
    /// The GitHub profile before SARIF: `r.github.sarif` is the GitHub profile, `r.sarif` complete SARIF.
    public static let all: [any Reporter.Type] = [SARIFGitHubReporter.self, SARIFReporter.self, CycloneDXReporter.self, JUnitReporter.self, JSONReporter.self,
                                                  MarkdownReporter.self, HTMLReporter.self, TextReporter.self]

    public static func named(_ name: String) -> (any Reporter)? {
        all.first { $0.name == name }.map(instance)
    }

    public static func forFile(_ path: String) -> (any Reporter)? {
        let lower = path.lowercased()
        return all.first { type in type.fileExtensions.contains { lower.hasSuffix("." + $0) } }.map(instance)
    }

    public static var names: [String] { all.map { $0.name } }

    private static func instance(_ type: any Reporter.Type) -> any Reporter { type.init() }
}

enum JSONOutput {
    /// Sorted keys and no escaped slashes: byte-identical output for identical results.
    static func encode<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encoder().encode(value), as: UTF8.self) + "\n"
    }

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// What a `StreamedArray` encodes as while its document is streamed (a string no report
    /// value can equal: JSON escapes control characters).
    static let marker = "\u{1}rbscan-streamed-array\u{1}"

    /// Writes `document` to `sink` as `encode` would, except that `array` (one of its fields,
    /// switched to streaming) is written element by element in its place: the encoder's tree
    /// and text are never built for the whole array. The result is byte-identical to `encode`.
    static func stream<T: Encodable, Element: Encodable>(_ document: T, array: StreamedArray<Element>,
                                                          to sink: any ReportSink) throws {
        let encoder = encoder()
        let text = String(decoding: try encoder.encode(document), as: UTF8.self) + "\n"
        let quoted = String(decoding: try encoder.encode([marker]), as: UTF8.self)
        // `["<marker>"]` pretty-printed: the marker's own quoted form is its middle line.
        guard let markerText = quoted.split(separator: "\n").dropFirst().first.map({ $0.trimmingCharacters(in: .whitespaces) }),
              let range = text.range(of: markerText) else {
            throw EncodingError.invalidValue(document, .init(codingPath: [], debugDescription: "streamed array not found"))
        }
        let lineStart = text[..<range.lowerBound].lastIndex(of: "\n").map { text.index(after: $0) } ?? text.startIndex
        let indent = String(text[lineStart...].prefix { $0 == " " })
        let inner = indent + "  "
        try sink.write(String(text[..<range.lowerBound]) + "[\n")
        var chunk = ""
        for i in 0..<array.count {
            let element = String(decoding: try encoder.encode(array.element(i)), as: UTF8.self)
            // Every line one level deeper, except the empty line the encoder puts inside an
            // empty container (it carries no indentation when nested).
            var first = true
            for line in element.split(separator: "\n", omittingEmptySubsequences: false) {
                if !first { chunk += "\n" }
                first = false
                if !line.isEmpty { chunk += inner + line }
            }
            chunk += i + 1 < array.count ? ",\n" : "\n"
            if chunk.utf8.count >= 1 << 20 {
                try sink.write(chunk)
                chunk = ""
            }
        }
        try sink.write(chunk + indent + "]" + String(text[range.upperBound...]))
    }
}

/// An array field of a report document whose elements are made on demand: encoded in full by
/// `JSONOutput.encode`, or as `JSONOutput.marker` when the document is streamed.
struct StreamedArray<Element: Encodable>: Encodable {
    let count: Int
    let element: (Int) -> Element
    var streamed = false

    init(count: Int, element: @escaping (Int) -> Element) {
        self.count = count
        self.element = element
    }

    init(_ elements: [Element]) {
        self.init(count: elements.count) { elements[$0] }
    }

    func encode(to encoder: any Encoder) throws {
        if streamed {
            var container = encoder.singleValueContainer()
            try container.encode(JSONOutput.marker)
        } else {
            var container = encoder.unkeyedContainer()
            for i in 0..<count { try container.encode(element(i)) }
        }
    }
}

/// Percent-encodes a relative path for a URI, keeping `/`.
enum URIPath {
    /// `keeping` are the characters besides RFC 3986's unreserved ones left as they are (a path
    /// keeps `/+@,`; a package-URL segment none).
    static func encode(_ path: String, keeping: String = "/+@,") -> String {
        let kept = Set(keeping.utf8)
        var out = ""
        for byte in path.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                 UInt8(ascii: "~"):
                out.append(Character(Unicode.Scalar(byte)))
            case _ where kept.contains(byte):
                out.append(Character(Unicode.Scalar(byte)))
            default:
                out += "%" + String(format: "%02X", byte)
            }
        }
        return out
    }
}
