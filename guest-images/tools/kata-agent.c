/*
 * kata-agent: a small stand-in for the Kata Containers agent, the /sbin/init (PID 1) of the
 * Kata-like guest image (OUTDIR/kata-image.raw of guest-images/build.sh) that the lab's
 * kata-sandbox scenario drives the way Kata's runtime drives its agent. A static guest tool
 * (guest-images/tools; also in the initramfs's /kvmm/bin).
 *
 *   kata-agent              as PID 1: mounts proc /proc, sysfs /sys, devtmpfs /dev, tmpfs /run
 *                           and tmpfs /tmp (each unless already mounted there), prints
 *                           "KATA-AGENT up port=N" on stdout (the console) once it listens on
 *                           AF_VSOCK (any CID) port N: 1024, or kata_agent.port=N from
 *                           /proc/cmdline; then serves connections one at a time, for ever
 *   kata-agent --port N     the same on port N (not PID 1: no mounts, exits if it cannot listen)
 *   kata-agent --stdio      serves one session on stdin/stdout, then exits (for tests)
 * Built with -DKATA_AGENT_TEST_TCP it listens on TCP 127.0.0.1:N instead of AF_VSOCK (tests
 * of the protocol on a host without vsock).
 *
 * Protocol: the peer sends command lines (at most 4096 bytes before the '\n'; arguments
 * separated by spaces, no quoting). Every command line gets zero or more "OUT <text>\n" lines
 * and then exactly one final line, "OK[ <fields>]\n" or "ERR <reason>\n" (a failed system call:
 * "ERR <what>: <strerror>"). A bad command or a closed connection never ends the agent.
 *
 *   ping                          OK pong cpus=<online CPUs> mem_kb=<MemTotal> uptime_ms=<ms>
 *   mount-share TAG DIR           mkdir -p DIR; mount TAG there as virtiofs        -> OK
 *   run ROOTFS SECS PROGRAM [ARG...]
 *                                 runs PROGRAM (searched in PATH if it has no '/') chrooted to
 *                                 ROOTFS, cwd /, stdin /dev/null, stdout and stderr into one
 *                                 pipe, environment PATH=/bin:/sbin:/usr/bin, in its own
 *                                 session; relays its output as "OUT <line>" (a line longer
 *                                 than 4096 bytes in pieces; after 65536 bytes the rest is
 *                                 dropped and one "OUT kata-agent: output truncated, N bytes
 *                                 dropped" says so); kills its process group after SECS s
 *                                 -> OK exit=<code> | ERR signal=<N> | ERR timeout after SECS s
 *                                 | ERR timeout after SECS s (the process does not die) [still
 *                                 there 5 s after SIGKILL] | ERR chroot ROOTFS: <strerror>
 *                                 | ERR exec PROGRAM: <strerror>
 *   online-cpus N SECS            every 50 ms writes 1 to each /sys/devices/system/cpu/cpuK/
 *                                 online that reads 0, until N CPUs are online
 *                                 -> OK cpus=<online> | ERR cpus=<online> wanted N
 *   online-mem KB SECS            every 50 ms writes "online" to each /sys/devices/system/
 *                                 memory/memoryK/state that reads "offline", until MemTotal >= KB
 *                                 -> OK mem_kb=<MemTotal> blocks=<blocks onlined>
 *                                 | ERR mem_kb=<MemTotal> wanted KB blocks=<blocks onlined>
 *   wait-disk PCIPATH SECS        Kata's PCI path: 2-hex-digit slots separated by '/', the first
 *                                 on bus 0000:00, each further one on the secondary bus of the
 *                                 bridge before it; waits (50 ms polls) for the function-0
 *                                 device's virtio<N>/block/<name> and /dev/<name>
 *                                 -> OK dev=/dev/<name> | ERR no disk at PCIPATH after SECS s
 *   mount DEV DIR FSTYPE ro|rw    mkdir -p DIR; mount DEV there (MS_RDONLY or nothing) -> OK
 *   umount DIR                    umount DIR                                           -> OK
 *   wait-gone DEV SECS            until /sys/class/block/<basename DEV> is gone
 *                                 -> OK | ERR DEV still present after SECS s
 * Otherwise: "ERR unknown command NAME", "ERR usage: <synopsis>", "ERR line too long",
 * "ERR empty command". SECS is a whole number of seconds, 0-86400.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef KATA_AGENT_TEST_TCP
#include <netinet/in.h>
#include <arpa/inet.h>
#else
#include <linux/vm_sockets.h>	/* after sys/socket.h: it uses sa_family_t */
#endif

