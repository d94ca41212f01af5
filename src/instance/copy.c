/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* copy.c: hull copy: a new, independent container with its own id, lease and upper dir copied from another */
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/strv.h"
#include "copy.h"
#include "internal.h"
#include "snapshot-container.h"
#include "storage/shift.h"
#include "storage/tree.h"

int inst_copy_reshift(InstContext *c, const InstIdmap *from, const InstRecord *to, const char *upper,
                      Error **err)
{
        InstIdmap none = {}, dst = {};
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!from)
                from = &none;
        r = inst_db_idmap_find(c->db, to->id, &dst, err);
        if (r < 0)
                return r;
        if (from->uid_base == dst.uid_base && from->gid_base == dst.gid_base)
                return 0;
        fd = open(upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return error_set(err, errno, "open '%s'", upper);
        StorShift shift = { .uid_from = from->uid_base, .uid_to = dst.uid_base, .gid_from = from->gid_base,
                            .gid_to = dst.gid_base, .count = INST_IDMAP_SLOT };
        r = stor_shift_tree_ids(fd, &shift, err);
        /* The upper dir's own owner: the container's root. */
        if (r >= 0 && fchown(fd, dst.uid_base, dst.gid_base) < 0)
                r = error_set(err, errno, "chown '%s'", upper);
        return r < 0 ? error_wrap(err, r, "shift the owners of '%s'", upper) : 0;
}

/* The run options the copy gets: src's (or the snapshot's) with the new name and no published ports. */
static int copy_options(const InstRecord *src, const char *snap_dir, const char *name, InstRunOptions *o,
                        char ***ret_dropped, Error **err)
{
        _cleanup_free_ char *path = snap_dir ? xasprintf("%s/options.json", snap_dir) : NULL, *text = NULL;
        _cleanup_json_ json_t *j = NULL;
        size_t len;
        int r;

        if (path && read_file_at(AT_FDCWD, path, &text, &len, NULL) >= 0)
                r = json_parse(text, len, "snapshot options", &j, err);
        else
                r = json_parse(src->options, strlen(src->options), "instance options", &j, err);
        if (r >= 0)
                r = inst_run_options_from_json(j, o, err);
        if (r < 0)
                return r;
        free(o->name);
        o->name = xstrdup(name);
        if (o->ports && o->ports[0] && ret_dropped)
                *ret_dropped = TAKE_PTR(o->ports);
        o->ports = strv_free(o->ports);
        return 0;
}

InstRecord *inst_copy_record(InstKind kind, const char *name, const InstImage *img, const char *image_name,
                             const char *options, bool is_auto_remove)
{
        InstRecord *rec = xnew0(InstRecord, 1);

        rec->id = inst_random_hex(32);
        rec->name = xstrdup(name);
        rec->kind = kind;
        rec->image_id = xstrdup(img->id);
        rec->image_name = xstrdup(image_name);
        rec->options = xstrdup(options);
        rec->created = time(NULL);
        rec->exit_code = -1;
        rec->is_auto_remove = is_auto_remove;
        return rec;
}

int inst_copy_make_files(InstContext *c, const InstRecord *rec, const InstImage *img, const InstRunOptions *o,
                         const InstNetAttach *att, const InstIdmap *from,
                         int (*fill)(const char *upper, void *data, Error **err), void *data, Error **err)
{
        _cleanup_free_ char *dir = inst_dir(c, rec->id), *upper = inst_path(c, rec->id, "upper");
        int r = mkdir_p(dir, 0700, err);

        if (r >= 0)
                r = fill(upper, data, err);
        if (r >= 0)
                r = inst_copy_reshift(c, from, rec, upper, err);
        /* The overlay over the upper dir, and a bundle of its own (its id, cgroup, hostname). */
        return r < 0 ? r : inst_driver_container.create(c, rec, img, o, att, err);
}

/* What a copy's upper dir is filled from: a snapshot's, or the running or stopped source's. */
typedef struct CopySource {
        InstContext *c;
        InstRecord *src;
        const char *snap_dir;
} CopySource;

static int fill_from_source(const char *upper, void *data, Error **err)
{
        CopySource *s = data;
        _cleanup_free_ char *snap_upper = NULL;

        if (!s->snap_dir)
                return inst_ctr_copy_upper(s->c, s->src, upper, err);
        snap_upper = xasprintf("%s/upper", s->snap_dir);
        return stor_tree_copy(snap_upper, upper, err);
}

int inst_copy(InstContext *c, InstRecord *src, const char *name, const char *snapshot, InstRecord **ret,
              char ***ret_dropped_ports, Error **err)
{
        _cleanup_(inst_record_freep) InstRecord *rec = NULL;
        _cleanup_(inst_run_options_done) InstRunOptions o = {};
        _cleanup_(inst_net_attach_done) InstNetAttach att = {};
        _cleanup_(inst_image_freep) InstImage *img = NULL;
        _cleanup_(inst_record_freep) InstRecord *other = NULL;
        _cleanup_json_ json_t *opts = NULL;
        _cleanup_free_ char *snap_dir = NULL, *text = NULL;
        InstIdmap from = {};
        _cleanup_strv_ char **dropped = NULL;
        int r;

        if (src->kind == INST_KIND_VM)
                return error_setf(err, EOPNOTSUPP, "'%s' is a VM: copy is for containers", src->name);
        r = inst_check_name(name, err);
        if (r < 0)
                return r;
        r = inst_db_instance_find(c->db, name, &other, NULL);
        if (r != -ENOENT)
                return error_setf(err, EEXIST, "the name '%s' is in use", name);
        if (snapshot) {
                r = inst_snapshot_find(c, src, snapshot, &snap_dir, err);
                if (r < 0)
                        return r;
        }
        r = inst_db_image_find(c->db, src->image_id, &img, err);
        if (r < 0)
                return error_wrap(err, r, "image of '%s'", src->name);
        r = copy_options(src, snap_dir, name, &o, &dropped, err);
        if (r < 0)
                return r;
        opts = inst_run_options_to_json(&o);
        text = json_dump_compact(opts);
        rec = inst_copy_record(src->kind, name, img, src->image_name, text, o.is_auto_remove);

        /* As inst_create: the record (with a lease of its own) first, so that rm can undo any part. */
        r = inst_add_record(c, rec, &o, &att, err);
        if (r < 0)
                return r;
        CopySource source = { c, src, snap_dir };
        r = inst_db_idmap_find(c->db, src->id, &from, err);
        if (r >= 0)
                r = inst_copy_make_files(c, rec, img, &o, &att, &from, fill_from_source, &source, err);
        if (r >= 0)
                r = inst_net_members_changed(c, att.network, false, err);
        if (r < 0) {
                inst_driver_container.remove_files(c, rec->id, NULL);
                inst_db_instance_remove(c->db, rec->id, NULL);
                inst_net_members_changed(c, att.network, false, NULL);
                return error_wrap(err, r, "copy '%s' to '%s'", src->name, name);
        }
        if (ret_dropped_ports)
                *ret_dropped_ports = TAKE_PTR(dropped);
        *ret = TAKE_PTR(rec);
        return 0;
}
