/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nft.c: the "ip hull" nftables table rendered from the wanted networks and ports, applied in one go */
#include <arpa/inet.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/log.h"
#include "nft.h"

/*
 * The first line of a script render refused to write: net_nft_apply() reports the rest of the line
 * instead of running it. A '#' line is a comment to nft, so even run by hand such a script changes
 * nothing.
 */
#define INVALID_PREFIX "# hull: invalid rules: "

/*
 * A bridge name as it may appear between double quotes in the script: nft has no escape for '"',
 * reads a trailing '*' as a wildcard ("br*" would match every br link), and a name longer than
 * IFNAMSIZ - 1 could never match, so the rules for it would silently do nothing. hull's own names
 * and the usual ones (docker0, virbr0, br-1a2b) are letters, digits, '-', '_' and '.'.
 */
static bool bridge_name_is_valid(const char *name)
{
        size_t n = name ? strlen(name) : 0;

        return n > 0 && n < 16 &&
               strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == n;
}

static const char *proto_name(uint8_t proto)
{
        return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : NULL;
}

/* A bridge name for the one-line message of an invalid script: printable, '?' for anything else. */
static char *printable(const char *s)
{
        char *p;

        if (!s)
                return xstrdup("(null)");
        p = xstrndup(s, 64);
        for (char *c = p; *c; c++)
                if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
                        *c = '?';
        return p;
}

/* NULL when rules can be written as a script, else what is wrong (malloc'd). */
static char *rules_problem(const NetNftRules *r)
{
        _cleanup_free_ char *name = NULL;

        for (size_t i = 0; i < r->n_networks; i++) {
                const NetNftNetwork *n = &r->networks[i];

                if (!bridge_name_is_valid(n->bridge)) {
                        name = printable(n->bridge);
                        return xasprintf("bridge name '%s' cannot be used in nftables rules", name);
                }
                if (n->subnet.len > 32)
                        return xasprintf("bridge '%s': prefix length %u out of range 0-32", n->bridge,
                                         (unsigned)n->subnet.len);
        }
        for (size_t i = 0; i < r->n_ports; i++) {
                const NetNftPort *p = &r->ports[i];

                if (!proto_name(p->map.proto) || p->map.host_port == 0 || p->map.ctr_port == 0)
                        return xasprintf("published port %zu: needs tcp or udp and ports 1-65535", i);
                if (p->bridge && !bridge_name_is_valid(p->bridge)) {
                        name = printable(p->bridge);
                        return xasprintf("bridge name '%s' cannot be used in nftables rules", name);
                }
        }
        return NULL;
}

static int cmp_network(const void *a, const void *b)
{
        const NetNftNetwork *x = *(const NetNftNetwork *const *)a, *y = *(const NetNftNetwork *const *)b;
        int c = strcmp(x->bridge, y->bridge);

        if (c != 0)
                return c;
        if (x->subnet.addr.s_addr != y->subnet.addr.s_addr)
                return ntohl(x->subnet.addr.s_addr) < ntohl(y->subnet.addr.s_addr) ? -1 : 1;
        return (int)x->subnet.len - (int)y->subnet.len;
}

static int cmp_u32(uint32_t a, uint32_t b)
{
        return a < b ? -1 : a > b;
}

static int cmp_port(const void *a, const void *b)
{
        const NetNftPort *x = *(const NetNftPort *const *)a, *y = *(const NetNftPort *const *)b;
        int c;

        if ((c = cmp_u32(x->map.proto, y->map.proto)) != 0 ||
            (c = cmp_u32(x->map.host_port, y->map.host_port)) != 0 ||
            (c = cmp_u32(ntohl(x->map.host_ip.s_addr), ntohl(y->map.host_ip.s_addr))) != 0 ||
            (c = cmp_u32(ntohl(x->ctr_ip.s_addr), ntohl(y->ctr_ip.s_addr))) != 0)
                return c;
        return cmp_u32(x->map.ctr_port, y->map.ctr_port);
}

/* The subnet as nft reads it, host bits cleared (nft would refuse "10.0.0.1/24"). */
static const char *subnet_text(const NetPrefix *p, char buf[static NET_PREFIX_STRLEN])
{
        NetPrefix canonical = *p;

        if (p->len < 32)
                canonical.addr.s_addr =
                    p->len == 0 ? 0 : htonl(ntohl(p->addr.s_addr) & (UINT32_MAX << (32 - p->len)));
        return net_prefix_format(&canonical, buf);
}

