#!/usr/bin/env python3
"""The nested Linux test bed: SwiftVMM booting Debian's stock kernel on a host with
hardware-assisted KVM, checked scenario by scenario.

Machines without VT-x/AMD-V cannot run Linux fast enough under KVM, but QEMU's TCG
emulates AMD-V: inside a QEMU guest (L1), Debian's kvm-amd gives an ordinary
hardware-assisted /dev/kvm, on which SwiftVMM runs a Linux guest (L2).

    testbed.py --swiftvmm PATH [--list] [SCENARIO ...]
    testbed.py --swiftvmm PATH --compare REPEATS
    testbed.py --swiftvmm PATH --compare-net REPEATS [--net-mib MIB]

builds, under guest-images/linux/out/nested/ (never committed):
  - testbed-tool (testbed-tool.c, static), for vsock, Unix sockets and HTTP;
  - L2's initramfs: busybox, l2-init as /init, the kernel's virtio modules, testbed-tool;
  - L2's root file system: an ext4 image made with mkfs.ext4 -d from a busybox tree,
    with l2-init as /sbin/init;
  - L1's initramfs: busybox, l1-init as /init, the scenarios (l1-scenarios.sh), KVM's
    and the network's modules, the static swiftvmm and passt with the shared libraries
    ldd lists, testbed-tool, and L2's kernel, initramfs and root image;
then boots L1 under QEMU TCG with the scenarios named on its command line, reads what
it prints, and checks each scenario: one line of facts for each, and for a failure,
what was missing and the last console lines. Exit status 0 when every scenario passed.

With --compare, L1 also holds QEMU (its binary, libraries and firmware) and bootclock
(benchmarks/bootclock.c, built static), and runs SwiftVMM and QEMU (-M microvm,
-M microvm,rtc=on, -M pc, all with -accel kvm) side by side on the same L2, REPEATS times
each in rotating order: the medians of the time to L2's user-space marker, to the VMM's
exit, and of the VMM's peak RSS, and every line of L2's kernel log that differs between
SwiftVMM and QEMU.

With --compare-net, the same L1 runs net-tap's transfer (L2 sends MIB MiB over TCP
through a tap to L1) under SwiftVMM and under QEMU (-M pc, virtio-net-pci, vhost=off),
REPEATS times each in turns: the time from the first byte to the last on L1, the whole
run's time, L2's virtio-net interrupts, and whether every byte arrived intact.

scripts/nested/boot.sh installs what this needs and builds swiftvmm; use that.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LINUX = os.path.join(ROOT, "guest-images", "linux")
sys.path.insert(0, LINUX)
from initramfs_archive import Archive, Modules  # noqa: E402
import checks  # noqa: E402  (scripts/nested/checks.py)
import comparison  # noqa: E402  (scripts/nested/comparison.py)

OUT = os.path.join(LINUX, "out", "nested")
DOWNLOADS = os.path.join(LINUX, "downloads")

# L2's modules: virtio over PCI and MMIO, the block, network, entropy and vsock devices.
# ext4 is built into Debian's cloud kernel.
L2_MODULES = ["virtio_pci", "virtio_mmio", "virtio_blk", "virtio_net", "virtio-rng", "vmw_vsock_virtio_transport"]
# L1's: KVM for AMD-V, loop devices for the block-device scenario, tap devices and a
# dummy interface for the network scenarios.
L1_MODULES = ["kvm_amd", "loop", "tun", "dummy"]
# The L1 machine: QEMU's TCG emulating an AMD CPU with SVM and nested paging
# (TESTBED_L1_CPU names another QEMU CPU model, for instance max).
QEMU_CPU = os.environ.get("TESTBED_L1_CPU", "qemu64,+svm,+npt")
# How QEMU's TCG runs L1's vCPUs: one host thread each (multi) or all on one (single).
TCG_THREADS = os.environ.get("TESTBED_TCG_THREAD", "multi")
L1_MEMORY = "2G"
L1_CPUS = 2
# Every scenario, in the order they run.
SCENARIOS = ["cpus-1", "cpus-2", "cpus-4", "disks", "rootfs", "readonly", "blockdev", "poweroff",
             "expect", "ctrl-a-x", "net-tap", "net-user", "vsock", "api"]
# ESC c (reset) and ESC [ ... (control sequences), as the firmware writes them.
TERMINAL_CONTROL = re.compile(r"\x1bc|\x1b\[[0-9;?]*[A-Za-z]")
# What QEMU's x86 machines load from its data directory (-L): microvm's qboot, the PC's
# SeaBIOS and the option ROMs of its direct kernel boot.
# Debian keeps them in QEMU's own directory and in SeaBIOS's.
QEMU_DATA = ["/usr/share/qemu", "/usr/share/seabios"]
QEMU_FIRMWARE = ["bios-microvm.bin", "bios-256k.bin", "kvmvapic.bin", "linuxboot_dma.bin", "linuxboot.bin"]
# How long one whole QEMU run may take before the test bed gives up on it.
QEMU_TIMEOUT_SECONDS = 900
# How long all attempts together may take before no further one starts.
RETRY_BUDGET_SECONDS = 2100


def log(message):
    print(f"testbed: {message}", file=sys.stderr, flush=True)


def kernel_and_modules():
    kernel = subprocess.run([os.path.join(ROOT, "scripts", "fetch-linux.sh")], check=True,
                            stdout=subprocess.PIPE, text=True).stdout.strip()
    version = os.path.basename(kernel)[len("vmlinuz-"):]
    return kernel, os.path.join(DOWNLOADS, "lib", "modules", version)


def busybox():
    """Debian's busybox-static, downloaded as build-initramfs.sh does."""
    path = os.path.join(DOWNLOADS, "busybox-static", "bin", "busybox")
    if not os.path.exists(path):
        log("downloading busybox-static")
        subprocess.run(["apt-get", "download", "-qq", "busybox-static"], cwd=DOWNLOADS, check=True)
        deb = sorted(f for f in os.listdir(DOWNLOADS) if f.startswith("busybox-static_"))[-1]
        subprocess.run(["dpkg-deb", "-x", os.path.join(DOWNLOADS, deb),
                        os.path.join(DOWNLOADS, "busybox-static")], check=True)
    return path


