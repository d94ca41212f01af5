/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cmdline.c: QEMU's argv for a VM (microvm, direct kernel boot), and VM MAC addresses; no I/O */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/strv.h"
#include "agent-proto.h"
#include "qemu.h"

/* The virtio-serial device of the agent ports; its bus is AGENT_BUS ".0". */
#define AGENT_BUS "agentbus"

const char *vm_accel_name(VmAccel a)
{
        return a == VM_ACCEL_KVM ? "kvm" : "tcg";
}

/* A value inside a QEMU option string ("path=VALUE,..."): QEMU reads ",," as one literal comma. */
static char *opt_escape(const char *s)
{
        size_t n = 0;
        char *out, *p;

        for (const char *c = s; *c; c++)
                n += *c == ',' ? 2 : 1;
        out = p = xmalloc(n + 1);
        for (const char *c = s; *c; c++) {
                *p++ = *c;
                if (*c == ',')
                        *p++ = ',';
        }
        *p = 0;
        return out;
}

static void push2(char ***v, const char *opt, const char *value)
{
        strv_push(v, opt);
        strv_push(v, value);
}

/* Pushes opt and a value built from fmt, taking the formatted string. */
_printf_(3, 4) static void pushf(char ***v, const char *opt, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        strv_push(v, opt);
        strv_consume(v, xvasprintf(fmt, ap));
        va_end(ap);
}

/* A unix-socket chardev on which QEMU listens without waiting for a client. */
static void push_socket_chardev(char ***v, const char *id, const char *path)
{
        _cleanup_free_ char *p = opt_escape(path);
        pushf(v, "-chardev", "socket,id=%s,path=%s,server=on,wait=off", id, p);
}

