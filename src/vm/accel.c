/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* accel.c: which accelerator runs guests here (KVM, proven by running a tiny guest, or TCG), the TSC rate */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/kvm.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include "common/alloc.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/process.h"
#include "qemu.h"

#define PROBE_TIMEOUT_MS 500
#define PROBE_PORT 0x10
#define PROBE_VALUE 42
#define PROBE_GPA 0x1000

/* What a probe child's exit code says; 0 is success. */
enum {
        PROBE_FAIL_CREATE_VM = 10,
        PROBE_FAIL_MEMORY,
        PROBE_FAIL_VCPU,
        PROBE_FAIL_REGS,
        PROBE_FAIL_RUN,
        PROBE_FAIL_EXIT, /* + the exit reason, capped */
};

static const char *probe_stage(int code)
{
        switch (code) {
        case PROBE_FAIL_CREATE_VM:
                return "KVM_CREATE_VM failed";
        case PROBE_FAIL_MEMORY:
                return "setting up guest memory failed";
        case PROBE_FAIL_VCPU:
                return "KVM_CREATE_VCPU failed";
        case PROBE_FAIL_REGS:
                return "setting the vCPU registers failed";
        case PROBE_FAIL_RUN:
                return "KVM_RUN failed";
        default:
                return "the test guest did not exit as expected";
        }
}

/* Runs in the probe child (async-signal-safe calls only): a real-mode guest of three instructions,
 * "mov al, 42; out 0x10, al; hlt", must exit to us with that port write. Returns the exit code. */
static int probe_child(int kvm_fd)
{
        static const uint8_t code[] = { 0xb0, PROBE_VALUE, 0xe6, PROBE_PORT, 0xf4 };
        struct kvm_userspace_memory_region region = { .slot = 0, .guest_phys_addr = PROBE_GPA,
                                                      .memory_size = 0x1000 };
        struct kvm_sregs sregs;
        struct kvm_regs regs = { .rip = PROBE_GPA, .rflags = 0x2 };
        struct kvm_run *run;
        int vm, vcpu, run_size;
        void *mem;

        vm = ioctl(kvm_fd, KVM_CREATE_VM, 0UL);
        if (vm < 0)
                return PROBE_FAIL_CREATE_VM;
        mem = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED)
                return PROBE_FAIL_MEMORY;
        memcpy(mem, code, sizeof(code));
        region.userspace_addr = (uintptr_t)mem;
        if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
                return PROBE_FAIL_MEMORY;
        vcpu = ioctl(vm, KVM_CREATE_VCPU, 0UL);
        if (vcpu < 0)
                return PROBE_FAIL_VCPU;
        run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
        if (run_size <= 0)
                return PROBE_FAIL_VCPU;
        run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
        if (run == MAP_FAILED)
                return PROBE_FAIL_VCPU;
        if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
                return PROBE_FAIL_REGS;
        sregs.cs.base = 0;
        sregs.cs.selector = 0;
        if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
                return PROBE_FAIL_REGS;
        if (ioctl(vcpu, KVM_RUN, 0) < 0)
                return PROBE_FAIL_RUN;
        if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT &&
            run->io.port == PROBE_PORT && run->io.size == 1 &&
            *((uint8_t *)run + run->io.data_offset) == PROBE_VALUE)
                return 0;
        return PROBE_FAIL_EXIT + (run->exit_reason < 100 ? (int)run->exit_reason : 100);
}

