# The test bed's scenarios, run by L1's /init (l1-init) as /testbed/scenarios.sh: each
# runs SwiftVMM on the Linux guest (L2) and prints, for testbed.py to check:
#   @@ begin RUN                the start of one SwiftVMM run
#   | LINE                      what L2 printed on its console
#   ! LINE                      what SwiftVMM printed on stderr
#   @@ status RUN N             SwiftVMM's exit status
#   @@ seconds RUN S            how long it ran
#   @@ fact RUN KEY=VALUE       what L1 found afterwards (a disk image's bytes)
#   @@ end RUN
# L2 is Debian's kernel with the test bed's initramfs (l2-init); its root file system
# image, for the scenarios that boot from a disk, is /l2/root.img.
vmm=/testbed/swiftvmm
kernel=/l2/vmlinuz
initramfs=/l2/initramfs.img
# Every run is bounded: a guest that hangs fails its scenario, not the test bed.
timeout=120

uptime_seconds() { cut -d' ' -f1 /proc/uptime; }
# seconds_between START END: END - START, or "none" if either is.
seconds_between() {
    if [ "$1" = none ] || [ "$2" = none ]; then echo none; else awk -v s="$1" -v e="$2" 'BEGIN { printf "%.2f", e - s }'; fi
}

# run NAME [SWIFTVMM RUN OPTIONS...]: runs SwiftVMM on L2 with stdin from /dev/null.
run() {
    start_vmm "$@"
    wait_vmm "$1"
}

# start_vmm NAME [OPTIONS...]: the same, in the background (input from $input, or
# /dev/null); wait_vmm NAME waits for it and reports. L2 gets $memory of RAM (512M).
start_vmm() {
    name=$1; shift
    echo "@@ begin $name"
    start=$(uptime_seconds)
    "$vmm" run --kernel "$kernel" --initrd "$initramfs" --memory "${memory:-512M}" --timeout "$timeout" "$@" \
        <"${input:-/dev/null}" >/tmp/console 2>/tmp/stderr &
    vmm_pid=$!
}

