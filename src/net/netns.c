/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* netns.c: network namespaces made by a short-lived thread and pinned by a bind mount on a file */
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "netns.h"

typedef struct NsCreate {
        const char *path;
        int r;            /* 0 or -errno */
        const char *step; /* what failed */
} NsCreate;

/* Sets IFF_UP on lo by ioctl: one socket and two calls, cheaper than a netlink round trip. */
static int lo_up(void)
{
        _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr = {.ifr_name = "lo"};

        if (fd < 0)
                return -errno;
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                return -errno;
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                return -errno;
        return 0;
}

/* Writes text to a sysctl of the calling thread's network namespace. */
static int sysctl_write(const char *path, const char *text)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        size_t n = strlen(text);

        if (fd < 0)
                return -errno;
        return write(fd, text, n) == (ssize_t)n ? 0 : -errno;
}

/*
 * As Docker does in a container's own network namespace: ping (ICMP datagram sockets) for every group,
 * and ports below 1024 without CAP_NET_BIND_SERVICE. Set here, by the namespace's owner, because a
 * container with a user namespace of its own may not write the sysctls of one it does not own, and
 * its root would otherwise lose both.
 */
static int open_sysctls(void)
{
        int r = sysctl_write("/proc/sys/net/ipv4/ping_group_range", "0 2147483647");

        return r < 0 ? r : sysctl_write("/proc/sys/net/ipv4/ip_unprivileged_port_start", "0");
}

/*
 * unshare(CLONE_NEWNET) moves only the calling thread, so this one does it and ends: the caller's
 * threads stay where they were. The mount is seen by the whole process (threads share the mount
 * namespace), and /proc/thread-self names this thread's namespace, not the process's.
 */
static void *ns_create_thread(void *arg)
{
        NsCreate *c = arg;

        if (unshare(CLONE_NEWNET) < 0) {
                c->r = -errno;
                c->step = "unshare";
                return NULL;
        }
        c->r = lo_up();
        if (c->r < 0) {
                c->step = "bring lo up";
                return NULL;
        }
        c->r = open_sysctls();
        if (c->r < 0) {
                c->step = "set its sysctls";
                return NULL;
        }
        if (mount("/proc/thread-self/ns/net", c->path, NULL, MS_BIND, NULL) < 0) {
                c->r = -errno;
                c->step = "bind mount";
        }
        return NULL;
}

int net_netns_create(const char *path, Error **err)
{
        NsCreate c = {.path = path};
        pthread_t t;
        int fd, r;

        /* The mount point, made here so that an existing file is never mounted over. */
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444);
        if (fd < 0)
                return error_set(err, errno, "create network namespace '%s'", path);
        close(fd);

        r = pthread_create(&t, NULL, ns_create_thread, &c);
        if (r == 0) {
                r = -pthread_join(t, NULL);
                if (r == 0)
                        r = c.r;
        } else {
                r = -r;
                c.step = "start thread";
        }
        if (r < 0) {
                /* The mount is the last step, so a failure left none. */
                (void)unlink(path);
                return error_set(err, r, "create network namespace '%s': %s", path,
                                 c.step ? c.step : "join thread");
        }
        log_debug("created network namespace '%s'", path);
        return 0;
}

int net_netns_remove(const char *path, Error **err)
{
        /* EINVAL: not a mount point (made but never mounted, or unmounted already). */
        if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
                return error_set(err, errno, "remove network namespace '%s': unmount", path);
        if (unlink(path) < 0 && errno != ENOENT)
                return error_set(err, errno, "remove network namespace '%s'", path);
        log_debug("removed network namespace '%s'", path);
        return 0;
}

bool net_netns_is_pinned(const char *path)
{
        /* O_NONBLOCK: whatever path is, even a FIFO, opening it must not wait. */
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        struct statfs sfs;
        int type;

        if (fd < 0 || fstatfs(fd, &sfs) < 0 || sfs.f_type != NSFS_MAGIC)
                return false;
        /* An nsfs file of another kind (a mount or pid namespace) is not a network namespace. */
        type = ioctl(fd, NS_GET_NSTYPE);
        return type == CLONE_NEWNET || (type < 0 && errno == ENOTTY);
}
