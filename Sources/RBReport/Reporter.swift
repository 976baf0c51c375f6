import Foundation
import RBCore

/// A report format. Reporters are looked up by name (`--format sarif`) or by output file
/// extension (`r.sarif`).
public protocol Reporter: Sendable {
    static var name: String { get }
    static var fileExtensions: [String] { get }
    /// Renders the report; `color` only matters to formats meant for a terminal.
    func render(_ report: ScanReport, color: Bool) throws -> String
}

public enum Reporters {
    /// CycloneDX before JSON: `bom.cdx.json` is a CycloneDX file, `r.json` a JSON report.
    public static let all: [any Reporter.Type] = [SARIFReporter.self, CycloneDXReporter.self, JUnitReporter.self, JSONReporter.self,
                                                  MarkdownReporter.self, HTMLReporter.self, TextReporter.self]

    public static func named(_ name: String) -> (any Reporter)? {
        all.first { $0.name == name }.map(instance)
    }

    public static func forFile(_ path: String) -> (any Reporter)? {
        let lower = path.lowercased()
        return all.first { type in type.fileExtensions.contains { lower.hasSuffix("." + $0) } }.map(instance)
    }

    public static var names: [String] { all.map { $0.name } }

    private static func instance(_ type: any Reporter.Type) -> any Reporter {
        switch type {
        case is SARIFReporter.Type: SARIFReporter()
        case is JSONReporter.Type: JSONReporter()
        case is CycloneDXReporter.Type: CycloneDXReporter()
        case is JUnitReporter.Type: JUnitReporter()
        case is MarkdownReporter.Type: MarkdownReporter()
        case is HTMLReporter.Type: HTMLReporter()
        default: TextReporter()
        }
    }
}

enum JSONOutput {
    /// Sorted keys and no escaped slashes: byte-identical output for identical results.
    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
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
