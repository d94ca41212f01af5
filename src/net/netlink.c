/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* netlink.c: rtnetlink requests for links, addresses and routes (libmnl); taps; net sysctls */
#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <linux/veth.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "netlink.h"

/*
 * Large enough for any one message the kernel sends us: a RTM_NEWLINK reply with its statistics
 * and per-family data is a few KB, and the kernel never splits one message across datagrams.
 * libmnl 1.0.4 has no MNL_SOCKET_DUMP_SIZE; this is its value in later releases.
 */
#define NET_RECV_SIZE 32768
#define NET_SEND_SIZE 4096 /* one request: a header and a few attributes */

struct NetLink {
        struct mnl_socket *sock;
        uint32_t portid;
        uint32_t seq;
};

static bool name_is_valid(const char *name)
{
        size_t n;

        if (!name)
                return false;
        n = strlen(name);
        /* IFNAMSIZ counts the NUL; the kernel's dev_valid_name() also refuses ':' (alias syntax). */
        if (n == 0 || n >= IFNAMSIZ || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return false;
        for (const char *p = name; *p; p++)
                if (*p == '/' || *p == ':' || isspace((unsigned char)*p))
                        return false;
        return true;
}

static int check_name(const char *name, Error **err)
{
        if (!name_is_valid(name))
                return error_setf(err, EINVAL, "invalid interface name '%s'", name ? name : "(null)");
        return 0;
}

NetLink *net_link_close(NetLink *nl)
{
        if (nl) {
                if (nl->sock)
                        mnl_socket_close(nl->sock);
                free(nl);
        }
        return NULL;
}

/* Wraps an AF_NETLINK socket fd (owned from here on) and binds it to a kernel-chosen port id. */
static int link_from_fd(int fd, NetLink **ret, Error **err)
{
        _cleanup_(net_link_closep) NetLink *nl = xnew0(NetLink, 1);

        nl->sock = mnl_socket_fdopen(fd);
        if (!nl->sock) {
                int saved = errno;
                close(fd);
                return error_set(err, saved, "netlink socket");
        }
        if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0)
                return error_set(err, errno, "bind netlink socket");
        nl->portid = mnl_socket_get_portid(nl->sock);
        /* Any start works; a time-based one keeps stale acks of an earlier socket from matching. */
        nl->seq = (uint32_t)time(NULL);
        *ret = TAKE_PTR(nl);
        return 0;
}

int net_link_open(NetLink **ret, Error **err)
{
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

        if (fd < 0)
                return error_set(err, errno, "open rtnetlink socket");
        return link_from_fd(fd, ret, err);
}

typedef struct NsSocket {
        int netns_fd;
        int fd; /* the socket, or -errno */
        bool is_setns_failure;
} NsSocket;

/*
 * A socket belongs to the namespace of the thread that made it, for life. setns() in a thread of
 * our own changes only that thread (CLONE_NEWNET needs no CLONE_FS unsharing), and the thread ends
 * right after, so the caller's threads never leave their namespace.
 */
static void *ns_socket_thread(void *arg)
{
        NsSocket *s = arg;

        if (setns(s->netns_fd, CLONE_NEWNET) < 0) {
                s->fd = -errno;
                s->is_setns_failure = true;
                return NULL;
        }
        s->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (s->fd < 0)
                s->fd = -errno;
        return NULL;
}

int net_link_open_in(int netns_fd, NetLink **ret, Error **err)
{
        NsSocket s = {.netns_fd = netns_fd, .fd = -EBADF};
        pthread_t t;
        int r;

        if (netns_fd < 0)
                return error_setf(err, EBADF, "open rtnetlink socket: invalid namespace fd %d", netns_fd);
        r = pthread_create(&t, NULL, ns_socket_thread, &s);
        if (r != 0)
                return error_set(err, r, "open rtnetlink socket: start thread");
        r = pthread_join(t, NULL);
        if (r != 0)
                return error_set(err, r, "open rtnetlink socket: join thread");
        if (s.fd < 0)
                return error_set(err, s.fd,
                                 s.is_setns_failure ? "enter network namespace fd %d"
                                                    : "open rtnetlink socket in namespace fd %d",
                                 netns_fd);
        return link_from_fd(s.fd, ret, err);
}

