import RBCore
import Yams

#if canImport(Glibc)
import Glibc
#endif

/// `config.normalised`: one normalised configuration key (`auth.lockout.threshold`), read from
/// every file a config adapter understands, compared with an expectation. When a config-file
/// target does not set the key, the result is `review` (the scanner cannot decide: MANUAL in
/// the catalog). Inside a firmware tree only the files that set the key are judged: every XML or
/// INI file of an image would otherwise be a review result.
public struct NormalisedKeyCheck: Check {
    public struct Options: Decodable, Sendable {
        var key: String
        var expect: Expectation
        /// What a missing key means: review (default), fail or pass.
        var missing: KeyValueCheck.Missing?
        var message: String?
        /// Judge a file only when another normalised key in it satisfies an expectation
        /// (`when: {key: web.http.enabled, expect: {op: eq, value: "true"}}`); files where it is
        /// absent or not satisfied give no result.
        var when: Condition?
        /// Inside firmware trees, files left to a boot-aware check (OpenWrt's
        /// `etc/config/uhttpd`: whether uhttpd starts at all decides); config targets keep them.
        var firmwareExclude: [String]?
    }

    public struct Condition: Decodable, Sendable {
        var key: String
        var expect: Expectation
    }

    public static let id = "config.normalised"
    public static let summary = "Compares a normalised config key (through config adapters) with an expectation."
    public static let targetKinds: Set<TargetKind> = [.firmware, .config]

    let options: Options
    let firmwareExclude: [Glob]

    public init(options: Options) throws(CheckOptionError) {
        guard options.key.contains(".") else { throw CheckOptionError(key: "key", "normalised keys are dotted, e.g. auth.lockout.threshold") }
        self.options = options
        firmwareExclude = try PathPatterns.compile(options.firmwareExclude ?? [], key: "firmwareExclude")
    }

    struct Found {
        var value: String
        var line: Int?
        var adapter: String
    }

    /// The names a source can only match if the file contains one of them: the last name of each
    /// XPath alternative, of the data path or of the key. A file without any is not parsed.
    static func hints(_ source: ConfigAdapter.Source) -> [String] {
        if let xpath = source.xpath { return xpathHints(xpath) }
        if let path = source.path { return lastName(Substring(path)).map { [$0] } ?? [] }
        if let key = source.key { return lastName(Substring(key)).map { [$0] } ?? [] }
        if let option = source.uci { return lastName(Substring(option)).map { [$0] } ?? [] }
        return []
    }

    /// Every name the target's adapters look for in a file (each source's hints and `within`
    /// names), once per target.
    static func adapterNames(_ context: CheckContext) -> LiteralSet {
        context.target.models.value("adapter-names") { () -> LiteralSet in
            var names = Set<String>()
            for adapter in context.target.adapters.adapters {
                for source in adapter.keys.values.joined() {
                    names.formUnion(hints(source))
                    if let within = source.within { names.formUnion(xpathHints(within)) }
                }
            }
            return LiteralSet(names.sorted())
        }
    }

    /// Which adapter names each configuration file of an image holds, worked out by the
    /// read-ahead pass while it holds the file (one analysis for every config.normalised rule of
    /// the target, whose names it covers): files holding none of a rule's names are then not
    /// read again (an image's text is larger than the content cache).
    static let namesAnalysisID = "config.normalised:adapter-names"

    static func namesAnalysis(_ context: CheckContext) -> ContentAnalysis {
        let names = adapterNames(context)
        return ContentAnalysis(id: namesAnalysisID, binaries: false, nothing: NameBits(),
                               isNothing: { $0.isEmpty }) { names.presentBits(in: $0) }
    }

    public func contentInterests(in context: CheckContext) -> ContentInterests {
        guard context.kind == .firmware else { return ContentInterests() }
        // The adapters' files, as every config.normalised rule of the target reads them: the same
        // interests for each such rule, worked out once (each rule made a set of tens of
        // thousands of positions).
        return context.target.models.value("config.normalised:interests") { () -> ContentInterests in
            ContentInterests(Self.namesAnalysis(context), positions: Self.filesByAdapter(context).lazy.map { Int($0.position) })
        }
    }

    /// The last name of each alternative of an XPath union.
    static func xpathHints(_ xpath: String) -> [String] { xpath.split(separator: "|").compactMap(lastName) }

