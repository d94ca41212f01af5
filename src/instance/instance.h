/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* instance.h: instances (containers for now) made from images: their records, files and lifecycle */
#pragma once

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>
#include "common/error.h"
#include "db.h"

typedef struct ImgStore ImgStore;
typedef struct RtContext RtContext;

/* Where hull keeps everything: the state root ($root: database, blobs, layers, instances) and
 * the run root (runtime state that does not survive a reboot). */
typedef struct InstContext {
        char *root;
        char *runroot;
        InstDb *db;
        ImgStore *store;  /* opened on first use */
        RtContext *rt;    /* the OCI runtime's context under $runroot/oci, opened on first use */
        char *self_exe;   /* this hull binary, for the monitor's --rm */
        int store_lock_fd; /* $root/store.lock while held */
        unsigned store_lock_depth;
        /* The bundle config this command last wrote, for a start that follows (see RtCreateOptions). */
        char *bundle_id;
        json_t *bundle_config;
        char *bundle_text;
} InstContext;

/* Opens the state under root (made when missing, mode 0700) and runroot (NULL: root/run). */
int inst_context_open(const char *root, const char *runroot, InstContext **ret, Error **err);
/* The same without the database (c->db NULL), for what needs none; inst_context_open_db() opens it. */
int inst_context_open_bare(const char *root, const char *runroot, InstContext **ret, Error **err);
int inst_context_open_db(InstContext *c, Error **err);
/* Drops the kept bundle config (InstContext.bundle_*): for whatever writes a bundle's config.json. */
void inst_context_forget_bundle(InstContext *c);
InstContext *inst_context_free(InstContext *c);
DEFINE_CLEANUP_FUNC(InstContext *, inst_context_free)
int inst_context_store(InstContext *c, ImgStore **ret, Error **err);
int inst_context_runtime(InstContext *c, RtContext **ret, Error **err);
/* $root/instances/<id> and files in it. */
char *inst_dir(const InstContext *c, const char *id);
char *inst_path(const InstContext *c, const char *id, const char *file);

typedef enum InstState {
        INST_STATE_CREATED,
        INST_STATE_RUNNING,
        INST_STATE_PAUSED,
        INST_STATE_EXITED,
} InstState;

const char *inst_state_name(InstState s);

/* An instance's live state: the runtime's view, with a stopped container's exit status recorded in
 * the database and its runtime state removed (so a later start can create it again). */
int inst_state(InstContext *c, InstRecord *rec, InstState *ret, pid_t *ret_pid, Error **err);

typedef struct InstBindSpec {
        char *source;
        char *destination;
        bool is_readonly;
} InstBindSpec;

/* What `hull run` was asked for; kept as JSON in the instance record, so start can rebuild it. */
typedef struct InstRunOptions {
        char *name;
        char **cmd;
        char **entrypoint;
        char **env;
        InstBindSpec *binds;
        size_t n_binds;
        char *user;
        char *workdir;
        char *hostname;
        char *network;   /* "bridge" (NULL: the default), "none", "host", "container:NAME", or a network */
        char **ports;    /* -p specs, "[IP:]HOSTPORT:CTRPORT[/proto]" */
        char *kernel;    /* --vm: the guest kernel (NULL: found in /boot) */
        int64_t memory;  /* bytes */
        double cpus;
        int64_t pids_limit;
        char **cap_add;
        char **cap_drop;
        bool is_read_only;
        bool is_tty;
        bool is_interactive;
        bool is_detached;
        bool is_auto_remove;
        bool is_privileged;
        bool is_vm;      /* a virtual machine, not a container */
        bool is_system;  /* launch: the image's init runs as PID 1 (a system container or VM) */
        int stop_timeout; /* seconds; -1: default 10 */
        char *stop_signal; /* --stop-signal (a name or number); NULL: by kind (a system container's init
                            * decides: SIGRTMIN+3 for systemd, SIGUSR2 for busybox init, else SIGTERM) */
        char *restart;     /* --restart: "no" (NULL), "on-failure", "on-failure:N" or "always" */
        char *userns;      /* --userns: "auto" (a private uid/gid range of its own) or "host" (none);
                            * NULL: auto for a system container unless --privileged, else host */
        bool is_autostart; /* --autostart: `hull autostart` (run at boot) starts it */
} InstRunOptions;

