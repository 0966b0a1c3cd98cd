"""What each test bed scenario must show, checked against L1's console.

L1 prints each SwiftVMM run as a block (see l1-scenarios.sh): L2's console lines ("| "),
SwiftVMM's stderr ("! "), its exit status and run time, and facts L1 found afterwards.
L2's own facts are console lines "testbed: KEY=VALUE ..." (l2-init), and its whole kernel
log, with priorities, comes between "testbed: dmesg-begin" and "testbed: dmesg-end".
"""
import re

# Kernel log lines at warning priority or worse (KERN_WARNING = 4) that a scenario may
# show, each with why it is not SwiftVMM's doing. Anything else at that priority fails
# the scenario.
EXPECTED_WARNINGS = [
    (r"Unstable clock detected, switching default tracing clock|If you want to keep using the local clock"
     r"|\"trace_clock=local\"|^\[[ 0-9.]+\] on the kernel command line$",
     "L1's processor, QEMU's TCG, has no invariant TSC, so L1's KVM cannot mark kvm-clock stable; QEMU's "
     "L2 in the same L1 prints the same (boot.sh --compare)"),
    (r"clocksource: timekeeping watchdog on CPU\d+: Marking clocksource 'tsc' as unstable|"
     r"clocksource: +'(kvm-clock|tsc)' (wd_nsec|cs_nsec)|'kvm-clock' \(not 'tsc'\) is current clocksource",
     "the same cause: with one vCPU Linux keeps the TSC as a second clock source, and L1's emulated TSC "
     "drifts against kvm-clock (the host's time) until the watchdog drops it; QEMU's L2 in the same L1 "
     "does the same (boot.sh --compare with --compare-cpus 1)"),
    (r"i8042: PNP: PS/2 appears to have AUX port disabled",
     "SwiftVMM's i8042 has a keyboard and no mouse, and its DSDT says so by listing no PNP0F13; Linux then "
     "leaves the mouse port alone, as intended"),
    (r"hrtimer: interrupt took \d+ ns",
     "a vCPU can wait tens of milliseconds for a host CPU: more vCPUs than L1 has CPUs (cpus-4 on 2), "
     "or L1's CPUs, all emulated by TCG, sharing the machine with other work"),
]
# Lines that fail a scenario whatever their priority.
FORBIDDEN = [
    re.compile(r"ACPI (BIOS )?(Error|Warning)|ACPI Exception"),
    re.compile(r"probe .* failed|failed with error"),
    re.compile(r"Call Trace|WARNING:|BUG:|Oops"),
]
KERNEL_WARNING = 4


class Run:
    """One SwiftVMM run inside L1."""

    def __init__(self, name):
        self.name = name
        self.console = []
        self.stderr = []
        self.status = None
        self.seconds = None
        self.facts = {}
        self.dmesg = []

    def fact(self, key):
        return self.facts.get(key)


class Scenario:
    """One scenario: its runs, the facts L1 reported, whether L1 reached its end."""

    def __init__(self, name):
        self.name = name
        self.runs = {}
        self.facts = {}
        self.ended = False


def parse(lines):
    scenarios = {}
    runs = {}
    current = None
    in_dmesg = False
    for line in lines:
        if line.startswith("@@ "):
            words = line[3:].split(" ", 2)
            kind = words[0]
            name = words[1] if len(words) > 1 else ""
            if kind == "begin":
                current = runs[name] = Run(name)
                in_dmesg = False
            elif kind == "status" and name in runs:
                runs[name].status = int(words[2])
                current = None
            elif kind == "seconds" and name in runs:
                runs[name].seconds = float(words[2])
            elif kind == "fact":
                key, _, value = words[2].partition("=")
                scenarios.setdefault(name, Scenario(name)).facts[key] = value
            elif kind == "end":
                scenarios.setdefault(name, Scenario(name)).ended = True
            continue
        if current is None:
            continue
        if line.startswith("! "):
            current.stderr.append(line[2:])
        elif line.startswith("| "):
            text = line[2:]
            current.console.append(text)
            if text == "testbed: dmesg-begin":
                in_dmesg = True
            elif text == "testbed: dmesg-end":
                in_dmesg = False
            elif in_dmesg and text.startswith("dmesg| "):
                current.dmesg.append(text[len("dmesg| "):])
            elif text.startswith("testbed: "):
                for word in text[len("testbed: "):].split():
                    key, equals, value = word.partition("=")
                    if equals:
                        current.facts.setdefault(key, []).append(value)
    for run in runs.values():
        # A run belongs to the scenario whose name starts it: "rootfs-again" to "rootfs".
        owner = max((s for s in scenarios if run.name == s or run.name.startswith(s + "-")), key=len,
                    default=run.name)
        scenarios.setdefault(owner, Scenario(owner)).runs[run.name] = run
    return scenarios