#define DEFAULT_PORT	1024
#define LINE_MAX_LEN	4096		/* a command line, and a relayed output piece */
#define OUT_CAP		65536		/* bytes of a run's output relayed */
#define POLL_MS		50
#define MAX_ARGS	256
#define MAX_SECS	86400
#define KILL_GRACE_MS	5000		/* after SIGKILL, how long "run" waits for the child */

static int out_fd = -1;			/* where replies go: the connection, or stdout */
static int out_broken;			/* the peer went away: replies are dropped */
static int sig_fd = -1;			/* signalfd of SIGCHLD */
static pid_t run_pid;			/* the child of "run", while it runs */
static int run_status, run_done;

extern char **environ;

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

static void sleep_ms(long ms)
{
	struct timespec t = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

static int write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n) {
		w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= w;
	}
	return 0;
}

/* One reply line; a newline is added. Returns 0 (a lost peer shows at the next read). */
static int reply(const char *fmt, ...)
{
	char buf[LINE_MAX_LEN + 128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return 0;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (!out_broken && write_all(out_fd, buf, n))
		out_broken = 1;
	return 0;
}

/* Console lines of the agent itself. */
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("KATA-AGENT ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	va_end(ap);
}

/* Reaps every exited child (orphans too: we are PID 1); records the status of "run"'s. */
static void reap(void)
{
	struct signalfd_siginfo si;
	pid_t p;
	int st;

	while (read(sig_fd, &si, sizeof(si)) == sizeof(si))
		;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		if (run_pid && p == run_pid) {
			run_status = st;
			run_done = 1;
		}
	}
}

/* Reads a small file into buf (NUL-terminated, trailing newline removed): length or -errno. */
static int read_file(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	e = errno;
	close(fd);
	if (n < 0)
		return -e;
	buf[n] = 0;
	if (n && buf[n - 1] == '\n')
		buf[--n] = 0;
	return n;
}

static int write_file(const char *path, const char *s)
{
	int fd, ret;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = write_all(fd, s, strlen(s));
	if (close(fd) < 0 && !ret)
		ret = -errno;
	return ret;
}

/* Online CPUs, counted from a list such as "0-3,5": count or -errno. */
static int cpus_online(void)
{
	char buf[1024], *p, *end;
	long a, b;
	int n = 0, ret;

	ret = read_file("/sys/devices/system/cpu/online", buf, sizeof(buf));
	if (ret < 0)
		return ret;
	for (p = buf; *p;) {
		a = strtol(p, &end, 10);
		if (end == p)
			return -EINVAL;
		b = a;
		if (*end == '-') {
			p = end + 1;
			b = strtol(p, &end, 10);
			if (end == p || b < a)
				return -EINVAL;
		}
		n += b - a + 1;
		p = end;
		if (*p == ',')
			p++;
		else if (*p)
			return -EINVAL;
	}
	return n;
}

/* MemTotal of /proc/meminfo in kB, or -errno. */
static long mem_total_kb(void)
{
	char buf[4096], *p;
	int ret;

	ret = read_file("/proc/meminfo", buf, sizeof(buf));
	if (ret < 0)
		return ret;
	p = strstr(buf, "MemTotal:");
	if (!p)
		return -EINVAL;
	return strtol(p + 9, NULL, 10);
}

