/*
 * kata-sandbox: the lab's stand-in for Kata's clh driver (src/runtime/virtcontainers/clh.go).
 * It runs one pod's life on kvmm in clh.go's order and with its timeouts, and talks to the
 * guest's agent stand-in (guest-images/tools/kata-agent.c) the way Kata's runtime reaches its
 * agent, through the hybrid vsock ("CONNECT 1024\n" on the vsock Unix socket).
 *
 *   kata-sandbox kvmm OPTIONS     the whole sequence (below)
 *   kata-sandbox qemu CID PORT SECS -- QEMU ARGS...
 *                                 the comparison: start QEMU (vhost-vsock-pci guest-cid=CID),
 *                                 connect AF_VSOCK CID:PORT until the agent answers "ping"
 *                                 (SECS at most), then end QEMU; prints launch -> answer
 *
 * kvmm OPTIONS:
 *   --vmm PATH --api-socket PATH --config FILE   kvmm, its API socket, the VmConfig JSON
 *   --log FILE        kvmm's stdout and stderr      --debug   kvmm -v (Kata's debug)
 *   --tap NAME        a TAP opened here and handed over in vm.add-net (repeatable; all on
 *                     one keep-alive connection, the fd as SCM_RIGHTS, as clh.go does)
 *   --vsock PATH      the hybrid vsock socket of the VmConfig
 *   --share DIR       the host directory virtiofsd serves as kataShared
 *   --container ID    a container whose rootfs the caller put in DIR/ID/rootfs: busybox,
 *                     /etc/kata-msg, and /bin/entry, a script that prints "container:" and
 *                     the message's first line for "entry msg", and the first line of
 *                     /vol/hello.txt for "entry vol"
 *   --resize-cpus N   vm.resize desired_vcpus N, the agent onlines them, and Kata's
 *                     GetThreadIDs() must then find N threads named vcpu<N> (0: skip)
 *   --resize-ram B    vm.resize desired_ram B bytes, the agent onlines it (0: skip)
 *   --volume IMG --volume-text FILE
 *                     vm.add-disk IMG (an ext4 image) as a second container's volume: the
 *                     agent finds it by the PCI path of the answer's bdf and mounts it, the
 *                     container reads /vol/hello.txt, which must equal FILE; then
 *                     vm.remove-device and the disk must leave the guest
 *   --refused         where hot-plug is documented as unsupported (aarch64): vm.resize of
 *                     vCPUs and of RAM and vm.add-disk must each be a 400 naming why, and
 *                     the agent must answer on
 *   --agent-wait SECS how long the agent may take to answer (Kata's dial_timeout: 45)
 *
 * Output: "kata-sandbox: step NAME ms=N" per step (from the launch), "kata-sandbox: agent
 * ms=N" (launch -> the agent's first answer), and a last line "kata-sandbox: PASS total_ms=N"
 * or "kata-sandbox: FAIL after <last step done>: <why>"; exit 0 only on PASS. A lab helper,
 * not part of kvmm.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <dirent.h>
#include <linux/vm_sockets.h>	/* after sys/socket.h */
#include <time.h>
#include <unistd.h>

/* clh.go's timeouts, in ms. */
#define CLH_TIMEOUT		10000	/* clhTimeout: the API socket must answer vmm.ping */
#define CLH_PING_EVERY		10	/* waitVMM's poll period */
#define CLH_API_TIMEOUT		1000	/* clhAPITimeout: vm.info, vm.resize, vmm.shutdown */
#define CLH_CREATE_BOOT		10000	/* clhCreateAndBootVMMinimumTimeout: create .. boot */
#define CLH_HOTPLUG_TIMEOUT	5000	/* clhHotPlugAPITimeout: add-disk, remove-device */
#define CLH_STOP_TIMEOUT	3000	/* clhStopSandboxTimeout: the process must be gone */
#define AGENT_CMD_TIMEOUT	30000	/* one agent command (each has its own SECS too) */
#define MAX_TAPS		4
#define BUF_MAX			(256 << 10)

static double t0;
static pid_t vmm_pid;
static char fail_step[64];

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long since_launch(void)
{
	return (long)(now_ms() - t0 + 0.5);
}

