import FirecrackerAPI
import JSON
import VMM

/// The Firecracker API's input: arbitrary bytes from a client, read by the HTTP request
/// reader in pieces (the first byte sets their size), every request it makes handed to
/// a controller (whose InstanceStart builds no machine), and every body read as JSON.
///
/// Invariants: the reader holds no more than a header's and a body's limit (and the last
/// piece) at once; a request's body is within the limit; a refusal is a 4xx or 5xx that
/// closes the connection; every answer is 200 or 204, or an error whose body is
/// `{"fault_message": ...}`; JSON that parses writes back to text that parses to the
/// same value.
enum FirecrackerAPITarget: FuzzTarget {
    static let name = "firecracker-api"

    static let controller = VMController(instanceID: "fuzz", log: APILog(instanceID: "fuzz"), origin: 0) {
        _ throws(APIError) in throw APIError("no machine while fuzzing")
    }

    static func run(_ bytes: [UInt8]) {
        guard let first = bytes.first else { return }
        let piece = Int(first) + 1
        let limits = HTTPRequestReader.Limits(headerBytes: 2048, bodyBytes: 4096)
        var reader = HTTPRequestReader(limits: limits)
        var offset = 1
        reading: while offset < bytes.count {
            let end = min(bytes.count, offset + piece)
            reader.append(Array(bytes[offset..<end]))
            offset = end
            while true {
                switch reader.next() {
                case .incomplete:
                    require(reader.bufferedByteCount <= limits.headerBytes + limits.bodyBytes + piece, "the reader's buffer is bounded")
                    continue reading
                case .refused(let response):
                    require((400...599).contains(response.status) && response.closesConnection, "a refusal is an error that closes")
                    break reading
                case .request(let request):
                    require(request.body.count <= limits.bodyBytes, "a body within the limit")
                    check(controller.handle(request))
                    if let value = try? JSONParser.parse(request.body) {
                        require((try? JSONParser.parse(value.compactText)) == value, "JSON writes back to the same value")
                    }
                }
            }
        }
        // The same bytes as a configuration document.
        _ = try? VMController(instanceID: "fuzz", log: APILog(instanceID: "fuzz"), origin: 0) { _ throws(APIError) in
            throw APIError("no machine")
        }.configure(document: Array(bytes.dropFirst()))
    }

    private static func check(_ response: HTTPResponse) {
        if response.status == 200 || response.status == 204 { return }
        require((400...599).contains(response.status), "a status is 200, 204 or an error")
        guard let body = response.body, case .object(let members)? = try? JSONParser.parse(body),
              members.count == 1, members[0].0 == "fault_message"
        else { fatalError("invariant violated: an error's body is {\"fault_message\": ...}") }
    }
}

extension FirecrackerAPITarget {
    /// A whole configuration through the API, and requests with broken bodies.
    static var seeds: [[UInt8]] {
        func request(_ method: String, _ path: String, _ body: String) -> String {
            "\(method) \(path) HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        }
        let configure = [
            "GET / HTTP/1.1\r\n\r\n",
            request("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 256, \"smt\": false}"),
            request("PUT", "/boot-source", "{\"kernel_image_path\": \"/k\", \"boot_args\": \"console=ttyS0 \\u00e9\", \"initrd_path\": \"/i\"}"),
            request("PUT", "/drives/rootfs", "{\"drive_id\": \"rootfs\", \"path_on_host\": \"/r\", \"is_root_device\": true, \"is_read_only\": false, \"cache_type\": \"Writeback\", \"rate_limiter\": {\"bandwidth\": {\"size\": 0, \"refill_time\": 0}}}"),
            request("PUT", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"guest_mac\": \"06:00:ac:10:00:02\", \"mtu\": 1500}"),
            request("PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/tmp/v.sock\"}"),
            request("PATCH", "/machine-config", "{\"mem_size_mib\": 128}"),
            request("PUT", "/logger", "{\"level\": \"debug\", \"show_level\": true}"),
            "GET /vm/config HTTP/1.1\r\n\r\n",
            request("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"),
            request("PATCH", "/vm", "{\"state\": \"Paused\"}"),
        ].joined()
        let broken = [
            request("PUT", "/boot-source", "{\"kernel_image_path\": [1, 2, {\"a\": null}], \"x\": 1e5}"),
            "PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n{}}",
            "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        ].joined()
        let document = "{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"/a\", \"is_root_device\": true}], \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 64}}"
        return [[255] + Array(configure.utf8), [3] + Array(broken.utf8), [0] + Array(document.utf8)]
    }
}
