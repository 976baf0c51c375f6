import Yams

/// Decodes `Decodable` types from a composed YAML node, strictly: a key the type does not read is
/// an error, and every error names `file:line:column`. Rule packs, baselines and every other
/// on-disk format rbscan owns go through here (Yams' own decoder drops the positions).
public struct NodeDecoder: Sendable {
    /// The file name used in diagnostics.
    public let file: String

    public init(file: String) { self.file = file }

    /// Parses `text` as one YAML document; a syntax error names its line and column.
    public static func compose(_ text: String, file: String) throws(DiagnosticError) -> Node {
        do {
            // The basic resolver: scalars stay strings (this decoder reads null, bools and numbers
            // itself), which skips Yams' regular-expression tag resolution, most of the start-up time.
            guard let node = try BoundedYAML.compose(text, resolver: .basic) else {
                throw DiagnosticError(Diagnostic(.error, .configuration, code: "yaml.empty",
                                                 "the document is empty", at: SourceLocation(file: file, line: 1)))
            }
            return node
        } catch let tooLarge as BoundedYAML.TooLarge {
            throw DiagnosticError(Diagnostic(.error, .configuration, code: "yaml.limit", tooLarge.description,
                                             at: SourceLocation(file: file, line: tooLarge.line)))
        } catch let error as DiagnosticError {
            throw error
        } catch let error as YamlError {
            throw DiagnosticError(yamlDiagnostic(error, file: file))
        } catch {
            throw DiagnosticError(Diagnostic(.error, .configuration, code: "yaml.syntax", "\(error)",
                                             at: SourceLocation(file: file)))
        }
    }

    /// `compose`, through `cache` when there is one: a document composed before (same text,
    /// same build) is read back from it, and a new one is kept for next time.
    public static func compose(_ text: String, file: String, cache: NodeCache?) throws(DiagnosticError) -> Node {
        guard let cache else { return try compose(text, file: file) }
        if let entry = cache.entry(for: text) { return entry.node }
        let node = try compose(text, file: file)
        cache.store(node, for: text)
        return node
    }

    static func yamlDiagnostic(_ error: YamlError, file: String) -> Diagnostic {
        func make(_ problem: String, _ mark: Mark, _ context: YamlError.Context?) -> Diagnostic {
            let text = context.map { "\(problem) (\($0.text))" } ?? problem
            return Diagnostic(.error, .configuration, code: "yaml.syntax", text,
                              at: SourceLocation(file: file, line: mark.line, column: mark.column))
        }
        switch error {
        case let .scanner(context, problem, mark, _): return make(problem, mark, context)
        case let .parser(context, problem, mark, _): return make(problem, mark, context)
        case let .composer(context, problem, mark, _): return make(problem, mark, context)
        case let .duplicatedKeysInMapping(duplicates, context):
            return Diagnostic(.error, .configuration, code: "yaml.duplicate-key",
                              "duplicate key(s) \(duplicates.joined(separator: ", ")) in one mapping",
                              at: SourceLocation(file: file, line: context.mark.line, column: context.mark.column))
        case let .reader(problem, offset, _, _):
            return Diagnostic(.error, .configuration, code: "yaml.encoding", problem,
                              at: SourceLocation(file: file, offset: offset))
        default:
            return Diagnostic(.error, .configuration, code: "yaml.syntax", "\(error)", at: SourceLocation(file: file))
        }
    }

    /// Decodes `type` from `node`. `basePath` is the coding path of `node` inside its document,
    /// for nodes decoded in a second pass (check options).
    public func decode<T: Decodable>(_ type: T.Type, from node: Node,
                                     basePath: [any CodingKey] = []) throws(DiagnosticError) -> T {
        let state = DecodeState()
        let value: T
        do {
            value = try T(from: NodeDecoderImpl(node: node, state: state, codingPath: basePath))
        } catch let error as NodeDecodeError {
            throw DiagnosticError(diagnostic(error.message, code: error.code, mark: error.mark ?? node.mark))
        } catch let error as DecodingError {
            throw DiagnosticError(diagnostic(for: error, root: node, basePath: basePath))
        } catch let error as DiagnosticError {
            throw error
        } catch {
            throw DiagnosticError(diagnostic("\(error)", code: "yaml.invalid", mark: node.mark))
        }
        var unknown: [Diagnostic] = []
        for usage in state.usages where !usage.readsAllKeys {
            for index in usage.mapping.indices {
                let key = usage.mapping[index].key
                let name = key.scalar?.string ?? "\(key)"
                guard !usage.accessed.contains(name) else { continue }
                let expected = usage.accessed.sorted().joined(separator: ", ")
                unknown.append(diagnostic("unknown key '\(name)'" + (expected.isEmpty ? "" : " (expected one of: \(expected))"),
                                          code: "yaml.unknown-key", mark: key.mark))
            }
        }
        if !unknown.isEmpty { throw DiagnosticError(unknown) }
        return value
    }

