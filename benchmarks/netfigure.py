"""The network figure of bench.py: virtio-net over a tap, SwiftVMM beside QEMU's
virtio-net-device (vhost=off), both on virtio-mmio, the same test guest
(`testguest.netbench=MODE,COUNT`, guest-images/testguest/netbench.c).

Each rate is (run with COUNT - run with 0) / COUNT, as the disk figure's are, so the
start-up and the guest's set-up are subtracted: small frames per second, bulk MB/s of
64,000-byte TSO segments, and the round-trip time of a frame echoed by the host (a
packet socket on the tap, the same echo for both VMMs).
"""
import ctypes
import os
import socket
import statistics
import subprocess
import threading

TAP = "svbench0"
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def make_tap():
    """A fresh tap, up, without IPv6 (no chatter from the host)."""
    subprocess.run(["ip", "link", "delete", TAP], stderr=subprocess.DEVNULL)
    subprocess.run(["ip", "tuntap", "add", "dev", TAP, "mode", "tap"], check=True)
    with open(f"/proc/sys/net/ipv6/conf/{TAP}/disable_ipv6", "w") as flag:
        flag.write("1")
    subprocess.run(["ip", "link", "set", TAP, "up"], check=True)


class Echo(threading.Thread):
    """Sends every test frame (EtherType 0x88b5) that arrives on the tap back with
    EtherType 0x88b6, which the guest waits for."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((TAP, 0))
        self.sock.settimeout(0.2)
        self.running = True

    def run(self):
        while self.running:
            try:
                frame, address = self.sock.recvfrom(70000)
            except socket.timeout:
                continue
            except OSError:
                return
            if address[2] == PACKET_OUTGOING or frame[12:14] != b"\x88\xb5":
                continue
            self.sock.send(frame[6:12] + frame[0:6] + b"\x88\xb6" + frame[14:])

    def stop(self):
        self.running = False
        self.join()
        self.sock.close()


def measure(ctx, run, RunFailed, note, QUIET, GUEST_EXIT):
    if os.geteuid() != 0 or not os.path.exists("/dev/net/tun"):
        note("skipped: the network figure needs root and /dev/net/tun (to make a tap)")
        return
    quick = ctx.args.quick
    workloads = [
        ("small frames, 60 bytes", "tx", 5_000 if quick else 20_000, "frames/s", lambda count, t: count / t),
        ("bulk, 64,000-byte TSO segments", "tso", 1_000 if quick else 5_000, "MB/s", lambda count, t: count * 64_054 / t / 1e6),
        ("round trip, 60-byte frames", "ping", 500 if quick else 2_000, "us", lambda count, t: t / count * 1e6),
    ]
    repeats = 3 if quick else 5
    vmms = ctx.swiftvmms + ctx.qemus
    make_tap()
    echo = Echo()
    echo.start()
    try:
        print("\nFigure 7: virtio-net over a tap, virtio-mmio, the same guest (median of "
              f"{repeats}; (run with COUNT - run with 0) / COUNT)")
        print(f"  {'':34} " + "  ".join(f"{vmm.name:>16}" for vmm in vmms) + "   ratio to qemu")
        for title, mode, count, unit, rate in workloads:
            samples = {vmm.name: [] for vmm in vmms}
            # Every VMM once per repeat, in a different order each time: the shared
            # machine's noise hits them alike.
            for repeat in range(repeats):
                for vmm in vmms[repeat % len(vmms):] + vmms[:repeat % len(vmms)]:
                    try:
                        base = run(vmm.command(f"{QUIET} testguest.netbench={mode},0 {GUEST_EXIT}", net=TAP))
                        full = run(vmm.command(f"{QUIET} testguest.netbench={mode},{count} {GUEST_EXIT}", net=TAP))
                    except RunFailed as error:
                        note(f"{vmm.name}: {error}")
                        continue
                    if f"netbench: {mode} {count} done, 0 failed".encode() not in full.output:
                        note(f"{vmm.name}: the guest did not finish: {full.output.decode(errors='replace')[-200:]}")
                        continue
                    samples[vmm.name].append(rate(count, max(full.exit - base.exit, 1e-6)))
            medians = [statistics.median(samples[vmm.name]) if samples[vmm.name] else None for vmm in vmms]
            cells = "  ".join(f"{m:16.1f}" if m is not None else f"{'failed':>16}" for m in medians)
            ratio = ""
            if ctx.qemus and medians[0] and medians[-1]:
                better = medians[0] / medians[-1] if unit != "us" else medians[-1] / medians[0]
                ratio = f"   {better:.2f}x ({'at or above' if better >= 1 else 'below'} QEMU)"
            print(f"  {title + ' (' + unit + ')':34} {cells}{ratio}", flush=True)
    finally:
        echo.stop()
        subprocess.run(["ip", "link", "delete", TAP], stderr=subprocess.DEVNULL)
