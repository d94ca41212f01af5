/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-runtime-spec.c: config.json parsing, the errors that name each field, mount options, name tables */
#include <fcntl.h>
#include <ftw.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "common/json.h"
#include "common/strv.h"
#include "runtime/sealed.h"
#include "runtime/spec.h"

/* Test documents are written with ' for " to keep them readable. */
static char *unquote(const char *text)
{
        char *s = xstrdup(text);
        for (char *c = s; *c; c++)
                if (*c == '\'')
                        *c = '"';
        return s;
}

/* Fills the stack below the caller with garbage, so that a read of an uninitialised variable in what
 * is called next finds junk instead of a lucky zero, every time. */
__attribute__((noinline)) static void dirty_stack(void)
{
        volatile unsigned char junk[64 * 1024];
        for (size_t i = 0; i < sizeof(junk); i++)
                junk[i] = 0xa5;
}

static int parse_text(const char *text, RtSpec **ret, Error **err)
{
        _cleanup_free_ char *s = unquote(text);
        dirty_stack();
        return rt_spec_parse(s, strlen(s), ret, err);
}

static RtSpec *parse_ok(const char *text)
{
        _cleanup_error_ Error *e = NULL;
        RtSpec *s = NULL;
        int r = parse_text(text, &s, &e);

        if (r < 0)
                fail_msg("parse failed: %s\n  in: %s", error_message(e, r), text);
        assert_non_null(s);
        return s;
}

static RtSpec *parse_default(bool is_rootless)
{
        _cleanup_json_ json_t *j = rt_spec_default(is_rootless);
        _cleanup_free_ char *text = NULL;
        _cleanup_error_ Error *e = NULL;
        RtSpec *s = NULL;
        int r;

        assert_non_null(j);
        text = json_dumps(j, JSON_INDENT(2));
        assert_non_null(text);
        r = rt_spec_parse(text, strlen(text), &s, &e);
        if (r < 0)
                fail_msg("the default spec does not parse: %s", error_message(e, r));
        return s;
}

static const RtMount *find_mount(const RtSpec *s, const char *dst)
{
        for (size_t i = 0; i < s->n_mounts; i++)
                if (strcmp(s->mounts[i].destination, dst) == 0)
                        return &s->mounts[i];
        fail_msg("no mount at '%s'", dst);
        return NULL;
}

/* -------- the default spec -------- */

