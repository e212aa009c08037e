import FoundationEssentials
import Glibc
import Logging

/// A swift-log handler writing one logfmt line per message to stderr:
/// `ts=2026-11-25T04:12:50.123Z level=info logger=sockpit msg="GET /v1/health 200" http.status=200 ...`.
/// Structured (machine-parsable key=value pairs) and still readable in a terminal.
struct LogfmtHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        // Built as bytes, not Strings: an access-log line is written for every request, on the HTTP threads.
        var line: [UInt8] = []
        line.reserveCapacity(320)
        line.append(contentsOf: "ts=".utf8)
        Self.appendTimestamp(to: &line)
        line.append(contentsOf: " level=".utf8)
        line.append(contentsOf: event.level.rawValue.utf8)
        line.append(contentsOf: " logger=".utf8)
        line.append(contentsOf: label.utf8)
        line.append(contentsOf: " msg=".utf8)
        Self.appendValue(event.message.description, to: &line)
        let merged: Logger.Metadata
        if metadata.isEmpty {
            merged = event.metadata ?? [:]
        } else {
            merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            line.append(UInt8(ascii: " "))
            line.append(contentsOf: key.utf8)
            line.append(UInt8(ascii: "="))
            switch value {
            case .string(let text): Self.appendValue(text, to: &line)
            case let other: Self.appendValue("\(other)", to: &line)
            }
        }
        line.append(UInt8(ascii: "\n"))
        LogSink.shared.append(line, urgent: event.level >= .notice)
    }

    /// `2026-11-25T04:12:50.123Z`, written digit by digit.
    private static func appendTimestamp(to line: inout [UInt8]) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func digits(_ value: Int, _ width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                line.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4)
        line.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2)
        line.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2)
        line.append(UInt8(ascii: "T"))
        digits(Int(parts.tm_hour), 2)
        line.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2)
        line.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2)
        line.append(UInt8(ascii: "."))
        digits(now.tv_nsec / 1_000_000, 3)
        line.append(UInt8(ascii: "Z"))
    }

    /// Bare when the value is a plain token, quoted (with escapes) otherwise.
    private static func appendValue(_ value: String, to line: inout [UInt8]) {
        // Byte-level check: most values (paths, numbers, ids) are plain ASCII tokens.
        let plain = !value.isEmpty && value.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "/"), UInt8(ascii: ":"), UInt8(ascii: "@"),
                 UInt8(ascii: "["), UInt8(ascii: "]"):
                return true
            default:
                return false
            }
        }
        if plain {
            line.append(contentsOf: value.utf8)
            return
        }
        line.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): line.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\\"): line.append(contentsOf: "\\\\".utf8)
            case UInt8(ascii: "\n"): line.append(contentsOf: "\\n".utf8)
            default: line.append(byte)
            }
        }
        line.append(UInt8(ascii: "\""))
    }
}

/// Buffers log lines for stderr: one write(2) per ~16 KB instead of one per line (the bench measured the
/// per-line write at several µs of a ~20 µs request). Lines at notice and above, and every line after at most
/// 100 ms, are written at once, and `flush()` runs at exit; a SIGKILL can lose at most the last 100 ms of
/// info-level lines (the history in SQLite is not affected).
final class LogSink: @unchecked Sendable {
    static let shared = LogSink()
    private let lock = NSLockLike()
    private var buffer: [UInt8] = []
    private static let threshold = 16 << 10

    private init() {
        buffer.reserveCapacity(Self.threshold * 2)
        var thread = pthread_t()
        let unmanaged = Unmanaged.passRetained(self)
        if pthread_create(&thread, nil, { raw in
            let sink = Unmanaged<LogSink>.fromOpaque(raw!).takeRetainedValue()
            while true {
                usleep(100_000)
                sink.flush()
            }
        }, unmanaged.toOpaque()) == 0 {
            pthread_detach(thread)
        } else {
            unmanaged.release()
        }
    }

    /// Queues a line; writes now when it is urgent or the buffer is full.
    func append(_ line: [UInt8], urgent: Bool) {
        lock.lock()
        buffer.append(contentsOf: line)
        let full = buffer.count >= Self.threshold
        lock.unlock()
        if urgent || full { flush() }
    }

    /// Writes what is buffered.
    func flush() {
        lock.lock()
        defer { lock.unlock() }
        guard !buffer.isEmpty else { return }
        var offset = 0
        while offset < buffer.count {
            let written = buffer.withUnsafeBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 { if errno == EINTR { continue } else { break } }
            offset += written
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

/// A plain pthread mutex (no priority-inheritance futex): held for a memcpy or a write.
final class NSLockLike: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func lock() { pthread_mutex_lock(&mutex) }
    func unlock() { pthread_mutex_unlock(&mutex) }
}
