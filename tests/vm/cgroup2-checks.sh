#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# cgroup2-checks.sh: runs inside the guest that tests/vm/cgroup2.sh boots (pure cgroup v2,
# nsdelegate): one line "CHECK name: PASS|FAIL detail" per check, "DONE", then power off.
export PATH=/bin:/usr/bin:/sbin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
echo "INFO kernel: $(uname -r)"
echo "INFO mounts: $(grep cgroup /proc/mounts | tr '\n' ';')"
echo "INFO controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
echo "INFO root subtree_control before: '$(cat /sys/fs/cgroup/cgroup.subtree_control)'"
echo "INFO swap: $(tail -n +2 /proc/swaps | wc -l) devices"
H="hull oci --root /run/h"
pass() { echo "CHECK $1: PASS $2"; }
fail() { echo "CHECK $1: FAIL $2"; }
# expect NAME ACTUAL WANT
expect() { if [ "$2" = "$3" ]; then pass "$1" "($2)"; else fail "$1" "got '$2' want '$3'"; fi; }
field() { awk -v k="$2" '$1 == k {print $2}' "$1"; }
wait_status() { i=0; while [ $i -lt 50 ]; do [ "$($H state "$1" 2>/dev/null | jq -r .status)" = "$2" ] && return 0; sleep 0.2; i=$((i+1)); done; return 1; }
CG=/sys/fs/cgroup/hull

# 1 features
expect features.cgroup "$($H features | jq -c '.linux.cgroup | {v1,v2}')" '{"v1":false,"v2":true}'

# 2 main container
$H run -d --bundle /b/main --pid-file /tmp/pid.main main >/tmp/out.main 2>/tmp/err.main; rc=$?
expect main.run.rc "$rc" 0; [ -s /tmp/err.main ] && echo "INFO main stderr: $(cat /tmp/err.main)"
PID=$(cat /tmp/pid.main 2>/dev/null)
echo "INFO main pid=$PID state=$($H state main | jq -c '{status,pid}')"
echo "INFO /sys/fs/cgroup/cgroup.subtree_control after: '$(cat /sys/fs/cgroup/cgroup.subtree_control)'"
echo "INFO $CG/cgroup.subtree_control: '$(cat $CG/cgroup.subtree_control 2>&1)'"
echo "INFO $CG/main/cgroup.controllers: '$(cat $CG/main/cgroup.controllers 2>&1)'"
expect mem.memory.max "$(cat $CG/main/memory.max 2>&1)" 67108864
expect cpu.weight "$(cat $CG/main/cpu.weight 2>&1)" 39
expect cpu.max "$(cat $CG/main/cpu.max 2>&1)" "50000 100000"
expect cpuset.cpus "$(cat $CG/main/cpuset.cpus 2>&1)" 0
expect cpuset.mems "$(cat $CG/main/cpuset.mems 2>&1)" 0
expect cpuset.affinity "$(awk '/^Cpus_allowed_list:/ {print $2}' /proc/$PID/status)" 0
expect pids.max "$(cat $CG/main/pids.max 2>&1)" 10
expect init.proc.cgroup "$(cat /proc/$PID/cgroup)" "0::/hull/main"
expect init.in.cgroup.procs "$(grep -cx "$PID" $CG/main/cgroup.procs)" 1
expect exec.self.cgroup "$($H exec main cat /proc/self/cgroup 2>&1)" "0::/"
expect exec.ns.memory.max "$($H exec main cat /sys/fs/cgroup/memory.max 2>&1)" 67108864
echo "INFO exec mount in container: $($H exec main grep cgroup /proc/mounts 2>&1)"
$H exec -d --pid-file /tmp/pid.e main sleep 100 2>&1; expect exec.detached.host.cgroup "$(cat /proc/$(cat /tmp/pid.e 2>/dev/null)/cgroup 2>&1)" "0::/hull/main"
hull oci --root /run/h --debug --log /tmp/exec.log exec main true; echo "INFO exec debug cgroup writes: $(grep -c 'cgroup.procs' /tmp/exec.log) (0 = CLONE_INTO_CGROUP used)"
mkdir -p /tmp/jb; jq --arg p /proc/$PID/ns/cgroup '.process.args=["cat","/proc/self/cgroup"] | .linux.namespaces |= map(if .type=="cgroup" then .path=$p else . end)' /b/plain/config.json > /tmp/jb/config.json
out=$($H run --bundle /tmp/jb joinns 2>&1); expect joinns.cgroup "$out" "0::/../joinns"
echo "INFO ps: $($H ps main 2>&1 | tr '\n' ';')"
$H pause main 2>/tmp/err; rc=$?; expect pause.rc "$rc" 0; [ -s /tmp/err ] && echo "INFO pause stderr: $(cat /tmp/err)"
expect pause.cgroup.freeze "$(cat $CG/main/cgroup.freeze)" 1
expect pause.events.frozen "$(field $CG/main/cgroup.events frozen)" 1
expect pause.state "$($H state main | jq -r .status)" paused
expect pause.proc.state "$(awk '/^State:/ {print $2}' /proc/$PID/status)" S
$H resume main 2>/tmp/err; rc=$?; expect resume.rc "$rc" 0; [ -s /tmp/err ] && echo "INFO resume stderr: $(cat /tmp/err)"
expect resume.cgroup.freeze "$(cat $CG/main/cgroup.freeze)" 0
expect resume.events.frozen "$(field $CG/main/cgroup.events frozen)" 0
expect resume.state "$($H state main | jq -r .status)" running
$H update --memory 128M --pids-limit 20 --cpu-share 512 --cpu-quota 20000 --cpu-period 100000 main 2>/tmp/err; rc=$?
expect update.rc "$rc" 0; [ -s /tmp/err ] && echo "INFO update stderr: $(cat /tmp/err)"
expect update.memory.max "$(cat $CG/main/memory.max)" 134217728
expect update.pids.max "$(cat $CG/main/pids.max)" 20
expect update.cpu.weight "$(cat $CG/main/cpu.weight)" 20
expect update.cpu.max "$(cat $CG/main/cpu.max)" "20000 100000"
echo '{"memory": {"limit": 100663296}, "pids": {"limit": 33}, "cpu": {"cpus": "1"}}' > /tmp/res.json
$H update --resources /tmp/res.json main 2>/tmp/err; rc=$?
expect update.resources.rc "$rc" 0; [ -s /tmp/err ] && echo "INFO update stderr: $(cat /tmp/err)"
expect update.resources.memory.max "$(cat $CG/main/memory.max)" 100663296
expect update.resources.cpuset.cpus "$(cat $CG/main/cpuset.cpus)" 1

