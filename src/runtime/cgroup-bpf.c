/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgroup-bpf.c: the cgroup v2 device filter, an eBPF program built and attached with raw bpf(2), no libbpf */
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/log.h"
#include "runtime/cgroup-internal.h"

#define INSN(c, d, s, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
#define LDX_W(dst, src, off) INSN(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0)
#define MOV32_REG(dst, src) INSN(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
#define ALU32_IMM(op, dst, imm) INSN(BPF_ALU | (op) | BPF_K, dst, 0, 0, imm)
#define JMP_IMM(op, dst, imm) INSN(BPF_JMP | (op) | BPF_K, dst, 0, 0, imm) /* off patched to the next rule */
#define MOV64_IMM(dst, imm) INSN(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
#define EXIT() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* Registers after the prologue: R2 device type, R3 requested access, R4 major, R5 minor. */
enum { R0, R1, R2, R3, R4, R5 };

static long sys_bpf(int cmd, union bpf_attr *attr)
{
        return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

typedef struct Prog {
        struct bpf_insn *insns;
        size_t n;
} Prog;

static void emit(Prog *p, struct bpf_insn insn)
{
        *xappend(p->insns, p->n) = insn;
}

/*
 * One rule: every test that fails jumps past the rule's end to the next one; a rule that matches returns its
 * verdict. An allow rule must cover all the access asked for (as v1 exceptions do); a deny rule matches if it
 * covers any of it, so "deny r" after "allow rwm" refuses an open for reading and writing.
 */
static bool emit_rule(Prog *p, const CgDeviceRule *rule)
{
        size_t start = p->n;
        bool is_conditional;

        if (rule->type != 'a')
                emit(p, JMP_IMM(BPF_JNE, R2, rule->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK));
        if ((rule->access & CG_ACC_ALL) != CG_ACC_ALL) {
                emit(p, MOV32_REG(R1, R3));
                if (rule->is_allow) {
                        emit(p, ALU32_IMM(BPF_AND, R1, (int)(~rule->access & CG_ACC_ALL)));
                        emit(p, JMP_IMM(BPF_JNE, R1, 0));
                } else {
                        emit(p, ALU32_IMM(BPF_AND, R1, (int)rule->access));
                        emit(p, JMP_IMM(BPF_JEQ, R1, 0));
                }
        }
        if (rule->type != 'a' && rule->major >= 0)
                emit(p, JMP_IMM(BPF_JNE, R4, (int)rule->major));
        if (rule->type != 'a' && rule->minor >= 0)
                emit(p, JMP_IMM(BPF_JNE, R5, (int)rule->minor));
        is_conditional = p->n > start;
        emit(p, MOV64_IMM(R0, rule->is_allow ? 1 : 0));
        emit(p, EXIT());
        for (size_t i = start; i < p->n; i++)
                if (BPF_CLASS(p->insns[i].code) == BPF_JMP && BPF_OP(p->insns[i].code) != BPF_EXIT)
                        p->insns[i].off = (short)(p->n - i - 1);
        return is_conditional;
}

/*
 * The last matching rule decides, so the rules are tested from the last one back; none matching allows. A rule
 * that matches everything ends the program: the verifier refuses the unreachable code after it.
 */
static void build(Prog *p, const CgDeviceRule *rules, size_t n)
{
        /* struct bpf_cgroup_dev_ctx: access_type (type | access << 16), major, minor */
        emit(p, LDX_W(R2, R1, 0));
        emit(p, MOV32_REG(R3, R2));
        emit(p, ALU32_IMM(BPF_AND, R2, 0xffff));
        emit(p, ALU32_IMM(BPF_RSH, R3, 16));
        emit(p, LDX_W(R4, R1, 4));
        emit(p, LDX_W(R5, R1, 8));
        for (size_t i = n; i > 0; i--)
                if (!emit_rule(p, &rules[i - 1]))
                        return;
        emit(p, MOV64_IMM(R0, 1));
        emit(p, EXIT());
}

static int prog_load(const Prog *p, Error **err)
{
        static char log[8192];
        union bpf_attr attr;
        int fd;

        memset(&attr, 0, sizeof(attr));
        attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        attr.insns = (uint64_t)(uintptr_t)p->insns;
        attr.insn_cnt = (uint32_t)p->n;
        attr.license = (uint64_t)(uintptr_t) "GPL";
        fd = (int)sys_bpf(BPF_PROG_LOAD, &attr);
        if (fd >= 0 || errno != EINVAL)
                return fd >= 0 ? fd : error_set(err, errno, "load the device eBPF program");
        /* Again with the verifier's log, to say why. */
        attr.log_buf = (uint64_t)(uintptr_t)log;
        attr.log_size = sizeof(log);
        attr.log_level = 1;
        log[0] = 0;
        fd = (int)sys_bpf(BPF_PROG_LOAD, &attr);
        if (fd >= 0)
                return fd;
        return error_set(err, errno, "load the device eBPF program (verifier: %.200s)", log);
}

/* The ids of the device programs attached to cgroup_fd itself. */
static int query(int cgroup_fd, uint32_t *ids, uint32_t max, uint32_t *ret_n)
{
        union bpf_attr attr;

        memset(&attr, 0, sizeof(attr));
        attr.query.target_fd = (uint32_t)cgroup_fd;
        attr.query.attach_type = BPF_CGROUP_DEVICE;
        attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
        attr.query.prog_cnt = max;
        if (sys_bpf(BPF_PROG_QUERY, &attr) < 0)
                return -errno;
        *ret_n = attr.query.prog_cnt < max ? attr.query.prog_cnt : max;
        return 0;
}

static int detach_id(int cgroup_fd, uint32_t id, Error **err)
{
        union bpf_attr attr;
        int fd, r = 0;

        memset(&attr, 0, sizeof(attr));
        attr.prog_id = id;
        fd = (int)sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
        if (fd < 0)
                return errno == ENOENT ? 0 : error_set(err, errno, "open device eBPF program %u", id);
        memset(&attr, 0, sizeof(attr));
        attr.target_fd = (uint32_t)cgroup_fd;
        attr.attach_bpf_fd = (uint32_t)fd;
        attr.attach_type = BPF_CGROUP_DEVICE;
        if (sys_bpf(BPF_PROG_DETACH, &attr) < 0 && errno != ENOENT)
                r = error_set(err, errno, "detach device eBPF program %u", id);
        close(fd);
        return r;
}

int rt_cgroup_bpf_devices(int cgroup_fd, const CgDeviceRule *rules, size_t n_rules, Error **err)
{
        _cleanup_free_ struct bpf_insn *insns = NULL;
        _cleanup_close_ int prog_fd = -EBADF;
        uint32_t old[64], n_old = 0;
        union bpf_attr attr;
        Prog p = {0};
        int r;

        build(&p, rules, n_rules);
        insns = p.insns;
        prog_fd = prog_load(&p, err);
        if (prog_fd < 0)
                return prog_fd;
        r = query(cgroup_fd, old, ARRAY_SIZE(old), &n_old);
        if (r < 0)
                return error_set(err, r, "query the device eBPF programs");
        /* Attach first, detach after: in between both apply and all must allow, so nothing is ever more open. */
        memset(&attr, 0, sizeof(attr));
        attr.target_fd = (uint32_t)cgroup_fd;
        attr.attach_bpf_fd = (uint32_t)prog_fd;
        attr.attach_type = BPF_CGROUP_DEVICE;
        attr.attach_flags = BPF_F_ALLOW_MULTI;
        if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0)
                return error_set(err, errno, "attach the device eBPF program");
        log_debug("cgroup: device eBPF program of %zu instructions attached, replacing %u", p.n, n_old);
        for (uint32_t i = 0; i < n_old; i++) {
                r = detach_id(cgroup_fd, old[i], err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int rt_cgroup_bpf_count(int cgroup_fd)
{
        uint32_t ids[64], n = 0;
        int r = query(cgroup_fd, ids, ARRAY_SIZE(ids), &n);
        return r < 0 ? r : (int)n;
}
