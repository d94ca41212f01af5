/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sealed.c: re-running the runtime from a sealed in-memory copy of its binary (CVE-2019-5736) */
#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/strv.h"
#include "sealed.h"

#define SEALED_ENV "_HULL_SEALED_BINARY"

bool rt_sealed_needed(const RtSpec *s, const RtProcess *p)
{
        /* In its own user namespace the container holds no capability over our mm (it belongs
         * to the host's user namespace), and without CAP_SYS_PTRACE a non-dumpable process's
         * /proc/PID/exe is closed to it: the cheap protection is enough. */
        if (s->ns[RT_NS_USER].is_set)
                return false;
        if (!p->has_caps)
                return true;
        /* CAP_SYS_ADMIN in the host's user namespace with no seccomp filter is the host's root
         * already (it mounts a cgroup v1 hierarchy and sets its release agent, or the host's
         * disks): a sealed copy would guard nothing that such a container cannot reach. */
        if ((p->caps[RT_CAP_BOUNDING] & (1ULL << CAP_SYS_ADMIN_BIT)) && !s->seccomp)
                return false;
        return p->caps[RT_CAP_BOUNDING] & (1ULL << CAP_SYS_PTRACE_BIT);
}

/*
 * How much of the binary behind fd the kernel and the dynamic loader read: up to the end of the
 * last segment or program header. What follows (debug sections, symbol tables, section headers)
 * is never mapped, and a debug build's is half the file. The whole size unless fd is a 64-bit ELF
 * file whose program headers lie within it.
 */
static off_t loaded_size(int fd, off_t size)
{
        Elf64_Ehdr eh;
        off_t end;

        if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
            eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
            eh.e_phoff > (uint64_t)size || (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > (uint64_t)size - eh.e_phoff)
                return size;
        end = (off_t)(eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr));
        for (size_t i = 0; i < eh.e_phnum; i++) {
                Elf64_Phdr ph;
                if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) != (ssize_t)sizeof(ph) ||
                    ph.p_offset > (uint64_t)size || ph.p_filesz > (uint64_t)size - ph.p_offset)
                        return size;
                if ((off_t)(ph.p_offset + ph.p_filesz) > end)
                        end = (off_t)(ph.p_offset + ph.p_filesz);
        }
        return end;
}

int rt_sealed_reexec(Error **err)
{
        _cleanup_close_ int self = -EBADF, mfd = -EBADF;
        _cleanup_free_ char *cmdline = NULL;
        _cleanup_strv_ char **argv = NULL;
        struct stat st;
        off_t size;
        size_t len;
        int r;

        if (getenv(SEALED_ENV))
                return 0; /* this process already runs from the sealed copy */
        self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        if (self < 0 || fstat(self, &st) < 0)
                return error_set(err, errno, "open /proc/self/exe");
        mfd = memfd_create("hull", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (mfd < 0)
                return error_set(err, errno, "memfd_create");
        size = loaded_size(self, st.st_size);
        for (off_t done = 0; done < size;) {
                ssize_t n = sendfile(mfd, self, NULL, (size_t)(size - done));
                if (n <= 0)
                        return error_set(err, n < 0 ? errno : EIO, "copy the runtime binary");
                done += n;
        }
        /* Sealed: nobody, not even a process that gets hold of it through /proc, can change it. */
        if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
                return error_set(err, errno, "seal the copy");
        r = read_file_at(AT_FDCWD, "/proc/self/cmdline", &cmdline, &len, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < len; i += strlen(cmdline + i) + 1)
                strv_push(&argv, cmdline + i);
        if (setenv(SEALED_ENV, "1", 1) < 0)
                return error_set(err, errno, "setenv");
        fexecve(mfd, argv, environ);
        r = -errno;
        unsetenv(SEALED_ENV);
        return error_set(err, r, "re-execute from the sealed copy");
}