    func diagnostic(_ message: String, code: String, mark: Mark?) -> Diagnostic {
        Diagnostic(.error, .configuration, code: code, message,
                   at: SourceLocation(file: file, line: mark?.line, column: mark?.column))
    }

    func diagnostic(for error: DecodingError, root: Node, basePath: [any CodingKey]) -> Diagnostic {
        func node(at path: [any CodingKey]) -> Node? {
            var current: Node? = root
            for key in path.dropFirst(basePath.count) {
                guard let here = current else { return nil }
                switch here {
                case .mapping(let mapping): current = mapping[key.stringValue]
                case .sequence(let sequence):
                    guard let i = key.intValue, i < sequence.count else { return nil }
                    current = sequence[i]
                default: return nil
                }
            }
            return current
        }
        func describe(_ path: [any CodingKey]) -> String {
            NodeDecoder.keyPath(path)
        }
        switch error {
        case let .keyNotFound(key, context):
            let at = node(at: context.codingPath)
            let owner = describe(context.codingPath)
            var message = "missing required key '\(key.stringValue)'" + (owner.isEmpty ? "" : " in '\(owner)'")
            var mark = at?.mark
            if case .mapping(let mapping)? = at,
               let typo = mapping.keys.first(where: { NodeDecoder.isNear($0.scalar?.string ?? "", key.stringValue) }) {
                message += "; found '\(typo.scalar?.string ?? "")' instead: a typo?"
                mark = typo.mark
            }
            return diagnostic(message, code: "yaml.missing-key", mark: mark)
        case let .typeMismatch(type, context):
            return diagnostic("'\(describe(context.codingPath))' should be \(NodeDecoder.typeName(type))",
                              code: "yaml.type-mismatch", mark: node(at: context.codingPath)?.mark)
        case let .valueNotFound(type, context):
            return diagnostic("'\(describe(context.codingPath))' needs a value (\(NodeDecoder.typeName(type)))",
                              code: "yaml.missing-value", mark: node(at: context.codingPath)?.mark)
        case let .dataCorrupted(context):
            let path = describe(context.codingPath)
            return diagnostic((path.isEmpty ? "" : "'\(path)': ") + context.debugDescription,
                              code: "yaml.invalid-value", mark: node(at: context.codingPath)?.mark)
        @unknown default:
            return diagnostic("\(error)", code: "yaml.invalid", mark: root.mark)
        }
    }

    /// Whether two keys are at most two edits apart (and not equal): likely a typo.
    static func isNear(_ a: String, _ b: String) -> Bool {
        let x = Array(a.lowercased()), y = Array(b.lowercased())
        guard x != y, abs(x.count - y.count) <= 2, !x.isEmpty else { return false }
        var previous = Array(0...y.count)
        for i in 1...x.count {
            var current = [i] + Array(repeating: 0, count: y.count)
            for j in 1...max(1, y.count) where j <= y.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[y.count] <= 2
    }

    /// `targets[0].name`: a coding path as the key path a user writes. (A bare `joined()` here
    /// once chose FlattenSequence and printed its internal dump instead.)
    static func keyPath(_ path: [any CodingKey]) -> String {
        let parts: [String] = path.map { key in key.intValue.map { "[\($0)]" } ?? "." + key.stringValue }
        return String(parts.joined(separator: "").drop { $0 == "." })
    }

    static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        case is Int.Type, is Int32.Type, is Int64.Type, is UInt.Type, is UInt32.Type, is UInt64.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") { return "a list" }
            if name.hasPrefix("Dictionary") || name.contains("KeyedDecodingContainer") { return "a mapping" }
            return "a \(name)"
        }
    }
}

/// A decoding error with the exact YAML position.
struct NodeDecodeError: Error {
    var code: String
    var message: String
    var mark: Mark?
}

/// Per-decode bookkeeping: which keys each mapping's container read.
final class DecodeState {
    final class Usage {
        let mapping: Node.Mapping
        var accessed = Set<String>()
        var readsAllKeys = false
        init(mapping: Node.Mapping) { self.mapping = mapping }
    }
    var usages: [Usage] = []
}

/// A YAML node captured as is during decoding, to be decoded again later by a type chosen from
/// data (a check's options are decoded by the check named in the same rule).
public struct CapturedNode: Decodable, @unchecked Sendable {
    // Yams' Node is a value tree of strings with no shared mutable state once composed, apart
    // from a weak anchor reference that is never written after parsing.
    public let node: Node
    public let codingPath: [any CodingKey]

