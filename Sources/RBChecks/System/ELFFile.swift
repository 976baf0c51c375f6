/// The parts of an ELF file that tell how it was hardened, read from its own headers (no
/// external tool): class and byte order (32/64-bit, little/big endian: ARM, MIPS, x86, PowerPC
/// …), type, program headers, the dynamic section and the dynamic symbol table's undefined
/// symbols (imports). Works on stripped files: the dynamic symbols are found through section
/// headers when present, else through DT_SYMTAB/DT_STRTAB and DT_HASH/DT_GNU_HASH mapped by the
/// PT_LOAD segments. Every offset is bounds-checked; a malformed file gives nil or partial facts,
/// never a crash.
struct ELFFile {
    enum Kind { case executable, shared, relocatable, core, other }

    var is64: Bool
    var bigEndian: Bool
    var type: UInt16
    var machine: UInt16
    var hasInterpreter = false
    var interpreter: String?
    var hasDynamic = false
    /// PT_GNU_STACK present, and its flags (PF_X = 1).
    var stackFlags: UInt32?
    var hasRelro = false
    var bindNow = false
    var pieFlag = false
    var needed: [String] = []
    /// Undefined dynamic symbols (what the file imports).
    var imports: Set<String> = []
    /// Defined and undefined names from .symtab (static binaries that were not stripped).
    var staticSymbols: Set<String> = []
    var hasSymtab = false

    static let ptLoad: UInt32 = 1, ptDynamic: UInt32 = 2, ptInterp: UInt32 = 3
    static let ptGNUStack: UInt32 = 0x6474e551, ptGNURelro: UInt32 = 0x6474e552
    static let dtNeeded: UInt64 = 1, dtHash: UInt64 = 4, dtStrtab: UInt64 = 5, dtSymtab: UInt64 = 6, dtStrsz: UInt64 = 10
    static let dtSyment: UInt64 = 11, dtBindNow: UInt64 = 24, dtFlags: UInt64 = 30, dtGNUHash: UInt64 = 0x6ffffef5, dtFlags1: UInt64 = 0x6ffffffb
    static let machineMIPS: UInt16 = 8

    var isDynamic: Bool { hasInterpreter || hasDynamic }
    var isStatic: Bool { !hasDynamic }

    /// Whether `bytes` start with the ELF magic.
    static func isELF(_ bytes: [UInt8]) -> Bool { bytes.count >= 52 && bytes[0] == 0x7f && bytes[1] == 0x45 && bytes[2] == 0x4c && bytes[3] == 0x46 }