/* A decimal number in [0, max]: 0 or -EINVAL. */
static int parse_ulong(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoul(s, &end, 10);
	if (errno || *end || *v > max)
		return -EINVAL;
	return 0;
}

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX], *p, c;
	struct stat st;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; ; p++) {
		if (*p != '/' && *p)
			continue;
		c = *p;
		*p = 0;
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = c;
		if (!c)
			break;
	}
	if (stat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/*
 * In each DIR/<prefix><digits>/ATTR that reads FROM, writes TO. Returns how many writes
 * succeeded (a failed one is tried again at the next poll).
 */
static int online_all(const char *dir, const char *prefix, const char *attr, const char *from,
		      const char *to)
{
	char path[PATH_MAX], val[64];
	size_t pl = strlen(prefix);
	struct dirent *d;
	DIR *dh;
	int n = 0;

	dh = opendir(dir);
	if (!dh)
		return 0;
	while ((d = readdir(dh))) {
		if (strncmp(d->d_name, prefix, pl) || d->d_name[pl] < '0' || d->d_name[pl] > '9' ||
		    strspn(d->d_name + pl, "0123456789") != strlen(d->d_name + pl))
			continue;
		snprintf(path, sizeof(path), "%s/%s/%s", dir, d->d_name, attr);
		if (read_file(path, val, sizeof(val)) < 0 || strcmp(val, from))
			continue;
		if (!write_file(path, to))
			n++;
	}
	closedir(dh);
	return n;
}

/* ---- commands: each sends its OUT lines and exactly one OK/ERR ---- */

static int cmd_ping(int argc, char **argv)
{
	struct timespec t;
	int cpus = cpus_online();
	long kb = mem_total_kb();

	(void)argc;
	(void)argv;
	if (cpus < 0)
		return reply("ERR /sys/devices/system/cpu/online: %s", strerror(-cpus));
	if (kb < 0)
		return reply("ERR /proc/meminfo: %s", strerror((int)-kb));
	if (clock_gettime(CLOCK_BOOTTIME, &t) < 0)
		return reply("ERR clock_gettime: %s", strerror(errno));
	return reply("OK pong cpus=%d mem_kb=%ld uptime_ms=%ld", cpus, kb,
	      t.tv_sec * 1000L + t.tv_nsec / 1000000L);
}

static int do_mount(const char *src, const char *dir, const char *type, unsigned long flags)
{
	int ret = mkdir_p(dir);

	if (ret)
		return reply("ERR mkdir %s: %s", dir, strerror(-ret));
	if (mount(src, dir, type, flags, NULL) < 0)
		return reply("ERR mount %s on %s (%s): %s", src, dir, type, strerror(errno));
	return reply("OK");
}

static int cmd_mount_share(int argc, char **argv)
{
	(void)argc;
	return do_mount(argv[1], argv[2], "virtiofs", 0);
}

static int cmd_mount(int argc, char **argv)
{
	(void)argc;
	if (strcmp(argv[4], "ro") && strcmp(argv[4], "rw"))
		return reply("ERR usage: mount DEV DIR FSTYPE ro|rw");
	return do_mount(argv[1], argv[2], argv[3], strcmp(argv[4], "ro") ? 0 : MS_RDONLY);
}

static int cmd_umount(int argc, char **argv)
{
	(void)argc;
	if (umount2(argv[1], 0) < 0)
		return reply("ERR umount %s: %s", argv[1], strerror(errno));
	return reply("OK");
}

static int parse_secs(const char *s, unsigned long *secs)
{
	if (parse_ulong(s, MAX_SECS, secs)) {
		reply("ERR bad SECS '%s'", s);
		return -EINVAL;
	}
	return 0;
}

static int cmd_online_cpus(int argc, char **argv)
{
	unsigned long want, secs;
	long deadline;
	int n;

	(void)argc;
	if (parse_ulong(argv[1], 4096, &want))
		return reply("ERR bad CPU count '%s'", argv[1]);
	if (parse_secs(argv[2], &secs))
		return 0;
	deadline = now_ms() + secs * 1000;
	for (;;) {
		n = cpus_online();
		if (n < 0)
			return reply("ERR /sys/devices/system/cpu/online: %s", strerror(-n));
		if ((unsigned long)n >= want)
			return reply("OK cpus=%d", n);
		if (now_ms() >= deadline)
			return reply("ERR cpus=%d wanted %lu", n, want);
		online_all("/sys/devices/system/cpu", "cpu", "online", "0", "1");
		sleep_ms(POLL_MS);
	}
}

static int cmd_online_mem(int argc, char **argv)
{
	unsigned long want, secs;
	long deadline, kb;
	int blocks = 0;

	(void)argc;
	if (parse_ulong(argv[1], ULONG_MAX, &want))
		return reply("ERR bad KB '%s'", argv[1]);
	if (parse_secs(argv[2], &secs))
		return 0;
	deadline = now_ms() + secs * 1000;
	for (;;) {
		kb = mem_total_kb();
		if (kb < 0)
			return reply("ERR /proc/meminfo: %s", strerror((int)-kb));
		if ((unsigned long)kb >= want)
			return reply("OK mem_kb=%ld blocks=%d", kb, blocks);
		if (now_ms() >= deadline)
			return reply("ERR mem_kb=%ld wanted %lu blocks=%d", kb, want, blocks);
		blocks += online_all("/sys/devices/system/memory", "memory", "state", "offline",
				     "online");
		sleep_ms(POLL_MS);
	}
}

/* The first entry of a directory not starting with '.' (into name), or -errno. */
static int first_entry(const char *dir, const char *prefix, char *name, size_t size)
{
	struct dirent *d;
	DIR *dh;
	int ret = -ENOENT;

	dh = opendir(dir);
	if (!dh)
		return -errno;
	while ((d = readdir(dh))) {
		if (d->d_name[0] == '.' || strncmp(d->d_name, prefix, strlen(prefix)))
			continue;
		snprintf(name, size, "%s", d->d_name);
		ret = 0;
		break;
	}
	closedir(dh);
	return ret;
}

/*
 * The block device at a PCI path (slots already checked): its name into name, or -errno
 * while (part of) the path is not there yet. A bridge's secondary bus is the one entry of
 * its pci_bus/ directory ("0000:01").
 */
static int pci_path_disk(char **slots, int n, char *name, size_t size)
{
	char bus[64] = "0000:00", dev[256], p[PATH_MAX], virtio[64];
	struct stat st;
	int i, ret;

	for (i = 0; i < n; i++) {
		snprintf(dev, sizeof(dev), "/sys/bus/pci/devices/%s:%s.0", bus, slots[i]);
		if (i == n - 1)
			break;
		snprintf(p, sizeof(p), "%s/pci_bus", dev);
		ret = first_entry(p, "", bus, sizeof(bus));
		if (ret)
			return ret;
	}
	ret = first_entry(dev, "virtio", virtio, sizeof(virtio));
	if (ret)
		return ret;
	snprintf(p, sizeof(p), "%s/%s/block", dev, virtio);
	ret = first_entry(p, "", name, size);
	if (ret)
		return ret;
	/* devtmpfs makes the node just after the sysfs directory appears. */
	snprintf(p, sizeof(p), "/dev/%s", name);
	if (stat(p, &st) < 0)
		return -errno;
	return 0;
}

static int cmd_wait_disk(int argc, char **argv)
{
	char path[LINE_MAX_LEN], *slots[16], *s, *save, name[256];
	unsigned long secs;
	long deadline;
	int n = 0;

	(void)argc;
	if (parse_secs(argv[2], &secs))
		return 0;
	snprintf(path, sizeof(path), "%s", argv[1]);
	for (s = strtok_r(path, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
		if (n == 16 || strlen(s) != 2 || strspn(s, "0123456789abcdefABCDEF") != 2)
			return reply("ERR bad PCI path '%s'", argv[1]);
		s[0] = tolower((unsigned char)s[0]);
		s[1] = tolower((unsigned char)s[1]);
		slots[n++] = s;
	}
	if (!n || argv[1][0] == '/' || argv[1][strlen(argv[1]) - 1] == '/' || strstr(argv[1], "//"))
		return reply("ERR bad PCI path '%s'", argv[1]);
	deadline = now_ms() + secs * 1000;
	for (;;) {
		if (!pci_path_disk(slots, n, name, sizeof(name)))
			return reply("OK dev=/dev/%s", name);
		if (now_ms() >= deadline)
			return reply("ERR no disk at PCI path %s after %lu s", argv[1], secs);
		sleep_ms(POLL_MS);
	}
}

static int cmd_wait_gone(int argc, char **argv)
{
	char path[PATH_MAX];
	const char *base = strrchr(argv[1], '/');
	unsigned long secs;
	struct stat st;
	long deadline;

	(void)argc;
	if (parse_secs(argv[2], &secs))
		return 0;
	base = base ? base + 1 : argv[1];
	if (!*base)
		return reply("ERR bad device '%s'", argv[1]);
	snprintf(path, sizeof(path), "/sys/class/block/%s", base);
	deadline = now_ms() + secs * 1000;
	for (;;) {
		if (lstat(path, &st) < 0) {
			if (errno == ENOENT)
				return reply("OK");
			return reply("ERR %s: %s", path, strerror(errno));
		}
		if (now_ms() >= deadline)
			return reply("ERR %s still present after %lu s", argv[1], secs);
		sleep_ms(POLL_MS);
	}
}

/* ---- run ---- */

struct relay {
	char line[LINE_MAX_LEN];
	size_t len;		/* bytes in line */
	size_t sent;		/* bytes relayed so far */
	size_t dropped;		/* bytes over OUT_CAP */
};

static void relay_flush(struct relay *r)
{
	reply("OUT %.*s", (int)r->len, r->line);
	r->len = 0;
}

static void relay_bytes(struct relay *r, const char *p, size_t n)
{
	for (; n; p++, n--) {
		if (r->sent >= OUT_CAP) {
			r->dropped++;
			continue;
		}
		r->sent++;
		if (*p == '\n') {
			relay_flush(r);
			continue;
		}
		r->line[r->len++] = *p;
		if (r->len == sizeof(r->line))
			relay_flush(r);
	}
}

/* What the child tells through its close-on-exec status pipe when it fails before exec. */
struct run_fail {
	int stage;		/* 0 chroot, 1 chdir, 2 exec, 3 setup */
	int err;
};

static void run_child(int out, int status, const char *rootfs, char **argv)
{
	static char *env[] = { "PATH=/bin:/sbin:/usr/bin", NULL };
	struct run_fail f = { .stage = 3 };
	sigset_t none;
	int null;

	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0 || signal(SIGPIPE, SIG_DFL) == SIG_ERR ||
	    setsid() < 0)
		goto fail;
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);	/* before the chroot */
	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		goto fail;
	/* dup2 onto itself (an fd that was already 0-2) keeps close-on-exec. */
	if (fcntl(0, F_SETFD, 0) < 0 || fcntl(1, F_SETFD, 0) < 0 || fcntl(2, F_SETFD, 0) < 0)
		goto fail;
	f.stage = 0;
	if (chroot(rootfs) < 0)
		goto fail;
	f.stage = 1;
	if (chdir("/") < 0)
		goto fail;
	f.stage = 2;
	environ = env;
	execvp(argv[0], argv);
fail:
	f.err = errno;
	if (write_all(status, (const char *)&f, sizeof(f)))
		_exit(126);
	_exit(127);
}

