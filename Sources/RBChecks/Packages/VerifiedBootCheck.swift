import RBCore

/// `boot.verified`: verified-boot artefacts (RB-PKG-005). FIT images (the scanned image when it
/// is one, and FITs in the tree) must carry signature nodes; the U-Boot control device tree
/// (`*.dtb`, or appended to a `u-boot*` binary) must hold `/signature/key-*` marked `required`
/// (`conf` or `image`), and the FIT's signatures of that scope must verify with those keys, its
/// image hashes with its data.
///
/// - FIT without signature nodes → fail; signed with SHA-1 → fail low;
/// - keys present but none required (U-Boot boots images that fail verification) → fail;
/// - a signature U-Boot would check does not verify with its required key, or an image hash
///   does not match → fail high;
/// - a signed FIT but no control tree in the image → review (the keys may live in another
///   partition); no FIT at all → review (SoC ROM secure boot and fuses cannot be checked
///   statically).
public struct VerifiedBootCheck: Check {
    public struct Options: Decodable, Sendable {
        var fits: [String]?
        var controlTrees: [String]?
    }

    public static let id = "boot.verified"
    public static let summary = "Checks FIT signature nodes and U-Boot's required verification keys (verified boot)."
    public static let targetKinds: Set<TargetKind> = [.firmware]

    let fits: [Glob]
    let controlTrees: [Glob]
    /// Where U-Boot's control device tree may be: a `.dtb`, or appended to a U-Boot binary.
    static let controlTreePaths = ["**/*.dtb", "**/u-boot*", "boot/**"]

    /// U-Boot's verification keys in the tree, with the file each came from.
    static func ubootKeys(in context: CheckContext, paths: [Glob]) -> [(key: UBootKey, path: String)] {
        var keys: [(key: UBootKey, path: String)] = []
        for file in context.files(matching: paths) where file.size >= 40 && file.size <= 16 << 20 {
            guard let content = context.read(file), ByteSearch.firstIndex(of: DeviceTree.magic, in: content.bytes) != nil else { continue }
            keys += UBootKey.keys(in: content.bytes).map { ($0, file.path) }
        }
        return keys
    }

    public init(options: Options) throws(CheckOptionError) {
        fits = try PathPatterns.compile(options.fits ?? ["**/*.{itb,fit,ub,img,bin}", "boot/**", "**/{fitImage,uImage,kernel}*"], key: "fits")
        controlTrees = try PathPatterns.compile(options.controlTrees ?? Self.controlTreePaths, key: "controlTrees")
    }

    public func run(in context: CheckContext) async throws -> [Observation] {
        var images: [(name: String, location: String, fit: FITImage)] = []
        if let file = context.target.imageFile, let fit = FITImage(hostFile: file) {
            images.append((file, ".", fit))
        }
        var keys: [(key: UBootKey, path: String)] = []
        if let tree = context.tree {
            for file in context.files(matching: fits) where file.size >= 40 {
                guard let head = try? tree.read(file, limit: 40).bytes, DeviceTree.isBlob(head),
                      let content = context.read(file), let fit = FITImage(bytes: content.bytes) else { continue }
                images.append((file.path, file.path, fit))
            }
            keys = Self.ubootKeys(in: context, paths: controlTrees)
        }
        guard !images.isEmpty else {
            return [Observation(status: .review, severity: .low,
                message: "no FIT image in the firmware" + (keys.isEmpty ? "" : " (U-Boot holds \(keys.count) verification key(s) in \(keys[0].path))")
                    + ": verified boot cannot be checked statically (SoC ROM secure boot and fuse state are out of scope)",
                location: Location(path: "."), evidence: Evidence(key: "no-fit"))]
        }
        var observations: [Observation] = []
        let required = keys.filter { $0.key.required != nil }
        for image in images {
            let signatures = image.fit.signatures
            func fail(_ severity: Severity?, _ key: String, _ message: String, facts: [String: String] = [:]) {
                observations.append(Observation(severity: severity, message: "\(image.name): " + message,
                                                location: Location(path: image.location), evidence: Evidence(key: key, facts: facts)))
            }
            guard !signatures.isEmpty else {
                fail(nil, "unsigned-fit", "FIT image without signature nodes: U-Boot boots whatever kernel and root filesystem it holds")
                continue
            }
            for node in signatures where node.algo.lowercased().hasPrefix("sha1,") {
                fail(.low, "sha1-fit-signature:" + node.path, "FIT signature \(node.path) uses SHA-1 (\(node.algo)), which no longer resists collisions")
            }
            for mismatch in image.fit.hashMismatches {
                fail(.high, "fit-hash-mismatch:" + mismatch.path, "the data under \(mismatch.path) differs from its \(mismatch.algo) hash: changed after the FIT was made")
            }
            guard !keys.isEmpty else {
                observations.append(Observation(status: .review,
                    message: "\(image.name): FIT signed (\(Set(signatures.map(\.algo)).sorted().joined(separator: ", "))), but no U-Boot control device tree with /signature keys is in the image: whether U-Boot enforces the signature cannot be told",
                    location: Location(path: image.location), evidence: Evidence(key: "no-uboot-keys")))
                continue
            }
            guard !required.isEmpty else {
                fail(nil, "keys-not-required", "U-Boot's verification keys (\(keys.map(\.key.name).joined(separator: ", ")) in \(keys[0].path)) are not marked required: images that fail verification still boot",
                     facts: ["keys": keys.map(\.key.name).joined(separator: ", ")])
                continue
            }
            // What U-Boot checks: configuration signatures for `required = "conf"` keys, image
            // signatures for `"image"` ones.
            for scope in Set(required.map { $0.key.required == "image" ? FITImage.SignatureNode.Scope.image : .configuration }).sorted(by: { $0.rawValue < $1.rawValue }) {
                let scoped = signatures.filter { $0.scope == scope }
                let scopeKeys = required.filter { ($0.key.required == "image") == (scope == .image) }
                guard !scoped.isEmpty else {
                    fail(.high, "no-\(scope.rawValue)-signature", "U-Boot requires \(scope.rawValue) signatures (key \(scopeKeys.map(\.key.name).joined(separator: ", "))), and this FIT has none: it will not boot, or the keys are not the ones in use")
                    continue
                }
                for node in scoped where FITImage.verify(node, keys: scopeKeys.map(\.key.key)) == .invalid {
                    fail(.high, "fit-signature-invalid:" + node.path,
                         "FIT signature \(node.path) (\(node.algo)) does not verify with the key U-Boot requires (\(scopeKeys.map(\.key.name).joined(separator: ", ")) in \(scopeKeys[0].path)): the FIT was modified or signed with another key",
                         facts: ["node": node.path, "algo": node.algo, "keys": scopeKeys.map(\.key.name).joined(separator: ", ")])
                }
            }
        }
        return observations
    }
}
