/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-vm-cmdline.c: QEMU's argv for VM configurations, MAC addresses, the accelerator and the TSC rate */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/strv.h"
#include "vm/agent-proto.h"
#include "vm/qemu.h"

static const VmConfig base_cfg = {
        .accel = VM_ACCEL_TCG,
        .tsc_khz = 2596000,
        .memory = 256 << 20,
        .cpus = 2,
        .kernel = "/boot/vmlinuz",
        .initrd = "/var/lib/hull/initrd",
        .append = "hull.mode=app hull.ip=10.0.0.2/24",
        .disk = "/var/lib/hull/instances/a,b/disk.qcow2",
        .qmp_socket = "/run/hull/a/qmp.sock",
        .agent_socket_dir = "/run/hull/a",
        .console_socket = "/run/hull/a/console.sock",
        .console_log = "/var/lib/hull/instances/a/console.log",
};

/* The value following option opt (its n-th occurrence), or NULL. */
static const char *opt_value(char *const *argv, const char *opt, int n)
{
        for (size_t i = 1; argv[i]; i++)
                if (strcmp(argv[i], opt) == 0 && argv[i + 1] && n-- == 0)
                        return argv[i + 1];
        return NULL;
}

static int count(char *const *argv, const char *s)
{
        int n = 0;
        for (size_t i = 0; argv[i]; i++)
                n += strcmp(argv[i], s) == 0;
        return n;
}

/* True if some value of opt equals want. */
static bool has_opt(char *const *argv, const char *opt, const char *want)
{
        const char *v;
        for (int n = 0; (v = opt_value(argv, opt, n)); n++)
                if (strcmp(v, want) == 0)
                        return true;
        return false;
}

static void test_tcg(void **state)
{
        _cleanup_strv_ char **argv = vm_qemu_argv(&base_cfg);

        assert_string_equal(argv[0], "qemu-system-x86_64");
        assert_string_equal(opt_value(argv, "-M", 0), "microvm,x-option-roms=off,pcie=off,rtc=on");
        assert_string_equal(opt_value(argv, "-accel", 0), "tcg");
        assert_string_equal(opt_value(argv, "-cpu", 0), "max");
        assert_string_equal(opt_value(argv, "-m", 0), "256");
        assert_string_equal(opt_value(argv, "-smp", 0), "2");
        assert_int_equal(count(argv, "-nodefaults"), 1);
        assert_int_equal(count(argv, "-no-user-config"), 1);
        assert_int_equal(count(argv, "-no-reboot"), 1);
        assert_string_equal(opt_value(argv, "-display", 0), "none");
        assert_string_equal(opt_value(argv, "-kernel", 0), "/boot/vmlinuz");
        assert_string_equal(opt_value(argv, "-initrd", 0), "/var/lib/hull/initrd");
        assert_string_equal(opt_value(argv, "-append", 0), "console=ttyS0 quiet loglevel=3 panic=-1 reboot=t "
                                                           "tsc_early_khz=2596000 hull.mode=app hull.ip=10.0.0.2/24");
        assert_string_equal(opt_value(argv, "-sandbox", 0),
                            "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");

        /* Console, with its log. */
        assert_true(has_opt(argv, "-chardev", "socket,id=con,path=/run/hull/a/console.sock,server=on,wait=off,"
                                              "logfile=/var/lib/hull/instances/a/console.log,logappend=on"));
        assert_string_equal(opt_value(argv, "-serial", 0), "chardev:con");
        /* The disk: a comma in the path is doubled, as QEMU's option parser wants. */
        assert_string_equal(opt_value(argv, "-drive", 0),
                            "file=/var/lib/hull/instances/a,,b/disk.qcow2,if=none,id=disk0,format=qcow2,discard=unmap");
        assert_true(has_opt(argv, "-device", "virtio-blk-device,drive=disk0"));
        /* The agent's ports. */
        assert_true(has_opt(argv, "-device", "virtio-serial-device,id=agentbus"));
        for (int i = 0; i < VM_AGENT_BOOT_PORTS; i++) {
                char want[256];
                snprintf(want, sizeof(want), "socket,id=agent%d,path=/run/hull/a/agent.%d.sock,server=on,wait=off", i, i);
                assert_true(has_opt(argv, "-chardev", want));
                snprintf(want, sizeof(want),
                         "virtserialport,bus=agentbus.0,nr=%d,chardev=agent%d,id=port%d,name=org.hull.agent.%d", i + 1,
                         i, i, i);
                assert_true(has_opt(argv, "-device", want));
        }
        assert_int_equal(count(argv, "-chardev"), VM_AGENT_BOOT_PORTS + 2);
        /* QMP. */
        assert_true(has_opt(argv, "-chardev", "socket,id=qmp,path=/run/hull/a/qmp.sock,server=on,wait=off"));
        assert_string_equal(opt_value(argv, "-mon", 0), "chardev=qmp,mode=control");
        /* No network, not incoming. */
        assert_null(opt_value(argv, "-netdev", 0));
        assert_int_equal(count(argv, "-incoming"), 0);
}