/* Relays the output of the started child until it exits (or SECS pass); the final line. */
static int run_relay(pid_t pid, int out, unsigned long secs)
{
	struct pollfd pfd[2] = { { .fd = out, .events = POLLIN }, { .fd = sig_fd, .events = POLLIN } };
	long deadline = now_ms() + secs * 1000, kill_deadline = 0, t, wait;
	int killed = 0;
	struct relay *r;
	char buf[4096];
	ssize_t n;

	r = calloc(1, sizeof(*r));
	if (!r) {
		kill(-pid, SIGKILL);
		return reply("ERR run: %s", strerror(ENOMEM));
	}
	if (fcntl(out, F_SETFL, O_NONBLOCK) < 0)
		reply("OUT kata-agent: fcntl: %s", strerror(errno));	/* reads may block */
	while (!run_done) {
		t = now_ms();
		if (!killed && t >= deadline) {
			/* Its whole session: what it started goes too. */
			if (kill(-pid, SIGKILL) < 0 && kill(pid, SIGKILL) < 0 && errno != ESRCH)
				reply("OUT kata-agent: kill: %s", strerror(errno));
			killed = 1;
			kill_deadline = t + KILL_GRACE_MS;
		}
		if (killed && t >= kill_deadline)
			break;		/* stuck (D state?): reap() collects it later */
		wait = (killed ? kill_deadline : deadline) - t;
		if (sig_fd < 0 && wait > POLL_MS)
			wait = POLL_MS;	/* no signalfd: poll for its exit */
		if (poll(pfd, 2, (int)wait) < 0) {
			if (errno != EINTR) {
				reply("OUT kata-agent: poll: %s", strerror(errno));
				sleep_ms(POLL_MS);
			}
			continue;
		}
		reap();
		if (pfd[0].fd >= 0 && pfd[0].revents) {
			n = read(out, buf, sizeof(buf));
			if (n > 0)
				relay_bytes(r, buf, n);
			else if (!n || (errno != EINTR && errno != EAGAIN))
				pfd[0].fd = -1;		/* EOF: now just wait for the exit */
		}
	}
	/* What is left in the pipe (a grandchild may hold it open: no waiting for EOF). */
	while (pfd[0].fd >= 0 && (n = read(out, buf, sizeof(buf))) > 0)
		relay_bytes(r, buf, n);
	if (r->len)
		relay_flush(r);
	if (r->dropped)
		reply("OUT kata-agent: output truncated, %zu bytes dropped", r->dropped);
	free(r);
	if (!run_done)
		return reply("ERR timeout after %lu s (the process does not die)", secs);
	if (killed)
		return reply("ERR timeout after %lu s", secs);
	if (WIFEXITED(run_status))
		return reply("OK exit=%d", WEXITSTATUS(run_status));
	return reply("ERR signal=%d", WIFSIGNALED(run_status) ? WTERMSIG(run_status) : 0);
}