class Result:
    def __init__(self, name):
        self.name = name
        self.facts = []
        self.failures = []
        self.last_lines = []

    @property
    def passed(self):
        return not self.failures

    def expect(self, condition, failure):
        if not condition:
            self.failures.append(failure)
        return condition

    def summary(self):
        verdict = "ok  " if self.passed else "FAIL"
        return f"{verdict} {self.name:<9} " + " ".join(self.facts) + (
            "" if self.passed else f"  [{len(self.failures)} missing]")

    def details(self):
        text = [f"{self.name}: FAILED"] + [f"  - {failure}" for failure in self.failures]
        if self.last_lines:
            text.append("  last console lines:")
            text += [f"    | {line}" for line in self.last_lines]
        return "\n".join(text)


def first(run, key):
    values = run.facts.get(key) if run else None
    return values[0] if values else None


def check_run(result, run, status=0, dmesg=True):
    """What every run must show: it ran, ended with `status`, and L2's kernel log is
    clean."""
    if not result.expect(run is not None, "the run never started (L1 stopped early?)"):
        return False
    result.last_lines = (run.console + [f"(stderr) {line}" for line in run.stderr])[-25:]
    result.expect(run.status is not None, f"{run.name}: SwiftVMM did not finish")
    result.expect(run.status == status, f"{run.name}: exit status {run.status}, expected {status}")
    result.facts.append(f"{run.name}={run.seconds}s")
    if dmesg:
        check_dmesg(result, run)
    return True


def check_dmesg(result, run):
    if not result.expect(run.dmesg, f"{run.name}: L2 printed no kernel log (it never reached its task's end)"):
        return
    bad, explained = [], 0
    for line in run.dmesg:
        match = re.match(r"<(\d+)>(.*)", line)
        priority, text = (int(match.group(1)) & 7, match.group(2)) if match else (KERNEL_WARNING + 1, line)
        if any(pattern.search(text) for pattern in FORBIDDEN):
            bad.append(line)
        elif priority <= KERNEL_WARNING:
            if any(re.search(p, text) for p, _ in EXPECTED_WARNINGS):
                explained += 1
            else:
                bad.append(line)
    result.expect(not bad, f"{run.name}: kernel log lines SwiftVMM may have caused:\n      "
                  + "\n      ".join(bad))
    if not bad:
        result.facts.append(f"dmesg=clean({explained} explained)")


def check_facts(result, run, cpus):
    result.expect(first(run, "cpus") == str(cpus), f"{run.name}: L2 counts {first(run, 'cpus')} CPUs, expected {cpus}")
    brought_up = f"smp: Brought up 1 node, {cpus} CPU"
    result.expect(any(brought_up in line for line in run.console + run.dmesg),
                  f"{run.name}: no '{brought_up}' in the kernel log")
    result.expect(first(run, "clocksource") == "kvm-clock",
                  f"{run.name}: clock source {first(run, 'clocksource')}, expected kvm-clock")
    result.expect(first(run, "keyboard") == "atkbd", f"{run.name}: the keyboard was not bound (atkbd)")
    result.expect(first(run, "rtc") == "rtc_cmos", f"{run.name}: the RTC was not bound (rtc_cmos)")
    result.facts += [f"cpus={first(run, 'cpus')}", f"clocksource={first(run, 'clocksource')}",
                     f"keyboard={first(run, 'keyboard')}", f"rtc={first(run, 'rtc')}"]


