/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* qemu.h: QEMU command lines (no I/O), the accelerator this host can use, starting QEMU */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "common/error.h"
#include "common/json.h"

typedef enum VmAccel {
        VM_ACCEL_TCG,
        VM_ACCEL_KVM,
} VmAccel;

const char *vm_accel_name(VmAccel a);

/*
 * Which accelerator runs guests here, and why (*ret_reason, malloc'd, one line for `hull info`):
 * KVM when /dev/kvm opens, is not a paravirtual KVM (kvm_pvm) and runs a few real-mode instructions of
 * a tiny guest within a time limit; else TCG with the reason KVM was not used. HULL_VM_ACCEL=kvm|tcg
 * overrides. Never fails: the worst case is TCG.
 */
void vm_accel_detect(VmAccel *ret, char **ret_reason);

/* The probe behind vm_accel_detect(): runs a real-mode guest of three instructions on kvm_fd (an open
 * /dev/kvm) in a forked child, killed after timeout_ms. True when it ran ("KVM works"), else false with
 * why; *ret_reason is malloc'd either way. Exposed so that the probe itself can be tested on any host. */
bool vm_accel_probe_kvm(int kvm_fd, int timeout_ms, char **ret_reason);

/* The host's TSC rate in kHz (measured against CLOCK_MONOTONIC_RAW over a few milliseconds), for the
 * guest's tsc_early_khz under TCG: without it a microvm guest on a loaded host can hang calibrating.
 * 0 when it cannot be measured. */
uint32_t vm_tsc_khz(void);

/* What a VM's start needs to know of the host: the accelerator (and why) and the TSC rate. */
typedef struct VmHostProbe {
        VmAccel accel;
        char *reason;
        uint32_t tsc_khz;
} VmHostProbe;

/*
 * vm_accel_detect() and vm_tsc_khz(), kept in cache_path (JSON, with the host's boot id) so that later
 * starts in the same boot of the host read them instead of measuring again (about 10 ms). A cache of
 * another boot, or one that does not parse, is measured anew and replaced; HULL_VM_ACCEL bypasses it.
 * cache_path NULL: no cache. Never fails.
 */
void vm_host_probe(const char *cache_path, VmHostProbe *ret);
void vm_host_probe_done(VmHostProbe *p);

/* Everything a VM's QEMU is started with. */
typedef struct VmConfig {
        const char *qemu;          /* NULL: qemu-system-x86_64 from PATH */
        VmAccel accel;
        uint32_t tsc_khz;          /* TCG: the guest's tsc_early_khz; 0: not given */
        int64_t memory;            /* bytes */
        unsigned cpus;
        const char *kernel;
        const char *initrd;
        const char *append;        /* hull.* parameters; console, quiet and the rest are added */
        const char *disk;          /* the VM's qcow2 overlay: virtio-blk, /dev/vda in the guest */
        const char *qmp_socket;    /* made by QEMU (server) */
        const char *agent_socket_dir; /* QEMU makes agent.0.sock .. agent.<agent_ports-1>.sock there */
        unsigned agent_ports;      /* how many agent ports; 0: VM_AGENT_BOOT_PORTS */
        const char *console_socket; /* the serial console (server, not waiting for a client) */
        const char *console_log;   /* everything the console printed, appended */
        const char *tap;           /* NULL: no network device */
        const char *mac;           /* "52:54:00:xx:xx:xx" */
        bool is_incoming;          /* -incoming defer: the state comes by migrate-incoming */
        bool is_system;            /* the guest's own init runs: ACPI power button wanted */
} VmConfig;

/* QEMU's argv for cfg (NULL-terminated, malloc'd; free with strv_free): microvm with direct kernel
 * boot, no firmware, no defaults, no reboot (a guest reboot ends QEMU). */
char **vm_qemu_argv(const VmConfig *cfg);

/* The chardev and virtserialport of agent port index (a socket in socket_dir) as QMP's chardev-add and
 * device_add arguments, to hot-plug it into a running VM: the same device the command line gives. */
json_t *vm_agent_port_chardev(const char *socket_dir, unsigned index);
json_t *vm_agent_port_device(unsigned index);

/* The MAC address hull gives a VM: 52:54:00 and three bytes of id (hex). out: 18 bytes. */
void vm_mac_for(const char *id, char out[static 18]);

/*
 * Starts QEMU with argv (argv[0] looked up in PATH) in a new session, stdin from /dev/null, stdout and
 * stderr to log_fd; in the child, before_exec(data) runs first when given (to join a cgroup: a failure
 * there ends the child and is reported here). ENOENT with a hint when QEMU is not installed. The caller
 * reaps the child.
 */
int vm_qemu_spawn(char *const *argv, int log_fd, int (*before_exec)(void *data), void *data, pid_t *ret_pid,
                  Error **err);
