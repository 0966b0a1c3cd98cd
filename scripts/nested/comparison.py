"""The side-by-side figures of the nested test bed (boot.sh --compare): SwiftVMM and QEMU
booting the same Linux guest inside the same L1, measured by bootclock.

L1 prints "@@ measure VMM REPEAT marker=S exit=S maxrss_kib=N status=N" for every run
(l1-scenarios.sh, scenario_compare), and each VMM's first run as a block whose kernel log
is compared line by line.
"""
import re
import statistics

import checks

REFERENCE = "swiftvmm"
# The VMM whose guest log SwiftVMM's is compared with: QEMU's microvm with an RTC, the
# closest machine to SwiftVMM's.
LOG_REFERENCE = "qemu-microvm-rtc"


def tagged_fields(tag, lines):
    """(vmm, {key: value}) of every "@@ TAG VMM REPEAT KEY=VALUE..." line, in order."""
    for line in lines:
        match = re.match(rf"@@ {tag} (\S+) (\d+) (.*)", line)
        if match:
            yield match.group(1), dict(word.split("=", 1) for word in match.group(3).split() if "=" in word)


def measurements(lines):
    """{vmm: [{"marker": s, "exit": s, "maxrss_kib": n, "status": n}, ...]}"""
    runs = {}
    for vmm, fields in tagged_fields("measure", lines):
        runs.setdefault(vmm, []).append({
            "marker": None if fields.get("marker", "none") == "none" else float(fields["marker"]),
            "exit": float(fields.get("exit", "nan")),
            "maxrss_kib": int(fields.get("maxrss_kib", "0")),
            "status": int(fields.get("status", "-1")),
        })
    return runs


