/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* internal.h: what the files of src/instance share among themselves */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>
#include "bundle.h"
#include "common/error.h"
#include "instance.h"

/* Instance names: docker's rule, [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 128 characters. */
int inst_check_name(const char *name, Error **err);

typedef struct InstContext InstContext;
typedef struct InstRunSpec InstRunSpec;

/* inst_bundle_config(), written to path (mode 0600, atomically). *ret_config and *ret_text (both
 * optional) get the document and the text written. */
int inst_write_bundle_config(const json_t *image_config, const InstRunSpec *spec, const char *rootfs,
                             int rootfs_fd, const char *path, json_t **ret_config, char **ret_text, Error **err);

/* Opens $root/layers (made when missing). */
int inst_layers_open(InstContext *c, int *ret_fd, Error **err);

/* bytes (at most 32) of getrandom(2) as lowercase hex, malloc'd: instance ids, build containers. */
char *inst_random_hex(size_t bytes);

/* What an instance's --network came to at create. */
typedef struct InstNetAttach {
        char *netns_path; /* the namespace its bundle joins; NULL with is_host */
        char *hosts_path; /* its network's hosts file, bind-mounted read-only; NULL: its own */
        char *network;    /* the network it has a lease on, if any */
        bool is_host;
} InstNetAttach;

typedef struct InstRecord InstRecord;
typedef struct InstRunOptions InstRunOptions;

/* The run options kept in rec, parsed; release with inst_run_options_done(). */
int inst_record_options(const InstRecord *rec, InstRunOptions *ret, Error **err);

/*
 * At create, inside the transaction that adds rec: resolves o->network (the default network is
 * recorded on first use), leases an address and records o->ports, refusing one published already or
 * in use on the host. -ENOENT for an unknown network or container.
 */
int inst_net_attach(InstContext *c, const InstRecord *rec, const InstRunOptions *o, InstNetAttach *ret, Error **err);
void inst_net_attach_done(InstNetAttach *a);
/* After an instance joined or left network (its record committed or removed): the network's hosts
 * file, and the rules when it publishes ports, follow. NULL network: only the rules. */
int inst_net_members_changed(InstContext *c, const char *network, bool has_ports, Error **err);
/* Before the runtime starts the instance: its pinned namespace, and on a bridge its veth and address. */
int inst_net_start(InstContext *c, const InstRecord *rec, const InstRunOptions *o, Error **err);
/* Once it stopped: its veth and pinned namespace go. Quiet and idempotent. */
void inst_net_stop(InstContext *c, const char *id);
/* Repairs what crashed commands left: namespaces of instances without a record, stale rules. */
void inst_net_repair(InstContext *c);

/* The image's config document, from the store. */
int inst_image_config(InstContext *c, const InstImage *img, json_t **ret, Error **err);
/* Mounts $root/instances/<id>/rootfs: an overlay over layers (diff_ids, bottom first). */
int inst_rootfs_mount(InstContext *c, const char *id, char *const *layers, Error **err);
/* Writes the instance's hosts, hostname and resolv.conf files; files[3] (unless NULL) gets what to
 * bind-mount where. */
int inst_write_etc_files(InstContext *c, const char *id, const char *hostname, const InstNetAttach *att,
                         InstBind *files, Error **err);

/* What differs between the kinds of instance: each kind's lifecycle behind one table. instance.c holds
 * what they share (records, leases, removal) and calls these. */
typedef struct InstDriver {
        /* After the record (with its lease) is committed: the instance's files. On failure the caller
         * removes them with remove_files. */
        int (*create)(InstContext *c, const InstRecord *rec, const InstImage *img, const InstRunOptions *o,
                      const InstNetAttach *att, Error **err);
        int (*state)(InstContext *c, InstRecord *rec, InstState *ret, pid_t *ret_pid, Error **err);
        int (*run_foreground)(InstContext *c, InstRecord *rec, int *ret_status, Error **err);
        int (*start_detached)(InstContext *c, InstRecord *rec, Error **err);
        int (*stop)(InstContext *c, InstRecord *rec, int timeout, Error **err);
        int (*kill)(InstContext *c, InstRecord *rec, int sig, Error **err);
        int (*exec)(InstContext *c, InstRecord *rec, const InstExecOptions *o, int *ret_status, Error **err);
        int (*stats)(InstContext *c, InstRecord *rec, json_t **ret, Error **err);
        /* Ends an instance that is not exited: its processes and runtime state go. */
        int (*teardown)(InstContext *c, InstRecord *rec, InstState state, pid_t pid, Error **err);
        /* Removes the instance's files (mounts first). Idempotent. */
        int (*remove_files)(InstContext *c, const char *id, Error **err);
        /* Whatever an instance of this kind whose record is gone may have left. Quiet, idempotent, and
         * harmless on what another kind left. */
        void (*sweep)(InstContext *c, const char *id);
} InstDriver;

