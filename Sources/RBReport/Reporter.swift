import Foundation
import Synchronization
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
        // The document around the array and the array's elements are encoded on all cores, a
        // batch of elements at a time (memory stays bounded by the batch), each piece by its own
        // encoder; they are written in order, so the bytes are those of one encoder.
        let batch = 512
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let jobs = UncheckedSendable((document: document, array: array))
        func encodeBatch(_ start: Int, withDocument: Bool) throws -> (document: String?, elements: [String]) {
            let end = min(jobs.value.array.count, start + batch)
            let slices = max(1, min(cores, (end - start + 31) / 32))
            let pieces = Mutex<[Int: Result<[String], any Error>]>([:])
            let documentText = Mutex<Result<String, any Error>?>(nil)
            DispatchQueue.concurrentPerform(iterations: slices + (withDocument ? 1 : 0)) { slice in
                let encoder = encoder()
                if slice == slices {
                    let text = Result { String(decoding: try encoder.encode(jobs.value.document), as: UTF8.self) + "\n" }
                    documentText.withLock { $0 = text }
                    return
                }
                let lower = start + (end - start) * slice / slices, upper = start + (end - start) * (slice + 1) / slices
                let result = Result { try (lower..<upper).map { String(decoding: try encoder.encode(jobs.value.array.element($0)), as: UTF8.self) } }
                pieces.withLock { $0[slice] = result }
            }
            let all = pieces.withLock { $0 }
            var elements: [String] = []
            elements.reserveCapacity(end - start)
            for slice in 0..<slices { elements += try all[slice]!.get() }
            return (try documentText.withLock { $0 }?.get(), elements)
        }
        let first = try encodeBatch(0, withDocument: true)
        let text = first.document!
        let quoted = String(decoding: try encoder().encode([marker]), as: UTF8.self)
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
        var elements = first.elements
        var start = 0
        while start < array.count {
            for (offset, element) in elements.enumerated() {
                // Every line one level deeper, except the empty line the encoder puts inside an
                // empty container (it carries no indentation when nested).
                var firstLine = true
                for line in element.split(separator: "\n", omittingEmptySubsequences: false) {
                    if !firstLine { chunk += "\n" }
                    firstLine = false
                    if !line.isEmpty { chunk += inner + line }
                }
                chunk += start + offset + 1 < array.count ? ",\n" : "\n"
                if chunk.utf8.count >= 1 << 20 {
                    try sink.write(chunk)
                    chunk = ""
                }
            }
            start += batch
            if start < array.count { elements = try encodeBatch(start, withDocument: false).elements }
        }
        try sink.write(chunk + indent + "]" + String(text[range.upperBound...]))
    }
}

/// A value handed to the report encoders' threads. Encoding only reads it.
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
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