static void test_default_spec(void **state)
{
        _cleanup_(rt_spec_freep) RtSpec *s = parse_default(false);
        const uint64_t caps = (1ULL << CAP_AUDIT_WRITE) | (1ULL << CAP_KILL) | (1ULL << CAP_NET_BIND_SERVICE);
        const RtProcess *p = s->process;
        const RtMount *m;

        assert_string_equal(s->oci_version, "1.1.0");
        assert_string_equal(s->root_path, "rootfs");
        assert_true(s->root_readonly);
        assert_string_equal(s->hostname, "hull");
        assert_null(s->domainname);

        assert_non_null(p);
        assert_true(p->terminal);
        assert_int_equal(p->uid, 0);
        assert_int_equal(p->gid, 0);
        assert_int_equal(p->n_additional_gids, 0);
        assert_int_equal(strv_length(p->args), 1);
        assert_string_equal(p->args[0], "sh");
        assert_int_equal(strv_length(p->env), 2);
        assert_string_equal(strv_env_get(p->env, "TERM"), "xterm");
        assert_non_null(strv_env_get(p->env, "PATH"));
        assert_string_equal(p->cwd, "/");
        assert_true(p->no_new_privileges);
        assert_false(p->has_umask);
        assert_false(p->has_oom_score_adj);
        assert_true(p->has_caps);
        assert_true(p->caps[RT_CAP_BOUNDING] == caps);
        assert_true(p->caps[RT_CAP_EFFECTIVE] == caps);
        assert_true(p->caps[RT_CAP_PERMITTED] == caps);
        assert_true(p->caps[RT_CAP_INHERITABLE] == 0);
        assert_true(p->caps[RT_CAP_AMBIENT] == 0);
        assert_int_equal(p->n_rlimits, 1);
        assert_int_equal(p->rlimits[0].resource, RLIMIT_NOFILE);
        assert_int_equal(p->rlimits[0].soft, 1024);
        assert_int_equal(p->rlimits[0].hard, 1024);
        assert_null(p->apparmor_profile);
        assert_null(p->selinux_label);

        assert_int_equal(s->n_mounts, 7);
        assert_string_equal(s->mounts[0].destination, "/proc");
        assert_string_equal(s->mounts[0].type, "proc");
        assert_string_equal(s->mounts[0].source, "proc");
        assert_int_equal(s->mounts[0].flags, 0);
        assert_null(s->mounts[0].data);
        m = find_mount(s, "/dev");
        assert_string_equal(m->type, "tmpfs");
        assert_int_equal(m->flags, MS_NOSUID | MS_STRICTATIME);
        assert_string_equal(m->data, "mode=755,size=65536k");
        m = find_mount(s, "/dev/pts");
        assert_int_equal(m->flags, MS_NOSUID | MS_NOEXEC);
        assert_string_equal(m->data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
        m = find_mount(s, "/dev/shm");
        assert_int_equal(m->flags, MS_NOSUID | MS_NOEXEC | MS_NODEV);
        assert_string_equal(m->data, "mode=1777");
        m = find_mount(s, "/dev/mqueue");
        assert_string_equal(m->type, "mqueue");
        assert_null(m->data);
        m = find_mount(s, "/sys");
        assert_string_equal(m->type, "sysfs");
        assert_int_equal(m->flags, MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY);
        m = find_mount(s, "/sys/fs/cgroup");
        assert_string_equal(m->type, "cgroup");
        assert_int_equal(m->flags, MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY);
        for (size_t i = 0; i < s->n_mounts; i++) {
                assert_int_equal(s->mounts[i].propagation, 0);
                assert_true(s->mounts[i].attr_set == 0 && s->mounts[i].attr_clr == 0);
        }

        for (int t = 0; t < _RT_NS_MAX; t++) {
                bool want = t != RT_NS_USER && t != RT_NS_TIME;
                if (s->ns[t].is_set != want)
                        fail_msg("namespace '%s': is_set %d", rt_ns_type_name(t), s->ns[t].is_set);
                assert_null(s->ns[t].path);
        }
        assert_int_equal(s->n_uid_mappings, 0);
        assert_int_equal(s->n_gid_mappings, 0);
        assert_int_equal(strv_length(s->masked_paths), 10);
        assert_true(strv_contains(s->masked_paths, "/proc/kcore"));
        assert_int_equal(strv_length(s->readonly_paths), 6);
        assert_true(strv_contains(s->readonly_paths, "/proc/sysrq-trigger"));
        assert_non_null(s->resources);
        assert_true(json_is_array(json_object_get(s->resources, "devices")));
        assert_null(s->seccomp);
        assert_null(s->cgroups_path);
        assert_null(s->sysctl);
        assert_int_equal(s->rootfs_propagation, 0);
        assert_false(s->has_time_offsets);
        assert_int_equal(s->n_devices, 0);
        for (int k = 0; k < _RT_HOOK_MAX; k++)
                assert_int_equal(s->n_hooks[k], 0);
        assert_true(json_is_object(s->json));
}

static void test_default_spec_rootless(void **state)
{
        _cleanup_(rt_spec_freep) RtSpec *s = parse_default(true);
        const RtMount *m;

        assert_true(s->ns[RT_NS_USER].is_set);
        assert_int_equal(s->n_uid_mappings, 1);
        assert_int_equal(s->uid_mappings[0].container_id, 0);
        assert_int_equal(s->uid_mappings[0].host_id, getuid());
        assert_int_equal(s->uid_mappings[0].size, 1);
        assert_int_equal(s->n_gid_mappings, 1);
        assert_int_equal(s->gid_mappings[0].host_id, getgid());
        assert_null(s->resources);
        assert_int_equal(s->n_mounts, 6);
        m = find_mount(s, "/sys");
        assert_string_equal(m->source, "/sys");
        assert_int_equal(m->flags, MS_BIND | MS_REC | MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY);
        m = find_mount(s, "/dev/pts");
        assert_string_equal(m->data, "newinstance,ptmxmode=0666");
}

/* -------- a document using most fields -------- */

static const char full_doc[] =
        "{'ociVersion': '1.0.2-dev', 'root': {'path': '/abs/rootfs'}, 'hostname': 'h', 'domainname': 'd',"
        " 'process': {'args': ['/bin/true', 'x'], 'cwd': '/work', 'env': ['A=1', 'B='],"
        "   'consoleSize': {'height': 24, 'width': 80}, 'terminal': false,"
        "   'user': {'uid': 1000, 'gid': 1001, 'umask': 18, 'additionalGids': [5, 4294967294]},"
        "   'capabilities': {'bounding': ['CAP_SYS_ADMIN', 'CAP_CHOWN'], 'ambient': ['CAP_CHOWN']},"
        "   'rlimits': [{'type': 'RLIMIT_CORE', 'soft': 0, 'hard': 0},"
        "               {'type': 'RLIMIT_NOFILE', 'soft': 10, 'hard': 9223372036854775807}],"
        "   'oomScoreAdj': -1000, 'apparmorProfile': 'prof', 'selinuxLabel': '', 'noNewPrivileges': false},"
        " 'mounts': [{'destination': '/data', 'source': '/srv/data', 'options': ['rbind', 'ro', 'rslave']},"
        "            {'destination': '/tmp', 'type': 'tmpfs', 'options': ['size=1m', 'rro']},"
        "            {'destination': '/x', 'source': 'none'}],"
        " 'hooks': {'prestart': [{'path': '/bin/a'}, {'path': '/bin/b', 'args': ['b', '1'], 'env': ['E=1'],"
        "                         'timeout': 5}],"
        "           'poststop': [{'path': '/bin/c'}]},"
        " 'linux': {'namespaces': [{'type': 'user'}, {'type': 'uts'}, {'type': 'time'},"
        "                          {'type': 'network', 'path': '/var/run/netns/n'}, {'type': 'mount'}],"
        "   'uidMappings': [{'containerID': 0, 'hostID': 100000, 'size': 65536}],"
        "   'gidMappings': [{'containerID': 0, 'hostID': 200000, 'size': 1},"
        "                   {'containerID': 1, 'hostID': 4294967295, 'size': 4294967295}],"
        "   'devices': [{'path': '/dev/fuse', 'type': 'c', 'major': 10, 'minor': 229, 'fileMode': 438,"
        "                'uid': 0, 'gid': 0},"
        "               {'path': '/dev/myfifo', 'type': 'p'}],"
        "   'sysctl': {'net.ipv4.ip_forward': '1'},"
        "   'cgroupsPath': '/my/cg', 'mountLabel': 'lbl', 'rootfsPropagation': 'rslave',"
        "   'timeOffsets': {'monotonic': {'secs': -5, 'nanosecs': 999999999}, 'boottime': {'secs': 7}},"
        "   'seccomp': {'defaultAction': 'SCMP_ACT_ALLOW'}, 'resources': {}}}";

static void test_full_document(void **state)
{
        _cleanup_(rt_spec_freep) RtSpec *s = parse_ok(full_doc);
        const RtProcess *p = s->process;
        const RtMount *m;

        assert_string_equal(s->oci_version, "1.0.2-dev");
        assert_string_equal(s->root_path, "/abs/rootfs");
        assert_false(s->root_readonly);
        assert_string_equal(s->hostname, "h");
        assert_string_equal(s->domainname, "d");

        assert_string_equal(p->cwd, "/work");
        assert_int_equal(strv_length(p->args), 2);
        assert_string_equal(p->env[1], "B=");
        assert_int_equal(p->console_height, 24);
        assert_int_equal(p->console_width, 80);
        assert_int_equal(p->uid, 1000);
        assert_int_equal(p->gid, 1001);
        assert_true(p->has_umask);
        assert_int_equal(p->umask, 022);
        assert_int_equal(p->n_additional_gids, 2);
        assert_int_equal(p->additional_gids[0], 5);
        assert_int_equal(p->additional_gids[1], 4294967294u);
        assert_true(p->caps[RT_CAP_BOUNDING] == ((1ULL << CAP_SYS_ADMIN) | (1ULL << CAP_CHOWN)));
        assert_true(p->caps[RT_CAP_AMBIENT] == (1ULL << CAP_CHOWN));
        assert_true(p->caps[RT_CAP_EFFECTIVE] == 0);
        assert_int_equal(p->n_rlimits, 2);
        assert_int_equal(p->rlimits[0].resource, RLIMIT_CORE);
        assert_int_equal(p->rlimits[1].resource, RLIMIT_NOFILE);
        assert_int_equal(p->rlimits[1].soft, 10);
        assert_true(p->rlimits[1].hard == INT64_MAX);
        assert_true(p->has_oom_score_adj);
        assert_int_equal(p->oom_score_adj, -1000);
        assert_string_equal(p->apparmor_profile, "prof");
        assert_null(p->selinux_label);
        assert_false(p->no_new_privileges);

        assert_int_equal(s->n_mounts, 3);
        m = &s->mounts[0];
        assert_null(m->type);
        assert_string_equal(m->source, "/srv/data");
        assert_int_equal(m->flags, MS_BIND | MS_REC | MS_RDONLY);
        assert_int_equal(m->propagation, MS_SLAVE | MS_REC);
        m = &s->mounts[1];
        assert_string_equal(m->type, "tmpfs");
        assert_null(m->source);
        assert_string_equal(m->data, "size=1m");
        assert_true(m->attr_set == MOUNT_ATTR_RDONLY);
        assert_true(m->is_recursive_attr);
        /* No type and no bind: "none", as mount(8) would say. */
        assert_string_equal(s->mounts[2].type, "none");

        assert_int_equal(s->n_hooks[RT_HOOK_PRESTART], 2);
        assert_int_equal(s->n_hooks[RT_HOOK_POSTSTOP], 1);
        assert_int_equal(s->n_hooks[RT_HOOK_POSTSTART], 0);
        assert_string_equal(s->hooks[RT_HOOK_PRESTART][0].path, "/bin/a");
        assert_int_equal(s->hooks[RT_HOOK_PRESTART][0].timeout, 0);
        assert_null(s->hooks[RT_HOOK_PRESTART][0].args);
        assert_null(s->hooks[RT_HOOK_PRESTART][0].env);
        assert_int_equal(s->hooks[RT_HOOK_PRESTART][1].timeout, 5);
        assert_string_equal(s->hooks[RT_HOOK_PRESTART][1].args[1], "1");
        assert_string_equal(s->hooks[RT_HOOK_PRESTART][1].env[0], "E=1");
        assert_string_equal(s->hooks[RT_HOOK_POSTSTOP][0].path, "/bin/c");

        assert_true(s->ns[RT_NS_USER].is_set && !s->ns[RT_NS_USER].path);
        assert_true(s->ns[RT_NS_NET].is_set);
        assert_string_equal(s->ns[RT_NS_NET].path, "/var/run/netns/n");
        assert_false(s->ns[RT_NS_PID].is_set);
        assert_int_equal(s->n_uid_mappings, 1);
        assert_int_equal(s->uid_mappings[0].host_id, 100000);
        assert_int_equal(s->uid_mappings[0].size, 65536);
        assert_int_equal(s->n_gid_mappings, 2);
        assert_int_equal(s->gid_mappings[1].host_id, 4294967295u);
        assert_int_equal(s->gid_mappings[1].size, 4294967295u);

        assert_int_equal(s->n_devices, 2);
        assert_string_equal(s->devices[0].path, "/dev/fuse");
        assert_int_equal(s->devices[0].type, 'c');
        assert_int_equal(s->devices[0].major, 10);
        assert_int_equal(s->devices[0].minor, 229);
        assert_true(s->devices[0].has_file_mode);
        assert_int_equal(s->devices[0].file_mode, 0666);
        assert_true(s->devices[0].has_uid && s->devices[0].has_gid);
        assert_int_equal(s->devices[1].type, 'p');
        assert_false(s->devices[1].has_file_mode);
        assert_false(s->devices[1].has_uid);

        assert_int_equal(strv_length(s->sysctl), 2);
        assert_string_equal(s->sysctl[0], "net.ipv4.ip_forward");
        assert_string_equal(s->sysctl[1], "1");
        assert_string_equal(s->cgroups_path, "/my/cg");
        assert_string_equal(s->mount_label, "lbl");
        assert_int_equal(s->rootfs_propagation, MS_SLAVE | MS_REC);
        assert_true(s->has_time_offsets);
        assert_int_equal(s->time_offset_secs[0], -5);
        assert_int_equal(s->time_offset_nsecs[0], 999999999);
        assert_int_equal(s->time_offset_secs[1], 7);
        assert_int_equal(s->time_offset_nsecs[1], 0);
        assert_non_null(s->seccomp);
        assert_string_equal(json_string_value(json_object_get(s->seccomp, "defaultAction")), "SCMP_ACT_ALLOW");
        assert_non_null(s->resources);
}

/* When exec runs from a sealed copy of the binary: only where a container could reach the
 * binary through /proc and is not the host's root already. */
static void test_sealed_needed(void **state)
{
        static const struct {
                const char *caps, *lx;
                bool is_needed;
        } cases[] = {
                { "['CAP_CHOWN']", "{}", false },
                { "['CAP_SYS_PTRACE']", "{}", true },
                { "['CAP_SYS_PTRACE']",
                  "{'namespaces': [{'type': 'user'}], 'uidMappings': [{'containerID': 0, 'hostID': 100000, 'size': 65536}],"
                  " 'gidMappings': [{'containerID': 0, 'hostID': 100000, 'size': 65536}]}",
                  false },
                { "['CAP_SYS_PTRACE', 'CAP_SYS_ADMIN']", "{'seccomp': {'defaultAction': 'SCMP_ACT_ALLOW'}}", true },
                { "['CAP_SYS_PTRACE', 'CAP_SYS_ADMIN']", "{}", false },
                { NULL, "{}", true },
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _cleanup_free_ char *doc = NULL;
                _cleanup_(rt_spec_freep) RtSpec *s = NULL;
                if (cases[i].caps)
                        doc = xasprintf("{'ociVersion': '1.0.0', 'root': {'path': 'r'}, 'linux': %s, 'process': {'args': "
                                        "['sh'], 'capabilities': {'bounding': %s}}}",
                                        cases[i].lx, cases[i].caps);
                else
                        doc = xasprintf("{'ociVersion': '1.0.0', 'root': {'path': 'r'}, 'linux': %s, "
                                        "'process': {'args': ['sh']}}",
                                        cases[i].lx);
                s = parse_ok(doc);
                assert_int_equal(rt_sealed_needed(s, s->process), cases[i].is_needed);
        }
}

static void test_minimal_document(void **state)
{
        _cleanup_(rt_spec_freep) RtSpec *s = parse_ok("{'ociVersion': '1.0.0', 'root': {'path': 'r'}}");

        /* process is optional until start; no linux section means no namespaces. */
        assert_null(s->process);
        assert_int_equal(s->n_mounts, 0);
        for (int t = 0; t < _RT_NS_MAX; t++)
                assert_false(s->ns[t].is_set);
        assert_null(s->resources);
}

static void test_nulls_are_absent(void **state)
{
        _cleanup_(rt_spec_freep) RtSpec *s = NULL;

        /* null is "absent" everywhere (the getters' contract). */
        s = parse_ok("{'ociVersion': '1.0.0', 'root': {'path': 'r'}, 'hostname': null,"
                     " 'process': {'args': ['sh'], 'cwd': null, 'env': null, 'user': {'uid': null}}}");
        assert_null(s->hostname);
        assert_string_equal(s->process->cwd, "/");
        assert_null(s->process->env);
        assert_int_equal(s->process->uid, 0);
}

static void test_null_console_width(void **state)
{
        _cleanup_(rt_spec_freep) RtSpec *s = NULL;

        /* A null width must not take the height's value. */
        s = parse_ok("{'ociVersion': '1.0.0', 'root': {'path': 'r'},"
                     " 'process': {'args': ['sh'], 'consoleSize': {'height': 30, 'width': null}}}");
        assert_int_equal(s->process->console_height, 30);
        assert_int_equal(s->process->console_width, 0);
}

static void test_null_gid(void **state)
{
        _cleanup_(rt_spec_freep) RtSpec *s = NULL;

        /* A null gid must not take the uid's value. */
        s = parse_ok("{'ociVersion': '1.0.0', 'root': {'path': 'r'},"
                     " 'process': {'args': ['sh'], 'user': {'uid': 7, 'gid': null}}}");
        assert_int_equal(s->process->uid, 7);
        assert_int_equal(s->process->gid, 0);
}

static void test_namespace_empty_path(void **state)
{
        _cleanup_(rt_spec_freep) RtSpec *s = NULL;

        /* An empty path is "not given" (Go runtimes write it so): create the namespace. */
        s = parse_ok("{'ociVersion': '1.0.0', 'root': {'path': 'r'},"
                     " 'linux': {'namespaces': [{'type': 'pid', 'path': ''}, {'type': 'mount', 'path': null}]}}");
        assert_true(s->ns[RT_NS_PID].is_set);
        assert_null(s->ns[RT_NS_PID].path);
        assert_true(s->ns[RT_NS_MOUNT].is_set);
        assert_null(s->ns[RT_NS_MOUNT].path);
}

static void test_user_namespace_joined(void **state)
{
        _cleanup_(rt_spec_freep) RtSpec *s = NULL;

        /* Joining an existing user namespace needs no mappings. */
        s = parse_ok("{'ociVersion': '1.0.0', 'root': {'path': 'r'},"
                     " 'linux': {'namespaces': [{'type': 'user', 'path': '/proc/1/ns/user'}]}}");
        assert_true(s->ns[RT_NS_USER].is_set);
        assert_string_equal(s->ns[RT_NS_USER].path, "/proc/1/ns/user");
}

/* -------- every validation error names its field -------- */

typedef struct BadDoc {
        const char *doc;
        int code;
        const char *want; /* substring of the error message */
} BadDoc;

#define R "'ociVersion': '1.0.0', 'root': {'path': 'r'}"
#define P(x) "{" R ", 'process': {'args': ['sh'], " x "}}"
#define L(x) "{" R ", 'linux': {" x "}}"

static const BadDoc bad_docs[] = {
        { "{", EINVAL, "config.json" },
        { "[]", EINVAL, "config.json" },
        { "{'ociVersion': '1.0.0', 'ociVersion': '1.0.0', 'root': {'path': 'r'}}", EINVAL, "config.json" },
        { "{'ociVersion': '2.0.0', 'root': {'path': 'r'}}", EINVAL, "ociVersion" },
        { "{'root': {'path': 'r'}}", EINVAL, "ociVersion" },
        { "{'ociVersion': 1, 'root': {'path': 'r'}}", EINVAL, "ociVersion" },
        { "{'ociVersion': '1.0.0'}", EINVAL, "root.path" },
        { "{'ociVersion': '1.0.0', 'root': {'path': ''}}", EINVAL, "root.path" },
        { "{'ociVersion': '1.0.0', 'root': []}", EINVAL, "root" },
        { "{'ociVersion': '1.0.0', 'root': {'path': 'r', 'readonly': 'yes'}}", EINVAL, "root.readonly" },
        { "{" R ", 'hostname': 5}", EINVAL, "hostname" },
        { "{" R ", 'process': []}", EINVAL, "process" },
        { "{" R ", 'process': {'cwd': '/'}}", EINVAL, "process.args" },
        { "{" R ", 'process': {'args': []}}", EINVAL, "process.args" },
        { P("'args': ['sh', 1]"), EINVAL, "config.json" }, /* duplicate key: refused by the parser */
        { "{" R ", 'process': {'args': ['sh', 1]}}", EINVAL, "process.args[1]" },
        { P("'cwd': 'relative'"), EINVAL, "process.cwd" },
        { P("'env': ['A=1', 'NOEQUALS']"), EINVAL, "process.env[1]" },
        { P("'terminal': 'yes'"), EINVAL, "process.terminal" },
        { P("'noNewPrivileges': 1"), EINVAL, "process.noNewPrivileges" },
        { P("'consoleSize': {'height': -1}"), EINVAL, "process.consoleSize.height" },
        { P("'consoleSize': {'width': 65536}"), EINVAL, "process.consoleSize.width" },
        { P("'user': {'uid': '0'}"), EINVAL, "process.user.uid" },
        { P("'user': {'uid': -1}"), EINVAL, "process.user.uid" },
        { P("'user': {'gid': 4294967296}"), EINVAL, "process.user.gid" },
        { P("'user': {'umask': 512}"), EINVAL, "process.user.umask" },
        { P("'user': {'additionalGids': [1, 'x']}"), EINVAL, "process.user.additionalGids[1]" },
        { P("'user': 0"), EINVAL, "process.user" },
        { P("'rlimits': [{'type': 'RLIMIT_BOGUS', 'soft': 1, 'hard': 1}]"), EINVAL, "process.rlimits[0].type" },
        { P("'rlimits': [{'soft': 1, 'hard': 1}]"), EINVAL, "process.rlimits[0].type" },
        { P("'rlimits': [{'type': 'RLIMIT_NOFILE', 'soft': 1, 'hard': 1},"
            " {'type': 'RLIMIT_NOFILE', 'soft': 2, 'hard': 2}]"),
          EINVAL, "process.rlimits[1].type" },
        { P("'rlimits': [{'type': 'RLIMIT_CORE', 'soft': 2, 'hard': 1}]"), EINVAL, "process.rlimits[0]: soft" },
        { P("'rlimits': [{'type': 'RLIMIT_CORE', 'soft': -1, 'hard': 1}]"), EINVAL, "process.rlimits[0].soft" },
        { P("'rlimits': [{'type': 'RLIMIT_CORE', 'soft': 1, 'hard': '2'}]"), EINVAL, "process.rlimits[0].hard" },
        { P("'capabilities': {'bounding': ['CAP_BOGUS']}"), EINVAL, "process.capabilities.bounding[0]" },
        { P("'capabilities': {'effective': ['CAP_KILL', 'cap_chown']}"), EINVAL,
          "process.capabilities.effective[1]" },
        { P("'capabilities': {'ambient': [21]}"), EINVAL, "process.capabilities.ambient[0]" },
        { P("'capabilities': {'permitted': 'CAP_KILL'}"), EINVAL, "process.capabilities.permitted" },
        { P("'oomScoreAdj': 1001"), EINVAL, "process.oomScoreAdj" },
        { P("'apparmorProfile': 1"), EINVAL, "process.apparmorProfile" },
        { "{" R ", 'mounts': {}}", EINVAL, "mounts" },
        { "{" R ", 'mounts': ['x']}", EINVAL, "mounts[0]" },
        { "{" R ", 'mounts': [{'destination': 'proc', 'type': 'proc'}]}", EINVAL, "mounts[0].destination" },
        { "{" R ", 'mounts': [{'destination': '/a', 'type': 'tmpfs'}, {'type': 'tmpfs'}]}", EINVAL,
          "mounts[1].destination" },
        { "{" R ", 'mounts': [{'destination': '/a', 'options': ['bind']}]}", EINVAL, "mounts[0].source" },
        { "{" R ", 'mounts': [{'destination': '/a', 'options': ['rbind', 'ro']}]}", EINVAL, "mounts[0].source" },
        { "{" R ", 'mounts': [{'destination': '/a', 'type': 1}]}", EINVAL, "mounts[0].type" },
        { "{" R ", 'mounts': [{'destination': '/a', 'options': ['ro', 7]}]}", EINVAL, "mounts[0].options[1]" },
        { "{" R ", 'mounts': [{'destination': '/a', 'source': '/b', 'options': ['bind', 'idmap']}]}", EINVAL,
          "mounts[0].uidMappings: required" },
        { "{" R ", 'mounts': [{'destination': '/a', 'source': '/b', 'options': ['idmap'], 'uidMappings': "
          "[{'containerID': 0, 'hostID': 1, 'size': 1}], 'gidMappings': [{'containerID': 0, 'hostID': 1, 'size': 1}]}]}",
          EINVAL, "mounts[0]: an idmapped mount must be a bind mount" },
        { "{" R ", 'mounts': [{'destination': '/a', 'source': '/b', 'options': ['bind'], 'uidMappings': "
          "[{'containerID': 0, 'hostID': 1, 'size': 1}]}]}", EINVAL, "uidMappings and gidMappings go together" },
        { "{" R ", 'mounts': [{'destination': '/a', 'source': '/b', 'options': ['bind'], 'uidMappings': "
          "[{'containerID': 0, 'size': 1}], 'gidMappings': []}]}", EINVAL, "mounts[0].uidMappings[0]" },
        { "{" R ", 'hooks': []}", EINVAL, "hooks" },
        { "{" R ", 'hooks': {'prestart': {}}}", EINVAL, "hooks.prestart" },
        { "{" R ", 'hooks': {'prestart': [{'path': 'relative/hook'}]}}", EINVAL, "hooks.prestart[0].path" },
        { "{" R ", 'hooks': {'poststart': [{'args': ['x']}]}}", EINVAL, "hooks.poststart[0].path" },
        { "{" R ", 'hooks': {'poststop': [{'path': '/ok'}, {'path': '/h', 'timeout': 0}]}}", EINVAL,
          "hooks.poststop[1].timeout" },
        { "{" R ", 'hooks': {'createRuntime': [{'path': '/h', 'timeout': -3}]}}", EINVAL,
          "hooks.createRuntime[0].timeout" },
        { "{" R ", 'hooks': {'createContainer': [{'path': '/h', 'args': ['h', 2]}]}}", EINVAL,
          "hooks.createContainer[0].args[1]" },
        { "{" R ", 'hooks': {'startContainer': [{'path': '/h', 'env': 'A=1'}]}}", EINVAL,
          "hooks.startContainer[0].env" },
        { "{" R ", 'hooks': {'prestart': ['/bin/true']}}", EINVAL, "hooks.prestart[0]" },
        { "{" R ", 'linux': []}", EINVAL, "linux" },
        { L("'namespaces': [{'type': 'bogus'}]"), EINVAL, "linux.namespaces[0].type" },
        { L("'namespaces': [{'type': 'net'}]"), EINVAL, "linux.namespaces[0].type" },
        { L("'namespaces': [{'path': '/proc/1/ns/pid'}]"), EINVAL, "linux.namespaces[0].type" },
        { L("'namespaces': [{'type': 'pid'}, {'type': 'ipc'}, {'type': 'pid'}]"), EINVAL,
          "linux.namespaces[2].type" },
        { L("'namespaces': [{'type': 'pid', 'path': 'proc/1/ns/pid'}]"), EINVAL, "linux.namespaces[0].path" },
        { L("'namespaces': [{'type': 'user'}]"), EINVAL, "uidMappings" },
        { L("'namespaces': [{'type': 'user'}], 'uidMappings': [{'containerID': 0, 'hostID': 1, 'size': 1}]"),
          EINVAL, "gidMappings" },
        { L("'namespaces': [{'type': 'user'}], 'uidMappings': [{'containerID': 0, 'hostID': 1, 'size': 0}],"
            " 'gidMappings': [{'containerID': 0, 'hostID': 1, 'size': 1}]"),
          EINVAL, "linux.uidMappings[0].size" },
        { L("'namespaces': [{'type': 'user'}], 'uidMappings': [{'containerID': 0, 'hostID': 1, 'size': 1}],"
            " 'gidMappings': [{'containerID': 0, 'size': 1}]"),
          EINVAL, "linux.gidMappings[0]" },
        { L("'namespaces': [{'type': 'user'}], 'uidMappings': [{'containerID': 0, 'hostID': 4294967296, 'size': 1}],"
            " 'gidMappings': [{'containerID': 0, 'hostID': 1, 'size': 1}]"),
          EINVAL, "linux.uidMappings[0].hostID" },
        { "{" R ", 'hostname': 'h'}", EINVAL, "hostname" },
        { "{" R ", 'hostname': 'h', 'linux': {'namespaces': [{'type': 'pid'}]}}", EINVAL, "hostname" },
        { "{" R ", 'domainname': 'd'}", EINVAL, "domainname" },
        { L("'timeOffsets': {'monotonic': {'secs': 1}}"), EINVAL, "linux.timeOffsets" },
        { L("'namespaces': [{'type': 'time', 'path': '/proc/1/ns/time'}], 'timeOffsets': {}"), EINVAL,
          "linux.timeOffsets" },
        { L("'namespaces': [{'type': 'time'}], 'timeOffsets': {'boottime': {'secs': 1, 'nanosecs': 1000000000}}"),
          EINVAL, "linux.timeOffsets.boottime.nanosecs" },
        { L("'namespaces': [{'type': 'time'}], 'timeOffsets': {'monotonic': {'secs': 'x'}}"), EINVAL,
          "linux.timeOffsets.monotonic.secs" },
        { L("'devices': [{'path': '/dev/x', 'type': 'x', 'major': 1, 'minor': 1}]"), EINVAL,
          "linux.devices[0].type" },
        { L("'devices': [{'path': '/dev/x', 'type': 'cb', 'major': 1, 'minor': 1}]"), EINVAL,
          "linux.devices[0].type" },
        { L("'devices': [{'path': 'dev/x', 'type': 'c', 'major': 1, 'minor': 1}]"), EINVAL,
          "linux.devices[0].path" },
        { L("'devices': [{'path': '/dev/a', 'type': 'p'}, {'path': '/dev/x', 'type': 'b', 'minor': 1}]"), EINVAL,
          "linux.devices[1]" },
        { L("'devices': [{'path': '/dev/x', 'type': 'c', 'major': -1, 'minor': 1}]"), EINVAL,
          "linux.devices[0].major" },
        { L("'devices': [{'path': '/dev/x', 'type': 'c', 'major': 1, 'minor': 1, 'fileMode': 65535}]"), EINVAL,
          "linux.devices[0].fileMode" },
        { L("'devices': [{'path': '/dev/x', 'type': 'c', 'major': 1, 'minor': 1, 'uid': 'root'}]"), EINVAL,
          "linux.devices[0].uid" },
        { L("'sysctl': {'net.ipv4.ip_forward': 1}"), EINVAL, "linux.sysctl.net.ipv4.ip_forward" },
        { L("'sysctl': {'../../etc/x': '1'}"), EINVAL, "linux.sysctl" },
        { L("'rootfsPropagation': 'sideways'"), EINVAL, "linux.rootfsPropagation" },
        { L("'maskedPaths': ['/proc/kcore', 1]"), EINVAL, "linux.maskedPaths[1]" },
        { L("'readonlyPaths': '/proc/sys'"), EINVAL, "linux.readonlyPaths" },
        { L("'cgroupsPath': 1"), EINVAL, "linux.cgroupsPath" },
        { L("'resources': []"), EINVAL, "linux.resources" },
        { L("'seccomp': 'default'"), EINVAL, "linux.seccomp" },
        { L("'intelRdt': {'closID': 'x'}"), EOPNOTSUPP, "linux.intelRdt" },
};

/*
 * Parses one document in a child, so a crash is reported against its table entry instead of taking
 * the other entries with it. Returns the child's wait status; *ret_r, *ret_code (the Error's),
 * ret_msg and *ret_has_spec carry what rt_spec_parse() gave.
 */
static int parse_isolated(const char *text, int *ret_r, int *ret_code, char *ret_msg, size_t msg_size,
                          bool *ret_has_spec)
{
        int p[2], status;
        pid_t pid;
        char buf[2048];
        ssize_t n;
        size_t len = 0;

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS };
                struct rlimit no_core = { 0, 0 };
                _cleanup_(rt_spec_freep) RtSpec *s = NULL;
                _cleanup_error_ Error *e = NULL;
                int r;

                /* Die of a crash rather than longjmp into the cmocka runner copied into this child. */
                for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
                        signal(sigs[i], SIG_DFL);
                setrlimit(RLIMIT_CORE, &no_core);
                r = parse_text(text, &s, &e);
                dprintf(p[1], "%d %d %d %s", r, s != NULL, e ? e->code : 0, e ? e->msg : "(none)");
                _exit(0);
        }
        close(p[1]);
        while ((n = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0)
                len += (size_t)n;
        close(p[0]);
        buf[len] = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        *ret_r = *ret_code = 0;
        *ret_has_spec = false;
        snprintf(ret_msg, msg_size, "(none)");
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                int has = 0, off = 0;
                if (sscanf(buf, "%d %d %d %n", ret_r, &has, ret_code, &off) >= 3)
                        snprintf(ret_msg, msg_size, "%s", buf + off);
                *ret_has_spec = has;
        }
        return status;
}