extern const InstDriver inst_driver_container;
extern const InstDriver inst_driver_vm;

/* VMs only: adds what `inspect` shows of a VM (disk, accelerator, kernel). */
void inst_vm_describe(InstContext *c, const InstRecord *rec, json_t *doc);

/* A VM's place on its network: the tap device QEMU opens and the address the guest takes. */
typedef struct InstVmNet {
        char tap[16];  /* empty: no network device (--network none) */
        char addr[24]; /* "A.B.C.D/LEN" */
        char gw[16];
        unsigned mtu;
} InstVmNet;

/* Before a VM starts: on a bridge network, a tap device on the bridge and the lease's address. */
int inst_net_vm_start(InstContext *c, const InstRecord *rec, const InstRunOptions *o, InstVmNet *ret, Error **err);
/* The address, gateway and MTU of the VM's lease (ENOENT without one), for a guest to take. */
int inst_net_vm_address(InstContext *c, const InstRecord *rec, InstVmNet *ret, Error **err);
/* Once it stopped: its tap goes. Quiet and idempotent. */
void inst_net_vm_stop(InstContext *c, const char *id);

/* In one transaction: the instance's record, its lease and its ports (inst_net_attach). */
int inst_add_record(InstContext *c, const InstRecord *rec, const InstRunOptions *o, InstNetAttach *att, Error **err);

/* An instance's linux.cgroupsPath: "/hull/<id>", below the root of every hierarchy. */
char *inst_cgroup_path(const char *id);

/* Makes dir, a directory below the run root, and everything from the run root down to it passable by
 * all (0711: nothing listable): a container in a user namespace resolves what is bound into it from
 * there itself, as its own root. */
int inst_run_dir_make(InstContext *c, const char *dir, Error **err);

/* A helper program of hull's (hull-monitor, hull-agent): $<env>, else beside this binary (the build
 * tree and bin/), else the installed libexec dir. */
char *inst_helper_path(const InstContext *c, const char *name, const char *env);
/* Pid files of an instance ($root/instances/<id>/<file>: "PID START"): written for pid, and read back
 * as the pid while that same process lives (not a zombie, not a reused pid), else 0. */
int inst_pid_file_write(InstContext *c, const char *id, const char *file, pid_t pid, Error **err);
pid_t inst_pid_file_read(InstContext *c, const char *id, const char *file);
/* The status hull-monitor recorded in the exit file once it is done (waiting a moment for it), or -1. */
int inst_monitor_status(InstContext *c, const char *id);
/* hull-monitor in place of the calling child, watching pid and logging out_fd and err_fd (-1: none). */
_noreturn_ void inst_exec_monitor(InstContext *c, const InstRecord *rec, const char *monitor, pid_t pid, int out_fd,
                                  int err_fd);
/* The record's run figures: started now (finished and exit code cleared), or finished now with status. */
int inst_mark_started(InstContext *c, InstRecord *rec, Error **err);
int inst_mark_finished(InstContext *c, InstRecord *rec, int status, Error **err);
/* Waits up to ms (-1: no limit) for pid to end, reaping it when it is our child; true if it did. */
bool inst_wait_gone(pid_t pid, int ms);

/* System containers (kind SYSTEM; system.c): a container whose process is the image's init. */
#define INST_SYSTEM_N_DEVICES 5 /* /dev/console, /dev/tty1../dev/tty4 */

/* $runroot/sys/<short id>: the pty links and console.sock of a running system container. */
char *inst_system_rundir(const InstContext *c, const char *id);
/* The init of an image: *ret_entrypoint gets NULL when the image's own Entrypoint is one (named or
 * leading to init or systemd), else { "/sbin/init" } when that resolves inside rootfs_fd to an
 * executable file. ENOENT "image 'X' has no init (/sbin/init)" when neither. */
