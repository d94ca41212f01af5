/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* control.c: the FILE and NETCONF requests: a file written atomically, eth0 reconfigured */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"

/* Makes the parent directories of path (0755). */
static int make_parents(const char *path)
{
        char buf[AGENT_PATH_MAX];
        char *p;

        snprintf(buf, sizeof(buf), "%s", path);
        for (p = buf + 1; (p = strchr(p, '/')); p++) {
                *p = 0;
                if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                        return agent_fail(errno, "make directory '%s'", buf);
                *p = '/';
        }
        return 0;
}

static int write_atomic(const char *path, mode_t mode, const char *data, size_t len)
{
        char tmp[AGENT_PATH_MAX + 32];
        int fd, r;

        r = make_parents(path);
        if (r < 0)
                return r;
        snprintf(tmp, sizeof(tmp), "%s.hull-tmp.%d", path, (int)getpid());
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return agent_fail(errno, "create '%s'", tmp);
        while (len > 0) {
                ssize_t n = write(fd, data, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = agent_fail(errno, "write '%s'", path);
                        goto fail;
                }
                data += n;
                len -= (size_t)n;
        }
        /* fchmod, not open's mode: the umask must not narrow what the host asked for. No fsync: the rename
         * makes the file appear whole, and the files the host writes (the /etc ones) come again at every
         * boot; three syncs took 30-100 ms of a TCG guest's start (each a flush of the host's file). */
        if (fchmod(fd, mode) < 0) {
                r = agent_fail(errno, "write '%s'", path);
                goto fail;
        }
        close(fd);
        if (rename(tmp, path) < 0) {
                r = agent_fail(errno, "rename to '%s'", path);
                unlink(tmp);
                return r;
        }
        return 0;
fail:
        close(fd);
        unlink(tmp);
        return r;
}

int control_write_file(const uint8_t *payload, size_t len)
{
        static VmRecordIter it;
        char path[AGENT_PATH_MAX] = "";
        const char *key, *value, *data = NULL;
        size_t vlen, data_len = 0;
        mode_t mode = 0644;
        char *end;
        int r;

        vm_records_init(&it, payload, len);
        while ((r = vm_records_next(&it, &key, &value, &vlen)) > 0) {
                if (strcmp(key, "path") == 0) {
                        snprintf(path, sizeof(path), "%s", value);
                } else if (strcmp(key, "mode") == 0) {
                        mode = (mode_t)strtoul(value, &end, 8);
                        if (*end || !value[0] || mode > 07777)
                                return agent_fail(EINVAL, "file mode '%s'", value);
                } else if (strcmp(key, "data") == 0) {
                        data = value;
                        data_len = vlen;
                }
        }
        if (r < 0)
                return agent_fail(EBADMSG, "file request");
        if (path[0] != '/')
                return agent_fail(EINVAL, "file path '%s' is not absolute", path);
        return write_atomic(path, mode, data ? data : "", data_len);
}

int control_netconf(const uint8_t *payload, size_t len)
{
        static VmRecordIter it;
        char addr[64] = "", gw[64] = "";
        const char *key, *value;
        unsigned mtu = 0;
        int r;

        vm_records_init(&it, payload, len);
        while ((r = vm_records_next(&it, &key, &value, NULL)) > 0) {
                if (strcmp(key, "addr") == 0)
                        snprintf(addr, sizeof(addr), "%s", value);
                else if (strcmp(key, "gw") == 0)
                        snprintf(gw, sizeof(gw), "%s", value);
                else if (strcmp(key, "mtu") == 0)
                        mtu = (unsigned)strtoul(value, NULL, 10);
        }
        if (r < 0)
                return agent_fail(EBADMSG, "netconf request");
        return net_configure("eth0", addr, gw, mtu);
}