static void step(const char *name)
{
	printf("kata-sandbox: step %s ms=%ld\n", name, since_launch());
	fflush(stdout);
	snprintf(fail_step, sizeof(fail_step), "%s", name);
}

static int __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	printf("kata-sandbox: FAIL after %s: ", fail_step[0] ? fail_step : "setup");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return -1;
}

/* Waits until fd is readable (POLLIN) or writable (POLLOUT), or the deadline passes. */
static int wait_fd(int fd, short ev, double deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int ms, r;

	for (;;) {
		ms = (int)(deadline - now_ms());
		if (ms <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, ms);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = -errno;

		close(s);
		return e;
	}
	return s;
}

/* ---- HTTP/1.1 over the API socket ---- */

struct reply {
	int status;
	char body[BUF_MAX];
	size_t len;
};

/*
 * One request on the open connection s (keep-alive), with optional fds as SCM_RIGHTS in the
 * same sendmsg(), as clh.go's vmAddNetPutRequest writes it; reads exactly one response
 * (Content-Length framed) within timeout_ms. 0, or -errno / -EPROTO.
 */
static int http_call(int s, const char *method, const char *path, const char *body,
		     const int *fds, int nfds, int timeout_ms, struct reply *r)
{
	char req[8192], hdr[8192];
	size_t blen = body ? strlen(body) : 0, have = 0, want = 0, hlen;
	double deadline = now_ms() + timeout_ms;
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_TAPS)];
		struct cmsghdr align;
	} u;
	struct iovec iov;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	char *end, *cl;
	int n, ret;

	n = snprintf(req, sizeof(req), "%s /api/v1/%s HTTP/1.1\r\nHost: localhost\r\n"
		     "Accept: application/json\r\n%sContent-Length: %zu\r\n\r\n%s",
		     method, path, body ? "Content-Type: application/json\r\n" : "", blen,
		     body ? body : "");
	if (n < 0 || (size_t)n >= sizeof(req) || nfds > MAX_TAPS)
		return -E2BIG;
	iov.iov_base = req;
	iov.iov_len = n;
	if (nfds) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	while (iov.iov_len) {
		ret = wait_fd(s, POLLOUT, deadline);
		if (ret)
			return ret;
		n = sendmsg(s, &msg, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		iov.iov_base = (char *)iov.iov_base + n;
		iov.iov_len -= n;
		msg.msg_control = NULL;		/* the fds went with the first byte */
		msg.msg_controllen = 0;
	}

	/* Headers, then Content-Length bytes of body. */
	hlen = 0;
	for (;;) {
		if (hlen == sizeof(hdr) - 1)
			return -EPROTO;
		ret = wait_fd(s, POLLIN, deadline);
		if (ret)
			return ret;
		n = read(s, hdr + hlen, sizeof(hdr) - 1 - hlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -ECONNRESET;
		hlen += n;
		hdr[hlen] = 0;
		end = strstr(hdr, "\r\n\r\n");
		if (end)
			break;
	}
	if (sscanf(hdr, "HTTP/1.%*d %d", &r->status) != 1)
		return -EPROTO;
	*end = 0;
	cl = strcasestr(hdr, "\r\nContent-Length:");
	if (cl)
		want = strtoul(cl + 17, NULL, 10);
	if (want >= sizeof(r->body))
		return -EFBIG;
	have = hlen - (end + 4 - hdr);
	if (have > want)
		return -EPROTO;		/* nothing may follow the response unasked */
	memcpy(r->body, end + 4, have);
	while (have < want) {
		ret = wait_fd(s, POLLIN, deadline);
		if (ret)
			return ret;
		n = read(s, r->body + have, want - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -ECONNRESET;
		have += n;
	}
	r->body[have] = 0;
	r->len = have;
	return 0;
}

static const char *api_sock;

/* One call on a connection of its own (Go's client pools them; one each is the same thing to
 * a server that must serve both). Fails unless the status is one of ok1, ok2. */
static int api(const char *method, const char *path, const char *body, int timeout_ms,
	       int ok1, int ok2, struct reply *r)
{
	int s = unix_connect(api_sock), ret;

	if (s < 0)
		return fail("%s %s: connect %s: %s", method, path, api_sock, strerror(-s));
	ret = http_call(s, method, path, body, NULL, 0, timeout_ms, r);
	close(s);
	if (ret == -ETIMEDOUT)
		return fail("%s %s: no answer within %d ms (clh.go's timeout)", method, path,
			    timeout_ms);
	if (ret)
		return fail("%s %s: %s", method, path, strerror(-ret));
	if (r->status != ok1 && r->status != ok2)
		return fail("%s %s: status %d: %.300s", method, path, r->status, r->body);
	return 0;
}

/* The string member key of the JSON body (or of its object member obj), copied to out. */
static int json_field(const char *body, const char *obj, const char *key, char *out, size_t n)
{
	json_t *root = json_loads(body, 0, NULL), *o;
	const char *v;
	int ret = -ENOENT;

	if (!root)
		return -EPROTO;
	o = obj ? json_object_get(root, obj) : root;
	v = json_string_value(json_object_get(o, key));
	if (v && strlen(v) < n) {
		strcpy(out, v);
		ret = 0;
	}
	json_decref(root);
	return ret;
}

static int vm_state_is(const char *want)
{
	struct reply *r = malloc(sizeof(*r));
	char state[32];
	int ret;

	if (!r)
		return fail("out of memory");
	ret = api("GET", "vm.info", NULL, CLH_API_TIMEOUT, 200, 200, r);
	if (!ret && json_field(r->body, NULL, "state", state, sizeof(state)))
		ret = fail("vm.info without a state: %.300s", r->body);
	if (!ret && strcmp(state, want))
		ret = fail("vm.info says %s, clh.go requires %s", state, want);
	free(r);
	return ret;
}

/* memory.size of vm.info's config. */
static int vm_memory_size(struct reply *r, long long *size)
{
	json_t *root;
	int ret = api("GET", "vm.info", NULL, CLH_API_TIMEOUT, 200, 200, r);

	if (ret)
		return ret;
	root = json_loads(r->body, 0, NULL);
	*size = json_integer_value(json_object_get(json_object_get(json_object_get(root, "config"),
								  "memory"), "size"));
	json_decref(root);
	return *size > 0 ? 0 : fail("vm.info without config.memory.size: %.300s", r->body);
}

/* ---- the agent, over the hybrid vsock (kvmm) or AF_VSOCK (QEMU) ---- */

static int agent_fd = -1;

/* Reads one line (without "\n") from s into buf within the deadline. */
static int read_line(int s, char *buf, size_t n, double deadline)
{
	size_t len = 0;
	int ret;

	for (;;) {
		char c;
		ssize_t k;

		ret = wait_fd(s, POLLIN, deadline);
		if (ret)
			return ret;
		k = read(s, &c, 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k ? -errno : -ECONNRESET;
		if (c == '\n')
			break;
		if (len + 1 < n)
			buf[len++] = c;
	}
	buf[len] = 0;
	return 0;
}

/* kvmm's hybrid vsock: "CONNECT port\n" -> "OK hostport\n"; -errno when nothing listens yet. */
static int hybrid_connect(const char *sock, unsigned int port, double deadline)
{
	char line[128];
	int s = unix_connect(sock), ret;

	if (s < 0)
		return s;
	dprintf(s, "CONNECT %u\n", port);
	ret = read_line(s, line, sizeof(line), deadline);
	if (!ret && strncmp(line, "OK ", 3))
		ret = -EPROTO;
	if (ret) {
		close(s);
		return ret;
	}
	return s;
}

static int vsock_connect(unsigned int cid, unsigned int port)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port };
	int s = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = -errno;

		close(s);
		return e;
	}
	return s;
}

