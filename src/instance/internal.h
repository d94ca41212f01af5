/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* internal.h: what the files of src/instance share among themselves */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include "common/error.h"

/* Instance names: docker's rule, [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 128 characters. */
int inst_check_name(const char *name, Error **err);

typedef struct InstContext InstContext;
typedef struct InstRunSpec InstRunSpec;

/* inst_bundle_config(), written to path (mode 0600, atomically). */
int inst_write_bundle_config(const json_t *image_config, const InstRunSpec *spec, const char *rootfs,
                             int rootfs_fd, const char *path, Error **err);

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
