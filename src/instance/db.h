/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* db.h: hull's records in SQLite ($root/hull.db, WAL): images, tags, layers, instances, networks */
#pragma once

#include <stdint.h>
#include "common/error.h"
#include "net/addr.h"

/*
 * Records are changed in transactions. What a record names on disk (a blob, a layer directory, an
 * instance directory) is complete before the record that names it is committed, and a record is
 * removed before the files it names: so after a crash at any point the database names only complete
 * things, and what it no longer names is swept up by the next garbage collection.
 */
typedef struct InstDb InstDb;

/* Opens (creating or upgrading) root/hull.db. Waits up to 30 s for another hull holding a write lock. */
int inst_db_open(const char *root, InstDb **ret, Error **err);
InstDb *inst_db_close(InstDb *db);
DEFINE_CLEANUP_FUNC(InstDb *, inst_db_close)
/* Makes what this connection wrote durable, unless it wrote nothing since the last time: syncs a
 * small WAL, or folds a large one into the database and empties it (skipped, not waited for,
 * while another connection is busy). inst_db_close() does it too: a command may do it sooner,
 * while it waits for something else. */
void inst_db_checkpoint(InstDb *db);

/* BEGIN IMMEDIATE: takes the write lock at once, so read-modify-write sequences cannot interleave. */
int inst_db_begin(InstDb *db, Error **err);
int inst_db_commit(InstDb *db, Error **err);
/* Rolls back an open transaction; a no-op when none is open. */
void inst_db_rollback(InstDb *db);
/* Ends the open transaction by how the work in it went: commits when r >= 0 (and returns what the
 * commit did), else rolls back and returns r. */
int inst_db_end(InstDb *db, int r, Error **err);

/* An image: its layers (diff_ids, bottom first) and the names (repository:tag) that point to it. */
typedef struct InstImage {
        char *id;              /* hex of the config digest, as podman and docker name images */
        char *digest;          /* what a user pins: the index digest when pulled through one, else the manifest's */
        char *manifest_digest; /* the image manifest for this platform */
        char *config_digest;
        int64_t size;          /* bytes of its layer blobs */
        int64_t created;       /* seconds since the epoch, from the config, or when it was stored */
        char **layers;         /* diff_ids, bottom first */
        char **names;
} InstImage;

InstImage *inst_image_free(InstImage *i);
DEFINE_CLEANUP_FUNC(InstImage *, inst_image_free)

/* Records an image and its layer list (replacing a record with the same id). Does not touch names. */
int inst_db_image_put(InstDb *db, const InstImage *img, Error **err);
/* Finds an image by name ("repo:tag", as stored), by full or unique-prefix id (with or without
 * "sha256:"), or by digest. ENOENT when none matches, EINVAL for an ambiguous prefix. */
int inst_db_image_find(InstDb *db, const char *key, InstImage **ret, Error **err);
/* Every image, newest first. */
int inst_db_image_list(InstDb *db, InstImage ***ret, size_t *ret_n, Error **err);
/* Removes an image record and its names. */
int inst_db_image_remove(InstDb *db, const char *id, Error **err);
/* Points name at image id (moving it from another image). */
int inst_db_tag_set(InstDb *db, const char *name, const char *id, Error **err);
/* Removes a name; ENOENT when it does not exist. */
int inst_db_tag_remove(InstDb *db, const char *name, Error **err);
/* Number of instances created from image id. */
int inst_db_image_users(InstDb *db, const char *id, Error **err);

/* Layers: the unpacked directories under $root/layers, with the blob each came from. */
int inst_db_layer_put(InstDb *db, const char *diff_id, const char *blob_digest, int64_t size, Error **err);
/* True (1) if a layer record exists. */
int inst_db_layer_has(InstDb *db, const char *diff_id, Error **err);
/* Layers that no image uses, and removes their records. */
int inst_db_layers_take_unused(InstDb *db, char ***ret, Error **err);
/* Every blob digest an image or the build cache still needs, for blob collection. */
int inst_db_blobs_in_use(InstDb *db, char ***ret, Error **err);
/* Every layer diff_id that has a record, or that the build cache names. */
int inst_db_layers_all(InstDb *db, char ***ret, Error **err);

typedef enum InstKind {
        INST_KIND_CONTAINER,
        INST_KIND_SYSTEM,
        INST_KIND_VM,
} InstKind;

const char *inst_kind_name(InstKind k);

/* An instance: the record behind every `hull run`. Its options live in a JSON document. */
typedef struct InstRecord {
        char *id;    /* 64 hex */
        char *name;
        InstKind kind;
        char *image_id;
        char *image_name; /* as the user gave it, for listings */
        char *options;    /* JSON: the run options (command, env, binds, limits, ...) */
        int64_t created;
        int64_t started;  /* 0: never started */
        int64_t finished; /* 0: not since the last start */
        int exit_code;    /* -1: none yet */
        bool is_auto_remove;
} InstRecord;

InstRecord *inst_record_free(InstRecord *r);
DEFINE_CLEANUP_FUNC(InstRecord *, inst_record_free)