/*
 * Sends one command and collects its reply: "OUT" lines into out (joined by '\n'), the final
 * "OK ..." line's fields into ok. -1 (reported) on "ERR ..." or a broken channel.
 */
static int agent(char *ok, size_t okn, char *out, size_t outn, int secs, const char *fmt, ...)
{
	char cmd[1024], line[4200];
	double deadline = now_ms() + secs * 1000.0 + AGENT_CMD_TIMEOUT;
	size_t used = 0;
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (out && outn)
		out[0] = 0;
	if (dprintf(agent_fd, "%s\n", cmd) < 0)
		return fail("agent \"%s\": write: %s", cmd, strerror(errno));
	for (;;) {
		ret = read_line(agent_fd, line, sizeof(line), deadline);
		if (ret)
			return fail("agent \"%s\": %s", cmd, strerror(-ret));
		if (!strncmp(line, "OUT ", 4)) {
			size_t l = strlen(line + 4);

			if (out && used + l + 2 < outn) {
				memcpy(out + used, line + 4, l);
				used += l;
				out[used++] = '\n';
				out[used] = 0;
			}
			continue;
		}
		if (!strcmp(line, "OK") || !strncmp(line, "OK ", 3)) {
			if (ok && okn) {
				const char *f = line[2] ? line + 3 : "";
				size_t l = strnlen(f, okn - 1);

				memcpy(ok, f, l);
				ok[l] = 0;
			}
			return 0;
		}
		return fail("agent \"%s\": %s", cmd, line);
	}
}

