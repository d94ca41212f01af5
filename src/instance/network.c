/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* network.c: instances on networks: bridges, leases, pinned namespaces, veths, published ports, hosts */
/*
 * What lives where:
 *   - the database holds the truth: networks, one lease per bridged instance, its published ports;
 *     a lease and its ports go with the instance's record, in the same transaction;
 *   - the kernel holds what follows from it, rebuilt from the database whenever it may be stale:
 *     a bridge per network (made on first use in the current network namespace), the nftables
 *     table (net_nft_render() of every network and port, replaced whole), and, while an instance
 *     runs, its network namespace (pinned at $runroot/netns/<id>) with a veth pair into it;
 *   - $root/networks/<name>/hosts: the network's /etc/hosts, every member by name, bind-mounted
 *     read-only into each member and rewritten in place when a member comes or goes.
 * The runtime knows none of this: it is told to join the pinned namespace, as a CNI-driven runc is.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/strv.h"
#include "instance.h"
#include "internal.h"
#include "net/netlink.h"
#include "net/netns.h"
#include "net/nft.h"

#define DEFAULT_NETWORK "bridge"
/* User networks without --subnet get the first free /24 here. */
#define AUTO_SUBNET_BASE 0x0a4e0000u /* 10.78.0.0 */
#define AUTO_SUBNET_COUNT 256
#define FIRST_HOST 2 /* offset 1 is the bridge's (the gateway) */
#define MAX_CONTAINER_HOPS 8
/*
 * Bridges and veths carry 64 KiB frames, as loopback does, so traffic between an instance and the
 * host or another instance moves in large segments; the default route out of an instance is capped
 * at Ethernet's 1500, so what leaves for other hosts is sized for their links from the first packet.
 */
#define LINK_MTU 65535
#define ROUTE_OUT_MTU 1500

typedef enum NetMode {
        NET_MODE_BRIDGE,
        NET_MODE_NONE,
        NET_MODE_HOST,
        NET_MODE_CONTAINER,
} NetMode;

/* What --network names; *ret_arg gets the network or container name where there is one. */
static NetMode net_mode(const char *network, const char **ret_arg)
{
        *ret_arg = NULL;
        if (!network || strcmp(network, "bridge") == 0) {
                *ret_arg = DEFAULT_NETWORK;
                return NET_MODE_BRIDGE;
        }
        if (strcmp(network, "none") == 0)
                return NET_MODE_NONE;
        if (strcmp(network, "host") == 0)
                return NET_MODE_HOST;
        if (strncmp(network, "container:", 10) == 0) {
                *ret_arg = network + 10;
                return NET_MODE_CONTAINER;
        }
        *ret_arg = network;
        return NET_MODE_BRIDGE;
}

static char *netns_path(const InstContext *c, const char *id)
{
        return xasprintf("%s/netns/%s", c->runroot, id);
}

static char *hosts_path(const InstContext *c, const char *network)
{
        return xasprintf("%s/networks/%s/hosts", c->root, network);
}

/* The host end of an instance's veth pair: "vh" and the first 12 hex digits of its id. */
static void veth_name(const char *id, char buf[static 16])
{
        snprintf(buf, 16, "vh%.12s", id);
}

/* $runroot/net.lock, held while bridges are made, rules applied, or hosts files rewritten. */
static int net_lock(InstContext *c, Error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/net.lock", c->runroot);

        return lock_file(path, err);
}

static void net_unlock(int fd)
{
        if (fd >= 0)
                close(fd);
}

