/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-layer.c: libFuzzer target for layer tarballs: img_layer_unpack() on the raw bytes, in a scratch dir */
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
#include "image/layer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char scratch[64]; /* hull-fuzz-layer.XXXXXX, holding only "layers" between runs */
static int layers_fd = -EBADF;

static void remove_scratch(void)
{
        rm_rf_at(AT_FDCWD, scratch, NULL);
}

static void make_scratch(void)
{
        /* On tmpfs when there is one: each unpack ends in syncfs(), which tmpfs makes free. */
        const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        char path[96];

        snprintf(scratch, sizeof(scratch), "%s/hull-fuzz-layer.XXXXXX", tmp);
        if (!mkdtemp(scratch))
                abort();
        atexit(remove_scratch);
        snprintf(path, sizeof(path), "%s/layers", scratch);
        if (mkdir(path, 0700) < 0)
                abort();
        layers_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (layers_fd < 0)
                abort();
}

/* Names in dir other than "." and ".."; abort() on the first not equal to allowed (NULL: none is). */
static void check_only(const char *dir, const char *allowed)
{
        DIR *d = opendir(dir);
        struct dirent *de;

        if (!d)
                abort();
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (!allowed || strcmp(de->d_name, allowed) != 0) {
                        fprintf(stderr, "fuzz-layer: '%s/%s' was left or written outside the layer\n", dir,
                                de->d_name);
                        abort();
                }
        }
        closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_error_ Error *err = NULL;
        _cleanup_close_ int fd = -EBADF;
        char layers[96];
        size_t off = 0;

        if (layers_fd < 0)
                make_scratch();
        /* A memfd: a real fd, as a blob from the store would be. */
        fd = memfd_create("layer", MFD_CLOEXEC);
        if (fd < 0)
                abort();
        while (off < size) {
                ssize_t n = write(fd, data + off, size - off);
                if (n <= 0)
                        abort();
                off += (size_t)n;
        }
        if (lseek(fd, 0, SEEK_SET) != 0)
                abort();
        (void)img_layer_unpack(fd, layers_fd, "l", NULL, NULL, &err);

        /* Whatever it made lives in layers/l; nothing else may exist, temporaries included. */
        if (rm_rf_at(layers_fd, "l", NULL) < 0)
                abort();
        snprintf(layers, sizeof(layers), "%s/layers", scratch);
        check_only(scratch, "layers");
        check_only(layers, NULL);
        return 0;
}
