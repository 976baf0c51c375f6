/// String enums read from YAML: an unknown value is an error that lists the valid ones.
public protocol NamedValue: RawRepresentable, CaseIterable, Decodable where RawValue == String {}

extension NamedValue {
    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self(rawValue: raw) else {
            let valid = Self.allCases.map(\.rawValue).joined(separator: ", ")
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "'\(raw)' is not one of: \(valid)"))
        }
        self = value
    }
}

extension Severity: NamedValue {}
extension Category: NamedValue {}
extension TargetKind: NamedValue {}
extension FileType: NamedValue {}
extension FileType: CaseIterable {
    public static let allCases: [FileType] = [.file, .directory, .symlink, .charDevice, .blockDevice, .fifo, .socket]
}
