/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* snapshot-container.c: snapshots of containers (app and system): their upper dir and config, copied while frozen */
/*
 * A container's own files are the overlay's upper dir; the layers below are the image's and stay. A
 * snapshot copies the upper dir (storage/tree.c: owners, xattrs, whiteouts, links, holes; reflinks
 * where the file system shares extents) while the cgroup freezer holds a running container still, so
 * the copy is of one moment. Restoring swaps the upper dir under an unmounted overlay; a running
 * container is stopped first and started again after, as LXD does (no CRIU: its memory is not kept).
 */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/process.h"
#include "internal.h"
#include "runtime/container.h"
#include "snapshot-container.h"
#include "storage/overlay.h"
#include "storage/tree.h"

int inst_ctr_copy_upper(InstContext *c, InstRecord *rec, const char *dst, Error **err)
{
        _cleanup_free_ char *upper = inst_path(c, rec->id, "upper");
        bool is_frozen = false;
        InstState st;
        RtContext *rt;
        int r;

        r = inst_state(c, rec, &st, NULL, err);
        if (r >= 0 && st == INST_STATE_RUNNING) {
                r = inst_context_runtime(c, &rt, err);
                if (r >= 0)
                        r = rt_container_pause(rt, rec->id, true, err);
                if (r < 0)
                        return error_wrap(err, r, "freeze '%s'", rec->name);
                is_frozen = true;
        }
        if (r >= 0)
                r = stor_tree_copy(upper, dst, err);
        if (is_frozen) {
                _cleanup_error_ Error *e = NULL;
                int k = rt_container_pause(rt, rec->id, false, &e);
                if (k < 0 && r >= 0)
                        r = error_setf(err, -k, "thaw '%s': %s", rec->name, error_message(e, k));
        }
        return r;
}

/* Copies the file name of the instance's directory into dir (a missing one is skipped). */
static int copy_small_file(InstContext *c, const char *id, const char *name, const char *dir, Error **err)
{
        _cleanup_free_ char *src = inst_path(c, id, name), *dst = xasprintf("%s/%s", dir, name), *text = NULL;
        size_t len;
        int r;

        if (access(src, F_OK) < 0 && errno == ENOENT)
                return 0;
        r = read_file_at(AT_FDCWD, src, &text, &len, err);
        return r < 0 ? r : write_file_atomic_at(AT_FDCWD, dst, text, len, 0600, err);
}

int inst_ctr_snapshot_create(InstContext *c, InstRecord *rec, const char *name, json_t **ret, Error **err)
{
        _cleanup_free_ char *dir = NULL, *tmp = NULL, *upper = NULL, *opts = NULL;
        _cleanup_json_ json_t *info = NULL;
        int64_t t0 = monotonic_ms();
        int r;

        r = inst_snapshot_begin(c, rec, name, &dir, &tmp, err);
        if (r < 0)
                return r;
        upper = xasprintf("%s/upper", tmp);
        opts = xasprintf("%s/options.json", tmp);
        r = inst_ctr_copy_upper(c, rec, upper, err);
        if (r >= 0)
                r = write_file_atomic_at(AT_FDCWD, opts, rec->options, strlen(rec->options), 0600, err);
        if (r >= 0)
                r = copy_small_file(c, rec->id, "config.json", tmp, err);
        info = json_pack("{s:s, s:I, s:b, s:s, s:I}", "name", name, "created", (json_int_t)time(NULL), "stateful", 0,
                         "kind", inst_kind_name(rec->kind), "save_ms", (json_int_t)(monotonic_ms() - t0));
        r = inst_snapshot_commit(rec, name, dir, tmp, info, r, err);
        if (r < 0)
                return r;
        if (ret)
                *ret = TAKE_PTR(info);
        return 0;
}

static int64_t upper_size(const char *dir)
{
        _cleanup_free_ char *upper = xasprintf("%s/upper", dir);

        return stor_tree_size(upper);
}

int inst_ctr_snapshot_list(InstContext *c, InstRecord *rec, json_t **ret, Error **err)
{
        *ret = inst_snapshot_list_dir(c, rec, upper_size);
        return 0;
}

int inst_ctr_snapshot_delete(InstContext *c, InstRecord *rec, const char *name, Error **err)
{
        _cleanup_free_ char *dir = NULL;
        int r = inst_snapshot_find(c, rec, name, &dir, err);

        return r < 0 ? r : rm_rf_at(AT_FDCWD, dir, err);
}