static void test_bad_documents(void **state)
{
        size_t failures = 0;

        for (size_t i = 0; i < ARRAY_SIZE(bad_docs); i++) {
                char msg[1024];
                bool has_spec;
                int r, code, status;

                status = parse_isolated(bad_docs[i].doc, &r, &code, msg, sizeof(msg), &has_spec);
                if (WIFSIGNALED(status)) {
                        print_error("bad_docs[%zu]: crashed with signal %d\n  doc: %s\n", i, WTERMSIG(status),
                                    bad_docs[i].doc);
                        failures++;
                        continue;
                }
                if (r != -bad_docs[i].code || code != bad_docs[i].code || !strstr(msg, bad_docs[i].want) ||
                    has_spec) {
                        print_error("bad_docs[%zu]: r=%d, err code %d (want %d), msg '%s' (want '%s'), spec %s\n"
                                    "  doc: %s\n",
                                    i, r, code, -bad_docs[i].code, msg, bad_docs[i].want,
                                    has_spec ? "returned" : "NULL", bad_docs[i].doc);
                        failures++;
                }
        }
        if (failures)
                fail_msg("%zu of %zu bad documents were not refused as expected", failures, ARRAY_SIZE(bad_docs));
}

static void test_process_parse_where(void **state)
{
        _cleanup_json_ json_t *j = json_pack("{s:[s], s:{s:s}}", "args", "sh", "user", "uid", "x");
        _cleanup_json_ json_t *ok = json_pack("{s:[ss], s:s}", "args", "ls", "-l", "cwd", "/tmp");
        _cleanup_(rt_process_freep) RtProcess *p = NULL;
        _cleanup_error_ Error *e = NULL;

        /* exec --process names its own document in errors. */
        assert_int_equal(rt_process_parse(j, "exec", &p, &e), -EINVAL);
        assert_null(p);
        assert_non_null(strstr(e->msg, "exec.user.uid"));
        assert_int_equal(rt_process_parse(ok, "exec", &p, NULL), 0);
        assert_string_equal(p->args[1], "-l");
        assert_string_equal(p->cwd, "/tmp");
}

