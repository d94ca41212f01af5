/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* db-network.c: the network records: networks, the leases of their addresses, published ports */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "db-internal.h"

InstNetwork *inst_network_record_free(InstNetwork *n)
{
        if (n) {
                free(n->name);
                free(n->bridge);
                free(n);
        }
        return NULL;
}

int inst_db_network_add(InstDb *db, const InstNetwork *n, Error **err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        char subnet[NET_PREFIX_STRLEN];
        int r;

        r = db_prepare(db, &s, err, "INSERT INTO networks (name, bridge, subnet, created) VALUES (?, ?, ?, ?)",
                       "ttti", n->name, n->bridge, net_prefix_format(&n->subnet, subnet), n->created);
        if (r < 0)
                return r;
        r = db_run(db, s, err);
        if (r == -EEXIST) {
                _cleanup_(inst_network_record_freep) InstNetwork *other = NULL;
                error_clear(err);
                if (inst_db_network_find(db, n->name, &other, NULL) >= 0)
                        return error_setf(err, EEXIST, "network '%s' already exists", n->name);
                return error_setf(err, EEXIST, "bridge '%s' belongs to another network", n->bridge);
        }
        return r;
}

static InstNetwork *network_from_row(sqlite3_stmt *s)
{
        InstNetwork *n = xnew0(InstNetwork, 1);
        const char *subnet = (const char *)sqlite3_column_text(s, 2);

        n->name = col_text(s, 0);
        n->bridge = col_text(s, 1);
        if (net_prefix_parse(subnet ? subnet : "", &n->subnet, NULL) < 0)
                n->subnet = (NetPrefix){}; /* only hull writes this column */
        n->created = sqlite3_column_int64(s, 3);
        return n;
}

int inst_db_network_find(InstDb *db, const char *name, InstNetwork **ret, Error **err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int r;

        r = db_prepare(db, &s, err, "SELECT name, bridge, subnet, created FROM networks WHERE name = ?", "t", name);
        if (r >= 0)
                r = db_row(db, s, err);
        if (r < 0)
                return r;
        if (r == 0)
                return error_setf(err, ENOENT, "no such network '%s'", name);
        *ret = network_from_row(s);
        return 0;
}

