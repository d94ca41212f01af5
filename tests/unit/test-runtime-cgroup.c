/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-runtime-cgroup.c: the cgroup module against the host's real hierarchies (root only) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/strv.h"
#include "runtime/cgroup-internal.h"

/* Calls fn(args..., &e) and fails the test with the error chain if it fails. */
#define OK(fn, ...)                                                                                              \
        do {                                                                                                     \
                _cleanup_error_ Error *e_ = NULL;                                                                \
                int r_ = fn(__VA_ARGS__, &e_);                                                                   \
                if (r_ < 0)                                                                                      \
                        fail_msg("%s: %s", #fn, error_message(e_, r_));                                          \
        } while (0)

static char root_name[64];          /* "hull-test-cgroup-PID": every cgroup a test makes is below it */
static CgHost *host;                /* the real layout */
static volatile uint64_t *counters; /* shared with spinning children: they stop counting when frozen */
static char scratch[64];            /* a temporary directory of the running test, removed in teardown */
static pid_t children[16];
static size_t n_children;

/* ---- helpers ---- */

static const CgMount *mount_of(const char *ctrl)
{
        for (size_t i = 0; i < host->n_mounts; i++) {
                const CgMount *m = &host->mounts[i];
                if (ctrl ? !m->is_v2 && strv_contains(m->controllers, ctrl) : m->is_v2)
                        return m;
        }
        return NULL;
}

/* The contents of <mount of ctrl (NULL: unified)>/<path>/<file>, trimmed; NULL if it cannot be read. */
static char *read_knob(const char *ctrl, const char *path, const char *file)
{
        const CgMount *m = mount_of(ctrl);
        _cleanup_free_ char *p = NULL;
        char *s = NULL;
        size_t n;

        if (!m)
                return NULL;
        p = xasprintf("%s%s/%s", m->mount, path, file);
        if (read_file_at(AT_FDCWD, p, &s, &n, NULL) < 0)
                return NULL;
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
                s[--n] = 0;
        return s;
}

static void assert_knob(const char *ctrl, const char *path, const char *file, const char *want)
{
        _cleanup_free_ char *v = read_knob(ctrl, path, file);
        if (!v || strcmp(v, want) != 0)
                fail_msg("%s %s/%s: got '%s', want '%s'", ctrl ? ctrl : "unified", path, file, v ? v : "(none)",
                         want);
}

static bool dir_exists(const char *mount, const char *path)
{
        _cleanup_free_ char *p = xasprintf("%s%s", mount, path);
        struct stat st;
        return stat(p, &st) == 0;
}

static const char *make_scratch(void)
{
        snprintf(scratch, sizeof(scratch), "/tmp/hull-test-cgroup-XXXXXX");
        assert_non_null(mkdtemp(scratch));
        return scratch;
}

static char *test_path(const char *leaf)
{
        return xasprintf("/%s/%s", root_name, leaf);
}

static RtResources *parse(const char *text)
{
        _cleanup_json_ json_t *j = NULL;
        RtResources *res = NULL;
        OK(json_parse, text, strlen(text), "test", &j);
        OK(rt_resources_parse, j, "linux.resources", &res);
        return res;
}

static int parse_error(const char *text, char **ret_msg)
{
        _cleanup_json_ json_t *j = NULL;
        _cleanup_error_ Error *e = NULL;
        _cleanup_(rt_resources_freep) RtResources *res = NULL;
        int r;

        OK(json_parse, text, strlen(text), "test", &j);
        r = rt_resources_parse(j, "linux.resources", &res, &e);
        *ret_msg = e ? xstrdup(e->msg) : NULL;
        return r;
}

static void spin(volatile uint64_t *counter)
{
        struct timespec ts = {0, 1000000};
        for (;;) {
                (*counter)++;
                nanosleep(&ts, NULL);
        }
}

/* A child that counts in counters[slot] until killed. */
static pid_t spawn_spinner(int slot)
{
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                spin(&counters[slot]);
        children[n_children++] = pid;
        return pid;
}

static bool is_counting(int slot)
{
        uint64_t before = counters[slot];
        struct timespec ts = {0, 60000000};
        nanosleep(&ts, NULL);
        return counters[slot] != before;
}

static void reap(pid_t pid, int want_signal)
{
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), want_signal);
        for (size_t i = 0; i < n_children; i++)
                if (children[i] == pid)
                        children[i] = 0;
}

static bool has_pid(RtCgroup *cg, pid_t pid)
{
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        OK(rt_cgroup_pids, cg, &pids, &n);
        for (size_t i = 0; i < n; i++)
                if (pids[i] == pid)
                        return true;
        return false;
}

/* Thaws, kills and removes a cgroup directory tree, leaves first, whatever a failed test left in it. */
static void scrub(int dir_fd, const char *name)
{
        int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *procs = NULL;
        DIR *d;
        struct dirent *de;

        if (fd < 0)
                return;
        (void)write_file_at(fd, "freezer.state", "THAWED", NULL);
        (void)write_file_at(fd, "cgroup.freeze", "0", NULL);
        if (read_file_at(fd, "cgroup.procs", &procs, NULL, NULL) >= 0)
                for (char *p = procs; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p))
                        kill(atoi(p), SIGKILL);
        d = fdopendir(fd);
        while (d && (de = readdir(d)))
                if (de->d_type == DT_DIR && de->d_name[0] != '.')
                        scrub(dirfd(d), de->d_name);
        if (d)
                closedir(d);
        for (int i = 0; i < 100 && unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && errno == EBUSY; i++)
                usleep(10000);
}

