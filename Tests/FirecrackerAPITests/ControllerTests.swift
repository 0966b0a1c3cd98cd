import JSON
import Locking
import Testing
import VMM
import Virtio
@testable import FirecrackerAPI

/// A controller whose InstanceStart records the configuration it was given and builds
/// no machine (these tests need no /dev/kvm).
private final class Recorder: Sendable {
    let configurations = Locked<[MachineConfiguration]>([])
    let controller: VMController

    init() {
        let configurations = self.configurations
        controller = VMController(instanceID: "test-vm", log: APILog(instanceID: "test-vm"), origin: MonotonicClock.now()) {
            configuration throws(APIError) in
            configurations.withLock { $0.append(configuration) }
            throw APIError("no machine in this test")
        }
    }

    func send(_ method: HTTPRequest.Method, _ path: String, _ body: String = "") -> HTTPResponse {
        controller.handle(HTTPRequest(method: method, path: path, body: Array(body.utf8)))
    }
}

private func fault(_ response: HTTPResponse) -> String? {
    guard let body = response.body, case .object(let members)? = try? JSONParser.parse(body) else { return nil }
    if case .string(let message)? = members.first(where: { $0.0 == "fault_message" })?.1 { return message }
    return nil
}

@Suite("Firecracker API: resources, states and messages")
struct ControllerTests {
    @Test("GET / before start: the instance ID and 'Not started'")
    func describe() throws {
        let response = Recorder().send(.get, "/")
        #expect(response.status == 200)
        let value = try JSONParser.parse(response.body ?? "")
        guard case .object(let members) = value else { Issue.record("not an object"); return }
        #expect(members.first { $0.0 == "id" }?.1 == .string("test-vm"))
        #expect(members.first { $0.0 == "state" }?.1 == .string("Not started"))
    }

    @Test("GET /machine-config before any PUT: Firecracker's defaults, 1 vCPU and 128 MiB")
    func machineDefaults() throws {
        let response = Recorder().send(.get, "/machine-config")
        #expect(response.body == "{\"vcpu_count\":1,\"mem_size_mib\":128,\"smt\":false,\"track_dirty_pages\":false,\"huge_pages\":\"None\"}")
    }

