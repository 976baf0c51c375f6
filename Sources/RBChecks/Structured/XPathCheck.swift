import CLibXML2
import RBCore

/// `xml.xpath`: an XPath 1.0 expression over XML configs, through libxml2.
///
/// Modes: `forbid` (each selected node is a finding), `require`, `each` (every node's value must
/// meet `expect`), `count`. Findings carry the node's line. Documents are parsed without network
/// access, DTD loading or entity substitution (no XXE).
public struct XPathCheck: Check {
    public struct Options: Decodable, Sendable {
        var paths: [String]
        var exclude: [String]?
        var xpath: String
        var mode: AssertionMode?
        var expect: Expectation?
        /// Finding message; `{path}`, `{line}`, `{node}`, `{value}`, `{count}`, `{expected}`.
        var message: String?
        /// Prefixes the expression may use for namespaces (`{isapi: "http://www.isapi.org/ver20/XMLSchema"}`).
        /// Without a declared prefix, names match elements by local name whatever their namespace.
        var namespaces: [String: String]?
    }

    public static let id = "xml.xpath"
    public static let summary = "Evaluates an XPath expression over XML files (exists / value / count), with line numbers."
    public static let targetKinds: Set<TargetKind> = [.firmware, .config]

    let paths: [Glob]
    let exclude: [Glob]
    let assertion: StructuredAssertion
    let namespaces: [String: String]

    public init(options: Options) throws(CheckOptionError) {
        guard !options.paths.isEmpty else { throw CheckOptionError(key: "paths", "needs at least one pattern") }
        paths = try PathPatterns.compile(options.paths, key: "paths")
        exclude = try PathPatterns.compile(options.exclude ?? [], key: "exclude")
        xmlInitParser()
        rb_xml_silence()
        guard let compiled = xmlXPathCompile(options.xpath) else {
            throw CheckOptionError(key: "xpath", "'\(options.xpath)' is not a valid XPath 1.0 expression")
        }
        xmlXPathFreeCompExpr(compiled)
        namespaces = options.namespaces ?? [:]
        for prefix in namespaces.keys where !XMLDocument.isPrefix(prefix) {
            throw CheckOptionError(key: "namespaces", "'\(prefix)' is not a namespace prefix (an XML name without ':')")
        }
        assertion = try StructuredAssertion(selector: options.xpath, mode: options.mode, expect: options.expect,
                                            message: options.message)
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        var observations: [Observation] = []
        for entry in context.files(matching: paths, excluding: exclude) {
            guard let content = context.read(entry) else { continue }
            guard ConfigContent.withinLimit(entry, size: content.bytes.count, format: "XML", context: context) else { continue }
            if let reason = ConfigContent.notXML(content.bytes) {
                context.note("\(entry.path) is not XML (\(reason)); not checked as XML", path: entry.path, code: "check.not-a-config")
                continue
            }
            // In a firmware tree, a vendor's near-XML is judged as libxml2 recovers it (a
            // warning); a config file given to be scanned must parse.
            let (result, recoveredFrom) = XMLDocument.select(assertion.selector, in: content.bytes, name: entry.path,
                                                             namespaces: namespaces, lenient: context.kind == .firmware)
            if let recoveredFrom { context.recovered(XMLDocument.recoveredMessage(recoveredFrom), path: entry.path) }
            switch result {
            case .success(let items):
                if !items.isEmpty { context.understood(entry.path) }
                observations += assertion.judge(items, path: entry.path)
            case .failure(let problem):
                context.unparsable(problem.description, path: entry.path)
            }
        }
        return observations
    }
}

/// libxml2 parsing and XPath evaluation, kept in one place so no C pointer escapes.
enum XMLDocument {
    struct Problem: Error, CustomStringConvertible {
        var message: String
        var line: Int?
        /// As diagnostics say it: "not well-formed XML: … (line N)".
        var description: String { "not well-formed XML: \(message)" + (line.map { " (line \($0))" } ?? "") }
    }