def build_testbed_tool():
    """scripts/nested/testbed-tool.c, static: it runs in L1 and in L2."""
    tool = os.path.join(OUT, "testbed-tool")
    subprocess.run(["gcc", "-O2", "-static", "-Wall", "-Wextra", "-Werror", "-o", tool,
                    os.path.join(HERE, "testbed-tool.c")], check=True)
    return tool


def build_l2_initramfs(modules, box, tool):
    archive = Archive()
    for directory in ["bin", "dev", "proc", "sys", "tmp", "newroot"]:
        archive.directory(directory)
    archive.character_device("dev/console", 5, 1)
    archive.copy("bin/busybox", box, 0o755)
    for applet in applets(box):
        archive.symlink(f"bin/{applet}", "busybox")
    archive.copy("init", os.path.join(HERE, "l2-init"), 0o755)
    archive.copy("bin/testbed-tool", tool, 0o755)
    archive.copy("bin/udhcpc-script", os.path.join(HERE, "l2-udhcpc"), 0o755)
    archive.file("testbed-initramfs", b"")
    modules.add_to(archive, L2_MODULES)
    path = os.path.join(OUT, "l2-initramfs.img")
    archive.write(path)
    return path


def build_l2_root(box, tool):
    """An ext4 image of a busybox tree whose /sbin/init is l2-init."""
    tree = os.path.join(OUT, "l2-root")
    shutil.rmtree(tree, ignore_errors=True)
    for directory in ["bin", "sbin", "dev", "proc", "sys", "tmp", "etc"]:
        os.makedirs(os.path.join(tree, directory))
    shutil.copy(box, os.path.join(tree, "bin", "busybox"))
    os.chmod(os.path.join(tree, "bin", "busybox"), 0o755)
    for applet in applets(box):
        os.symlink("busybox", os.path.join(tree, "bin", applet))
    shutil.copy(os.path.join(HERE, "l2-init"), os.path.join(tree, "sbin", "init"))
    os.chmod(os.path.join(tree, "sbin", "init"), 0o755)
    shutil.copy(tool, os.path.join(tree, "bin", "testbed-tool"))
    os.chmod(os.path.join(tree, "bin", "testbed-tool"), 0o755)
    image = os.path.join(OUT, "l2-root.img")
    if os.path.exists(image):
        os.remove(image)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "testbed-root", "-d", tree, image, "32M"], check=True)
    shutil.rmtree(tree)
    return image


def applets(box):
    """The names busybox answers to, but its own."""
    listed = subprocess.run([box, "--list"], check=True, stdout=subprocess.PIPE, text=True).stdout.split()
    return [name for name in listed if "/" not in name and name != "busybox"]


