import CLibYAML
import Yams

/// YAML composition with a bound on what aliases can make a document expand to, and on nesting.
///
/// Yams composes an alias by sharing the anchored node, but every walk over the result visits the
/// shared subtree once per alias, and composing itself hashes every mapping key in full to find
/// duplicates: a few hundred bytes of nested aliases (a "billion laughs" document), or one such
/// alias used as a mapping key, become billions of nodes to hash, walk and collect. So the
/// document is measured **before** Yams sees it, on libyaml's event stream, in time linear in the
/// text: each anchor's expanded size is recorded when its node ends, an alias adds that size, and
/// the stream is refused as soon as the running total passes the limit. Nesting is bounded too
/// (Yams composes recursively; a deep enough document would exhaust the stack).
public enum BoundedYAML {
    /// Nodes a document may expand to (every rule, config and triage file fits easily).
    public static let maxExpandedNodes = 1_000_000
    /// Collections a document may nest (real configs nest a handful; Yams recurses per level).
    public static let maxDepth = 256

    public struct TooLarge: Error, CustomStringConvertible, Sendable {
        public enum Reason: Sendable { case expansion, depth }
        public var reason: Reason
        public var line: Int

        public var description: String {
            switch reason {
            case .expansion:
                return "the YAML document expands to more than \(BoundedYAML.maxExpandedNodes) nodes through aliases (an alias bomb?); not evaluated"
            case .depth:
                return "the YAML document nests collections more than \(BoundedYAML.maxDepth) deep (line \(line)); not evaluated"
            }
        }
    }

    /// `Yams.compose`, refusing documents whose aliases expand past `limit` nodes or that nest
    /// deeper than `maxDepth`.
    public static func compose(_ text: String, resolver: Resolver = .default,
                               limit: Int = maxExpandedNodes) throws -> Node? {
        try measure(text, limit: limit)
        return try Yams.compose(yaml: text, resolver)
    }

    /// Throws `TooLarge` when composing `text` and walking the result would visit more than `limit`
    /// nodes, or when collections nest deeper than `depthLimit`. A syntax error ends the measure
    /// without a verdict: Yams reports it, with its position, when it composes the same text.
    public static func measure(_ text: String, limit: Int = maxExpandedNodes, depthLimit: Int = maxDepth) throws {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return }
        defer { yaml_parser_delete(&parser) }
        var utf8 = Array(text.utf8)
        if utf8.isEmpty { return }
        try utf8.withUnsafeMutableBufferPointer { buffer in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var anchors: [String: Int] = [:]
            // Open collections: the nodes counted so far under each (itself included) and its anchor.
            var open: [(count: Int, anchor: String?)] = []
            var total = 0

            func anchorName(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
                pointer.map { String(cString: UnsafePointer($0)) }
            }
            // A finished node of `size` nodes: counted into its parent and into the stream's total.
            func finish(_ size: Int, anchor: String?, line: Int) throws {
                if let anchor { anchors[anchor] = size }
                if open.isEmpty {
                    total += size
                    if total > limit { throw TooLarge(reason: .expansion, line: line) }
                } else {
                    open[open.count - 1].count += size
                    if open[open.count - 1].count > limit { throw TooLarge(reason: .expansion, line: line) }
                }
            }

            var event = yaml_event_t()
            while true {
                guard yaml_parser_parse(&parser, &event) == 1 else { return }
                defer { yaml_event_delete(&event) }
                let line = Int(event.start_mark.line) + 1
                switch event.type {
                case YAML_STREAM_END_EVENT:
                    return
                case YAML_DOCUMENT_START_EVENT:
                    anchors.removeAll(keepingCapacity: true)
                case YAML_SCALAR_EVENT:
                    try finish(1, anchor: anchorName(event.data.scalar.anchor), line: line)
                case YAML_ALIAS_EVENT:
                    let size = anchorName(event.data.alias.anchor).flatMap { anchors[$0] } ?? 1
                    try finish(size, anchor: nil, line: line)
                case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                    if open.count >= depthLimit { throw TooLarge(reason: .depth, line: line) }
                    let anchor = event.type == YAML_SEQUENCE_START_EVENT
                        ? anchorName(event.data.sequence_start.anchor)
                        : anchorName(event.data.mapping_start.anchor)
                    open.append((count: 1, anchor: anchor))
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    guard let node = open.popLast() else { return }
                    try finish(node.count, anchor: node.anchor, line: line)
                default:
                    break
                }
            }
        }
    }
}
