/*
 * kvmm-remote: the command-line client of kvmm's API socket (--api-socket), like Cloud
 * Hypervisor's ch-remote.  Each run connects to the Unix socket, sends one HTTP/1.1 request
 * (Host: localhost, Content-Length, Connection: close; for add-net fd=N the TAP fd travels as
 * SCM_RIGHTS in the same sendmsg(), as Kata does it), reads the answer until EOF and prints its
 * body: to stdout on 2xx (exit 0), to stderr otherwise (exit 1).  2 is a usage error, 3 a socket
 * that cannot be reached or gives no answer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"

enum { EXIT_STATUS = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

#define IO_TIMEOUT_S	60		/* per send/receive: a wedged server is unreachable */
#define MAX_INPUT	(16 << 20)	/* bytes of a JSON file or of a response */

static const char usage_text[] =
"Usage: kvmm-remote --api-socket PATH COMMAND [ARG]\n"
"\n"
"Sends one request to a kvmm API socket (Cloud Hypervisor's /api/v1) and prints the answer.\n"
"\n"
"  ping                     GET vmm.ping\n"
"  shutdown-vmm             PUT vmm.shutdown (kvmm exits)\n"
"  create FILE|-            PUT vm.create with a VmConfig JSON from FILE or stdin\n"
"  boot | pause | resume | shutdown | reboot | delete | power-button\n"
"                           PUT vm.<command>\n"
"  info                     GET vm.info\n"
"  counters                 GET vm.counters\n"
"  add-disk path=FILE[,readonly=on][,direct=on][,id=NAME][,serial=STR][,pci_segment=N]\n"
"                           PUT vm.add-disk (on a running VM: hot-plug; prints the\n"
"                           {\"id\", \"bdf\"} answer)\n"
"  add-net tap=NAME|fd=N[,mac=AA:BB:CC:DD:EE:FF][,id=NAME][,pci_segment=N]\n"
"                           PUT vm.add-net; fd=N sends the inherited fd N with SCM_RIGHTS\n"
"  add-fs tag=TAG,socket=PATH[,num_queues=N][,queue_size=N][,id=NAME][,pci_segment=N]\n"
"                           PUT vm.add-fs (virtio-fs served by a vhost-user back-end)\n"
"  resize [--cpus N] [--memory SIZE] [--balloon SIZE]\n"
"                           PUT vm.resize (desired_vcpus, desired_ram, desired_balloon)\n"
"  remove-device ID         PUT vm.remove-device {\"id\": ID} (a running guest is asked to\n"
"                           eject it; kvmm lets go once it has)\n"
"  add-vsock cid=N,socket=PATH\n"
"                           PUT vm.add-vsock (hybrid vsock on the Unix socket PATH)\n"
"  raw METHOD PATH [JSON|-] any request; PATH without a leading / is under /api/v1/\n"
"\n"
"Exit status: 0 success (2xx), 1 error status (its JSON body on stderr), 2 usage error,\n"
"3 the socket cannot be reached or does not answer.\n";

enum arg_kind { ARG_NONE, ARG_FILE, ARG_DISK, ARG_NET, ARG_VSOCK, ARG_FS, ARG_ID };

static const struct command {
	const char *name, *method, *endpoint;
	enum arg_kind arg;
} commands[] = {
	{ "ping", "GET", "vmm.ping", ARG_NONE },
	{ "shutdown-vmm", "PUT", "vmm.shutdown", ARG_NONE },
	{ "create", "PUT", "vm.create", ARG_FILE },
	{ "boot", "PUT", "vm.boot", ARG_NONE },
	{ "info", "GET", "vm.info", ARG_NONE },
	{ "pause", "PUT", "vm.pause", ARG_NONE },
	{ "resume", "PUT", "vm.resume", ARG_NONE },
	{ "shutdown", "PUT", "vm.shutdown", ARG_NONE },
	{ "reboot", "PUT", "vm.reboot", ARG_NONE },
	{ "delete", "PUT", "vm.delete", ARG_NONE },
	{ "power-button", "PUT", "vm.power-button", ARG_NONE },
	{ "counters", "GET", "vm.counters", ARG_NONE },
	{ "add-disk", "PUT", "vm.add-disk", ARG_DISK },
	{ "add-net", "PUT", "vm.add-net", ARG_NET },
	{ "add-vsock", "PUT", "vm.add-vsock", ARG_VSOCK },
	{ "add-fs", "PUT", "vm.add-fs", ARG_FS },
	{ "remove-device", "PUT", "vm.remove-device", ARG_ID },
};