static void test_kvm_tap_incoming(void **state)
{
        VmConfig cfg = base_cfg;
        _cleanup_strv_ char **argv = NULL;

        cfg.accel = VM_ACCEL_KVM;
        cfg.qemu = "/opt/qemu/bin/qemu-system-x86_64";
        cfg.memory = (512 << 20) + 1; /* rounded up to whole MiB */
        cfg.cpus = 0;
        cfg.tap = "hull-tap0";
        cfg.mac = "52:54:00:12:34:56";
        cfg.is_incoming = true;
        cfg.append = NULL;
        argv = vm_qemu_argv(&cfg);

        assert_string_equal(argv[0], "/opt/qemu/bin/qemu-system-x86_64");
        assert_string_equal(opt_value(argv, "-accel", 0), "kvm");
        assert_string_equal(opt_value(argv, "-cpu", 0), "host");
        assert_string_equal(opt_value(argv, "-m", 0), "513");
        assert_string_equal(opt_value(argv, "-smp", 0), "1");
        /* KVM guests read their TSC rate from kvm-clock: no tsc_early_khz, and no trailing space. */
        assert_string_equal(opt_value(argv, "-append", 0), "console=ttyS0 quiet loglevel=3 panic=-1 reboot=t");
        assert_string_equal(opt_value(argv, "-netdev", 0), "tap,id=net0,ifname=hull-tap0,script=no,downscript=no");
        assert_true(has_opt(argv, "-device", "virtio-net-device,netdev=net0,mac=52:54:00:12:34:56"));
        assert_string_equal(opt_value(argv, "-incoming", 0), "defer");
}

static void test_minimal(void **state)
{
        VmConfig cfg = { .accel = VM_ACCEL_TCG, .memory = 128 << 20, .cpus = 1, .kernel = "/k" };
        _cleanup_strv_ char **argv = vm_qemu_argv(&cfg);

        /* Only what was asked for: no devices for absent paths. */
        assert_null(opt_value(argv, "-initrd", 0));
        assert_null(opt_value(argv, "-drive", 0));
        assert_null(opt_value(argv, "-chardev", 0));
        assert_null(opt_value(argv, "-device", 0));
        assert_null(opt_value(argv, "-serial", 0));
        assert_string_equal(opt_value(argv, "-append", 0), "console=ttyS0 quiet loglevel=3 panic=-1 reboot=t");
}

static void test_mac(void **state)
{
        char mac[18], again[18];

        vm_mac_for("a1b2c3d4e5f6", mac);
        assert_string_equal(mac, "52:54:00:a1:b2:c3");
        vm_mac_for("ABCDEF", mac);
        assert_string_equal(mac, "52:54:00:ab:cd:ef");
        /* Not hex: a stable hash. */
        vm_mac_for("web-1", mac);
        vm_mac_for("web-1", again);
        assert_string_equal(mac, again);
        assert_int_equal(strncmp(mac, "52:54:00:", 9), 0);
        assert_int_equal(strlen(mac), 17);
        vm_mac_for("web-2", again);
        assert_string_not_equal(mac, again);
        vm_mac_for("", mac);
        assert_int_equal(strlen(mac), 17);
}

static void test_accel_env(void **state)
{
        _cleanup_free_ char *reason = NULL;
        VmAccel a;

        setenv("HULL_VM_ACCEL", "kvm", 1);
        vm_accel_detect(&a, &reason);
        assert_int_equal(a, VM_ACCEL_KVM);
        assert_non_null(strstr(reason, "HULL_VM_ACCEL"));
        reason = mfree(reason);
        setenv("HULL_VM_ACCEL", "tcg", 1);
        vm_accel_detect(&a, &reason);
        assert_int_equal(a, VM_ACCEL_TCG);
        unsetenv("HULL_VM_ACCEL");
        assert_string_equal(vm_accel_name(VM_ACCEL_KVM), "kvm");
        assert_string_equal(vm_accel_name(VM_ACCEL_TCG), "tcg");
}

static void test_accel_host(void **state)
{
        _cleanup_free_ char *reason = NULL;
        VmAccel a;

        unsetenv("HULL_VM_ACCEL");
        vm_accel_detect(&a, &reason);
        assert_non_null(reason);
        fprintf(stderr, "# accelerator here: %s (%s)\n", vm_accel_name(a), reason);
        if (access("/sys/module/kvm_pvm", F_OK) == 0 && access("/dev/kvm", R_OK | W_OK) == 0) {
                assert_int_equal(a, VM_ACCEL_TCG);
                assert_non_null(strstr(reason, "PVM"));
                assert_non_null(strstr(reason, "kvm_pvm"));
        } else if (access("/dev/kvm", R_OK | W_OK) != 0) {
                assert_int_equal(a, VM_ACCEL_TCG);
                assert_non_null(strstr(reason, "/dev/kvm"));
        } else if (a == VM_ACCEL_KVM) {
                assert_string_equal(reason, "KVM works");
        }
}

