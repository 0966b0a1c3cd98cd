#!/usr/bin/env python3
"""SwiftVMM's benchmarks: each figure measured side by side with its references.

Run it through scripts/bench.sh, which builds swiftvmm (release) and refvmm and passes
their paths here. docs/PERFORMANCE.md explains the figures and holds the results.

Every number printed is measured in this run: each figure runs every VMM once per
repeat, in turn, so the machine's noise hits them alike; it prints min, median and max
over the repeats and the ratio of medians to the reference.
"""
import argparse
import datetime
import os
import platform
import re
import select
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time

# The test guest's command lines (README.md, "The test guest"). Every run ends with
# testguest.exit=0: isa-debug-exit value 0, process status (0 << 1) | 1 = 1, in
# SwiftVMM, refvmm and QEMU alike (QEMU's microvm has no i8042 to reset through).
GUEST_EXIT = "testguest.exit=0"
EXIT_STATUS = 1
# testguest.noacpi: the guest skips ACPI and SMP, so it does the same work on every VMM
# (refvmm builds no ACPI tables, and searching the BIOS area for them takes ~0.1 s here).
QUIET = "testguest.quiet testguest.noacpi"
# The guest prints this, then polls the UART for input: alive, idle, for sampling.
WAITING_MARKER = b"echo: send"
MIB = 1 << 20


# --- Statistics and printing ----------------------------------------------------------

def summary(samples):
    return min(samples), statistics.median(samples), max(samples)


def print_table(title, unit, rows, reference=None, digits=2, target=None, checked=()):
    """rows: [(name, samples)]; prints min/median/max and the ratio to `reference`.
    target: (limit, what), checked on the rows named in `checked`. Returns the ratios."""
    print(f"\n{title}")
    print(f"  {'':26} {'min':>10} {'median':>10} {'max':>10}  ({unit})  ratio to {reference or '-'}")
    medians = {name: statistics.median(s) for name, s in rows if s}
    ratios = {}
    for name, samples in rows:
        if not samples:
            print(f"  {name:26} {'failed':>10}")
            continue
        low, mid, high = summary(samples)
        line = f"  {name:26} {low:10.{digits}f} {mid:10.{digits}f} {high:10.{digits}f}"
        if reference in medians and medians[reference] > 0:
            ratios[name] = mid / medians[reference]
            line += f"  {'':>{len(unit) + 2}}  {ratios[name]:.3f}x"
            if target and name in checked:
                limit, what = target
                line += f"   target {what} <= {limit:.2f}x: {'met' if ratios[name] <= limit else 'MISSED'}"
        print(line)
    return ratios


def note(text):
    print(f"  {text}")


# --- Running a VMM ---------------------------------------------------------------------

class RunFailed(Exception):
    pass


class Run:
    """One VMM process: times from just before spawning it, and its CPU use."""

    def __init__(self, first_byte, exit, status, user, system, output):
        self.first_byte, self.exit, self.status = first_byte, exit, status
        self.user, self.system, self.output = user, system, output


def run(command, expect_status=EXIT_STATUS, timeout=300):
    """Runs `command` with stdin from /dev/null; returns the times to its first byte
    on stdout and to its exit, its status and rusage."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors)
        first, chunks = None, []
        fd = process.stdout.fileno()
        while True:
            ready, _, _ = select.select([fd], [], [], max(0.0, start + timeout - time.perf_counter()))
            if not ready:
                process.kill()
                process.wait()
                raise RunFailed(f"timed out after {timeout} s: {shlex.join(command)}")
            data = os.read(fd, 65536)
            if not data:
                break
            if first is None:
                first = time.perf_counter() - start
            chunks.append(data)
        _, wait_status, usage = os.wait4(process.pid, 0)
        end = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(wait_status)
        process.stdout.close()
        if process.returncode != expect_status:
            errors.seek(0)
            tail = errors.read().decode(errors="replace").strip().splitlines()[-3:]
            raise RunFailed(f"status {process.returncode}, expected {expect_status}: "
                            f"{shlex.join(command)}\n    " + "\n    ".join(tail))
        return Run(first, end, process.returncode, usage.ru_utime, usage.ru_stime, b"".join(chunks))


def terminate(process):
    """Stops a VMM started for a measurement: SIGTERM, then SIGKILL after 30 s."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def smaps_fields(lines):
    fields = {}
    for line in lines:
        match = re.match(r"(\w+):\s+(\d+) kB", line)
        if match:
            fields[match.group(1)] = int(match.group(2))
    return fields


def guest_mapping(pid, ram_bytes):
    """The smaps entry of guest RAM: the smallest anonymous mapping at least as large
    as the guest's RAM (SwiftVMM and refvmm map exactly that; QEMU a little more)."""
    entries, current = [], None
    with open(f"/proc/{pid}/smaps") as smaps:
        for line in smaps:
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                current = [line]
                entries.append(current)
            elif current is not None:
                current.append(line)
    best = None
    for entry in entries:
        header = entry[0].split()
        fields = smaps_fields(entry[1:])
        anonymous = len(header) < 6  # no path: an anonymous mapping
        if anonymous and fields.get("Size", 0) * 1024 >= ram_bytes:
            if best is None or fields["Size"] < best["Size"]:
                best = fields
    return best


class MemorySample:
    """The VMM's own memory: smaps_rollup's Private_Dirty and Anonymous, less guest
    RAM's (what the guest and KVM touched in it), in MiB."""

    def __init__(self, rollup, guest):
        self.private = (rollup["Private_Dirty"] - guest.get("Private_Dirty", 0)) / 1024
        self.anonymous = (rollup["Anonymous"] - guest.get("Anonymous", 0)) / 1024
        self.guest_touched = guest.get("Rss", 0) / 1024
        self.rss = rollup["Rss"] / 1024

    @property
    def overhead(self):
        return max(self.private, self.anonymous)


def sample_memory(command, ram_bytes, settle=0.3, timeout=120):
    """Starts `command` (a guest that waits for console input), samples its memory
    once the guest is waiting, then stops it with SIGTERM."""
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors)
        try:
            output, deadline = b"", time.monotonic() + timeout
            while WAITING_MARKER not in output:
                ready, _, _ = select.select([process.stdout], [], [], max(0.0, deadline - time.monotonic()))
                data = os.read(process.stdout.fileno(), 65536) if ready else b""
                if not data:
                    errors.seek(0)
                    tail = errors.read().decode(errors="replace").strip().splitlines()[-3:]
                    raise RunFailed(f"the guest never waited for input: {shlex.join(command)}\n    "
                                    + "\n    ".join(tail))
                output += data
            time.sleep(settle)
            with open(f"/proc/{process.pid}/smaps_rollup") as rollup_file:
                rollup = smaps_fields(rollup_file)
            guest = guest_mapping(process.pid, ram_bytes)
            if guest is None:
                raise RunFailed(f"no mapping of {ram_bytes >> 20} MiB (guest RAM) in /proc/{process.pid}/smaps")
            return MemorySample(rollup, guest)
        finally:
            terminate(process)
            process.stdout.close()
            process.stdin.close()


# --- The VMMs ----------------------------------------------------------------------------