    init?(_ bytes: [UInt8]) {
        guard Self.isELF(bytes), bytes[4] == 1 || bytes[4] == 2, bytes[5] == 1 || bytes[5] == 2 else { return nil }
        is64 = bytes[4] == 2
        bigEndian = bytes[5] == 2
        let reader = Reader(bytes: bytes, bigEndian: bigEndian)
        guard let type = reader.u16(16), let machine = reader.u16(18) else { return nil }
        self.type = type
        self.machine = machine
        let phoff = is64 ? reader.u64(32) : reader.u32(28).map(UInt64.init)
        let shoff = is64 ? reader.u64(40) : reader.u32(32).map(UInt64.init)
        let headerBase = is64 ? 54 : 42
        guard let phoff, let shoff, let phentsize = reader.u16(headerBase), let phnum = reader.u16(headerBase + 2),
              let shentsize = reader.u16(headerBase + 4), let shnum = reader.u16(headerBase + 6),
              let shstrndx = reader.u16(headerBase + 8) else { return nil }
        _ = shstrndx

        // Program headers.
        struct Segment { var type: UInt32; var flags: UInt32; var offset: UInt64; var vaddr: UInt64; var filesz: UInt64 }
        var segments: [Segment] = []
        for i in 0..<Int(min(phnum, 512)) {
            let at = Int(clamping: phoff) &+ i * Int(phentsize)
            guard let type = reader.u32(at) else { break }
            let segment: Segment?
            if is64 {
                segment = reader.u32(at + 4).flatMap { flags in reader.u64(at + 8).flatMap { offset in reader.u64(at + 16).flatMap { vaddr in
                    reader.u64(at + 32).map { Segment(type: type, flags: flags, offset: offset, vaddr: vaddr, filesz: $0) } } } }
            } else {
                segment = reader.u32(at + 4).flatMap { offset in reader.u32(at + 8).flatMap { vaddr in reader.u32(at + 16).flatMap { filesz in
                    reader.u32(at + 24).map { Segment(type: type, flags: $0, offset: UInt64(offset), vaddr: UInt64(vaddr), filesz: UInt64(filesz)) } } } }
            }
            guard let segment else { break }
            segments.append(segment)
        }
        for segment in segments {
            switch segment.type {
            case Self.ptInterp:
                hasInterpreter = true
                interpreter = reader.cString(Int(clamping: segment.offset), limit: Int(min(segment.filesz, 256)))
            case Self.ptDynamic: hasDynamic = true
            case Self.ptGNUStack: stackFlags = segment.flags
            case Self.ptGNURelro: hasRelro = true
            default: break
            }
        }
        /// A virtual address → its file offset through the PT_LOAD segments.
        func fileOffset(_ address: UInt64) -> Int? {
            for segment in segments where segment.type == Self.ptLoad && address >= segment.vaddr && address - segment.vaddr < segment.filesz {
                return Int(clamping: segment.offset + (address - segment.vaddr))
            }
            return nil
        }

        // Section headers: .dynsym / .symtab with their string tables.
        struct Section { var type: UInt32; var offset: UInt64; var size: UInt64; var link: UInt32; var entsize: UInt64 }
        var sections: [Section] = []
        if shoff > 0 {
            for i in 0..<Int(min(shnum, 4096)) {
                let at = Int(clamping: shoff) &+ i * Int(shentsize)
                guard let type = reader.u32(at + 4) else { break }
                let section: Section?
                if is64 {
                    section = reader.u64(at + 24).flatMap { offset in reader.u64(at + 32).flatMap { size in reader.u32(at + 40).flatMap { link in
                        reader.u64(at + 56).map { Section(type: type, offset: offset, size: size, link: link, entsize: $0) } } } }
                } else {
                    section = reader.u32(at + 16).flatMap { offset in reader.u32(at + 20).flatMap { size in reader.u32(at + 24).flatMap { link in
                        reader.u32(at + 36).map { Section(type: type, offset: UInt64(offset), size: UInt64(size), link: link, entsize: UInt64($0)) } } } }
                }
                guard let section else { break }
                sections.append(section)
            }
        }

        // Dynamic section entries.
        var dynamic: [(tag: UInt64, value: UInt64)] = []
        if let segment = segments.first(where: { $0.type == Self.ptDynamic }) {
            let size = is64 ? 16 : 8
            var at = Int(clamping: segment.offset)
            let end = at &+ Int(clamping: min(segment.filesz, 1 << 20))
            while at + size <= end {
                guard let tag = is64 ? reader.u64(at) : reader.u32(at).map(UInt64.init),
                      let value = is64 ? reader.u64(at + 8) : reader.u32(at + 4).map(UInt64.init) else { break }
                if tag == 0 { break }
                dynamic.append((tag, value))
                at += size
            }
        }
        for (tag, value) in dynamic {
            if tag == Self.dtBindNow { bindNow = true }
            if tag == Self.dtFlags, value & 0x8 != 0 { bindNow = true }
            if tag == Self.dtFlags1 {
                if value & 0x1 != 0 { bindNow = true }
                if value & 0x0800_0000 != 0 { pieFlag = true }
            }
        }

        // Dynamic symbols: from the section headers, else from the dynamic section.
        let symbolSize = is64 ? 24 : 16
        func symbols(table: Int, count: Int, strings: Int, stringsSize: Int) -> (imports: Set<String>, all: Set<String>) {
            var imports = Set<String>(), all = Set<String>()
            for i in 0..<min(count, 1 << 20) {
                let at = table &+ i * symbolSize
                guard let nameOffset = reader.u32(at) else { break }
                let shndx = is64 ? reader.u16(at + 6) : reader.u16(at + 14)
                guard nameOffset > 0, Int(nameOffset) < stringsSize,
                      let name = reader.cString(strings &+ Int(nameOffset), limit: min(512, stringsSize - Int(nameOffset))), !name.isEmpty else { continue }
                all.insert(name)
                if shndx == 0 { imports.insert(name) }
            }
            return (imports, all)
        }
        if let dynsym = sections.first(where: { $0.type == 11 }), Int(dynsym.link) < sections.count {
            let strings = sections[Int(dynsym.link)]
            imports = symbols(table: Int(clamping: dynsym.offset), count: Int(clamping: dynsym.size / UInt64(symbolSize)),
                              strings: Int(clamping: strings.offset), stringsSize: Int(clamping: strings.size)).imports
        } else if let symtabAddress = dynamic.first(where: { $0.tag == Self.dtSymtab })?.value,
                  let strtabAddress = dynamic.first(where: { $0.tag == Self.dtStrtab })?.value,
                  let table = fileOffset(symtabAddress), let strings = fileOffset(strtabAddress) {
            let stringsSize = Int(clamping: dynamic.first(where: { $0.tag == Self.dtStrsz })?.value ?? 0)
            var count = 0
            if let hash = dynamic.first(where: { $0.tag == Self.dtHash })?.value, let at = fileOffset(hash), let nchain = reader.u32(at + 4) {
                count = Int(nchain)
            } else if strtabAddress > symtabAddress {
                // No hash table to count with: the symbol table usually ends where the strings start.
                count = Int(clamping: (strtabAddress - symtabAddress) / UInt64(symbolSize))
            }
            imports = symbols(table: table, count: count, strings: strings, stringsSize: stringsSize).imports
        }
        if let symtab = sections.first(where: { $0.type == 2 }), Int(symtab.link) < sections.count {
            hasSymtab = true
            let strings = sections[Int(symtab.link)]
            staticSymbols = symbols(table: Int(clamping: symtab.offset), count: Int(clamping: symtab.size / UInt64(symbolSize)),
                                    strings: Int(clamping: strings.offset), stringsSize: Int(clamping: strings.size)).all
        }
        if let strtabAddress = dynamic.first(where: { $0.tag == Self.dtStrtab })?.value, let strings = fileOffset(strtabAddress) {
            let stringsSize = Int(clamping: dynamic.first(where: { $0.tag == Self.dtStrsz })?.value ?? 0)
            for (tag, value) in dynamic where tag == Self.dtNeeded && Int(clamping: value) < stringsSize {
                if let name = reader.cString(strings &+ Int(clamping: value), limit: 256) { needed.append(name) }
            }
        }
    }

