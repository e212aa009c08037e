import SockpitCore
import SockpitContract

extension APIHandler {
    /// `GET /v1/host/links`.
    func listHostLinks(_ input: Operations.ListHostLinks.Input) async throws -> Operations.ListHostLinks.Output {
        let links = try await runtime.host.links(netns: input.query.netns)
        let names = Dictionary(links.map { ($0.index, $0.name) }) { first, _ in first }
        let (page, next) = try Self.hostPage(links, limit: input.query.limit, cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: page.map { Self.schema($0, names: names) }, nextCursor: next))))
    }

    static func schema(_ link: LinkInfo, names: [Int: String]) -> Components.Schemas.HostLink {
        .init(ifindex: link.index, ifname: link.name, flags: link.flags, mtu: link.mtu, qdisc: link.qdisc, operstate: link.operstate,
              linkmode: link.linkmode, group: link.group, txqlen: link.txqlen, linkType: link.linkType, address: link.address,
              broadcast: link.broadcast, link: link.linkNetnsid == nil ? link.linkIndex.flatMap { names[$0] } : nil,
              linkIndex: link.linkIndex, linkNetnsid: link.linkNetnsid,
              master: link.masterIndex.flatMap { names[$0] }, kind: link.kind,
              stats64: link.stats.map { .init(rx: $0["rx"].map { .init(additionalProperties: $0.mapValues(Int64.init)) },
                                              tx: $0["tx"].map { .init(additionalProperties: $0.mapValues(Int64.init)) }) })
    }

    /// `GET /v1/host/addresses`.
    func listHostAddresses(_ input: Operations.ListHostAddresses.Input) async throws -> Operations.ListHostAddresses.Output {
        let (page, next) = try Self.hostPage(try await runtime.host.addresses(netns: input.query.netns), limit: input.query.limit,
                                             cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: page.map { Self.schema($0.0, ifname: $0.ifname) }, nextCursor: next))))
    }

    static func schema(_ address: AddressInfo, ifname: String?) -> Components.Schemas.HostAddress {
        .init(ifindex: address.index, ifname: ifname, family: address.family, local: address.local, address: address.peer,
              prefixlen: address.prefixLength, broadcast: address.broadcast, scope: address.scope, label: address.label,
              validLifeTime: address.validLifetime.map(Int64.init), preferredLifeTime: address.preferredLifetime.map(Int64.init),
              flags: address.flags)
    }

    /// `GET /v1/host/routes`.
    func listHostRoutes(_ input: Operations.ListHostRoutes.Input) async throws -> Operations.ListHostRoutes.Output {
        let (page, next) = try Self.hostPage(try await runtime.host.routes(netns: input.query.netns), limit: input.query.limit,
                                             cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: page.map { Self.schema($0.0, dev: $0.dev) }, nextCursor: next))))
    }

    static func schema(_ route: RouteInfo, dev: String?) -> Components.Schemas.HostRoute {
        .init(family: route.family, _type: route.type, dst: route.destination, gateway: route.gateway, dev: dev, table: route.table,
              _protocol: route.protocol, scope: route.scope, prefsrc: route.preferredSource, metric: route.metric.map(Int64.init),
              flags: route.flags, pref: route.preference)
    }

    /// `GET /v1/host/neighbours`.
    func listHostNeighbours(_ input: Operations.ListHostNeighbours.Input) async throws -> Operations.ListHostNeighbours.Output {
        let (page, next) = try Self.hostPage(try await runtime.host.neighbours(netns: input.query.netns), limit: input.query.limit,
                                             cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: page.map { Self.schema($0.0, dev: $0.dev) }, nextCursor: next))))
    }

    static func schema(_ neighbour: NeighbourInfo, dev: String?) -> Components.Schemas.HostNeighbour {
        .init(family: neighbour.family, dst: neighbour.destination, dev: dev, lladdr: neighbour.lladdr, state: neighbour.state,
              flags: neighbour.flags)
    }

    /// `GET /v1/host/sockets`.
    func listHostSockets(_ input: Operations.ListHostSockets.Input) async throws -> Operations.ListHostSockets.Output {
        let query = input.query
        if let address = query.address, address.count > 45 { throw APIProblem.validation("address is longer than 45 characters", field: "address") }
        if let state = query.state, state.count > 20 { throw APIProblem.validation("state is longer than 20 characters", field: "state") }
        if let port = query.port, !(0...65535).contains(port) { throw APIProblem.validation("port must be between 0 and 65535, got \(port)", field: "port") }
        let rows = try await runtime.host.sockets(netns: query.netns, filter: HostNetwork.SocketFilter(
            state: query.state, family: query.family?.rawValue, kind: query._protocol?.rawValue, port: query.port, address: query.address))
        let (page, next) = try Self.socketPage(rows, limit: query.limit, cursor: query.cursor)
        return .ok(.init(body: .json(.init(items: try page.map { row in
            let socket = row.socket
            let info = socket.tcpInfo.map(Self.schema)
            return Components.Schemas.HostSocket(
                family: socket.family.name, _protocol: socket.kind, state: socket.state,
                localAddress: try runtime.sockets.shownForHost(socket.local).map(Self.schema),
                peerAddress: try runtime.sockets.shownForHost(socket.peer).map(Self.schema),
                recvQ: Int64(socket.receiveQueue), sendQ: Int64(socket.sendQueue), uid: socket.uid.map(Int64.init),
                inode: Int64(socket.inode), cookie: String(socket.cookie), peerInode: socket.peerInode.map(Int64.init), tcpInfo: info,
                congestion: socket.congestion, memory: socket.memory.map { .init(additionalProperties: $0.mapValues(Int64.init)) },
                processes: row.processes.map { .init(pid: Int($0.pid), command: $0.command) }, managedSocketId: row.managedSocketID)
        }, nextCursor: next))))
    }

    /// One page of the socket table: the cursor is the previous page's last row (`SocketPosition`), so that the
    /// sockets that open and close between two pages move no other row into or out of the walk.
    private static func socketPage(_ rows: [HostNetwork.SocketRow], limit: Int?,
                                   cursor: String?) throws -> ([HostNetwork.SocketRow], String?) {
        let size = try Paging.limit(limit)
        var start = rows.startIndex
        if let cursor {
            guard let after = HostNetwork.SocketPosition(cursor: cursor) else {
                throw APIProblem.validation("cursor must be a next_cursor as it was given", field: "cursor")
            }
            // The first row past `after` (the rows are in position order).
            var end = rows.endIndex
            while start < end {
                let middle = (start + end) / 2
                if rows[middle].position <= after { start = middle + 1 } else { end = middle }
            }
        }
        let end = min(start + size, rows.count)
        return (Array(rows[start..<end]), end < rows.count ? rows[end - 1].position.description : nil)
    }

    /// One page of a host view read whole from the kernel: the cursor is the position of the next item.
    private static func hostPage<T>(_ items: [T], limit: Int?, cursor: String?) throws -> ([T], String?) {
        let size = try Paging.limit(limit)
        var start = 0
        if let cursor {
            guard (1...9).contains(cursor.count), cursor.allSatisfy(\.isASCII), let position = Int(cursor), position >= 0 else {
                throw APIProblem.validation("cursor must be a next_cursor as it was given", field: "cursor")
            }
            start = min(position, items.count)
        }
        let end = min(start + size, items.count)
        return (Array(items[start..<end]), end < items.count ? String(end) : nil)
    }
}
