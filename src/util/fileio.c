/* SPDX-License-Identifier: Apache-2.0 */
/* Whole-file reads and atomic writes (see fileio.h). */
#include "util/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int file_read_fd(int fd, size_t max, char **ret, size_t *ret_len) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        if ((size_t)st.st_size > max)
                return -EFBIG;
        char *p = malloc(max + 1 < (size_t)st.st_size + 1 ? max + 1 : (size_t)st.st_size + 1);
        if (!p)
                return -ENOMEM;
        size_t len = 0, cap = (size_t)st.st_size;
        for (;;) {
                /* The file may grow between fstat and read: never read past cap+1. */
                ssize_t n = read(fd, p + len, cap + 1 - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        int r = -errno;
                        free(p);
                        return r;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > cap) {
                        free(p);
                        return -EFBIG;
                }
        }
        p[len] = '\0';
        *ret = p;
        if (ret_len)
                *ret_len = len;
        return 0;
}

int file_read_all(const char *path, size_t max, char **ret, size_t *ret_len) {
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        int r = file_read_fd(fd, max, ret, ret_len);
        close(fd);
        return r;
}

int file_read_secret(const char *path, size_t max, char **ret, size_t *ret_len) {
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        struct stat st;
        int r = fstat(fd, &st) < 0 ? -errno : 0;
        if (r == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)))
                r = -EPERM;
        if (r == 0)
                r = file_read_fd(fd, max, ret, ret_len);
        close(fd);
        return r;
}

int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode, bool overwrite) {
        if (!overwrite && access(path, F_OK) == 0)
                return -EEXIST;
        char tmp[4096];
        int n = snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path);
        if (n < 0 || (size_t)n >= sizeof(tmp))
                return -ENAMETOOLONG;
        int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        int r = 0;
        if (fchmod(fd, mode) < 0)
                r = -errno;
        const char *p = data;
        size_t left = len;
        while (r == 0 && left > 0) {
                ssize_t w = write(fd, p, left);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                p += w;
                left -= (size_t)w;
        }
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                unlink(tmp);
        return r;
}