static void __attribute__((noreturn, format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("kvmm-remote: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see --help)\n", stderr);
	exit(EXIT_USAGE);
}

/* Reads FD to EOF into a malloc'd, NUL-terminated buffer; NULL with errno on failure. */
static char *read_all(int fd, size_t *lenp)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *nb;
	ssize_t n;

	while (buf) {
		if (cap - len < 2) {
			nb = cap < MAX_INPUT ? realloc(buf, cap * 2) : NULL;
			if (!nb) {
				errno = cap < MAX_INPUT ? ENOMEM : EFBIG;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (n == 0) {
			buf[len] = '\0';
			*lenp = len;
			return buf;
		}
		len += (size_t)n;
	}
	free(buf);
	return NULL;
}

static char *read_input(const char *name, size_t *len)
{
	int fd = strcmp(name, "-") ? open(name, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	char *s = fd < 0 ? NULL : read_all(fd, len);
	int saved = errno;

	if (fd > STDIN_FILENO)
		close(fd);
	if (!s) {
		fprintf(stderr, "kvmm-remote: cannot read %s: %s\n",
			strcmp(name, "-") ? name : "stdin", strerror(saved));
		exit(EXIT_USAGE);
	}
	return s;
}

/* DiskConfig / NetConfig / VsockConfig JSON from a --disk / --net / --vsock style value
 * (kvmm's own parser). */
static char *device_body(enum arg_kind kind, const char *arg, int *fd)
{
	char *copy = strdup(arg), *s, mac[18];
	const char *bad = arg;
	struct vmm_config c;
	json_t *j;
	int ret;

	config_init(&c);
	if (!copy)
		exit(EXIT_STATUS);
	ret = kind == ARG_DISK ? config_opt_disk(&c, copy, &bad) :
	      kind == ARG_NET ? config_opt_net(&c, copy, &bad) :
	      kind == ARG_FS ? config_opt_fs(&c, copy, &bad) : config_opt_vsock(&c, copy, &bad);
	if (ret)
		usage_error("invalid value '%s' in '%s'", bad, arg);
	if (kind == ARG_VSOCK) {
		j = json_pack("{s:I, s:s}", "cid", (json_int_t)c.vsock.cid, "socket",
			      c.vsock.socket);
	} else if (kind == ARG_FS) {
		const struct fs_config *f = &c.fs[0];

		j = json_pack("{s:s, s:s, s:I, s:I, s:s*, s:I}", "tag", f->tag, "socket", f->socket,
			      "num_queues", (json_int_t)f->num_queues, "queue_size",
			      (json_int_t)f->queue_size, "id", f->id, "pci_segment",
			      (json_int_t)f->pci_segment);
	} else if (kind == ARG_DISK) {
		const struct disk_config *d = &c.disks[0];

		j = json_pack("{s:s, s:b, s:b, s:s*, s:s*, s:I}", "path", d->path, "readonly",
			      d->readonly, "direct", d->direct, "id", d->id, "serial", d->serial,
			      "pci_segment", (json_int_t)d->pci_segment);
	} else {
		struct net_config *n = &c.nets[0];

		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1],
			 n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
		if (n->fd >= 0 && fcntl(n->fd, F_GETFD) < 0)
			usage_error("fd %d is not open", n->fd);
		*fd = n->fd;
		n->fd = -1;	/* stays open for sendmsg(): config_free() closes net fds */
		j = json_pack("{s:s*, s:s*, s:s*, s:I}", "tap", n->tap, "mac",
			      n->has_mac ? mac : NULL, "id", n->id, "pci_segment",
			      (json_int_t)n->pci_segment);
	}
	s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	config_free(&c);
	free(copy);
	if (!s)
		exit(EXIT_STATUS);
	return s;
}

/* vm.resize's body from ch-remote's options: --cpus N, --memory SIZE, --balloon SIZE. */
static char *resize_body(int argc, char **argv)
{
	json_t *j = json_object();
	uint64_t size;
	char *s, *end;

	if (!j)
		exit(EXIT_STATUS);
	if (argc == 0 || argc % 2)
		usage_error("resize needs --cpus N, --memory SIZE or --balloon SIZE");
	for (int i = 0; i < argc; i += 2) {
		const char *opt = argv[i], *val = argv[i + 1];

		if (!strcmp(opt, "--cpus")) {
			errno = 0;
			size = strtoull(val, &end, 10);
			if (errno || end == val || *end || *val == '-' || size > INT32_MAX)
				usage_error("invalid --cpus '%s'", val);
			json_object_set_new(j, "desired_vcpus", json_integer((json_int_t)size));
		} else if (!strcmp(opt, "--memory") || !strcmp(opt, "--balloon")) {
			if (parse_size(val, &size) || size > INT64_MAX)
				usage_error("invalid %s '%s'", opt, val);
			json_object_set_new(j, opt[2] == 'm' ? "desired_ram" : "desired_balloon",
					    json_integer((json_int_t)size));
		} else {
			usage_error("resize: unknown option '%s'", opt);
		}
	}
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!s)
		exit(EXIT_STATUS);
	return s;
}

/* {"id": ID}, for vm.remove-device. */
static char *id_body(const char *id)
{
	json_t *j = json_pack("{s:s}", "id", id);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	if (!s)
		exit(EXIT_STATUS);
	return s;
}

static int connect_api(const char *path)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int sock;

	if (strlen(path) >= sizeof(sa.sun_path))
		usage_error("socket path '%s' is too long", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "kvmm-remote: cannot connect to %s: %s\n", path, strerror(errno));
		exit(EXIT_UNREACHABLE);
	}
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return sock;
}

