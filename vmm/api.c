/*
 * The API server: a Unix stream socket served on the main thread's event loop. Each
 * connection reads with recvmsg (http_conn.c, so SCM_RIGHTS fds reach vm.add-net), answers its
 * requests in order over keep-alive, and is closed when it breaks the protocol, stays idle or
 * slow for API_IDLE_S, or when too many are open. Every input is untrusted: the answer to a
 * bad one is an HTTP status with a JSON error naming the problem, and the server keeps going.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "api.h"
#include "evloop.h"
#include "log.h"

#define API_MAX_CONNS	128
#define API_IDLE_S	10	/* a connection with no complete request for this long is closed */

struct api_conn {
	struct ev_source src;
	struct api_server *srv;
	struct http_conn http;
	time_t last;			/* last complete request (or accept) */
	bool used;
	bool closing;			/* the last request asked to close the connection */
	bool draining;			/* answered an error: discarding input until EOF */
};

struct api_server {
	struct evloop loop;
	struct ev_source listen_src, sig_src, wake_src, sweep_src;
	/* API_MAX_CONNS of them, calloc()ed: a fresh mapping the kernel zeroes page by page as
	 * connections reach it, where zeroing it here would fault in every page of it before
	 * the first answer. */
	struct api_conn *conns;
	int conns_hi;			/* 1 + the highest slot ever used: loops stop there */
	struct api_vmm *vmm;
	const char *path;		/* unlinked at exit when we created it */
	bool quit;
	int status;			/* exit status once quit */
};

void api_error(struct api_reply *rep, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	ssize_t n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rep->status = status;
	rep->body = malloc(2 * sizeof(msg) + 32);
	n = rep->body ? http_json_error(rep->body, 2 * sizeof(msg) + 32, msg) : -1;
	if (n < 0) {
		free(rep->body);
		rep->body = NULL;
	}
}

static time_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void conn_close(struct api_conn *c)
{
	evloop_del(&c->srv->loop, &c->src);
	close(c->src.fd);
	http_conn_destroy(&c->http);
	c->used = false;
}

/* Writes all of BUF, waiting at most a second for a slow reader. 0 or -errno. */
static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			if (poll(&p, 1, 1000) <= 0)
				return -ETIMEDOUT;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= n;
	}
	return 0;
}

static int send_reply(struct api_conn *c, const struct api_reply *rep, bool close_after,
		      bool head_only)
{
	struct http_response r = {
		.status = rep->status, .body = rep->status == 204 ? NULL : rep->body,
		.body_len = rep->body && rep->status != 204 ? strlen(rep->body) : 0,
		.close = close_after, .head_only = head_only,
	};
	size_t size = HTTP_RESPONSE_HEAD_MAX + 64 + r.body_len;
	char *buf = malloc(size);
	ssize_t n;
	int ret;

	if (!buf)
		return -ENOMEM;
	n = http_response_format(&r, buf, size);
	if (n < 0) {
		/* A status the HTTP layer does not know is a bug here, not the client's. */
		pr_err("api: cannot format a %d answer: %s", rep->status, strerror((int)-n));
		r = (struct http_response){ .status = 500, .close = close_after };
		n = http_response_format(&r, buf, size);
	}
	ret = n < 0 ? (int)n : send_all(c->src.fd, buf, n);
	free(buf);
	return ret;
}

static void conn_serve(struct api_conn *c, struct http_request *req)
{
	struct api_reply rep = { 0 };
	bool quit = false;

	api_vmm_handle(c->srv->vmm, req, &rep, &quit);
	/* A refusal says why in the log too: Kata keeps the VMM's log, not the answers. */
	if (rep.status >= 400 && rep.body)
		pr_info("api: %s %s -> %d %s", req->method_name, req->path, rep.status, rep.body);
	else
		pr_debug("api: %s %s -> %d", req->method_name, req->path, rep.status);
	if (send_reply(c, &rep, !req->keep_alive || quit, req->method == HTTP_HEAD))
		pr_debug("api: could not answer a client that went away");
	free(rep.body);
	if (quit) {
		c->srv->quit = true;
		c->srv->status = 0;
	}
}

