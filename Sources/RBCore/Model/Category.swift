/// The rule categories. The ten codes are part of the rule-ID contract (`RB-<CAT>-<NNN>`);
/// the titles are the Security Red Baseline 2.1 category names (TLS is the Data Protection
/// endpoint pack, split out of DAT).
public enum Category: String, Codable, CaseIterable, Sendable {
    case IFC, AUTH, PWD, SEN, DAT, TLS, WEB, SYS, PKG, AUD

    public var title: String {
        switch self {
        case .IFC: "Non-open Interfaces"
        case .AUTH: "Identity Authentication"
        case .PWD: "Password Security"
        case .SEN: "Sensitive Information Protection"
        case .DAT: "Data Protection"
        case .TLS: "Data Protection (TLS)"
        case .WEB: "WEB and Service Client Security"
        case .SYS: "System and Database Security"
        case .PKG: "Package Integrity and Security"
        case .AUD: "Security Audit"
        }
    }
}

/// What a rule can be run against.
public enum TargetKind: String, Codable, CaseIterable, Sendable {
    /// An extracted root filesystem or a firmware image read as one.
    case firmware
    /// A single device configuration file (XML, INI, JSON, YAML, key=value).
    case config
    /// A live network endpoint.
    case endpoint
    /// Results compared across several devices or images.
    case fleet
}

/// The rule-ID scheme: `RB-<CAT>-<NNN>` for the baseline's own rules; an organisation's rules use
/// their own namespace, `<NS>[-<PART>…]-<NNN>` (`ACME-CAM-001`): upper-case letters and digits, a
/// namespace of 2–12 characters starting with a letter, three or four digits last. `RB-` is
/// reserved to the baseline's scheme.
public enum RuleID {
    /// Whether `id` is a valid ID of an organisation's own namespace (not `RB-`).
    public static func isNamespaced(_ id: String) -> Bool {
        let parts = id.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 2, let namespace = parts.first, namespace != "RB",
              (2...12).contains(namespace.count), namespace.first!.isASCII, namespace.first!.isUppercase,
              let number = parts.last, (3...4).contains(number.count), number.allSatisfy({ $0.isASCII && $0.isNumber })
        else { return false }
        return parts.dropLast().allSatisfy { part in
            (1...12).contains(part.count) && part.allSatisfy { $0.isASCII && ($0.isUppercase || $0.isNumber) }
        }
    }

    /// Parses an ID; returns its category when it follows the scheme, nil otherwise.
    public static func category(of id: String) -> Category? {
        let parts = id.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "RB",
              let category = Category(rawValue: String(parts[1])),
              parts[2].count == 3, parts[2].allSatisfy({ $0.isASCII && $0.isNumber })
        else { return nil }
        return category
    }
}