/* Starts a request in buf: the netlink header with a fresh sequence number and NLM_F_ACK. */
static struct nlmsghdr *request_new(NetLink *nl, char *buf, uint16_t type, uint16_t flags)
{
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        nlh->nlmsg_seq = ++nl->seq;
        return nlh;
}

/*
 * The one exchange: sends nlh and reads until the kernel's ack, handing any reply message to cb
 * (may be NULL). A kernel error is returned as -errno with errno set; no Error here, the callers
 * know what the request was about.
 */
static int request(NetLink *nl, const struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
        _cleanup_free_ char *buf = NULL;
        ssize_t n;
        int r;

        if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
                return -errno;
        buf = xmalloc(NET_RECV_SIZE);
        for (;;) {
                n = mnl_socket_recvfrom(nl->sock, buf, NET_RECV_SIZE);
                if (n < 0)
                        return -errno;
                /* mnl_cb_run() checks seq and port id and maps a NLMSG_ERROR to errno. */
                r = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, nl->portid, cb, data);
                if (r < 0)
                        return errno > 0 ? -errno : -EPROTO;
                if (r == MNL_CB_STOP)
                        return 0;
        }
}

static int link_index_cb(const struct nlmsghdr *nlh, void *data)
{
        const struct ifinfomsg *ifi;

        if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
                return MNL_CB_OK;
        ifi = mnl_nlmsg_get_payload(nlh);
        *(int *)data = ifi->ifi_index;
        return MNL_CB_OK;
}

/* RTM_GETLINK by name, asked of nl's namespace (if_nametoindex() would ask the caller's). */
static int lookup_index(NetLink *nl, const char *name, int *ret_ifindex)
{
        _Alignas(struct nlmsghdr) char buf[NET_SEND_SIZE];
        struct nlmsghdr *nlh = request_new(nl, buf, RTM_GETLINK, 0);
        struct ifinfomsg *ifi;
        int index = 0, r;

        ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        /* Only the basics: skip per-VF and statistics attributes the reply would otherwise carry. */
        mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
        r = request(nl, nlh, link_index_cb, &index);
        if (r < 0)
                return r;
        if (index <= 0)
                return -ENODEV;
        *ret_ifindex = index;
        return 0;
}

int net_link_index(NetLink *nl, const char *name, int *ret_ifindex, Error **err)
{
        int r = check_name(name, err);

        if (r < 0)
                return r;
        r = lookup_index(nl, name, ret_ifindex);
        if (r < 0)
                return error_set(err, r, "look up link '%s'", name);
        return 0;
}

int net_link_exists(NetLink *nl, const char *name)
{
        int index, r;

        if (!name_is_valid(name))
                return -EINVAL;
        r = lookup_index(nl, name, &index);
        if (r == -ENODEV)
                return 0;
        return r < 0 ? r : 1;
}

/* Starts an RTM_NEWLINK/RTM_DELLINK message about ifindex (0: a link being created). */
static struct nlmsghdr *link_request_new(NetLink *nl, char *buf, uint16_t type, uint16_t flags, int ifindex)
{
        struct nlmsghdr *nlh = request_new(nl, buf, type, flags);
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = ifindex;
        return nlh;
}