int inst_system_init(const json_t *image_config, int rootfs_fd, const char *image_name, char ***ret_entrypoint,
                     Error **err);
/* The signal that asks init (a path inside rootfs_fd) to halt: SIGRTMIN+3 when it leads to systemd,
 * SIGUSR2 to busybox (its poweroff), else SIGTERM. */
int inst_system_halt_signal(int rootfs_fd, const char *init);
/* The signal `stop` sends an instance: its --stop-signal, else a system container's halt signal (of
 * the init in its bundle), else SIGTERM. */
int inst_stop_signal(InstContext *c, const InstRecord *rec, const InstRunOptions *o);

/* What a system container adds to its bundle, owned here until the bundle is written. */
typedef struct InstSystemBundle {
        char **entrypoint;                      /* the init, unless the image's Entrypoint is one */
        InstBind files[INST_SYSTEM_N_DEVICES]; /* the pty links bound over /dev/console and /dev/ttyN */
} InstSystemBundle;

/* Fills spec for a system container (the init, hostname = its name unless --hostname, the cgroup
 * layout, no runtime terminal) and *ret with what spec points to; the caller appends ret->files to
 * spec's files. Fails as inst_system_init(). Release with inst_system_bundle_done(). */
int inst_system_bundle(InstContext *c, const InstRecord *rec, const InstRunOptions *o, const json_t *image_config,
                       int rootfs_fd, InstRunSpec *spec, InstSystemBundle *ret, Error **err);
void inst_system_bundle_done(InstSystemBundle *b);

/* The terminals of a starting system container. */
typedef struct InstSystemConsole {
        int masters[INST_SYSTEM_N_DEVICES]; /* [0]: /dev/console, then tty1..tty4 */
        int slave;                          /* the console's slave: the init's stdio */
        int listen_fd;                      /* console.sock, for `hull console` */
} InstSystemConsole;

/* Opens the ptys (slaves owned by the container's root, from its id range), points the links
 * in its run directory at them, and listens on console.sock. Every fd is O_CLOEXEC. On failure
 * nothing is left open. */
int inst_system_console_open(InstContext *c, const InstRecord *rec, InstSystemConsole *ret, Error **err);
/* In the child about to become hull-monitor: the fds it keeps go to it in $HULL_MONITOR_CONSOLE
 * ("LISTEN SLAVE TTY..."; masters[0] is passed as its output stream). */
void inst_system_console_export(const InstSystemConsole *s);
/* No fds: what console_done() may always be given. */
void inst_system_console_init(InstSystemConsole *s);
void inst_system_console_done(InstSystemConsole *s);
/* Once a system container stopped (or is removed): its run directory goes. Quiet, idempotent. */
void inst_system_cleanup(InstContext *c, const char *id);
/* `hull console` of a system container: connects to its monitor and relays until Ctrl-a q. */
int inst_system_console(InstContext *c, InstRecord *rec, Error **err);

/* console.c: relays the caller's terminal (raw; or stdin/stdout as they are) and the console socket fd
 * until Ctrl-a q, the end of stdin, or the console's end. name is for the banner. Blocks. */
int inst_console_relay(int fd, const char *name, Error **err);
/* The kind's detached start, without what a manual start resets (a restart by policy). */
int inst_driver_start_detached(InstContext *c, InstRecord *rec, Error **err);
/* The instance's lock (an exclusive flock on its directory, waited for): held by a restart by policy
 * while it starts the instance, and by stop, kill and rm while they mark a stop. -ENOENT once the
 * directory is gone. inst_unlockp() releases it. */
int inst_lock(InstContext *c, const char *id, int *ret_fd, Error **err);
void inst_unlockp(int *fd);
/* Marks a stop by the user (stop, kill, rm), with the lock held, so that the exit it causes is not
 * restarted by policy. */
int inst_restart_mark_stop(InstContext *c, const char *id, Error **err);
/* A manual start: the stop mark and the restart count go. Quiet. */
void inst_restart_forget(InstContext *c, const char *id);
/* Whether the record has a restart policy other than no (its monitor then runs `hull __restart`). */
bool inst_restart_has_policy(const InstRecord *rec);
