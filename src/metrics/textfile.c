/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Atomic writes of the metrics page for node_exporter's textfile collector. */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "textfile.h"

int textfile_write(const char *path, const char *text, size_t size) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t l;

        assert(path);
        assert(text || size == 0);

        l = strlen(path);
        if (l < 6 || !streq(path + l - 5, ".prom") || path[0] != '/')
                return -EINVAL;

        /* The temporary name does not end in ".prom", so node_exporter skips it. */
        if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;

        if (fchmod(fd, 0644) < 0)
                goto fail;
        for (size_t done = 0; done < size; ) {
                ssize_t n = write(fd, text + done, size - done);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        goto fail;
                }
                done += n;
        }
        if (close(TAKE_FD(fd)) < 0)
                goto fail;
        if (rename(tmp, path) < 0)
                goto fail;
        return 0;

fail: {
        int r = -errno;
        (void) unlink(tmp);
        return r;
}
}
