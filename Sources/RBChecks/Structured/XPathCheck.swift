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
    }

    public static let id = "xml.xpath"
    public static let summary = "Evaluates an XPath expression over XML files (exists / value / count), with line numbers."
    public static let targetKinds: Set<TargetKind> = [.firmware, .config]

    let paths: [Glob]
    let exclude: [Glob]
    let assertion: StructuredAssertion

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
            switch XMLDocument.select(assertion.selector, in: content.bytes, name: entry.path) {
            case .success(let items): observations += assertion.judge(items, path: entry.path)
            case .failure(let problem):
                context.report("not well-formed XML: \(problem.message)",
                               path: entry.path + (problem.line.map { ":\($0)" } ?? ""), code: "check.parse-error")
            }
        }
        return observations
    }
}

/// libxml2 parsing and XPath evaluation, kept in one place so no C pointer escapes.
enum XMLDocument {
    struct Problem: Error {
        var message: String
        var line: Int?
    }

    /// Parses `bytes` (no network, no error output) and hands the document to `body`, which must
    /// not keep it: it is freed on return.
    static func withDocument<T>(_ bytes: [UInt8], name: String, _ body: (xmlDocPtr) -> Result<T, Problem>) -> Result<T, Problem> {
        rb_xml_silence()
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue)
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
        return body(doc)
    }

    static func select(_ expression: String, in bytes: [UInt8], name: String) -> Result<[SelectedItem], Problem> {
        withDocument(bytes, name: name) { doc in evaluate(expression, in: doc) }
    }

    private static func evaluate(_ expression: String, in doc: xmlDocPtr) -> Result<[SelectedItem], Problem> {
        guard let context = xmlXPathNewContext(doc) else { return .failure(Problem(message: "out of memory")) }
        defer { xmlXPathFreeContext(context) }
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
    static func leaves(in bytes: [UInt8], name: String) -> Result<[SelectedItem], Problem> {
        withDocument(bytes, name: name) { doc in .success(leaves(of: doc)) }
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