bool vm_accel_probe_kvm(int kvm_fd, int timeout_ms, char **ret_reason)
{
        _cleanup_(pid_killp) pid_t pid = 0;
        _cleanup_close_ int pidfd = -EBADF;
        struct pollfd p;
        int status, r;

        /* The guest runs in a child: a KVM_RUN that never comes back is ended by SIGKILL, with no signal
         * handler or timer installed in the caller's process. */
        pid = fork();
        if (pid < 0) {
                *ret_reason = xasprintf("cannot fork a KVM probe: %s", strerror(errno));
                return false;
        }
        if (pid == 0)
                _exit(probe_child(kvm_fd));
        pidfd = pidfd_open_pid(pid);
        if (pidfd < 0) {
                *ret_reason = xasprintf("cannot watch the KVM probe: %s", strerror(-pidfd));
                return false;
        }
        p = (struct pollfd){ .fd = pidfd, .events = POLLIN };
        do
                r = poll(&p, 1, timeout_ms);
        while (r < 0 && errno == EINTR);
        if (r <= 0) {
                *ret_reason = xasprintf("KVM did not run a test guest's first instructions within %d ms",
                                        timeout_ms);
                return false;
        }
        if (process_wait_status(TAKE_PID(pid), &status, NULL) < 0) {
                *ret_reason = xstrdup("cannot reap the KVM probe");
                return false;
        }
        if (status != 0) {
                if (status >= PROBE_FAIL_EXIT && status < 128)
                        *ret_reason = xasprintf("KVM test guest: unexpected exit reason %d",
                                                status - PROBE_FAIL_EXIT);
                else if (status >= 128)
                        *ret_reason = xasprintf("KVM test guest: killed by signal %d", status - 128);
                else
                        *ret_reason = xasprintf("KVM test guest: %s", probe_stage(status));
                return false;
        }
        *ret_reason = xstrdup("KVM works");
        return true;
}

void vm_accel_detect(VmAccel *ret, char **ret_reason)
{
        const char *env = getenv("HULL_VM_ACCEL");
        _cleanup_close_ int fd = -EBADF;

        if (env && (strcmp(env, "kvm") == 0 || strcmp(env, "tcg") == 0)) {
                *ret = strcmp(env, "kvm") == 0 ? VM_ACCEL_KVM : VM_ACCEL_TCG;
                *ret_reason = xasprintf("HULL_VM_ACCEL=%s", env);
                return;
        }
        if (env && env[0])
                log_debug("HULL_VM_ACCEL='%s' is neither kvm nor tcg, ignoring", env);

        *ret = VM_ACCEL_TCG;
        fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
        if (fd < 0) {
                *ret_reason = xasprintf("cannot open /dev/kvm: %s", strerror(errno));
                return;
        }
        if (access("/sys/module/kvm_pvm", F_OK) == 0) {
                *ret_reason = xstrdup("KVM here is PVM (kvm_pvm), which cannot run an unmodified guest "
                                      "kernel at speed");
                return;
        }
        if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
                *ret_reason = xstrdup("/dev/kvm speaks an unknown KVM API version");
                return;
        }
        if (vm_accel_probe_kvm(fd, PROBE_TIMEOUT_MS, ret_reason))
                *ret = VM_ACCEL_KVM;
}

#if defined(__x86_64__) || defined(__i386__)
static uint64_t ns_of(const struct timespec *t)
{
        return (uint64_t)t->tv_sec * 1000000000u + (uint64_t)t->tv_nsec;
}

/* The TSC and CLOCK_MONOTONIC_RAW read together: the TSC taken between two clock reads, their midpoint
 * its time; *ret_window says how far apart the clock reads were (a preempted pair is worth retrying). */
static void read_pair(uint64_t *ret_tsc, uint64_t *ret_ns, uint64_t *ret_window)
{
        struct timespec a, b;

        clock_gettime(CLOCK_MONOTONIC_RAW, &a);
        *ret_tsc = __rdtsc();
        clock_gettime(CLOCK_MONOTONIC_RAW, &b);
        *ret_ns = (ns_of(&a) + ns_of(&b)) / 2;
        *ret_window = ns_of(&b) - ns_of(&a);
}