class VMM:
    """How to start one VMM on the test guest."""

    def __init__(self, name, kind, binary, guest_dir, extra=()):
        self.name, self.kind, self.binary, self.extra = name, kind, binary, list(extra)
        self.elf = os.path.join(guest_dir, "testguest.elf")
        self.bzimage = os.path.join(guest_dir, "testguest.img")

    def command(self, cmdline, memory_mib=128, cpus=1, disk=None, net=None):
        """disk: a Disk, for the VMMs that have one (not refvmm); net: a tap's name, for a
        virtio-net device on virtio-mmio over it (netfigure.py)."""
        if self.kind == "swiftvmm":
            disk_flags = ["--disk", f"{disk.path},transport={disk.transport},io={disk.io}"] if disk else []
            net_flags = ["--net", f"tap={net},transport=mmio"] if net else []
            return [self.binary, "run", *self.extra, "--kernel", self.elf, "--memory", f"{memory_mib}M",
                    "--cpus", str(cpus), *disk_flags, *net_flags, "--cmdline", cmdline]
        if self.kind == "refvmm":
            return [self.binary, "-m", str(memory_mib), self.elf, cmdline]
        if self.kind == "qemu":
            # microvm, KVM, the same bzImage (entered through its real-mode stub), the
            # serial console on stdout and isa-debug-exit at SwiftVMM's port.
            machine, disk_flags = "microvm", []
            if disk:
                # A virtio-blk-device on one of microvm's virtio-mmio transports, version 2
                # (QEMU's default is the legacy version 1, which the test guest does not
                # drive), the image through the host's page cache. Without ACPI, QEMU
                # appends `virtio_mmio.device=512@0xfeb00e00:12` to the command line, as the
                # test guest finds virtio-mmio devices.
                machine = "microvm,acpi=off"
                disk_flags = ["-global", "virtio-mmio.force-legacy=false",
                              "-drive", f"file={disk.path},format=raw,if=none,id=disk0,cache=writeback",
                              "-device", "virtio-blk-device,drive=disk0"]
            if net:
                # virtio-net-device on a virtio-mmio transport, version 2, over the tap,
                # served in QEMU's main loop (vhost=off), as SwiftVMM serves it in its own.
                machine = "microvm,acpi=off"
                disk_flags += ["-global", "virtio-mmio.force-legacy=false",
                               "-netdev", f"tap,id=net0,ifname={net},script=no,downscript=no,vhost=off",
                               "-device", "virtio-net-device,netdev=net0"]
            return [self.binary, "-M", machine, "-accel", "kvm", "-m", f"{memory_mib}M",
                    "-smp", str(cpus), "-nodefaults", "-no-user-config", "-nographic",
                    "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                    *disk_flags, "-kernel", self.bzimage, "-append", cmdline, *self.extra]
        raise ValueError(self.kind)


class Disk:
    """A disk image and how a VMM attaches it (SwiftVMM's --disk transport= and io=)."""

    def __init__(self, path, transport="mmio", io="thread"):
        self.path, self.transport, self.io = path, transport, io


# --- The figures ---------------------------------------------------------------------------

FIGURES = {}


def figure(key):
    def register(function):
        FIGURES[key] = function
        return function
    return register


def rotated(items, repeat):
    """The VMMs in a different order each repeat, so none always runs first."""
    shift = repeat % len(items)
    return items[shift:] + items[:shift]


def exits_kinds():
    return [("port", "testguest.outs", "OUT to port 0x80, ignored"),
            ("mmio", "testguest.mmio", "write to unbacked MMIO 0xfe000000")]


@figure("exits")
def figure_exits(ctx):
    """Figure 1: per-exit cost = (time with N exits - time with 0 exits) / N."""
    vmms = [ctx.reference] + ctx.swiftvmms
    n = ctx.args.exits
    for kind, option, what in exits_kinds():
        wall = {v.name: [] for v in vmms}
        cpu = {v.name: [] for v in vmms}
        user = {v.name: [] for v in vmms}
        for repeat in range(ctx.args.repeats):
            for vmm in rotated(vmms, repeat):
                try:
                    zero = run(vmm.command(f"{QUIET} {option}=0 {GUEST_EXIT}"))
                    many = run(vmm.command(f"{QUIET} {option}={n} {GUEST_EXIT}"))
                except RunFailed as error:
                    note(f"{vmm.name}: {error}")
                    continue
                wall[vmm.name].append((many.exit - zero.exit) / n * 1e6)
                cpu[vmm.name].append((many.user + many.system - zero.user - zero.system) / n * 1e6)
                user[vmm.name].append((many.user - zero.user) / n * 1e6)
        print_table(f"Figure 1 ({kind}): exit round trip, {what}; N = {n}, {ctx.args.repeats} repeats; "
                    f"wall time", "us/exit", [(v.name, wall[v.name]) for v in vmms], ctx.reference.name,
                    target=(1.10, "per exit"), checked=ctx.swiftvmm_names)
        # CPU time leaves out the waits for a CPU that other processes cause; the
        # emulator's work for the guest is in it (system time), as the VMM's own is.
        print_table(f"  the same in CPU time (user + system, getrusage)", "us/exit",
                    [(v.name, cpu[v.name]) for v in vmms], ctx.reference.name,
                    target=(1.10, "per exit"), checked=ctx.swiftvmm_names)
        print_table(f"  of which the VMM's own user-space CPU time", "us/exit",
                    [(v.name, user[v.name]) for v in vmms], None, digits=3)


@figure("instructions")
def figure_instructions(ctx):
    """Figure 1, repeatable: user-space instructions per exit, counted by callgrind."""
    if not ctx.args.valgrind:
        print("\nFigure 1 (instructions): skipped: valgrind is not installed")
        return
    n = ctx.args.callgrind_exits
    scratch_binaries = tempfile.TemporaryDirectory()
    profiled = [(ctx.reference, ctx.reference.binary)]
    for index, vmm in enumerate(ctx.swiftvmms):
        profiled.append((vmm, stripped_copy(ctx, vmm, scratch_binaries.name, index)))
    whole_runs = {}
    for kind, option, what in exits_kinds():
        rows = []
        for vmm, binary in profiled:
            counts = []
            for exits in (0, n):
                try:
                    counts.append(callgrind_count(ctx, binary, vmm.command(f"{QUIET} {option}={exits} {GUEST_EXIT}")))
                except RunFailed as error:
                    note(f"{vmm.name} under callgrind: {error}")
            rows.append((vmm.name, [(counts[1] - counts[0]) / n] if len(counts) == 2 else []))
            if counts:
                whole_runs.setdefault(vmm.name, []).append(counts[0] / 1e6)
        print_table(f"Figure 1 ({kind}), repeatable: user-space instructions per exit (callgrind, "
                    f"N = {n}; whole process, all threads)", "instr/exit", rows, ctx.reference.name, digits=0)
    print_table("Figure 2, repeatable: user-space instructions for a whole run without benchmark exits "
                "(start-up, boot, exit; callgrind)", "millions", [(v.name, whole_runs.get(v.name, []))
                                                                  for v, _ in profiled], ctx.reference.name)


def startup_samples(ctx, vmms, sizes, cpus=1, quiet=QUIET, repeats=None):
    """Start-up times in ms, {size: {vmm: [first byte]}} and the same for exit. Every
    repeat runs every VMM at every size, so slow spells of the host hit all alike."""
    first = {size: {v.name: [] for v in vmms} for size in sizes}
    done = {size: {v.name: [] for v in vmms} for size in sizes}
    for repeat in range(repeats or ctx.args.startup_repeats):
        for size in sizes:
            for vmm in rotated(vmms, repeat):
                try:
                    result = run(vmm.command(f"{quiet} {GUEST_EXIT}", size, cpus))
                except RunFailed as error:
                    note(f"{vmm.name}: {error}")
                    continue
                first[size][vmm.name].append(result.first_byte * 1e3)
                done[size][vmm.name].append(result.exit * 1e3)
    return first, done


@figure("startup")
def figure_startup(ctx, memory_mib=128):
    """Figure 2: process start to the guest's first serial byte, and to its exit."""
    vmms = [ctx.reference] + ctx.swiftvmms + ctx.qemus
    first, done = startup_samples(ctx, vmms, [memory_mib])
    first, done = first[memory_mib], done[memory_mib]
    repeats = ctx.args.startup_repeats
    print_table(f"Figure 2: start-up, process start to the guest's first serial byte; "
                f"{memory_mib} MiB, {repeats} repeats", "ms", [(v.name, first[v.name]) for v in vmms],
                ctx.reference.name, target=(1.10, "start-up"), checked=ctx.swiftvmm_names)
    print_table(f"Figure 2: start-up, process start to exit (the guest's whole run)", "ms",
                [(v.name, done[v.name]) for v in vmms], ctx.reference.name, target=(1.25, "start-up"),
                checked=ctx.swiftvmm_names)
    for reason in ctx.qemu_skipped:
        note(f"qemu: {reason}")


class APIClient:
    """HTTP/1.1 on a Unix socket, one connection: what an orchestrator sends SwiftVMM."""

    def __init__(self, path):
        import socket
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.socket.connect(path)
        self.buffer = b""

    def request(self, method, path, body=None):
        data = body.encode() if body else b""
        head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {len(data)}\r\n\r\n"
        self.socket.sendall(head.encode() + data)
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.socket.recv(65536)
            if not chunk:
                raise RunFailed(f"{method} {path}: the API closed the connection")
            self.buffer += chunk
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1)) if b"Content-Length" in head else 0
        while len(rest) < length:
            rest += self.socket.recv(65536)
        self.buffer = rest[length:]
        status = int(head.split()[1])
        if status >= 300:
            raise RunFailed(f"{method} {path}: {status} {rest[:length].decode(errors='replace')}")
        return status

    def close(self):
        self.socket.close()