/* The probe itself, run even where detection skips it: whatever KVM here does, it answers in time. */
static void test_accel_probe(void **state)
{
        _cleanup_free_ char *reason = NULL;
        int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
        bool ok;

        if (fd < 0) {
                skip();
                return;
        }
        ok = vm_accel_probe_kvm(fd, 2000, &reason);
        close(fd);
        assert_non_null(reason);
        fprintf(stderr, "# KVM probe: %s (%s)\n", ok ? "runs" : "fails", reason);
        if (ok)
                assert_string_equal(reason, "KVM works");
}

static double cpuinfo_mhz(void)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/cpuinfo", "re");
        char line[256];
        double mhz;

        while (f && fgets(line, sizeof(line), f))
                if (sscanf(line, "cpu MHz : %lf", &mhz) == 1)
                        return mhz;
        return 0;
}

static void test_tsc(void **state)
{
        double mhz = cpuinfo_mhz();
        uint32_t khz = vm_tsc_khz();

        fprintf(stderr, "# tsc %u kHz, cpuinfo %.3f MHz\n", khz, mhz);
        assert_true(khz > 0);
        if (mhz <= 0) {
                skip();
                return;
        }
        assert_true(khz > mhz * 1000 * 0.95 && khz < mhz * 1000 * 1.05);
}

/* The hot-plugged port is the device the command line gives for the same index. */
static void test_port_hotplug_args(void **state)
{
        _cleanup_json_ json_t *chardev = vm_agent_port_chardev("/run/hull/a", 3), *dev = vm_agent_port_device(3);
        _cleanup_free_ char *ct = json_dump_compact(chardev), *dt = json_dump_compact(dev);
        VmConfig cfg = base_cfg;
        _cleanup_strv_ char **argv = NULL;

        assert_string_equal(ct, "{\"id\":\"agent3\",\"backend\":{\"type\":\"socket\",\"data\":{\"addr\":{\"type\":"
                                "\"unix\",\"data\":{\"path\":\"/run/hull/a/agent.3.sock\"}},\"server\":true,"
                                "\"wait\":false}}}");
        assert_string_equal(dt, "{\"driver\":\"virtserialport\",\"bus\":\"agentbus.0\",\"nr\":4,\"chardev\":"
                                "\"agent3\",\"id\":\"port3\",\"name\":\"org.hull.agent.3\"}");
        /* An incoming VM is given the ports its source had, by the same numbers. */
        cfg.agent_ports = 4;
        argv = vm_qemu_argv(&cfg);
        assert_int_equal(count(argv, "-chardev"), 4 + 2);
        assert_true(has_opt(argv, "-device",
                            "virtserialport,bus=agentbus.0,nr=4,chardev=agent3,id=port3,name=org.hull.agent.3"));
        (void)state;
}

/* The probe's answers are kept per boot of the host; a cache of another boot or garbage is measured anew. */
static void test_host_probe_cache(void **state)
{
        char dir[] = "/tmp/hull-test-probe.XXXXXX";
        _cleanup_free_ char *path = NULL, *text = NULL;
        VmHostProbe a = {}, b = {};
        size_t len;

        assert_non_null(mkdtemp(dir));
        path = xasprintf("%s/probe.json", dir);
        unsetenv("HULL_VM_ACCEL");
        vm_host_probe(path, &a);
        assert_non_null(a.reason);
        assert_int_equal(read_file_at(AT_FDCWD, path, &text, &len, NULL), 0);
        assert_non_null(strstr(text, "\"boot_id\""));
        /* A cache that says something else is believed while its boot id is this boot's. */
        free(text);
        text = xasprintf("{\"boot_id\":\"other\",\"accel\":\"kvm\",\"reason\":\"stale\",\"tsc_khz\":1}");
        assert_int_equal(write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0600, NULL), 0);
        vm_host_probe(path, &b);
        assert_string_equal(b.reason, a.reason);
        assert_int_equal(b.accel, a.accel);
        vm_host_probe_done(&b);
        assert_int_equal(write_file_atomic_at(AT_FDCWD, path, "garbage", 7, 0600, NULL), 0);
        vm_host_probe(path, &b);
        assert_string_equal(b.reason, a.reason);
        /* Read back from the cache now: the very TSC rate measured last, not a new measurement. */
        {
                VmHostProbe c = {};
                vm_host_probe(path, &c);
                assert_int_equal(c.tsc_khz, b.tsc_khz);
                vm_host_probe_done(&c);
        }
        vm_host_probe_done(&b);
        vm_host_probe_done(&a);
        assert_int_equal(rm_rf_at(AT_FDCWD, dir, NULL), 0);
        (void)state;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_tcg),
                cmocka_unit_test(test_kvm_tap_incoming),
                cmocka_unit_test(test_minimal),
                cmocka_unit_test(test_mac),
                cmocka_unit_test(test_accel_env),
                cmocka_unit_test(test_accel_host),
                cmocka_unit_test(test_accel_probe),
                cmocka_unit_test(test_tsc),
                cmocka_unit_test(test_port_hotplug_args),
                cmocka_unit_test(test_host_probe_cache),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