int net_bridge_create(NetLink *nl, const char *name, uint32_t mtu, Error **err)
{
        _Alignas(struct nlmsghdr) char buf[NET_SEND_SIZE];
        struct nlmsghdr *nlh;
        struct nlattr *info;
        int r;

        r = check_name(name, err);
        if (r < 0)
                return r;
        nlh = link_request_new(nl, buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        if (mtu > 0)
                mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
        info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
        mnl_attr_nest_end(nlh, info);
        r = request(nl, nlh, NULL, NULL);
        if (r < 0)
                return error_set(err, r, "create bridge '%s'", name);
        log_debug("created bridge '%s'", name);
        return 0;
}

int net_veth_create(NetLink *nl, const char *host_name, const char *peer_name, int peer_netns_fd, uint32_t mtu,
                    Error **err)
{
        _Alignas(struct nlmsghdr) char buf[NET_SEND_SIZE];
        struct nlmsghdr *nlh;
        struct nlattr *info, *data, *peer;
        struct ifinfomsg *peer_ifi;
        int r;

        r = check_name(host_name, err);
        if (r >= 0)
                r = check_name(peer_name, err);
        if (r < 0)
                return error_wrap(err, r, "create veth '%s'", host_name ? host_name : "(null)");
        nlh = link_request_new(nl, buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
        mnl_attr_put_strz(nlh, IFLA_IFNAME, host_name);
        if (mtu > 0)
                mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
        info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
        data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
        /* VETH_INFO_PEER carries a whole ifinfomsg and then the peer's own IFLA_* attributes. */
        peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
        peer_ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*peer_ifi));
        peer_ifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, peer_name);
        if (mtu > 0)
                mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
        if (peer_netns_fd >= 0)
                mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
        mnl_attr_nest_end(nlh, peer);
        mnl_attr_nest_end(nlh, data);
        mnl_attr_nest_end(nlh, info);
        r = request(nl, nlh, NULL, NULL);
        if (r < 0)
                return error_set(err, r, "create veth '%s' with peer '%s'", host_name, peer_name);
        log_debug("created veth '%s' with peer '%s'", host_name, peer_name);
        return 0;
}

/*
 * Looks up name, then sends a message of type about it built by fill (adding attributes to nlh, or
 * setting flags in ifi). what and suffix frame the name in the error: "rename 'a' to 'b': ...".
 */
typedef void (*LinkFill)(struct nlmsghdr *nlh, struct ifinfomsg *ifi, const void *arg);

static int link_change(NetLink *nl, const char *name, uint16_t type, LinkFill fill, const void *arg,
                       const char *what, const char *suffix, Error **err)
{
        _Alignas(struct nlmsghdr) char buf[NET_SEND_SIZE];
        struct nlmsghdr *nlh;
        int index, r;

        r = check_name(name, err);
        if (r < 0)
                return error_wrap(err, r, "%s", what);
        r = lookup_index(nl, name, &index);
        if (r < 0)
                return error_set(err, r, "%s '%s'%s", what, name, suffix);
        nlh = link_request_new(nl, buf, type, 0, index);
        if (fill)
                fill(nlh, mnl_nlmsg_get_payload(nlh), arg);
        r = request(nl, nlh, NULL, NULL);
        if (r < 0)
                return error_set(err, r, "%s '%s'%s", what, name, suffix);
        log_debug("%s '%s'%s", what, name, suffix);
        return 0;
}

static void fill_master(struct nlmsghdr *nlh, struct ifinfomsg *ifi, const void *arg)
{
        mnl_attr_put_u32(nlh, IFLA_MASTER, *(const uint32_t *)arg);
}

int net_link_set_master(NetLink *nl, const char *name, const char *master, Error **err)
{
        uint32_t master_index = 0;
        int index, r;

        if (master) {
                r = check_name(master, err);
                if (r < 0)
                        return error_wrap(err, r, "set master of '%s'", name ? name : "(null)");
                r = lookup_index(nl, master, &index);
                if (r < 0)
                        return error_set(err, r, "set master of '%s': bridge '%s'", name ? name : "(null)",
                                         master);
                master_index = (uint32_t)index;
        }
        /* IFLA_MASTER 0 detaches the link from its master. */
        return link_change(nl, name, RTM_NEWLINK, fill_master, &master_index, "set master of", "", err);
}

static void fill_up(struct nlmsghdr *nlh, struct ifinfomsg *ifi, const void *arg)
{
        ifi->ifi_change = IFF_UP;
        ifi->ifi_flags = *(const bool *)arg ? IFF_UP : 0;
}