/* With the overlay unmounted: upper.restore becomes the upper dir, the work dir starts empty, the
 * snapshot's bundle config comes back; then the overlay is mounted again. */
static int swap_upper(InstContext *c, InstRecord *rec, const char *snap, const char *fresh, Error **err)
{
        _cleanup_free_ char *rootfs = inst_path(c, rec->id, "rootfs"), *upper = inst_path(c, rec->id, "upper"),
                            *old = inst_path(c, rec->id, "upper.old"), *work = inst_path(c, rec->id, "work"),
                            *cfg = xasprintf("%s/config.json", snap), *text = NULL;
        _cleanup_(inst_image_freep) InstImage *img = NULL;
        size_t len;
        int r;

        r = inst_db_image_find(c->db, rec->image_id, &img, err);
        if (r < 0)
                return error_wrap(err, r, "image of '%s'", rec->name);
        r = stor_overlay_umount(rootfs, err);
        if (r < 0)
                return r;
        rm_rf_at(AT_FDCWD, old, NULL);
        if (rename(upper, old) < 0 && errno != ENOENT)
                r = error_set(err, errno, "rename '%s'", upper);
        if (r >= 0 && rename(fresh, upper) < 0) {
                r = error_set(err, errno, "rename '%s'", fresh);
                rename(old, upper); /* as it was */
        }
        if (r >= 0) {
                rm_rf_at(AT_FDCWD, old, NULL);
                rm_rf_at(AT_FDCWD, work, NULL);
                if (read_file_at(AT_FDCWD, cfg, &text, &len, NULL) >= 0) {
                        _cleanup_free_ char *dst = inst_path(c, rec->id, "config.json");
                        inst_context_forget_bundle(c);
                        r = write_file_atomic_at(AT_FDCWD, dst, text, len, 0600, err);
                }
        }
        /* Mounted again in any case: the overlay stays mounted from create to rm. */
        {
                _cleanup_error_ Error *e = NULL;
                int k = inst_rootfs_mount(c, rec->id, img->layers, &e);
                if (k < 0 && r >= 0)
                        r = error_setf(err, -k, "mount again: %s", error_message(e, k));
        }
        return r;
}

int inst_ctr_snapshot_restore(InstContext *c, InstRecord *rec, const char *name, json_t **ret, Error **err)
{
        _cleanup_free_ char *dir = NULL, *src = NULL, *fresh = NULL;
        bool was_running = false;
        int64_t t0 = monotonic_ms();
        InstState st;
        int r;

        r = inst_snapshot_find(c, rec, name, &dir, err);
        if (r >= 0)
                r = inst_state(c, rec, &st, NULL, err);
        if (r < 0)
                return r;
        src = xasprintf("%s/upper", dir);
        fresh = inst_path(c, rec->id, "upper.restore");
        /* The copy first, while the container still runs: a failure here changes nothing. */
        rm_rf_at(AT_FDCWD, fresh, NULL);
        r = stor_tree_copy(src, fresh, err);
        if (r < 0)
                return error_wrap(err, r, "restore '%s' of '%s'", name, rec->name);
        was_running = st == INST_STATE_RUNNING || st == INST_STATE_PAUSED;
        /* Stopping it would remove it. */
        if (was_running && rec->is_auto_remove) {
                rm_rf_at(AT_FDCWD, fresh, NULL);
                return error_setf(err, EBUSY, "restore '%s' of '%s': it runs with --rm, and stopping it removes it",
                                  name, rec->name);
        }
        if (was_running) {
                r = inst_stop(c, rec, -1, err);
                if (r < 0) {
                        rm_rf_at(AT_FDCWD, fresh, NULL);
                        return error_wrap(err, r, "restore '%s' of '%s': stop it", name, rec->name);
                }
        }
        r = swap_upper(c, rec, dir, fresh, err);
        rm_rf_at(AT_FDCWD, fresh, NULL);
        if (was_running) {
                /* Started again even when the swap failed: it was running. */
                _cleanup_error_ Error *e = NULL;
                int k = inst_start_detached(c, rec, &e);
                if (k < 0 && r >= 0)
                        r = error_setf(err, -k, "start it again: %s", error_message(e, k));
        }
        if (r < 0)
                return error_wrap(err, r, "restore '%s' of '%s'", name, rec->name);
        if (ret)
                *ret = json_pack("{s:s, s:b, s:b, s:I}", "name", name, "stateful", 0, "restarted", was_running,
                                 "restore_ms", (json_int_t)(monotonic_ms() - t0));
        return 0;
}
