import CLibXML2

/// Reads the text of elements by local name (namespace prefixes ignored) from a device's XML
/// answer: SOAP bodies, WS-Discovery ProbeMatches, UPnP device descriptions. libxml2 parses with
/// no network access and no entity substitution, so an answer cannot make the scanner fetch or
/// expand anything.
enum XMLElements {
    /// Local name → the texts of every element with that name, in document order; nil when the
    /// bytes are not well-formed XML.
    /// libxml2 must be initialised once before threads use it (its docs: xmlInitParser).
    static let initialised: Void = xmlInitParser()

    static func texts(_ names: Set<String>, in bytes: [UInt8]) -> [String: [String]]? {
        guard !bytes.isEmpty else { return nil }
        _ = initialised
        rb_xml_silence()
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue)
        let parsed = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                xmlReadMemory($0, Int32(clamping: buffer.count), "answer.xml", nil, options)
            }
        }
        guard let doc = parsed else { return nil }
        defer { xmlFreeDoc(doc) }
        var result: [String: [String]] = [:]
        var stack: [xmlNodePtr] = xmlDocGetRootElement(doc).map { [$0] } ?? []
        var visited = 0
        while let node = stack.popLast(), visited < 100_000 {
            visited += 1
            guard node.pointee.type == XML_ELEMENT_NODE else { continue }
            if let name = node.pointee.name.map({ String(cString: $0) }), names.contains(name),
               let content = xmlNodeGetContent(node) {
                result[name, default: []].append(String(String(cString: content).trimmingWhitespace()))
                rb_xmlFree(content)
            }
            // Children pushed last-first so they pop in document order.
            var children: [xmlNodePtr] = []
            var child = node.pointee.children
            while let current = child {
                children.append(current)
                child = current.pointee.next
            }
            stack += children.reversed()
        }
        return result
    }
}