int net_link_set_up(NetLink *nl, const char *name, bool is_up, Error **err)
{
        return link_change(nl, name, RTM_NEWLINK, fill_up, &is_up, is_up ? "set up" : "set down", "", err);
}

static void fill_name(struct nlmsghdr *nlh, struct ifinfomsg *ifi, const void *arg)
{
        mnl_attr_put_strz(nlh, IFLA_IFNAME, arg);
}

int net_link_rename(NetLink *nl, const char *name, const char *new_name, Error **err)
{
        _cleanup_free_ char *suffix = NULL;
        int r = check_name(new_name, err);

        if (r < 0)
                return error_wrap(err, r, "rename '%s'", name ? name : "(null)");
        suffix = xasprintf(" to '%s'", new_name);
        return link_change(nl, name, RTM_NEWLINK, fill_name, new_name, "rename", suffix, err);
}

static void fill_netns(struct nlmsghdr *nlh, struct ifinfomsg *ifi, const void *arg)
{
        mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, *(const uint32_t *)arg);
}

int net_link_set_netns(NetLink *nl, const char *name, int netns_fd, Error **err)
{
        uint32_t fd = (uint32_t)netns_fd;

        if (netns_fd < 0)
                return error_setf(err, EBADF, "move '%s' to namespace: invalid fd %d", name ? name : "(null)",
                                  netns_fd);
        return link_change(nl, name, RTM_NEWLINK, fill_netns, &fd, "move", " to namespace", err);
}

int net_link_delete(NetLink *nl, const char *name, Error **err)
{
        return link_change(nl, name, RTM_DELLINK, NULL, NULL, "delete link", "", err);
}

static int family_size(int family, uint8_t prefixlen, size_t *ret_size)
{
        if (family == AF_INET && prefixlen <= 32) {
                *ret_size = sizeof(struct in_addr);
                return 0;
        }
        if (family == AF_INET6 && prefixlen <= 128) {
                *ret_size = sizeof(struct in6_addr);
                return 0;
        }
        return -EINVAL;
}

int net_addr_add(NetLink *nl, const char *name, int family, const void *addr, uint8_t prefixlen, Error **err)
{
        _Alignas(struct nlmsghdr) char buf[NET_SEND_SIZE], text[INET6_ADDRSTRLEN] = "?";
        struct nlmsghdr *nlh;
        struct ifaddrmsg *ifa;
        size_t size;
        int index, r;

        r = check_name(name, err);
        if (r < 0)
                return error_wrap(err, r, "add address");
        if (family_size(family, prefixlen, &size) < 0 || !addr)
                return error_setf(err, EINVAL, "add address to '%s': family %d with prefix /%u not supported",
                                  name, family, prefixlen);
        inet_ntop(family, addr, text, sizeof(text));
        r = lookup_index(nl, name, &index);
        if (r < 0)
                return error_set(err, r, "add address '%s/%u' to '%s'", text, prefixlen, name);

        nlh = request_new(nl, buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
        ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
        ifa->ifa_family = (uint8_t)family;
        ifa->ifa_prefixlen = prefixlen;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        ifa->ifa_index = (uint32_t)index;
        /* IFA_LOCAL is the address itself; IFA_ADDRESS the peer, the same on broadcast links. */
        mnl_attr_put(nlh, IFA_LOCAL, size, addr);
        mnl_attr_put(nlh, IFA_ADDRESS, size, addr);
        r = request(nl, nlh, NULL, NULL);
        if (r < 0)
                return error_set(err, r, "add address '%s/%u' to '%s'", text, prefixlen, name);
        log_debug("added address '%s/%u' to '%s'", text, prefixlen, name);
        return 0;
}

int net_route_add_default(NetLink *nl, int family, const void *gateway, const char *dev, uint32_t mtu,
                          Error **err)
{
        _Alignas(struct nlmsghdr) char buf[NET_SEND_SIZE], text[INET6_ADDRSTRLEN] = "?";
        struct nlmsghdr *nlh;
        struct rtmsg *rtm;
        size_t size;
        int index = 0, r;

        if (dev) {
                r = check_name(dev, err);
                if (r < 0)
                        return error_wrap(err, r, "add default route");
        }
        if (family_size(family, 0, &size) < 0 || !gateway)
                return error_setf(err, EINVAL, "add default route: family %d not supported", family);
        inet_ntop(family, gateway, text, sizeof(text));
        if (dev) {
                r = lookup_index(nl, dev, &index);
                if (r < 0)
                        return error_set(err, r, "add default route via '%s' dev '%s'", text, dev);
        }

        nlh = request_new(nl, buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
        rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
        rtm->rtm_family = (uint8_t)family;
        rtm->rtm_dst_len = 0;
        rtm->rtm_table = RT_TABLE_MAIN;
        rtm->rtm_protocol = RTPROT_BOOT; /* what `ip route add` marks a route made by an admin tool */
        rtm->rtm_scope = RT_SCOPE_UNIVERSE;
        rtm->rtm_type = RTN_UNICAST;
        mnl_attr_put(nlh, RTA_GATEWAY, size, gateway);
        if (index > 0)
                mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)index);
        if (mtu > 0) {
                struct nlattr *metrics = mnl_attr_nest_start(nlh, RTA_METRICS);
                mnl_attr_put_u32(nlh, RTAX_MTU, mtu);
                mnl_attr_nest_end(nlh, metrics);
        }
        r = request(nl, nlh, NULL, NULL);
        if (r < 0)
                return error_set(err, r, "add default route via '%s'%s%s%s", text, dev ? " dev '" : "",
                                 dev ? dev : "", dev ? "'" : "");
        log_debug("added default route via '%s'", text);
        return 0;
}