static int cmd_run(int argc, char **argv)
{
	static const char *const stage[] = { "chroot", "chdir", "exec", "setup" };
	struct run_fail f;
	unsigned long secs;
	int outp[2], stp[2];
	ssize_t n;
	pid_t pid;

	(void)argc;
	if (parse_secs(argv[2], &secs))
		return 0;
	if (pipe2(outp, O_CLOEXEC) < 0)
		return reply("ERR pipe: %s", strerror(errno));
	if (pipe2(stp, O_CLOEXEC) < 0) {
		reply("ERR pipe: %s", strerror(errno));
		goto out;
	}
	run_done = 0;
	pid = fork();
	if (pid < 0) {
		reply("ERR fork: %s", strerror(errno));
		close(stp[0]);
		close(stp[1]);
		goto out;
	}
	if (!pid)
		run_child(outp[1], stp[1], argv[1], argv + 3);
	run_pid = pid;
	close(stp[1]);
	close(outp[1]);
	outp[1] = -1;
	/* Until the exec (the pipe closes with nothing in it) or the child's failure report. */
	do
		n = read(stp[0], &f, sizeof(f));
	while (n < 0 && errno == EINTR);
	close(stp[0]);
	if (n == sizeof(f) && f.stage >= 0 && f.stage <= 3) {
		run_pid = 0;	/* it exits at once; reap() collects it */
		reap();
		reply("ERR %s %s: %s", stage[f.stage], f.stage == 2 ? argv[3] : argv[1],
		      strerror(f.err));
	} else {
		run_relay(pid, outp[0], secs);
		run_pid = 0;
	}
out:
	close(outp[0]);
	if (outp[1] >= 0)
		close(outp[1]);
	return 0;
}