def summarize(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return min(values), statistics.median(values), max(values)


# Lines whose numbers change from one boot to the next whatever the VMM: their numbers
# are masked before two logs are compared.
VARYING = [
    r"kvm-clock: using sched offset of",
    r"deferred pages initialised in",
    r"audit: type=2000 audit\(",
    r"^Memory: \d+K/",
    r"setting system clock to",
    r"hrtimer: interrupt took",
]


def normalized_log(run):
    """The kernel log without timestamps and priorities, numbers masked in the lines that
    vary from boot to boot."""
    lines = []
    for line in run.dmesg:
        text = re.sub(r"^<\d+>", "", line)
        text = re.sub(r"^\[\s*\d+\.\d+\]\s?", "", text)
        if any(re.search(pattern, text) for pattern in VARYING):
            text = re.sub(r"\d+", "#", text)
        lines.append(text)
    return lines


def report(lines):
    runs = measurements(lines)
    if REFERENCE not in runs:
        print("comparison: no SwiftVMM runs were measured; see the L1 console log")
        return 1
    print(f"{'VMM':<18} {'runs':>4} {'to user space (s)':>26} {'to exit (s)':>26} {'peak RSS (MiB)':>22}  failures")
    reference = {key: summarize([r[key] for r in runs[REFERENCE]]) for key in ("marker", "exit", "maxrss_kib")}
    failed = False
    for vmm, measured in runs.items():
        cells = []
        for key, scale in (("marker", 1), ("exit", 1), ("maxrss_kib", 1 / 1024)):
            summary = summarize([r[key] for r in measured])
            if summary is None:
                cells.append(f"{'-':>26}")
                continue
            low, median, high = (value * scale for value in summary)
            ratio = ""
            if reference[key] and vmm != REFERENCE:
                ratio = f" {median / (reference[key][1] * scale):.2f}x"
            cells.append(f"{median:7.2f} [{low:.2f}-{high:.2f}]{ratio:>7}")
        bad = [r for r in measured if r["status"] != 0 or r["marker"] is None]
        failed = failed or bool(bad)
        print(f"{vmm:<18} {len(measured):>4} " + " ".join(cells) + f"  {len(bad)}")
    print("(medians, [min-max]; the ratio is the VMM's median over SwiftVMM's: above 1, SwiftVMM is faster or smaller)")
    slot_lines = [line[3:] for line in lines if line.startswith("@@ slotwait:")]
    if slot_lines:
        print("\nL1's KVM installing a 512 MiB memory slot (benchmarks/slotwait.c):")
        print("\n".join(f"  {line}" for line in slot_lines))

    scenarios = checks.parse(lines)
    compare = scenarios.get("compare")
    logs = {}
    for name, run in (compare.runs.items() if compare else []):
        logs[name[len("compare-"):]] = normalized_log(run)
    if REFERENCE in logs and LOG_REFERENCE in logs:
        ours, theirs = logs[REFERENCE], logs[LOG_REFERENCE]
        only_ours = [line for line in ours if line not in set(theirs)]
        only_theirs = [line for line in theirs if line not in set(ours)]
        print(f"\nL2 kernel log lines only under SwiftVMM ({len(only_ours)}):")
        print("\n".join(f"  + {line}" for line in only_ours))
        print(f"\nL2 kernel log lines only under QEMU {LOG_REFERENCE} ({len(only_theirs)}):")
        print("\n".join(f"  - {line}" for line in only_theirs))
    else:
        print("comparison: the first runs' kernel logs are missing; see the L1 console log")
        failed = True
    return 1 if failed else 0


def net_measurements(lines):
    """{vmm: [{"status": n, "seconds": s, "transfer": s, "bytes": n, "intact": bool,
    "rx": n, "tx": n}, ...]} from "@@ measure-net VMM REPEAT KEY=VALUE..." lines (rx and
    tx: L2's interrupts from the receive and transmit queues)."""
    runs = {}
    for vmm, fields in tagged_fields("measure-net", lines):
        def number(key, kind=float):
            value = fields.get(key, "none")
            return None if value == "none" else kind(value)
        runs.setdefault(vmm, []).append({
            "status": number("status", int), "seconds": number("seconds"), "transfer": number("transfer"),
            "bytes": number("bytes", int), "intact": fields.get("sha256") == "equal",
            "rx": number("interrupts-rx", int), "tx": number("interrupts-tx", int),
        })
    return runs


def report_net(lines, mib):
    """The table of boot.sh --compare-net: for each VMM, its runs that moved all `mib` MiB
    intact, and over those the transfer's time and rate, the whole run's time and L2's
    virtio-net interrupts per MiB; a ratio is the VMM's median over SwiftVMM's."""
    runs = net_measurements(lines)
    if REFERENCE not in runs:
        print("comparison: no SwiftVMM transfer was measured; see the L1 console log")
        return 1
    good = {vmm: [r for r in measured if r["status"] == 0 and r["intact"] and r["transfer"]]
            for vmm, measured in runs.items()}
    columns = [("transfer (s)", lambda r: r["transfer"]),
               ("MB/s", lambda r: (mib << 20) / 1e6 / r["transfer"]),
               ("whole run (s)", lambda r: r["seconds"]),
               ("RX interrupts/MiB", lambda r: None if r["rx"] is None else r["rx"] / mib),
               ("TX interrupts/MiB", lambda r: None if r["tx"] is None else r["tx"] / mib)]
    print(f"{mib} MiB from L2 to L1 over TCP through a tap")
    print(f"{'VMM':<10} {'intact':>8} " + " ".join(f"{title:>24}" for title, _ in columns))
    reference = {title: summarize([value(r) for r in good[REFERENCE]]) for title, value in columns}
    for vmm, measured in runs.items():
        cells = []
        for title, value in columns:
            summary = summarize([value(r) for r in good[vmm]])
            if summary is None:
                cells.append(f"{'-':>24}")
                continue
            low, median, high = summary
            ratio = f" {median / reference[title][1]:.2f}x" if reference[title] and vmm != REFERENCE else ""
            cells.append(f"{median:8.1f} [{low:.1f}-{high:.1f}]{ratio:>6}")
        print(f"{vmm:<10} {len(good[vmm]):>3} of {len(measured):<2} " + " ".join(cells))
    print("(medians over the intact runs, [min-max]; a ratio is the VMM's median over SwiftVMM's:"
          " for MB/s, above 1 means QEMU moved more)")
    if not any(line.startswith("@@ l1 finished") for line in lines):
        print("  L1 stopped before its last run (the emulated host); the runs above are those it finished")
    for vmm, measured in runs.items():
        for number, run in enumerate(measured, 1):
            if run not in good[vmm]:
                print(f"  {vmm} run {number}: status {run['status']}, {run['bytes']} bytes arrived"
                      f" ({'intact' if run['intact'] else 'not all, or altered'}); see the L1 console log")
    return 0 if good[REFERENCE] else 1
