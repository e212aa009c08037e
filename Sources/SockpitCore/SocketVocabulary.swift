public import SocketKit

// The words of the sockets API that the domain's operations take and give as they are: option names and
// values, shutdown directions, address families, TCP_INFO. They are SocketKit's; the API reaches them here.

/// A socket option the API can read or set (`SO_REUSEADDR`, `TCP_NODELAY`, ...).
public typealias SocketOption = SocketKit.SocketOption
/// An option's value: a switch, a number, a linger, an errno name.
public typealias SocketOptionValue = SocketKit.SocketOptionValue
/// Which direction `shutdown(2)` closes.
public typealias ShutdownHow = SocketKit.ShutdownHow
/// An address family (`AF_INET`, `AF_INET6`, `AF_UNIX`, ...).
public typealias AddressFamily = SocketKit.AddressFamily
/// The kernel's `TCP_INFO` of a connection.
public typealias TCPInfo = SocketKit.TCPInfo
/// A process as the kernel vouches for it (`SCM_CREDENTIALS`, `SO_PEERCRED`): pid, uid, gid.
public typealias Credentials = SocketKit.Credentials
/// Which interface an option names (index, IPv4 address, name, or the kernel's choice).
public typealias InterfaceChoice = SocketKit.InterfaceChoice
/// A multicast group and the interface to join or leave it on.
public typealias Membership = SocketKit.Membership
/// A numeric IPv4 or IPv6 address.
public typealias IPAddress = SocketKit.IPAddress
/// A numeric IPv4 address.
public typealias IPv4Address = SocketKit.IPv4Address
/// A packet socket's link-layer address (`sockaddr_ll`), and the MAC text helpers.
public typealias LinkAddress = SocketKit.LinkAddress
