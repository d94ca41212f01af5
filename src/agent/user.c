/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* user.c: EXEC's user= resolved in the guest's /etc/passwd and /etc/group, without NSS (a static program) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"

/* Splits a colon-separated line into at most n fields in place; returns how many. */
static int split(char *line, char **fields, int n)
{
        int i = 0;

        line[strcspn(line, "\r\n")] = 0;
        while (i < n) {
                fields[i++] = line;
                line = strchr(line, ':');
                if (!line)
                        break;
                *line++ = 0;
        }
        return i;
}

/* A decimal id, or -1 when s is not one. */
static long parse_id(const char *s)
{
        char *end;
        long v;

        if (!s[0] || s[0] < '0' || s[0] > '9')
                return -1;
        errno = 0;
        v = strtol(s, &end, 10);
        if (*end || errno || v < 0 || v > 0x7fffffffL)
                return -1;
        return v;
}

/* Finds the passwd entry whose name (or, for a numeric spec, uid) matches. 1 found, 0 not, -errno. */
static int find_passwd(const char *spec, long uid, AgentUser *u, char *name, size_t name_cap)
{
        char line[1024];
        char *f[7];
        FILE *fp = fopen("/etc/passwd", "re");

        if (!fp)
                return errno == ENOENT ? 0 : agent_fail(errno, "open '/etc/passwd'");
        while (fgets(line, sizeof(line), fp)) {
                if (split(line, f, 7) < 7)
                        continue;
                if (uid >= 0 ? parse_id(f[2]) != uid : strcmp(f[0], spec) != 0)
                        continue;
                u->uid = (uid_t)parse_id(f[2]);
                u->gid = (gid_t)(parse_id(f[3]) < 0 ? 0 : parse_id(f[3]));
                snprintf(u->home, sizeof(u->home), "%s", f[5][0] ? f[5] : "/");
                snprintf(name, name_cap, "%s", f[0]);
                fclose(fp);
                return 1;
        }
        fclose(fp);
        return 0;
}

/* The gid of a group name or number; -errno when a name is not in /etc/group. */
static int find_group(const char *spec, gid_t *ret)
{
        char line[4096];
        char *f[4];
        long id = parse_id(spec);
        FILE *fp;

        if (id >= 0) {
                *ret = (gid_t)id;
                return 0;
        }
        fp = fopen("/etc/group", "re");
        if (!fp)
                return agent_fail(errno == ENOENT ? EINVAL : errno, "group '%s': no /etc/group", spec);
        while (fgets(line, sizeof(line), fp)) {
                if (split(line, f, 4) >= 3 && strcmp(f[0], spec) == 0 && parse_id(f[2]) >= 0) {
                        *ret = (gid_t)parse_id(f[2]);
                        fclose(fp);
                        return 0;
                }
        }
        fclose(fp);
        return agent_fail(EINVAL, "group '%s' is not in /etc/group", spec);
}

/* Adds the groups that list name as a member. */
static void add_supplementary(const char *name, AgentUser *u)
{
        char line[4096];
        char *f[4], *m, *save = NULL;
        FILE *fp = fopen("/etc/group", "re");

        if (!fp)
                return;
        while (fgets(line, sizeof(line), fp) && u->n_groups < (int)(sizeof(u->groups) / sizeof(u->groups[0]))) {
                if (split(line, f, 4) < 4 || parse_id(f[2]) < 0)
                        continue;
                for (m = strtok_r(f[3], ",", &save); m; m = strtok_r(NULL, ",", &save))
                        if (strcmp(m, name) == 0) {
                                u->groups[u->n_groups++] = (gid_t)parse_id(f[2]);
                                break;
                        }
        }
        fclose(fp);
}

int user_resolve(const char *spec, AgentUser *ret)
{
        char user[256], name[256] = "";
        char *colon;
        long uid;
        int r;

        memset(ret, 0, sizeof(*ret));
        snprintf(ret->home, sizeof(ret->home), "/root");
        if (!spec || !spec[0])
                spec = "0";
        snprintf(user, sizeof(user), "%s", spec);
        colon = strchr(user, ':');
        if (colon)
                *colon++ = 0;
        uid = parse_id(user);
        r = find_passwd(user, uid, ret, name, sizeof(name));
        if (r < 0)
                return r;
        if (r == 0) {
                if (uid < 0)
                        return agent_fail(EINVAL, "user '%s' is not in /etc/passwd", user);
                /* A uid the image does not list runs with gid 0 and / as home, as docker does. */
                ret->uid = (uid_t)uid;
                ret->gid = 0;
                snprintf(ret->home, sizeof(ret->home), "/");
        }
        if (colon) {
                r = find_group(colon, &ret->gid);
                if (r < 0)
                        return r;
        }
        ret->groups[ret->n_groups++] = ret->gid;
        if (name[0])
                add_supplementary(name, ret);
        return 0;
}