/* The value of NAME=... in a space-separated field list, or 0. */
static long field(const char *fields, const char *name)
{
	size_t l = strlen(name);
	const char *p = fields;

	while ((p = strstr(p, name))) {
		if ((p == fields || p[-1] == ' ') && p[l] == '=')
			return strtol(p + l + 1, NULL, 0);
		p += l;
	}
	return 0;
}

static int open_tap(const char *name)
{
	struct ifreq ifr = { 0 };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static pid_t spawn(char **argv, const char *log)
{
	pid_t p = fork();

	if (p == 0) {
		int fd = open(log ? log : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int nul = open("/dev/null", O_RDONLY);

		if (fd < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		setsid();
		execv(argv[0], argv);
		_exit(127);
	}
	return p;
}

/* Waits up to ms for child p to exit; its status, or -ETIMEDOUT. */
static int reap(pid_t p, int ms, int *status)
{
	double deadline = now_ms() + ms;

	for (;;) {
		pid_t r = waitpid(p, status, WNOHANG);

		if (r == p)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		usleep(5000);
	}
}

static void kill_vmm(void)
{
	int st;

	if (vmm_pid > 0) {
		kill(vmm_pid, SIGKILL);
		reap(vmm_pid, 5000, &st);
		vmm_pid = 0;
	}
}

/*
 * Kata's GetThreadIDs(): the threads of the VMM whose /proc/PID/task/TID/comm matches
 * ^vcpu\d+$ (it pins them and moves them into cgroups). Their number, or -errno.
 */
static int vcpu_threads(pid_t pid)
{
	char path[64], comm[32], names[512] = "";
	struct dirent *e;
	int n = 0, tid;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		size_t l, k;
		FILE *c;

		if (sscanf(e->d_name, "%d", &tid) != 1)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", (int)pid, tid);
		c = fopen(path, "r");
		if (!c)
			continue;
		if (!fgets(comm, sizeof(comm), c))
			comm[0] = 0;
		fclose(c);
		comm[strcspn(comm, "\n")] = 0;
		l = strlen(comm);
		for (k = 4; k < l && comm[k] >= '0' && comm[k] <= '9'; k++)
			;
		if (l > 4 && k == l && !strncmp(comm, "vcpu", 4))
			n++;
		if (strlen(names) + l + 2 < sizeof(names)) {
			strcat(names, " ");
			strcat(names, comm);
		}
	}
	closedir(d);
	printf("kata-sandbox: threads%s\n", names);
	return n;
}

/* The first line of a file, without "\n". */
static int first_line(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	if (!fgets(buf, n, f))
		buf[0] = 0;
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

struct opts {
	const char *vmm, *config, *log, *vsock, *share, *container, *volume, *volume_text;
	const char *taps[MAX_TAPS];
	int ntaps, resize_cpus, agent_wait;
	long long resize_ram;
	bool debug, refused;
};

#define GUEST_SHARE "/run/kata-containers/shared/containers"

static int sandbox(const struct opts *o)
{
	char ok[512], out[4096], want[512], body[1024], id[64], bdf[32], *cfg = NULL;
	char *argv[] = { (char *)o->vmm, "--api-socket", (char *)api_sock, "-v", NULL };
	int fds[MAX_TAPS], i, s, st, ret = -1, slot, fn;
	double deadline, agent_ms;
	struct reply *r = malloc(sizeof(*r));
	FILE *f;
	long n;

	if (!r)
		return fail("out of memory");
	for (i = 0; i < o->ntaps; i++) {
		fds[i] = open_tap(o->taps[i]);
		if (fds[i] < 0) {
			fail("TAP %s: %s", o->taps[i], strerror(-fds[i]));
			goto out;
		}
	}
	f = fopen(o->config, "r");
	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) <= 0 || n > 65536 ||
	    fseek(f, 0, SEEK_SET) || !(cfg = calloc(1, n + 1)) || fread(cfg, 1, n, f) != (size_t)n) {
		fail("cannot read the VmConfig %s", o->config);
		if (f)
			fclose(f);
		goto out;
	}
	fclose(f);
	unlink(api_sock);

	/* 1. Launch: "<path> --api-socket <sock>", -v only with Kata's debug. */
	t0 = now_ms();
	if (!o->debug)
		argv[3] = NULL;
	vmm_pid = spawn(argv, o->log);
	if (vmm_pid < 0) {
		fail("fork: %s", strerror(errno));
		goto out;
	}
	step("launch");

	/* 2. waitVMM: vmm.ping every 10 ms, for up to clhTimeout. */
	deadline = now_ms() + CLH_TIMEOUT;
	for (;;) {
		s = unix_connect(api_sock);
		if (s >= 0) {
			ret = http_call(s, "GET", "vmm.ping", NULL, NULL, 0, CLH_API_TIMEOUT, r);
			close(s);
			if (!ret && r->status == 200)
				break;
		}
		if (waitpid(vmm_pid, &st, WNOHANG) == vmm_pid) {
			vmm_pid = 0;
			ret = fail("kvmm exited (status 0x%x) before answering vmm.ping", st);
			goto out;
		}
		if (now_ms() >= deadline) {
			ret = fail("no vmm.ping answer within %d ms", CLH_TIMEOUT);
			goto out;
		}
		usleep(CLH_PING_EVERY * 1000);
	}
	step("ping");

	/* 3-6. bootVM, all within clhCreateAndBootVMMinimumTimeout. */
	deadline = now_ms() + CLH_CREATE_BOOT;
	ret = api("PUT", "vm.create", cfg, CLH_CREATE_BOOT, 204, 200, r);
	if (ret)
		goto out;
	step("create");
	ret = vm_state_is("Created");
	if (ret)
		goto out;
	if (o->ntaps) {
		/* One connection for every interface, each request carrying its TAP fd. */
		s = unix_connect(api_sock);
		if (s < 0) {
			ret = fail("vm.add-net: connect: %s", strerror(-s));
			goto out;
		}
		for (i = 0; i < o->ntaps; i++) {
			snprintf(body, sizeof(body),
				 "{\"mac\": \"52:54:00:4b:41:%02x\", \"iommu\": false, \"num_queues\": 2,"
				 " \"queue_size\": 256, \"vhost_user\": false, \"vhost_mode\": \"Client\","
				 " \"offload_tso\": true, \"offload_ufo\": true, \"offload_csum\": true}",
				 i + 1);
			ret = http_call(s, "PUT", "vm.add-net", body, &fds[i], 1,
					(int)(deadline - now_ms()), r);
			if (!ret && r->status != 200 && r->status != 204)
				ret = fail("vm.add-net %s: status %d: %.300s", o->taps[i],
					   r->status, r->body);
			else if (ret)
				ret = fail("vm.add-net %s on the keep-alive connection: %s",
					   o->taps[i], strerror(-ret));
			if (ret) {
				close(s);
				goto out;
			}
		}
		close(s);
		step("add-net");
	}
	ret = api("PUT", "vm.boot", NULL, (int)(deadline - now_ms()), 204, 200, r);
	if (ret)
		goto out;
	step("boot");
	ret = vm_state_is("Running");
	if (ret)
		goto out;
	if (now_ms() > deadline) {
		ret = fail("create .. boot took over %d ms", CLH_CREATE_BOOT);
		goto out;
	}

	/* The agent: Kata's dialer retries until its dial_timeout. */
	snprintf(fail_step, sizeof(fail_step), "agent");
	deadline = now_ms() + o->agent_wait * 1000.0;
	for (;;) {
		agent_fd = hybrid_connect(o->vsock, 1024, now_ms() + 1000);
		if (agent_fd >= 0)
			break;
		if (now_ms() >= deadline) {
			ret = fail("no agent on vsock port 1024 within %d s (last: %s)",
				   o->agent_wait, strerror(-agent_fd));
			goto out;
		}
		if (waitpid(vmm_pid, &st, WNOHANG) == vmm_pid) {
			vmm_pid = 0;
			ret = fail("kvmm exited (status 0x%x) while the guest booted", st);
			goto out;
		}
		usleep(20000);
	}
	ret = agent(ok, sizeof(ok), NULL, 0, 0, "ping");
	if (ret)
		goto out;
	agent_ms = now_ms() - t0;
	n = vcpu_threads(vmm_pid);
	if (n < 1) {
		ret = fail("no thread named vcpu<N> (Kata's GetThreadIDs finds none): %ld", n);
		goto out;
	}
	printf("kata-sandbox: agent ms=%.0f %s\n", agent_ms, ok);
	step("agent");

	/* CreateContainer: the share, then the container's process. */
	ret = agent(ok, sizeof(ok), NULL, 0, 0, "mount-share kataShared " GUEST_SHARE);
	if (ret)
		goto out;
	step("mount-share");
	if (o->container) {
		char path[512];

		snprintf(path, sizeof(path), "%s/%s/rootfs/etc/kata-msg", o->share, o->container);
		if (first_line(path, want, sizeof(want)) || !want[0]) {
			ret = fail("no message in %s", path);
			goto out;
		}
		ret = agent(ok, sizeof(ok), out, sizeof(out), 10,
			    "run " GUEST_SHARE "/%s/rootfs 10 /bin/entry msg", o->container);
		if (ret)
			goto out;
		snprintf(body, sizeof(body), "container:%s\n", want);
		if (field(ok, "exit") != 0 || strcmp(out, body)) {
			ret = fail("container said \"%.200s\" (%s), want \"container:%s\"", out, ok, want);
			goto out;
		}
		step("container");
	}

	/* Where hot-plug is unsupported, Kata's calls must fail plainly, and nothing else. */
	if (o->refused) {
		static const char *const calls[][2] = {
			{ "vm.resize", "{\"desired_vcpus\": 2}" },
			{ "vm.resize", "{\"desired_ram\": 4294967296}" },
			{ "vm.add-disk", "{\"path\": \"%s\", \"readonly\": true}" },
		};

		for (i = 0; i < 3; i++) {
			snprintf(body, sizeof(body), calls[i][1], o->volume ? o->volume : "/dev/null");
			ret = api("PUT", calls[i][0], body, CLH_HOTPLUG_TIMEOUT, 400, 400, r);
			if (ret)
				goto out;
			if (!strstr(r->body, "\"error\"")) {
				ret = fail("%s %s: a 400 without a JSON error: %.300s", calls[i][0],
					   body, r->body);
				goto out;
			}
			printf("kata-sandbox: refused %s %s: %.200s\n", calls[i][0], body, r->body);
		}
		ret = agent(ok, sizeof(ok), NULL, 0, 0, "ping");
		if (ret)
			goto out;
		ret = vm_state_is("Running");
		if (ret)
			goto out;
		step("refused");
	}

	/* A second container with limits: vCPUs and memory grow. */
	if (o->resize_cpus) {
		snprintf(body, sizeof(body), "{\"desired_vcpus\": %d}", o->resize_cpus);
		ret = api("PUT", "vm.resize", body, CLH_API_TIMEOUT, 204, 200, r);
		if (ret)
			goto out;
		ret = agent(ok, sizeof(ok), NULL, 0, 20, "online-cpus %d 20", o->resize_cpus);
		if (ret)
			goto out;
		n = vcpu_threads(vmm_pid);
		if (n != o->resize_cpus) {
			ret = fail("%ld threads named vcpu<N> after the resize to %d vCPUs (Kata's "
				   "GetThreadIDs would pin those)", n, o->resize_cpus);
			goto out;
		}
		step("resize-cpus");
	}
	if (o->resize_ram) {
		long long kb, before, after;

		ret = agent(ok, sizeof(ok), NULL, 0, 0, "ping");
		if (!ret)
			ret = vm_memory_size(r, &before);
		if (ret)
			goto out;
		kb = field(ok, "mem_kb");
		snprintf(body, sizeof(body), "{\"desired_ram\": %lld}", o->resize_ram);
		ret = api("PUT", "vm.resize", body, CLH_API_TIMEOUT, 204, 200, r);
		if (!ret)
			ret = vm_memory_size(r, &after);
		if (ret)
			goto out;
		if (after != o->resize_ram) {
			ret = fail("vm.info memory.size %lld after a resize to %lld", after,
				   o->resize_ram);
			goto out;
		}
		/* Onlined, the guest must gain at least 3/4 of what was added (the rest may go
		 * to the memmap of the new blocks). */
		ret = agent(ok, sizeof(ok), NULL, 0, 20, "online-mem %lld 20",
			    kb + (after - before) / 1024 * 3 / 4);
		if (ret)
			goto out;
		step("resize-ram");
	}

	/* A block volume: hot-plugged, found by its PCI path, used, removed. */
	if (o->volume && !o->refused) {
		snprintf(body, sizeof(body),
			 "{\"path\": \"%s\", \"readonly\": true, \"direct\": false, \"iommu\": false,"
			 " \"num_queues\": %d, \"queue_size\": 1024, \"vhost_user\": false,"
			 " \"id\": \"_disk1\"}", o->volume, o->resize_cpus ? o->resize_cpus : 1);
		ret = api("PUT", "vm.add-disk", body, CLH_HOTPLUG_TIMEOUT, 200, 200, r);
		if (ret)
			goto out;
		if (json_field(r->body, NULL, "id", id, sizeof(id)) ||
		    json_field(r->body, NULL, "bdf", bdf, sizeof(bdf))) {
			ret = fail("vm.add-disk answer without id and bdf: %.300s", r->body);
			goto out;
		}
		/* clh.go's hotplugAddBlockDevice: "0000:00:XX.0", XX the PCI path. */
		if (sscanf(bdf, "0000:00:%2x.%d", &slot, &fn) != 2 || fn != 0 || strlen(bdf) != 12) {
			ret = fail("bdf %s is not 0000:00:XX.0", bdf);
			goto out;
		}
		step("add-disk");
		ret = agent(ok, sizeof(ok), NULL, 0, 10, "wait-disk %02x 10", slot);
		if (ret)
			goto out;
		{
			const char *d = strstr(ok, "dev=");
			char dev[64] = "";

			if (d)
				memcpy(dev, d + 4, strnlen(d + 4, sizeof(dev) - 1));
			dev[strcspn(dev, " ")] = 0;
			ret = agent(ok, sizeof(ok), NULL, 0, 0, "mount %s " GUEST_SHARE "/%s/rootfs/vol ext4 ro",
				    dev, o->container);
			if (ret)
				goto out;
			if (first_line(o->volume_text, want, sizeof(want))) {
				ret = fail("cannot read %s", o->volume_text);
				goto out;
			}
			ret = agent(ok, sizeof(ok), out, sizeof(out), 10,
				    "run " GUEST_SHARE "/%s/rootfs 10 /bin/entry vol", o->container);
			if (ret)
				goto out;
			snprintf(body, sizeof(body), "%s\n", want);
			if (strcmp(out, body)) {
				ret = fail("the volume's file reads \"%.200s\", want \"%s\"", out, want);
				goto out;
			}
			step("volume");
			ret = agent(ok, sizeof(ok), NULL, 0, 0, "umount " GUEST_SHARE "/%s/rootfs/vol",
				    o->container);
			if (ret)
				goto out;
			snprintf(body, sizeof(body), "{\"id\": \"%s\"}", id);
			ret = api("PUT", "vm.remove-device", body, CLH_HOTPLUG_TIMEOUT, 204, 200, r);
			if (ret)
				goto out;
			ret = agent(ok, sizeof(ok), NULL, 0, 10, "wait-gone %s 10", dev);
			if (ret)
				goto out;
			step("remove-device");
		}
	}

	/* 8. Stop: vmm.shutdown, then the process must be gone within clhStopSandboxTimeout. */
	close(agent_fd);
	agent_fd = -1;
	ret = api("PUT", "vmm.shutdown", NULL, CLH_API_TIMEOUT, 204, 200, r);
	if (ret)
		goto out;
	ret = reap(vmm_pid, CLH_STOP_TIMEOUT, &st);
	if (ret) {
		ret = fail("kvmm still running %d ms after vmm.shutdown", CLH_STOP_TIMEOUT);
		goto out;
	}
	vmm_pid = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		ret = fail("kvmm ended with status 0x%x after vmm.shutdown", st);
		goto out;
	}
	step("shutdown");
	printf("kata-sandbox: PASS total_ms=%ld agent_ms=%.0f\n", since_launch(), agent_ms);
	ret = 0;
out:
	if (agent_fd >= 0)
		close(agent_fd);
	kill_vmm();
	free(cfg);
	free(r);
	return ret;
}