static const struct command {
	const char *name;
	int min, max;		/* argument counts, the name not counted */
	const char *usage;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "ping", 0, 0, "ping", cmd_ping },
	{ "mount-share", 2, 2, "mount-share TAG DIR", cmd_mount_share },
	{ "run", 3, MAX_ARGS, "run ROOTFS SECS PROGRAM [ARGS...]", cmd_run },
	{ "online-cpus", 2, 2, "online-cpus N SECS", cmd_online_cpus },
	{ "online-mem", 2, 2, "online-mem KB SECS", cmd_online_mem },
	{ "wait-disk", 2, 2, "wait-disk PCIPATH SECS", cmd_wait_disk },
	{ "mount", 4, 4, "mount DEV DIR FSTYPE ro|rw", cmd_mount },
	{ "umount", 1, 1, "umount DIR", cmd_umount },
	{ "wait-gone", 2, 2, "wait-gone DEV SECS", cmd_wait_gone },
};

static int handle_line(char *line)
{
	char *argv[MAX_ARGS + 2], *p;
	size_t i;
	int argc = 0;

	line[strcspn(line, "\r")] = 0;
	for (p = strtok(line, " "); p; p = strtok(NULL, " ")) {
		if (argc == MAX_ARGS + 1)
			return reply("ERR too many arguments");
		argv[argc++] = p;
	}
	argv[argc] = NULL;
	if (!argc)
		return reply("ERR empty command");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[0], commands[i].name))
			continue;
		if (argc - 1 < commands[i].min || argc - 1 > commands[i].max)
			return reply("ERR usage: %s", commands[i].usage);
		return commands[i].fn(argc, argv);
	}
	return reply("ERR unknown command %.64s", argv[0]);
}