    public init(from decoder: any Decoder) throws {
        guard let impl = decoder as? NodeDecoderImpl else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "CapturedNode needs NodeDecoder"))
        }
        node = impl.node
        codingPath = impl.codingPath
        if case .mapping(let mapping) = impl.node {
            // Keys are checked when the node is decoded for real.
            let usage = DecodeState.Usage(mapping: mapping)
            usage.readsAllKeys = true
            impl.state.usages.append(usage)
        }
    }

    public var mark: Mark? { node.mark }
}

struct IndexKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(_ index: Int) { stringValue = "[\(index)]"; intValue = index }
    init?(stringValue: String) { self.stringValue = stringValue; intValue = nil }
    init?(intValue: Int) { self.init(intValue) }
}

struct NodeDecoderImpl: Decoder {
    let node: Node
    let state: DecodeState
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func mismatch(_ expected: String) -> NodeDecodeError {
        let found: String
        switch node {
        case .mapping: found = "a mapping"
        case .sequence: found = "a list"
        case .scalar(let s): found = "'\(s.string)'"
        case .alias: found = "an alias"
        }
        let path = NodeDecoder.keyPath(codingPath)
        let subject = path.isEmpty ? "the document" : "'\(path)'"
        return NodeDecodeError(code: "yaml.type-mismatch", message: "\(subject) should be \(expected), found \(found)",
                               mark: node.mark)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .mapping(let mapping) = node else { throw mismatch("a mapping") }
        let usage = DecodeState.Usage(mapping: mapping)
        state.usages.append(usage)
        return KeyedDecodingContainer(KeyedNodeContainer<Key>(mapping: mapping, usage: usage, decoder: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .sequence(let sequence) = node else { throw mismatch("a list") }
        return UnkeyedNodeContainer(items: Array(sequence), decoder: self)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleNodeContainer(decoder: self) }

    func child(_ node: Node, key: any CodingKey) -> NodeDecoderImpl {
        NodeDecoderImpl(node: node, state: state, codingPath: codingPath + [key])
    }

    // MARK: scalars

    var scalarText: String? {
        if case .scalar(let scalar) = node { return scalar.string }
        return nil
    }

    var isNull: Bool {
        guard case .scalar(let scalar) = node else { return false }
        return scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    func decodeString() throws -> String {
        guard let text = scalarText, !isNull else { throw mismatch("a string") }
        return text
    }

    func decodeBool() throws -> Bool {
        switch scalarText?.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw mismatch("true or false")
        }
    }

    func decodeInteger<T: FixedWidthInteger>(_: T.Type) throws -> T {
        guard var text = scalarText else { throw mismatch("an integer") }
        text = text.replacingOccurrences("_", "")
        var radix = 10
        var negative = false
        if text.hasPrefix("-") { negative = true; text.removeFirst() } else if text.hasPrefix("+") { text.removeFirst() }
        if text.hasPrefix("0x") { radix = 16; text.removeFirst(2) } else if text.hasPrefix("0o") { radix = 8; text.removeFirst(2) }
        guard let magnitude = T(text, radix: radix) else { throw mismatch("an integer") }
        if negative {
            guard T.isSigned else { throw mismatch("a non-negative integer") }
            return 0 - magnitude
        }
        return magnitude
    }

    func decodeDouble() throws -> Double {
        guard let text = scalarText, let value = Double(text) else { throw mismatch("a number") }
        return value
    }

    func decodeAny<T: Decodable>(_ type: T.Type) throws -> T {
        switch type {
        case is String.Type: return try decodeString() as! T
        case is Bool.Type: return try decodeBool() as! T
        case is Int.Type: return try decodeInteger(Int.self) as! T
        case is Int64.Type: return try decodeInteger(Int64.self) as! T
        case is Int32.Type: return try decodeInteger(Int32.self) as! T
        case is UInt.Type: return try decodeInteger(UInt.self) as! T
        case is UInt32.Type: return try decodeInteger(UInt32.self) as! T
        case is UInt16.Type: return try decodeInteger(UInt16.self) as! T
        case is UInt8.Type: return try decodeInteger(UInt8.self) as! T
        case is Int16.Type: return try decodeInteger(Int16.self) as! T
        case is Int8.Type: return try decodeInteger(Int8.self) as! T
        case is UInt64.Type: return try decodeInteger(UInt64.self) as! T
        case is Double.Type: return try decodeDouble() as! T
        case is Float.Type: return Float(try decodeDouble()) as! T
        default: return try T(from: self)
        }
    }
}

extension String {
    func replacingOccurrences(_ target: Character, _ replacement: String) -> String {
        var out = ""
        for ch in self { if ch == target { out += replacement } else { out.append(ch) } }
        return out
    }
}

extension Node.Mapping {
    /// The value of the last pair whose key is the scalar `key` (what `mapping[key]` finds for
    /// the string keys of rbscan's formats, without allocating a key node and resolving tags to
    /// compare each pair: most of the time of decoding a rule pack).
    /// Walks the pairs by index from the end: Yams' `makeIterator` copies every pair into a new
    /// array on each call, and this runs once per key a decoder asks for.
    func value(forKey key: String) -> Node? {
        var index = endIndex
        while index > startIndex {
            index -= 1
            if case .scalar(let scalar) = self[index].key, scalar.string == key { return self[index].value }
        }
        return nil
    }
}

struct KeyedNodeContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let mapping: Node.Mapping
    let usage: DecodeState.Usage
    let decoder: NodeDecoderImpl

    var codingPath: [any CodingKey] { decoder.codingPath }

    var allKeys: [Key] {
        usage.readsAllKeys = true
        return mapping.keys.compactMap { $0.scalar.flatMap { Key(stringValue: $0.string) } }
    }

    func contains(_ key: Key) -> Bool {
        usage.accessed.insert(key.stringValue)
        return mapping.value(forKey: key.stringValue) != nil
    }

    private func child(_ key: Key) throws -> NodeDecoderImpl {
        usage.accessed.insert(key.stringValue)
        guard let node = mapping.value(forKey: key.stringValue) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "missing"))
        }
        return decoder.child(node, key: key)
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        usage.accessed.insert(key.stringValue)
        guard let node = mapping.value(forKey: key.stringValue) else { return true }
        return decoder.child(node, key: key).isNull
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try child(key).decodeAny(type)
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        usage.accessed.insert(key.stringValue)
        guard let node = mapping.value(forKey: key.stringValue) else { return nil }
        let child = decoder.child(node, key: key)
        if child.isNull { return nil }
        return try child.decodeAny(type)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey> {
        try child(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try child(key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { decoder }
    func superDecoder(forKey key: Key) throws -> any Decoder { try child(key) }
}

struct UnkeyedNodeContainer: UnkeyedDecodingContainer {
    let items: [Node]
    let decoder: NodeDecoderImpl
    var currentIndex = 0

    init(items: [Node], decoder: NodeDecoderImpl) {
        self.items = items
        self.decoder = decoder
    }

    var codingPath: [any CodingKey] { decoder.codingPath }
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    private mutating func next() throws -> NodeDecoderImpl {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(Any.self, .init(codingPath: codingPath, debugDescription: "end of list"))
        }
        defer { currentIndex += 1 }
        return decoder.child(items[currentIndex], key: IndexKey(currentIndex))
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { return false }
        if decoder.child(items[currentIndex], key: IndexKey(currentIndex)).isNull {
            currentIndex += 1
            return true
        }
        return false
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decodeAny(type) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey> {
        try next().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }
    mutating func superDecoder() throws -> any Decoder { try next() }
}

struct SingleNodeContainer: SingleValueDecodingContainer {
    let decoder: NodeDecoderImpl
    var codingPath: [any CodingKey] { decoder.codingPath }
    func decodeNil() -> Bool { decoder.isNull }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.decodeAny(type) }
}

extension NodeDecoder {
    /// A versioned YAML input file (baseline, device profile …): the file's text, or an
    /// `<kind>.unreadable` error at the file.
    public static func readDocument(_ file: String, kind: String) throws(DiagnosticError) -> String {
        do {
            return try HostFiles.readText(file)
        } catch {
            throw DiagnosticError(Diagnostic(.error, .configuration, code: "\(kind).unreadable", "\(error)", at: SourceLocation(file: file)))
        }
    }

    /// Decodes `T` strictly from `text`, then checks its format version against `supported`;
    /// an other version is a `<kind>.unsupported-version` error at the `version` key.
    public static func decodeVersioned<T: Decodable>(_ type: T.Type, text: String, file: String, kind: String, supported: Int,
                                                     version: (T) -> Int) throws(DiagnosticError) -> (document: T, root: Node) {
        let root = try compose(text, file: file)
        let decoder = NodeDecoder(file: file)
        let document = try decoder.decode(T.self, from: root)
        guard version(document) == supported else {
            throw DiagnosticError(decoder.diagnostic(
                "\(kind) format version \(version(document)) is not supported (this rbscan reads \(supported))",
                code: "\(kind).unsupported-version", mark: nodeMark(root, "version")))
        }
        return (document, root)
    }
}