    /// The name runs of an expression (letters, digits, `_`, `-`; bytes of non-ASCII letters),
    /// by UTF-8 bytes: called for every source of every file, where Character iteration showed
    /// in profiles (grapheme breaking) on trees of 50,000 files.
    static func names(_ expression: Substring) -> [Substring] {
        let utf8 = expression.utf8
        var runs: [Substring] = []
        var start: Substring.UTF8View.Index?
        var i = utf8.startIndex
        while i < utf8.endIndex {
            let byte = utf8[i]
            let inName = byte >= 0x80 || (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7a) || byte == 0x5f || byte == 0x2d
            if inName {
                if start == nil { start = i }
            } else if let from = start {
                runs.append(expression[from..<i])
                start = nil
            }
            i = utf8.index(after: i)
        }
        if let from = start { runs.append(expression[from..<utf8.endIndex]) }
        return runs
    }

    /// Whether a name starts with a letter (ASCII or not), as element and key names do.
    static func startsWithLetter(_ name: Substring) -> Bool {
        guard let byte = name.utf8.first else { return false }
        return byte >= 0x80 || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7a)
    }

    static func lastName(_ expression: Substring) -> String? {
        names(expression).last(where: startsWithLetter).map(String.init)
    }

    /// `problem`: set when the file could not be parsed as its format (then nothing is found in
    /// it, and the caller reports that instead of "not set").
    /// `recover`: an XML file that fails the strict parse is read as libxml2 recovers it (firmware
    /// trees: vendors' near-XML), and `recovered` says so.
    static func value(of key: String, in entry: FileEntry, text: String, adapter: ConfigAdapter, recover: Bool,
                      recovered: inout String?, problem: inout (message: String, code: String)?) -> Found? {
        guard let sources = adapter.keys[key] else { return nil }
        let name = entry.path.lowercased()
        let isXML = name.hasSuffix(".xml")
        let isData = name.hasSuffix(".json") || name.hasSuffix(".yaml") || name.hasSuffix(".yml")
        let namespaces = adapter.namespaces ?? [:]
        var absent: (value: String, line: Int?)?
        for source in sources {
            let hints = hints(source)
            let hinted = hints.isEmpty || hints.contains(where: { ByteSearch.contains(text, $0) })
            // An `absent` source still applies where its `within` element is (the file is not
            // parsed for it otherwise: firmware trees hold thousands of XML files).
            let scoped = source.within.map { within in
                let names = NormalisedKeyCheck.xpathHints(within)
                return names.isEmpty || names.contains(where: { ByteSearch.contains(text, $0) })
            } ?? (source.uci != nil)
            guard hinted || (source.absent != nil && scoped) else { continue }
            var raw: (String, Int?)?
            var within: Int?? = nil   // set (to a line or nil) when `absent` applies to this file
            if let xpath = source.xpath, isXML {
                let (parsed, recoveredFrom) = XMLDocument.select(xpath, in: Array(text.utf8), name: entry.path,
                                                                 namespaces: namespaces, lenient: recover)
                if let recoveredFrom { recovered = XMLDocument.recoveredMessage(recoveredFrom) }
                switch parsed {
                case .success(let items):
                    if let item = items.first, let value = item.value { raw = (value, item.line) }
                case .failure(let failure):
                    problem = (failure.description, "check.parse-error")
                    return nil
                }
                if raw == nil, source.absent != nil, let scope = source.within,
                   case .success(let items) = XMLDocument.select(scope, in: Array(text.utf8), name: entry.path, namespaces: namespaces,
                                                                 lenient: recoveredFrom != nil).result,
                   let item = items.first {
                    within = .some(item.line)
                }
            } else if let path = source.path, isData {
                let root: Node?
                do {
                    root = try BoundedYAML.compose(text)
                } catch {
                    if let tooLarge = error as? BoundedYAML.TooLarge {
                        problem = ("\(tooLarge)", "check.limit")
                    } else {
                        problem = ("not valid \(name.hasSuffix(".json") ? "JSON" : "YAML"): " + DataPathEvaluator.describe(error), "check.parse-error")
                    }
                    return nil
                }
                if let dataPath = try? DataPath(path), let root, let (node, _) = dataPath.select(in: root).first, let scalar = node.scalar {
                    raw = (scalar.string, scalar.mark?.line)
                }
            } else if let key = source.key, !isXML, !isData {
                if let pair = KeyValueCheck.parse(text, format: .auto, comments: ["#", ";"]).last(where: { $0.key == key }) {
                    raw = (pair.value, pair.line)
                }
            } else if let option = source.uci, !isXML, !isData {
                switch UCIFile(text).lookup(option, file: entry.path) {
                case .value(let value, let line): raw = (value, line)
                case .sectionWithout(let line): if source.absent != nil { within = .some(line) }
                case .none: break
                }
            }
            guard let (rawValue, line) = raw else {
                if absent == nil, let value = source.absent, case .some(let line) = within { absent = (value, line) }
                continue
            }
            return Found(value: normalise(rawValue, source), line: line, adapter: adapter.adapter)
        }
        if let absent { return Found(value: absent.value, line: absent.line, adapter: adapter.adapter) }
        return nil
    }

    /// Whether `text` holds the container of one of `key`'s sources in `adapter`: the first named
    /// step of an XPath, the section of a key (`table.General.`), the first name of a data path,
    /// the package of a UCI option (the file's name).
    static func couldHold(_ key: String, file: String, text: String, adapter: ConfigAdapter) -> Bool {
        guard let sources = adapter.keys[key] else { return false }
        let base = file.split(separator: "/").last.map(String.init) ?? file
        for source in sources {
            if let uci = source.uci, let package = uci.split(separator: ".").first, package == base { return true }
            if let xpath = source.xpath {
                for alternative in xpath.split(separator: "|") {
                    if let name = firstName(alternative), ByteSearch.contains(text, name) { return true }
                }
            }
            if let key = source.key, let dot = key.lastIndex(of: "."), ByteSearch.contains(text, String(key[...dot])) { return true }
            if let path = source.path, let name = firstName(Substring(path)), ByteSearch.contains(text, name) { return true }
        }
        return false
    }

    /// The first element or field name of an expression (`//IllegalLoginLock/enabled` →
    /// `IllegalLoginLock`).
    static func firstName(_ expression: Substring) -> String? {
        guard let first = names(expression).first, startsWithLetter(first) else { return nil }
        return String(first)
    }

    /// `present`, then the renames, then the scale.
    static func normalise(_ raw: String, _ source: ConfigAdapter.Source) -> String {
        var value = source.present ?? String(raw.trimmingWhitespace())
        if let renames = source.values, let renamed = renames.first(where: { $0.key.lowercased() == value.lowercased() })?.value {
            value = renamed
        }
        if let scale = source.scale, let number = Double(value) {
            let scaled = number * scale
            value = scaled == scaled.rounded() ? String(Int(scaled)) : String(scaled)
        }
        return value
    }

    /// A file the target's adapters read (by position in the tree's index), with the adapters
    /// that understand it (by position in the target's adapter list, ascending): 16 bytes a
    /// file, where a copy of its entry and an array of adapters took 90 (a 200,000-file image
    /// has some 80,000 config files: 14 MB kept for the scan).
    struct FileAdapters: Sendable {
        var position: Int32
        /// Bit i: adapter i, for the first 32 (16 bytes a file in all).
        var mask: UInt32
        /// Adapters past the 32nd.
        var beyond: [Int]?

        var adapters: [Int] {
            var found: [Int] = []
            var bits = mask
            while bits != 0 {
                found.append(bits.trailingZeroBitCount)
                bits &= bits - 1
            }
            return found + (beyond ?? [])
        }

        /// Whether `body` holds for every adapter (without making the list).
        func allAdapters(_ body: (Int) -> Bool) -> Bool {
            var bits = mask
            while bits != 0 {
                if !body(bits.trailingZeroBitCount) { return false }
                bits &= bits - 1
            }
            return (beyond ?? []).allSatisfy(body)
        }

        mutating func add(_ adapter: Int) {
            if adapter < 32 { mask |= UInt32(1) << UInt32(adapter) } else { beyond = (beyond ?? []) + [adapter] }
        }
    }

    /// Every file the target's adapters read, in the order the adapters first select them: the
    /// same for every config.normalised rule of a target, so worked out once (a 200,000-file
    /// image has tens of thousands of `*.conf` files and a dozen such rules).
    static func filesByAdapter(_ context: CheckContext) -> [FileAdapters] {
        context.target.models.value("config.normalised:files") { () -> [FileAdapters] in
            let selections: [Positions?] = context.target.adapters.adapters.map { adapter in
                (try? PathPatterns.compile(adapter.files, key: "files")).map { context.files(matching: $0).indexPositions }
            }
            // Slot + 1 of each position in `order`, 0 for none. Counted first, so that the list
            // is made at its size (appending grew it to up to twice that, then it was copied).
            var slot = [Int32](repeating: 0, count: context.tree?.index.count ?? 0)
            var distinct = 0
            for selection in selections {
                for position in selection ?? Positions() where slot[position] == 0 {
                    slot[position] = -1
                    distinct += 1
                }
            }
            for i in slot.indices { slot[i] = 0 }
            var order: [FileAdapters] = []
            order.reserveCapacity(distinct)
            for (i, selection) in selections.enumerated() {
                for position in selection ?? Positions() {
                    if slot[position] != 0 {
                        order[Int(slot[position]) - 1].add(i)
                    } else {
                        order.append(FileAdapters(position: Int32(position), mask: 0, beyond: nil))
                        order[order.count - 1].add(i)
                        slot[position] = Int32(order.count)
                    }
                }
            }
            return order
        }
    }

    /// For each file of `filesByAdapter` (in step), the adapter names it holds, as bits over
    /// `adapterNames`' names: from the pass's analysis, or from the file's text when the pass
    /// did not analyse it. Worked out once per target: a dozen config.normalised rules each
    /// looked up tens of thousands of files' name sets by path, and hashed the names.
    struct NamesPresent: Sendable {
        let bits: [NameBits]
        let slot: [String: Int]

        /// The bits of `names` (names outside the set are never present: left out).
        func mask(_ names: Set<String>) -> NameBits {
            var mask = NameBits()
            for name in names {
                if let i = slot[name] { mask.insert(i) }
            }
            return mask
        }

        /// Whether file `index` holds any of the names of `mask`.
        func holdsAny(_ index: Int, of mask: NameBits) -> Bool { bits[index].intersects(mask) }
    }

    static func namesPresent(_ context: CheckContext, files: [FileAdapters]) -> NamesPresent {
        context.target.models.value("config.normalised:names-present") { () -> NamesPresent in
            let names = adapterNames(context)
            let slot = Dictionary(names.names.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
            let namesIn = context.analysis(namesAnalysisID)
            let entries = context.tree?.index.entries ?? []
            let bits = files.map { group -> NameBits in
                let file = entries[Int(group.position)]
                return namesIn(file) as? NameBits ?? context.readText(file).map { names.presentBits(in: $0) } ?? NameBits()
            }
            return NamesPresent(bits: bits, slot: slot)
        }
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        var observations: [Observation] = []
        let allAdapters = context.target.adapters.adapters
        // In an image, a file none of whose adapters' names for this rule's keys occur in is
        // skipped without being read again: which names a file holds is worked out once per
        // target (by the read-ahead pass, else from the text: `namesPresent`).
        let keys = [options.key] + (options.when.map { [$0.key] } ?? [])
        // The names each adapter's sources for these keys look for, for the adapters whose files
        // can be skipped (nil: those with a UCI source, which reads its package file whatever it
        // holds, or a source without names, which applies to every file).
        let wantedBy: [Set<String>?] = allAdapters.map { adapter in
            let sources = keys.flatMap { adapter.keys[$0] ?? [] }
            guard !sources.contains(where: { $0.uci != nil || NormalisedKeyCheck.hints($0).isEmpty }) else { return nil }
            return Set(sources.flatMap { NormalisedKeyCheck.hints($0) + ($0.within.map(NormalisedKeyCheck.xpathHints) ?? []) })
        }
        // Each file once, with every adapter that understands it in order: the first that finds
        // the key decides. A vendor's export is never also "not set" for the generic adapter.
        // The pass's answers for every file, read once (not a lock and a table search per file).
        let files = NormalisedKeyCheck.filesByAdapter(context)
        let entries = context.tree?.index.entries ?? []
        let present = context.kind == .firmware ? NormalisedKeyCheck.namesPresent(context, files: files) : nil
        let wantedMasks = wantedBy.map { wanted in wanted.flatMap { present?.mask($0) } }
        let excluded = firmwareExclude.isEmpty ? Positions() : context.tree?.index.positions(matching: firmwareExclude) ?? Positions()
        for (i, group) in files.enumerated() {
            if let present {
                if excluded.contains(Int(group.position)) { continue }
                // Skipped unread when none of its adapters' names for these keys are in it.
                if group.allAdapters({ wantedMasks[$0].map { !present.holdsAny(i, of: $0) } ?? false }) { continue }
            }
            let file = entries[Int(group.position)]
            let adapters = group.adapters.map { allAdapters[$0] }
            guard let text = context.readText(file) else { continue }
            guard ConfigContent.admits(file, text: text, context: context) else { continue }
            // A file that does not parse is reported as such, never as "not set" or a pass.
            var problem: (message: String, code: String)?
            var recovered: String?
            defer {
                if let recovered { context.recovered(recovered, path: file.path) }
                if let problem {
                    if problem.code == "check.parse-error" {
                        context.unparsable(problem.message, path: file.path)
                    } else {
                        context.report(problem.message, path: file.path, code: problem.code)
                    }
                }
            }
            func lookup(_ key: String) -> Found? {
                for adapter in adapters {
                    if let found = NormalisedKeyCheck.value(of: key, in: file, text: text, adapter: adapter,
                                                           recover: context.kind == .firmware, recovered: &recovered, problem: &problem) { return found }
                    if problem != nil { return nil }
                }
                return nil
            }
            if let condition = options.when {
                guard let value = lookup(condition.key) else { continue }
                context.understood(file.path)
                guard condition.expect.isSatisfied(by: value.value) else { continue }
            }
            guard let found = lookup(options.key) else {
                guard context.kind == .config, problem == nil else { continue }
                // "Not set" only where the key belongs: the file holds the resource or section
                // the key lives in (an ISAPI <IllegalLoginLock>, a Dahua table.General, the UCI
                // package luci). A firewall file is not asked for a session timeout.
                guard adapters.contains(where: { NormalisedKeyCheck.couldHold(options.key, file: file.path, text: text, adapter: $0) }) else { continue }
                let tried = adapters.map(\.adapter).joined(separator: ", ")
                switch options.missing ?? .review {
                case .pass: break
                case .fail, .review:
                    observations.append(Observation(
                        status: options.missing == .fail ? .fail : .review,
                        message: "\(options.key) is not set in \(file.path) (adapters tried: \(tried)); expected \(options.expect)",
                        location: Location(path: file.path),
                        evidence: Evidence(key: options.key + ":missing", facts: ["key": options.key, "adapter": tried])))
                }
                continue
            }
            context.understood(file.path)
            guard !options.expect.isSatisfied(by: found.value) else { continue }
            let values = ["key": options.key, "value": found.value, "expected": options.expect.description, "path": file.path]
            observations.append(Observation(
                message: Template.render(options.message ?? "{key} = {value}; expected {expected}", values),
                location: Location(path: file.path, line: found.line),
                evidence: Evidence(key: options.key + "=" + found.value,
                                   facts: ["key": options.key, "value": found.value, "adapter": found.adapter])))
        }
        return observations
    }
}