def thread_cpu_ns(pid):
    """CPU time of every thread of `pid` so far, in ns (/proc/PID/task/*/schedstat)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as stat:
                total += int(stat.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def api_run(binary, guest, cmdline, memory_mib=128, wait_marker=None, ram_bytes=None, timeout=120):
    """Starts `swiftvmm firecracker`, waits for its API to answer GET /, configures the
    test guest and starts it. Returns (ms to API ready, ms of CPU at API ready, ms from
    InstanceStart to the guest's first byte, a MemorySample once the guest waits, when
    `wait_marker` is given)."""
    directory = tempfile.mkdtemp(prefix="bench-api-")
    socket_path = os.path.join(directory, "api.sock")
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        process = subprocess.Popen([binary, "firecracker", "--api-sock", socket_path],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors)
        try:
            client = None
            while client is None:
                if time.perf_counter() - start > 10 or process.poll() is not None:
                    raise RunFailed(f"the API socket never answered: {socket_path}")
                try:
                    client = APIClient(socket_path)
                    client.request("GET", "/")
                except (FileNotFoundError, ConnectionRefusedError):
                    client = None
                    time.sleep(0.0002)
            ready = (time.perf_counter() - start) * 1e3
            ready_cpu = thread_cpu_ns(process.pid) / 1e6
            client.request("PUT", "/machine-config", f'{{"vcpu_count": 1, "mem_size_mib": {memory_mib}}}')
            client.request("PUT", "/boot-source", f'{{"kernel_image_path": "{guest}", "boot_args": "{cmdline}"}}')
            started = time.perf_counter()
            client.request("PUT", "/actions", '{"action_type": "InstanceStart"}')
            output = b""
            first = None
            deadline = time.monotonic() + timeout
            while first is None or (wait_marker and wait_marker not in output):
                ready_fds, _, _ = select.select([process.stdout], [], [], max(0.0, deadline - time.monotonic()))
                data = os.read(process.stdout.fileno(), 65536) if ready_fds else b""
                if not data:
                    raise RunFailed("the guest printed nothing through the API run")
                if first is None:
                    first = (time.perf_counter() - started) * 1e3
                output += data
            sample = None
            if wait_marker:
                time.sleep(0.3)
                with open(f"/proc/{process.pid}/smaps_rollup") as rollup_file:
                    rollup = smaps_fields(rollup_file)
                sample = MemorySample(rollup, guest_mapping(process.pid, ram_bytes))
            client.close()
            return ready, ready_cpu, first, sample
        finally:
            terminate(process)
            process.stdout.close()
            try:
                os.rmdir(directory)
            except OSError:
                pass


@figure("api")
def figure_api(ctx, memory_mib=128):
    """Figure 8: Firecracker's API served by SwiftVMM, beside the CLI's start-up."""
    repeats = ctx.args.startup_repeats
    swiftvmm = ctx.swiftvmms[0]
    cli_first, ready, ready_cpu, start_first, memory = [], [], [], [], []
    cmdline = f"{QUIET} {GUEST_EXIT}"
    for repeat in range(repeats):
        order = [0, 1] if repeat % 2 == 0 else [1, 0]
        for which in order:
            try:
                if which == 0:
                    cli_first.append(run(swiftvmm.command(cmdline, memory_mib)).first_byte * 1e3)
                else:
                    r, cpu, first, _ = api_run(swiftvmm.binary, swiftvmm.elf, cmdline, memory_mib)
                    ready.append(r)
                    ready_cpu.append(cpu)
                    start_first.append(first)
            except RunFailed as error:
                note(f"swiftvmm: {error}")
    # As figure 3: pages of a freshly built binary count as Private_Dirty until written back.
    os.sync()
    for _ in range(ctx.args.memory_repeats):
        try:
            memory.append(api_run(swiftvmm.binary, swiftvmm.elf, f"{QUIET} testguest.echo=1", memory_mib,
                                  WAITING_MARKER, memory_mib * MIB)[3])
        except (RunFailed, OSError) as error:
            note(f"swiftvmm firecracker: {error}")
    print_table(f"Figure 8: Firecracker's API; {memory_mib} MiB, {repeats} repeats", "ms", [
        ("CLI: start to first byte", cli_first),
        ("API: start to GET / answered", ready),
        ("API: CPU time at API ready", ready_cpu),
        ("API: InstanceStart to byte", start_first),
    ], "CLI: start to first byte")
    if ready_cpu:
        worst = max(ready_cpu)
        note(f"target: the API within 8 ms of CPU time (Firecracker's promise): "
             f"{'met' if worst <= 8 else 'MISSED'} (worst {worst:.2f} ms)")
    if memory:
        worst = max(x.overhead for x in memory)
        note(f"memory overhead with the API serving (private dirty {statistics.median([x.private for x in memory]):.2f} MiB, "
             f"anonymous {statistics.median([x.anonymous for x in memory]):.2f} MiB, median): "
             f"target <= 4 MiB: {'met' if worst <= 4 else 'MISSED'} (worst {worst:.2f})")


def memory_samples(ctx, vmms, memory_mib, repeats, cpus=1, quiet=QUIET):
    # Pages of a freshly written binary stay dirty in the page cache until written
    # back, and smaps counts them as Private_Dirty in every process mapping them.
    os.sync()
    samples = {v.name: [] for v in vmms}
    for repeat in range(repeats):
        for vmm in rotated(vmms, repeat):
            try:
                samples[vmm.name].append(sample_memory(
                    vmm.command(f"{quiet} testguest.echo=1", memory_mib, cpus), memory_mib * MIB))
            except (RunFailed, OSError) as error:
                note(f"{vmm.name}: {error}")
    return samples


@figure("memory")
def figure_memory(ctx):
    """Figure 3: the VMM's own private memory, guest RAM excluded."""
    vmms = [ctx.reference] + ctx.swiftvmms + ctx.qemus
    samples = memory_samples(ctx, vmms, 128, ctx.args.memory_repeats)
    print(f"\nFigure 3: memory overhead, 1 vCPU, 128 MiB guest waiting for console input; "
          f"{ctx.args.memory_repeats} samples (MiB, median; min-max)")
    print(f"  {'':26} {'private dirty':>16} {'anonymous':>16} {'guest touched':>14} {'Rss':>8}")
    for vmm in vmms:
        s = samples[vmm.name]
        if not s:
            print(f"  {vmm.name:26} failed")
            continue
        def cell(values):
            low, mid, high = summary(values)
            return f"{mid:6.2f} ({low:.2f}-{high:.2f})"
        line = (f"  {vmm.name:26} {cell([x.private for x in s]):>16} {cell([x.anonymous for x in s]):>16}"
                f" {statistics.median([x.guest_touched for x in s]):14.2f} {statistics.median([x.rss for x in s]):8.2f}")
        if vmm.kind == "swiftvmm":
            worst = max(x.overhead for x in s)
            line += f"   target <= 4 MiB: {'met' if worst <= 4 else 'MISSED'} (worst {worst:.2f})"
        print(line)
    note("private dirty and anonymous: /proc/PID/smaps_rollup less guest RAM's own smaps entry")
    for reason in ctx.qemu_skipped:
        note(f"qemu: {reason}")