/*
 * An fd of /dev/net/tun belonging to nl's namespace: a tun file is tied to the namespace it was
 * opened in (the device made through it lands there), and nl may be in another one than the calling
 * thread (net_link_open_in()). SIOCGSKNS gives the socket's namespace; a thread of our own opens the
 * file inside it when it is not ours.
 */
typedef struct TunOpen {
        int netns_fd;
        int fd; /* or -errno */
} TunOpen;

static void *tun_open_thread(void *arg)
{
        TunOpen *t = arg;

        if (setns(t->netns_fd, CLONE_NEWNET) < 0) {
                t->fd = -errno;
                return NULL;
        }
        t->fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (t->fd < 0)
                t->fd = -errno;
        return NULL;
}

static int tun_open(NetLink *nl)
{
        _cleanup_close_ int ns_fd = -EBADF;
        struct stat ns_st, own_st;
        TunOpen t = {.fd = -EBADF};
        pthread_t thread;
        int r;

        ns_fd = ioctl(mnl_socket_get_fd(nl->sock), SIOCGSKNS);
        if (ns_fd < 0)
                return -errno;
        if (fstat(ns_fd, &ns_st) < 0 || stat("/proc/thread-self/ns/net", &own_st) < 0)
                return -errno;
        if (ns_st.st_dev == own_st.st_dev && ns_st.st_ino == own_st.st_ino) {
                r = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
                return r < 0 ? -errno : r;
        }
        t.netns_fd = ns_fd;
        r = pthread_create(&thread, NULL, tun_open_thread, &t);
        if (r != 0)
                return -r;
        r = pthread_join(thread, NULL);
        if (r != 0)
                return -r;
        return t.fd;
}