static void on_conn(void *opaque, uint32_t events)
{
	struct api_conn *c = opaque;
	struct http_request *req;
	ssize_t n;
	int ret;

	(void)events;
	if (c->draining) {
		char junk[4096];

		/* A lingering close: the client reads our error instead of a reset that closing
		 * with unread data would give it. Ends at EOF or by the idle sweep. */
		while ((n = recv(c->src.fd, junk, sizeof(junk), MSG_DONTWAIT)) > 0)
			;
		if (n == 0 || errno != EAGAIN)
			conn_close(c);
		return;
	}
	do {
		n = http_conn_recv(&c->http, c->src.fd);
		while ((ret = http_conn_next(&c->http, &req)) > 0) {
			c->last = now_s();
			c->closing = !req->keep_alive;
			conn_serve(c, req);
			http_request_release(req);
			if (c->srv->quit)
				break;
		}
		if (http_conn_want_continue(&c->http))
			send_all(c->src.fd, HTTP_CONTINUE, strlen(HTTP_CONTINUE));
	} while (n > 0 && ret == 0 && !c->srv->quit && !c->closing);
	if (ret == -EBADMSG || n == -EBADMSG) {
		const char *why = "bad request";
		struct api_reply rep = { 0 };
		int status = http_conn_error(&c->http, &why);

		api_error(&rep, status ? status : 400, "%s", why);
		send_reply(c, &rep, true, false);
		free(rep.body);
		shutdown(c->src.fd, SHUT_WR);
		c->draining = true;
	} else if (n != -EAGAIN || c->srv->quit || c->closing) {
		conn_close(c);		/* EOF, a broken client, or a request to close */
	}
}

static void on_accept(void *opaque, uint32_t events)
{
	struct api_server *s = opaque;
	int fd, i;

	(void)events;
	while ((fd = accept4(s->listen_src.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		for (i = 0; i < API_MAX_CONNS && s->conns[i].used; i++)
			;
		if (i == API_MAX_CONNS) {
			static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
				"Content-Type: application/json\r\nContent-Length: 38\r\n"
				"Connection: close\r\n\r\n{\"error\":\"too many open connections\"}";

			send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			continue;
		}
		struct api_conn *c = &s->conns[i];

		if (i >= s->conns_hi)
			s->conns_hi = i + 1;

		*c = (struct api_conn){ .src = { fd, on_conn, c }, .srv = s, .last = now_s(),
					.used = true };
		http_conn_init(&c->http);
		if (evloop_add(&s->loop, &c->src, EPOLLIN)) {
			http_conn_destroy(&c->http);
			close(fd);
			c->used = false;
		}
	}
}

/* Every second: close connections idle (or trickling a request) for API_IDLE_S. */
static void on_sweep(void *opaque, uint32_t events)
{
	struct api_server *s = opaque;
	uint64_t ticks;
	time_t now = now_s();

	(void)events;
	if (read(s->sweep_src.fd, &ticks, sizeof(ticks)) < 0)
		return;
	for (int i = 0; i < s->conns_hi; i++)
		if (s->conns[i].used && now - s->conns[i].last > API_IDLE_S)
			conn_close(&s->conns[i]);
}

static void on_signal(void *opaque, uint32_t events)
{
	struct api_server *s = opaque;
	struct signalfd_siginfo si;

	(void)events;
	if (read(s->sig_src.fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGUSR2) {
		api_vmm_dump_vcpus(s->vmm);
		return;
	}
	pr_info("api: signal %u, stopping", si.ssi_signo);
	s->quit = true;
	s->status = 0;
}

static void on_wake(void *opaque, uint32_t events)
{
	struct api_server *s = opaque;
	uint64_t v;
	int status;

	(void)events;
	if (read(s->wake_src.fd, &v, sizeof(v)) < 0)
		return;
	status = api_vmm_reap(s->vmm);
	if (status >= 0) {
		s->quit = true;
		s->status = status;
	}
}

/* Binds PATH (mode 0600). A stale socket file (nobody accepting) is replaced; a live one is
 * an error. Returns the listening fd or -errno. */
static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, ret;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		pr_err("api: socket path %s is too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (!lstat(path, &st)) {
		if (!S_ISSOCK(st.st_mode) || !connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
		    errno != ECONNREFUSED) {
			pr_err("api: %s exists and is %s", path, S_ISSOCK(st.st_mode) ?
			       "in use by another process" : "not a socket");
			close(fd);
			return -EADDRINUSE;
		}
		unlink(path);		/* stale: its server is gone */
		close(fd);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
	}
	old = umask(0177);
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (ret || listen(fd, API_MAX_CONNS)) {
		ret = -errno;
		pr_err("api: cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return ret;
	}
	return fd;
}

/*
 * --api-socket fd=N: a listening socket its parent made, most likely blocking. on_accept()
 * takes connections until accept4() says EAGAIN, so the socket is made non-blocking (which
 * its parent's copy shares). 0, or -errno after saying why.
 */
static int adopt_listener(int fd)
{
	int listening = 0, fl, err;
	socklen_t len = sizeof(listening);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) || !listening) {
		pr_err("api: --api-socket fd=%d: not a listening socket", fd);
		return -ENOTSOCK;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK)) {
		err = errno;
		pr_err("api: --api-socket fd=%d: making it non-blocking: %s", fd, strerror(err));
		return -err;
	}
	return 0;
}

