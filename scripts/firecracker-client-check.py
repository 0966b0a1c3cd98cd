"""SwiftVMM driven by pyrecracker (a Firecracker client from PyPI), unchanged.

What of pyrecracker runs here: VMManager starts `sudo firecracker --api-sock PATH`
(SwiftVMM, through a link named firecracker) and drives the machine's life (start,
pause, resume, stop: SendCtrlAltDel, then its clean-up); FirecrackerClient, the same
package's API client, configures it (machine-config, boot-source, drives, a network
interface on a tap SwiftVMM creates, as root). VMManager.configure() is not used: it
sets up a host network (a tap with addresses and routes) this check has no use for.

    python firecracker-client-check.py TESTGUEST_ELF
"""
import os
import shutil
import sys
import tempfile
import time

from pyrecracker.client import FirecrackerClient
from pyrecracker.client_types import BootSource, Drive, MachineConfiguration, NetworkInterface
from pyrecracker.vm import VMManager


def wait_for(predicate, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise SystemExit(f"firecracker-client-check: FAILED: {what} within {seconds} s")


def main():
    guest = sys.argv[1]
    work = tempfile.mkdtemp(prefix="svmm-pyfc-")
    socket_path = os.path.join(work, "fc.sock")
    log_path = os.path.join(work, "firecracker.log")
    disk = os.path.join(work, "rootfs.img")
    with open(disk, "wb") as image:
        image.truncate(1 << 20)

    def console():
        with open(log_path, errors="replace") as log:
            return log.read()

    vm = VMManager(socket_path, guest, firecracker_logs_path=log_path)
    wait_for(lambda: os.path.exists(socket_path), 10, "the API socket appeared")
    print("pyrecracker VMManager started SwiftVMM as firecracker:", socket_path)

    client = FirecrackerClient(socket_path)
    client.put_machine_config(MachineConfiguration(vcpu_count=1, mem_size_mib=64))
    client.put_boot_source(BootSource(kernel_image_path=guest,
                                      boot_args="console=ttyS0 testguest.quiet testguest.noacpi testguest.keyboard"))
    client.put_drives(Drive(drive_id="rootfs", is_root_device=True, is_read_only=False, path_on_host=disk))
    # A tap of this check's own name: SwiftVMM creates it at InstanceStart (as root).
    client.put_network_interfaces(NetworkInterface(iface_id="eth0", host_dev_name="svmmpyfc0"))
    print("configured through FirecrackerClient: machine-config, boot-source, drives/rootfs, network-interfaces/eth0")

    vm.start()
    wait_for(lambda: "keyboard: tick 2" in console(), 60, "the guest ran (two ticks)")
    print("VMManager.start(): the guest runs")
    vm.pause()
    ticks = console().count("tick")
    time.sleep(1.5)
    if console().count("tick") != ticks:
        raise SystemExit("firecracker-client-check: FAILED: the guest ran while paused")
    vm.resume()
    wait_for(lambda: console().count("tick") > ticks, 30, "the guest ran again after resume")
    print("VMManager.pause() and resume(): the guest stopped and went on")

    process = vm._VMManager__host_env.process_stack[0]
    vm.stop()
    status = process.wait(timeout=30)
    if "keyboard: Ctrl-Alt-Del" not in console() or status != 0:
        raise SystemExit(f"firecracker-client-check: FAILED: stop() ended with status {status}")
    print("VMManager.stop(): SendCtrlAltDel reached the guest's keyboard; SwiftVMM exited with status 0")
    shutil.rmtree(work, ignore_errors=True)
    print("firecracker-client-check: pyrecracker drove SwiftVMM through the whole life: passed")


main()