/* The address at offset of net's subnet, as text. */
static void lease_address(const InstNetwork *net, uint32_t offset, char buf[static INET_ADDRSTRLEN])
{
        struct in_addr a = {};

        net_prefix_host(&net->subnet, offset, &a);
        inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/*
 * Makes the nftables table match the database: every network and every published port. Skipped
 * when the script is the one applied last (kept in $runroot/nft.rules) unless is_forced (a bridge
 * was just made: this may be a network namespace that has never seen the table). Call with the lock.
 */
static int sync_rules(InstContext *c, bool is_forced, Error **err)
{
        _cleanup_free_ char *marker = xasprintf("%s/nft.rules", c->runroot), *script = NULL, *applied = NULL;
        InstNetwork **nets = NULL;
        InstPort *ports = NULL;
        NetNftNetwork *nn = NULL;
        NetNftPort *np = NULL;
        size_t n_nets = 0, n_ports = 0, n_np = 0;
        int r;

        r = inst_db_network_list(c->db, &nets, &n_nets, err);
        if (r >= 0)
                r = inst_db_port_list(c->db, NULL, &ports, &n_ports, err);
        if (r < 0)
                goto out;
        nn = xnew0(NetNftNetwork, n_nets + 1);
        for (size_t i = 0; i < n_nets; i++)
                nn[i] = (NetNftNetwork){ nets[i]->bridge, nets[i]->subnet };
        np = xnew0(NetNftPort, n_ports + 1);
        for (size_t i = 0; i < n_ports; i++)
                for (size_t k = 0; ports[i].network && k < n_nets; k++)
                        if (strcmp(nets[k]->name, ports[i].network) == 0) {
                                NetNftPort *p = &np[n_np++];
                                p->map = ports[i].map;
                                p->bridge = nets[k]->bridge;
                                net_prefix_host(&nets[k]->subnet, ports[i].host_offset, &p->ctr_ip);
                        }
        script = net_nft_render(&(NetNftRules){ nn, n_nets, np, n_np });
        if (!is_forced && read_file_at(AT_FDCWD, marker, &applied, NULL, NULL) >= 0 && strcmp(applied, script) == 0)
                goto out;
        r = net_nft_apply(script, err);
        if (r < 0) {
                unlink(marker);
                r = error_wrap(err, r, "nftables");
                goto out;
        }
        r = write_file_atomic_at(AT_FDCWD, marker, script, strlen(script), 0600, err);
out:
        inst_networks_free(nets, n_nets);
        inst_ports_free(ports, n_ports);
        free(nn);
        free(np);
        return r;
}

/* sync_rules() under the lock. */
static int sync_rules_locked(InstContext *c, bool is_forced, Error **err)
{
        int lock = net_lock(c, err), r;

        if (lock < 0)
                return lock;
        r = sync_rules(c, is_forced, err);
        net_unlock(lock);
        return r;
}

/* The hostname an instance gives itself: --hostname, else its short id. */
static char *instance_hostname(InstContext *c, const char *id)
{
        _cleanup_(inst_record_freep) InstRecord *rec = NULL;
        _cleanup_(inst_run_options_done) InstRunOptions o = {};

        if (inst_db_instance_find(c->db, id, &rec, NULL) >= 0 && inst_record_options(rec, &o, NULL) >= 0 &&
            o.hostname)
                return xstrdup(o.hostname);
        return xstrndup(id, 12);
}

/*
 * Rewrites network's hosts file from its leases: every member as "ADDRESS HOSTNAME NAME". The file
 * is bind-mounted into the members, so it is rewritten in place (same inode), under the lock.
 */
static int write_hosts(InstContext *c, const InstNetwork *net, Error **err)
{
        _cleanup_free_ char *path = hosts_path(c, net->name), *dir = NULL, *text = NULL;
        _cleanup_close_ int fd = -EBADF;
        InstLease *leases = NULL;
        size_t n = 0, len = 0;
        FILE *f;
        int r;

        dir = xasprintf("%s/networks/%s", c->root, net->name);
        r = mkdir_p(dir, 0755, err);
        if (r < 0)
                return r;
        r = inst_db_lease_list(c->db, net->name, &leases, &n, err);
        if (r < 0)
                return r;
        f = open_memstream(&text, &len);
        if (!f)
                abort();
        fputs("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n", f);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *hn = instance_hostname(c, leases[i].instance_id);
                char a[INET_ADDRSTRLEN];
                lease_address(net, leases[i].host_offset, a);
                if (strcmp(hn, leases[i].instance_name) == 0)
                        fprintf(f, "%s\t%s\n", a, hn);
                else
                        fprintf(f, "%s\t%s %s\n", a, hn, leases[i].instance_name);
        }
        fclose(f);
        inst_leases_free(leases, n);
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return error_set(err, errno, "open '%s'", path);
        if (pwrite(fd, text, len, 0) != (ssize_t)len || ftruncate(fd, (off_t)len) < 0)
                return error_set(err, errno, "write '%s'", path);
        return 0;
}

static int write_hosts_locked(InstContext *c, const char *network, Error **err)
{
        _cleanup_(inst_network_record_freep) InstNetwork *net = NULL;
        int lock, r;

        r = inst_db_network_find(c->db, network, &net, err);
        if (r < 0)
                return r;
        lock = net_lock(c, err);
        if (lock < 0)
                return lock;
        r = write_hosts(c, net, err);
        net_unlock(lock);
        return r;
}

/* What a new network must not collide with in this namespace: hull's networks (subnets and
 * bridges), the host's routes and its links. Loaded once per network created. */
typedef struct Taken {
        InstNetwork **nets;
        size_t n_nets;
        NetRoute *routes;
        size_t n_routes;
        NetLink *nl;
} Taken;

static void taken_done(Taken *t)
{
        inst_networks_free(t->nets, t->n_nets);
        free(t->routes);
        net_link_close(t->nl);
        *t = (Taken){};
}