# A VMM still running 30 s past its own --timeout has a thread that cannot leave L1's
# kernel (the emulated host's doing: a vCPU that never comes back from KVM_RUN, which
# L1's watchdog reports as a soft lockup, and which no signal reaches). L1 then says
# where each of the VMM's threads is and powers off at once: testbed.py runs the
# scenario again in a fresh L1 now, not after its own limit.
wait_vmm() {
    if ! ends_within "$((timeout + 30))" "$vmm_pid"; then
        echo "@@ stuck $1 swiftvmm has not ended 30 s after its --timeout"
        for task in /proc/"$vmm_pid"/task/*; do
            echo "@@ stuck $1 $(cat "$task/comm"): $(tr '\n' ' ' <"$task/stack")"
        done
        poweroff -f
    fi
    wait "$vmm_pid"
    status=$?
    report "$1" "$status" "$start" "$(uptime_seconds)"
}

# wait_for_console TEXT: until L2 has printed TEXT (at most the run's timeout).
wait_for_console() { within "$timeout" grep -q "$1" /tmp/console; }

# within SECONDS COMMAND...: runs COMMAND every 0.1 s until it succeeds, for at most
# SECONDS; false if it never did.
within() {
    tenths=$(($1 * 10)); shift
    waited=0
    until "$@"; do
        [ "$waited" -lt "$tenths" ] || return 1
        usleep 100000
        waited=$((waited + 1))
    done
}

report() { # NAME STATUS START END
    # awk ends every line, the console's last one too (a guest stopped mid-line).
    tr -d '\r' </tmp/console | awk '{ print "| " $0 }'
    awk '{ print "! " $0 }' </tmp/stderr
    echo "@@ status $1 $2"
    echo "@@ seconds $1 $(seconds_between "$3" "$4")"
}

fact() { echo "@@ fact $1 $2"; }
# L1's kernel messages since the last scenario's end that name KVM or SVM: what L1's
# KVM said of L2 (an emulation failure, a nested-paging error), for the record.
end() {
    dmesg -c 2>/dev/null | grep -i -E 'kvm|svm' | sed 's/^/@@ kernel-of-l1 /'
    echo "@@ end $1"
}

# hold_open / let_go: fd 4 is a FIFO held open, a busybox nc's stdin that never ends
# (busybox nc half-closes the connection when its stdin ends, and its peer then quits).
# Opened read-write: an open for writing alone would block until the reader's, and a
# signal meanwhile makes the shell, L1's PID 1, give up and exit.
hold_open() {
    rm -f /tmp/hold
    mkfifo /tmp/hold
    exec 4<>/tmp/hold
}
let_go() {
    exec 4<&-
    rm -f /tmp/hold
}

# tap_up NAME ADDRESS/PREFIX: a tap device on L1 with that address, up; tap_down NAME.
tap_up() {
    tunctl -t "$1" >/dev/null
    ip addr add "$2" dev "$1"
    ip link set "$1" up
}
tap_down() { tunctl -d "$1" >/dev/null; }

# start_receiver SECONDS: nc on L1's port 5001 writes what L2 sends to /tmp/received, for
# at most SECONDS. Its stdin stays open: only L2's end of the data closes the connection.
# stop_receiver: gives it 5 s to finish (L2 has stopped: what it sent has reached L1).
start_receiver() {
    rm -f /tmp/received
    touch /tmp/received
    hold_open
    timeout "$1" nc -l -p 5001 <&4 >/tmp/received &
    receiver=$!
}
stop_receiver() {
    stop_after 5 "$receiver"
    wait "$receiver"
    let_go
}

# stop_after SECONDS PID: gives PID, a child of this shell, at most SECONDS more to end,
# then stops it (SIGTERM); its status is left for `wait`. An L2 that stopped mid-transfer
# (crashed, or timed out) never closes its end, and L1's program would wait for it.
stop_after() { ends_within "$1" "$2" || kill "$2" 2>/dev/null; }
# ends_within SECONDS PID: waits at most SECONDS for PID, a child of this shell, to end;
# false if it has not.
ends_within() { within "$1" ended "$2"; }
ended() { ! running "$1"; }
# running PID: PID has not ended (an ended child not yet waited for is a zombie, "Z").
running() {
    state=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)
    [ -n "$state" ] && [ "$state" != Z ]
}

# The 64 KiB at byte 1 MiB of FILE, where l2-init's disk task writes.
written_block_sha256() { dd if="$1" bs=65536 skip=16 count=1 2>/dev/null | sha256sum | cut -d' ' -f1; }
sha256() { sha256sum "$1" | cut -d' ' -f1; }

# An image of SIZE MiB of random bytes.
random_image() { head -c "$(($2 * 1048576))" /dev/urandom >"$1"; }

scenario_cpus_1() { run cpus-1 --cpus 1 --cmdline "console=ttyS0 testbed.task=facts"; end cpus-1; }
scenario_cpus_2() { run cpus-2 --cpus 2 --cmdline "console=ttyS0 testbed.task=facts"; end cpus-2; }
scenario_cpus_4() { run cpus-4 --cpus 4 --cmdline "console=ttyS0 testbed.task=facts"; end cpus-4; }

# A virtio-pci and a virtio-mmio disk, read whole and written.
scenario_disks() {
    random_image /tmp/pci.img 8
    random_image /tmp/mmio.img 4
    fact disks "pci-sha256=$(sha256 /tmp/pci.img)"
    fact disks "mmio-sha256=$(sha256 /tmp/mmio.img)"
    run disks --cpus 2 --disk /tmp/pci.img --disk /tmp/mmio.img,transport=mmio \
        --cmdline "console=ttyS0 testbed.task=disks"
    fact disks "pci-written-sha256=$(written_block_sha256 /tmp/pci.img)"
    fact disks "mmio-written-sha256=$(written_block_sha256 /tmp/mmio.img)"
    rm -f /tmp/pci.img /tmp/mmio.img
    end disks
}

# The root file system on virtio-blk: a file written and synced, then read back by a
# second boot.
scenario_rootfs() {
    cp /l2/root.img /tmp/root.img
    token=$(head -c 8 /dev/urandom | sha256sum | cut -c1-16)
    fact rootfs "token=$token"
    run rootfs --disk /tmp/root.img --cmdline "console=ttyS0 root=/dev/vda rw testbed.task=rootfs-write testbed.token=$token"
    run rootfs-again --disk /tmp/root.img --cmdline "console=ttyS0 root=/dev/vda rw testbed.task=rootfs-read"
    rm -f /tmp/root.img
    end rootfs
}

# The same root file system, read-only.
scenario_readonly() {
    cp /l2/root.img /tmp/root.img
    before=$(sha256 /tmp/root.img)
    run readonly --disk /tmp/root.img,readonly=on --cmdline "console=ttyS0 root=/dev/vda ro testbed.task=readonly"
    [ "$(sha256 /tmp/root.img)" = "$before" ] && fact readonly "image=unchanged" || fact readonly "image=changed"
    rm -f /tmp/root.img
    end readonly
}

# A host block device (a loop device) as a disk.
scenario_blockdev() {
    random_image /tmp/loop.img 8
    device=$(losetup -f)
    losetup "$device" /tmp/loop.img || fact blockdev "losetup=failed"
    fact blockdev "device=$device"
    fact blockdev "pci-sha256=$(sha256 "$device")"
    run blockdev --disk "$device" --cmdline "console=ttyS0 testbed.task=disks"
    fact blockdev "pci-written-sha256=$(written_block_sha256 "$device")"
    losetup -d "$device"
    rm -f /tmp/loop.img
    end blockdev
}

scenario_poweroff() { run poweroff --cpus 2 --cmdline "console=ttyS0 testbed.task=poweroff"; end poweroff; }

# --expect on a line Linux prints: SwiftVMM stops the guest and exits 0 when it appears.
scenario_expect() {
    run expect --cpus 2 --cmdline "console=ttyS0 testbed.task=wait" --expect "Run /init as init process"
    end expect
}

# Ctrl-A x typed on the console of a running Linux.
scenario_ctrl_a_x() {
    rm -f /tmp/keys
    mkfifo /tmp/keys
    input=/tmp/keys
    start_vmm ctrl-a-x --cpus 2 --cmdline "console=ttyS0 testbed.task=wait"
    input=
    exec 3>/tmp/keys
    wait_for_console "testbed: waiting"
    printf '\001x' >&3
    wait_vmm ctrl-a-x
    exec 3>&-
    rm -f /tmp/keys
    end ctrl-a-x
}

# virtio-net over a tap to L1 (192.168.100.1): a ping, and $transfer_mib MiB over TCP
# whose checksum L1 takes as it arrives; and virtio-rng, read. One vCPU: every interrupt
# the emulated host injects into L2 is a chance for it to drop L2 (a triple fault while
# delivering one, traced with L1's KVM events), and a second vCPU adds some 20,000
# function-call IPIs to each transfer and almost triples its virtio interrupts (50,000
# against 18,000). Measured in L1s like CI's, 64 MiB each: SwiftVMM's L2 with two vCPUs
# passed 5 of 22 runs (40 to 50 s each), with one 8 of 10 (30 s); QEMU's own L2 with two
# failed 4 of 14. SMP is cpus-2's and cpus-4's to prove. (256 MiB meets the
# emulated host's faults in most runs: L2 triple-faults or stalls, or L1's kernel
# panics or sticks in KVM_RUN; with one vCPU, one of three runs passed, in 85 s.)
transfer_mib=64
scenario_net_tap() {
    tap_up tap0 192.168.100.1/24
    # 64 MiB through the emulated L1 takes about 30 s: a longer limit than the others',
    # short enough that a stalled L2 (testbed.py retries it) costs little.
    timeout=150
    start_receiver "$timeout"
    run net-tap --cpus 1 --net tap=tap0 --rng --cmdline "console=ttyS0 testbed.task=net-tap testbed.mib=$transfer_mib"
    timeout=120
    stop_receiver
    received=$(sha256sum /tmp/received | cut -d' ' -f1)
    fact net-tap "received-sha256=$received"
    fact net-tap "received-bytes=$(wc -c </tmp/received)"
    rm -f /tmp/received
    tap_down tap0
    end net-tap
}

# virtio-net over passt (--net user): DHCP, and L1's port 8080 forwarded to the guest's
# 80. passt takes its addresses from L1's, so L1 gets an interface with a route.
scenario_net_user() {
    ip link add dummy0 type dummy
    ip addr add 10.0.2.15/24 dev dummy0
    ip link set dummy0 up
    ip route add default via 10.0.2.2 dev dummy0
    start_vmm net-user --net user,hostfwd=tcp:8080-:80 --cmdline "console=ttyS0 testbed.task=net-user" \
        --trace virtio --trace-file /tmp/net-trace
    wait_for_console "testbed: forward-listening"
    # The client's stdin stays open, and it speaks first, as an HTTP client does: Debian
    # 12's passt completes a forwarded connection's handshake with the guest only when
    # the client sends (or closes).
    hold_open
    answer=""
    i=0
    while [ -z "$answer" ] && [ "$i" -lt 12 ]; do
        echo "hello-from-l1" >&4
        answer=$(timeout 5 nc 127.0.0.1 8080 <&4 2>/tmp/nc-error)
        [ -n "$answer" ] || usleep 250000
        i=$((i + 1))
    done
    let_go
    fact net-user "answer=$answer"
    [ -n "$answer" ] || fact net-user "client-error=$(tail -n1 /tmp/nc-error | tr ' ' _) listening=$(netstat -ltn 2>/dev/null | grep -c ':8080 ')"
    wait_vmm net-user
    [ -n "$answer" ] || grep virtio-net /tmp/net-trace | grep -v 'interrupt\|notify' | tail -n 40 | sed 's/^/@@ trace /'
    rm -f /tmp/net-trace
    ip link del dummy0
    end net-user
}

# virtio-vsock with Firecracker's hybrid host side: four host programs connect through
# SwiftVMM's Unix socket to the guest's port 1234, and four guest programs to the host's
# port 5000 (a listener at the socket's path with _5000), 1 MB each way, at once.
scenario_vsock() {
    testbed=/testbed/testbed-tool
    rm -f /tmp/v.sock /tmp/v.sock_5000
    # Each host program is bounded as the run is: a guest that stops early never connects.
    timeout "$timeout" $testbed echo-server unix /tmp/v.sock_5000 4 >/tmp/host-server 2>&1 &
    host_server=$!
    start_vmm vsock --cpus 2 --vsock cid=3,uds=/tmp/v.sock --cmdline "console=ttyS0 testbed.task=vsock"
    wait_for_console "testbed: vsock-listening"
    clients=""
    for i in 1 2 3 4; do
        timeout "$timeout" $testbed echo-client hybrid /tmp/v.sock 1234 1000000 "$((10 + i))" >"/tmp/host-client$i" 2>&1 &
        clients="$clients $!"
    done
    for pid in $clients; do wait "$pid"; done
    fact vsock "host-clients-ok=$(cat /tmp/host-client* | grep -c '^echo ok')"
    wait "$host_server"
    fact vsock "host-server=$(tail -n1 /tmp/host-server | tr ' ' '_')"
    wait_vmm vsock
    end vsock
}

# Firecracker's API: SwiftVMM started through a link named firecracker, the machine
# configured (a root drive, a network interface on a tap to L1 at 192.168.101.1, an
# entropy device) and started over its socket, its boot timer written by L2 and logged,
# the guest stopped with SendCtrlAltDel.
scenario_api() {
    testbed=/testbed/testbed-tool
    tap_up tap1 192.168.101.1/24
    ln -sf "$vmm" /tmp/firecracker
    cp /l2/root.img /tmp/api-root.img
    rm -f /tmp/fc.sock
    echo "@@ begin api"
    start=$(uptime_seconds)
    rm -f /tmp/fc.log
    /tmp/firecracker --api-sock /tmp/fc.sock --boot-timer --log-path /tmp/fc.log </dev/null >/tmp/console 2>/tmp/stderr &
    vmm_pid=$!
    within 10 test -S /tmp/fc.sock
    api() { # NAME METHOD PATH [BODY]: the request, its status as a fact
        name=$1; shift
        fact api "$name=$($testbed http /tmp/fc.sock "$@" | head -n1 | cut -d' ' -f2)"
    }
    api machine-config PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 512}'
    api boot-source PUT /boot-source "{\"kernel_image_path\": \"$kernel\", \"initrd_path\": \"$initramfs\", \"boot_args\": \"console=ttyS0 testbed.task=api\"}"
    api drive PUT /drives/rootfs '{"drive_id": "rootfs", "path_on_host": "/tmp/api-root.img", "is_root_device": true, "is_read_only": false}'
    api network-interface PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tap1", "guest_mac": "06:00:ac:10:00:02"}'
    api entropy PUT /entropy '{}'
    api start PUT /actions '{"action_type": "InstanceStart"}'
    wait_for_console "testbed: waiting"
    api ctrl-alt-del PUT /actions '{"action_type": "SendCtrlAltDel"}'
    # Firecracker's command line has no --timeout: a guest that never stops is stopped.
    stop_after "$timeout" "$vmm_pid"
    wait_vmm api
    fact api "boot-timer-lines=$(grep -c 'Guest-boot-time = ' /tmp/fc.log)"
    rm -f /tmp/api-root.img /tmp/firecracker
    tap_down tap1
    end api
}

# Side by side (boot.sh --compare): SwiftVMM and QEMU booting the same L2 to user space
# and powering it off, in rotating order, each measured by bootclock (from the VMM's
# start to L2's user-space marker and to the VMM's exit, and its peak RSS). Prints
#   @@ measure VMM REPEAT marker=S exit=S maxrss_kib=N status=N
# and, for each VMM's first run, L2's console as a run named compare-VMM.
qemu=/testbed/qemu/qemu-system-x86_64
compare_cpus=2
for word in $(cat /proc/cmdline); do
    case "$word" in testbed.cpus=*) compare_cpus=${word#*=} ;; esac
done
qemu_common="-L /testbed/qemu/share -accel kvm -cpu host -smp $compare_cpus -m 512M -nodefaults -no-user-config -display none -serial stdio -no-reboot"
compare_cmdline="console=ttyS0 testbed.task=poweroff"
compare_marker="testbed: task=poweroff userspace=reached"

compare_command() { # VMM: the command line that boots L2 with it
    case "$1" in
    swiftvmm) echo "$vmm run --kernel $kernel --initrd $initramfs --memory 512M --cpus $compare_cpus" ;;
    qemu-microvm) echo "$qemu -M microvm $qemu_common -kernel $kernel -initrd $initramfs" ;;
    qemu-microvm-rtc) echo "$qemu -M microvm,rtc=on $qemu_common -kernel $kernel -initrd $initramfs" ;;
    qemu-pc) echo "$qemu -M pc $qemu_common -kernel $kernel -initrd $initramfs" ;;
    esac
}

scenario_compare() {
    repeats=5
    for word in $(cat /proc/cmdline); do
        case "$word" in testbed.repeats=*) repeats=${word#*=} ;; esac
    done
    # L1's KVM installing a memory slot after the irqchip and before it (SwiftVMM's order).
    /testbed/slotwait 512 3 | sed 's/^/@@ /'
    vmms="swiftvmm qemu-microvm qemu-microvm-rtc qemu-pc"
    i=1
    while [ "$i" -le "$repeats" ]; do
        for name in $vmms; do
            # shellcheck disable=SC2046
            /testbed/bootclock "$compare_marker" $(compare_command "$name") \
                $([ "$name" = swiftvmm ] && echo --cmdline || echo -append) "$compare_cmdline" \
                </dev/null >/tmp/console 2>/tmp/stderr
            echo "@@ measure $name $i $(grep '^bootclock:' /tmp/stderr | tail -n1 | cut -d' ' -f2-)"
            if [ "$i" = 1 ]; then
                echo "@@ begin compare-$name"
                report "compare-$name" "$(grep '^bootclock:' /tmp/stderr | sed 's/.*status=//')" 0 0
            fi
        done
        # Rotate, so no VMM always runs first.
        vmms="$(echo "$vmms" | cut -d' ' -f2-) $(echo "$vmms" | cut -d' ' -f1)"
        i=$((i + 1))
    done
    end compare
}

# Side by side over the network (boot.sh --compare-net): net-tap's transfer, L2 sending
# testbed.mib MiB over TCP to nc on L1 through tap0, under SwiftVMM (virtio-net on
# virtio-pci) and under QEMU (-M pc, virtio-net-pci on the same tap with vhost=off, its
# device served in QEMU's own threads as SwiftVMM serves its), in turns. Each run prints
#   @@ measure-net VMM REPEAT status=N seconds=S transfer=S bytes=N sha256=equal|differs interrupts-rx=N interrupts-tx=N
# seconds: from the VMM's start to its exit (L2's boot included); transfer: from the
# first byte's arrival on L1 to the last's, polled every 0.1 s; interrupts: those of L2's
# virtio-net receive and transmit queues during its send (its /proc/interrupts).
scenario_compare_net() {
    repeats=3 mib=64
    for word in $(cat /proc/cmdline); do
        case "$word" in testbed.repeats=*) repeats=${word#*=} ;; testbed.mib=*) mib=${word#*=} ;; esac
    done
    # About a second a MiB at worst through the emulated L1, after a boot of 10 to 20 s.
    timeout=$((60 + mib))
    net_cmdline="console=ttyS0 testbed.task=net-tap testbed.mib=$mib"
    tap_up tap0 192.168.100.1/24
    vmms="swiftvmm qemu-pc"
    i=1
    while [ "$i" -le "$repeats" ]; do
        # start_vmm sets $name: the loop's variable is another.
        for net_vmm in $vmms; do
            run_name=compare-net-$net_vmm-$i
            start_receiver "$((timeout + 30))"
            if [ "$net_vmm" = swiftvmm ]; then
                start_vmm "$run_name" --cpus "$compare_cpus" --net tap=tap0 --cmdline "$net_cmdline"
            else
                echo "@@ begin $run_name"
                start=$(uptime_seconds)
                # shellcheck disable=SC2046
                timeout "$timeout" $(compare_command qemu-pc) -append "$net_cmdline" \
                    -netdev tap,id=net0,ifname=tap0,script=no,downscript=no,vhost=off \
                    -device virtio-net-pci,netdev=net0,romfile= </dev/null >/tmp/console 2>/tmp/stderr &
                vmm_pid=$!
            fi
            # Each wait ends, too, when the VMM has (its own timeout bounds it); the receiver
            # may still be writing what came just before.
            first=none last=none
            if within "$timeout" received_or_ended 1 && within 5 received_all 1; then
                first=$(uptime_seconds)
                if within "$timeout" received_or_ended "$((mib << 20))" && within 5 received_all "$((mib << 20))"; then
                    last=$(uptime_seconds)
                fi
            fi
            if [ "$net_vmm" = swiftvmm ]; then
                wait_vmm "$run_name"
            else
                wait "$vmm_pid"
                status=$?
                report "$run_name" "$status" "$start" "$(uptime_seconds)"
            fi
            stop_receiver
            sent=$(tr -d '\r' </tmp/console | sed -n 's/^testbed: blob-sha256=//p')
            same=differs
            [ -n "$sent" ] && [ "$sent" = "$(sha256sum /tmp/received | cut -d' ' -f1)" ] && same=equal
            interrupts=$(tr -d '\r' </tmp/console | grep '^testbed: interrupts-rx=' | cut -d' ' -f2-)
            echo "@@ measure-net $net_vmm $i status=$status seconds=$(seconds_between "$start" "$(uptime_seconds)")" \
                "transfer=$(seconds_between "$first" "$last") bytes=$(wc -c </tmp/received) sha256=$same" \
                "${interrupts:-interrupts-rx=none interrupts-tx=none}"
        done
        vmms="$(echo "$vmms" | cut -d' ' -f2-) $(echo "$vmms" | cut -d' ' -f1)"
        i=$((i + 1))
    done
    rm -f /tmp/received
    tap_down tap0
    end compare-net
}

# received_all BYTES: /tmp/received holds BYTES (or more).
received_all() { [ "$(wc -c </tmp/received)" -ge "$1" ]; }
# received_or_ended BYTES: that, or the VMM ($vmm_pid) has ended.
received_or_ended() { received_all "$1" || ended "$vmm_pid"; }