/* -------- loading from a bundle -------- */

static int bundle_setup(void **state)
{
        char *dir = xstrdup("/tmp/hull-test-spec-XXXXXX");
        if (!mkdtemp(dir)) {
                free(dir);
                return -1;
        }
        *state = dir;
        return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static int bundle_teardown(void **state)
{
        nftw(*state, remove_one, 8, FTW_DEPTH | FTW_PHYS);
        free(*state);
        return 0;
}

static void test_load(void **state)
{
        const char *dir = *state;
        _cleanup_free_ char *path = xasprintf("%s/config.json", dir);
        _cleanup_free_ char *text = unquote("{'ociVersion': '1.0.0', 'root': {'path': 'rootfs'}}");
        _cleanup_free_ char *raw = NULL;
        _cleanup_(rt_spec_freep) RtSpec *s = NULL;
        _cleanup_error_ Error *e = NULL;
        FILE *f;

        assert_int_equal(rt_spec_load(dir, &s, NULL, &e), -ENOENT);
        assert_non_null(strstr(e->msg, "config.json"));
        e = error_free(e);

        f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
        assert_int_equal(rt_spec_load(dir, &s, &raw, NULL), 0);
        assert_string_equal(s->root_path, "rootfs");
        assert_string_equal(raw, text);
        s = rt_spec_free(s);

        f = fopen(path, "we");
        fputs("{\"ociVersion\": \"0.9\", \"root\": {\"path\": \"r\"}}", f);
        fclose(f);
        assert_int_equal(rt_spec_load(dir, &s, NULL, &e), -EINVAL);
        /* The file is named in front of the field. */
        assert_non_null(strstr(e->msg, path));
        assert_non_null(strstr(e->msg, "ociVersion"));
}

/* -------- mount options -------- */

typedef struct Opts {
        RtMount m;
        Error *e;
        int r;
} Opts;

static void opts_done(Opts *o)
{
        o->m.options = strv_free(o->m.options);
        free(o->m.data);
        o->m.data = NULL;
        o->e = error_free(o->e);
}

/* Parses a NULL-terminated list of options into o (whose fields start as garbage, to show reset). */
static int parse_opts(Opts *o, ...)
{
        va_list ap;
        const char *s;

        memset(o, 0, sizeof(*o));
        o->m.flags = MS_SYNCHRONOUS | MS_NOATIME;
        o->m.propagation = MS_SHARED;
        o->m.attr_set = MOUNT_ATTR_NOEXEC;
        o->m.attr_clr = MOUNT_ATTR_NODEV;
        o->m.is_recursive_attr = true;
        o->m.data = xstrdup("stale=1");
        va_start(ap, o);
        while ((s = va_arg(ap, const char *)))
                strv_push(&o->m.options, s);
        va_end(ap);
        o->r = rt_mount_parse_options(&o->m, "mounts[3]", &o->e);
        return o->r;
}

static void test_mount_flags(void **state)
{
        _cleanup_(opts_done) Opts o = {};

        assert_int_equal(parse_opts(&o, "ro", "nosuid", "nodev", "noexec", NULL), 0);
        assert_int_equal(o.m.flags, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
        assert_int_equal(o.m.propagation, 0);
        assert_true(o.m.attr_set == 0 && o.m.attr_clr == 0);
        assert_false(o.m.is_recursive_attr);
        assert_null(o.m.data);
        opts_done(&o);

        assert_int_equal(parse_opts(&o, "rbind", NULL), 0);
        assert_int_equal(o.m.flags, MS_BIND | MS_REC);
        opts_done(&o);
        assert_int_equal(parse_opts(&o, "bind", NULL), 0);
        assert_int_equal(o.m.flags, MS_BIND);
        opts_done(&o);

        /* Later options override earlier ones. */
        assert_int_equal(parse_opts(&o, "ro", "rw", NULL), 0);
        assert_int_equal(o.m.flags, 0);
        opts_done(&o);
        assert_int_equal(parse_opts(&o, "rw", "ro", NULL), 0);
        assert_int_equal(o.m.flags, MS_RDONLY);
        opts_done(&o);
        assert_int_equal(parse_opts(&o, "nosuid", "noexec", "suid", "exec", "nodev", "dev", NULL), 0);
        assert_int_equal(o.m.flags, 0);
        opts_done(&o);
        assert_int_equal(parse_opts(&o, "defaults", "", "noatime", "nodiratime", "sync", NULL), 0);
        assert_int_equal(o.m.flags, MS_NOATIME | MS_NODIRATIME | MS_SYNCHRONOUS);
        assert_null(o.m.data);
        opts_done(&o);
        assert_int_equal(parse_opts(&o, "strictatime", "relatime", "remount", NULL), 0);
        assert_int_equal(o.m.flags, MS_STRICTATIME | MS_RELATIME | MS_REMOUNT);
        opts_done(&o);
        /* No options at all: everything reset. */
        assert_int_equal(parse_opts(&o, NULL), 0);
        assert_int_equal(o.m.flags, 0);
        assert_int_equal(o.m.propagation, 0);
        assert_null(o.m.data);
}

static void test_mount_propagation(void **state)
{
        static const struct {
                const char *name;
                unsigned long flags;
        } cases[] = {
                { "private", MS_PRIVATE },         { "rprivate", MS_PRIVATE | MS_REC },
                { "shared", MS_SHARED },           { "rshared", MS_SHARED | MS_REC },
                { "slave", MS_SLAVE },             { "rslave", MS_SLAVE | MS_REC },
                { "unbindable", MS_UNBINDABLE },   { "runbindable", MS_UNBINDABLE | MS_REC },
        };
        _cleanup_(opts_done) Opts o = {};

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                assert_int_equal(parse_opts(&o, "bind", cases[i].name, NULL), 0);
                assert_int_equal(o.m.propagation, cases[i].flags);
                /* Propagation is applied by a separate mount(2) call: never mixed into flags. */
                assert_int_equal(o.m.flags, MS_BIND);
                opts_done(&o);
        }
        assert_int_equal(parse_opts(&o, "rprivate", "shared", NULL), 0);
        assert_int_equal(o.m.propagation, MS_SHARED);
}

static void test_mount_recursive_attrs(void **state)
{
        _cleanup_(opts_done) Opts o = {};

        assert_int_equal(parse_opts(&o, "rro", NULL), 0);
        assert_true(o.m.attr_set == MOUNT_ATTR_RDONLY);
        assert_true(o.m.attr_clr == 0);
        assert_true(o.m.is_recursive_attr);
        /* rro is not the plain MS_RDONLY: that would only apply to the top mount. */
        assert_int_equal(o.m.flags, 0);
        opts_done(&o);

        assert_int_equal(parse_opts(&o, "rro", "rrw", NULL), 0);
        assert_true(o.m.attr_set == 0);
        assert_true(o.m.attr_clr == MOUNT_ATTR_RDONLY);
        opts_done(&o);

        assert_int_equal(parse_opts(&o, "rbind", "rnosuid", "rnodev", "rnoexec", NULL), 0);
        assert_true(o.m.attr_set == (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC));
        assert_int_equal(o.m.flags, MS_BIND | MS_REC);
        opts_done(&o);

        assert_int_equal(parse_opts(&o, "nosymfollow", NULL), 0);
        assert_true(o.m.attr_set == MOUNT_ATTR_NOSYMFOLLOW);
        assert_false(o.m.is_recursive_attr);
}

static void test_mount_atime_attrs(void **state)
{
        _cleanup_(opts_done) Opts o = {};

        /* The atime options are an enum in the kernel: set the one wanted, clear the whole field. */
        assert_int_equal(parse_opts(&o, "rrelatime", NULL), 0);
        assert_true(o.m.is_recursive_attr);
        assert_true((o.m.attr_set & MOUNT_ATTR__ATIME) == MOUNT_ATTR_RELATIME);
        assert_true((o.m.attr_clr & MOUNT_ATTR__ATIME) == MOUNT_ATTR__ATIME);
        opts_done(&o);
        assert_int_equal(parse_opts(&o, "rnoatime", NULL), 0);
        assert_true((o.m.attr_set & MOUNT_ATTR__ATIME) == MOUNT_ATTR_NOATIME);
        assert_true((o.m.attr_clr & MOUNT_ATTR__ATIME) == MOUNT_ATTR__ATIME);
        opts_done(&o);
        assert_int_equal(parse_opts(&o, "rstrictatime", NULL), 0);
        assert_true((o.m.attr_set & MOUNT_ATTR__ATIME) == MOUNT_ATTR_STRICTATIME);
        assert_true((o.m.attr_clr & MOUNT_ATTR__ATIME) == MOUNT_ATTR__ATIME);
        opts_done(&o);
        assert_int_equal(parse_opts(&o, "rnoatime", "rrelatime", NULL), 0);
        assert_true((o.m.attr_set & MOUNT_ATTR__ATIME) == MOUNT_ATTR_RELATIME);
        assert_true((o.m.attr_clr & MOUNT_ATTR__ATIME) == MOUNT_ATTR__ATIME);
}

static void test_mount_attrs_kernel_valid(void **state)
{
        static const char *const all[] = {
                "rro", "rrw", "rnosuid", "rsuid", "rnodev", "rdev", "rnoexec", "rexec", "rnodiratime",
                "rdiratime", "rrelatime", "rnorelatime", "rnoatime", "ratime", "rstrictatime", "rnostrictatime",
                "rnosymfollow", "rsymfollow", "nosymfollow", "symfollow",
        };
        _cleanup_(opts_done) Opts o = {};
        size_t failures = 0;

        /* Whatever the option, the result is something mount_setattr(2) accepts. */
        for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
                uint64_t clr;
                assert_int_equal(parse_opts(&o, all[i], NULL), 0);
                clr = o.m.attr_clr & MOUNT_ATTR__ATIME;
                if ((o.m.attr_set & o.m.attr_clr) & ~(uint64_t)MOUNT_ATTR__ATIME) {
                        print_error("'%s': the same attribute is set and cleared\n", all[i]);
                        failures++;
                }
                if ((clr != 0 && clr != MOUNT_ATTR__ATIME) || ((o.m.attr_set & MOUNT_ATTR__ATIME) && !clr)) {
                        print_error("'%s': attr_set %#llx attr_clr %#llx: mount_setattr(2) wants all of "
                                    "MOUNT_ATTR__ATIME (%#x) or none of it in attr_clr\n",
                                    all[i], (unsigned long long)o.m.attr_set, (unsigned long long)o.m.attr_clr,
                                    MOUNT_ATTR__ATIME);
                        failures++;
                }
                opts_done(&o);
        }
        if (failures)
                fail_msg("%zu option(s) give attributes the kernel refuses", failures);
}