int net_tap_create(NetLink *nl, const char *name, const char *master, Error **err)
{
        _cleanup_close_ int fd = -EBADF;
        struct ifreq ifr = {0};
        int r;

        r = check_name(name, err);
        if (r >= 0)
                r = check_name(master, err);
        if (r < 0)
                return error_wrap(err, r, "create tap");
        r = net_link_exists(nl, name);
        if (r < 0)
                return error_set(err, r, "create tap '%s'", name);
        if (r > 0)
                return error_set(err, EEXIST, "create tap '%s'", name);

        fd = tun_open(nl);
        if (fd < 0)
                return error_set(err, fd, "create tap '%s': open /dev/net/tun", name);
        /* IFF_TUN_EXCL: fail rather than attach to a tap of that name made since the check above. */
        ifr.ifr_flags = (short)(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_TUN_EXCL); /* 0x8000 is the sign bit */
        strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
        if (ioctl(fd, TUNSETIFF, &ifr) < 0)
                return error_set(err, errno == EBUSY ? EEXIST : errno, "create tap '%s'", name);
        /* Without persistence the device would go with this fd; QEMU opens it again by name. */
        if (ioctl(fd, TUNSETPERSIST, 1) < 0)
                return error_set(err, errno, "create tap '%s': make it persistent", name);
        close(TAKE_FD(fd));

        r = net_link_set_master(nl, name, master, err);
        if (r >= 0)
                r = net_link_set_up(nl, name, true, err);
        if (r < 0) {
                r = error_wrap(err, r, "create tap '%s'", name);
                if (net_link_delete(nl, name, NULL) < 0)
                        log_warn("delete tap '%s' after a failed setup failed, ignoring", name);
                return r;
        }
        log_debug("created tap '%s' on bridge '%s'", name, master);
        return 0;
}

/* A route of the dump with the index of its link, named once the routes are all in. */
typedef struct RouteList {
        NetRoute *routes;
        int *ifindexes;
        size_t n;
} RouteList;

static int attr_cb(const struct nlattr *attr, void *data)
{
        const struct nlattr **tb = data;
        uint16_t type = mnl_attr_get_type(attr);

        /* tb has room for RTA_MAX and IFLA_MAX alike; the caller passes the larger. */
        if (type <= (RTA_MAX > IFLA_MAX ? RTA_MAX : IFLA_MAX))
                tb[type] = attr;
        return MNL_CB_OK;
}

#define ATTR_TABLE_SIZE ((RTA_MAX > IFLA_MAX ? RTA_MAX : IFLA_MAX) + 1)

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
        const struct nlattr *tb[ATTR_TABLE_SIZE] = {0};
        RouteList *list = data;
        const struct rtmsg *rtm;
        uint32_t table;
        NetRoute *route;

        if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
                return MNL_CB_OK;
        rtm = mnl_nlmsg_get_payload(nlh);
        if (rtm->rtm_family != AF_INET || rtm->rtm_dst_len > 32)
                return MNL_CB_OK;
        if (mnl_attr_parse(nlh, sizeof(*rtm), attr_cb, tb) < 0)
                return MNL_CB_ERROR;
        /* rtm_table holds only 8 bits; RTA_TABLE the real id when there is one. */
        table = tb[RTA_TABLE] && mnl_attr_get_payload_len(tb[RTA_TABLE]) >= 4
                    ? mnl_attr_get_u32(tb[RTA_TABLE])
                    : rtm->rtm_table;
        if (table != RT_TABLE_MAIN)
                return MNL_CB_OK;

        list->ifindexes = xrealloc(list->ifindexes, (list->n + 1) * sizeof(*list->ifindexes));
        list->ifindexes[list->n] = 0;
        if (tb[RTA_OIF] && mnl_attr_get_payload_len(tb[RTA_OIF]) >= 4)
                list->ifindexes[list->n] = (int)mnl_attr_get_u32(tb[RTA_OIF]);
        route = xappend(list->routes, list->n);
        route->dst_len = rtm->rtm_dst_len;
        if (tb[RTA_DST] && mnl_attr_get_payload_len(tb[RTA_DST]) >= sizeof(route->dst))
                memcpy(&route->dst, mnl_attr_get_payload(tb[RTA_DST]), sizeof(route->dst));
        return MNL_CB_OK;
}

