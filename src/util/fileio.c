/* SPDX-License-Identifier: Apache-2.0 */
/* Whole-file reads and atomic writes (see fileio.h). */
#include "util/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
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

/* Owned by root or uid, and writable by no one else (unless sticky, for a
 * directory: then no one else may rename or remove what is in it). */
static bool only_theirs(const struct stat *st, uid_t uid) {
        bool others_write = st->st_mode & (S_IWGRP | S_IWOTH);
        return (st->st_uid == 0 || st->st_uid == uid) && (!others_write || (st->st_mode & S_ISVTX));
}

/* Every directory from path's own up to /. */
static int secret_dirs_check(const char *path, uid_t uid, const char **ret_why) {
        char dir[PATH_MAX];
        if (!realpath(path, dir))
                return -errno;
        for (char *slash; (slash = strrchr(dir, '/'));) {
                slash[slash == dir] = '\0'; /* "/a/b" -> "/a", "/a" -> "/" */
                struct stat st;
                if (stat(dir, &st) < 0)
                        return -errno;
                if (!only_theirs(&st, uid)) {
                        *ret_why =
                                "it lies in a directory that another user owns or may write (and so could "
                                "swap the file)";
                        return -EPERM;
                }
                if (slash == dir)
                        return 0;
        }
        return -EINVAL;
}

int file_read_secret(const char *path, size_t max, char **ret, size_t *ret_len, const char **ret_why) {
        const char *ignored;
        if (!ret_why)
                ret_why = &ignored;
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        struct stat st;
        uid_t uid = geteuid();
        int r = fstat(fd, &st) < 0 ? -errno : 0;
        if (r == 0 && !S_ISREG(st.st_mode)) {
                *ret_why = "it is not a regular file";
                r = -EPERM;
        } else if (r == 0 && (st.st_mode & (S_IRWXG | S_IRWXO))) {
                *ret_why = "group or others may read or write it (chmod 600)";
                r = -EPERM;
        } else if (r == 0 && st.st_uid != 0 && st.st_uid != uid) {
                *ret_why = "it is owned by another user (neither root nor this process's)";
                r = -EPERM;
        }
        if (r == 0)
                r = secret_dirs_check(path, uid, ret_why);
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
