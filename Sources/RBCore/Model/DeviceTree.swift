/// A flattened device tree (FDT, magic `d00dfeed`) read as a stream of tokens through a reader,
/// keeping only small property values in memory: FIT images embed whole kernels and filesystems
/// in `data` properties, which are recorded as byte ranges instead of being loaded (libfdt needs
/// the whole blob in memory, which an image reader must not do). The image readers use it to
/// open FIT containers; the package checks to verify FIT signatures and read U-Boot's keys.
public struct DeviceTree: Sendable {
    public static let magic: [UInt8] = [0xd0, 0x0d, 0xfe, 0xed]

    /// What is wrong with a blob, and where (an offset from its start).
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var offset: UInt64
        public var description: String { "\(message) (at offset \(offset))" }
    }

    public struct Property: Sendable {
        public var name: String
        /// Offset of the value from the start of the blob, and its length.
        public var offset: UInt64
        public var length: UInt32
        /// The value when it is small (≤ 4 KiB).
        public var value: [UInt8]?

        public var string: String? { value.map { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) } }
        /// A string-list value (`"a", "b"`).
        public var strings: [String] { value.map { $0.split(separator: 0).map { String(decoding: $0, as: UTF8.self) } } ?? [] }
        public var u32: UInt32? { value.flatMap { $0.count == 4 ? DeviceTree.be32($0, 0) : nil } }
    }

    public final class Node: Sendable {
        public let name: String
        /// The node's path (`/images/kernel-1`).
        public let path: String
        public nonisolated(unsafe) var properties: [String: Property] = [:]
        public nonisolated(unsafe) var children: [Node] = []
        init(name: String, path: String) { self.name = name; self.path = path }
        public func child(_ name: String) -> Node? { children.first { $0.name == name } }
        /// The node at `path` below this one (`images/kernel-1`).
        public func descendant(_ path: String) -> Node? {
            path.split(separator: "/").reduce(Optional(self)) { node, name in node?.child(String(name)) }
        }
    }

    /// One token of the structure block, for region lists: its kind, offset and next offset
    /// (both from the start of the structure block) and the node or property name.
    public struct Token: Sendable {
        public enum Kind: Sendable { case beginNode, endNode, property, nop, end }
        public var kind: Kind
        public var offset: UInt64
        public var next: UInt64
        public var name: String
    }

    public let totalSize: UInt64
    public let structOffset: UInt64, structSize: UInt64
    public let stringsOffset: UInt64, stringsSize: UInt64
    public let root: Node
    public let tokens: [Token]

    static func be32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
    }

    /// A reader over bytes in memory, for `init(size:read:)`.
    public static func reader(_ bytes: [UInt8]) -> (UInt64, Int) -> [UInt8]? {
        { offset, count in
            guard offset < UInt64(bytes.count) else { return [] }
            let start = Int(offset)
            return Array(bytes[start..<min(bytes.count, start + count)])
        }
    }

    /// Whether `head` starts with an FDT header.
    public static func isBlob(_ head: [UInt8]) -> Bool { head.count >= 40 && Array(head.prefix(4)) == magic }

    /// Reads the blob whose bytes `read(offset, count)` returns (fewer at its end; nil when
    /// unreadable); `size` bounds every offset.
    public init(size: UInt64, read: (UInt64, Int) -> [UInt8]?) throws(Failure) {
        guard let header = read(0, 40), header.count == 40, Array(header.prefix(4)) == Self.magic else {
            throw Failure(message: "not a device tree", offset: 0)
        }
        totalSize = UInt64(Self.be32(header, 4))
        structOffset = UInt64(Self.be32(header, 8)); stringsOffset = UInt64(Self.be32(header, 12))
        structSize = UInt64(Self.be32(header, 36)); stringsSize = UInt64(Self.be32(header, 32))
        guard Self.be32(header, 20) >= 16, totalSize <= size, structOffset + structSize <= totalSize,
              stringsOffset + stringsSize <= totalSize, stringsSize <= 1 << 20 else {
            throw Failure(message: "device tree header out of bounds", offset: 0)
        }
        guard let strings = read(stringsOffset, Int(stringsSize)), strings.count == Int(stringsSize) else {
            throw Failure(message: "truncated device tree strings", offset: stringsOffset)
        }
        func string(at offset: Int) -> String {
            guard offset < strings.count else { return "?" }
            return String(decoding: strings[offset...].prefix { $0 != 0 }, as: UTF8.self)
        }
        func bytes(_ offset: UInt64, _ count: Int) throws(Failure) -> [UInt8] {
            guard let value = read(offset, count), value.count == count else { throw Failure(message: "truncated device tree", offset: offset) }
            return value
        }
        var stack: [Node] = []
        var top: Node?
        var tokens: [Token] = []
        var cursor = structOffset
        let end = structOffset + structSize
        while cursor + 4 <= end {
            guard tokens.count < 1_000_000 else { throw Failure(message: "device tree too large", offset: cursor) }
            let start = cursor
            let token = Self.be32(try bytes(cursor, 4), 0)
            cursor += 4
            switch token {
            case 1:
                let nameBytes = read(cursor, Int(min(256, end - cursor))) ?? []
                let name = nameBytes.prefix { $0 != 0 }
                guard name.count < nameBytes.count else { throw Failure(message: "device tree node name too long", offset: cursor) }
                cursor += UInt64((name.count + 1 + 3) & ~3)
                let text = String(decoding: name, as: UTF8.self)
                let path = stack.isEmpty ? "/" : (stack.last!.path == "/" ? "" : stack.last!.path) + "/" + text
                let node = Node(name: text, path: path)
                stack.last?.children.append(node)
                if top == nil { top = node }
                stack.append(node)
                guard stack.count < 64 else { throw Failure(message: "device tree nested too deep", offset: cursor) }
                tokens.append(Token(kind: .beginNode, offset: start - structOffset, next: cursor - structOffset, name: text))
            case 2:
                guard !stack.isEmpty else { throw Failure(message: "unbalanced device tree", offset: cursor) }
                stack.removeLast()
                tokens.append(Token(kind: .endNode, offset: start - structOffset, next: cursor - structOffset, name: ""))
            case 3:
                let head = try bytes(cursor, 8)
                let length = Self.be32(head, 0), nameOffset = Int(Self.be32(head, 4))
                cursor += 8
                guard cursor + UInt64(length) <= size else { throw Failure(message: "device tree property out of bounds", offset: cursor) }
                let value = length <= 4096 ? try bytes(cursor, Int(length)) : nil
                let name = string(at: nameOffset)
                stack.last?.properties[name] = Property(name: name, offset: cursor, length: length, value: value)
                cursor += (UInt64(length) + 3) & ~3
                tokens.append(Token(kind: .property, offset: start - structOffset, next: cursor - structOffset, name: name))
            case 4:
                tokens.append(Token(kind: .nop, offset: start - structOffset, next: cursor - structOffset, name: ""))
            case 9:
                tokens.append(Token(kind: .end, offset: start - structOffset, next: cursor - structOffset, name: ""))
                cursor = end
            default:
                throw Failure(message: "bad device tree token \(token)", offset: cursor - 4)
            }
        }
        guard let top else { throw Failure(message: "empty device tree", offset: structOffset) }
        root = top
        self.tokens = tokens
    }

    /// The blob regions (offset from the blob's start, size) that libfdt's `fdt_find_regions`
    /// selects for the nodes at `paths`, leaving out properties named in `excluded`, as U-Boot
    /// hashes them for a FIT configuration signature: an included node's tags and properties,
    /// the begin and end tags of the nodes on the way to it, and the end tag. The string table
    /// is not included (the caller adds `hashed-strings`).
    public func regions(including paths: Set<String>, excluding excluded: Set<String>) -> [(offset: UInt64, size: UInt64)] {
        var regions: [(offset: UInt64, size: UInt64)] = []
        var stack: [Int] = []
        var path: [String] = []
        var want = 0
        var start: UInt64?
        for token in tokens {
            var include = false
            var stopAt = token.next
            switch token.kind {
            case .property:
                include = want >= 2 && !excluded.contains(token.name)
                stopAt = token.offset
            case .nop:
                include = want >= 2
                stopAt = token.offset
            case .beginNode:
                path.append(token.name)
                let current = path.count == 1 ? "/" : "/" + path.dropFirst().joined(separator: "/")
                stack.append(want)
                if want == 1 { stopAt = token.offset }
                if paths.contains(current) {
                    want = 2
                } else if want > 0 {
                    want -= 1
                } else {
                    stopAt = token.offset
                }
                include = want > 0
            case .endNode:
                include = want > 0
                want = stack.popLast() ?? 0
                path.removeLast()
            case .end:
                include = true
            }
            if include, start == nil {
                if let last = regions.last, token.offset == last.offset + last.size - structOffset {
                    start = last.offset - structOffset
                    regions.removeLast()
                } else {
                    start = token.offset
                }
            }
            if !include, let begin = start {
                regions.append((structOffset + begin, stopAt - begin))
                start = nil
            }
        }
        if let begin = start, let last = tokens.last {
            regions.append((structOffset + begin, last.next - begin))
        }
        return regions
    }
}
