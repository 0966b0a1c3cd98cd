import GuestMemory

/// Builds the zero page (`struct boot_params`): the setup header with the fields a boot
/// loader must fill, and the e820 map (Documentation/arch/x86/boot.rst, "Details of
/// Header Fields" and "The 64-bit boot protocol"; zero-page.rst).
enum ZeroPage {
    struct Inputs {
        /// The bzImage's setup header, or nil for an ELF kernel (one is synthesized).
        var header: [UInt8]?
        var commandLineSize: Int
        var initrd: (address: GuestAddress, size: UInt64)?
        var e820: E820Map
        /// Where the ACPI RSDP is, so the kernel need not search for it.
        var acpiRSDP: GuestAddress?
    }

    static func bytes(_ inputs: Inputs) -> [UInt8] {
        var page = ByteFields(count: ZeroPageField.size)
        if let header = inputs.header {
            page.bytes.replaceSubrange(ZeroPageField.header..<ZeroPageField.header + header.count, with: header)
            // boot.rst: a loader that can supply a heap sets CAN_USE_HEAP and heap_end_ptr.
            let loadflags = page.read(UInt8.self, at: ZeroPageField.loadFlags)!
            page.write(loadflags | BootProtocol.canUseHeap, at: ZeroPageField.loadFlags)
            page.write(BootProtocol.heapEnd, at: ZeroPageField.heapEndPtr)
        } else {
            // An ELF kernel has no header: write the fields the kernel checks.
            page.write(BootProtocol.bootFlag, at: ZeroPageField.bootFlag)
            page.write(BootProtocol.headerMagic, at: ZeroPageField.headerMagic)
            page.write(BootProtocol.synthesizedVersion, at: ZeroPageField.version)
            page.write(BootProtocol.elfKernelAlignment, at: ZeroPageField.kernelAlignment)
        }
        page.write(BootProtocol.undefinedLoader, at: ZeroPageField.typeOfLoader)
        page.write(BootProtocol.normalVideoMode, at: ZeroPageField.vidMode)

        let commandLine = Layout.commandLine.rawValue
        page.write(UInt32(truncatingIfNeeded: commandLine), at: ZeroPageField.cmdLinePtr)
        page.write(UInt32(truncatingIfNeeded: commandLine >> 32), at: ZeroPageField.extCmdLinePtr)
        page.write(UInt32(inputs.commandLineSize), at: ZeroPageField.cmdlineSize)

        if let initrd = inputs.initrd {
            page.write(UInt32(truncatingIfNeeded: initrd.address.rawValue), at: ZeroPageField.ramdiskImage)
            page.write(UInt32(truncatingIfNeeded: initrd.address.rawValue >> 32), at: ZeroPageField.extRamdiskImage)
            page.write(UInt32(truncatingIfNeeded: initrd.size), at: ZeroPageField.ramdiskSize)
            page.write(UInt32(truncatingIfNeeded: initrd.size >> 32), at: ZeroPageField.extRamdiskSize)
        }

        // boot_params.acpi_rsdp_addr (zero-page.rst, offset 0x070). Boot protocol 2.14
        // first put an RSDP field in the setup header; boot.rst ("Protocol 2.14") now
        // says not to use that one, and kernels read this one.
        if let rsdp = inputs.acpiRSDP { page.write(rsdp.rawValue, at: ZeroPageField.acpiRSDPAddr) }

        let table = inputs.e820.tableBytes
        precondition(inputs.e820.entries.count <= ZeroPageField.e820MaxEntries, "too many e820 entries")
        page.write(UInt8(inputs.e820.entries.count), at: ZeroPageField.e820Entries)
        page.bytes.replaceSubrange(ZeroPageField.e820Table..<ZeroPageField.e820Table + table.count, with: table)
        return page.bytes
    }
}