def shared_libraries(binary):
    """The shared libraries `ldd` lists for `binary`, by the paths the loader wants."""
    output = subprocess.run(["ldd", binary], stdout=subprocess.PIPE, text=True).stdout
    paths = []
    for line in output.splitlines():
        match = re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", line)
        if match:
            paths.append(match.group(1))
    return paths


def build_l1_initramfs(kernel, modules, box, tool, swiftvmm, l2_initramfs, l2_root, comparing=False):
    archive = Archive()
    if comparing:
        add_comparison_tools(archive)
    for directory in ["bin", "dev", "proc", "sys", "tmp"]:
        archive.directory(directory)
    archive.character_device("dev/console", 5, 1)
    archive.copy("bin/busybox", box, 0o755)
    archive.copy("init", os.path.join(HERE, "l1-init"), 0o755)
    archive.copy("testbed/scenarios.sh", os.path.join(HERE, "l1-scenarios.sh"), 0o644)
    archive.copy("testbed/swiftvmm", swiftvmm, 0o755)
    archive.copy("testbed/testbed-tool", tool, 0o755)
    # passt, for --net user: SwiftVMM finds it on PATH.
    passt = shutil.which("passt")
    archive.copy("usr/bin/passt", passt, 0o755)
    for binary in [swiftvmm, passt]:
        for library in shared_libraries(binary):
            if library not in archive_paths(archive):
                archive.copy(library, os.path.realpath(library), 0o755)
    modules.add_to(archive, L1_MODULES)
    archive.copy("l2/vmlinuz", kernel, 0o644)
    archive.copy("l2/initramfs.img", l2_initramfs, 0o644)
    archive.copy("l2/root.img", l2_root, 0o644)
    path = os.path.join(OUT, "l1-initramfs.img")
    # Uncompressed: decompressing tens of MiB under TCG would take L1 seconds.
    archive.write(path, compress=False)
    return path


def add_comparison_tools(archive):
    """QEMU (binary, the libraries ldd lists, the firmware its x86 machines load), and
    bootclock and slotwait built static, for the side-by-side figures."""
    qemu = shutil.which("qemu-system-x86_64")
    archive.copy("testbed/qemu/qemu-system-x86_64", qemu, 0o755)
    for library in shared_libraries(qemu):
        archive.copy(library, os.path.realpath(library), 0o755)
    for name in QEMU_FIRMWARE:
        found = [os.path.join(d, name) for d in QEMU_DATA if os.path.exists(os.path.join(d, name))]
        if not found:
            sys.exit(f"testbed: QEMU's firmware {name} is in none of {', '.join(QEMU_DATA)}")
        archive.copy(f"testbed/qemu/share/{name}", os.path.realpath(found[0]), 0o644)
    # bootclock times each VMM; slotwait times L1's KVM installing a memory slot.
    for tool in ["bootclock", "slotwait"]:
        path = os.path.join(OUT, tool)
        subprocess.run(["gcc", "-O2", "-static", "-Wall", "-Wextra", "-Werror", "-o", path,
                        os.path.join(ROOT, "benchmarks", f"{tool}.c")], check=True)
        archive.copy(f"testbed/{tool}", path, 0o755)


def archive_paths(archive):
    return {"/" + entry[0] for entry in archive.entries}


def boot_l1(kernel, initramfs, scenarios, transcript, extra="", limit=QEMU_TIMEOUT_SECONDS):
    """Boots L1 under QEMU TCG with `scenarios`; returns its console, also written to
    `transcript`. Prints scenario progress as it comes; stops L1 after `limit` seconds."""
    command = [
        "qemu-system-x86_64", "-accel", f"tcg,thread={TCG_THREADS}", "-cpu", QEMU_CPU,
        "-smp", str(L1_CPUS), "-m", L1_MEMORY, "-nographic", "-no-reboot",
        "-kernel", kernel, "-initrd", initramfs,
        "-append", f"console=ttyS0 panic=-1 loglevel=1 testbed.scenarios={','.join(scenarios)}{extra}",
    ]
    log(f"booting L1: {' '.join(command)}")
    lines = []
    started = time.monotonic()
    # The transcript is written a line at a time: it shows a run still going, or hung.
    with open(transcript, "w", buffering=1) as out, subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as qemu:
        # A timer, not a test between lines: an L1 that hangs prints nothing more, and
        # the loop below would wait for its next line for ever.
        def stop_l1():
            log(f"L1 ran for more than {limit} s: stopping it")
            qemu.kill()
        watchdog = threading.Timer(limit, stop_l1)
        watchdog.start()
        try:
            for raw in qemu.stdout:
                # Terminal control sequences (QEMU's firmware clears the screen) go.
                line = TERMINAL_CONTROL.sub("", raw.decode("utf-8", "replace")).replace("\r", "").rstrip("\n")
                # L1's first line may follow the firmware's text that ended in no newline.
                if "@@ " in line and not line.startswith(("| ", "! ", "@@ ")):
                    line = line[line.index("@@ "):]
                out.write(line + "\n")
                lines.append(line)
                if line.startswith(("@@ begin", "@@ l1", "@@ stuck")):
                    log(f"{time.monotonic() - started:6.1f}s {line[3:]}")
        finally:
            watchdog.cancel()
            if qemu.poll() is None:
                qemu.kill()
    log(f"L1 ran {time.monotonic() - started:.1f} s; console in {transcript}")
    return lines