static void test_mount_data(void **state)
{
        _cleanup_(opts_done) Opts o = {};

        assert_int_equal(parse_opts(&o, "nosuid", "mode=755", "strictatime", "size=64k", NULL), 0);
        assert_string_equal(o.m.data, "mode=755,size=64k");
        assert_int_equal(o.m.flags, MS_NOSUID | MS_STRICTATIME);
        opts_done(&o);

        assert_int_equal(parse_opts(&o, "newinstance", NULL), 0);
        assert_string_equal(o.m.data, "newinstance");
        opts_done(&o);

        /* A comma inside one option would smuggle extra options past the table. */
        assert_int_equal(parse_opts(&o, "ro", "mode=755,uid=0", NULL), -EINVAL);
        assert_non_null(strstr(o.e->msg, "mounts[3].options[1]"));
}

static void test_mappings_without_userns_ignored(void **state)
{
        /* As runc: meaningless without a user namespace of the container's own, so dropped. */
        _cleanup_(rt_spec_freep) RtSpec *s = parse_ok(L("'uidMappings': [{'containerID': 0, 'hostID': 1, 'size': 1}],"
                                                         " 'gidMappings': [{'containerID': 0, 'hostID': 1, 'size': 1}]"));
        assert_int_equal(s->n_uid_mappings, 0);
        assert_int_equal(s->n_gid_mappings, 0);
        assert_null(s->uid_mappings);
}