    @Test("the resources become the MachineConfiguration the CLI builds: the root drive first, root= on the command line, taps and the entropy device")
    func configuration() {
        let recorder = Recorder()
        #expect(recorder.send(.put, "/boot-source", "{\"kernel_image_path\":\"/k\",\"initrd_path\":\"/i\",\"boot_args\":\"console=ttyS0\"}").status == 204)
        #expect(recorder.send(.put, "/machine-config", "{\"vcpu_count\":2,\"mem_size_mib\":256}").status == 204)
        #expect(recorder.send(.patch, "/machine-config", "{\"mem_size_mib\":300}").status == 204)
        #expect(recorder.send(.put, "/drives/data", "{\"drive_id\":\"data\",\"path_on_host\":\"/d\",\"is_root_device\":false,\"is_read_only\":true,\"io_engine\":\"Async\"}").status == 204)
        #expect(recorder.send(.put, "/drives/rootfs", "{\"drive_id\":\"rootfs\",\"path_on_host\":\"/r\",\"is_root_device\":true,\"is_read_only\":false}").status == 204)
        #expect(recorder.send(.put, "/vsock", "{\"guest_cid\":7,\"uds_path\":\"/tmp/v.sock\"}").status == 204)
        #expect(recorder.send(.put, "/network-interfaces/eth0", "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap7\",\"guest_mac\":\"06:00:ac:10:00:02\",\"mtu\":9000}").status == 204)
        #expect(recorder.send(.put, "/network-interfaces/eth1", "{\"iface_id\":\"eth1\",\"host_dev_name\":\"tap8\"}").status == 204)
        #expect(recorder.send(.put, "/entropy", "{}").status == 204)
        let start = recorder.send(.put, "/actions", "{\"action_type\":\"InstanceStart\"}")
        #expect(start.status == 400 && fault(start) == "no machine in this test")
        let configuration = recorder.configurations.withLock { $0.first }
        #expect(configuration == MachineConfiguration(
            kernel: .file("/k"), initrdPath: "/i", commandLine: "console=ttyS0 root=/dev/vda rw",
            memorySize: 300 << 20, vcpuCount: 2,
            disks: [DiskConfiguration(path: "/r", readOnly: false, io: .vcpu), DiskConfiguration(path: "/d", readOnly: true, io: .thread)],
            networks: [
                NetworkConfiguration(backend: .tap("tap7"), mac: MACAddress("06:00:ac:10:00:02"), mtu: 9000),
                NetworkConfiguration(backend: .tap("tap8")),
            ],
            rng: RNGConfiguration(),
            vsock: VsockConfiguration(guestCID: 7, udsPath: "/tmp/v.sock")))
        // A failed start leaves the machine unstarted: still configurable.
        #expect(recorder.send(.get, "/").body?.contains("Not started") == true)
    }

    @Test("requests in the wrong state: PATCH /vm and SendCtrlAltDel before start, InstanceStart without a kernel")
    func wrongState() {
        let recorder = Recorder()
        #expect(fault(recorder.send(.patch, "/vm", "{\"state\":\"Paused\"}")) == "The requested operation is not supported before starting the microVM.")
        #expect(fault(recorder.send(.put, "/actions", "{\"action_type\":\"SendCtrlAltDel\"}")) == "The requested operation is not supported before starting the microVM.")
        #expect(fault(recorder.send(.put, "/actions", "{\"action_type\":\"InstanceStart\"}")) == "Cannot start microvm without kernel configuration.")
        #expect(fault(recorder.send(.patch, "/drives/x", "{\"drive_id\":\"x\"}")) == "The requested operation is not supported before starting the microVM.")
        #expect(recorder.configurations.withLock { $0.isEmpty })
    }

    @Test("bodies of the wrong shape get Firecracker's deserializing error", arguments: [
        ("/machine-config", "{\"vcpu_count\":1}", "missing field `mem_size_mib`"),
        ("/machine-config", "{\"vcpu_count\":1.5,\"mem_size_mib\":1}", "invalid type: a number, expected an integer for `vcpu_count`"),
        ("/machine-config", "{\"vcpu_count\":33,\"mem_size_mib\":1}", "The vCPU number is invalid"),
        ("/machine-config", "{\"vcpu_count\":-1,\"mem_size_mib\":1}", "expected `vcpu_count` from 0 to 255"),
        ("/machine-config", "[1]", "invalid type: an array, expected an object"),
        ("/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":128,\"smt\":true}", "SwiftVMM does not support simultaneous multithreading"),
        ("/boot-source", "{\"kernel_image_path\":\"/k\",\"extra\":1}", "unknown field `extra`"),
        ("/boot-source", "{\"kernel_image_path\":7}", "invalid type: an integer, expected a string for `kernel_image_path`"),
        ("/boot-source", "{\"kernel_image_path\":", "An error occurred when deserializing the json body of a request"),
        ("/drives/a", "{\"drive_id\":\"b\",\"path_on_host\":\"/x\",\"is_root_device\":false}", "The id from the path does not match the id from the body!"),
        ("/drives/a-b", "{\"drive_id\":\"a-b\",\"path_on_host\":\"/x\",\"is_root_device\":false}", "API Resource IDs can only contain alphanumeric characters and underscores."),
        ("/drives/a", "{\"drive_id\":\"a\",\"path_on_host\":\"/x\",\"is_root_device\":\"yes\"}", "expected a boolean for `is_root_device`"),
        ("/drives/a", "{\"drive_id\":\"a\",\"path_on_host\":\"/x\",\"is_root_device\":false,\"cache_type\":\"Fast\"}", "unknown variant `Fast`"),
        ("/drives/a", "{\"drive_id\":\"a\",\"path_on_host\":\"/x\",\"is_root_device\":false,\"rate_limiter\":{\"bandwidth\":{\"size\":1000,\"refill_time\":100}}}", "SwiftVMM does not support rate limiters"),
        ("/drives/a", "{\"drive_id\":\"a\",\"is_root_device\":false,\"socket\":\"/s\"}", "SwiftVMM does not support vhost-user"),
        ("/network-interfaces/eth0", "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\",\"guest_mac\":\"zz:00:00:00:00:00\"}", "invalid MAC address"),
        ("/network-interfaces/eth0", "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\",\"guest_mac\":\"07:00:ac:10:00:02\"}", "a multicast address"),
        ("/network-interfaces/eth0", "{\"iface_id\":\"eth0\",\"host_dev_name\":\"a/b\"}", "Invalid host_dev_name 'a/b'"),
        ("/network-interfaces/eth0", "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\",\"rx_rate_limiter\":{\"ops\":{\"size\":10,\"refill_time\":100}}}", "SwiftVMM does not support rate limiters"),
        ("/entropy", "{\"rate_limiter\":{\"bandwidth\":{\"size\":1000,\"refill_time\":100}}}", "SwiftVMM does not support rate limiters"),
        ("/vsock", "{\"guest_cid\":2,\"uds_path\":\"/v.sock\"}", "expected `guest_cid` from 3 to 4294967295"),
        ("/actions", "{\"action_type\":\"InstanceHalt\"}", "unknown variant `InstanceHalt`"),
        ("/balloon", "{\"amount_mib\":1,\"deflate_on_oom\":false}", "SwiftVMM does not support a balloon device."),
        ("/snapshot/create", "{}", "SwiftVMM does not support snapshots."),
        ("/nothing", "{}", "Invalid request method and/or path: PUT /nothing."),
    ])
    func badBodies(_ path: String, _ body: String, _ message: String) {
        let response = Recorder().send(.put, path, body)
        #expect(response.status == 400)
        #expect(fault(response)?.contains(message) == true, "\(path) \(body): \(fault(response) ?? "no fault")")
    }

    @Test("GET with a body, PUT and PATCH without one")
    func bodies() {
        let recorder = Recorder()
        #expect(fault(recorder.send(.get, "/", "{}")) == "GET request cannot have a body.")
        #expect(fault(recorder.send(.put, "/boot-source")) == "Empty PUT request.")
        #expect(fault(recorder.send(.patch, "/vm")) == "Empty PATCH request.")
        #expect(fault(recorder.send(.put, "/drives", "{}")) == "The ID cannot be empty.")
    }

    @Test("a second root device is refused; PUT of the same ID replaces the drive")
    func drives() throws {
        let recorder = Recorder()
        #expect(recorder.send(.put, "/drives/a", "{\"drive_id\":\"a\",\"path_on_host\":\"/a\",\"is_root_device\":true}").status == 204)
        #expect(fault(recorder.send(.put, "/drives/b", "{\"drive_id\":\"b\",\"path_on_host\":\"/b\",\"is_root_device\":true}")) == "A root block device already exists!")
        #expect(recorder.send(.put, "/drives/a", "{\"drive_id\":\"a\",\"path_on_host\":\"/c\",\"is_root_device\":true}").status == 204)
        let config = recorder.send(.get, "/vm/config").body ?? ""
        #expect(config.contains("\"path_on_host\":\"/c\"") && !config.contains("\"/a\""))
    }

    @Test("a configuration file is the document GET /vm/config returns, and reads back the same")
    func document() throws {
        let recorder = Recorder()
        let document = """
            {"boot-source": {"kernel_image_path": "/k", "boot_args": "console=ttyS0"},
             "machine-config": {"vcpu_count": 1, "mem_size_mib": 64},
             "drives": [{"drive_id": "rootfs", "path_on_host": "/r", "is_root_device": true, "is_read_only": true}],
             "vsock": {"guest_cid": 3, "uds_path": "/tmp/v.sock"}}
            """
        try recorder.controller.configure(document: Array(document.utf8))
        let exported = try #require(recorder.send(.get, "/vm/config").body)
        let again = Recorder()
        try again.controller.configure(document: Array(exported.utf8))
        #expect(again.send(.get, "/vm/config").body == exported)
        #expect(throws: APIError.self) { try Recorder().controller.configure(document: Array("{\"balloon\":{}}".utf8)) }
        #expect(throws: APIError.self) { try Recorder().controller.configure(document: Array("{\"drives\":{}}".utf8)) }
    }

    @Test("FlushMetrics before PUT /metrics is an error, not a silent success")
    func metricsFirst() {
        #expect(fault(Recorder().send(.put, "/actions", "{\"action_type\":\"FlushMetrics\"}"))?.contains("not initialized") == true)
    }

    @Test("PUT /metrics then FlushMetrics writes one JSON line of counts; PUT /logger sends request lines to its file")
    func metricsAndLogger() throws {
        let directory = scratchDirectory()
        let recorder = Recorder()
        #expect(recorder.send(.put, "/logger", "{\"log_path\":\"\(directory)/log\",\"level\":\"debug\",\"show_level\":true}").status == 204)
        #expect(recorder.send(.put, "/metrics", "{\"metrics_path\":\"\(directory)/metrics\"}").status == 204)
        #expect(recorder.send(.put, "/metrics", "{\"metrics_path\":\"\(directory)/metrics\"}").status == 400, "metrics are set once")
        _ = recorder.send(.get, "/nowhere")
        #expect(recorder.send(.put, "/actions", "{\"action_type\":\"FlushMetrics\"}").status == 204)
        let metrics = try String(contentsOfFile: directory + "/metrics", encoding: .utf8)
        #expect(metrics.hasSuffix("\n") && metrics.split(separator: "\n").count == 1)
        let value = try JSONParser.parse(String(metrics.dropLast()))
        guard case .object(let members) = value, case .object(let api)? = members.first(where: { $0.0 == "api_server" })?.1 else {
            Issue.record("no api_server member: \(metrics)")
            return
        }
        #expect(api.first { $0.0 == "requests" }?.1 == .integer(4))
        #expect(api.first { $0.0 == "failed_requests" }?.1 == .integer(2))
        let log = try String(contentsOfFile: directory + "/log", encoding: .utf8)
        #expect(log.contains("[test-vm:INFO] The API server received a GET request on \"/nowhere\"; answered 400."))
        #expect(log.contains("[test-vm:ERROR] API request failed"))
    }
}