def disks_by_transport(run):
    """{transport: (sha256, written-sha256)} from the disk task's lines."""
    disks = {}
    for line in run.console:
        match = re.match(r"testbed: disk=(\w+) transport=(\w+) sha256=(\w+)", line)
        if match:
            disks.setdefault(match.group(1), {})["transport"] = match.group(2)
            disks[match.group(1)]["sha256"] = match.group(3)
        match = re.match(r"testbed: disk=(\w+) wrote=(\w+) written-sha256=(\w+)", line)
        if match:
            disks.setdefault(match.group(1), {})["written"] = match.group(3)
    return {d["transport"]: d for d in disks.values() if "transport" in d}


def check_disks(result, scenario, run, transports):
    found = disks_by_transport(run)
    for transport in transports:
        disk = found.get(transport)
        if not result.expect(disk, f"{run.name}: L2 found no {transport} disk"):
            continue
        result.expect(disk.get("sha256") == scenario.facts.get(f"{transport}-sha256"),
                      f"{run.name}: the {transport} disk read differs from the image")
        result.expect(disk.get("written") and disk.get("written") == scenario.facts.get(f"{transport}-written-sha256"),
                      f"{run.name}: what L2 wrote to the {transport} disk is not in the image after SwiftVMM exited")
        result.facts.append(f"{transport}=read,written")


