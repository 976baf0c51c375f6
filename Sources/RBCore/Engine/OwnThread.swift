import Dispatch

/// Runs blocking work on a thread of its own and waits for it without holding a thread.
///
/// The cooperative pool that runs Swift tasks, and Dispatch's global queues, have as many
/// threads as cores. A long synchronous job in a task (the index walk of a directory or an image)
/// takes one of them; start-up work that hands pieces to Dispatch workers (rule packs and config
/// adapters loading concurrently) then waits for the walk to end instead of running beside it.
/// A private serial queue gets an overcommit thread: the job runs there and the pool stays free.
public func onOwnThread<T: Sendable>(_ label: String, _ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        DispatchQueue(label: label).async { continuation.resume(returning: work()) }
    }
}

/// Runs `body` on `lanes` tasks at once, lane i taking the indices i, i + lanes, i + 2 * lanes, …
/// of 0..<count; returns each lane's result in lane order, so what is merged from them does not
/// depend on timing.
public func inLanes<T: Sendable>(_ count: Int, lanes: Int, _ body: @escaping @Sendable (StrideTo<Int>) -> T) async -> [T] {
    let lanes = max(1, min(lanes, count))
    return await withTaskGroup(of: (Int, T).self) { group in
        for lane in 0..<lanes {
            group.addTask { (lane, body(stride(from: lane, to: count, by: lanes))) }
        }
        var results = [T?](repeating: nil, count: lanes)
        for await (lane, result) in group { results[lane] = result }
        return results.map { $0! }
    }
}