/* Writes all of BUF; FD (if >= 0) goes as SCM_RIGHTS with the first bytes. */
static int send_all(int sock, const char *buf, size_t len, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	ssize_t n;

	while (len) {
		iov.iov_base = (void *)buf;
		iov.iov_len = len;
		if (fd >= 0) {
			memset(&u, 0, sizeof(u));
			msg.msg_control = u.buf;
			msg.msg_controllen = sizeof(u.buf);
			cm = CMSG_FIRSTHDR(&msg);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &fd, sizeof(int));
		}
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		fd = -1;
		msg.msg_control = NULL;
		msg.msg_controllen = 0;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static bool is_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/*
 * Finds the final response in BUF (skipping 1xx ones): its status, reason and body (Content-Length
 * bytes, or up to EOF without one).  0, or -EBADMSG when it is not an HTTP/1.x response.
 */
static int parse_response(char *buf, size_t len, int *status, char **reason, char **body,
			  size_t *blen)
{
	char *end, *line, *p;
	long long clen = -1;

	for (;;) {
		end = memmem(buf, len, "\r\n\r\n", 4);
		if (!end || end - buf < 12 || strncmp(buf, "HTTP/1.", 7) || buf[8] != ' ' ||
		    !is_digits(buf + 9, 3) || (buf[12] != ' ' && buf[12] != '\r'))
			return -EBADMSG;
		*status = atoi(buf + 9);
		*end = '\0';
		if (*status >= 200)
			break;
		len -= (size_t)(end + 4 - buf);
		buf = end + 4;
	}
	*reason = buf + 12 + (buf[12] == ' ');
	line = strstr(buf, "\r\n") ?: end;
	*line = '\0';
	while (line < end) {
		line += 2;
		p = strstr(line, "\r\n");
		if (p)
			*p = '\0';
		if (!strncasecmp(line, "Content-Length:", 15))
			clen = strtoll(line + 15, NULL, 10);
		line = p ? p : end;
	}
	*body = end + 4;
	*blen = len - (size_t)(end + 4 - buf);
	if (clen >= 0 && (unsigned long long)clen > *blen)
		return -EBADMSG;	/* cut short */
	if (clen >= 0)
		*blen = (size_t)clen;
	return 0;
}

static void print_body(FILE *f, const char *body, size_t len)
{
	fwrite(body, 1, len, f);
	if (len && body[len - 1] != '\n')
		fputc('\n', f);
}

static int request(const char *sock_path, const char *method, const char *target,
		   const char *body, int fd)
{
	size_t blen = body ? strlen(body) : 0, rlen = 0;
	char *req, *rsp, *reason, *rbody;
	int sock, status, n, ret;

	n = asprintf(&req, "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
		     "%sContent-Length: %zu\r\nConnection: close\r\n\r\n%s", method, target,
		     blen ? "Content-Type: application/json\r\n" : "", blen, body ? body : "");
	if (n < 0)
		return EXIT_STATUS;
	sock = connect_api(sock_path);
	ret = send_all(sock, req, (size_t)n, fd);
	free(req);
	/* A server may answer (413, say) and close before the whole body is sent: read anyway. */
	rsp = ret && ret != -EPIPE && ret != -ECONNRESET ? NULL : read_all(sock, &rlen);
	if (rsp && rlen)
		ret = 0;
	else if (!ret && !rsp)
		ret = -errno;
	close(sock);
	if (ret || !rlen) {
		fprintf(stderr, "kvmm-remote: no answer from %s: %s\n", sock_path,
			ret == -EAGAIN ? "timed out" : ret ? strerror(-ret) : "connection closed");
		free(rsp);
		return EXIT_UNREACHABLE;
	}
	if (parse_response(rsp, rlen, &status, &reason, &rbody, &rlen)) {
		fprintf(stderr, "kvmm-remote: malformed response from %s\n", sock_path);
		ret = EXIT_STATUS;
	} else if (status >= 200 && status < 300) {
		print_body(stdout, rbody, rlen);
		ret = fflush(stdout) ? EXIT_STATUS : 0;
	} else {
		fprintf(stderr, "kvmm-remote: %s %s: %d %s%s", method, target, status, reason,
			rlen ? ": " : "\n");
		if (rlen)
			print_body(stderr, rbody, rlen);
		ret = EXIT_STATUS;
	}
	free(rsp);
	return ret;
}

static bool is_token(const char *s, bool path)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (path ? (*s <= ' ' || *s >= 0x7f) : (*s < 'A' || *s > 'Z'))
			return false;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "api-socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock_path = NULL, *cmd, *arg;
	char *target, *body = NULL;
	size_t len, i;
	int c, fd = -1, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 's')
			sock_path = optarg;
		else if (c == 'h')
			return fputs(usage_text, stdout) < 0 ? EXIT_STATUS : 0;
		else if (optopt == 's')
			usage_error("--api-socket needs a value");
		else
			usage_error("unknown option '%s'", argv[optind - 1]);
	}
	if (!sock_path)
		usage_error("--api-socket PATH is required");
	if (optind == argc)
		usage_error("a command is required");
	cmd = argv[optind++];
	arg = optind < argc ? argv[optind] : NULL;
	if (!strcmp(cmd, "raw")) {
		if (argc - optind < 2 || argc - optind > 3 || !is_token(argv[optind], false) ||
		    !is_token(argv[optind + 1], true))
			usage_error("raw needs METHOD PATH [JSON|-]");
		if (asprintf(&target, "%s%s", argv[optind + 1][0] == '/' ? "" : "/api/v1/",
			     argv[optind + 1]) < 0)
			return EXIT_STATUS;
		if (argc - optind == 3)
			body = !strcmp(argv[optind + 2], "-") ? read_input("-", &len)
			     : strdup(argv[optind + 2]);
		ret = request(sock_path, argv[optind], target, body, -1);
		free(target);
		free(body);
		return ret;
	}
	if (!strcmp(cmd, "resize")) {
		body = resize_body(argc - optind, argv + optind);
		ret = request(sock_path, "PUT", "/api/v1/vm.resize", body, -1);
		free(body);
		return ret;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(cmd, commands[i].name))
			break;
	if (i == sizeof(commands) / sizeof(commands[0]))
		usage_error("unknown command '%s'", cmd);
	if ((commands[i].arg == ARG_NONE) != !arg || argc - optind > 1)
		usage_error(commands[i].arg == ARG_NONE ? "%s takes no argument" :
			    "%s needs one argument", cmd);
	if (commands[i].arg == ARG_FILE)
		body = read_input(arg, &len);
	else if (commands[i].arg == ARG_ID)
		body = id_body(arg);
	else if (commands[i].arg != ARG_NONE)
		body = device_body(commands[i].arg, arg, &fd);
	if (asprintf(&target, "/api/v1/%s", commands[i].endpoint) < 0)
		return EXIT_STATUS;
	ret = request(sock_path, commands[i].method, target, body, fd);
	free(target);
	free(body);
	return ret;
}