/* The tightest of a few readings. */
static void read_best_pair(uint64_t *ret_tsc, uint64_t *ret_ns)
{
        uint64_t best = UINT64_MAX;

        for (int i = 0; i < 5; i++) {
                uint64_t tsc, ns, window;
                read_pair(&tsc, &ns, &window);
                if (window < best) {
                        best = window;
                        *ret_tsc = tsc;
                        *ret_ns = ns;
                }
        }
}

uint32_t vm_tsc_khz(void)
{
        uint64_t tsc0 = 0, ns0 = 0, tsc1 = 0, ns1 = 0;
        struct timespec pause = { .tv_nsec = 10 * 1000 * 1000 };

        read_best_pair(&tsc0, &ns0);
        while (nanosleep(&pause, &pause) < 0 && errno == EINTR)
                ;
        read_best_pair(&tsc1, &ns1);
        if (ns1 <= ns0 || tsc1 <= tsc0)
                return 0;
        /* cycles per ms, rounded: (cycles * 1e6 + ns / 2) / ns; cycles over 10 ms stay far below 2^44. */
        return (uint32_t)(((tsc1 - tsc0) * 1000000u + (ns1 - ns0) / 2) / (ns1 - ns0));
}
#else
uint32_t vm_tsc_khz(void)
{
        return 0;
}
#endif

/* This boot of the host: what the probe's answers hold for. */
static char *boot_id(void)
{
        char *text = NULL;
        size_t len;

        if (read_file_at(AT_FDCWD, "/proc/sys/kernel/random/boot_id", &text, &len, NULL) < 0)
                return NULL;
        text[strcspn(text, "\n")] = 0;
        return text;
}

static bool cache_read(const char *path, const char *boot, VmHostProbe *ret)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_json_ json_t *j = NULL;
        const char *b = NULL, *accel = NULL, *reason = NULL;
        int64_t tsc = 0;
        size_t len;

        if (read_file_at(AT_FDCWD, path, &text, &len, NULL) < 0 || json_parse(text, len, "probe", &j, NULL) < 0)
                return false;
        if (json_get_string(j, "boot_id", "probe", &b, NULL) <= 0 || strcmp(b, boot) != 0 ||
            json_get_string(j, "accel", "probe", &accel, NULL) <= 0 ||
            json_get_string(j, "reason", "probe", &reason, NULL) <= 0 ||
            json_get_int_range(j, "tsc_khz", "probe", 0, UINT32_MAX, &tsc, NULL) <= 0)
                return false;
        if (strcmp(accel, "kvm") != 0 && strcmp(accel, "tcg") != 0)
                return false;
        ret->accel = strcmp(accel, "kvm") == 0 ? VM_ACCEL_KVM : VM_ACCEL_TCG;
        ret->reason = xstrdup(reason);
        ret->tsc_khz = (uint32_t)tsc;
        return true;
}

void vm_host_probe(const char *cache_path, VmHostProbe *ret)
{
        _cleanup_free_ char *boot = boot_id(), *text = NULL;
        _cleanup_json_ json_t *j = NULL;
        const char *env = getenv("HULL_VM_ACCEL");

        *ret = (VmHostProbe){};
        if (cache_path && boot && !(env && env[0]) && cache_read(cache_path, boot, ret))
                return;
        vm_accel_detect(&ret->accel, &ret->reason);
        ret->tsc_khz = vm_tsc_khz();
        if (!cache_path || !boot || (env && env[0]))
                return;
        j = json_pack("{s:s, s:s, s:s, s:I}", "boot_id", boot, "accel", vm_accel_name(ret->accel), "reason",
                      ret->reason, "tsc_khz", (json_int_t)ret->tsc_khz);
        text = json_dumps(j, JSON_COMPACT);
        if (write_file_atomic_at(AT_FDCWD, cache_path, text, strlen(text), 0600, NULL) < 0)
                log_debug("probe cache '%s' not written", cache_path);
}

void vm_host_probe_done(VmHostProbe *p)
{
        p->reason = mfree(p->reason);
}