static int taken_load(InstContext *c, Taken *t, Error **err)
{
        int r = inst_db_network_list(c->db, &t->nets, &t->n_nets, err);

        if (r >= 0)
                r = net_link_open(&t->nl, err);
        if (r >= 0)
                r = net_route_list_v4(t->nl, &t->routes, &t->n_routes, err);
        return r;
}

/* Checks subnet against every network hull has and every route of the host off hull's bridges. */
static int check_subnet_free(const Taken *t, const NetPrefix *subnet, Error **err)
{
        char a[NET_PREFIX_STRLEN], b[NET_PREFIX_STRLEN];

        for (size_t i = 0; i < t->n_nets; i++)
                if (net_prefix_overlaps(subnet, &t->nets[i]->subnet))
                        return error_setf(err, EEXIST, "subnet %s overlaps network '%s' (%s)",
                                          net_prefix_format(subnet, a), t->nets[i]->name,
                                          net_prefix_format(&t->nets[i]->subnet, b));
        for (size_t i = 0; i < t->n_routes; i++) {
                NetPrefix p = { t->routes[i].dst, t->routes[i].dst_len };
                bool is_ours = false;
                if (p.len == 0)
                        continue; /* a default route overlaps everything and means nothing here */
                for (size_t k = 0; k < t->n_nets; k++)
                        is_ours |= strcmp(t->routes[i].dev, t->nets[k]->bridge) == 0;
                if (!is_ours && net_prefix_overlaps(subnet, &p))
                        return error_setf(err, EEXIST, "subnet %s overlaps the host's route to %s%s%s",
                                          net_prefix_format(subnet, a), net_prefix_format(&p, b),
                                          t->routes[i].dev[0] ? " on " : "", t->routes[i].dev);
        }
        return 0;
}

/* The first free prefix of length len among count consecutive ones from base (host order), not
 * overlapping avoid (NULL: none); -ENOSPC when every one is taken. */
static int pick_subnet(const Taken *t, uint32_t base, uint8_t len, unsigned count, const NetPrefix *avoid,
                       NetPrefix *ret)
{
        for (unsigned i = 0; i < count; i++) {
                NetPrefix p = { { htonl(base + (i << (32 - len))) }, len };
                if ((!avoid || !net_prefix_overlaps(&p, avoid)) && check_subnet_free(t, &p, NULL) >= 0) {
                        *ret = p;
                        return 0;
                }
        }
        return -ENOSPC;
}

/* The first bridge name "hullN" (N >= first) no network has and no link in this namespace uses. */
static int pick_bridge(const Taken *t, unsigned first, char **ret, Error **err)
{
        for (unsigned k = first; k < 10000; k++) {
                char name[16];
                bool is_taken = false;
                snprintf(name, sizeof(name), "hull%u", k);
                for (size_t i = 0; i < t->n_nets; i++)
                        is_taken |= strcmp(t->nets[i]->bridge, name) == 0;
                if (is_taken || net_link_exists(t->nl, name) != 0)
                        continue;
                *ret = xstrdup(name);
                return 0;
        }
        return error_setf(err, ENOSPC, "no free bridge name");
}