/// Substring search on UTF-8 bytes (memmem), far cheaper than Character-based `contains`.
enum ByteSearch {
    static func contains(_ haystack: String, _ needle: String) -> Bool {
        var haystack = haystack
        var needle = needle
        return haystack.withUTF8 { h in
            needle.withUTF8 { n in
                guard let hb = h.baseAddress, n.count > 0 else { return n.count == 0 }
                // memchr to each occurrence of the first byte, then compare the rest.
                var offset = 0
                while offset + n.count <= h.count,
                      let hit = memchr(hb + offset, Int32(n[0]), h.count - offset - n.count + 1) {
                    let at = hb.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                    if memcmp(hb + at, n.baseAddress!, n.count) == 0 { return true }
                    offset = at + 1
                }
                return false
            }
        }
    }

    /// The offset of the first `needle` in `bytes[range]`, or nil (memchr to each occurrence of
    /// the first byte, then memcmp: the generic `firstRange(of:)` is far slower on large files).
    static func firstIndex(of needle: [UInt8], in bytes: [UInt8], range: Range<Int>? = nil) -> Int? {
        let range = range ?? 0..<bytes.count
        guard !needle.isEmpty, range.lowerBound >= 0, range.upperBound <= bytes.count, range.count >= needle.count else { return nil }
        return bytes.withUnsafeBufferPointer { h in
            needle.withUnsafeBufferPointer { n in
                guard let hb = h.baseAddress, let nb = n.baseAddress else { return nil }
                var offset = range.lowerBound
                while offset + n.count <= range.upperBound,
                      let hit = memchr(hb + offset, Int32(n[0]), range.upperBound - offset - n.count + 1) {
                    let at = hb.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                    if memcmp(hb + at, nb, n.count) == 0 { return at }
                    offset = at + 1
                }
                return nil
            }
        }
    }
}