static void test_mount_idmap(void **state)
{
        _cleanup_(opts_done) Opts o = {};

        assert_int_equal(parse_opts(&o, "bind", "idmap", NULL), 0);
        assert_true(o.m.is_idmap);
        assert_false(o.m.is_recursive_idmap);
        /* Not filesystem data: */
        assert_null(o.m.data);
        opts_done(&o);
        assert_int_equal(parse_opts(&o, "rbind", "ridmap", NULL), 0);
        assert_true(o.m.is_idmap);
        assert_true(o.m.is_recursive_idmap);
}

/* -------- name tables -------- */

static void test_capability_names(void **state)
{
        int last = rt_cap_last();
        int top = last < CAP_LAST_CAP ? last : CAP_LAST_CAP;

        assert_true(last >= CAP_AUDIT_READ);
        assert_int_equal(rt_cap_from_name("CAP_CHOWN"), CAP_CHOWN);
        assert_int_equal(rt_cap_from_name("CAP_NET_BIND_SERVICE"), CAP_NET_BIND_SERVICE);
        assert_int_equal(rt_cap_from_name("CAP_SYS_ADMIN"), CAP_SYS_ADMIN);
        assert_string_equal(rt_cap_name(CAP_SYS_ADMIN), "CAP_SYS_ADMIN");
        assert_string_equal(rt_cap_name(CAP_CHOWN), "CAP_CHOWN");

        /* The spec spells them upper case with the prefix; libcap's other forms are refused. */
        assert_int_equal(rt_cap_from_name("cap_chown"), -EINVAL);
        assert_int_equal(rt_cap_from_name("CHOWN"), -EINVAL);
        assert_int_equal(rt_cap_from_name("0"), -EINVAL);
        assert_int_equal(rt_cap_from_name("CAP_"), -EINVAL);
        assert_int_equal(rt_cap_from_name("CAP_BOGUS"), -EINVAL);
        assert_int_equal(rt_cap_from_name(""), -EINVAL);
        assert_string_equal(rt_cap_name(-1), "?");
        assert_string_equal(rt_cap_name(64), "?");

        for (int cap = 0; cap <= top; cap++) {
                const char *name = rt_cap_name(cap);
                if (strncmp(name, "CAP_", 4) != 0)
                        fail_msg("capability %d is named '%s'", cap, name);
                for (const char *c = name; *c; c++)
                        if (*c >= 'a' && *c <= 'z')
                                fail_msg("'%s' is not upper case", name);
                if (rt_cap_from_name(name) != cap)
                        fail_msg("'%s' maps back to %d, not %d", name, rt_cap_from_name(name), cap);
        }
}