static int add_fd(struct api_server *s, struct ev_source *src, int fd, ev_cb_t cb)
{
	*src = (struct ev_source){ fd, cb, s };
	return fd < 0 ? -EBADF : evloop_add(&s->loop, src, EPOLLIN);
}

int api_main(struct vmm_config *cfg)
{
	struct itimerspec every1 = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	struct api_server s = { .status = 1 };
	sigset_t set;
	int wake_fd = -1, ret, lfd;
	uint32_t seed;

	/* jansson's hash seed, which it would otherwise read from /dev/urandom (open, read,
	 * close) when the first answer builds the first JSON object. */
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == sizeof(seed) && seed)
		json_object_seed(seed);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR2);	/* each vCPU's state into the log */
	pthread_sigmask(SIG_BLOCK, &set, NULL);	/* before any thread: only signalfd sees them */
	s.conns = calloc(API_MAX_CONNS, sizeof(*s.conns));
	if (!s.conns) {
		pr_err("api: out of memory");
		return 1;
	}
	lfd = cfg->api_fd >= 0 ? cfg->api_fd : listen_on(cfg->api_socket);
	if (lfd < 0 || (cfg->api_fd >= 0 && adopt_listener(lfd))) {
		free(s.conns);
		return 1;
	}
	s.path = cfg->api_fd >= 0 ? NULL : cfg->api_socket;
	s.vmm = api_vmm_new(&wake_fd);
	ret = evloop_init(&s.loop);
	if (!s.vmm || ret ||
	    add_fd(&s, &s.listen_src, lfd, on_accept) ||
	    add_fd(&s, &s.sig_src, signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC), on_signal) ||
	    add_fd(&s, &s.wake_src, wake_fd, on_wake) ||
	    add_fd(&s, &s.sweep_src, timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC),
		   on_sweep) ||
	    timerfd_settime(s.sweep_src.fd, 0, &every1, NULL)) {
		pr_err("api: cannot set up the server");
		goto out;
	}
	pr_info("api: serving %s", s.path ? s.path : "an inherited socket");
	api_vmm_set_transport(s.vmm, cfg->transport);
	if (cfg->kernel && api_vmm_from_cli(s.vmm, cfg))
		goto out;
	while (!s.quit) {
		ret = evloop_run_once(&s.loop, -1);
		if (ret < 0) {
			pr_err("api: event loop: %s", strerror(-ret));
			break;
		}
	}
out:
	if (s.vmm)
		api_vmm_stop(s.vmm);
	for (int i = 0; i < s.conns_hi; i++)
		if (s.conns[i].used)
			conn_close(&s.conns[i]);
	if (s.sig_src.fd > 0)
		close(s.sig_src.fd);
	if (s.sweep_src.fd > 0)
		close(s.sweep_src.fd);
	evloop_fini(&s.loop);
	api_vmm_free(s.vmm);
	close(lfd);
	if (s.path)
		unlink(s.path);
	free(s.conns);
	return s.status;
}