static void push_machine(char ***v, const VmConfig *cfg)
{
        /* ACPI stays on: it describes the virtio-mmio devices to the kernel (the cloud kernel has no
         * virtio_mmio.device= support) and gives system_powerdown a power button. */
        push2(v, "-M", "microvm,x-option-roms=off,pcie=off,rtc=on");
        push2(v, "-accel", vm_accel_name(cfg->accel));
        push2(v, "-cpu", cfg->accel == VM_ACCEL_KVM ? "host" : "max");
        pushf(v, "-m", "%" PRId64, (cfg->memory + (1 << 20) - 1) >> 20);
        pushf(v, "-smp", "%u", cfg->cpus > 0 ? cfg->cpus : 1);
        strv_push(v, "-nodefaults");
        strv_push(v, "-no-user-config");
        push2(v, "-display", "none");
        /* A guest reboot ends QEMU: the supervisor decides what happens next. */
        strv_push(v, "-no-reboot");
        /* hull passes migration streams as fds (getfd + fd:NAME), never exec:, so QEMU needs not spawn. */
        push2(v, "-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
}

static void push_kernel(char ***v, const VmConfig *cfg)
{
        _cleanup_free_ char *tsc = NULL;

        push2(v, "-kernel", cfg->kernel);
        if (cfg->initrd)
                push2(v, "-initrd", cfg->initrd);
        /* Under TCG a microvm guest on a loaded host can hang at "Marking TSC unstable" while it
         * calibrates; the real rate spares it that. */
        if (cfg->accel == VM_ACCEL_TCG && cfg->tsc_khz > 0)
                tsc = xasprintf(" tsc_early_khz=%" PRIu32, cfg->tsc_khz);
        pushf(v, "-append", "console=ttyS0 quiet loglevel=3 panic=-1 reboot=t%s%s%s", tsc ? tsc : "",
              cfg->append && cfg->append[0] ? " " : "", cfg->append ? cfg->append : "");
}

static void push_devices(char ***v, const VmConfig *cfg)
{
        if (cfg->console_socket) {
                _cleanup_free_ char *sock = opt_escape(cfg->console_socket);
                _cleanup_free_ char *log = cfg->console_log ? opt_escape(cfg->console_log) : NULL;
                _cleanup_free_ char *logopt = log ? xasprintf(",logfile=%s,logappend=on", log) : NULL;

                pushf(v, "-chardev", "socket,id=con,path=%s,server=on,wait=off%s", sock,
                      logopt ? logopt : "");
                push2(v, "-serial", "chardev:con");
        }
        if (cfg->disk) {
                _cleanup_free_ char *disk = opt_escape(cfg->disk);
                pushf(v, "-drive", "file=%s,if=none,id=disk0,format=qcow2,discard=unmap", disk);
                push2(v, "-device", "virtio-blk-device,drive=disk0");
        }
        if (cfg->agent_socket_dir) {
                unsigned n = cfg->agent_ports ? cfg->agent_ports : VM_AGENT_BOOT_PORTS;

                push2(v, "-device", "virtio-serial-device,id=" AGENT_BUS);
                for (unsigned i = 0; i < n && i < VM_AGENT_PORTS; i++) {
                        _cleanup_free_ char *path = xasprintf("%s/agent.%u.sock", cfg->agent_socket_dir, i);
                        _cleanup_free_ char *id = xasprintf("agent%u", i);

                        push_socket_chardev(v, id, path);
                        pushf(v, "-device", "virtserialport,bus=" AGENT_BUS ".0,nr=%u,chardev=agent%u,id=port%u,name="
                              VM_AGENT_PORT_NAME "%u", i + 1, i, i, i);
                }
        }
        if (cfg->qmp_socket) {
                push_socket_chardev(v, "qmp", cfg->qmp_socket);
                push2(v, "-mon", "chardev=qmp,mode=control");
        }
        if (cfg->tap) {
                _cleanup_free_ char *tap = opt_escape(cfg->tap);
                pushf(v, "-netdev", "tap,id=net0,ifname=%s,script=no,downscript=no", tap);
                pushf(v, "-device", "virtio-net-device,netdev=net0%s%s", cfg->mac ? ",mac=" : "",
                      cfg->mac ? cfg->mac : "");
        }
}

char **vm_qemu_argv(const VmConfig *cfg)
{
        char **v = NULL;

        strv_push(&v, cfg->qemu ? cfg->qemu : "qemu-system-x86_64");
        push_machine(&v, cfg);
        push_kernel(&v, cfg);
        push_devices(&v, cfg);
        if (cfg->is_incoming)
                push2(&v, "-incoming", "defer");
        return v;
}

json_t *vm_agent_port_chardev(const char *socket_dir, unsigned index)
{
        _cleanup_free_ char *path = xasprintf("%s/agent.%u.sock", socket_dir, index);
        _cleanup_free_ char *id = xasprintf("agent%u", index);

        return json_pack("{s:s, s:{s:s, s:{s:{s:s, s:{s:s}}, s:b, s:b}}}", "id", id, "backend", "type", "socket",
                         "data", "addr", "type", "unix", "data", "path", path, "server", true, "wait", false);
}

json_t *vm_agent_port_device(unsigned index)
{
        _cleanup_free_ char *chardev = xasprintf("agent%u", index), *id = xasprintf("port%u", index),
                            *name = xasprintf(VM_AGENT_PORT_NAME "%u", index);

        return json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "driver", "virtserialport", "bus", AGENT_BUS ".0", "nr",
                         (int)index + 1, "chardev", chardev, "id", id, "name", name);
}

void vm_mac_for(const char *id, char out[static 18])
{
        uint8_t b[3];
        size_t n = 0;

        while (n < 6 && isxdigit((unsigned char)id[n]))
                n++;
        if (n == 6) {
                for (int i = 0; i < 3; i++) {
                        char hex[3] = { id[2 * i], id[2 * i + 1], 0 };
                        b[i] = (uint8_t)strtoul(hex, NULL, 16);
                }
        } else {
                /* Not a hex id (a name): three bytes of its FNV-1a hash, the same for the same name. */
                uint32_t h = 2166136261u;
                for (const char *c = id; *c; c++)
                        h = (h ^ (uint8_t)*c) * 16777619u;
                b[0] = (uint8_t)(h >> 16);
                b[1] = (uint8_t)(h >> 8);
                b[2] = (uint8_t)h;
        }
        snprintf(out, 18, "52:54:00:%02x:%02x:%02x", b[0], b[1], b[2]);
}
