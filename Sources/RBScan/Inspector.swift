import Foundation
import RBCore
@_exported import RBImages

/// `rbscan inspect IMAGE`: what a blob holds, as a tree (format, offset, size, compression,
/// files per filesystem) and the problems met, before any rule runs.
public enum Inspector {
    public static func analyze(_ path: String, limits: ScanLimits = ScanLimits()) throws(ImageError) -> ImageAnalysis {
        try ImageScanner(limits: limits).analyze(path: path)
    }

    public static func text(_ analysis: ImageAnalysis) -> String {
        var out = "\(analysis.path): \(analysis.size) bytes\n"
        func render(_ node: ContainerNode, prefix: String, last: Bool) {
            var line = prefix + (last ? "└─ " : "├─ ") + node.label
            if let size = node.size { line += " (\(size) bytes)" }
            let facts = node.details.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            if !facts.isEmpty { line += " " + facts.joined(separator: ", ") }
            if node.tree != nil { line += " [scanned]" }
            if let problem = node.problem { line += " ✗ " + problem }
            out += line + "\n"
            let childPrefix = prefix + (last ? "   " : "│  ")
            for (i, child) in node.children.enumerated() {
                render(child, prefix: childPrefix, last: i == node.children.count - 1)
            }
        }
        if analysis.containers.isEmpty { out += "└─ " + (analysis.unrecognisedDescription ?? "no known container or filesystem found") + "\n" }
        for (i, node) in analysis.containers.enumerated() {
            render(node, prefix: "", last: i == analysis.containers.count - 1)
        }
        let filesystems = analysis.filesystems
        out += "\(filesystems.count) filesystem(s) to scan"
        out += filesystems.isEmpty ? "\n" : ": " + filesystems.map { $0.chain.dropFirst().joined(separator: " → ") }.joined(separator: "; ") + "\n"
        if !analysis.diagnostics.isEmpty {
            out += "Problems:\n" + analysis.diagnostics.map { "  \($0)\n" }.joined()
        }
        return out
    }

    struct NodeDocument: Encodable {
        var format: String
        var offset: UInt64
        var size: UInt64?
        var details: [String: String]
        var files: Int?
        var scanned: Bool
        var problem: String?
        var children: [NodeDocument]
    }

    struct Document: Encodable {
        var schemaVersion = 1
        var path: String
        var size: UInt64
        var containers: [NodeDocument]
        var filesystems: [[String]]
        var diagnostics: [String]
        /// When nothing was recognised: whether the data looks encrypted (entropy) or not.
        var unrecognised: String?
    }

    public static func json(_ analysis: ImageAnalysis) throws -> String {
        func convert(_ node: ContainerNode) -> NodeDocument {
            NodeDocument(format: node.format, offset: node.offset, size: node.size, details: node.details,
                         files: node.tree.map { tree in tree.index.entries.filter { $0.type == .file }.count },
                         scanned: node.tree != nil, problem: node.problem, children: node.children.map(convert))
        }
        let document = Document(path: analysis.path, size: analysis.size, containers: analysis.containers.map(convert),
                                filesystems: analysis.filesystems.map(\.chain), diagnostics: analysis.diagnostics.map(\.description),
                                unrecognised: analysis.unrecognisedDescription)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(document), as: UTF8.self) + "\n"
    }
}