    var kind: Kind {
        switch type {
        case 1: .relocatable
        case 2: .executable
        case 3: .shared
        case 4: .core
        default: .other
        }
    }

    /// Bounds-checked integer reads in the file's byte order.
    struct Reader {
        let bytes: [UInt8]
        let bigEndian: Bool

        func u16(_ at: Int) -> UInt16? {
            guard at >= 0, at + 2 <= bytes.count else { return nil }
            let a = UInt16(bytes[at]), b = UInt16(bytes[at + 1])
            return bigEndian ? a << 8 | b : b << 8 | a
        }
        func u32(_ at: Int) -> UInt32? {
            guard at >= 0, at + 4 <= bytes.count else { return nil }
            var value: UInt32 = 0
            for i in 0..<4 { value |= UInt32(bytes[at + i]) << (bigEndian ? UInt32(24 - 8 * i) : UInt32(8 * i)) }
            return value
        }
        func u64(_ at: Int) -> UInt64? {
            guard at >= 0, at + 8 <= bytes.count else { return nil }
            var value: UInt64 = 0
            for i in 0..<8 { value |= UInt64(bytes[at + i]) << (bigEndian ? UInt64(56 - 8 * i) : UInt64(8 * i)) }
            return value
        }
        func cString(_ at: Int, limit: Int) -> String? {
            guard at >= 0, at < bytes.count, limit > 0 else { return nil }
            let end = min(bytes.count, at + limit)
            let slice = bytes[at..<end]
            let stop = slice.firstIndex(of: 0) ?? end
            return String(decoding: bytes[at..<stop], as: UTF8.self)
        }
    }
}