# --- Figure 4: virtio-blk ------------------------------------------------------------------

DISK_MIB = 256


class DiskWorkload:
    """Sequential requests of one size and direction, at queue depth 1 or the deepest the
    test guest keeps in flight (testguest.diskbench=COUNT,size=S,depth=D,write)."""

    def __init__(self, size, deepest, write, count):
        self.size, self.deepest, self.write, self.count = size, deepest, write, count
        self.depth_label = "deepest" if deepest else "depth 1"  # the guest's number, once known

    @property
    def size_text(self):
        return f"{self.size >> 20}M" if self.size >= MIB else f"{self.size >> 10}K"

    @property
    def name(self):
        return f"{'write' if self.write else 'read'} {self.size_text}, {self.depth_label}"

    def option(self, count):
        return (f"testguest.diskbench={count},size={self.size_text},depth={'max' if self.deepest else 1}"
                + (",write" if self.write else ""))

    def expected(self, count):
        """What the guest prints on success, up to the depth."""
        return f"diskbench: {count} {'writes' if self.write else 'reads'} of {self.size} bytes, depth ".encode()


# Requests a run, by request size and depth: enough for about half a second more than a
# run without requests on this host (at tens of thousands of IOPS at depth 85), so that
# the run without requests, which swings by ten milliseconds and more with the host's
# load, is a few percent of the difference.
DISK_REQUESTS = {(MIB, False): 4096, (MIB, True): 4096, (4096, False): 8000, (4096, True): 20000}


def disk_workloads(quick):
    """Reads and writes of 1 MiB and 4 KiB, at depth 1 and the deepest; reads only with
    --quick."""
    workloads = []
    for write in ((False,) if quick else (False, True)):
        for size in (MIB, 4096):
            for deepest in (False, True):
                workloads.append(DiskWorkload(size, deepest, write, DISK_REQUESTS[(size, deepest)]))
    return workloads


def make_disk_image(directory):
    """A 256 MiB raw image of pseudo-random bytes (no holes: every block is allocated),
    read once so the page cache holds it."""
    path = os.path.join(directory, "disk.img")
    with open(path, "wb") as image:
        for _ in range(DISK_MIB):
            image.write(os.urandom(MIB))
    os.sync()  # no writeback of it during the runs
    with open(path, "rb") as image:
        while image.read(MIB):
            pass
    return path


class DiskRunner:
    """One way of doing a workload's requests: a VMM with its disk attached, or the
    host's dd on the same image."""

    def __init__(self, name, vmm=None, disk=None, image=None, checked=False):
        self.name, self.vmm, self.disk, self.image, self.checked = name, vmm, disk, image, checked

    def count(self, workload):
        """Requests per run: the workload's for a guest; the whole image for dd, whose
        requests cost a thousandth of a guest's."""
        return workload.count if self.vmm else DISK_MIB * MIB // workload.size

    def command(self, workload, count):
        if self.vmm:
            return self.vmm.command(f"{QUIET} {workload.option(count)} {GUEST_EXIT}", disk=self.disk)
        block = f"bs={workload.size}", f"count={count}"
        if workload.write:
            return ["dd", "if=/dev/zero", f"of={self.image}", *block, "conv=notrunc", "status=none"]
        return ["dd", f"if={self.image}", "of=/dev/null", *block, "status=none"]

    def run(self, workload, count):
        result = run(self.command(workload, count), expect_status=EXIT_STATUS if self.vmm else 0)
        if self.vmm:
            marker = workload.expected(count)
            at = result.output.find(marker)
            tail = result.output[at + len(marker):].split(b"\n")[0] if at >= 0 else b""
            match = re.match(rb"(\d+), 0 failed", tail)
            if not match:
                raise RunFailed(f"the guest did not report {marker.decode()}..., 0 failed: "
                                f"{result.output.decode(errors='replace').strip().splitlines()[-2:]}")
            if workload.deepest:
                workload.depth_label = f"depth {int(match.group(1))}"
        return result


def print_rates(title, unit, rows, reference):
    """rows: [(runner, [rates], [user us/request], [system us/request])]; higher is better.
    Prints min/median/max, the ratio of medians to `reference` and CPU per request."""
    print(f"\n{title}")
    print(f"  {'':26} {'min':>9} {'median':>9} {'max':>9}  ({unit})  {'ratio to ' + reference:>22}"
          f"  {'user':>7} {'system':>7}  (us/request, median)")
    medians = {runner.name: statistics.median(rates) for runner, rates, _, _ in rows if rates}
    for runner, rates, user, system in rows:
        if not rates:
            print(f"  {runner.name:26} {'failed':>9}")
            continue
        low, mid, high = summary(rates)
        ratio = f"{mid / medians[reference]:.3f}x" if medians.get(reference) else "-"
        print(f"  {runner.name:26} {low:9.0f} {mid:9.0f} {high:9.0f}  {'':>{len(unit) + 2}}  {ratio:>22}"
              f"  {statistics.median(user):7.1f} {statistics.median(system):7.1f}")
    return medians