/* Records a network (inside the caller's transaction). subnet NULL: the default's, or a free /24. */
static int network_add(InstContext *c, const char *name, const char *subnet, InstNetwork **ret, Error **err)
{
        _cleanup_(inst_network_record_freep) InstNetwork *net = xnew0(InstNetwork, 1);
        _cleanup_(taken_done) Taken taken = {};
        bool is_default = strcmp(name, DEFAULT_NETWORK) == 0;
        const NetPrefix user_range = { { htonl(AUTO_SUBNET_BASE) }, 16 };
        int r;

        net->name = xstrdup(name);
        net->created = time(NULL);
        r = taken_load(c, &taken, err);
        if (r < 0)
                return r;
        if (subnet) {
                r = net_prefix_parse(subnet, &net->subnet, err);
                if (r < 0)
                        return r;
                if (net_prefix_hosts(&net->subnet) < 2)
                        return error_setf(err, EINVAL, "subnet '%s': too small (at most /30)", subnet);
                r = check_subnet_free(&taken, &net->subnet, err);
                if (r < 0)
                        return r;
        } else if (is_default) {
                /* 10.77.0.0/16, or when another hull (another --root) or the host has it, the next
                 * free /16 after it, leaving out the user networks' 10.78.0.0/16. */
                if (pick_subnet(&taken, 0x0a4d0000u /* 10.77.0.0 */, 16, 255 - 77, &user_range, &net->subnet) < 0)
                        return error_setf(err, ENOSPC, "no free /16 in 10.0.0.0/8 for the default network: "
                                          "create it with --subnet");
        } else if (pick_subnet(&taken, AUTO_SUBNET_BASE, 24, AUTO_SUBNET_COUNT, NULL, &net->subnet) < 0)
                return error_setf(err, ENOSPC, "no free subnet in 10.78.0.0/16: give one with --subnet");
        /* hull0 is the default network's, unless another hull has it in this namespace. */
        r = pick_bridge(&taken, is_default ? 0 : 1, &net->bridge, err);
        if (r < 0)
                return r;
        r = inst_db_network_add(c->db, net, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(net);
        return 0;
}

/*
 * Makes sure net's bridge exists in the current network namespace, up, with the gateway address,
 * and the host forwards and NATs for it. Cheap when it does (two requests the kernel answers with
 * "already so"); when it has to be made, the rules are applied too, under the lock.
 */
static int ensure_bridge(InstContext *c, NetLink *nl, const InstNetwork *net, Error **err)
{
        _cleanup_free_ char *key = xasprintf("ipv4/conf/%s/route_localnet", net->bridge);
        struct in_addr gw;
        bool is_made = false;
        int lock = -1, r;

        r = net_prefix_host(&net->subnet, 1, &gw);
        if (r < 0)
                return error_setf(err, -r, "network '%s': subnet has no gateway address", net->name);
        r = net_link_exists(nl, net->bridge);
        if (r == 0) {
                lock = net_lock(c, err);
                if (lock < 0)
                        return lock;
                r = net_bridge_create(nl, net->bridge, LINK_MTU, err);
                if (r == -EEXIST) {
                        error_clear(err);
                        r = 0;
                }
                is_made = r >= 0;
        }
        if (r >= 0) {
                r = net_addr_add(nl, net->bridge, AF_INET, &gw, net->subnet.len, err);
                if (r == -EEXIST) {
                        error_clear(err);
                        r = 0;
                }
        }
        if (r >= 0)
                r = net_link_set_up(nl, net->bridge, true, err);
        if (r >= 0)
                r = net_sysctl_set("ipv4/ip_forward", "1", err);
        if (r >= 0)
                r = net_sysctl_set(key, "1", err);
        if (r >= 0 && is_made)
                r = sync_rules(c, true, err);
        net_unlock(lock);
        return r < 0 ? error_wrap(err, r, "network '%s'", net->name) : 0;
}

/* Fails with a clear message when something on the host already listens on m's port. */
static int check_port_free(const NetPortMap *m, Error **err)
{
        _cleanup_close_ int fd = socket(AF_INET, (m->proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(m->host_port), .sin_addr = m->host_ip };
        char buf[NET_PORT_STRLEN];
        int one = 1;

        if (fd < 0)
                return error_set(err, errno, "socket");
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno == EADDRINUSE)
                return error_setf(err, EADDRINUSE, "port %s: in use on the host", net_port_format(m, buf));
        return 0;
}

/* Records o's ports for rec, refusing any another instance publishes already. */
static int add_ports(InstContext *c, const InstRecord *rec, const InstRunOptions *o, Error **err)
{
        InstPort *taken = NULL;
        size_t n_taken = 0;
        int r;

        r = inst_db_port_list(c->db, NULL, &taken, &n_taken, err);
        for (size_t i = 0; r >= 0 && o->ports && o->ports[i]; i++) {
                NetPortMap m;
                char buf[NET_PORT_STRLEN];
                r = net_port_parse(o->ports[i], &m, err);
                for (size_t k = 0; r >= 0 && k < n_taken; k++)
                        if (net_port_conflicts(&m, &taken[k].map)) {
                                _cleanup_(inst_record_freep) InstRecord *other = NULL;
                                inst_db_instance_find(c->db, taken[k].instance_id, &other, NULL);
                                r = error_setf(err, EADDRINUSE, "port %s: already published by '%s'",
                                               net_port_format(&m, buf), other ? other->name : taken[k].instance_id);
                        }
                if (r >= 0)
                        r = check_port_free(&m, err);
                if (r >= 0) {
                        r = inst_db_port_add(c->db, rec->id, &m, err);
                        if (r == -EEXIST) /* the same port twice in one command */
                                r = error_setf(err, EADDRINUSE, "port %s: given twice", net_port_format(&m, buf));
                }
                if (r >= 0) {
                        InstPort *p = xappend(taken, n_taken);
                        *p = (InstPort){ xstrdup(rec->id), m };
                }
        }
        inst_ports_free(taken, n_taken);
        return r;
}

/* Follows container:NAME to the instance whose namespace it means. */
static int resolve_container(InstContext *c, const char *name, const InstRecord *self, char **ret_id,
                             bool *ret_is_host, Error **err)
{
        _cleanup_free_ char *key = xstrdup(name);

        for (int hop = 0; hop < MAX_CONTAINER_HOPS; hop++) {
                _cleanup_(inst_record_freep) InstRecord *target = NULL;
                _cleanup_(inst_run_options_done) InstRunOptions to = {};
                const char *arg;
                int r;

                r = inst_db_instance_find(c->db, key, &target, err);
                if (r < 0)
                        return error_wrap(err, r, "--network container:%s", name);
                if (strcmp(target->id, self->id) == 0)
                        return error_setf(err, EINVAL, "--network container:%s: a container cannot join itself", name);
                r = inst_record_options(target, &to, err);
                if (r < 0)
                        return r;
                switch (net_mode(to.network, &arg)) {
                case NET_MODE_HOST:
                        *ret_is_host = true;
                        *ret_id = NULL;
                        return 0;
                case NET_MODE_CONTAINER:
                        free(key);
                        key = xstrdup(arg);
                        continue;
                default:
                        *ret_is_host = false;
                        *ret_id = xstrdup(target->id);
                        return 0;
                }
        }
        return error_setf(err, ELOOP, "--network container:%s: too many containers joined in a chain", name);
}

int inst_net_attach(InstContext *c, const InstRecord *rec, const InstRunOptions *o, InstNetAttach *ret, Error **err)
{
        const char *arg;
        NetMode mode = net_mode(o->network, &arg);
        int r;

        *ret = (InstNetAttach){};
        if (o->is_vm && (mode == NET_MODE_HOST || mode == NET_MODE_CONTAINER))
                return error_setf(err, EINVAL, "--network %s: a VM has a network stack of its own; use bridge, none "
                                  "or a network's name", o->network);
        if (o->ports && o->ports[0] && mode != NET_MODE_BRIDGE)
                return error_setf(err, EINVAL, "-p: publishing ports needs a bridge network, not --network %s",
                                  o->network);
        switch (mode) {
        case NET_MODE_HOST:
                ret->is_host = true;
                return 0;
        case NET_MODE_NONE:
                ret->netns_path = netns_path(c, rec->id);
                return 0;
        case NET_MODE_CONTAINER: {
                _cleanup_free_ char *id = NULL;
                r = resolve_container(c, arg, rec, &id, &ret->is_host, err);
                if (r < 0)
                        return r;
                if (id)
                        ret->netns_path = netns_path(c, id);
                return 0;
        }
        case NET_MODE_BRIDGE: {
                _cleanup_(inst_network_record_freep) InstNetwork *net = NULL;
                uint32_t offset;
                r = inst_db_network_find(c->db, arg, &net, NULL);
                if (r == -ENOENT && strcmp(arg, DEFAULT_NETWORK) == 0)
                        r = network_add(c, arg, NULL, &net, err);
                else if (r == -ENOENT)
                        return error_setf(err, ENOENT, "no such network '%s'", arg);
                if (r < 0)
                        return r;
                r = inst_db_lease_alloc(c->db, net->name, rec->id, FIRST_HOST,
                                        net_prefix_hosts(&net->subnet), &offset, err);
                if (r >= 0)
                        r = add_ports(c, rec, o, err);
                if (r < 0)
                        return r;
                ret->netns_path = netns_path(c, rec->id);
                ret->hosts_path = hosts_path(c, net->name);
                ret->network = xstrdup(net->name);
                return 0;
        }
        }
        return 0;
}

void inst_net_attach_done(InstNetAttach *a)
{
        free(a->netns_path);
        free(a->hosts_path);
        free(a->network);
        *a = (InstNetAttach){};
}

int inst_net_members_changed(InstContext *c, const char *network, bool has_ports, Error **err)
{
        int r = 0, k;

        /* Both are tried: a failure of one does not leave the other stale. */
        if (network)
                r = write_hosts_locked(c, network, err);
        if (has_ports) {
                k = sync_rules_locked(c, false, r < 0 ? NULL : err);
                r = r < 0 ? r : k;
        }
        return r;
}

void inst_net_stop(InstContext *c, const char *id)
{
        _cleanup_free_ char *path = netns_path(c, id);

        /*
         * Unpinning is enough: once its last process is gone the kernel destroys the namespace, and
         * with it both ends of the veth pair. It does so in the background, because deleting a link
         * waits for RCU grace periods (some 20 ms here), which no command should wait for.
         */
        net_netns_remove(path, NULL);
}

/* Puts a bridged instance on its network: veth from the bridge into its namespace, address, route. */
static int plug(InstContext *c, const InstRecord *rec, const char *path, Error **err)
{
        _cleanup_(net_link_closep) NetLink *nl = NULL, *inner = NULL;
        _cleanup_(inst_network_record_freep) InstNetwork *net = NULL;
        _cleanup_(inst_lease_done) InstLease lease = {};
        _cleanup_close_ int ns = -EBADF;
        struct in_addr addr, gw;
        char veth[16];
        int r;

        r = inst_db_lease_find(c->db, rec->id, &lease, err);
        if (r == 0)
                return error_setf(err, ENOENT, "'%s' has no address on its network", rec->name);
        if (r >= 0)
                r = inst_db_network_find(c->db, lease.network, &net, err);
        if (r >= 0)
                r = net_link_open(&nl, err);
        if (r >= 0)
                r = ensure_bridge(c, nl, net, err);
        if (r < 0)
                return r;
        net_prefix_host(&net->subnet, 1, &gw);
        r = net_prefix_host(&net->subnet, lease.host_offset, &addr);
        if (r < 0)
                return error_setf(err, ERANGE, "'%s': its lease lies outside network '%s'", rec->name, net->name);
        ns = open(path, O_RDONLY | O_CLOEXEC);
        if (ns < 0)
                return error_set(err, errno, "open '%s'", path);
        veth_name(rec->id, veth);
        r = net_veth_create(nl, veth, "eth0", ns, LINK_MTU, err);
        if (r == -EEXIST && net_link_exists(nl, veth) == 1) {
                /* The pair of this instance's last run, its namespace not yet destroyed. */
                error_clear(err);
                net_link_delete(nl, veth, NULL);
                r = net_veth_create(nl, veth, "eth0", ns, LINK_MTU, err);
        }
        if (r >= 0)
                r = net_link_set_master(nl, veth, net->bridge, err);
        if (r >= 0)
                r = net_link_set_up(nl, veth, true, err);
        if (r >= 0)
                r = net_link_open_in(ns, &inner, err);
        if (r >= 0)
                r = net_addr_add(inner, "eth0", AF_INET, &addr, net->subnet.len, err);
        if (r >= 0)
                r = net_link_set_up(inner, "eth0", true, err);
        if (r >= 0)
                r = net_route_add_default(inner, AF_INET, &gw, "eth0", ROUTE_OUT_MTU, err);
        return r;
}

int inst_net_start(InstContext *c, const InstRecord *rec, const InstRunOptions *o, Error **err)
{
        _cleanup_free_ char *path = NULL, *dir = NULL;
        const char *arg;
        NetMode mode = net_mode(o->network, &arg);
        int r;

        if (mode == NET_MODE_HOST)
                return 0;
        if (mode == NET_MODE_CONTAINER) {
                _cleanup_free_ char *id = NULL;
                bool is_host = false;
                r = resolve_container(c, arg, rec, &id, &is_host, err);
                if (r < 0)
                        return r;
                path = id ? netns_path(c, id) : NULL;
                if (path && !net_netns_is_pinned(path))
                        return error_setf(err, EINVAL, "--network container:%s: '%s' is not running", arg, arg);
                return 0;
        }
        /* Whatever an earlier start left (a crash half-way) goes first. */
        inst_net_stop(c, rec->id);
        dir = xasprintf("%s/netns", c->runroot);
        path = netns_path(c, rec->id);
        r = mkdir_p(dir, 0700, err);
        if (r >= 0)
                r = net_netns_create(path, err);
        if (r >= 0 && mode == NET_MODE_BRIDGE)
                r = plug(c, rec, path, err);
        if (r < 0) {
                inst_net_stop(c, rec->id);
                return error_wrap(err, r, "network of '%s'", rec->name);
        }
        return 0;
}

static void tap_name(const char *id, char buf[static 16])
{
        snprintf(buf, 16, "th%.12s", id);
}

/* The VM's lease on its network: its address, gateway and bridge; 0 with an empty addr when it has none. */
static int vm_lease(InstContext *c, const InstRecord *rec, InstVmNet *ret, InstNetwork **ret_net, Error **err)
{
        _cleanup_(inst_network_record_freep) InstNetwork *net = NULL;
        _cleanup_(inst_lease_done) InstLease lease = {};
        struct in_addr addr, gw;
        char a[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];
        int r;

        *ret = (InstVmNet){};
        r = inst_db_lease_find(c->db, rec->id, &lease, err);
        if (r <= 0)
                return r;
        r = inst_db_network_find(c->db, lease.network, &net, err);
        if (r < 0)
                return r;
        net_prefix_host(&net->subnet, 1, &gw);
        if (net_prefix_host(&net->subnet, lease.host_offset, &addr) < 0)
                return error_setf(err, ERANGE, "'%s': its lease lies outside network '%s'", rec->name, net->name);
        inet_ntop(AF_INET, &addr, a, sizeof(a));
        inet_ntop(AF_INET, &gw, g, sizeof(g));
        snprintf(ret->addr, sizeof(ret->addr), "%s/%u", a, (unsigned)net->subnet.len);
        snprintf(ret->gw, sizeof(ret->gw), "%s", g);
        ret->mtu = ROUTE_OUT_MTU;
        if (ret_net)
                *ret_net = TAKE_PTR(net);
        return 1;
}

int inst_net_vm_address(InstContext *c, const InstRecord *rec, InstVmNet *ret, Error **err)
{
        int r = vm_lease(c, rec, ret, NULL, err);

        if (r == 0)
                return error_setf(err, ENOENT, "'%s' has no address on its network", rec->name);
        return r < 0 ? r : 0;
}

int inst_net_vm_start(InstContext *c, const InstRecord *rec, const InstRunOptions *o, InstVmNet *ret, Error **err)
{
        _cleanup_(net_link_closep) NetLink *nl = NULL;
        _cleanup_(inst_network_record_freep) InstNetwork *net = NULL;
        const char *arg;
        int r;

        *ret = (InstVmNet){};
        if (net_mode(o->network, &arg) != NET_MODE_BRIDGE)
                return 0;
        r = vm_lease(c, rec, ret, &net, err);
        if (r == 0)
                return error_setf(err, ENOENT, "'%s' has no address on its network", rec->name);
        if (r >= 0)
                r = net_link_open(&nl, err);
        if (r >= 0)
                r = ensure_bridge(c, nl, net, err);
        if (r < 0)
                return error_wrap(err, r, "network of '%s'", rec->name);
        tap_name(rec->id, ret->tap);
        /* A tap of a run that crashed goes first. */
        net_link_delete(nl, ret->tap, NULL);
        r = net_tap_create(nl, ret->tap, net->bridge, err);
        if (r < 0) {
                ret->tap[0] = '\0';
                return error_wrap(err, r, "network of '%s'", rec->name);
        }
        return 0;
}

void inst_net_vm_stop(InstContext *c, const char *id)
{
        _cleanup_(net_link_closep) NetLink *nl = NULL;
        char tap[16];

        tap_name(id, tap);
        if (net_link_open(&nl, NULL) >= 0)
                net_link_delete(nl, tap, NULL);
}

void inst_net_repair(InstContext *c)
{
        _cleanup_free_ char *dir = xasprintf("%s/netns", c->runroot);
        DIR *d = opendir(dir);
        struct dirent *de;
        Error *e = NULL;

        /* A pinned namespace whose instance has no record: a removal or a create that did not
         * finish. (One of an exited instance goes when its exit is collected; one of an instance that
         * never ran may be a start in progress, and its next start or removal clears it.) */
        while (d && (de = readdir(d))) {
                _cleanup_(inst_record_freep) InstRecord *rec = NULL;
                if (de->d_name[0] == '.')
                        continue;
                if (inst_db_instance_find(c->db, de->d_name, &rec, NULL) == -ENOENT)
                        inst_net_stop(c, de->d_name);
        }
        if (d)
                closedir(d);
        if (sync_rules_locked(c, false, &e) < 0)
                log_warn("%s", error_message(e, -EIO));
        error_free(e);
}

int inst_network_create(InstContext *c, const char *name, const char *subnet, Error **err)
{
        _cleanup_(inst_network_record_freep) InstNetwork *net = NULL;
        _cleanup_(net_link_closep) NetLink *nl = NULL;
        int r;

        r = inst_check_name(name, err);
        if (r < 0)
                return r;
        if (strcmp(name, "none") == 0 || strcmp(name, "host") == 0)
                return error_setf(err, EINVAL, "network name '%s' is reserved", name);
        r = inst_db_begin(c->db, err);
        if (r < 0)
                return r;
        r = inst_db_end(c->db, network_add(c, name, subnet, &net, err), err);
        if (r < 0)
                return r;
        r = net_link_open(&nl, err);
        if (r >= 0)
                r = ensure_bridge(c, nl, net, err);
        if (r >= 0)
                r = sync_rules_locked(c, false, err);
        if (r >= 0)
                r = write_hosts_locked(c, name, err);
        if (r < 0) {
                /* Nothing half-made: the record goes, and with it the rules and bridge. */
                inst_network_remove(c, name, NULL);
                return r;
        }
        return 0;
}

int inst_network_remove(InstContext *c, const char *name, Error **err)
{
        _cleanup_(inst_network_record_freep) InstNetwork *net = NULL;
        _cleanup_(net_link_closep) NetLink *nl = NULL;
        _cleanup_free_ char *dir = NULL;
        InstLease *leases = NULL;
        size_t n = 0;
        int r;

        r = inst_db_network_find(c->db, name, &net, err);
        if (r < 0)
                return r;
        r = inst_db_lease_list(c->db, name, &leases, &n, err);
        if (r < 0)
                return r;
        if (n > 0) {
                _cleanup_free_ char *list = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&list, &len);
                if (!f)
                        abort();
                for (size_t i = 0; i < n; i++)
                        fprintf(f, "%s'%s'", i ? ", " : "", leases[i].instance_name);
                fclose(f);
                inst_leases_free(leases, n);
                return error_setf(err, EBUSY, "network '%s' is in use by %s", name, list);
        }
        inst_leases_free(leases, n);
        r = inst_db_network_remove(c->db, name, err);
        if (r < 0)
                return r;
        /* The record is gone: what follows only tidies the kernel, and a later sync repairs it. */
        r = sync_rules_locked(c, false, err);
        if (r >= 0 && net_link_open(&nl, NULL) >= 0) {
                int d = net_link_delete(nl, net->bridge, err);
                if (d < 0 && d != -ENODEV)
                        r = d;
        }
        dir = xasprintf("%s/networks/%s", c->root, name);
        rm_rf_at(AT_FDCWD, dir, NULL);
        return r;
}