static void render_ports(FILE *f, const NetNftPort *const *ports, size_t n)
{
        char host[INET_ADDRSTRLEN], ctr[INET_ADDRSTRLEN];

        fputs("\tchain ports {\n", f);
        for (size_t i = 0; i < n; i++) {
                const NetNftPort *p = ports[i];

                inet_ntop(AF_INET, &p->ctr_ip, ctr, sizeof(ctr));
                fputs("\t\t", f);
                /* 0.0.0.0 is every local address: the jump to this chain already asks for a local one. */
                if (p->map.host_ip.s_addr != htonl(INADDR_ANY))
                        fprintf(f, "ip daddr %s ", inet_ntop(AF_INET, &p->map.host_ip, host, sizeof(host)));
                fprintf(f, "%s dport %u dnat to %s:%u\n", proto_name(p->map.proto),
                        (unsigned)p->map.host_port, ctr, (unsigned)p->map.ctr_port);
        }
        fputs("\t}\n", f);
}

static void render_postrouting(FILE *f, const NetNftNetwork *const *nets, size_t n)
{
        char subnet[NET_PREFIX_STRLEN];

        fputs("\tchain postrouting {\n"
              "\t\ttype nat hook postrouting priority srcnat; policy accept;\n",
              f);
        /* Out to anywhere but its own bridge: the world answers the host, not a private address. */
        for (size_t i = 0; i < n; i++)
                fprintf(f, "\t\tip saddr %s oifname != \"%s\" masquerade\n",
                        subnet_text(&nets[i]->subnet, subnet), nets[i]->bridge);
        /* A published port reached from the host by 127.0.0.1: the instance cannot answer a loopback
         * address, so the connection comes from the bridge's address instead. */
        fputs("\t\tct status dnat ip saddr 127.0.0.0/8 masquerade\n", f);
        /* Hairpin: an instance reaching a published port of its own bridge would get the answer
         * straight from the peer, which never saw the DNAT; the host must be in the middle. */
        for (size_t i = 0; i < n; i++)
                fprintf(f, "\t\tct status dnat ip saddr %s oifname \"%s\" masquerade\n",
                        subnet_text(&nets[i]->subnet, subnet), nets[i]->bridge);
        fputs("\t}\n", f);
}

static void render_forward(FILE *f, const NetNftNetwork *const *nets, size_t n)
{
        fputs("\tchain forward {\n"
              "\t\ttype filter hook forward priority filter; policy accept;\n"
              /* Published ports are open to every network, as to the rest of the world. */
              "\t\tct status dnat accept\n",
              f);
        /* Networks are isolated: nothing is routed from one hull bridge to another. nets is sorted by
         * bridge, so a bridge with two subnets is skipped the second time. */
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ const char **others = NULL;
                size_t n_others = 0;

                if (i > 0 && strcmp(nets[i]->bridge, nets[i - 1]->bridge) == 0)
                        continue;
                others = xnew(const char *, n);
                for (size_t j = 0; j < n; j++)
                        if (strcmp(nets[j]->bridge, nets[i]->bridge) != 0 &&
                            (j == 0 || strcmp(nets[j]->bridge, nets[j - 1]->bridge) != 0))
                                others[n_others++] = nets[j]->bridge;
                if (n_others == 0)
                        continue;
                /* One name plainly, several as a set: as nft lists them back. */
                fprintf(f, "\t\tiifname \"%s\" oifname %s", nets[i]->bridge, n_others > 1 ? "{ " : "");
                for (size_t j = 0; j < n_others; j++)
                        fprintf(f, "%s\"%s\"", j > 0 ? ", " : "", others[j]);
                fputs(n_others > 1 ? " } drop\n" : " drop\n", f);
        }
        fputs("\t}\n", f);
}