@figure("disk")
def figure_disk(ctx):
    """Figure 4: virtio-blk throughput and IOPS, per request: (run with N requests - run
    with 0) / N, against the host's dd and QEMU's virtio-blk on the same image."""
    scratch = tempfile.TemporaryDirectory(prefix="swiftvmm-bench-")
    image = make_disk_image(scratch.name)
    runners = [DiskRunner("host dd", image=image)]
    for vmm in ctx.swiftvmms:
        for transport in ("pci", "mmio"):
            for io in ("vcpu", "thread"):
                runners.append(DiskRunner(f"{vmm.name} {transport} {io}", vmm, Disk(image, transport, io), checked=True))
    for qemu in ctx.qemus:
        runners.append(DiskRunner(qemu.name, qemu, Disk(image)))
    workloads = disk_workloads(ctx.args.quick)
    # Per workload and runner: requests per second, user and system CPU per request.
    rates = {(i, r.name): ([], [], []) for i in range(len(workloads)) for r in runners}
    zeros = {r.name: [] for r in runners}
    runs = {(i, r.name): [] for i in range(len(workloads)) for r in runners}
    for repeat in range(ctx.args.disk_repeats):
        for runner in rotated(runners, repeat):
            try:
                # Runs with no requests, before and after: the VMM's start, the guest's
                # boot and the device's set-up, the same for every workload.
                zeros[runner.name].append(runner.run(workloads[0], 0))
                for index, workload in enumerate(workloads):
                    runs[(index, runner.name)].append(runner.run(workload, runner.count(workload)))
                zeros[runner.name].append(runner.run(workloads[0], 0))
            except RunFailed as error:
                note(f"{runner.name}: {error}")
    # Each run less the median run with no requests (a single one swings with the host's
    # load by tens of milliseconds).
    for runner in runners:
        if not zeros[runner.name]:
            continue
        zero_exit = statistics.median(z.exit for z in zeros[runner.name])
        zero_user = statistics.median(z.user for z in zeros[runner.name])
        zero_system = statistics.median(z.system for z in zeros[runner.name])
        for index, workload in enumerate(workloads):
            n = runner.count(workload)
            for many in runs[(index, runner.name)]:
                if many.exit > zero_exit:
                    samples = rates[(index, runner.name)]
                    samples[0].append(n / (many.exit - zero_exit))
                    samples[1].append((many.user - zero_user) / n * 1e6)
                    samples[2].append((many.system - zero_system) / n * 1e6)
    qemu_name = ctx.qemus[0].name if ctx.qemus else None
    swift_rows = [r for r in runners if r.checked]
    for index, workload in enumerate(workloads):
        samples = {r.name: rates[(index, r.name)] for r in runners}
        title = (f"Figure 4: virtio-blk, {workload.name}, sequential over a {DISK_MIB} MiB image in the page "
                 f"cache; {workload.count} requests a run (dd: the image), {ctx.args.disk_repeats} repeats")
        if workload.size >= MIB:
            rows = [(r, [x * workload.size / MIB for x in samples[r.name][0]], *samples[r.name][1:]) for r in runners]
            medians = print_rates(title, "MiB/s", rows, "host dd")
            if not workload.write:
                for runner in swift_rows:
                    if runner.name in medians:
                        note(f"{runner.name}: target >= 1024 MiB/s: "
                             f"{'met' if medians[runner.name] >= 1024 else 'MISSED'} ({medians[runner.name]:.0f})")
        else:
            rows = [(r, *samples[r.name]) for r in runners]
            medians = print_rates(title, "IOPS", rows, qemu_name or "host dd")
            if qemu_name in medians:
                for runner in swift_rows:
                    if runner.name in medians:
                        ratio = medians[runner.name] / medians[qemu_name]
                        note(f"{runner.name}: target IOPS >= QEMU's: {'met' if ratio >= 1 else 'MISSED'} ({ratio:.3f}x)")
    note("host dd: the same requests from the host (dd bs=SIZE on the image), no VMM, one at a time;")
    note("  at a depth above 1, the same run as at depth 1")
    note("user, system: CPU time per request of the whole process (every thread), from wait4's rusage;")
    note("  for the VMMs, system time holds the instruction emulator's work for the guest")
    for reason in ctx.qemu_skipped:
        note(f"qemu: {reason}")
    disk_counts(ctx, runners, workloads)
    scratch.cleanup()


def disk_counts(ctx, runners, workloads):
    """Per request, counts that do not swing with the host's load: the guest
    instructions KVM's emulator ran and the exits to user space (perf, KVM's
    tracepoints), and the VMM's own user-space instructions (callgrind)."""
    chosen = [w for w in workloads if not w.write]
    if ctx.args.quick:
        chosen = [w for w in chosen if w.size < MIB and not w.deepest]
    n = {MIB: 64, 4096: 400}
    vmm_runners = [r for r in runners if r.vmm]
    tables = {}  # title: {(runner, column): value}
    if ctx.args.perf:
        emulated, exits = {}, {}
        for runner in vmm_runners:
            for column, workload in enumerate(chosen):
                try:
                    zero = perf_counts(ctx, runner.command(workload, 0))
                    many = perf_counts(ctx, runner.command(workload, n[workload.size]))
                except RunFailed as error:
                    note(f"{runner.name} under perf: {error}")
                    continue
                emulated[(runner.name, column)] = (many[0] - zero[0]) / n[workload.size]
                exits[(runner.name, column)] = (many[1] - zero[1]) / n[workload.size]
        tables["guest instructions KVM's emulator ran (perf, kvm:kvm_emulate_insn)"] = (emulated, 0)
        tables["exits to user space (perf, kvm:kvm_userspace_exit)"] = (exits, 2)
    else:
        print("\nFigure 4 (emulated instructions): skipped: perf is not installed")
    if ctx.args.valgrind:
        instructions = {}
        with tempfile.TemporaryDirectory() as scratch:
            binaries = {}
            for runner in vmm_runners:
                if runner.vmm.kind != "swiftvmm":
                    continue  # QEMU under valgrind takes minutes
                if runner.vmm.name not in binaries:
                    binaries[runner.vmm.name] = stripped_copy(ctx, runner.vmm, scratch, len(binaries))
                for column, workload in enumerate(chosen):
                    try:
                        counts = [callgrind_count(ctx, binaries[runner.vmm.name], runner.command(workload, count))
                                  for count in (0, n[workload.size])]
                    except RunFailed as error:
                        note(f"{runner.name} under callgrind: {error}")
                        continue
                    instructions[(runner.name, column)] = (counts[1] - counts[0]) / n[workload.size]
        tables["the VMM's user-space instructions, every thread (callgrind)"] = (instructions, 0)
    else:
        print("\nFigure 4 (VMM instructions): skipped: valgrind is not installed")
    for title, (values, digits) in tables.items():
        print(f"\nFigure 4, repeatable, per request: {title}")
        print(f"  {'':26}" + "".join(f" {w.name:>22}" for w in chosen))
        for runner in vmm_runners:
            cells = [values.get((runner.name, column)) for column in range(len(chosen))]
            if any(c is not None for c in cells):
                print(f"  {runner.name:26}" + "".join(f" {c:22.{digits}f}" if c is not None else f" {'-':>22}"
                                                      for c in cells))


