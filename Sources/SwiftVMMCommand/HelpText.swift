import Virtio
import VMM

/// The text of `swiftvmm --help`.
enum HelpText {
    /// What `--version` prints.
    static let version = "swiftvmm 0.1.0"

    /// What `--help` prints: every command, flag and exit status.
    static let usage = """
        swiftvmm: a minimal KVM virtual machine monitor

        USAGE
          swiftvmm run [--kernel PATH] [--initrd PATH] [--cmdline STRING]
                       [--memory SIZE] [--cpus N] [--disk PATH[,OPTION...]]...
                       [--vsock cid=N,uds=PATH]
                       [--net tap=NAME|user[,OPTION...]]... [--rng [OPTION,...]]
                       [--trace [WHAT]] [--trace-file PATH] [--stats] [--stats-json PATH]
                       [--ready-marker STRING] [--expect STRING] [--timeout SECONDS]
          swiftvmm firecracker [--api-sock PATH] [--config-file FILE] ...
                                  Firecracker's command line and REST API (see
                                  swiftvmm firecracker --help); also when swiftvmm is
                                  started through a link named firecracker
          swiftvmm host           what this host's KVM offers, and whether SwiftVMM runs here
          swiftvmm --help | --version

        RUN
          --kernel PATH     a Linux kernel: bzImage (vmlinuz) or ELF vmlinux. Without it,
                            a small demo guest built into swiftvmm boots instead.
          --initrd PATH     an initial ramdisk (initramfs) for the kernel
          --cmdline STRING  the kernel command line
                            (default: "\(MachineConfiguration.defaultCommandLine)")
          --memory SIZE     guest RAM: 512M, 2G, or a plain number of MiB (default 512M)
          --cpus N          virtual CPUs, 1 up to this host's KVM limit (default 1); the
                            guest finds them in its ACPI tables and starts them itself
          --disk PATH[,readonly=on][,transport=pci|mmio][,io=vcpu|thread]
                            a virtio block device backed by the raw image PATH, whose
                            size must be a multiple of 512; repeat for more disks.
                            The image is locked: no other VM may write it meanwhile.
                            readonly=on  the guest may read but not write it
                            transport    pci (default): virtio-pci on PCI bus 0;
                                         mmio: virtio-mmio, announced to Linux with
                                         virtio_mmio.device= on its command line
                            io           vcpu (default): requests served on the vCPU
                                         thread; thread: on the disk's own I/O thread
                                         (ioeventfd and irqfd)
          --vsock cid=N,uds=PATH
                            a virtio-vsock device: the guest's CID N (3 or more), its host
                            side the Unix socket PATH (created mode 0600). A host program
                            connects to PATH and writes "CONNECT PORT\n" to reach a guest
                            listener (answered "OK HOSTPORT\n"); a guest connection to
                            host port P reaches a program listening at PATH_P
          --net tap=NAME[,mac=MAC][,transport=pci|mmio][,offload=on|off]
                            a virtio network device on the host's tap device NAME
                            (attached to, or created when swiftvmm may: as root); the
                            checksum and TSO offloads pass through unless offload=off
          --net user[,hostfwd=tcp:HOSTPORT-:GUESTPORT]...[,mac=MAC][,transport=pci|mmio]
                            a virtio network device on user-mode networking through
                            passt (apt-get install passt), no privileges needed;
                            hostfwd passes a host port to a guest port (tcp or udp)
                            Repeat --net for more devices. mac: the card's address
                            (default: one derived from the backend, the same each run)
          --rng [transport=pci|mmio][,rate=BYTES]
                            a virtio entropy device fed from the host's getrandom,
                            at most BYTES a second (default \(VirtioRNG.defaultRate))

        SEEING INSIDE
          --trace [WHAT]    one line per event on stderr: time since start, vCPU, exit
                            reason, port or address, size, value, and the device that
                            handled it ("unhandled" for none). WHAT is any of exits (every
                            exit), io (port I/O), mmio, virtio (queue notifications,
                            requests, interrupts, status changes) or all, comma-separated;
                            alone, --trace means all
          --trace-file PATH the trace goes to PATH instead of stderr
          --stats           when the machine stops, a table on stderr: exits by reason and
                            by device (count, total and mean handling time), time in KVM_RUN
                            and in SwiftVMM per vCPU, bytes each disk read and wrote, and
                            the boot timeline (VM ready, first guest instruction, first
                            console byte, ready marker, exit)
          --stats-json PATH the same statistics as JSON, written to PATH
          --ready-marker STRING
                            the time STRING first appears on the console is a milestone
                            of the timeline (needs --stats or --stats-json)

        BOOT CHECKS (CI)
          --expect STRING   stop the guest and exit 0 as soon as STRING appears on the
                            console (also when split across writes)
          --timeout SECONDS stop a guest still running after SECONDS (e.g. 30, 2.5):
                            status \(ExitStatus.timedOut), with the last console lines and
                            each vCPU's RIP (running or halted) on stderr

        CONSOLE
          The guest's first serial port (ttyS0) is this terminal: its output goes to
          stdout, and what you type goes to the guest. Ctrl-A x quits; Ctrl-A h helps.

        ENVIRONMENT
          SWIFTVMM_KVM_DEVICE   the KVM device to open instead of /dev/kvm
          SWIFTVMM_TUN_DEVICE   the tun/tap device to open instead of /dev/net/tun

        EXIT STATUS
          0     the guest reset or powered off the machine (Linux 'reboot' or
                'poweroff'), you quit with Ctrl-A x, or --expect's STRING appeared
          1,3,5,...,255
                the guest wrote v to the isa-debug-exit port 0xf4: status (v << 1) | 1
          \(ExitStatus.badInput)     bad input: usage, a missing or broken kernel/initrd/disk image,
                a disk image in use by another VM, a bad size, a bad MAC, a tap this
                user may not create, a forwarded port in use; no VM was started
          \(ExitStatus.hostError)     the host cannot run the VM: /dev/kvm missing or not accessible,
                a KVM capability missing, a KVM call failed while building the VM,
                /dev/net/tun missing or not accessible, passt not installed
          \(ExitStatus.guestCrashed)     the guest crashed: triple fault, or KVM could not emulate or
                enter the guest (the message shows RIP and the instruction bytes)
          \(ExitStatus.expectedOutputMissing)     --expect: the guest reset or powered off before STRING appeared
          \(ExitStatus.timedOut)   --timeout: the time ran out (with or without --expect)
          130, 143
                stopped by SIGINT or SIGTERM (128 + signal number)
        """
}