void inst_run_options_done(InstRunOptions *o);
json_t *inst_run_options_to_json(const InstRunOptions *o);
int inst_run_options_from_json(const json_t *j, InstRunOptions *ret, Error **err);

/*
 * Creates an instance of image (already resolved): its record, directory, root filesystem (an
 * overlay over the image's layers) and bundle. On failure nothing is left. *ret gets the record.
 */
int inst_create(InstContext *c, const InstImage *img, const char *image_name, const InstRunOptions *o,
                InstRecord **ret, Error **err);

/* Runs a created or exited instance in the foreground: the caller's terminal or stdio is the
 * container's; returns once it exits, with its status (code or 128+signal) in *ret_status. */
int inst_run_foreground(InstContext *c, InstRecord *rec, int *ret_status, Error **err);

/* Starts an instance detached, under its monitor (logs, exit status). Returns once it runs. */
int inst_start_detached(InstContext *c, InstRecord *rec, Error **err);

/* Stops a running instance: its stop signal, then SIGKILL after timeout seconds (-1: its own). */
int inst_stop(InstContext *c, InstRecord *rec, int timeout, Error **err);
int inst_kill(InstContext *c, InstRecord *rec, int sig, Error **err);
/* Removes an instance, files and record; a running one only with is_force (killed first). */
int inst_remove(InstContext *c, InstRecord *rec, bool is_force, Error **err);
/* Removes what instances without a record left (a removal that crashed half-way): mounts, runtime
 * state, directories, pinned network namespaces; and applies the nftables rules again when a crash
 * kept the last change from reaching them. */
void inst_sweep_orphans(InstContext *c);

typedef struct InstExecOptions {
        char **args;
        char **env;
        const char *user;
        const char *workdir;
        bool is_tty;
        bool is_detached;
} InstExecOptions;

int inst_exec(InstContext *c, InstRecord *rec, const InstExecOptions *o, int *ret_status, Error **err);
/* exec into the running container named name, found without the database (c->db may be NULL):
 * -ENOENT, with err untouched, when there is none that way (not a running container: ask the
 * database, and inst_exec()). */
int inst_exec_running(InstContext *c, const char *name, const InstExecOptions *o, int *ret_status, Error **err);

/* Copies the instance's log to stdout/stderr, following it while the instance runs when is_follow. */
int inst_logs(InstContext *c, InstRecord *rec, bool is_follow, bool has_timestamps, Error **err);

/* The inspect document of an instance. */
int inst_inspect(InstContext *c, InstRecord *rec, json_t **ret, Error **err);
/* cgroup figures of a running instance. */
int inst_stats(InstContext *c, InstRecord *rec, json_t **ret, Error **err);

/* Networks: `hull network create|ls|rm`. subnet NULL: a free /24 of 10.78.0.0/16 ("bridge", the
 * default network, gets 10.77.0.0/16 unless it is created first with a subnet). The bridge is made
 * at once. EEXIST for a name in use or an overlapping subnet; EINVAL for a bad name or subnet. */
int inst_network_create(InstContext *c, const char *name, const char *subnet, Error **err);
/* EBUSY while an instance holds an address on it; the bridge goes too. */
int inst_network_remove(InstContext *c, const char *name, Error **err);
/* [{name, subnet, bridge, gateway, created, instances: [names]}] */
int inst_network_list(InstContext *c, json_t **ret, Error **err);
/* The network of an instance ({name, address, prefix_len, gateway, bridge, veth} or null) and ports of an instance. */
int inst_net_describe(InstContext *c, const InstRecord *rec, json_t **ret_network, json_t **ret_ports, Error **err);

