/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vm_internal.h: what vm.c shares with vm-supervise.c, snapshot.c and migrate.c */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include "common/error.h"
#include "instance.h"
#include "vm/agent.h"

#define INST_VM_BOOT_TIMEOUT_MS 120000 /* from QEMU's start to the agent's answer, on a loaded host under TCG */
#define INST_VM_CONTROL_TIMEOUT_MS 10000

/* A VM's process, resolved at create ($root/instances/<id>/vm.json). */
typedef struct InstVmSpec {
        char **args;
        char **env;
        char *cwd;
        char *user;     /* "uid:gid" */
        char *hostname;
        bool is_system; /* the image's init runs; no main process */
        unsigned agent_ports; /* the agent ports the VM's QEMU has (hot-plugged ones included): an incoming
                               * QEMU must be given as many */
} InstVmSpec;

int inst_vm_spec_load(InstContext *c, const char *id, InstVmSpec *ret, Error **err);
/* Writes vm.json. */
int inst_vm_spec_save(InstContext *c, const char *id, const InstVmSpec *s, Error **err);
void inst_vm_spec_done(InstVmSpec *s);

/* $runroot/vm/<id12>: QEMU's sockets (qmp.sock, agent.N.sock, console.sock), locks, the restore marker. */
char *inst_vm_rundir(const InstContext *c, const char *id);
/* A session of our own with the VM's agent, on a free port (1 .. VM_AGENT_PORTS-1) held by a lock
 * until *ret_lock closes. When all the VM's ports are taken, one more is hot-plugged (up to
 * VM_AGENT_PORTS); past that it waits for a port. */
int inst_vm_session(InstContext *c, InstRecord *rec, int timeout_ms, int *ret_lock, VmAgent **ret, Error **err);
/* Takes the lock under which a running VM's agent ports are counted and hot-plugged; returns its fd.
 * Whatever saves the VM's state (a snapshot, a migration, a restore) holds it, so that no port comes
 * between the count it reads from vm.json and the state QEMU writes. Not to be held across a session. */
int inst_vm_lock_ports(InstContext *c, const char *id, Error **err);
/* QEMU's pid while it runs, else 0. */
pid_t inst_vm_qemu_pid(InstContext *c, const char *id);
/* r from a QMP command that lost QEMU (-EPIPE): *err becomes QEMU's own reason, the last line of its
 * qemu.log, where there is one. Any other r is returned as it is. */
int inst_vm_qemu_error(InstContext *c, const char *id, int r, Error **err);
/* A file in the VM's run dir. */
char *inst_vm_rundir_path(const InstContext *c, const char *id, const char *file);
/* True while a restore puts a new QEMU in place of the old one (the "restoring" marker). */
bool inst_vm_is_restoring(InstContext *c, const char *id);
/* Releases what a run of the VM holds on the host once QEMU is gone: its tap, cgroup and run dir (a
 * restore's marker stays). */
void inst_vm_release_runtime(InstContext *c, const char *id);
/* Ends QEMU at once (SIGKILL) and waits until it is gone. */
void inst_vm_kill_qemu(InstContext *c, const char *id);
/* Connects to agent port `port`, retrying up to timeout_ms; ESRCH at once when QEMU is not running. */
int inst_vm_connect_port(InstContext *c, const InstRecord *rec, unsigned port, int timeout_ms, VmAgent **ret,
                         Error **err);
/* Checks that the VM can start (not running), removes its exit file and loads its spec into *s. */
int inst_vm_prepare_start(InstContext *c, InstRecord *rec, InstVmSpec *s, Error **err);

/* Starts QEMU for the VM (its tap, cgroup, run dir made first; released again on failure). With
 * is_incoming it waits for its state by migrate-incoming. */
int inst_vm_boot(InstContext *c, InstRecord *rec, const InstVmSpec *s, bool is_incoming, pid_t *ret_pid, Error **err);

/*
 * Supervises a booted VM until it ends: starts its main process through port 0 (unless is_resume: the
 * guest runs it already), carries its streams to io, and returns its status. Writes "0" or "1<message>"
 * to ready_fd (when >= 0) once the main process started. Waits through a restore (the "restoring" marker
 * in the run dir); releases the VM's tap, cgroup and run dir at the end.
 */
int inst_vm_supervise(InstContext *c, InstRecord *rec, const InstVmSpec *s, const VmAgentIo *io, bool is_resume,
                      int ready_fd, int *ret_status, Error **err);

/* Starts the VM detached under hull-monitor. is_resume: QEMU runs already (a restore or an incoming
 * migration booted it), so only the supervisor starts, to carry on the running guest's session. */
int inst_vm_start_supervised(InstContext *c, InstRecord *rec, bool is_resume, Error **err);

typedef struct VmQmp VmQmp;
/* QMP of a running VM. */
int inst_qmp_open(InstContext *c, const InstRecord *rec, VmQmp **ret, Error **err);
/* QEMU's migration of the VM's state out into fd (a file, or a socket to another hull's QEMU), its
 * bandwidth cap raised; with is_block the top of its disk goes along. Cancelled on failure. */
int inst_qmp_migrate_out(VmQmp *q, int fd, bool is_block, int timeout_ms, json_t **ret, Error **err);
/* The other end: the incoming VM id (-incoming defer) loads its state from fd and runs. A QEMU that
 * ends meanwhile is reported with its own reason (inst_vm_qemu_error()). */
int inst_qmp_migrate_in(InstContext *c, const char *id, VmQmp *q, int fd, bool is_block, int timeout_ms,
                        Error **err);
/* The base disk of an image, shared by its VMs. */
char *inst_vm_base_path(const InstContext *c, const char *image_id);
/* Waits until an incoming VM has loaded its state and runs. */
int inst_qmp_wait_running(VmQmp *q, int timeout_ms, Error **err);
