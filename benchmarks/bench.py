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
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdout.close()
            process.stdin.close()


# --- The VMMs ----------------------------------------------------------------------------

class VMM:
    """How to start one VMM on the test guest."""

    def __init__(self, name, kind, binary, guest_dir, extra=(), max_cpus=None):
        self.name, self.kind, self.binary, self.extra = name, kind, binary, list(extra)
        self.elf = os.path.join(guest_dir, "testguest.elf")
        self.bzimage = os.path.join(guest_dir, "testguest.img")
        self.max_cpus = max_cpus

    def command(self, cmdline, memory_mib=128, cpus=1):
        if self.kind == "swiftvmm":
            return [self.binary, "run", *self.extra, "--kernel", self.elf, "--memory", f"{memory_mib}M",
                    "--cpus", str(cpus), "--cmdline", cmdline]
        if self.kind == "refvmm":
            return [self.binary, "-m", str(memory_mib), self.elf, cmdline]
        if self.kind == "qemu":
            # microvm, KVM, the same bzImage (entered through its real-mode stub), the
            # serial console on stdout and isa-debug-exit at SwiftVMM's port.
            return [self.binary, "-M", "microvm", "-accel", "kvm", "-m", f"{memory_mib}M",
                    "-smp", str(cpus), "-nodefaults", "-no-user-config", "-nographic",
                    "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                    "-kernel", self.bzimage, "-append", cmdline, *self.extra]
        raise ValueError(self.kind)


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
        # valgrind 3.19 cannot read the DWARF 5 debug information Swift's clang writes:
        # profile a copy without it (the symbol table stays).
        binary = vmm.binary
        if ctx.args.strip:
            binary = os.path.join(scratch_binaries.name, f"swiftvmm-{index}")
            subprocess.run([ctx.args.strip, "--strip-debug", "-o", binary, vmm.binary], check=True)
        profiled.append((vmm, binary))
    whole_runs = {}
    for kind, option, what in exits_kinds():
        rows = []
        for vmm, binary in profiled:
            counts = []
            for exits in (0, n):
                with tempfile.TemporaryDirectory() as scratch:
                    out = os.path.join(scratch, "callgrind.out")
                    command = vmm.command(f"{QUIET} {option}={exits} {GUEST_EXIT}")
                    command = [ctx.args.valgrind, "--tool=callgrind", f"--callgrind-out-file={out}",
                               binary, *command[1:]]
                    try:
                        run(command)
                        with open(out) as profile:
                            counts.append(int(re.search(r"^summary:\s+(\d+)", profile.read(), re.M).group(1)))
                    except (RunFailed, AttributeError, OSError) as error:
                        note(f"{vmm.name} under callgrind: {error}")
            rows.append((vmm.name, [(counts[1] - counts[0]) / n] if len(counts) == 2 else []))
            if counts:
                whole_runs.setdefault(vmm.name, []).append(counts[0] / 1e6)
        print_table(f"Figure 1 ({kind}), repeatable: user-space instructions per exit (callgrind, "
                    f"N = {n}; whole process, all threads)", "instr/exit", rows, ctx.reference.name, digits=0)
    print_table("Figure 2, repeatable: user-space instructions for a whole run without benchmark exits "
                "(start-up, boot, exit; callgrind)", "millions", [(v.name, whole_runs.get(v.name, []))
                                                                  for v, _ in profiled], ctx.reference.name)


def startup_samples(ctx, vmms, sizes):
    """Start-up times in ms, {size: {vmm: [first byte]}} and the same for exit. Every
    repeat runs every VMM at every size, so slow spells of the host hit all alike."""
    first = {size: {v.name: [] for v in vmms} for size in sizes}
    done = {size: {v.name: [] for v in vmms} for size in sizes}
    for repeat in range(ctx.args.startup_repeats):
        for size in sizes:
            for vmm in rotated(vmms, repeat):
                try:
                    result = run(vmm.command(f"{QUIET} {GUEST_EXIT}", size))
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
                ctx.reference.name, target=(1.25, "start-up"), checked=ctx.swiftvmm_names)
    print_table(f"Figure 2: start-up, process start to exit (the guest's whole run)", "ms",
                [(v.name, done[v.name]) for v in vmms], ctx.reference.name, target=(1.25, "start-up"),
                checked=ctx.swiftvmm_names)
    for reason in ctx.qemu_skipped:
        note(f"qemu: {reason}")


def memory_samples(ctx, vmms, memory_mib, repeats):
    # Pages of a freshly written binary stay dirty in the page cache until written
    # back, and smaps counts them as Private_Dirty in every process mapping them.
    os.sync()
    samples = {v.name: [] for v in vmms}
    for repeat in range(repeats):
        for vmm in rotated(vmms, repeat):
            try:
                samples[vmm.name].append(sample_memory(
                    vmm.command(f"{QUIET} testguest.echo=1", memory_mib), memory_mib * MIB))
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
        counts = {size: whole_run_instructions(ctx, vmm, size) for size in (low, high)}
        if not all(touched.values()):
            continue
        grows = max(touched[high]) > max(touched[low]) * 1.10 + 0.1
        line = (f"{vmm.name}: guest RAM touched {max(touched[low]):.2f} MiB at {low} MiB, "
                f"{max(touched[high]):.2f} MiB at {high} MiB")
        if all(c is not None for c in counts.values()):
            grows = grows or counts[high] > counts[low] * 1.01
            line += (f"; user-space instructions for the whole run {counts[low] / 1e6:.2f} M and "
                     f"{counts[high] / 1e6:.2f} M")
        note(line + f"   target: no growth with RAM: {'MISSED' if grows else 'met'}")


def whole_run_instructions(ctx, vmm, memory_mib):
    """Instructions callgrind counts for one whole run, or None without valgrind."""
    if not ctx.args.valgrind:
        return None
    with tempfile.TemporaryDirectory() as scratch:
        binary = vmm.binary
        if ctx.args.strip:
            binary = os.path.join(scratch, "swiftvmm")
            subprocess.run([ctx.args.strip, "--strip-debug", "-o", binary, vmm.binary], check=True)
        out = os.path.join(scratch, "callgrind.out")
        command = vmm.command(f"{QUIET} {GUEST_EXIT}", memory_mib)
        try:
            run([ctx.args.valgrind, "--tool=callgrind", f"--callgrind-out-file={out}", binary, *command[1:]])
            with open(out) as profile:
                return int(re.search(r"^summary:\s+(\d+)", profile.read(), re.M).group(1))
        except (RunFailed, AttributeError, OSError):
            return None


# --- Main --------------------------------------------------------------------------------

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
    ctx.reference = VMM("refvmm", "refvmm", args.refvmm, guest, max_cpus=1)
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