char *net_nft_render(const NetNftRules *rules)
{
        _cleanup_free_ const NetNftNetwork **nets = NULL;
        _cleanup_free_ const NetNftPort **ports = NULL;
        _cleanup_free_ char *problem = NULL;
        char *text = NULL;
        size_t size = 0;
        FILE *f;

        problem = rules_problem(rules);
        if (problem)
                return xasprintf(INVALID_PREFIX "%s\n", problem);

        /* "table {}" first, so that the delete finds a table whether or not one was there. */
        f = open_memstream(&text, &size);
        if (!f)
                abort(); /* out of memory, as xmalloc() would */
        fputs("table ip hull {}\ndelete table ip hull\n", f);
        if (rules->n_networks == 0 && rules->n_ports == 0)
                goto done;

        /* Sorted copies: the same rules in any order give the same text. */
        nets = xnew(const NetNftNetwork *, rules->n_networks + 1);
        for (size_t i = 0; i < rules->n_networks; i++)
                nets[i] = &rules->networks[i];
        qsort(nets, rules->n_networks, sizeof(*nets), cmp_network);
        ports = xnew(const NetNftPort *, rules->n_ports + 1);
        for (size_t i = 0; i < rules->n_ports; i++)
                ports[i] = &rules->ports[i];
        qsort(ports, rules->n_ports, sizeof(*ports), cmp_port);

        /*
         * DNAT to a published port for what arrives for a local address (prerouting) or is sent to one
         * from the host itself (output). nft names priority -100 "dstnat" only for prerouting.
         */
        fputs("table ip hull {\n"
              "\tchain prerouting {\n"
              "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
              "\t\tfib daddr type local jump ports\n"
              "\t}\n"
              "\tchain output {\n"
              "\t\ttype nat hook output priority -100; policy accept;\n"
              "\t\tfib daddr type local jump ports\n"
              "\t}\n",
              f);
        render_ports(f, ports, rules->n_ports);
        render_postrouting(f, nets, rules->n_networks);
        render_forward(f, nets, rules->n_networks);
        fputs("}\n", f);
done:
        if (fclose(f) != 0)
                abort();
        return text;
}

static void nft_ctx_freep(struct nft_ctx **ctx)
{
        if (*ctx)
                nft_ctx_free(*ctx);
}

/* The errno whose text ends nftables' message ("...: Operation not permitted"), else EINVAL. */
static int message_errno(const char *msg)
{
        size_t n = strlen(msg);

        for (int e = 1; e < 134; e++) {
                const char *text = strerrordesc_np(e);
                size_t t = text ? strlen(text) : 0;

                if (t > 0 && t + 2 <= n && strcmp(msg + n - t, text) == 0 && msg[n - t - 2] == ':')
                        return e;
        }
        return EINVAL;
}

int net_nft_apply(const char *script, Error **err)
{
        _cleanup_(nft_ctx_freep) struct nft_ctx *ctx = NULL;
        _cleanup_free_ char *msg = NULL;
        const char *out, *end;

        if (!script)
                return error_setf(err, EINVAL, "apply nftables rules: no script");
        if (strncmp(script, INVALID_PREFIX, strlen(INVALID_PREFIX)) == 0) {
                out = script + strlen(INVALID_PREFIX);
                return error_setf(err, EINVAL, "apply nftables rules: %.*s", (int)strcspn(out, "\n"), out);
        }
        ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx)
                return error_setf(err, ENOMEM, "apply nftables rules: cannot make a libnftables context");
        /* Buffered, so nothing is printed: output is dropped, errors come back in the Error. */
        if (nft_ctx_buffer_output(ctx) != 0 || nft_ctx_buffer_error(ctx) != 0)
                return error_setf(err, ENOMEM, "apply nftables rules: cannot buffer libnftables output");
        /* One buffer is one batch: the kernel commits all of it or none. */
        if (nft_run_cmd_from_buffer(ctx, script) == 0) {
                log_debug("applied nftables table ip hull (%zu bytes)", strlen(script));
                return 0;
        }

        /* The first line says what; the next ones quote the script and point at the spot. */
        out = nft_ctx_get_error_buffer(ctx);
        out = out ? out : "";
        out += strspn(out, " \t\n");
        if (strncmp(out, "Error: ", 7) == 0)
                out += 7;
        end = out + strcspn(out, "\n");
        while (end > out && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
                end--;
        msg = end > out ? xstrndup(out, (size_t)(end - out)) : xstrdup("failed without a message");
        return error_setf(err, message_errno(msg), "apply nftables rules: %s", msg);
}