int inst_network_list(InstContext *c, json_t **ret, Error **err)
{
        InstNetwork **nets = NULL;
        InstLease *leases = NULL;
        size_t n = 0, n_leases = 0;
        json_t *a;
        int r;

        r = inst_db_network_list(c->db, &nets, &n, err);
        if (r >= 0)
                r = inst_db_lease_list(c->db, NULL, &leases, &n_leases, err);
        if (r < 0) {
                inst_networks_free(nets, n);
                return r;
        }
        a = json_array();
        for (size_t i = 0; i < n; i++) {
                json_t *members = json_array();
                char subnet[NET_PREFIX_STRLEN], gw[INET_ADDRSTRLEN];
                for (size_t l = 0; l < n_leases; l++)
                        if (strcmp(leases[l].network, nets[i]->name) == 0)
                                json_array_append_new(members, json_string(leases[l].instance_name));
                lease_address(nets[i], 1, gw);
                json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:I, s:o}", "name", nets[i]->name, "subnet",
                                                   net_prefix_format(&nets[i]->subnet, subnet), "bridge",
                                                   nets[i]->bridge, "gateway", gw, "created",
                                                   (json_int_t)nets[i]->created, "instances", members));
        }
        inst_networks_free(nets, n);
        inst_leases_free(leases, n_leases);
        *ret = a;
        return 0;
}