# How many times a scenario may run when its L2 crashed or stalled the way the emulated
# host makes it (`host_crash`), and how many L1s may boot for them in all.
ATTEMPTS = int(os.environ.get("TESTBED_ATTEMPTS", "4"))
MAX_L1_BOOTS = ATTEMPTS + 2


def scenario_lines(name, lines):
    """L1's console lines of scenario `name`, from its first begin to its end."""
    inside, found = False, []
    for line in lines:
        if line == f"@@ begin {name}":
            inside = True
        if inside:
            found.append(line)
        if line == f"@@ end {name}":
            break
    return found


# How host_crash says a scenario never began: L1 died during an earlier one. It costs
# the scenario no attempt.
NOT_BEGUN = "L1 stopped before the scenario began"
# How host_crash says L1 died during the scenario: it runs last in the next L1, so that
# it cannot keep the others from running.
L1_DIED = "L1 stopped before the scenario's end"


def host_crash(name, lines):
    """How scenario `name` ended, if it ended as the emulated host makes L2 end: a triple
    fault (KVM_EXIT_SHUTDOWN), a VMM thread stuck in L1's kernel (l1-scenarios.sh's
    wait_vmm), L1 gone before the scenario's end, or L2 stalled with a
    vCPU runnable but going nowhere until SwiftVMM's --timeout stopped it (the stalls
    this host shows: an RCU stall on that CPU and no NMI backtrace, or no word at all);
    None otherwise."""
    own = scenario_lines(name, lines)
    if not own:
        return NOT_BEGUN
    faults = [line for line in own if "the guest triple-faulted" in line]
    if faults:
        return faults[0].lstrip("! ")[:100]
    stuck = [line for line in own if line.startswith(f"@@ stuck {name} ")]
    if stuck:
        return "SwiftVMM stuck in L1's kernel past its --timeout (L1 powered off)"
    if f"@@ end {name}" not in own:
        return L1_DIED
    timed_out = any(line.startswith("! swiftvmm: timed out after") for line in own)
    spinning = [line.lstrip("! ").strip() for line in own if re.match(r"! +vCPU \d+ running at RIP", line)]
    if timed_out and spinning:
        return f"L2 stalled ({', '.join(spinning)})"
    return None


