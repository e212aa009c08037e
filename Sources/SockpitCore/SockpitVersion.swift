/// Sockpit's own version, reported by health, capabilities and `sockpit --version`.
public enum SockpitVersion {
    /// The semantic version of this build.
    public static let current = "0.1.0"
}