def check_scenario(name, scenario):
    result = Result(name)
    if scenario is None:
        result.failures.append("the scenario never ran (L1 stopped before it)")
        return result
    runs = scenario.runs
    run = runs.get(name)
    if name.startswith("cpus-"):
        if check_run(result, run):
            check_facts(result, run, int(name.split("-")[1]))
    elif name in ("disks", "blockdev"):
        if check_run(result, run):
            check_disks(result, scenario, run, ["pci", "mmio"] if name == "disks" else ["pci"])
            if name == "blockdev":
                result.facts.append(f"device={scenario.facts.get('device')}")
    elif name == "rootfs":
        token = scenario.facts.get("token")
        if check_run(result, run):
            result.expect(first(run, "stored") == token, "rootfs: the first boot did not store the file")
        again = runs.get("rootfs-again")
        if check_run(result, again):
            result.expect(first(again, "persisted") == token,
                          f"rootfs: the second boot read {first(again, 'persisted')!r}, expected {token!r}")
            result.facts.append("file=persisted")
    elif name == "readonly":
        if check_run(result, run):
            for key, value in [("root-mount", "ro"), ("device-readonly", "1"), ("root-write", "refused")]:
                result.expect(first(run, key) == value, f"readonly: {key}={first(run, key)}, expected {value}")
                result.facts.append(f"{key}={first(run, key)}")
            result.expect(scenario.facts.get("image") == "unchanged", "readonly: the image changed")
    elif name == "poweroff":
        if check_run(result, run):
            result.expect(any("reboot: Power down" in line for line in run.console),
                          "poweroff: Linux did not power down")
            result.facts.append("power=off")
    elif name == "expect":
        if check_run(result, run, dmesg=False):
            result.expect(any("Run /init as init process" in line for line in run.console),
                          "expect: the expected line is not on the console")
            result.expect("testbed: done" not in run.console, "expect: the guest finished instead of being stopped")
    elif name == "ctrl-a-x":
        if check_run(result, run, dmesg=False):
            result.expect(any("testbed: waiting" in line for line in run.console),
                          "ctrl-a-x: Linux was not running when Ctrl-A x was typed")
    elif name == "net-tap":
        if check_run(result, run):
            result.expect(first(run, "ping") == "ok", "net-tap: L2 could not ping L1 over the tap")
            sent = first(run, "blob-sha256")
            mib = int(first(run, "blob-mib") or 0)
            result.expect(mib > 0, "net-tap: L2 did not say how many MiB it sends")
            result.expect(first(run, "sent") == "yes", f"net-tap: L2 could not send its {mib} MiB to L1")
            result.expect(sent is not None and sent == scenario.facts.get("received-sha256")
                          and scenario.facts.get("received-bytes") == str(mib << 20),
                          f"net-tap: L1 received {scenario.facts.get('received-bytes')} bytes whose SHA-256 is "
                          f"{scenario.facts.get('received-sha256')}; L2 sent {mib << 20} bytes, {sent}")
            result.expect(first(run, "rng-current") == "virtio_rng.0",
                          f"net-tap: the kernel's entropy source is {first(run, 'rng-current')}, not virtio_rng.0")
            result.expect(first(run, "rng-bytes") == "4096", f"net-tap: /dev/hwrng gave {first(run, 'rng-bytes')} of 4096 bytes")
            result.facts += ["ping=ok", f"{mib}MiB=sha256-equal", f"hwrng={first(run, 'rng-bytes')}B"]
    elif name == "net-user":
        if check_run(result, run):
            result.expect(first(run, "dhcp") == "ok", "net-user: L2 got no address from passt's DHCP")
            result.expect(scenario.facts.get("answer") == "hello-from-guest",
                          f"net-user: a client of L1's port 8080 got {scenario.facts.get('answer')!r}, "
                          f"not the guest's hello-from-guest through passt's forward to its port 80")
            result.facts += [f"address={first(run, 'address')}", "hostfwd=answered"]
    elif name == "vsock":
        if check_run(result, run):
            result.expect(first(run, "vsock-clients-ok") == "4", "vsock: not every guest connection to the host echoed byte for byte")
            result.expect(scenario.facts.get("host-clients-ok") == "4",
                          "vsock: not every host connection to the guest echoed byte for byte")
            result.expect(first(run, "vsock-server") == "served_4_connections,_0_failed",
                          f"vsock: the guest's listener says {first(run, 'vsock-server')}")
            result.expect(scenario.facts.get("host-server") == "served_4_connections,_0_failed",
                          f"vsock: the host's listener says {scenario.facts.get('host-server')}")
            result.facts += ["guest-to-host=4x1MB", "host-to-guest=4x1MB"]
    elif name == "api":
        if check_run(result, run):
            for request in ["machine-config", "boot-source", "drive", "network-interface", "entropy", "start",
                            "ctrl-alt-del"]:
                result.expect(scenario.facts.get(request) == "204",
                              f"api: {request} answered {scenario.facts.get(request)}, expected 204")
            result.expect(first(run, "mac") == "06:00:ac:10:00:02",
                          f"api: eth0's address is {first(run, 'mac')}, not the guest_mac given")
            result.expect(first(run, "ping") == "ok", "api: L2 could not ping L1 over the API's network interface")
            result.expect(first(run, "rng-current") == "virtio_rng.0",
                          f"api: the kernel's entropy source is {first(run, 'rng-current')}, not virtio_rng.0")
            result.expect(first(run, "rng-bytes") == "4096", f"api: /dev/hwrng gave {first(run, 'rng-bytes')} of 4096 bytes")
            result.expect(first(run, "ctrl-alt-del") == "received", "api: L2 never saw Ctrl-Alt-Delete")
            result.expect(first(run, "boot-timer") == "written" and scenario.facts.get("boot-timer-lines") == "1",
                          f"api: L2's write to the boot timer: {first(run, 'boot-timer')}; "
                          f"Guest-boot-time lines in the log: {scenario.facts.get('boot-timer-lines')}, expected 1")
            result.facts += ["configured,started=204", "boot-timer=logged", "eth0=ping-ok", f"hwrng={first(run, 'rng-bytes')}B",
                             "SendCtrlAltDel=received"]
    result.expect(scenario.ended, f"{name}: L1 did not reach the scenario's end")
    return result


def check_all(names, lines):
    scenarios = parse(lines)
    results = [check_scenario(name, scenarios.get(name)) for name in names]
    if not any(line.startswith("@@ l1 ready") for line in lines):
        tail = [line for line in lines if line.strip()][-25:]
        for result in results:
            result.failures.append("L1 never became ready:\n      " + "\n      ".join(tail))
    return results