def run_with_retries(scenarios, boot):
    """Runs `scenarios` in L1s that `boot(names, transcript)` boots, each returning its
    console; returns the results, the host crashes each retried scenario met, and each
    one's attempts."""
    lines = boot(scenarios, "l1-console.log")
    results = checks.check_all(scenarios, lines)
    # A scenario whose L2 triple-faulted or stalled, or whose L1 died, runs again in a
    # fresh L1, up to ATTEMPTS times in all: on some days the emulated AMD-V of QEMU's TCG
    # crashes or stalls stock Linux guests at random points (SwiftVMM's build of the day
    # before crashes alike, and so does QEMU's own L2 in the same L1). A fault of
    # SwiftVMM's own fails every attempt. Every retry is printed; any other failure
    # stands at once. A scenario that never began (L1 died during an earlier one) has
    # not had an attempt, and the one L1 died during runs last in the next L1, so that
    # one L1 crash does not cost the scenarios after it their attempts.
    retried, attempts = {}, {}
    began = time.monotonic()
    ran, boots = scenarios, 1
    while True:
        # Only the scenarios this L1 ran: the others' lines are in an earlier console.
        crashes = {r.name: host_crash(r.name, lines) for r in results if not r.passed and r.name in ran}
        for name in ran:
            if crashes.get(name) != NOT_BEGUN:
                attempts[name] = attempts.get(name, 0) + 1
        again = [name for name, crash in crashes.items() if crash and attempts.get(name, 0) < ATTEMPTS]
        if not again or boots >= MAX_L1_BOOTS or time.monotonic() - began > RETRY_BUDGET_SECONDS:
            break
        for name in again:
            if crashes[name] == NOT_BEGUN:
                print(f"testbed: {name} did not begin (L1 stopped during an earlier scenario); it runs again",
                      file=sys.stderr)
            else:
                print(f"testbed: attempt {attempts[name]} of {name} failed, likely the emulated host: "
                      f"{crashes[name]}", file=sys.stderr)
            retried.setdefault(name, []).append(crashes[name])
        ran = [name for name in again if crashes[name] != L1_DIED] + [name for name in again if crashes[name] == L1_DIED]
        boots += 1
        lines = boot(ran, f"l1-console-attempt{boots}.log")
        fresh = {r.name: r for r in checks.check_all(ran, lines)}
        results = [fresh.get(r.name, r) for r in results]
    return results, retried, attempts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--swiftvmm", required=True, help="a static release build of swiftvmm")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument("--compare", type=int, metavar="REPEATS",
                        help="measure SwiftVMM beside QEMU instead, REPEATS runs each")
    parser.add_argument("--compare-cpus", type=int, default=2, metavar="N",
                        help="the vCPUs of the guest --compare and --compare-net boot (default 2)")
    parser.add_argument("--compare-net", type=int, metavar="REPEATS",
                        help="measure net-tap's transfer under SwiftVMM beside QEMU instead, REPEATS runs each")
    parser.add_argument("--net-mib", type=int, default=64, metavar="MIB",
                        help="the MiB --compare-net's guest sends (default 64)")
    parser.add_argument("scenarios", nargs="*", help=f"scenarios to run (default: all): {' '.join(SCENARIOS)}")
    arguments = parser.parse_args()
    if arguments.list:
        print("\n".join(SCENARIOS))
        return 0
    unknown = [s for s in arguments.scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}; the scenarios are {' '.join(SCENARIOS)}")
    scenarios = arguments.scenarios or SCENARIOS

    os.makedirs(OUT, exist_ok=True)
    kernel, modules_dir = kernel_and_modules()
    modules = Modules(modules_dir)
    box = busybox()
    tool = build_testbed_tool()
    l2_initramfs = build_l2_initramfs(modules, box, tool)
    l2_root = build_l2_root(box, tool)
    comparing = arguments.compare is not None or arguments.compare_net is not None
    l1_initramfs = build_l1_initramfs(kernel, modules, box, tool, arguments.swiftvmm, l2_initramfs, l2_root, comparing)
    log(f"L1 initramfs {os.path.getsize(l1_initramfs) >> 20} MiB, L2 kernel {os.path.basename(kernel)}")
    if arguments.compare_net is not None:
        # L1's boot, then each run: L2's boot and about a second a MiB at worst.
        runs = 2 * arguments.compare_net
        lines = boot_l1(kernel, l1_initramfs, ["compare-net"], os.path.join(OUT, "l1-compare-net.log"),
                        extra=f" testbed.repeats={arguments.compare_net} testbed.cpus={arguments.compare_cpus}"
                              f" testbed.mib={arguments.net_mib}",
                        limit=QEMU_TIMEOUT_SECONDS + runs * (60 + arguments.net_mib))
        return comparison.report_net(lines, arguments.net_mib)
    if comparing:
        lines = boot_l1(kernel, l1_initramfs, ["compare"], os.path.join(OUT, "l1-compare.log"),
                        extra=f" testbed.repeats={arguments.compare} testbed.cpus={arguments.compare_cpus}")
        return comparison.report(lines)

    def boot(names, transcript):
        return boot_l1(kernel, l1_initramfs, names, os.path.join(OUT, transcript))
    results, retried, attempts = run_with_retries(scenarios, boot)
    failed = [r for r in results if not r.passed]
    for result in results:
        note = f"  (attempt {attempts.get(result.name, 0)}; before: {'; '.join(retried[result.name])})" \
            if result.name in retried else ""
        print(result.summary() + note)
    for result in failed:
        print(result.details(), file=sys.stderr)
    print(f"testbed: {len(results) - len(failed)} of {len(results)} scenarios passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