static void test_namespace_names(void **state)
{
        static const struct {
                RtNsType t;
                const char *name;
                const char *proc;
                unsigned long flag;
        } want[] = {
                { RT_NS_USER, "user", "user", CLONE_NEWUSER },    { RT_NS_PID, "pid", "pid", CLONE_NEWPID },
                { RT_NS_NET, "network", "net", CLONE_NEWNET },    { RT_NS_MOUNT, "mount", "mnt", CLONE_NEWNS },
                { RT_NS_IPC, "ipc", "ipc", CLONE_NEWIPC },        { RT_NS_UTS, "uts", "uts", CLONE_NEWUTS },
                { RT_NS_CGROUP, "cgroup", "cgroup", CLONE_NEWCGROUP }, { RT_NS_TIME, "time", "time", CLONE_NEWTIME },
        };
        unsigned long seen = 0;

        assert_int_equal(ARRAY_SIZE(want), _RT_NS_MAX);
        for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
                char path[64];
                assert_string_equal(rt_ns_type_name(want[i].t), want[i].name);
                assert_int_equal(rt_ns_type_from_name(want[i].name), want[i].t);
                assert_string_equal(rt_ns_proc_name(want[i].t), want[i].proc);
                assert_int_equal(rt_ns_clone_flag(want[i].t), want[i].flag);
                assert_int_equal(seen & want[i].flag, 0);
                seen |= want[i].flag;
                /* The proc name is the one the kernel uses (time needs 5.6). */
                snprintf(path, sizeof(path), "/proc/self/ns/%s", rt_ns_proc_name(want[i].t));
                if (access(path, F_OK) < 0 && want[i].t != RT_NS_TIME)
                        fail_msg("%s does not exist", path);
        }
        /* The OCI names, not the /proc ones. */
        assert_int_equal(rt_ns_type_from_name("net"), -EINVAL);
        assert_int_equal(rt_ns_type_from_name("mnt"), -EINVAL);
        assert_int_equal(rt_ns_type_from_name("PID"), -EINVAL);
        assert_int_equal(rt_ns_type_from_name(""), -EINVAL);
}

