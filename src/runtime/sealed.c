/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sealed.c: re-running the runtime from a sealed in-memory copy of its binary (CVE-2019-5736) */
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
        return !p->has_caps || (p->caps[RT_CAP_BOUNDING] & (1ULL << CAP_SYS_PTRACE_BIT));
}

int rt_sealed_reexec(Error **err)
{
        _cleanup_close_ int self = -EBADF, mfd = -EBADF;
        _cleanup_free_ char *cmdline = NULL;
        _cleanup_strv_ char **argv = NULL;
        struct stat st;
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
        for (off_t done = 0; done < st.st_size;) {
                ssize_t n = sendfile(mfd, self, NULL, (size_t)(st.st_size - done));
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