int inst_db_network_list(InstDb *db, InstNetwork ***ret, size_t *ret_n, Error **err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        InstNetwork **v = NULL;
        size_t n = 0;
        int r;

        r = db_prepare(db, &s, err, "SELECT name, bridge, subnet, created FROM networks ORDER BY name", NULL);
        while (r >= 0 && (r = db_row(db, s, err)) > 0) {
                InstNetwork **slot = xappend(v, n);
                *slot = network_from_row(s);
        }
        if (r < 0) {
                inst_networks_free(v, n);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int inst_db_network_remove(InstDb *db, const char *name, Error **err)
{
        int r = db_write(db, err, "DELETE FROM networks WHERE name = ?", "t", name);

        if (r == -EEXIST) {
                error_clear(err);
                return error_setf(err, EBUSY, "network '%s' is in use", name);
        }
        return r;
}

int inst_db_lease_alloc(InstDb *db, const char *network, const char *instance_id, uint32_t first, uint32_t last,
                        uint32_t *ret, Error **err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        uint32_t want = first;
        int r;

        /* The lowest free offset: walk the taken ones in order until the first gap. */
        r = db_prepare(db, &s, err,
                       "SELECT host_offset FROM leases WHERE network = ? AND host_offset >= ? ORDER BY host_offset",
                       "ti", network, (int64_t)first);
        while (r >= 0 && (r = db_row(db, s, err)) > 0) {
                int64_t taken = sqlite3_column_int64(s, 0);
                if (taken > want)
                        break;
                if (taken == want)
                        want++;
        }
        if (r < 0)
                return r;
        if (want > last)
                return error_setf(err, ENOSPC, "network '%s' has no free address", network);
        sqlite3_finalize(TAKE_PTR(s));
        r = db_prepare(db, &s, err, "INSERT INTO leases (network, host_offset, instance_id) VALUES (?, ?, ?)", "tit",
                       network, (int64_t)want, instance_id);
        if (r >= 0)
                r = db_run(db, s, err);
        if (r < 0)
                return r;
        *ret = want;
        return 0;
}

static void lease_from_row(sqlite3_stmt *s, InstLease *l)
{
        *l = (InstLease){ col_text(s, 0), col_text(s, 1), col_text(s, 2), (uint32_t)sqlite3_column_int64(s, 3) };
}

void inst_lease_done(InstLease *l)
{
        free(l->network);
        free(l->instance_id);
        free(l->instance_name);
        *l = (InstLease){};
}

void inst_leases_free(InstLease *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                inst_lease_done(&v[i]);
        free(v);
}

#define LEASE_QUERY                                                                                      \
        "SELECT l.network, l.instance_id, i.name, l.host_offset FROM leases l JOIN instances i ON i.id = l.instance_id "

int inst_db_lease_list(InstDb *db, const char *network, InstLease **ret, size_t *ret_n, Error **err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        InstLease *v = NULL;
        size_t n = 0;
        int r;

        if (network)
                r = db_prepare(db, &s, err, LEASE_QUERY "WHERE l.network = ? ORDER BY l.host_offset", "t", network);
        else
                r = db_prepare(db, &s, err, LEASE_QUERY "ORDER BY l.network, l.host_offset", NULL);
        while (r >= 0 && (r = db_row(db, s, err)) > 0)
                lease_from_row(s, xappend(v, n));
        if (r < 0) {
                inst_leases_free(v, n);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int inst_db_lease_find(InstDb *db, const char *instance_id, InstLease *ret, Error **err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int r;

        r = db_prepare(db, &s, err, LEASE_QUERY "WHERE l.instance_id = ?", "t", instance_id);
        if (r >= 0)
                r = db_row(db, s, err);
        if (r <= 0)
                return r;
        lease_from_row(s, ret);
        return 1;
}

int inst_db_port_add(InstDb *db, const char *instance_id, const NetPortMap *m, Error **err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        char ip[INET_ADDRSTRLEN];
        int r;

        inet_ntop(AF_INET, &m->host_ip, ip, sizeof(ip));
        r = db_prepare(db, &s, err,
                       "INSERT INTO ports (instance_id, host_ip, host_port, proto, ctr_port) VALUES (?, ?, ?, ?, ?)",
                       "ttdtd", instance_id, ip, (int)m->host_port, m->proto == IPPROTO_UDP ? "udp" : "tcp",
                       (int)m->ctr_port);
        return r < 0 ? r : db_run(db, s, err);
}

int inst_db_port_list(InstDb *db, const char *instance_id, InstPort **ret, size_t *ret_n, Error **err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        InstPort *v = NULL;
        size_t n = 0;
        int r;

#define PORT_QUERY                                                                                       \
        "SELECT p.instance_id, p.host_ip, p.host_port, p.proto, p.ctr_port, l.network, l.host_offset "        \
        "FROM ports p LEFT JOIN leases l ON l.instance_id = p.instance_id "
        if (instance_id)
                r = db_prepare(db, &s, err, PORT_QUERY "WHERE p.instance_id = ? ORDER BY p.host_port, p.proto", "t",
                               instance_id);
        else
                r = db_prepare(db, &s, err, PORT_QUERY "ORDER BY p.host_port, p.proto", NULL);
        while (r >= 0 && (r = db_row(db, s, err)) > 0) {
                InstPort *p = xappend(v, n);
                const char *ip = (const char *)sqlite3_column_text(s, 1), *proto = (const char *)sqlite3_column_text(s, 3);
                p->instance_id = col_text(s, 0);
                p->map = (NetPortMap){ .host_port = (uint16_t)sqlite3_column_int(s, 2),
                                       .ctr_port = (uint16_t)sqlite3_column_int(s, 4),
                                       .proto = proto && strcmp(proto, "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP };
                if (!ip || inet_pton(AF_INET, ip, &p->map.host_ip) != 1)
                        p->map.host_ip.s_addr = INADDR_ANY;
                p->network = col_text(s, 5);
                p->host_offset = (uint32_t)sqlite3_column_int64(s, 6);
        }
        if (r < 0) {
                inst_ports_free(v, n);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

void inst_ports_free(InstPort *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(v[i].instance_id);
                free(v[i].network);
        }
        free(v);
}

void inst_networks_free(InstNetwork **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                inst_network_record_free(v[i]);
        free(v);
}
