import JSON

/// `PUT /machine-config` (Firecracker's `MachineConfiguration`): vCPUs and memory. SMT,
/// dirty-page tracking, CPU templates and huge pages are Firecracker features SwiftVMM
/// does not have: asking for them is refused, their "off" values are taken.
struct MachineConfig: Equatable {
    static let fields = ["vcpu_count", "mem_size_mib", "smt", "track_dirty_pages", "cpu_template", "huge_pages"]
    /// Firecracker's limits: 1 to 32 vCPUs.
    static let vcpuRange: ClosedRange<Int64> = 1...32
    /// Firecracker's defaults before any PUT: one vCPU, 128 MiB.
    static let `default` = MachineConfig(vcpuCount: 1, memorySizeMiB: 128)

    var vcpuCount: Int
    var memorySizeMiB: Int

    init(vcpuCount: Int, memorySizeMiB: Int) {
        self.vcpuCount = vcpuCount
        self.memorySizeMiB = memorySizeMiB
    }

    /// A PUT: `vcpu_count` and `mem_size_mib` required. A PATCH (`partialOf`) changes only
    /// what it names.
    init(_ value: JSONValue, partialOf base: MachineConfig? = nil) throws(APIError) {
        let object = try JSONObject(value, fields: Self.fields)
        if let base {
            vcpuCount = Int(try object.integer("vcpu_count", in: 0...Int64(UInt8.max)) ?? Int64(base.vcpuCount))
            memorySizeMiB = Int(try object.integer("mem_size_mib", in: 0...Int64(Int32.max)) ?? Int64(base.memorySizeMiB))
        } else {
            vcpuCount = Int(try object.requiredInteger("vcpu_count", in: 0...Int64(UInt8.max)))
            memorySizeMiB = Int(try object.requiredInteger("mem_size_mib", in: 0...Int64(Int32.max)))
        }
        guard Self.vcpuRange.contains(Int64(vcpuCount)) else {
            throw APIError("The vCPU number is invalid! The vCPU number can only be 1 or an even number when SMT is enabled.")
        }
        guard memorySizeMiB > 0 else { throw APIError("The memory size (MiB) is either 0, or not a multiple of the configured page size.") }
        if try object.bool("smt") == true { throw .unsupported("simultaneous multithreading (`smt`)") }
        if try object.bool("track_dirty_pages") == true { throw .unsupported("dirty page tracking (`track_dirty_pages`)") }
        if let template = try object.choice("cpu_template", of: ["C3", "T2", "T2S", "T2CL", "T2A", "V1N1", "None"]), template != "None" {
            throw .unsupported("CPU templates (`cpu_template` \(template))")
        }
        if let pages = try object.choice("huge_pages", of: ["None", "Transparent", "2M"]), pages != "None" {
            throw .unsupported("huge pages (`huge_pages` \(pages))")
        }
    }

    var json: JSONValue {
        .object([
            ("vcpu_count", .integer(Int64(vcpuCount))), ("mem_size_mib", .integer(Int64(memorySizeMiB))),
            ("smt", .bool(false)), ("track_dirty_pages", .bool(false)), ("huge_pages", .string("None")),
        ])
    }
}