static void scrub_all(void)
{
        for (size_t i = 0; i < n_children; i++)
                if (children[i] > 0) {
                        kill(children[i], SIGKILL);
                        waitpid(children[i], NULL, 0);
                }
        n_children = 0;
        for (size_t i = 0; i < host->n_mounts; i++) {
                const CgMount *m = &host->mounts[i];
                _cleanup_free_ char *own = xasprintf("%s%s", m->mount, m->own);
                int fd = open(m->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                int own_fd = open(own, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                scrub(fd, root_name);
                scrub(own_fd, root_name);
                close(fd);
                close(own_fd);
        }
}

static int teardown(void **state)
{
        scrub_all();
        if (scratch[0])
                rm_rf_at(AT_FDCWD, scratch, NULL);
        scratch[0] = 0;
        return 0;
}

static int group_setup(void **state)
{
        snprintf(root_name, sizeof(root_name), "hull-test-cgroup-%d", getpid());
        counters = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        return counters == MAP_FAILED ? -1 : rt_cgroup_host_load(&host, NULL);
}

static int group_teardown(void **state)
{
        scrub_all();
        host = rt_cgroup_host_free(host);
        return 0;
}

/* ---- layouts and paths, from canned text ---- */

static const char hybrid_mountinfo[] =
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
        "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
static const char hybrid_cgroup[] = "9:name=systemd:/\n4:memory:/process_api/543b\n1:cpu:/\n0::/\n";

static void test_layout_hybrid(void **state)
{
        _cleanup_(rt_cgroup_host_freep) CgHost *h = NULL;

        OK(rt_cgroup_host_parse, hybrid_mountinfo, hybrid_cgroup, &h);
        assert_int_equal(h->mode, RT_CGROUP_HYBRID);
        assert_int_equal(h->n_mounts, 4);
        assert_string_equal(h->mounts[0].mount, "/sys/fs/cgroup/systemd");
        assert_string_equal(h->mounts[1].mount, "/sys/fs/cgroup/memory");
        assert_string_equal(h->mounts[1].own, "/process_api/543b");
        assert_true(strv_contains(h->mounts[1].controllers, "memory"));
        assert_string_equal(h->mounts[2].mount, "/sys/fs/cgroup/cpu");
        assert_true(h->mounts[3].is_v2);
        assert_string_equal(h->mounts[3].mount, "/sys/fs/cgroup/unified");
}

static void test_layout_v1_v2(void **state)
{
        _cleanup_(rt_cgroup_host_freep) CgHost *v1 = NULL, *v2 = NULL;

        /* A container's view: the hierarchy's root is its own cgroup, with a space escaped in the mount point. */
        OK(rt_cgroup_host_parse,
           "50 40 0:30 /docker/abc /sys/fs/cgroup/cpu\\040acct ro - cgroup cgroup rw,cpu,cpuacct\n",
           "3:cpu,cpuacct:/docker/abc/inner\n", &v1);
        assert_int_equal(v1->mode, RT_CGROUP_V1);
        assert_int_equal(v1->n_mounts, 1);
        assert_string_equal(v1->mounts[0].mount, "/sys/fs/cgroup/cpu acct");
        assert_string_equal(v1->mounts[0].own, "/inner");
        assert_true(strv_contains(v1->mounts[0].controllers, "cpuacct"));

        OK(rt_cgroup_host_parse, "29 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n",
           "0::/user.slice/session-1.scope\n", &v2);
        assert_int_equal(v2->mode, RT_CGROUP_V2);
        assert_int_equal(v2->n_mounts, 1);
        assert_string_equal(v2->mounts[0].own, "/user.slice/session-1.scope");
        assert_string_equal(rt_cgroup_mode_name(v2->mode), "v2");
}

static void test_layout_none(void **state)
{
        _cleanup_(rt_cgroup_host_freep) CgHost *h = NULL;
        _cleanup_error_ Error *e = NULL;

        assert_int_equal(rt_cgroup_host_parse("1 0 0:1 / / rw - ext4 /dev/sda rw\n", "0::/\n", &h, &e), -ENOMEDIUM);
        assert_non_null(e);
}

static void expect_path(const char *in, const char *id, bool is_systemd, const char *want)
{
        _cleanup_free_ char *p = NULL;
        OK(rt_cgroup_path_resolve, in, id, is_systemd, &p);
        assert_string_equal(p, want);
}

static void test_paths(void **state)
{
        _cleanup_free_ char *p = NULL;
        _cleanup_error_ Error *e = NULL;

        expect_path(NULL, "c1", false, "/hull/c1");
        expect_path("", "c1", false, "/hull/c1");
        expect_path("/a//b/", "c1", false, "/a/b");
        expect_path("rel/x", "c1", false, "rel/x");
        expect_path("machine-hull.slice:hull:c1", "c1", true, "/machine.slice/machine-hull.slice/hull-c1.scope");
        expect_path(":hull:c1", "c1", true, "/system.slice/hull-c1.scope");
        expect_path("-.slice::c1", "c1", true, "/c1.scope");
        expect_path(NULL, "c1", true, "/system.slice/hull-c1.scope");
        assert_int_equal(rt_cgroup_path_resolve("/a/../b", "c1", false, &p, &e), -EINVAL);
        assert_non_null(strstr(e->msg, "'..'"));
        e = error_free(e);
        assert_int_equal(rt_cgroup_path_resolve("a:b", "c1", true, &p, &e), -EINVAL);
        assert_non_null(strstr(e->msg, "slice:prefix:name"));
        e = error_free(e);
        assert_int_equal(rt_cgroup_path_resolve("a-.slice:p:n", "c1", true, &p, &e), -EINVAL);
        e = error_free(e);
        assert_int_equal(rt_cgroup_path_resolve("/", "c1", false, &p, &e), -EINVAL);
}

/* ---- resources parsing ---- */

static void expect_parse_error(const char *text, const char *want)
{
        _cleanup_free_ char *msg = NULL;
        assert_int_equal(parse_error(text, &msg), -EINVAL);
        if (!msg || !strstr(msg, want))
                fail_msg("error '%s' does not contain '%s'", msg ? msg : "(none)", want);
}

static void test_parse_errors(void **state)
{
        expect_parse_error("{\"memory\": {\"limit\": \"64m\"}}", "linux.resources.memory.limit: expected an integer");
        expect_parse_error("{\"memory\": {\"swappiness\": 101}}", "linux.resources.memory.swappiness");
        expect_parse_error("{\"cpu\": {\"cpus\": \"0-1;\"}}", "linux.resources.cpu.cpus");
        expect_parse_error("{\"pids\": {}}", "linux.resources.pids.limit: required");
        expect_parse_error("{\"devices\": [{\"allow\": true, \"type\": \"x\"}]}", "linux.resources.devices[0].type");
        expect_parse_error("{\"devices\": [{\"access\": \"r\"}]}", "linux.resources.devices[0].allow: required");
        expect_parse_error("{\"devices\": [{\"allow\": true, \"access\": \"rx\"}]}", "devices[0].access");
        expect_parse_error("{\"hugepageLimits\": [{\"pageSize\": \"2XB\", \"limit\": 1}]}",
                           "linux.resources.hugepageLimits[0].pageSize");
        expect_parse_error("{\"blockIO\": {\"throttleReadBpsDevice\": [{\"major\": 8, \"minor\": 0}]}}",
                           "linux.resources.blockIO.throttleReadBpsDevice[0].rate: required");
        expect_parse_error("{\"unified\": {\"../x\": \"1\"}}", "linux.resources.unified");
        expect_parse_error("{\"rdma\": {\"mlx\": {\"hcaHandles\": -2}}}", "linux.resources.rdma.mlx.hcaHandles");
        expect_parse_error("[]", "linux.resources: expected an object");
}

static void test_parse_values(void **state)
{
        _cleanup_(rt_resources_freep) RtResources *res = parse(
                "{\"memory\": {\"limit\": -1, \"kernel\": 1000, \"disableOOMKiller\": true},"
                " \"cpu\": {\"shares\": 0, \"quota\": 20000, \"cpus\": \"0-1\"}, \"pids\": {\"limit\": -5},"
                " \"devices\": [{\"allow\": false, \"access\": \"rwm\"}, {\"allow\": true, \"type\": \"b\", \"major\": 8,"
                " \"minor\": null, \"access\": \"r\"}]}");
        _cleanup_(rt_resources_freep) RtResources *empty = NULL;
        _cleanup_free_ CgDeviceRule *rules = NULL;
        size_t n;
        char buf[64];

        assert_int_equal(res->memory.limit, -1);
        assert_true(res->memory.swap == CG_UNSET);
        assert_int_equal(res->memory.disable_oom_killer, 1);
        assert_true(res->cpu.shares == CG_UNSET); /* 0 means unset, as runc reads it */
        assert_int_equal(res->cpu.quota, 20000);
        assert_string_equal(res->cpu.cpus, "0-1");
        assert_int_equal(res->pids_limit, -1);
        rt_cgroup_device_rules(res, &rules, &n);
        assert_int_equal(n, 2 + 8); /* starts from deny: the default devices follow */
        assert_string_equal(rt_cgroup_device_rule_string(&rules[0], buf), "a *:* rwm");
        assert_string_equal(rt_cgroup_device_rule_string(&rules[1], buf), "b 8:* r");
        assert_string_equal(rt_cgroup_device_rule_string(&rules[9], buf), "c 136:* rwm");

        OK(rt_resources_parse, NULL, NULL, &empty);
        assert_int_equal(empty->uses, 0);
        assert_true(res->uses & (1u << CG_DEVICES));
        assert_true(res->uses & (1u << CG_CPUSET));
        assert_false(res->uses & (1u << CG_BLKIO));
        assert_true(empty->pids_limit == CG_UNSET);
}

/* ---- the real hierarchies ---- */

static void test_mode(void **state)
{
        RtCgroupMode m;
        OK(rt_cgroup_mode, &m);
        assert_int_equal(m, host->mode);
        print_message("cgroup mode of this host: %s\n", rt_cgroup_mode_name(m));
}

static void check_v1_limits(const char *path)
{
        _cleanup_free_ char *devices = read_knob("devices", path, "devices.list");

        assert_knob("memory", path, "memory.limit_in_bytes", "67108864");
        assert_knob("memory", path, "memory.soft_limit_in_bytes", "33554432");
        assert_knob("memory", path, "memory.swappiness", "10");
        assert_knob("cpu", path, "cpu.shares", "512");
        assert_knob("cpu", path, "cpu.cfs_quota_us", "50000");
        assert_knob("cpu", path, "cpu.cfs_period_us", "100000");
        assert_knob("cpuset", path, "cpuset.cpus", "0");
        assert_knob("cpuset", path, "cpuset.mems", "0");
        assert_knob("pids", path, "pids.max", "42");
        assert_non_null(devices);
        assert_non_null(strstr(devices, "c 1:3 rwm"));
        assert_non_null(strstr(devices, "c 136:* rwm"));
        assert_null(strstr(devices, "a *:* rwm"));
}

static void check_v2_limits(const char *path)
{
        assert_knob(NULL, path, "memory.max", "67108864");
        assert_knob(NULL, path, "memory.low", "33554432");
        assert_knob(NULL, path, "cpu.weight", "20"); /* 1 + (512 - 2) * 9999 / 262142 */
        assert_knob(NULL, path, "cpu.max", "50000 100000");
        assert_knob(NULL, path, "cpuset.cpus", "0");
        assert_knob(NULL, path, "pids.max", "42");
}

static const char limits[] =
        "{\"memory\": {\"limit\": 67108864, \"reservation\": 33554432, \"swappiness\": 10},"
        " \"cpu\": {\"shares\": 512, \"quota\": 50000, \"period\": 100000, \"cpus\": \"0\", \"mems\": \"0\"},"
        " \"pids\": {\"limit\": 42}, \"devices\": [{\"allow\": false, \"access\": \"rwm\"}]}";

static void test_lifecycle(void **state)
{
        _cleanup_(rt_cgroup_freep) RtCgroup *cg = NULL;
        _cleanup_(rt_resources_freep) RtResources *res = parse(limits);
        _cleanup_free_ char *path = test_path("life");
        _cleanup_json_ json_t *stats = NULL;
        bool is_frozen = true;
        pid_t pid;

        OK(rt_cgroup_create, path, "life", false, &cg);
        for (size_t i = 0; i < host->n_mounts; i++)
                assert_true(dir_exists(host->mounts[i].mount, path));
        OK(rt_cgroup_apply, cg, res);
        if (host->mode == RT_CGROUP_V2)
                check_v2_limits(path);
        else
                check_v1_limits(path);

        pid = spawn_spinner(0);
        OK(rt_cgroup_enter, cg, pid);
        assert_true(has_pid(cg, pid));
        OK(rt_cgroup_stats, cg, &stats);
        assert_int_equal(json_integer_value(json_object_get(stats, "memory_limit")), 67108864);
        assert_int_equal(json_integer_value(json_object_get(stats, "pids")), 1);
        assert_true(json_integer_value(json_object_get(stats, "cpu_usage_ns")) >= 0);
        assert_true(json_is_integer(json_object_get(stats, "memory_usage")));

        OK(rt_cgroup_is_frozen, cg, &is_frozen);
        assert_false(is_frozen);
        OK(rt_cgroup_freeze, cg, true);
        OK(rt_cgroup_is_frozen, cg, &is_frozen);
        assert_true(is_frozen);
        if (host->mode != RT_CGROUP_V2)
                assert_knob("freezer", path, "freezer.state", "FROZEN");
        assert_false(is_counting(0));
        OK(rt_cgroup_freeze, cg, false);
        OK(rt_cgroup_is_frozen, cg, &is_frozen);
        assert_false(is_frozen);
        assert_true(is_counting(0));

        OK(rt_cgroup_kill, cg, SIGKILL);
        reap(pid, SIGKILL);
        OK(rt_cgroup_destroy, cg);
        for (size_t i = 0; i < host->n_mounts; i++)
                assert_false(dir_exists(host->mounts[i].mount, path));
        OK(rt_cgroup_destroy, cg); /* again: missing directories are fine */
}

/* A partial set (as `update` passes) leaves the other limits alone. */
static void test_update_partial(void **state)
{
        _cleanup_(rt_cgroup_freep) RtCgroup *cg = NULL;
        _cleanup_(rt_resources_freep) RtResources *first = parse("{\"pids\": {\"limit\": 10}, \"cpu\": {\"period\": 200000}}");
        _cleanup_(rt_resources_freep) RtResources *second = parse("{\"memory\": {\"limit\": 100000000}, \"cpu\": {\"quota\": 30000}}");
        _cleanup_free_ char *path = test_path("update");
        bool is_v2 = host->mode == RT_CGROUP_V2;

        OK(rt_cgroup_create, path, "update", false, &cg);
        OK(rt_cgroup_apply, cg, first);
        OK(rt_cgroup_apply, cg, second);
        assert_knob(is_v2 ? NULL : "pids", path, "pids.max", "10");
        if (is_v2) {
                assert_knob(NULL, path, "cpu.max", "30000 200000");
        } else {
                assert_knob("cpu", path, "cpu.cfs_period_us", "200000");
                assert_knob("cpu", path, "cpu.cfs_quota_us", "30000");
                assert_knob("memory", path, "memory.limit_in_bytes", "99999744"); /* rounded to pages */
        }
        OK(rt_cgroup_destroy, cg);
}

/* The "major:minor" of some block device of this host, or NULL. */
static char *some_block_device(void)
{
        DIR *d = opendir("/sys/block");
        struct dirent *de;
        char *dev = NULL;

        while (d && !dev && (de = readdir(d))) {
                _cleanup_free_ char *p = xasprintf("/sys/block/%s/dev", de->d_name);
                size_t n;
                if (de->d_name[0] != '.' && read_file_at(AT_FDCWD, p, &dev, &n, NULL) >= 0)
                        dev[strcspn(dev, "\n")] = 0;
        }
        if (d)
                closedir(d);
        return dev;
}

/* The less common v1 knobs: swap, OOM killer, burst, block I/O weight and throttling. */
static void test_v1_extras(void **state)
{
        _cleanup_(rt_cgroup_freep) RtCgroup *cg = NULL;
        _cleanup_(rt_resources_freep) RtResources *res = NULL;
        _cleanup_free_ char *path = test_path("extras"), *dev = some_block_device(), *text = NULL, *oom = NULL;
        _cleanup_free_ char *want = NULL, *blk = NULL, *swap_file = NULL;
        const CgMount *mem = mount_of("memory");
        unsigned major = 0, minor = 0;
        bool has_swap;

        if (host->mode == RT_CGROUP_V2 || !mem || !dev || sscanf(dev, "%u:%u", &major, &minor) != 2) {
                print_message("skipped: needs v1 hierarchies and a block device\n");
                skip();
        }
        /* Without swap accounting only a swap limit equal to the memory limit is accepted (and skipped). */
        swap_file = xasprintf("%s/memory.memsw.limit_in_bytes", mem->mount);
        has_swap = access(swap_file, F_OK) == 0;
        text = xasprintf("{\"memory\": {\"limit\": 67108864, \"swap\": %d, \"disableOOMKiller\": true},"
                         " \"cpu\": {\"quota\": 50000, \"period\": 100000, \"burst\": 10000},"
                         " \"blockIO\": {\"weight\": 500, \"throttleReadBpsDevice\": [{\"major\": %u, \"minor\": %u,"
                         " \"rate\": 1048576}]}}",
                         has_swap ? 134217728 : 67108864, major, minor);
        res = parse(text);
        OK(rt_cgroup_create, path, "extras", false, &cg);
        OK(rt_cgroup_apply, cg, res);
        if (has_swap)
                assert_knob("memory", path, "memory.memsw.limit_in_bytes", "134217728");
        oom = read_knob("memory", path, "memory.oom_control");
        assert_non_null(oom);
        assert_non_null(strstr(oom, "oom_kill_disable 1"));
        assert_knob("cpu", path, "cpu.cfs_burst_us", "10000");
        blk = read_knob("blkio", path, "blkio.weight");
        assert_knob("blkio", path, blk ? "blkio.weight" : "blkio.bfq.weight", "500");
        want = xasprintf("%s 1048576", dev);
        assert_knob("blkio", path, "blkio.throttle.read_bps_device", want);
        OK(rt_cgroup_destroy, cg);
}

/* The kernel's refusal names the file and the value; destroy then leaves nothing. */
static void test_bad_value(void **state)
{
        _cleanup_(rt_cgroup_freep) RtCgroup *cg = NULL;
        _cleanup_(rt_resources_freep) RtResources *res = parse("{\"cpu\": {\"cpus\": \"99\"}}");
        _cleanup_free_ char *path = test_path("bad");
        _cleanup_error_ Error *e = NULL;

        OK(rt_cgroup_create, path, "bad", false, &cg);
        assert_true(rt_cgroup_apply(cg, res, &e) < 0); /* EINVAL or ERANGE, by kernel version */
        print_message("expected error: %s\n", e->msg);
        assert_non_null(strstr(e->msg, "write '99' to 'cpuset.cpus'"));
        assert_non_null(strstr(e->msg, path));
        OK(rt_cgroup_destroy, cg);
        for (size_t i = 0; i < host->n_mounts; i++)
                assert_false(dir_exists(host->mounts[i].mount, path));
}

/* A leaf that already holds a process is refused, and what create made elsewhere is removed again. */
static void test_create_busy(void **state)
{
        _cleanup_(rt_cgroup_freep) RtCgroup *cg = NULL;
        _cleanup_free_ char *path = test_path("busy"), *dir = NULL, *pid_s = NULL, *procs = NULL;
        _cleanup_error_ Error *e = NULL;
        const CgMount *last = &host->mounts[host->n_mounts - 1];
        pid_t pid;

        dir = xasprintf("%s%s", last->mount, path);
        OK(mkdir_p, dir, 0755);
        pid = spawn_spinner(1);
        pid_s = xasprintf("%d", pid);
        procs = xasprintf("%s/cgroup.procs", dir);
        OK(write_file_at, AT_FDCWD, procs, pid_s);
        assert_int_equal(rt_cgroup_create(path, "busy", false, &cg, &e), -EBUSY);
        assert_non_null(strstr(e->msg, "already holds processes"));
        for (size_t i = 0; i + 1 < host->n_mounts; i++) {
                _cleanup_free_ char *top = xasprintf("/%s", root_name);
                assert_false(dir_exists(host->mounts[i].mount, top));
        }
        assert_true(dir_exists(last->mount, path));
}

/* The v1 lines of the real mountinfo: this host as if it had no cgroup2 tree. */
static CgHost *v1_only_host(void)
{
        _cleanup_free_ char *mi = NULL, *pc = NULL, *only = xstrdup("");
        char *save = NULL;
        CgHost *h = NULL;

        OK(read_file_at, AT_FDCWD, "/proc/self/mountinfo", &mi, NULL);
        OK(read_file_at, AT_FDCWD, "/proc/self/cgroup", &pc, NULL);
        for (char *l = strtok_r(mi, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                if (strstr(l, " - cgroup ")) {
                        char *n = xasprintf("%s%s\n", only, l);
                        free(only);
                        only = n;
                }
        if (!*only)
                return NULL;
        OK(rt_cgroup_host_parse, only, pc, &h);
        return h;
}

static void test_unsupported(void **state)
{
        _cleanup_(rt_cgroup_freep) RtCgroup *cg = NULL, *v1 = NULL;
        _cleanup_(rt_resources_freep) RtResources *net = parse("{\"network\": {\"classID\": 1048577}}");
        _cleanup_(rt_resources_freep) RtResources *unified = parse("{\"unified\": {\"memory.high\": \"max\"}}");
        _cleanup_(rt_cgroup_host_freep) CgHost *v1_host = v1_only_host();
        _cleanup_free_ char *path = test_path("unsupported"), *path1 = test_path("v1only");
        _cleanup_error_ Error *e = NULL, *e1 = NULL;

        if (mount_of("net_cls") || !v1_host) {
                print_message("skipped: needs a host with v1 hierarchies and without net_cls\n");
                skip();
        }
        OK(rt_cgroup_create, path, "unsupported", false, &cg);
        assert_int_equal(rt_cgroup_apply(cg, net, &e), -EOPNOTSUPP);
        assert_non_null(strstr(e->msg, "linux.resources.network.classID"));
        assert_non_null(strstr(e->msg, "net_cls"));
        /* A unified hierarchy (v2 or hybrid) gives a clone3(CLONE_INTO_CGROUP) fd; v1 alone does not. */
        if (host->mode != RT_CGROUP_V1)
                assert_true(rt_cgroup_clone_fd(cg) >= 0);
        OK(rt_cgroup_destroy, cg);

        OK(rt_cgroup_create_on, v1_host, path1, "v1only", false, &v1);
        assert_int_equal(v1->mode, RT_CGROUP_V1);
        assert_int_equal(rt_cgroup_clone_fd(v1), -EOPNOTSUPP);
        assert_int_equal(rt_cgroup_apply(v1, unified, &e1), -EOPNOTSUPP);
        assert_non_null(strstr(e1->msg, "linux.resources.unified: needs cgroup v2"));
        OK(rt_cgroup_destroy, v1);
}

/* A relative cgroupsPath lands below the caller's own cgroup in each hierarchy. */
static void test_relative(void **state)
{
        _cleanup_(rt_cgroup_freep) RtCgroup *cg = NULL;
        _cleanup_free_ char *path = xasprintf("%s/rel", root_name);

        OK(rt_cgroup_create, path, "rel", false, &cg);
        for (size_t i = 0; i < host->n_mounts; i++) {
                const CgMount *m = &host->mounts[i];
                _cleanup_free_ char *full = xasprintf("%s/%s", strcmp(m->own, "/") == 0 ? "" : m->own, path);
                assert_true(dir_exists(m->mount, full));
        }
        OK(rt_cgroup_destroy, cg);
}

static void test_json(void **state)
{
        _cleanup_(rt_cgroup_freep) RtCgroup *cg = NULL, *back = NULL;
        _cleanup_json_ json_t *j = NULL, *j2 = NULL;
        _cleanup_free_ char *path = test_path("json"), *text = NULL;
        pid_t pid;

        OK(rt_cgroup_create, path, "json", false, &cg);
        j = rt_cgroup_to_json(cg);
        text = json_dump_compact(j);
        print_message("state: %.300s\n", text);
        OK(rt_cgroup_from_json, j, &back);
        j2 = rt_cgroup_to_json(back);
        assert_true(json_equal(j, j2));
        cg = rt_cgroup_free(cg);

        pid = spawn_spinner(2);
        OK(rt_cgroup_enter, back, pid);
        assert_true(has_pid(back, pid));
        OK(rt_cgroup_kill, back, SIGTERM);
        reap(pid, SIGTERM);
        OK(rt_cgroup_destroy, back);
        for (size_t i = 0; i < host->n_mounts; i++)
                assert_false(dir_exists(host->mounts[i].mount, path));
}

static void test_from_json_errors(void **state)
{
        _cleanup_(rt_cgroup_freep) RtCgroup *cg = NULL;
        _cleanup_json_ json_t *j = json_pack("{s:s, s:[{s:s}]}", "mode", "v3", "hierarchies", "type", "v1");
        _cleanup_error_ Error *e = NULL;

        assert_int_equal(rt_cgroup_from_json(j, &cg, &e), -EINVAL);
        assert_non_null(strstr(e->msg, "cgroup.mode"));
}

/* ---- the v2 code on the unified tree: pure v2 hosts run it for real, a hybrid one can for part ---- */

static CgHost *unified_host(void)
{
        const CgMount *u = mount_of(NULL);
        _cleanup_free_ char *mi = NULL;
        CgHost *h = NULL;

        if (!u)
                return NULL;
        mi = xasprintf("41 31 0:38 / %s rw - cgroup2 cgroup2 rw\n", u->mount);
        OK(rt_cgroup_host_parse, mi, "0::/\n", &h);
        assert_int_equal(h->mode, RT_CGROUP_V2);
        return h;
}

static pid_t clone_into(int cgroup_fd, int slot)
{
        struct clone_args args = {
                .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)cgroup_fd};
        long pid = syscall(SYS_clone3, &args, sizeof(args));
        if (pid < 0 && errno == ENOSYS) { /* valgrind */
                print_message("skipped: clone3 is not available\n");
                skip();
        }
        if (pid < 0)
                fail_msg("clone3(CLONE_INTO_CGROUP): %s", strerror(errno));
        if (pid == 0)
                spin(&counters[slot]);
        children[n_children++] = (pid_t)pid;
        return (pid_t)pid;
}

static void test_v2_unified(void **state)
{
        _cleanup_(rt_cgroup_host_freep) CgHost *uh = unified_host();
        _cleanup_(rt_cgroup_freep) RtCgroup *cg = NULL;
        _cleanup_(rt_resources_freep) RtResources *res = parse(
                "{\"unified\": {\"cgroup.max.descendants\": \"5\"}, \"devices\": [{\"allow\": false}]}");
        _cleanup_(rt_resources_freep) RtResources *huge = parse(
                "{\"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 4194304}]}");
        _cleanup_free_ char *path = test_path("v2"), *ctl = NULL;
        bool is_frozen;
        pid_t pid;

        if (!uh || host->mode == RT_CGROUP_V2) {
                print_message("skipped: no separate unified tree here (pure v2 runs the lifecycle test on it)\n");
                skip();
        }
        OK(rt_cgroup_create_on, uh, path, "v2", false, &cg);
        assert_true(rt_cgroup_clone_fd(cg) >= 0);
        OK(rt_cgroup_apply, cg, res);
        assert_knob(NULL, path, "cgroup.max.descendants", "5");
        assert_int_equal(rt_cgroup_bpf_count(rt_cgroup_clone_fd(cg)), 1);
        OK(rt_cgroup_apply, cg, res); /* update replaces the device program */
        assert_int_equal(rt_cgroup_bpf_count(rt_cgroup_clone_fd(cg)), 1);
        ctl = read_knob(NULL, path, "cgroup.controllers");
        if (ctl && strstr(ctl, "hugetlb")) {
                OK(rt_cgroup_apply, cg, huge);
                assert_knob(NULL, path, "hugetlb.2MB.max", "4194304");
        }

        pid = clone_into(rt_cgroup_clone_fd(cg), 3);
        assert_true(has_pid(cg, pid));
        OK(rt_cgroup_freeze, cg, true);
        OK(rt_cgroup_is_frozen, cg, &is_frozen);
        assert_true(is_frozen);
        assert_false(is_counting(3));
        OK(rt_cgroup_freeze, cg, false);
        assert_true(is_counting(3));
        OK(rt_cgroup_kill, cg, SIGKILL);
        reap(pid, SIGKILL);
        OK(rt_cgroup_destroy, cg);
        assert_false(dir_exists(uh->mounts[0].mount, path));
}

/*
 * What the v2 code writes for the controllers this host cannot give the unified tree: a directory of plain files
 * stands in for the cgroup (each write lands at offset 0 of its file, as a cgroup knob takes it).
 */
static void test_v2_formats(void **state)
{
        static const char *const files[][2] = {
                {"cgroup.controllers", "cpuset cpu io memory pids\n"}, {"cpu.max", "max 100000\n"},
                {"memory.current", "12345\n"}, {"cpu.stat", "usage_usec 7\nuser_usec 5\n"}, {"pids.current", "3\n"},
                {"memory.max", ""}, {"memory.swap.max", ""}, {"memory.low", ""}, {"cpu.weight", ""},
                {"cpu.max.burst", ""}, {"cpuset.cpus", ""}, {"pids.max", ""}, {"io.weight", ""}, {"io.max", ""},
        };
        _cleanup_(rt_resources_freep) RtResources *res = parse(
                "{\"memory\": {\"limit\": 67108864, \"swap\": 134217728, \"reservation\": 33554432},"
                " \"cpu\": {\"shares\": 1024, \"quota\": 50000, \"burst\": 1000, \"cpus\": \"0-1\"},"
                " \"pids\": {\"limit\": -1}, \"blockIO\": {\"weight\": 1000,"
                " \"throttleWriteIOPSDevice\": [{\"major\": 8, \"minor\": 0, \"rate\": 100}]}}");
        _cleanup_(rt_resources_freep) RtResources *rt = parse("{\"cpu\": {\"realtimeRuntime\": 1000}}");
        const char *tmp = make_scratch();
        _cleanup_free_ char *dir = NULL;
        _cleanup_(rt_cgroup_freep) RtCgroup *cg = NULL;
        _cleanup_json_ json_t *j = NULL, *stats = NULL;
        _cleanup_error_ Error *e = NULL;
        struct {
                const char *file, *want;
        } checks[] = {
                {"memory.max", "67108864"}, {"memory.swap.max", "67108864"}, {"memory.low", "33554432"},
                {"cpu.weight", "39"},       {"cpu.max", "50000 100000"},    {"cpu.max.burst", "1000"},
                {"cpuset.cpus", "0-1"},     {"pids.max", "max"},           {"io.weight", "default 10000"},
                {"io.max", "8:0 wiops=100"},
        };

        dir = xasprintf("%s/c", tmp);
        assert_int_equal(mkdir(dir, 0755), 0);
        for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
                _cleanup_free_ char *f = xasprintf("%s/%s", dir, files[i][0]);
                OK(write_file_atomic_at, AT_FDCWD, f, files[i][1], strlen(files[i][1]), 0644);
        }
        j = json_pack("{s:s, s:[{s:s, s:s, s:s}]}", "mode", "v2", "hierarchies", "type", "v2", "mount", tmp, "path",
                      "/c");
        OK(rt_cgroup_from_json, j, &cg);
        OK(rt_cgroup_apply, cg, res);
        for (size_t i = 0; i < ARRAY_SIZE(checks); i++) {
                _cleanup_free_ char *f = xasprintf("%s/%s", dir, checks[i].file), *v = NULL;
                OK(read_file_at, AT_FDCWD, f, &v, NULL);
                v[strcspn(v, "\n")] = 0;
                if (strcmp(v, checks[i].want) != 0)
                        fail_msg("%s: got '%s', want '%s'", checks[i].file, v, checks[i].want);
        }
        OK(rt_cgroup_stats, cg, &stats);
        assert_int_equal(json_integer_value(json_object_get(stats, "memory_usage")), 12345);
        assert_int_equal(json_integer_value(json_object_get(stats, "cpu_usage_ns")), 7000);
        assert_int_equal(json_integer_value(json_object_get(stats, "pids")), 3);
        assert_int_equal(rt_cgroup_apply(cg, rt, &e), -EOPNOTSUPP);
        assert_non_null(strstr(e->msg, "realtimeRuntime"));
}

/* On a hybrid host the hugetlb limit goes to the unified tree, the others to v1, in one create. */
static void test_hybrid_hugetlb(void **state)
{
        _cleanup_(rt_cgroup_freep) RtCgroup *cg = NULL;
        _cleanup_(rt_resources_freep) RtResources *res = parse(
                "{\"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 4194304}], \"pids\": {\"limit\": 7}}");
        _cleanup_free_ char *path = test_path("hugetlb"), *avail = NULL;

        avail = read_knob(NULL, "", "cgroup.controllers");
        if (host->mode != RT_CGROUP_HYBRID || mount_of("hugetlb") || !avail || !strstr(avail, "hugetlb")) {
                print_message("skipped: needs a hybrid host whose unified tree holds hugetlb\n");
                skip();
        }
        OK(rt_cgroup_create, path, "hugetlb", false, &cg);
        OK(rt_cgroup_apply, cg, res);
        assert_knob(NULL, path, "hugetlb.2MB.max", "4194304");
        assert_knob("pids", path, "pids.max", "7");
        OK(rt_cgroup_destroy, cg);
}

/* The device program is accepted by the verifier and enforced: mknod of a device not allowed fails. */
static void test_bpf_devices(void **state)
{
        _cleanup_(rt_resources_freep) RtResources *res = parse(
                "{\"devices\": [{\"allow\": false, \"access\": \"rwm\"},"
                " {\"allow\": true, \"type\": \"c\", \"major\": 1, \"minor\": 11, \"access\": \"rw\"}]}");
        _cleanup_free_ CgDeviceRule *rules = NULL;
        _cleanup_free_ char *dir = NULL, *procs = NULL;
        const char *tmp;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_error_ Error *e = NULL;
        const CgMount *u = mount_of(NULL);
        size_t n;
        int r, status;
        pid_t pid;

        if (!u) {
                print_message("skipped: no cgroup2 tree on this host\n");
                skip();
        }
        dir = xasprintf("%s/%s/bpf", u->mount, root_name);
        OK(mkdir_p, dir, 0755);
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        rt_cgroup_device_rules(res, &rules, &n);
        r = rt_cgroup_bpf_devices(fd, rules, n, &e);
        if (r == -EPERM || r == -ENOSYS || r == -EOPNOTSUPP) {
                print_message("skipped: the kernel refuses device eBPF programs here: %s\n", e->msg);
                skip();
        }
        if (r < 0)
                fail_msg("%s", e->msg);
        OK(rt_cgroup_bpf_devices, fd, rules, n);
        assert_int_equal(rt_cgroup_bpf_count(fd), 1);

        tmp = make_scratch();
        procs = xasprintf("%s/cgroup.procs", dir);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                _cleanup_free_ char *a = xasprintf("%s/full", tmp), *b = xasprintf("%s/kmsg", tmp);
                _cleanup_free_ char *c = xasprintf("%s/mem", tmp);
                if (write_file_at(AT_FDCWD, procs, "0", NULL) < 0)
                        _exit(10);
                if (mknod(a, S_IFCHR | 0600, makedev(1, 7)) < 0) /* a default device: allowed */
                        _exit(11);
                if (mknod(b, S_IFCHR | 0600, makedev(1, 11)) == 0 || errno != EPERM) /* rw but no m */
                        _exit(12);
                if (mknod(c, S_IFCHR | 0600, makedev(1, 1)) == 0 || errno != EPERM) /* denied */
                        _exit(13);
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_layout_hybrid),
                cmocka_unit_test(test_layout_v1_v2),
                cmocka_unit_test(test_layout_none),
                cmocka_unit_test(test_paths),
                cmocka_unit_test(test_parse_errors),
                cmocka_unit_test(test_parse_values),
                cmocka_unit_test(test_mode),
                cmocka_unit_test_teardown(test_lifecycle, teardown),
                cmocka_unit_test_teardown(test_update_partial, teardown),
                cmocka_unit_test_teardown(test_v1_extras, teardown),
                cmocka_unit_test_teardown(test_bad_value, teardown),
                cmocka_unit_test_teardown(test_create_busy, teardown),
                cmocka_unit_test_teardown(test_unsupported, teardown),
                cmocka_unit_test_teardown(test_relative, teardown),
                cmocka_unit_test_teardown(test_json, teardown),
                cmocka_unit_test(test_from_json_errors),
                cmocka_unit_test_teardown(test_v2_unified, teardown),
                cmocka_unit_test_teardown(test_v2_formats, teardown),
                cmocka_unit_test_teardown(test_hybrid_hugetlb, teardown),
                cmocka_unit_test_teardown(test_bpf_devices, teardown),
        };
        _cleanup_(rt_cgroup_host_freep) CgHost *probe = NULL;

        if (geteuid() != 0) {
                printf("skipped: needs root to create cgroups\n");
                return 77;
        }
        if (rt_cgroup_host_load(&probe, NULL) < 0) {
                printf("skipped: no cgroup hierarchy is mounted\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