/* Snapshots of a VM: $root/instances/<id>/snapshots/<name>/ with a copy of its disk and, of a running
 * VM, its memory and device state (the VM pauses while they are saved, then goes on). *ret (may be NULL)
 * gets {name, created, stateful, save_ms}. EEXIST for a name in use. Containers' snapshots (their upper
 * dir and config, never stateful): see snapshot-container.h. */
int inst_snapshot_create(InstContext *c, InstRecord *rec, const char *name, json_t **ret, Error **err);
/* [{name, created, stateful, size}], oldest first. */
int inst_snapshot_list(InstContext *c, InstRecord *rec, json_t **ret, Error **err);
/* Brings the VM back to the snapshot: with state, running from where it was saved (a running VM's guest
 * is replaced, its supervisor and logs go on); a disk-only snapshot restores the disk of a stopped VM. */
int inst_snapshot_restore(InstContext *c, InstRecord *rec, const char *name, json_t **ret, Error **err);
int inst_snapshot_delete(InstContext *c, InstRecord *rec, const char *name, Error **err);

/* Live migration of a running VM to another hull listening at uri ("tcp://HOST:PORT"): its disk goes
 * along; once the other side confirms, the VM is removed here. On any failure it goes on running here.
 * *ret gets QEMU's figures {total_ms, downtime_ms, transferred}. A container moves stopped (a running one
 * is stopped, moved and started there), with its upper dir and, when the other side lacks it, its image;
 * *ret gets {was_running, total_ms, image_bytes}; on failure it stays here, started again if it ran. */
int inst_migrate_send(InstContext *c, InstRecord *rec, const char *uri, json_t **ret, Error **err);
/* Waits at uri for one VM or container migrated here and starts it (a container if it ran there);
 * *ret_name gets its name. */
int inst_migrate_receive(InstContext *c, const char *uri, char **ret_name, Error **err);

/* Attaches the caller's terminal (or stdin/stdout) to a running VM's serial console, or a system
 * container's /dev/console, until Ctrl-a q, the end of stdin (then once the console is quiet for a
 * second), or the instance's end. EOPNOTSUPP for an application container. */
int inst_console(InstContext *c, InstRecord *rec, Error **err);

/* Restart policies (restart.c; docker's semantics, described there). */
typedef enum InstRestartKind {
        INST_RESTART_NO,
        INST_RESTART_ON_FAILURE,
        INST_RESTART_ALWAYS,
} InstRestartKind;

typedef struct InstRestartPolicy {
        InstRestartKind kind;
        int max_retries; /* on-failure:N; -1: no limit */
} InstRestartPolicy;

/* Parses --restart: "no" (or NULL), "on-failure", "on-failure:N" (N >= 0) or "always"; EINVAL else. */
int inst_restart_policy_parse(const char *s, InstRestartPolicy *ret, Error **err);
/* Whether an instance that exited with exit_code after count restarts is to be started again. */
bool inst_restart_is_due(const InstRestartPolicy *p, int exit_code, unsigned count);
/* The delay before the next restart: 100 ms first, then twice prev_ms up to 60 s; 100 ms again when
 * the instance ran ran_s >= 10 seconds. */
unsigned inst_restart_next_delay(unsigned prev_ms, int64_t ran_s);
/* Restarts since the instance's last manual start (inspect's "restart_count"). */
unsigned inst_restart_count(InstContext *c, const char *id);
/* Whether `hull autostart` starts the instance: --autostart, or --restart always. */
bool inst_is_autostart(const InstRecord *rec);
/*
 * What the monitor runs once the instance named key (a name or id) exited: unless the user stopped it,
 * takes its exit into the record and, when its policy says so, waits the delay and starts it again
 * (detached, under a new monitor). Blocks for the delay. *ret_is_restarted tells whether it did.
 */
int inst_restart_after_exit(InstContext *c, const char *key, bool *ret_is_restarted, Error **err);
