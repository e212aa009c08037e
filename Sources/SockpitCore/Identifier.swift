import Glibc

/// Opaque ids, unique for all time (also across restarts): a prefix, then 48 bits of milliseconds and 80
/// random bits in Crockford base32 (a ULID), so ids also sort by creation time.
public enum Identifier {
    private static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz".utf8)

    /// A new id such as `sk_01jd5x3m6p9k2q8r7t4v5w6x7y`.
    public static func make(prefix: String) -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let millis = UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec / 1_000_000)
        var random = SystemRandomNumberGenerator()
        // 128 bits: 48 time + 80 random, as two words.
        let high = (millis << 16) | UInt64(random.next() & 0xFFFF)
        let low = random.next()
        var chars: [UInt8] = []
        chars.reserveCapacity(26)
        // 26 base32 digits cover 130 bits; the top two are zero.
        for index in (0..<26).reversed() {
            let bit = index * 5
            let value: UInt64
            if bit >= 64 {
                value = (high >> UInt64(bit - 64)) & 31
            } else if bit + 5 <= 64 {
                value = (low >> UInt64(bit)) & 31
            } else {
                value = ((low >> UInt64(bit)) | (high << UInt64(64 - bit))) & 31
            }
            chars.append(alphabet[Int(value)])
        }
        return prefix + "_" + String(decoding: chars, as: UTF8.self)
    }
}

/// Wall-clock time as unix microseconds, the unit the history stores.
public enum UnixTime {
    /// Now, in unix microseconds.
    public static func nowMicros() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec / 1000)
    }
}
