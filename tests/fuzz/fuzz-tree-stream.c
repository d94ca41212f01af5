/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-tree-stream.c: libFuzzer target for tree streams (migration): stor_tree_receive() of the bytes, in a scratch dir */
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "storage/tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char scratch[64]; /* hull-fuzz-tree.XXXXXX: holds only "in" during a run */

static void remove_scratch(void)
{
        rm_rf_at(AT_FDCWD, scratch, NULL);
}

/* Nothing but "in" (or nothing) in the scratch dir: the stream wrote nowhere else. */
static void check_scratch(void)
{
        DIR *d = opendir(scratch);
        struct dirent *de;

        if (!d)
                abort();
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 || strcmp(de->d_name, "in") == 0)
                        continue;
                fprintf(stderr, "fuzz-tree-stream: '%s/%s' was written outside the tree\n", scratch, de->d_name);
                abort();
        }
        closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char dst[96];
        int fd;

        if (!*scratch) {
                const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
                snprintf(scratch, sizeof(scratch), "%s/hull-fuzz-tree.XXXXXX", tmp);
                if (!mkdtemp(scratch))
                        abort();
                atexit(remove_scratch);
        }
        /* The stream comes from a memfd: reads stop at its end as on a closed socket. */
        fd = memfd_create("stream", MFD_CLOEXEC);
        if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) || lseek(fd, 0, SEEK_SET) < 0)
                abort();
        snprintf(dst, sizeof(dst), "%s/in", scratch);
        if (stor_tree_receive(fd, dst, NULL) < 0 && access(dst, F_OK) == 0) {
                fprintf(stderr, "fuzz-tree-stream: a failed receive left '%s'\n", dst);
                abort();
        }
        close(fd);
        check_scratch();
        rm_rf_at(AT_FDCWD, dst, NULL);
        return 0;
}
