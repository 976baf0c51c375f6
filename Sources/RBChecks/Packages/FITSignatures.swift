import CZlib
import RBCore
import RBCrypto

/// FIT images and U-Boot's verified boot, as U-Boot checks them: the signature nodes of a FIT
/// (`/images/X/signature*` over the image's data, `/configurations/X/signature*` over the
/// regions of its `hashed-nodes` and `hashed-strings`), verified with public keys given as PEM
/// or read from a U-Boot control device tree (`/signature/key-*`: `rsa,modulus`/`rsa,exponent`
/// or `ecdsa,x-point`/`ecdsa,y-point`/`ecdsa,curve`).
struct FITImage {
    let tree: DeviceTree
    let read: (UInt64, Int) -> [UInt8]?

    /// A FIT at the start of the bytes `read` returns, or nil when they are no FIT.
    init?(size: UInt64, read: @escaping (UInt64, Int) -> [UInt8]?) {
        guard let head = read(0, 40), DeviceTree.isBlob(head),
              let tree = try? DeviceTree(size: size, read: read), tree.root.child("images") != nil else { return nil }
        self.tree = tree
        self.read = read
    }

    /// A FIT held in memory.
    init?(bytes: [UInt8]) {
        self.init(size: UInt64(bytes.count), read: DeviceTree.reader(bytes))
    }

    /// A FIT in a host file (the scanned image), read in pieces.
    init?(hostFile path: String) {
        guard let size = HostFiles.size(of: path) else { return nil }
        self.init(size: size) { offset, count in HostFiles.read(path, at: offset, count: count) }
    }

    struct SignatureNode {
        enum Scope: String { case image, configuration }
        var path: String
        var scope: Scope
        var algo: String
        var keyName: String?
        var padding: String?
        var value: [UInt8]
        /// The bytes the signature covers; nil when they cannot be told (missing data or hashed-nodes).
        var signed: () -> [UInt8]?
        /// For a configuration: the images its hashed nodes cover.
        var covers: [String]
    }

    /// Every signature node of the FIT that holds a signature (mkimage without keys leaves the
    /// nodes of the source without a `value`: that FIT is unsigned).
    var signatures: [SignatureNode] {
        var nodes: [SignatureNode] = []
        for image in tree.root.child("images")?.children ?? [] {
            for node in image.children where node.name.hasPrefix("signature") && node.properties["value"] != nil {
                nodes.append(SignatureNode(path: node.path, scope: .image, algo: node.properties["algo"]?.string ?? "",
                                           keyName: node.properties["key-name-hint"]?.string, padding: node.properties["padding"]?.string,
                                           value: node.properties["value"]?.value ?? [], signed: { self.data(of: image) }, covers: [image.name]))
            }
        }
        for configuration in tree.root.child("configurations")?.children ?? [] {
            for node in configuration.children where node.name.hasPrefix("signature") && node.properties["value"] != nil {
                let hashed = node.properties["hashed-nodes"]?.strings ?? []
                let strings = node.properties["hashed-strings"]?.value
                nodes.append(SignatureNode(path: node.path, scope: .configuration, algo: node.properties["algo"]?.string ?? "",
                                           keyName: node.properties["key-name-hint"]?.string, padding: node.properties["padding"]?.string,
                                           value: node.properties["value"]?.value ?? [],
                                           signed: { self.configurationRegions(hashed: hashed, strings: strings) },
                                           covers: hashed.filter { $0.hasPrefix("/images/") && $0.split(separator: "/").count == 2 }
                                               .map { String($0.split(separator: "/")[1]) }))
            }
        }
        return nodes
    }

    /// Image hash nodes (`/images/X/hash*`) whose value differs from the digest of the data: the
    /// data was changed after the FIT was made (a configuration signature covers the hash, not
    /// the data, so this is how U-Boot notices). Unknown algorithms are skipped.
    var hashMismatches: [(path: String, algo: String)] {
        var mismatches: [(String, String)] = []
        for image in tree.root.child("images")?.children ?? [] {
            let hashes = image.children.filter { $0.name.hasPrefix("hash") }
            guard !hashes.isEmpty, let data = data(of: image) else { continue }
            for node in hashes {
                guard let algo = node.properties["algo"]?.string, let expected = node.properties["value"]?.value,
                      let actual = Self.hash(data, algo: algo) else { continue }
                if actual != expected { mismatches.append((node.path, algo)) }
            }
        }
        return mismatches
    }

    static func hash(_ data: [UInt8], algo: String) -> [UInt8]? {
        if algo == "crc32" {
            let crc = data.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
            return [UInt8(crc >> 24), UInt8(crc >> 16 & 0xff), UInt8(crc >> 8 & 0xff), UInt8(crc & 0xff)]
        }
        guard let algorithm = algo == "md5" ? .md5 : digest(algo) else { return nil }
        return Digest.hash(data, algorithm)
    }