/* QEMU beside it: launch -> the agent's first answer over AF_VSOCK. */
static int qemu_agent(unsigned int cid, unsigned int port, int secs, char **argv)
{
	char ok[512];
	double deadline;
	int st, ret;

	t0 = now_ms();
	vmm_pid = spawn(argv, getenv("KATA_SANDBOX_QEMU_LOG"));
	if (vmm_pid < 0)
		return fail("fork: %s", strerror(errno));
	snprintf(fail_step, sizeof(fail_step), "qemu-agent");
	deadline = t0 + secs * 1000.0;
	for (;;) {
		agent_fd = vsock_connect(cid, port);
		if (agent_fd >= 0)
			break;
		if (waitpid(vmm_pid, &st, WNOHANG) == vmm_pid) {
			vmm_pid = 0;
			return fail("QEMU exited (status 0x%x) before the agent answered", st);
		}
		if (now_ms() >= deadline) {
			ret = fail("no agent on vsock %u:%u within %d s (last: %s)", cid, port, secs,
				   strerror(-agent_fd));
			kill_vmm();
			return ret;
		}
		usleep(20000);
	}
	ret = agent(ok, sizeof(ok), NULL, 0, 0, "ping");
	if (!ret)
		printf("kata-sandbox: qemu agent ms=%ld %s\n", since_launch(), ok);
	close(agent_fd);
	agent_fd = -1;
	kill_vmm();
	if (!ret)
		printf("kata-sandbox: PASS agent_ms=%ld\n", since_launch());
	return ret;
}