static void test_hook_kind_names(void **state)
{
        assert_string_equal(rt_hook_kind_name(RT_HOOK_PRESTART), "prestart");
        assert_string_equal(rt_hook_kind_name(RT_HOOK_CREATE_RUNTIME), "createRuntime");
        assert_string_equal(rt_hook_kind_name(RT_HOOK_CREATE_CONTAINER), "createContainer");
        assert_string_equal(rt_hook_kind_name(RT_HOOK_START_CONTAINER), "startContainer");
        assert_string_equal(rt_hook_kind_name(RT_HOOK_POSTSTART), "poststart");
        assert_string_equal(rt_hook_kind_name(RT_HOOK_POSTSTOP), "poststop");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_default_spec),
                cmocka_unit_test(test_default_spec_rootless),
                cmocka_unit_test(test_full_document),
                cmocka_unit_test(test_minimal_document),
                cmocka_unit_test(test_sealed_needed),
                cmocka_unit_test(test_nulls_are_absent),
                cmocka_unit_test(test_null_console_width),
                cmocka_unit_test(test_null_gid),
                cmocka_unit_test(test_namespace_empty_path),
                cmocka_unit_test(test_user_namespace_joined),
                cmocka_unit_test(test_bad_documents),
                cmocka_unit_test(test_process_parse_where),
                cmocka_unit_test_setup_teardown(test_load, bundle_setup, bundle_teardown),
                cmocka_unit_test(test_mount_flags),
                cmocka_unit_test(test_mount_propagation),
                cmocka_unit_test(test_mount_recursive_attrs),
                cmocka_unit_test(test_mount_atime_attrs),
                cmocka_unit_test(test_mount_attrs_kernel_valid),
                cmocka_unit_test(test_mount_data),
                cmocka_unit_test(test_mount_idmap),
                cmocka_unit_test(test_mappings_without_userns_ignored),
                cmocka_unit_test(test_capability_names),
                cmocka_unit_test(test_namespace_names),
                cmocka_unit_test(test_hook_kind_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
