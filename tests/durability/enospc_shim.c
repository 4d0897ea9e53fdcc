/* LD_PRELOAD shim: the disk under ENOSPC_DIR is "full" after ENOSPC_AFTER bytes.
 *
 * write/pwrite/pwrite64/writev/pwritev to a file whose path starts with ENOSPC_DIR count
 * against a budget of ENOSPC_AFTER bytes; a call that would go over it fails with ENOSPC and
 * writes nothing, and from then on the disk stays full: every such write fails, and so do
 * fsync/fdatasync of files there, as on a real full disk. Other files are untouched.
 * Built by tests/durability/test_enospc.py at test time. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static long long used = 0;
static int full = 0;

static int under_dir(int fd) {
    const char *dir = getenv("ENOSPC_DIR");
    char link[64], path[PATH_MAX];
    ssize_t n;
    if (dir == NULL || *dir == '\0') return 0;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    n = readlink(link, path, sizeof path - 1);
    if (n < 0) return 0;
    path[n] = '\0';
    return strncmp(path, dir, strlen(dir)) == 0;
}

/* 0 when the write may go ahead; -1 (errno ENOSPC) when the disk is full. */
static int spend(int fd, size_t count) {
    const char *after = getenv("ENOSPC_AFTER");
    if (!under_dir(fd)) return 0;
    if (!full && after != NULL && used + (long long)count > atoll(after)) full = 1;
    if (full) { errno = ENOSPC; return -1; }
    used += (long long)count;
    return 0;
}

static size_t iov_total(const struct iovec *iov, int n) {
    size_t total = 0;
    for (int i = 0; i < n; i++) total += iov[i].iov_len;
    return total;
}

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
typedef ssize_t (*pwritev_fn)(int, const struct iovec *, int, off_t);
typedef int (*sync_fn)(int);

/* The libc function the shim stands in front of, looked up once. */
#define REAL(name, type) static type real_##name; if (!real_##name) real_##name = (type)dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void *buf, size_t count) {
    REAL(write, write_fn);
    if (spend(fd, count)) return -1;
    return real_write(fd, buf, count);
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset) {
    REAL(pwrite, pwrite_fn);
    if (spend(fd, count)) return -1;
    return real_pwrite(fd, buf, count, offset);
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off_t offset) {
    REAL(pwrite64, pwrite_fn);
    if (spend(fd, count)) return -1;
    return real_pwrite64(fd, buf, count, offset);
}

ssize_t writev(int fd, const struct iovec *iov, int n) {
    REAL(writev, writev_fn);
    if (spend(fd, iov_total(iov, n))) return -1;
    return real_writev(fd, iov, n);
}

ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t offset) {
    REAL(pwritev, pwritev_fn);
    if (spend(fd, iov_total(iov, n))) return -1;
    return real_pwritev(fd, iov, n, offset);
}

static int refuse_sync(int fd) {
    if (full && under_dir(fd)) { errno = ENOSPC; return -1; }
    return 0;
}

int fsync(int fd) {
    REAL(fsync, sync_fn);
    if (refuse_sync(fd)) return -1;
    return real_fsync(fd);
}

int fdatasync(int fd) {
    REAL(fdatasync, sync_fn);
    if (refuse_sync(fd)) return -1;
    return real_fdatasync(fd);
}
