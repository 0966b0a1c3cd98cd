import CUAPI

/// An ELF vmlinux: each PT_LOAD segment is copied to its physical address (p_paddr) and
/// the kernel is entered at e_entry in 64-bit mode (ELF-64 Object File Format 1.5,
/// "Program header"; Documentation/arch/x86/boot.rst, "64-bit BOOT PROTOCOL").
struct ELFKernel {
    struct Segment {
        let physicalAddress: UInt64
        let bytes: ArraySlice<UInt8>
        /// Bytes the segment occupies in memory (p_memsz); beyond `bytes` it is zero.
        let memorySize: UInt64
    }

    let segments: [Segment]
    let entry: UInt64

    // ELF identification (e_ident) and header values, from linux/elf.h.
    static let magic: [UInt8] = [0x7f, 0x45, 0x4c, 0x46]  // "\x7fELF"
    static let classIndex = Int(EI_CLASS)
    static let dataIndex = Int(EI_DATA)

    static func looksLikeELF(_ file: [UInt8]) -> Bool { file.starts(with: magic) }

    init(parsing file: [UInt8]) throws(BootError) {
        let fields = ByteFields(file)
        let header = MemoryLayout<Elf64_Ehdr>.self
        guard file.count >= header.size else { throw .truncated("the file ends inside the ELF header") }
        guard file[Self.classIndex] == UInt8(ELFCLASS64) else { throw .unsupportedELF("not a 64-bit ELF file") }
        guard file[Self.dataIndex] == UInt8(ELFDATA2LSB) else { throw .unsupportedELF("not little-endian") }
        func field<T: FixedWidthInteger>(_ type: T.Type, _ path: KeyPath<Elf64_Ehdr, T>) -> T {
            fields.read(type, at: header.offset(of: path)!)!  // inside the checked header
        }
        guard field(UInt16.self, \.e_machine) == UInt16(EM_X86_64) else {
            throw .unsupportedELF("not an x86-64 image (e_machine \(field(UInt16.self, \.e_machine)))")
        }
        guard field(UInt16.self, \.e_type) == UInt16(ET_EXEC) else {
            throw .unsupportedELF("not an executable (ET_EXEC) image")
        }
        let programHeaders = field(UInt64.self, \.e_phoff)
        let entrySize = Int(field(UInt16.self, \.e_phentsize))
        let count = Int(field(UInt16.self, \.e_phnum))
        let phdr = MemoryLayout<Elf64_Phdr>.self
        guard entrySize >= phdr.size else { throw .unsupportedELF("program headers of \(entrySize) bytes") }

        var segments: [Segment] = []
        for index in 0..<count {
            // Every offset and size below comes from the file: check before use.
            let (start, overflow) = programHeaders.addingReportingOverflow(UInt64(index * entrySize))
            guard !overflow, start <= UInt64(file.count), UInt64(file.count) - start >= UInt64(phdr.size) else {
                throw .segmentOutsideFile(index: index)
            }
            let base = Int(start)
            func value<T: FixedWidthInteger>(_ type: T.Type, _ path: KeyPath<Elf64_Phdr, T>) -> T {
                fields.read(type, at: base + phdr.offset(of: path)!)!
            }
            guard value(UInt32.self, \.p_type) == UInt32(PT_LOAD) else { continue }
            let offset = value(UInt64.self, \.p_offset), fileSize = value(UInt64.self, \.p_filesz)
            let memorySize = value(UInt64.self, \.p_memsz), address = value(UInt64.self, \.p_paddr)
            guard offset <= UInt64(file.count), fileSize <= UInt64(file.count) - offset else {
                throw .segmentOutsideFile(index: index)
            }
            guard fileSize <= memorySize, address.addingReportingOverflow(memorySize).overflow == false else {
                throw .unsupportedELF("segment \(index) has p_filesz > p_memsz or wraps around")
            }
            segments.append(Segment(
                physicalAddress: address,
                bytes: file[Int(offset)..<Int(offset + fileSize)],
                memorySize: memorySize))
        }
        guard !segments.isEmpty else { throw .unsupportedELF("no PT_LOAD segments") }
        // Two segments at the same memory would each overwrite the other (the ELF
        // specification's PT_LOAD entries describe disjoint pieces of the image).
        let byAddress = segments.sorted { $0.physicalAddress < $1.physicalAddress }
        for (lower, upper) in zip(byAddress, byAddress.dropFirst())
        where lower.physicalAddress + lower.memorySize > upper.physicalAddress {
            throw .unsupportedELF(
                "PT_LOAD segments at 0x\(String(lower.physicalAddress, radix: 16)) and "
                    + "0x\(String(upper.physicalAddress, radix: 16)) overlap")
        }
        let entry = field(UInt64.self, \.e_entry)
        guard segments.contains(where: { entry >= $0.physicalAddress && entry - $0.physicalAddress < $0.memorySize }) else {
            throw .entryOutsideImage(entry)
        }
        self.segments = segments
        self.entry = entry
    }
}