$H kill main KILL; wait_status main stopped; expect kill.state "$($H state main | jq -r .status)" stopped
$H delete main 2>/tmp/err; rc=$?; expect delete.rc "$rc" 0; [ -s /tmp/err ] && echo "INFO delete stderr: $(cat /tmp/err)"
expect delete.removes.cgroup "$([ -e $CG/main ] && echo exists || echo gone)" gone

# 3 create: the init is in the cgroup before start
$H create --bundle /b/plain --pid-file /tmp/pid.c c1 >/tmp/out.c 2>/tmp/err.c; rc=$?
expect create.rc "$rc" 0; [ -s /tmp/err.c ] && echo "INFO create stderr: $(cat /tmp/err.c)"
P=$(cat /tmp/pid.c); expect create.init.cgroup "$(cat /proc/$P/cgroup)" "0::/hull/c1"
expect create.state "$($H state c1 | jq -r .status)" created
$H start c1; expect start.state "$($H state c1 | jq -r .status)" running
$H delete --force c1; expect delete.force.removes.cgroup "$([ -e $CG/c1 ] && echo exists || echo gone)" gone

# 4 OOM
out=$($H run --keep --bundle /b/oom oom 2>/tmp/err.oom); rc=$?
expect oom.rc "$rc" 137; [ -s /tmp/err.oom ] && echo "INFO oom stderr: $(cat /tmp/err.oom)"
expect oom.not.survived "$out" ""
echo "INFO oom memory.events: $(cat $CG/oom/memory.events 2>&1 | tr '\n' ' ')"
k=$(field $CG/oom/memory.events oom_kill); [ "${k:-0}" -ge 1 ] && pass oom.events.oom_kill "($k)" || fail oom.events.oom_kill "got '$k'"
expect oom.state "$($H state oom | jq -r .status)" stopped
$H delete oom; expect oom.delete.removes "$([ -e $CG/oom ] && echo exists || echo gone)" gone

# 5 pids
out=$($H run --keep --bundle /b/pids pids 2>&1); rc=$?
[ "$rc" -ne 0 ] && pass pids.rc.nonzero "($rc)" || fail pids.rc.nonzero "rc 0"
case "$out" in *"can't fork"*) pass pids.cant.fork "";; *) fail pids.cant.fork "$(echo "$out" | tail -2)";; esac
case "$out" in *all-forked*) fail pids.bounded "all forked";; *) pass pids.bounded "";; esac
m=$(field $CG/pids/pids.events max); [ "${m:-0}" -ge 1 ] && pass pids.events.max "($m)" || fail pids.events.max "got '$m'"
$H delete --force pids

# 6 devices
out=$($H run --bundle /b/dev dev 2>&1); rc=$?
echo "INFO dev output: $(echo "$out" | tr '\n' '|') rc=$rc"
expect dev.zero.read "$(echo "$out" | sed -n 1p | tr -d ' ')" 1
expect dev.null.write "$(echo "$out" | grep -c null-ok)" 1
case "$out" in *"crw"*"1,"*"11"*"/dev/kmsg"*) pass dev.kmsg.created "";; *) fail dev.kmsg.created "";; esac
case "$out" in *"kmsg"*"Operation not permitted"*) pass dev.kmsg.eperm "";; *) fail dev.kmsg.eperm "$(echo "$out" | tail -1)";; esac
expect dev.removed "$([ -e $CG/dev ] && echo exists || echo gone)" gone

# 7 swap
$H run -d --bundle /b/swap swap >/dev/null 2>/tmp/err.swap; rc=$?
expect swap.run.rc "$rc" 0; [ -s /tmp/err.swap ] && echo "INFO swap stderr: $(cat /tmp/err.swap)"
echo "INFO swap files: $(ls $CG/swap/ | grep swap | tr '\n' ' ')"
expect swap.memory.max "$(cat $CG/swap/memory.max 2>&1)" 67108864
expect swap.memory.swap.max "$(cat $CG/swap/memory.swap.max 2>&1)" 67108864
$H delete --force swap
echo "INFO leftover: $(ls $CG 2>&1 | grep -v '^cgroup\.\|^cpu\|^io\|^memory\|^pids\|^hugetlb\|^misc\|^rdma' | tr '\n' ' ')"
echo "INFO list: $($H list 2>&1 | tr '\n' ';')"
echo DONE
poweroff -f