static void usage(void)
{
	fprintf(stderr, "usage: kata-sandbox kvmm --vmm PATH --api-socket PATH --config FILE "
		"--vsock PATH --share DIR [--container ID] [--log FILE] [--debug] [--tap NAME]... "
		"[--resize-cpus N] [--resize-ram BYTES] [--volume IMG --volume-text FILE] "
		"[--refused] [--agent-wait SECS]\n"
		"       kata-sandbox qemu CID PORT SECS -- QEMU ARGS...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct opts o = { .agent_wait = 45 };
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 6 && !strcmp(argv[1], "qemu") && !strcmp(argv[5], "--"))
		return qemu_agent(strtoul(argv[2], NULL, 0), strtoul(argv[3], NULL, 0),
				  atoi(argv[4]), argv + 6) ? 1 : 0;
	if (argc < 2 || strcmp(argv[1], "kvmm"))
		usage();
	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--debug") || !strcmp(a, "--refused")) {
			*(a[2] == 'd' ? &o.debug : &o.refused) = true;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--vmm"))
			o.vmm = v;
		else if (!strcmp(a, "--api-socket"))
			api_sock = v;
		else if (!strcmp(a, "--config"))
			o.config = v;
		else if (!strcmp(a, "--log"))
			o.log = v;
		else if (!strcmp(a, "--vsock"))
			o.vsock = v;
		else if (!strcmp(a, "--share"))
			o.share = v;
		else if (!strcmp(a, "--container"))
			o.container = v;
		else if (!strcmp(a, "--tap") && o.ntaps < MAX_TAPS)
			o.taps[o.ntaps++] = v;
		else if (!strcmp(a, "--resize-cpus"))
			o.resize_cpus = atoi(v);
		else if (!strcmp(a, "--resize-ram"))
			o.resize_ram = strtoll(v, NULL, 0);
		else if (!strcmp(a, "--volume"))
			o.volume = v;
		else if (!strcmp(a, "--volume-text"))
			o.volume_text = v;
		else if (!strcmp(a, "--agent-wait"))
			o.agent_wait = atoi(v);
		else
			usage();
	}
	if (!o.vmm || !api_sock || !o.config || !o.vsock || !o.share ||
	    (o.volume && (!o.volume_text || !o.container)))
		usage();
	return sandbox(&o) ? 1 : 0;
}