    /// An image node's payload: embedded `data`, or external `data-position` / `data-offset`.
    func data(of image: DeviceTree.Node) -> [UInt8]? {
        let external = (tree.totalSize + 3) & ~3
        let range: (UInt64, Int)
        if let data = image.properties["data"] {
            range = (data.offset, Int(data.length))
        } else if let size = image.properties["data-size"]?.u32, let position = image.properties["data-position"]?.u32 {
            range = (UInt64(position), Int(size))
        } else if let size = image.properties["data-size"]?.u32, let offset = image.properties["data-offset"]?.u32 {
            range = (external + UInt64(offset), Int(size))
        } else {
            return nil
        }
        guard range.1 <= 256 << 20, let bytes = read(range.0, range.1), bytes.count == range.1 else { return nil }
        return bytes
    }

    /// The bytes a configuration signature covers: the structure regions of its hashed nodes
    /// (without `data`) and the first `hashed-strings[1]` bytes of the string table.
    func configurationRegions(hashed: [String], strings: [UInt8]?) -> [UInt8]? {
        guard !hashed.isEmpty else { return nil }
        var message: [UInt8] = []
        for region in tree.regions(including: Set(hashed), excluding: ["data"]) {
            guard let bytes = read(region.offset, Int(region.size)), bytes.count == Int(region.size) else { return nil }
            message += bytes
        }
        if let strings, strings.count >= 8 {
            let size = Int(strings[4]) << 24 | Int(strings[5]) << 16 | Int(strings[6]) << 8 | Int(strings[7])
            guard size <= tree.stringsSize, let bytes = read(tree.stringsOffset, size), bytes.count == size else { return nil }
            message += bytes
        }
        return message
    }

    enum Verdict: Equatable {
        case verified(key: Int)
        case invalid
        case unsupported(String)
    }

    /// Verifies one signature node with `keys`.
    static func verify(_ node: SignatureNode, keys: [Key]) -> Verdict {
        let parts = node.algo.lowercased().split(separator: ",")
        guard parts.count == 2, let algorithm = digest(String(parts[0])) else { return .unsupported("algorithm '\(node.algo)'") }
        guard !node.value.isEmpty else { return .unsupported("no signature value") }
        guard let message = node.signed() else { return .unsupported("the signed data cannot be read") }
        for (i, key) in keys.enumerated() {
            var signature = node.value
            let padding: Key.Padding?
            switch key.kind {
            case .rsa where parts[1].hasPrefix("rsa"):
                padding = node.padding == "pss" ? .pss : .pkcs1
            case .ec where parts[1].hasPrefix("ecdsa"):
                guard let der = ECDSA.derSignature(raw: signature) else { continue }
                signature = der
                padding = nil
            default:
                continue
            }
            if key.verifies(signature, message: message, digest: algorithm, padding: padding) { return .verified(key: i) }
        }
        return .invalid
    }

    static func digest(_ name: String) -> Digest.Algorithm? {
        switch name {
        case "sha1": .sha1
        case "sha256": .sha256
        case "sha384": .sha384
        case "sha512": .sha512
        default: nil
        }
    }
}

/// A public key U-Boot's control device tree holds under `/signature`.
struct UBootKey {
    var name: String
    var algo: String
    /// `conf`, `image`, or nil (the key is known but not required: unsigned images still boot).
    var required: String?
    var key: Key

    /// The keys of a control device tree (an FDT anywhere in `bytes`: `u-boot.dtb`, or appended
    /// to `u-boot.bin`).
    static func keys(in bytes: [UInt8]) -> [UBootKey] {
        var found: [UBootKey] = []
        var from = 0
        while let at = ByteSearch.firstIndex(of: DeviceTree.magic, in: bytes, range: from..<bytes.count) {
            from = at + 4
            let slice = Array(bytes[at...])
            guard let tree = try? DeviceTree(size: UInt64(slice.count), read: DeviceTree.reader(slice)),
                  let signature = tree.root.child("signature") else { continue }
            for node in signature.children where node.name.hasPrefix("key") {
                guard let key = publicKey(node) else { continue }
                found.append(UBootKey(name: node.properties["key-name-hint"]?.string ?? String(node.name.dropFirst(4)),
                                      algo: node.properties["algo"]?.string ?? "", required: node.properties["required"]?.string, key: key))
            }
            if !found.isEmpty { break }
        }
        return found
    }

    static func publicKey(_ node: DeviceTree.Node) -> Key? {
        if let modulus = node.properties["rsa,modulus"]?.value {
            return Key(rsaModulus: modulus, exponent: node.properties["rsa,exponent"]?.value ?? [0, 1, 0, 1])
        }
        if let x = node.properties["ecdsa,x-point"]?.value, let y = node.properties["ecdsa,y-point"]?.value, x.count == y.count {
            return Key(ecCurve: node.properties["ecdsa,curve"]?.string ?? "prime256v1", point: [0x04] + x + y)
        }
        return nil
    }
}
