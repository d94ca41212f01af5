/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* userns.c: writing the uid and gid maps of a new user namespace */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/process.h"
#include "common/strv.h"
#include "linux.h"

static char *format_map(const RtIdMap *m, size_t n)
{
        char *s = xstrdup("");
        for (size_t i = 0; i < n; i++) {
                char *t = xasprintf("%s%u %u %u\n", s, m[i].container_id, m[i].host_id, m[i].size);
                free(s);
                s = t;
        }
        return s;
}

/* Unprivileged callers may only map their own id, once, and only after "deny" on setgroups.
 * Wider maps go through the setuid helpers newuidmap/newgidmap, which check /etc/subuid. */
static int write_with_helper(const char *helper, pid_t pid, const RtIdMap *m, size_t n, Error **err)
{
        _cleanup_strv_ char **argv = NULL;
        pid_t child;
        int status, r;

        strv_push(&argv, helper);
        strv_consume(&argv, xasprintf("%d", pid));
        for (size_t i = 0; i < n; i++) {
                strv_consume(&argv, xasprintf("%u", m[i].container_id));
                strv_consume(&argv, xasprintf("%u", m[i].host_id));
                strv_consume(&argv, xasprintf("%u", m[i].size));
        }
        child = fork();
        if (child < 0)
                return error_set(err, errno, "fork %s", helper);
        if (child == 0) {
                execvp(helper, argv);
                _exit(127);
        }
        r = process_wait_status(child, &status, err);
        if (r < 0)
                return r;
        if (status != 0)
                return error_setf(err, EPERM, "%s exited with status %d", helper, status);
        return 0;
}

static bool is_own_single_map(const RtIdMap *m, size_t n, unsigned own)
{
        return n == 1 && m[0].host_id == own && m[0].size == 1;
}

int rt_userns_write_maps(pid_t pid, const RtSpec *s, Error **err)
{
        _cleanup_free_ char *uids = format_map(s->uid_mappings, s->n_uid_mappings);
        _cleanup_free_ char *gids = format_map(s->gid_mappings, s->n_gid_mappings);
        char path[64];
        bool is_root = geteuid() == 0;
        int r;

        if (is_root || is_own_single_map(s->uid_mappings, s->n_uid_mappings, geteuid())) {
                snprintf(path, sizeof(path), "/proc/%d/uid_map", pid);
                r = write_file_at(AT_FDCWD, path, uids, err);
        } else {
                r = write_with_helper("newuidmap", pid, s->uid_mappings, s->n_uid_mappings, err);
        }
        if (r < 0)
                return error_wrap(err, r, "linux.uidMappings");

        if (is_root || is_own_single_map(s->gid_mappings, s->n_gid_mappings, getegid())) {
                if (!is_root) {
                        snprintf(path, sizeof(path), "/proc/%d/setgroups", pid);
                        r = write_file_at(AT_FDCWD, path, "deny", err);
                        if (r < 0)
                                return error_wrap(err, r, "linux.gidMappings");
                }
                snprintf(path, sizeof(path), "/proc/%d/gid_map", pid);
                r = write_file_at(AT_FDCWD, path, gids, err);
        } else {
                r = write_with_helper("newgidmap", pid, s->gid_mappings, s->n_gid_mappings, err);
        }
        return r < 0 ? error_wrap(err, r, "linux.gidMappings") : 0;
}