/* Serves one connection (in, out) until the peer closes it. */
static void serve(int in, int out)
{
	char buf[LINE_MAX_LEN + 2], *nl;
	struct pollfd pfd[2] = { { .fd = in, .events = POLLIN }, { .fd = sig_fd, .events = POLLIN } };
	size_t len = 0;
	int skipping = 0;
	ssize_t n;

	out_fd = out;
	out_broken = 0;
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			say("poll: %s", strerror(errno));
			sleep_ms(POLL_MS);
			continue;
		}
		if (pfd[1].revents)
			reap();
		if (!pfd[0].revents)
			continue;
		n = read(in, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return;
		len += n;
		while ((nl = memchr(buf, '\n', len))) {
			*nl = 0;
			if (!skipping)
				handle_line(buf);
			skipping = 0;
			len -= nl + 1 - buf;
			memmove(buf, nl + 1, len);
		}
		if (len > LINE_MAX_LEN) {
			if (!skipping)
				reply("ERR line too long");
			skipping = 1;
			len = 0;
		}
	}
}

/* kata_agent.port=N from the kernel command line, else the default. */
static unsigned int cmdline_port(void)
{
	char buf[4096], *p, *save;
	unsigned long v;

	if (read_file("/proc/cmdline", buf, sizeof(buf)) < 0)
		return DEFAULT_PORT;
	for (p = strtok_r(buf, " \t\n", &save); p; p = strtok_r(NULL, " \t\n", &save)) {
		if (!strncmp(p, "kata_agent.port=", 16) && !parse_ulong(p + 16, 0xfffffffeUL, &v))
			return v;
	}
	return DEFAULT_PORT;
}

static int listen_on(unsigned int port)
{
#ifdef KATA_AGENT_TEST_TCP
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int family = AF_INET, one = 1;
#else
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
				  .svm_port = port };
	int family = AF_VSOCK;
