import Yams

/// YAML composition with a bound on what aliases can make a document expand to. Yams composes
/// an alias by sharing the anchored node (cheap), but every walk over the result visits the
/// shared subtree once per alias: a few hundred bytes of nested aliases (a "billion laughs"
/// document) become billions of nodes to walk and gigabytes to collect. The expanded size is
/// counted once per distinct node (an alias copies its anchor's position, so positions identify
/// shared subtrees) in time linear in the document; above the limit the document is refused.
public enum BoundedYAML {
    /// Nodes a document may expand to (every rule, config and triage file fits easily).
    public static let maxExpandedNodes = 1_000_000

    public struct TooLarge: Error, CustomStringConvertible, Sendable {
        public var nodes: Int
        public var description: String {
            "the YAML document expands to more than \(BoundedYAML.maxExpandedNodes) nodes through aliases (an alias bomb?); not evaluated"
        }
    }

    /// `Yams.compose`, refusing documents whose aliases expand past `limit` nodes.
    public static func compose(_ text: String, limit: Int = maxExpandedNodes) throws -> Node? {
        guard let root = try Yams.compose(yaml: text) else { return nil }
        try check(root, limit: limit)
        return root
    }

    /// Throws `TooLarge` when walking `root` would visit more than `limit` nodes.
    public static func check(_ root: Node, limit: Int = maxExpandedNodes) throws {
        var memo: [Position: Int] = [:]
        func size(_ node: Node) throws -> Int {
            let position = node.mark.map { Position(line: $0.line, column: $0.column) }
            if let position, let known = memo[position] { return known }
            var total = 1
            switch node {
            case .mapping(let mapping):
                for (key, value) in mapping {
                    total += try size(key) + size(value)
                    if total > limit { throw TooLarge(nodes: total) }
                }
            case .sequence(let sequence):
                for item in sequence {
                    total += try size(item)
                    if total > limit { throw TooLarge(nodes: total) }
                }
            default:
                break
            }
            if let position { memo[position] = total }
            return total
        }
        _ = try size(root)
    }

    private struct Position: Hashable {
        var line: Int
        var column: Int
    }
}
