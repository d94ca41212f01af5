/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* agent-proto.c: frames and record lists of the hull-agent protocol, libc only (built into the agent too) */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "vm/agent-proto.h"

void vm_put_u32(uint8_t *p, uint32_t v)
{
        p[0] = v & 0xff;
        p[1] = (v >> 8) & 0xff;
        p[2] = (v >> 16) & 0xff;
        p[3] = (v >> 24) & 0xff;
}

uint32_t vm_get_u32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void vm_put_u16(uint8_t *p, uint16_t v)
{
        p[0] = v & 0xff;
        p[1] = (v >> 8) & 0xff;
}

uint16_t vm_get_u16(const uint8_t *p)
{
        return (uint16_t)(p[0] | p[1] << 8);
}

void vm_frame_header(uint8_t *hdr, uint8_t type, uint32_t len)
{
        vm_put_u32(hdr, VM_FRAME_MAGIC);
        hdr[4] = type;
        hdr[5] = hdr[6] = hdr[7] = 0;
        vm_put_u32(hdr + 8, len);
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

int vm_frame_write(int fd, uint8_t type, const void *data, size_t len)
{
        uint8_t buf[VM_FRAME_HEADER_SIZE + 4096];

        if (len > VM_FRAME_MAX)
                return -EMSGSIZE;
        vm_frame_header(buf, type, (uint32_t)len);
        /* Small frames go out in one write: a reader polling the other end sees them whole. */
        if (len <= sizeof(buf) - VM_FRAME_HEADER_SIZE) {
                if (len > 0)
                        memcpy(buf + VM_FRAME_HEADER_SIZE, data, len);
                return write_all(fd, buf, VM_FRAME_HEADER_SIZE + len);
        }
        int r = write_all(fd, buf, VM_FRAME_HEADER_SIZE);
        if (r < 0)
                return r;
        return write_all(fd, data, len);
}

/* Reads exactly len bytes: 0, -EPIPE at end of stream, or -errno. */
static int read_exact(int fd, uint8_t *p, size_t len)
{
        while (len > 0) {
                ssize_t n = read(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EPIPE;
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

int vm_frame_read(int fd, VmFrame *f)
{
        uint8_t hdr[VM_FRAME_HEADER_SIZE];
        uint32_t len;
        int r;

        r = read_exact(fd, hdr, sizeof(hdr));
        if (r < 0)
                return r;
        /* Out of step: slide one byte at a time until the magic lines up. */
        while (vm_get_u32(hdr) != VM_FRAME_MAGIC) {
                memmove(hdr, hdr + 1, sizeof(hdr) - 1);
                r = read_exact(fd, hdr + sizeof(hdr) - 1, 1);
                if (r < 0)
                        return r;
        }
        len = vm_get_u32(hdr + 8);
        if (len > VM_FRAME_MAX)
                return -EBADMSG;
        f->type = hdr[4];
        f->len = len;
        return read_exact(fd, f->data, len);
}

/* Where the next frame may start: the first offset whose bytes match the magic (as far as buf goes). */
static size_t find_magic(const uint8_t *buf, size_t len)
{
        uint8_t magic[4];
        size_t i;

        vm_put_u32(magic, VM_FRAME_MAGIC);
        for (i = 0; i < len; i++) {
                size_t n = len - i < 4 ? len - i : 4;
                if (memcmp(buf + i, magic, n) == 0)
                        return i;
        }
        return len;
}

int vm_frame_parse(const uint8_t *buf, size_t len, VmFrame *f, size_t *ret_used)
{
        size_t skip = find_magic(buf, len);
        uint32_t plen;

        *ret_used = skip;
        buf += skip;
        len -= skip;
        if (len < VM_FRAME_HEADER_SIZE)
                return 0;
        plen = vm_get_u32(buf + 8);
        if (plen > VM_FRAME_MAX) {
                *ret_used = skip + VM_FRAME_HEADER_SIZE;
                return -EBADMSG;
        }
        if (len - VM_FRAME_HEADER_SIZE < plen)
                return 0;
        f->type = buf[4];
        f->len = plen;
        memcpy(f->data, buf + VM_FRAME_HEADER_SIZE, plen);
        *ret_used = skip + VM_FRAME_HEADER_SIZE + plen;
        return 1;
}

int vm_records_add(uint8_t *buf, size_t cap, size_t *len, const char *key, const char *value)
{
        size_t kl = strlen(key), vl = strlen(value);

        if (*len > cap || cap - *len < kl + 1 + vl + 1)
                return -ENOSPC;
        memcpy(buf + *len, key, kl);
        buf[*len + kl] = '=';
        memcpy(buf + *len + kl + 1, value, vl);
        buf[*len + kl + 1 + vl] = 0;
        *len += kl + vl + 2;
        return 0;
}

void vm_records_init(VmRecordIter *it, const uint8_t *buf, size_t len)
{
        it->buf = buf;
        it->len = len > VM_FRAME_MAX ? VM_FRAME_MAX : len;
        it->pos = 0;
}

int vm_records_next(VmRecordIter *it, const char **key, const char **value, size_t *value_len)
{
        const uint8_t *rec, *nul;
        size_t left, n;
        char *eq;

        if (it->pos >= it->len)
                return 0;
        rec = it->buf + it->pos;
        left = it->len - it->pos;
        if (left >= 5 && memcmp(rec, "data=", 5) == 0) {
                n = left; /* the raw rest of the payload */
        } else {
                nul = memchr(rec, 0, left);
                if (!nul)
                        return -EBADMSG;
                n = (size_t)(nul - rec);
        }
        memcpy(it->scratch, rec, n);
        it->scratch[n] = 0;
        eq = memchr(it->scratch, '=', n);
        if (!eq)
                return -EBADMSG;
        *eq = 0;
        *key = it->scratch;
        *value = eq + 1;
        if (value_len)
                *value_len = n - (size_t)(eq + 1 - it->scratch);
        it->pos += n < left ? n + 1 : n;
        return 1;
}