def perf_counts(ctx, command):
    """(emulated instructions, exits to user space) over a whole run of `command`."""
    events = ["kvm:kvm_emulate_insn", "kvm:kvm_userspace_exit"]
    with tempfile.TemporaryDirectory() as scratch:
        out = os.path.join(scratch, "perf.csv")
        run([ctx.args.perf, "stat", "-x,", "-o", out, "-e", ",".join(events), "--", *command])
        with open(out) as stats:
            values = {line.split(",")[2]: line.split(",")[0] for line in stats if line.count(",") >= 2}
    try:
        return [int(values[event]) for event in events]
    except (KeyError, ValueError):
        raise RunFailed(f"perf counted no {' or '.join(events)} (tracepoints need root or perf_event_paranoid -1)")


def stripped_copy(ctx, vmm, directory, index):
    """valgrind 3.19 cannot read the DWARF 5 debug information Swift's clang writes:
    a copy of the binary without it (the symbol table stays)."""
    if not ctx.args.strip:
        return vmm.binary
    binary = os.path.join(directory, f"swiftvmm-{index}")
    subprocess.run([ctx.args.strip, "--strip-debug", "-o", binary, vmm.binary], check=True)
    return binary


@figure("ram")
def figure_ram(ctx):
    """Figure 5 (RAM): start-up and memory for growing guest RAM."""
    vmms = [ctx.reference] + ctx.swiftvmms + ctx.qemus
    sizes = ctx.args.ram_sizes
    print(f"\nFigure 5 (RAM): start-up and memory overhead by guest RAM size; "
          f"{ctx.args.startup_repeats} start-up repeats, {ctx.args.memory_repeats} memory samples (medians)")
    print(f"  {'RAM':>6} {'':26} {'first byte ms':>16} {'exit ms':>16} {'private MiB':>12} {'anonymous MiB':>14}"
          f" {'touched MiB':>12}")
    print(f"  {'':6} {'':26} {'median (min)':>16} {'median (min)':>16}")
    exits = {v.name: {} for v in vmms}
    firsts = {v.name: {} for v in vmms}
    first, done = startup_samples(ctx, vmms, sizes)
    touched_samples = {}
    for size in sizes:
        memory = memory_samples(ctx, vmms, size, ctx.args.memory_repeats)
        touched_samples[size] = memory
        for vmm in vmms:
            f, d, m = first[size][vmm.name], done[size][vmm.name], memory[vmm.name]
            if not f or not m:
                print(f"  {size:>5}M {vmm.name:26} failed")
                continue
            exits[vmm.name][size] = statistics.median(d)
            firsts[vmm.name][size] = statistics.median(f)
            print(f"  {size:>5}M {vmm.name:26} {statistics.median(f):8.2f} ({min(f):5.2f})"
                  f" {statistics.median(d):8.2f} ({min(d):5.2f})"
                  f" {statistics.median([x.private for x in m]):12.2f}"
                  f" {statistics.median([x.anonymous for x in m]):14.2f}"
                  f" {statistics.median([x.guest_touched for x in m]):12.2f}")
    # Wall times here swing with the host's load (some runs take a scheduler tick, about
    # 4 ms, longer; the emulator's speed varies), so the check rests on what does not
    # swing: the VMM's own instructions and the guest pages it touches, at the smallest
    # and the largest size. The wall-time ratios are printed beside the reference's.
    low, high = sizes[0], sizes[-1]
    for vmm in vmms:
        first, times = firsts[vmm.name], exits[vmm.name]
        if low in times and high in times:
            note(f"{vmm.name}: at {high} MiB, start-up to first byte (median) is {first[high] / first[low]:.3f}x "
                 f"and to exit {times[high] / times[low]:.3f}x that at {low} MiB")
    for vmm in ctx.swiftvmms:
        touched = {size: [x.guest_touched for x in touched_samples[size][vmm.name]] for size in (low, high)}
        instructions = [whole_run_instructions(ctx, vmm, size) for size in (low, high)]
        if not all(touched.values()):
            continue
        no_growth_note(vmm.name, max(touched[low]), max(touched[high]), low, high, instructions)


def no_growth_note(label, touched_low, touched_high, low, high, instructions):
    """Figure 5's check: guest RAM touched (MiB) and the whole run's instructions (None
    without valgrind) at `low` and `high` MiB of RAM must not grow with RAM."""
    grows = touched_high > touched_low * 1.10 + 0.1
    line = f"{label}: guest RAM touched {touched_low:.2f} MiB at {low} MiB, {touched_high:.2f} MiB at {high} MiB"
    if all(c is not None for c in instructions):
        grows = grows or instructions[1] > instructions[0] * 1.01
        line += (f"; user-space instructions for the whole run {instructions[0] / 1e6:.2f} M and "
                 f"{instructions[1] / 1e6:.2f} M")
    note(line + f"   target: no growth with RAM: {'MISSED' if grows else 'met'}")


# The guest starts every CPU the ACPI MADT lists (smp.c), and waits for them: start-up
# with more vCPUs includes bringing them up.
SMP_QUIET = "testguest.quiet"