    /// Parses `bytes` (no network, no error output) and hands the document to `body`, which must
    /// not keep it: it is freed on return.
    /// `recover`: libxml2's recovery mode, for a document that failed the strict parse; a
    /// document without a root element after it is still a failure.
    static func withDocument<T>(_ bytes: [UInt8], name: String, recover: Bool = false,
                                _ body: (xmlDocPtr) -> Result<T, Problem>) -> Result<T, Problem> {
        rb_xml_silence()
        var options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue)
        if recover { options |= Int32(XML_PARSE_RECOVER.rawValue) }
        guard let parser = xmlNewParserCtxt() else { return .failure(Problem(message: "out of memory")) }
        defer { xmlFreeParserCtxt(parser) }
        let parsed = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(1, buffer.count)) {
                xmlCtxtReadMemory(parser, $0, Int32(clamping: buffer.count), name, nil, options)
            }
        }
        guard let doc = parsed else {
            if let error = xmlCtxtGetLastError(parser), let text = error.pointee.message {
                return .failure(Problem(message: String(cString: text).trimmingWhitespace().description,
                                        line: Int(error.pointee.line)))
            }
            return .failure(Problem(message: "unparseable document"))
        }
        defer { xmlFreeDoc(doc) }
        if recover, xmlDocGetRootElement(doc) == nil { return .failure(Problem(message: "nothing recoverable")) }
        return body(doc)
    }

    /// Parses strictly and, when `lenient` and the strict parse fails, as libxml2's recovery
    /// reads it (firmware trees: vendors' near-XML). `recoveredFrom`: the strict parse's problem
    /// when the result came from recovery.
    static func parse<T>(_ bytes: [UInt8], name: String, lenient: Bool,
                         _ body: (xmlDocPtr) -> Result<T, Problem>) -> (result: Result<T, Problem>, recoveredFrom: Problem?) {
        let strict = withDocument(bytes, name: name, body)
        guard lenient, case .failure(let problem) = strict else { return (strict, nil) }
        let recovered = withDocument(bytes, name: name, recover: true, body)
        guard case .success = recovered else { return (strict, nil) }
        return (recovered, problem)
    }

    /// The warning for a document read in recovery mode, from its strict parse's problem.
    static func recoveredMessage(_ problem: Problem) -> String {
        "\(problem); judged as libxml2's recovery reads it (the device's own parser may read it otherwise)"
    }

    /// Evaluates `expression` over the document. Namespaces never hide a match: real exports
    /// carry them (Hikvision ISAPI's default `xmlns="http://www.isapi.org/ver20/XMLSchema"`), and
    /// an adapter's `//IllegalLoginLock/enabled` that silently matched nothing would pass a
    /// device with lockout off. So an expression that uses none of the declared `namespaces`
    /// prefixes matches elements and attributes by local name (the document's namespaces are
    /// taken off first); one that does is evaluated with those prefixes bound, exactly.
    static func select(_ expression: String, in bytes: [UInt8], name: String,
                       namespaces: [String: String] = [:], lenient: Bool) -> (result: Result<[SelectedItem], Problem>, recoveredFrom: Problem?) {
        parse(bytes, name: name, lenient: lenient) { doc in
            let prefixed = namespaces.keys.contains { usesPrefix($0, expression) }
            if !prefixed { removeNamespaces(doc) }
            return evaluate(expression, in: doc, namespaces: prefixed ? namespaces : [:])
        }
    }

    /// `select`, strictly.
    static func select(_ expression: String, in bytes: [UInt8], name: String,
                       namespaces: [String: String] = [:]) -> Result<[SelectedItem], Problem> {
        select(expression, in: bytes, name: name, namespaces: namespaces, lenient: false).result
    }

    /// Whether `expression` names `prefix:` as a name test's prefix (not inside a string literal's
    /// text, which XPath configs rarely hold; a false positive only binds the prefixes).
    static func usesPrefix(_ prefix: String, _ expression: String) -> Bool {
        var rest = Substring(expression)
        while let range = rest.range(of: prefix + ":") {
            let before = rest[..<range.lowerBound].last
            if before == nil || !(before!.isLetter || before!.isNumber || "_-.".contains(before!)) {
                // `prefix::` is an axis (`child::`), not a namespace prefix.
                if rest[range.upperBound...].first != ":" { return true }
            }
            rest = rest[range.upperBound...]
        }
        return false
    }

    /// An XML NCName: a letter or `_`, then letters, digits, `.`, `-`, `_`.
    static func isPrefix(_ text: String) -> Bool {
        guard let first = text.first, first.isLetter || first == "_" else { return false }
        return text.allSatisfy { $0.isLetter || $0.isNumber || "._-".contains($0) }
    }

    /// Takes every element's and attribute's namespace off (the declarations stay, owned by the
    /// document): names then match by their local part. Iterative, like `leaves`.
    static func removeNamespaces(_ doc: xmlDocPtr) {
        var pending: [xmlNodePtr] = xmlDocGetRootElement(doc).map { [$0] } ?? []
        while let node = pending.popLast() {
            guard node.pointee.type == XML_ELEMENT_NODE else { continue }
            node.pointee.ns = nil
            var attribute = node.pointee.properties
            while let current = attribute {
                current.pointee.ns = nil
                attribute = current.pointee.next
            }
            var child = node.pointee.children
            while let current = child {
                if current.pointee.type == XML_ELEMENT_NODE { pending.append(current) }
                child = current.pointee.next
            }
        }
    }

    private static func evaluate(_ expression: String, in doc: xmlDocPtr, namespaces: [String: String]) -> Result<[SelectedItem], Problem> {
        guard let context = xmlXPathNewContext(doc) else { return .failure(Problem(message: "out of memory")) }
        defer { xmlXPathFreeContext(context) }
        for (prefix, uri) in namespaces.sorted(by: { $0.key < $1.key }) {
            _ = xmlXPathRegisterNs(context, prefix, uri)
        }
        guard let result = xmlXPathEvalExpression(expression, context) else {
            return .failure(Problem(message: "XPath evaluation failed"))
        }
        defer { xmlXPathFreeObject(result) }
        switch result.pointee.type {
        case XPATH_NODESET:
            guard let set = result.pointee.nodesetval else { return .success([]) }
            return .success((0..<rb_nodeset_len(set)).compactMap { i in
                rb_nodeset_item(set, i).map(item(for:))
            })
        case XPATH_BOOLEAN:
            return .success(result.pointee.boolval != 0 ? [SelectedItem(value: "true", line: nil, label: expression)] : [])
        case XPATH_NUMBER:
            let number = result.pointee.floatval
            let text = number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
            return .success([SelectedItem(value: text, line: nil, label: expression)])
        case XPATH_STRING:
            let text = result.pointee.stringval.map { String(cString: $0) } ?? ""
            return .success([SelectedItem(value: text, line: nil, label: expression)])
        default:
            return .success([])
        }
    }

    /// Every leaf element (no element children) and every attribute, in document order, by one
    /// walk of the tree: linear in the document, where the XPath union `//*[not(*)] | //@*`
    /// merges node sets quadratically (40,000 elements took 7 s).
    static func leaves(in bytes: [UInt8], name: String, lenient: Bool) -> (result: Result<[SelectedItem], Problem>, recoveredFrom: Problem?) {
        parse(bytes, name: name, lenient: lenient) { doc in .success(leaves(of: doc)) }
    }

    private static func leaves(of doc: xmlDocPtr) -> [SelectedItem] {
        var items: [SelectedItem] = []
        // Depth-first without recursion: a hostile document's nesting cannot exhaust the stack.
        var pending: [xmlNodePtr] = xmlDocGetRootElement(doc).map { [$0] } ?? []
        while let node = pending.popLast() {
            guard node.pointee.type == XML_ELEMENT_NODE else { continue }
            var attribute = node.pointee.properties
            while let current = attribute {
                current.withMemoryRebound(to: xmlNode.self, capacity: 1) { items.append(item(for: $0)) }
                attribute = current.pointee.next
            }
            var children: [xmlNodePtr] = []
            var child = node.pointee.children
            while let current = child {
                if current.pointee.type == XML_ELEMENT_NODE { children.append(current) }
                child = current.pointee.next
            }
            if children.isEmpty {
                items.append(item(for: node))
            } else {
                pending.append(contentsOf: children.reversed())
            }
        }
        return items
    }

    static func item(for node: xmlNodePtr) -> SelectedItem {
        var value: String?
        if let content = xmlNodeGetContent(node) {
            value = String(cString: content)
            rb_xmlFree(content)
        }
        var line = xmlGetLineNo(node)
        var label = node.pointee.name.map { String(cString: $0) } ?? "node"
        if node.pointee.type == XML_ATTRIBUTE_NODE, let parent = node.pointee.parent {
            line = xmlGetLineNo(parent)
            label = (parent.pointee.name.map { String(cString: $0) } ?? "") + "/@" + label
        } else if let parent = node.pointee.parent, parent.pointee.type == XML_ELEMENT_NODE,
                  let parentName = parent.pointee.name {
            label = String(cString: parentName) + "/" + label
        }
        return SelectedItem(value: value, line: line > 0 ? line : nil, label: label)
    }
}