#endif
	int s, e;

	s = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
#ifdef KATA_AGENT_TEST_TCP
	if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
#endif
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 16) < 0)
		goto fail;
	return s;
fail:
	e = errno;
	close(s);
	return -e;
}

/* Mounts what a fresh read-only root lacks; a directory that is a mount point already is left. */
static void mount_basics(void)
{
	static const struct {
		const char *src, *dir, *type, *opts;
	} m[] = {
		{ "devtmpfs", "/dev", "devtmpfs", NULL },
		{ "proc", "/proc", "proc", NULL },
		{ "sysfs", "/sys", "sysfs", NULL },
		{ "tmpfs", "/run", "tmpfs", "mode=0755" },
		{ "tmpfs", "/tmp", "tmpfs", "mode=1777" },
	};
	struct stat root, st;
	size_t i;

	if (stat("/", &root) < 0)
		memset(&root, 0, sizeof(root));
	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		if (stat(m[i].dir, &st) == 0 && st.st_dev != root.st_dev)
			continue;
		if (mount(m[i].src, m[i].dir, m[i].type, MS_NOSUID, m[i].opts) < 0 && errno != EBUSY)
			say("mount %s: %s", m[i].dir, strerror(errno));
	}
}

/*
 * Fds 0-2 open, on the console if there is one (the kernel starts init without them when it
 * cannot open /dev/console): else the listening socket or a connection could become fd 1,
 * and the agent's console lines would go there.
 */
static void ensure_std_fds(void)
{
	int fd, i;

	for (i = 0; i < 3; i++) {
		if (fcntl(i, F_GETFD) >= 0)
			continue;
		fd = open("/dev/console", O_RDWR | O_NOCTTY);
		if (fd < 0)
			fd = open("/dev/null", O_RDWR);
		if (fd < 0)
			continue;
		if (fd != i) {
			dup2(fd, i);
			close(fd);
		}
	}
}

int main(int argc, char **argv)
{
	unsigned int port = 0;
	int pid1 = getpid() == 1, ls, c, warned = 0;
	struct pollfd pfd[2];
	unsigned long v;
	sigset_t mask;

	if (argc == 3 && !strcmp(argv[1], "--port") && !parse_ulong(argv[2], 0xfffffffeUL, &v) &&
	    v) {
		port = v;
	} else if (argc > 2 || (argc == 2 && strcmp(argv[1], "--stdio"))) {
		fprintf(stderr, "usage: kata-agent [--port N | --stdio]\n");
		return 2;
	}
	if (pid1)
		mount_basics();
	ensure_std_fds();
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 || signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		say("signals: %s", strerror(errno));
	sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sig_fd < 0)
		say("signalfd: %s", strerror(errno));	/* then children are reaped per command */

	if (argc == 2) {
		serve(0, 1);
		return 0;
	}
	if (!port)
		port = pid1 ? cmdline_port() : DEFAULT_PORT;
	for (;;) {
		ls = listen_on(port);
		if (ls >= 0)
			break;
		if (!pid1) {
			fprintf(stderr, "kata-agent: listen on port %u: %s\n", port, strerror(-ls));
			return 1;
		}
		if (!warned++)
			say("cannot listen on port %u: %s (trying again every second)", port,
			    strerror(-ls));
		sleep_ms(1000);
	}
	say("up port=%u", port);

	pfd[0] = (struct pollfd){ .fd = ls, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = sig_fd, .events = POLLIN };
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno != EINTR) {
				say("poll: %s", strerror(errno));
				sleep_ms(POLL_MS);
			}
			continue;
		}
		if (pfd[1].revents)
			reap();
		if (!pfd[0].revents)
			continue;
		c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) {
				say("accept: %s", strerror(errno));
				sleep_ms(POLL_MS);
			}
			continue;
		}
		serve(c, c);
		if (close(c) < 0)
			say("close: %s", strerror(errno));
	}
}