static int link_name_cb(const struct nlmsghdr *nlh, void *data)
{
        const struct nlattr *tb[ATTR_TABLE_SIZE] = {0};
        RouteList *list = data;
        const struct ifinfomsg *ifi;

        if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
                return MNL_CB_OK;
        ifi = mnl_nlmsg_get_payload(nlh);
        if (mnl_attr_parse(nlh, sizeof(*ifi), attr_cb, tb) < 0)
                return MNL_CB_ERROR;
        if (!tb[IFLA_IFNAME] || mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_STRING) < 0)
                return MNL_CB_OK;
        for (size_t i = 0; i < list->n; i++)
                if (list->ifindexes[i] == ifi->ifi_index)
                        snprintf(list->routes[i].dev, sizeof(list->routes[i].dev), "%s",
                                 mnl_attr_get_str(tb[IFLA_IFNAME]));
        return MNL_CB_OK;
}

int net_route_list_v4(NetLink *nl, NetRoute **ret, size_t *ret_n, Error **err)
{
        _Alignas(struct nlmsghdr) char buf[NET_SEND_SIZE];
        RouteList list = {0};
        struct nlmsghdr *nlh;
        struct rtmsg *rtm;
        struct ifinfomsg *ifi;
        bool has_dev = false;
        int r;

        /* The kernel dumps every table unless strict checking is on: route_cb() keeps the main one. */
        nlh = request_new(nl, buf, RTM_GETROUTE, NLM_F_DUMP);
        rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
        rtm->rtm_family = AF_INET;
        rtm->rtm_table = RT_TABLE_MAIN;
        r = request(nl, nlh, route_cb, &list);
        if (r < 0) {
                r = error_set(err, r, "list IPv4 routes");
                goto out;
        }
        for (size_t i = 0; i < list.n; i++)
                has_dev = has_dev || list.ifindexes[i] > 0;
        if (has_dev) {
                /* Names from nl's namespace, by one link dump (if_indextoname() asks the caller's). */
                nlh = request_new(nl, buf, RTM_GETLINK, NLM_F_DUMP);
                ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
                ifi->ifi_family = AF_UNSPEC;
                mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
                r = request(nl, nlh, link_name_cb, &list);
                if (r < 0) {
                        r = error_set(err, r, "list IPv4 routes: name their links");
                        goto out;
                }
        }
        *ret = TAKE_PTR(list.routes);
        *ret_n = list.n;
        r = 0;
out:
        free(list.routes);
        free(list.ifindexes);
        return r;
}

/* A key under /proc/sys/net: relative, with no empty, "." or ".." component. */
static bool sysctl_key_is_valid(const char *key)
{
        const char *p = key;

        if (!key || !*key)
                return false;
        for (;;) {
                size_t n = strcspn(p, "/");

                if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                if (!p[n])
                        return true;
                p += n + 1;
        }
}

int net_sysctl_set(const char *key, const char *value, Error **err)
{
        _cleanup_free_ char *path = NULL, *old = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t len = 0;
        int r;

        if (!sysctl_key_is_valid(key) || !value)
                return error_setf(err, EINVAL, "set sysctl 'net/%s': invalid key or value",
                                  key ? key : "(null)");
        /* /proc/sys/net shows the network namespace of the thread that opens it. */
        path = xasprintf("/proc/sys/net/%s", key);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return error_set(err, errno, "set sysctl 'net/%s' to '%s'", key, value);
        r = fd_read_all(fd, &old, &len, NULL);
        if (r >= 0) {
                while (len > 0 && (old[len - 1] == '\n' || old[len - 1] == ' '))
                        old[--len] = '\0';
                if (strcmp(old, value) == 0)
                        return 0;
        }
        close(TAKE_FD(fd));
        fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return error_set(err, errno, "set sysctl 'net/%s' to '%s'", key, value);
        /* A sysctl takes its value in one write; a short one would leave half a number. */
        r = fd_write_all(fd, value, strlen(value));
        if (r < 0)
                return error_set(err, r, "set sysctl 'net/%s' to '%s'", key, value);
        log_debug("set sysctl 'net/%s' to '%s'", key, value);
        return 0;
}
