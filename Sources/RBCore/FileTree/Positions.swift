/// Ascending positions in a tree's index (`PathIndex.entries`), four bytes each: a 200,000-file
/// image has a dozen whole-tree selections and glob answers kept for the scan, and as `[Int]`
/// they took 25 MB.
public struct Positions: RandomAccessCollection, Sendable, Hashable {
    let storage: [Int32]

    public init() { storage = [] }

    /// `positions`, which must be ascending and each below `Int32.max` (an index holds at most
    /// `ScanLimits.maxEntries`, 2,000,000 by default).
    public init(_ positions: some Sequence<Int>) {
        storage = positions.map { Int32(truncatingIfNeeded: $0) }
    }

    init(storage: [Int32]) { self.storage = storage }

    public var startIndex: Int { 0 }
    public var endIndex: Int { storage.count }
    @inline(__always) public subscript(i: Int) -> Int { Int(storage[i]) }

    /// Whether `position` is one of these (binary search).
    public func contains(_ position: Int) -> Bool {
        var low = 0, high = storage.count
        let key = Int32(truncatingIfNeeded: position)
        while low < high {
            let mid = (low + high) / 2
            if storage[mid] < key { low = mid + 1 } else { high = mid }
        }
        return low < storage.count && storage[low] == key
    }
}