int inst_net_describe(InstContext *c, const InstRecord *rec, json_t **ret_network, json_t **ret_ports, Error **err)
{
        _cleanup_(inst_lease_done) InstLease lease = {};
        InstPort *ports = NULL;
        size_t n = 0;
        int r;

        *ret_network = NULL;
        r = inst_db_lease_find(c->db, rec->id, &lease, err);
        if (r > 0) {
                _cleanup_(inst_network_record_freep) InstNetwork *net = NULL;
                char a[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN], veth[16];
                r = inst_db_network_find(c->db, lease.network, &net, err);
                if (r < 0)
                        return r;
                lease_address(net, lease.host_offset, a);
                lease_address(net, 1, gw);
                veth_name(rec->id, veth);
                *ret_network = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "name", net->name, "address", a,
                                         "prefix_len", (int)net->subnet.len, "gateway", gw, "bridge", net->bridge,
                                         "veth", veth);
        }
        if (r < 0)
                return r;
        r = inst_db_port_list(c->db, rec->id, &ports, &n, err);
        if (r < 0) {
                json_decref(*ret_network);
                return r;
        }
        *ret_ports = json_array();
        for (size_t i = 0; i < n; i++) {
                char ip[INET_ADDRSTRLEN], text[NET_PORT_STRLEN];
                inet_ntop(AF_INET, &ports[i].map.host_ip, ip, sizeof(ip));
                json_array_append_new(*ret_ports,
                                      json_pack("{s:s, s:i, s:i, s:s, s:s}", "host_ip", ip, "host_port",
                                                (int)ports[i].map.host_port, "container_port",
                                                (int)ports[i].map.ctr_port, "protocol",
                                                ports[i].map.proto == IPPROTO_UDP ? "udp" : "tcp", "text",
                                                net_port_format(&ports[i].map, text)));
        }
        inst_ports_free(ports, n);
        if (!*ret_network)
                *ret_network = json_null();
        return 0;
}