@figure("cpus")
def figure_cpus(ctx):
    """Figure 5 (vCPUs): start-up and memory for 1, 2 and 4 vCPUs at each RAM size."""
    vmms = ctx.swiftvmms + ctx.qemus  # refvmm runs one vCPU only
    quick = ctx.args.quick
    counts = [1, 4] if quick else [1, 2, 4]
    sizes = [ctx.args.ram_sizes[0], ctx.args.ram_sizes[-1]] if quick else ctx.args.ram_sizes
    repeats = max(3, ctx.args.startup_repeats // 2)
    print(f"\nFigure 5 (vCPUs): start-up and memory overhead by vCPU count and guest RAM, the guest starting "
          f"its other CPUs through ACPI; {repeats} start-up repeats, {ctx.args.memory_repeats} memory samples "
          f"(medians). refvmm runs one vCPU only: each VMM is compared with itself at 1 vCPU")
    print(f"  {'vCPUs':>5} {'RAM':>6} {'':22} {'first byte ms':>14} {'exit ms':>9} {'exit vs 1 vCPU':>15}"
          f" {'private MiB':>12} {'anonymous MiB':>14} {'touched MiB':>12}")
    exits = {}  # (vmm, cpus, size): median exit ms
    touched = {}
    for cpus in counts:
        first, done = startup_samples(ctx, vmms, sizes, cpus, SMP_QUIET, repeats)
        for size in sizes:
            memory = memory_samples(ctx, vmms, size, ctx.args.memory_repeats, cpus, SMP_QUIET)
            for vmm in vmms:
                f, d, m = first[size][vmm.name], done[size][vmm.name], memory[vmm.name]
                if not f or not m:
                    print(f"  {cpus:>5} {size:>5}M {vmm.name:22} failed")
                    continue
                exits[(vmm.name, cpus, size)] = statistics.median(d)
                touched[(vmm.name, cpus, size)] = max(x.guest_touched for x in m)
                one = exits.get((vmm.name, 1, size))
                print(f"  {cpus:>5} {size:>5}M {vmm.name:22} {statistics.median(f):14.2f} {statistics.median(d):9.2f}"
                      f" {statistics.median(d) / one if one else 0:14.3f}x"
                      f" {statistics.median([x.private for x in m]):12.2f}"
                      f" {statistics.median([x.anonymous for x in m]):14.2f}"
                      f" {statistics.median([x.guest_touched for x in m]):12.2f}")
    note("each AP costs the guest at least 10.4 ms of waiting, one AP after another: INIT, 10 ms, SIPI,")
    note("  200 us, SIPI, 200 us (smp.c, after the MultiProcessor Specification), then its own start-up, emulated")
    # As figure 5 (RAM): the check rests on the pages touched and the instructions run,
    # which do not swing with the host's load.
    low, high = sizes[0], sizes[-1]
    for vmm in ctx.swiftvmms:
        for cpus in counts[-1:] if quick else counts:
            if (vmm.name, cpus, low) not in touched or (vmm.name, cpus, high) not in touched:
                continue
            instructions = [whole_run_instructions(ctx, vmm, size, cpus, SMP_QUIET) for size in (low, high)]
            no_growth_note(f"{vmm.name}, {cpus} vCPUs", touched[(vmm.name, cpus, low)],
                           touched[(vmm.name, cpus, high)], low, high, instructions)
    for reason in ctx.qemu_skipped:
        note(f"qemu: {reason}")


# --- Figure 6: one disk's flush beside another disk's reads ----------------------------------

FLUSH_READS = 8000
FLUSH_MIB = 1024
FLUSH_LINE = re.compile(rb"flushbench: (?:reading|(\d+) reads), disk 0 (idle|flushing)")


def run_timed_lines(command, timeout=300):
    """Runs `command`; returns its status and each line of its stdout with the time, from
    just before the spawn, at which the line's last byte arrived."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    fd, pending, lines = process.stdout.fileno(), b"", []
    while True:
        ready, _, _ = select.select([fd], [], [], max(0.0, start + timeout - time.perf_counter()))
        if not ready:
            process.kill()
            process.wait()
            raise RunFailed(f"timed out after {timeout} s: {shlex.join(command)}")
        data = os.read(fd, 65536)
        if not data:
            break
        now = time.perf_counter() - start
        pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            lines.append((now, line))
    process.stdout.close()
    return process.wait(), lines


def flush_sample(vmm, transport, flushed, read_image):
    """One run: (IOPS with disk 0 idle, IOPS while it flushes, the flush's seconds)."""
    # A fresh, sparse image: the guest's writes are new dirty pages, whose blocks the
    # flush must allocate and write.
    if os.path.exists(flushed):
        os.unlink(flushed)
    with open(flushed, "wb") as image:
        image.truncate(FLUSH_MIB * MIB)
    disk = f"transport={transport},io=vcpu"
    command = [vmm.binary, "run", *vmm.extra, "--kernel", vmm.elf, "--memory", "128M", "--cpus", "2",
               "--disk", f"{flushed},{disk}", "--disk", f"{read_image},{disk}",
               "--cmdline", f"testguest.quiet testguest.flushbench={FLUSH_READS},write={FLUSH_MIB} {GUEST_EXIT}"]
    status, lines = run_timed_lines(command)
    marks = {}
    for at, line in lines:
        match = FLUSH_LINE.match(line)
        if match:
            marks[(match.group(1) is None, match.group(2).decode())] = (at, int(match.group(1) or 0))
    if status != EXIT_STATUS or len(marks) != 4 or not any(b"status 0" in line for _, line in lines):
        raise RunFailed(f"status {status}, the guest did not report both phases and an answered flush: "
                        f"{[line.decode(errors='replace') for _, line in lines[-3:]]}")
    idle = marks[(False, "idle")][1] / (marks[(False, "idle")][0] - marks[(True, "idle")][0])
    seconds = marks[(False, "flushing")][0] - marks[(True, "flushing")][0]
    return idle, marks[(False, "flushing")][1] / seconds, seconds


def flush_reference(ctx, flushed, read_image, cpu_us):
    """The host alone (benchmarks/flushref.c): a thread reading 4 KiB with `cpu_us` of CPU
    after each read, beside a thread flushing the same dirty MiB; as flush_sample."""
    result = run([ctx.args.flushref, flushed, read_image, str(FLUSH_MIB), str(cpu_us)], expect_status=0)
    match = re.search(rb"idle (\d+)/s, flushing (\d+)/s over (\d+) ms", result.output)
    if not match:
        raise RunFailed(f"flushref printed no rates: {result.output!r}")
    return int(match.group(1)), int(match.group(2)), int(match.group(3)) / 1e3


@figure("flush")
def figure_flush(ctx):
    """Figure 6: a second disk's 4 KiB reads while the first disk flushes a large dirty
    file, against the same reads with the first disk idle, in the same run; and the host
    alone doing the same, as the reference of what the host's load leaves."""
    scratch = tempfile.TemporaryDirectory(prefix="swiftvmm-bench-")
    read_image = make_disk_image(scratch.name)
    flushed = os.path.join(scratch.name, "flushed.img")
    runners = [(f"{vmm.name} {transport}", vmm, transport) for vmm in ctx.swiftvmms for transport in ("pci", "mmio")]
    reference = "host, no VMM"
    samples = {name: [] for name, _, _ in runners}
    samples[reference] = []
    for repeat in range(ctx.args.flush_repeats):
        for name, vmm, transport in rotated(runners, repeat):
            try:
                samples[name].append(flush_sample(vmm, transport, flushed, read_image))
            except RunFailed as error:
                note(f"{name}: {error}")
        # After each read the host's reader spins for as long as one of the guest's reads
        # took in this repeat (1 / its IOPS with disk 0 idle): it asks the disk as often
        # as the guest did, and needs a CPU as much.
        first = samples[runners[0][0]]
        if ctx.args.flushref and first:
            try:
                samples[reference].append(flush_reference(ctx, flushed, read_image, round(1e6 / first[-1][0])))
            except RunFailed as error:
                note(f"{reference}: {error}")
    print(f"\nFigure 6: disk 1's 4 KiB reads (depth 1, io=vcpu, vCPU 0) while disk 0 flushes {FLUSH_MIB} MiB of "
          f"dirty pages (vCPU 1), against the same reads with disk 0 idle; {ctx.args.flush_repeats} repeats (medians)")
    print(f"  {'':26} {'idle IOPS':>10} {'flushing':>10} {'ratio':>8} {'min ratio':>10} {'flush ms':>9}")
    for name in [n for n, _, _ in runners] + ([reference] if ctx.args.flushref else []):
        rows = samples[name]
        if not rows:
            print(f"  {name:26} {'failed':>10}")
            continue
        ratios = [flushing / idle for idle, flushing, _ in rows]
        ratio = statistics.median(ratios)
        line = (f"  {name:26} {statistics.median(r[0] for r in rows):10.0f} {statistics.median(r[1] for r in rows):10.0f}"
                f" {ratio:7.3f}x {min(ratios):9.3f}x {statistics.median(r[2] for r in rows) * 1e3:9.0f}")
        print(line + (f"   target >= 0.90x: {'met' if ratio >= 0.90 else 'MISSED'}" if name != reference else ""))
    note("ratio: IOPS while disk 0 flushes / IOPS with it idle, in the same run, timed by the harness from the")
    note("  guest's marker lines; flush ms: how long the reads overlapped the flush")
    note(f"{reference}: benchmarks/flushref.c, one thread reading 4 KiB (and spending after each read the CPU")
    note("  time a guest's read took in the same repeat) beside one flushing the same dirty MiB: the share of")
    note("  the host a CPU-bound reader keeps while the host writes the flush out")
    if not ctx.args.flushref:
        note(f"{reference}: skipped: no flushref binary (--flushref)")
    scratch.cleanup()


def whole_run_instructions(ctx, vmm, memory_mib, cpus=1, quiet=QUIET):
    """Instructions callgrind counts for one whole run, or None without valgrind."""
    if not ctx.args.valgrind:
        return None
    with tempfile.TemporaryDirectory() as scratch:
        binary = stripped_copy(ctx, vmm, scratch, 0)
        try:
            return callgrind_count(ctx, binary, vmm.command(f"{quiet} {GUEST_EXIT}", memory_mib, cpus))
        except RunFailed:
            return None


def callgrind_count(ctx, binary, command):
    """The user-space instructions callgrind counts for `command` (every thread), run
    with `binary` in place of its first word."""
    with tempfile.TemporaryDirectory() as scratch:
        out = os.path.join(scratch, "callgrind.out")
        run([ctx.args.valgrind, "--tool=callgrind", f"--callgrind-out-file={out}", binary, *command[1:]])
        try:
            with open(out) as profile:
                return int(re.search(r"^summary:\s+(\d+)", profile.read(), re.M).group(1))
        except (AttributeError, OSError) as error:
            raise RunFailed(f"no callgrind summary: {error}")


# --- Main --------------------------------------------------------------------------------

@figure("net")
def figure_net(ctx):
    """Figure 7: virtio-net over a tap beside QEMU's (benchmarks/netfigure.py)."""
    import netfigure
    netfigure.measure(ctx, run, RunFailed, note, QUIET, GUEST_EXIT)


class Context:
    pass


def host_description():
    cpu = "unknown CPU"
    flags = ""
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name") and cpu == "unknown CPU":
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = line
    with open("/proc/meminfo") as meminfo:
        memory = int(re.search(r"MemTotal:\s+(\d+)", meminfo.read()).group(1)) >> 20
    if re.search(r"\b(vmx|svm)\b", flags):
        virtualization = "hardware-assisted (VT-x/AMD-V)"
    elif os.path.exists("/sys/module/kvm_pvm"):
        virtualization = "none: KVM's PVM module emulates guests (no VT-x/AMD-V)"
    else:
        virtualization = "none reported (no vmx/svm flag)"
    return (f"{cpu}, {os.cpu_count()} CPUs, {memory} GiB, Linux {platform.release()}; "
            f"virtualization: {virtualization}")


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swiftvmm", required=True, help="the swiftvmm binary (release build)")
    parser.add_argument("--strip", help="strip or llvm-strip, to give valgrind binaries it can read")
    parser.add_argument("--refvmm", required=True, help="the C reference VMM")
    parser.add_argument("--guest-dir", required=True, help="guest-images/testguest")
    parser.add_argument("--qemu", help="qemu-system-x86_64, or nothing to skip QEMU")
    parser.add_argument("--qemu-skipped", action="append", default=[], help="why QEMU is not measured")
    parser.add_argument("--valgrind", help="valgrind, for the instruction counts")
    parser.add_argument("--perf", help="perf, to count the guest instructions KVM emulates")
    parser.add_argument("--flushref", help="benchmarks/flushref.c built: the host's own figure 6")
    parser.add_argument("--quick", action="store_true", help="fewer repeats and exits: a couple of minutes")
    parser.add_argument("--only", help="comma-separated figures: " + ",".join(FIGURES))
    parser.add_argument("--repeats", type=int, help="repeats of the exit figure")
    parser.add_argument("--exits", type=int, help="N, the exits per run of the exit figure")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=ARGS",
                        help="also measure swiftvmm with these extra 'run' arguments (e.g. tracing flags)")
    parser.add_argument("--variant-binary", action="append", default=[], metavar="NAME=PATH",
                        help="also measure another swiftvmm binary (e.g. a build of an earlier commit)")
    args = parser.parse_args()
    quick = args.quick
    args.repeats = args.repeats or (3 if quick else 9)
    args.exits = args.exits or (20_000 if quick else 200_000)
    args.callgrind_exits = 10_000
    args.startup_repeats = 5 if quick else 25
    args.memory_repeats = 1 if quick else 3
    args.disk_repeats = 1 if quick else 5
    args.flush_repeats = 1 if quick else 5
    args.ram_sizes = [128, 512, 1024, 2048, 4096]
    args.figures = args.only.split(",") if args.only else list(FIGURES)
    unknown = [f for f in args.figures if f not in FIGURES]
    if unknown:
        parser.error(f"unknown figure(s) {', '.join(unknown)}; the figures are {', '.join(FIGURES)}")
    return args


def main():
    args = parse_arguments()
    ctx = Context()
    ctx.args = args
    guest = args.guest_dir
    ctx.reference = VMM("refvmm", "refvmm", args.refvmm, guest)
    ctx.swiftvmms = [VMM("swiftvmm", "swiftvmm", args.swiftvmm, guest)]
    for spec in args.variant:
        name, _, extra = spec.partition("=")
        ctx.swiftvmms.append(VMM(f"swiftvmm {name}", "swiftvmm", args.swiftvmm, guest, shlex.split(extra)))
    for spec in args.variant_binary:
        name, _, path = spec.partition("=")
        ctx.swiftvmms.append(VMM(f"swiftvmm {name}", "swiftvmm", path, guest))
    ctx.swiftvmm_names = {v.name for v in ctx.swiftvmms}
    ctx.qemus, ctx.qemu_skipped = [], list(args.qemu_skipped)
    if args.qemu:
        qemu = VMM("qemu microvm", "qemu", args.qemu, guest)
        try:
            trial = run(qemu.command(f"{QUIET} {GUEST_EXIT}"), timeout=120)
            if b"Goodbye" not in trial.output:
                raise RunFailed(f"the test guest printed nothing: {shlex.join(qemu.command(QUIET))}")
            ctx.qemus.append(qemu)
        except RunFailed as error:
            ctx.qemu_skipped.append(f"skipped: QEMU cannot run the test guest here: {error}")

    print(f"SwiftVMM benchmarks, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}"
          f"{' (quick)' if args.quick else ''}")
    print(f"host: {host_description()}")
    print(f"swiftvmm: {args.swiftvmm}; reference: {args.refvmm}; "
          f"qemu: {ctx.qemus[0].binary if ctx.qemus else 'not measured'}")
    for reason in ctx.qemu_skipped:
        print(f"qemu: {reason}")
    for key in args.figures:
        FIGURES[key](ctx)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