/* Inserts a new instance; EEXIST names the name in use. */
int inst_db_instance_add(InstDb *db, const InstRecord *rec, Error **err);
/* Finds an instance by name, full id or unique id prefix (at least 3 characters). ENOENT, EINVAL. */
int inst_db_instance_find(InstDb *db, const char *key, InstRecord **ret, Error **err);
int inst_db_instance_list(InstDb *db, InstRecord ***ret, size_t *ret_n, Error **err);
/* Updates started, finished and exit_code. */
int inst_db_instance_set_run(InstDb *db, const char *id, int64_t started, int64_t finished, int exit_code,
                             Error **err);
int inst_db_instance_remove(InstDb *db, const char *id, Error **err);

/* The build cache: what a build step made, by the step's key. */
typedef struct InstCacheEntry {
        char *diff_id;
        char *blob_digest;
        int64_t size;
        char *media_type;
} InstCacheEntry;

/* 1 and *ret filled for a hit, 0 for a miss. */
int inst_db_cache_get(InstDb *db, const char *key, InstCacheEntry *ret, Error **err);
int inst_db_cache_put(InstDb *db, const char *key, const InstCacheEntry *e, Error **err);
void inst_cache_entry_done(InstCacheEntry *e);
/* Forgets every cached step. */
int inst_db_cache_clear(InstDb *db, Error **err);

/* A network: a bridge, and a subnet whose addresses are leased to instances. */
typedef struct InstNetwork {
        char *name;
        char *bridge;
        NetPrefix subnet;
        int64_t created;
} InstNetwork;

InstNetwork *inst_network_record_free(InstNetwork *n);
DEFINE_CLEANUP_FUNC(InstNetwork *, inst_network_record_free)

/* EEXIST ("network 'x' already exists"), or EEXIST for a bridge name in use. */
int inst_db_network_add(InstDb *db, const InstNetwork *n, Error **err);
/* ENOENT: "no such network 'x'". */
int inst_db_network_find(InstDb *db, const char *name, InstNetwork **ret, Error **err);
/* Every network, by name; release with inst_networks_free(). */
int inst_db_network_list(InstDb *db, InstNetwork ***ret, size_t *ret_n, Error **err);
void inst_networks_free(InstNetwork **v, size_t n);
/* EBUSY while an instance holds a lease on it. */
int inst_db_network_remove(InstDb *db, const char *name, Error **err);

/* An instance's address on a network, as its host offset in the network's subnet. */
typedef struct InstLease {
        char *network;
        char *instance_id;
        char *instance_name;
        uint32_t host_offset;
} InstLease;

void inst_lease_done(InstLease *l);
void inst_leases_free(InstLease *v, size_t n);

/* Leases the lowest free host offset in [first, last] of network to instance_id (call it inside a
 * transaction so two allocations cannot pick the same). ENOSPC when none is free. */
int inst_db_lease_alloc(InstDb *db, const char *network, const char *instance_id, uint32_t first, uint32_t last,
                        uint32_t *ret, Error **err);
/* The leases of network (NULL: of every network), by network and offset, with instance names. */
int inst_db_lease_list(InstDb *db, const char *network, InstLease **ret, size_t *ret_n, Error **err);
/* 1 and *ret filled when instance_id holds a lease, 0 when not. */
int inst_db_lease_find(InstDb *db, const char *instance_id, InstLease *ret, Error **err);

/* A port an instance publishes, with the lease it reaches (network NULL if it has none). */
typedef struct InstPort {
        char *instance_id;
        NetPortMap map;
        char *network;
        uint32_t host_offset;
} InstPort;

/* EEXIST when the same host IP, port and protocol are published already. */
int inst_db_port_add(InstDb *db, const char *instance_id, const NetPortMap *m, Error **err);
/* The ports of instance_id (NULL: of every instance). */
int inst_db_port_list(InstDb *db, const char *instance_id, InstPort **ret, size_t *ret_n, Error **err);
void inst_ports_free(InstPort *v, size_t n);

/* The ids an instance's user namespace maps: container ids 0..count-1 to host ids base.. */
typedef struct InstIdmap {
        uint32_t uid_base;
        uint32_t gid_base;
        uint32_t count;
} InstIdmap;

/* The host ids instances' ranges are taken from (see idmap.h): [start, start + count). */
typedef struct InstIdmapPool {
        uint64_t uid_start, uid_count;
        uint64_t gid_start, gid_count;
} InstIdmapPool;

/* Ranges are handed out in slots of this many ids, the first at the pool's start. */
#define INST_IDMAP_SLOT 65536u

/* Records for instance_id the lowest free slot of pool (uid and gid slots move together), and
 * count (at most INST_IDMAP_SLOT) ids of it in *ret. Call it inside the transaction that adds the
 * instance so two creates cannot take the same slot. ENOSPC ("no free uid range: the N ranges of
 * the pool are in use") when every slot is taken. The range goes with the instance's record. */
int inst_db_idmap_alloc(InstDb *db, const char *instance_id, const InstIdmapPool *pool, uint32_t count,
                        InstIdmap *ret, Error **err);
/* 1 and *ret filled when instance_id has a range, 0 when not. */
int inst_db_idmap_find(InstDb *db, const char *instance_id, InstIdmap *ret, Error **err);
