/*
 * Unit tests for the vhost-user front-end (virtio/vhost_user.c, virtio/vhost_user_dev.c)
 * against a scripted back-end on a socketpair: vhost_user_adopt() takes one end, the test
 * holds the other. The front-end only reads after it has sent, so the back-end's replies
 * are written into the peer end before the call (a thread only where timing matters), and
 * what the front-end sent is read back from the peer end afterwards, fds included, and
 * checked byte by byte against vhost-user.rst: the handshake with and without protocol
 * features, MQ and REPLY_ACK; the payload of every request; replies that lie, stall, stop
 * half-way or carry fds; and the connection staying broken after any failure.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "guest_mem.h"
#include "log.h"
#include "transport.h"
#include "vhost_user.h"
#include "virtio.h"

#define KiB		(1ULL << 10)
#define MiB		(1ULL << 20)
#define TIMEOUT_MS	200
#define V		VHOST_USER_VERSION
#define R		(VHOST_USER_VERSION | VHOST_USER_REPLY)
#define NEED		VHOST_USER_NEED_REPLY
#define PF		VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES)
#define P_MQ		VIRTIO_BIT(VHOST_USER_PROTOCOL_F_MQ)
#define P_ACK		VIRTIO_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK)
#define P_RESET		VIRTIO_BIT(VHOST_USER_PROTOCOL_F_RESET_DEVICE)

/* What virtiofsd offers: split rings, event index, indirect descriptors, protocol
 * features; and protocol features kvmm does not take (SLAVE_REQ 5, CONFIG 9, SLAVE_SEND_FD
 * 10, CONFIGURE_MEM_SLOTS 15) beside MQ and REPLY_ACK. */
#define FS_FEATURES	(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | \
			 VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | PF)
#define FS_PROTOCOL	(P_MQ | P_ACK | VIRTIO_BIT(5) | VIRTIO_BIT(9) | VIRTIO_BIT(10) | \
			 VIRTIO_BIT(15))

static struct vhost_user vu;
static int peer = -1;			/* the back-end's end */

static void open_pair(void)
{
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	memset(&vu, 0, sizeof(vu));
	vu.timeout_ms = TIMEOUT_MS;	/* before adopt: it sets the send timeout from it */
	vhost_user_adopt(&vu, sv[0], "vu-test");
	peer = sv[1];
}

static void close_pair(void)
{
	vhost_user_close(&vu);
	if (peer >= 0)
		close(peer);
	peer = -1;
}

static void setup(void)
{
	log_threshold = LOG_QUIET;
	open_pair();
}

TestSuite(vhost_user, .init = setup, .fini = close_pair);

/* ---- the back-end's side ---- */

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Writes LEN raw bytes (with NFDS fds) into the stream the front-end reads. */
static void raw_fds(const void *buf, size_t len, const int *fds, unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	cr_assert_leq(nfds, 16);
	if (nfds) {
		struct cmsghdr *c;

		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	cr_assert_eq(sendmsg(peer, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

static void raw(const void *buf, size_t len)
{
	raw_fds(buf, len, NULL, 0);
}

/* A reply: header REQUEST/FLAGS/SIZE, then LEN bytes of PAYLOAD (LEN may differ from SIZE). */
static void reply(uint32_t request, uint32_t flags, uint32_t size, const void *payload,
		  size_t len)
{
	uint8_t buf[sizeof(struct vhost_user_hdr) + 64];
	struct vhost_user_hdr h = { request, flags, size };

	cr_assert_leq(len, 64);
	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy(buf + sizeof(h), payload, len);
	raw(buf, sizeof(h) + len);
}

static void reply_u64(uint32_t request, uint64_t v)
{
	reply(request, R, 8, &v, 8);
}

static void reply_state(uint32_t request, uint32_t index, uint32_t num)
{
	struct vhost_user_vring_state s = { index, num };

	reply(request, R, 8, &s, 8);
}

/* One message the front-end sent, with the fds that came with it. */
struct sent {
	struct vhost_user_hdr h;
	union {
		union vhost_user_payload u;
		uint8_t bytes[512];
	};
	int fds[16];
	unsigned int nfds;
};

static void read_part(void *buf, size_t len, struct sent *s)
{
	size_t done = 0;

	while (done < len) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * 16)];
			struct cmsghdr align;
		} cbuf;
		struct iovec iov = { (char *)buf + done, len - done };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf,
				     .msg_controllen = sizeof(cbuf) };
		ssize_t n = recvmsg(peer, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		cr_assert_gt(n, 0, "the front-end sent less than a whole message (%zd, errno %d)",
			     n, errno);
		cr_assert_eq(mh.msg_flags & MSG_CTRUNC, 0);
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			cr_assert_eq(c->cmsg_level, SOL_SOCKET);
			cr_assert_eq(c->cmsg_type, SCM_RIGHTS);
			for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
				cr_assert_lt(s->nfds, 16);
				memcpy(&s->fds[s->nfds++], CMSG_DATA(c) + i * sizeof(int),
				       sizeof(int));
			}
		}
		done += (size_t)n;
	}
}

/* Reads the next message the front-end sent (it must be there already). */
static void next(struct sent *s)
{
	memset(s, 0, sizeof(*s));
	read_part(&s->h, sizeof(s->h), s);
	cr_assert_leq(s->h.size, sizeof(s->bytes), "a payload of %u bytes", s->h.size);
	if (s->h.size)
		read_part(s->bytes, s->h.size, s);
}

static void close_fds(struct sent *s)
{
	for (unsigned int i = 0; i < s->nfds; i++)
		close(s->fds[i]);
	s->nfds = 0;
}

/* The next message must be REQUEST with FLAGS and SIZE bytes of payload, and NFDS fds
 * (which the caller closes with close_fds() when it kept them). */
static void expect(struct sent *s, uint32_t request, uint32_t flags, uint32_t size,
		   unsigned int nfds)
{
	next(s);
	cr_assert_eq(s->h.request, request, "request %u where %u was due", s->h.request,
		     request);
	cr_assert_eq(s->h.flags, flags, "request %u: flags 0x%x, not 0x%x", request, s->h.flags,
		     flags);
	cr_assert_eq(s->h.size, size, "request %u: size %u, not %u", request, s->h.size, size);
	cr_assert_eq(s->nfds, nfds, "request %u: %u fds, not %u", request, s->nfds, nfds);
}

static void expect_u64(uint32_t request, uint32_t flags, uint64_t v)
{
	struct sent s;

	expect(&s, request, flags, 8, 0);
	cr_assert_eq(s.u.u64, v, "request %u: 0x%llx, not 0x%llx", request,
		     (unsigned long long)s.u.u64, (unsigned long long)v);
}

static void expect_state(uint32_t request, uint32_t flags, uint32_t index, uint32_t num)
{
	struct sent s;

	expect(&s, request, flags, 8, 0);
	cr_assert_eq(s.u.state.index, index);
	cr_assert_eq(s.u.state.num, num);
}

/* The front-end sent nothing more. */
static void expect_nothing(void)
{
	char c;

	cr_assert_eq(recv(peer, &c, 1, MSG_DONTWAIT | MSG_PEEK), -1, "the front-end sent more");
	cr_assert_eq(errno, EAGAIN);
}

/* Reads and drops whatever the front-end sent. */
static void drain(void)
{
	char buf[4096];

	while (recv(peer, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

static unsigned int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned int n = 0;

	cr_assert_not_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* FD (received from the front-end) and MINE are the same open file. */
static bool same_file(int fd, int mine)
{
	struct stat a, b;

	return !fstat(fd, &a) && !fstat(mine, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* For eventfds (one anonymous inode for all): a count written to FD is read on MINE. */
static bool same_eventfd(int fd, int mine)
{
	uint64_t one = 1, got = 0;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		return false;
	return read(mine, &got, sizeof(got)) == sizeof(got) && got == 1;
}

/* ---- the handshake ---- */

/* Writes what the back-end answers in a handshake (offering FEATURES, PROTO, QNUM). */
static void script_handshake(uint64_t features, uint64_t proto, uint64_t qnum)
{
	reply_u64(VHOST_USER_GET_FEATURES, features);
	if (!(features & PF))
		return;
	reply_u64(VHOST_USER_GET_PROTOCOL_FEATURES, proto);
	if (proto & P_MQ)
		reply_u64(VHOST_USER_GET_QUEUE_NUM, qnum);
	if (proto & P_ACK)
		reply_u64(VHOST_USER_SET_OWNER, 0);	/* SET_OWNER's ack */
}

/* Checks what the front-end sent in that handshake. */
static void check_handshake(uint64_t features, uint64_t proto)
{
	struct sent s;

	expect(&s, VHOST_USER_GET_FEATURES, V, 0, 0);
	if (features & PF) {
		expect(&s, VHOST_USER_GET_PROTOCOL_FEATURES, V, 0, 0);
		/* Not acked: REPLY_ACK is being negotiated by this very request. */
		expect_u64(VHOST_USER_SET_PROTOCOL_FEATURES, V, proto & VHOST_USER_PROTOCOL_WANTED);
		if (proto & P_MQ)
			expect(&s, VHOST_USER_GET_QUEUE_NUM, V, 0, 0);
	}
	expect(&s, VHOST_USER_SET_OWNER, (features & PF) && (proto & P_ACK) ? V | NEED : V, 0, 0);
	expect_nothing();
}

/* A handshake with virtiofsd's answers (REPLY_ACK on), checked. */
static void handshake_fs(void)
{
	script_handshake(FS_FEATURES, FS_PROTOCOL, 2);
	cr_assert_eq(vhost_user_handshake(&vu), 0);
	check_handshake(FS_FEATURES, FS_PROTOCOL);
	cr_assert_eq(vu.protocol, P_MQ | P_ACK);
	cr_assert_eq(vu.queue_num, 2);
}

/* The same with a back-end without REPLY_ACK (protocol features MQ only). */
static void handshake_noack(void)
{
	script_handshake(FS_FEATURES, P_MQ, 2);
	cr_assert_eq(vhost_user_handshake(&vu), 0);
	check_handshake(FS_FEATURES, P_MQ);
	cr_assert_eq(vu.protocol, P_MQ);
}

Test(vhost_user, handshake_without_protocol_features)
{
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX);

	script_handshake(f, 0, 0);
	cr_assert_eq(vhost_user_handshake(&vu), 0);
	check_handshake(f, 0);
	cr_assert_eq(vu.features, f);
	cr_assert_eq(vu.protocol, 0);
	cr_assert_eq(vu.queue_num, 0);
	cr_assert_eq(vu.requests, 2);
	cr_assert_eq(vu.failures, 0);
	cr_assert_not(vu.broken);
	/* Rings start enabled and there is no RESET_DEVICE: neither sends anything. */
	cr_assert_eq(vhost_user_enable_vring(&vu, 0, true), 0);
	cr_assert_eq(vhost_user_reset_device(&vu), 0);
	expect_nothing();
	/* SET_FEATURES does not add a bit the back-end did not offer; nothing to ack. */
	cr_assert_eq(vhost_user_set_features(&vu, VIRTIO_BIT(VIRTIO_F_VERSION_1)), 0);
	expect_u64(VHOST_USER_SET_FEATURES, V, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	expect_nothing();
	cr_assert_eq(vu.requests, 3);
}

Test(vhost_user, handshake_protocol_features_none_wanted)
{
	/* LOG_SHMFD (1) and CONFIG (9) only: none kvmm takes, so SET_PROTOCOL_FEATURES 0. */
	uint64_t proto = VIRTIO_BIT(1) | VIRTIO_BIT(9);

	script_handshake(FS_FEATURES, proto, 0);
	cr_assert_eq(vhost_user_handshake(&vu), 0);
	check_handshake(FS_FEATURES, proto);
	cr_assert_eq(vu.features, FS_FEATURES);
	cr_assert_eq(vu.protocol, 0);
	cr_assert_eq(vu.queue_num, 0);
	cr_assert_eq(vu.requests, 4);
	/* Protocol features on: rings start disabled, SET_VRING_ENABLE is sent (no ack). */
	cr_assert_eq(vhost_user_enable_vring(&vu, 1, true), 0);
	expect_state(VHOST_USER_SET_VRING_ENABLE, V, 1, 1);
	expect_nothing();
}

Test(vhost_user, handshake_mq)
{
	script_handshake(FS_FEATURES, P_MQ, 9);
	cr_assert_eq(vhost_user_handshake(&vu), 0);
	check_handshake(FS_FEATURES, P_MQ);
	cr_assert_eq(vu.protocol, P_MQ);
	cr_assert_eq(vu.queue_num, 9);
	cr_assert_eq(vu.requests, 5);
	cr_assert_eq(vu.failures, 0);
}

Test(vhost_user, handshake_mq_most_queues)
{
	script_handshake(FS_FEATURES, P_MQ, 0xffff);
	cr_assert_eq(vhost_user_handshake(&vu), 0);
	cr_assert_eq(vu.queue_num, 0xffff);
}

Test(vhost_user, handshake_virtiofsd_reply_ack)
{
	handshake_fs();
	cr_assert_eq(vu.features, FS_FEATURES);
	cr_assert_eq(vu.requests, 5);
	cr_assert_eq(vu.failures, 0);
	cr_assert_not(vu.broken);
	cr_assert_eq(vu.error[0], 0);
}

Test(vhost_user, handshake_reply_ack_without_mq)
{
	script_handshake(FS_FEATURES, P_ACK, 0);
	cr_assert_eq(vhost_user_handshake(&vu), 0);
	check_handshake(FS_FEATURES, P_ACK);
	cr_assert_eq(vu.protocol, P_ACK);
	cr_assert_eq(vu.queue_num, 0);
	cr_assert_eq(vu.requests, 4);
}

Test(vhost_user, handshake_owner_refused)
{
	reply_u64(VHOST_USER_GET_FEATURES, FS_FEATURES);
	reply_u64(VHOST_USER_GET_PROTOCOL_FEATURES, P_ACK);
	reply_u64(VHOST_USER_SET_OWNER, 1);
	cr_assert_eq(vhost_user_handshake(&vu), -EIO);
	cr_assert(vu.broken);
	cr_assert_eq(vu.failures, 1);
	cr_assert_neq(vu.error[0], 0);
}

Test(vhost_user, handshake_owner_ack_missing_times_out)
{
	long t0;

	reply_u64(VHOST_USER_GET_FEATURES, FS_FEATURES);
	reply_u64(VHOST_USER_GET_PROTOCOL_FEATURES, P_ACK);
	t0 = now_ms();
	cr_assert_eq(vhost_user_handshake(&vu), -ETIMEDOUT);
	cr_assert_geq(now_ms() - t0, TIMEOUT_MS - 10);
	cr_assert_lt(now_ms() - t0, 800);
	cr_assert(vu.broken);
	cr_assert_eq(vu.failures, 1);
}

/*
 * Found by fuzz_vhost_user on a loaded machine: a reply that has arrived is taken even when
 * kvmm itself was not running at the deadline (descheduled, frozen, stopped). Here a signal
 * interrupts the wait for GET_FEATURES' reply; its handler writes the reply, then keeps the
 * thread away past the deadline. The front-end must find the reply, not time out.
 */
static uint8_t late_reply[sizeof(struct vhost_user_hdr) + 8];

static void late_reply_handler(int sig)
{
	struct timespec ts = { 0, (TIMEOUT_MS + 100) * 1000000L };

	(void)sig;
	if (send(peer, late_reply, sizeof(late_reply), MSG_NOSIGNAL) < 0)
		_exit(3);
	nanosleep(&ts, NULL);
}

Test(vhost_user, reply_there_after_deadline_is_taken)
{
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	struct vhost_user_hdr h = { VHOST_USER_GET_FEATURES, R, sizeof(f) };
	struct sigaction sa = { .sa_handler = late_reply_handler };	/* no SA_RESTART */
	struct itimerval it = { .it_value = { 0, 20000 } };

	memcpy(late_reply, &h, sizeof(h));
	memcpy(late_reply + sizeof(h), &f, sizeof(f));
	cr_assert_eq(sigaction(SIGALRM, &sa, NULL), 0);
	cr_assert_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
	cr_assert_eq(vhost_user_handshake(&vu), 0, "the reply was there: %s", vu.error);
	cr_assert_eq(vu.features, f);
	cr_assert_not(vu.broken);
}

/* ---- each request's bytes ---- */

Test(vhost_user, set_features_adds_protocol_bit_and_waits_for_ack)
{
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX);

	handshake_fs();
	reply_u64(VHOST_USER_SET_FEATURES, 0);
	cr_assert_eq(vhost_user_set_features(&vu, f), 0);
	expect_u64(VHOST_USER_SET_FEATURES, V | NEED, f | PF);
	expect_nothing();
	cr_assert_eq(vu.requests, 6);
}

Test(vhost_user, set_features_without_reply_ack)
{
	handshake_noack();
	cr_assert_eq(vhost_user_set_features(&vu, VIRTIO_BIT(VIRTIO_F_VERSION_1)), 0);
	expect_u64(VHOST_USER_SET_FEATURES, V, VIRTIO_BIT(VIRTIO_F_VERSION_1) | PF);
	expect_nothing();
}

/* The ack is consumed: a second request reads its own ack, not a stale one. */
Test(vhost_user, ack_is_consumed)
{
	handshake_fs();
	reply_u64(VHOST_USER_SET_FEATURES, 0);
	reply_u64(VHOST_USER_SET_FEATURES, 1);
	cr_assert_eq(vhost_user_set_features(&vu, 0), 0);
	cr_assert_eq(vhost_user_set_features(&vu, 0), -EIO);
	cr_assert(vu.broken);
}

Test(vhost_user, set_features_refused)
{
	handshake_fs();
	reply_u64(VHOST_USER_SET_FEATURES, 0x100);
	cr_assert_eq(vhost_user_set_features(&vu, 0), -EIO);
	cr_assert(vu.broken);
	cr_assert_eq(vu.failures, 1);
	cr_assert_eq(vu.requests, 6);
	cr_assert(strstr(vu.error, "refused"), "%s", vu.error);
}

static struct guest_mem gm;

static void make_gm(void)
{
	struct gm_region l[] = { { .gpa = 0, .size = 64 * KiB },
				 { .gpa = 1 * MiB, .size = 128 * KiB } };

	cr_assert_eq(gm_create(&gm, l, 2), 0);
	cr_assert_eq(gm.nr_regions, 2);
}

static void check_mem_table(uint32_t flags)
{
	struct sent s;

	expect(&s, VHOST_USER_SET_MEM_TABLE, flags, 8 + 2 * sizeof(struct vhost_user_region), 2);
	cr_assert_eq(s.u.mem.nregions, 2);
	cr_assert_eq(s.u.mem.padding, 0);
	cr_assert_eq(s.u.mem.regions[0].gpa, 0);
	cr_assert_eq(s.u.mem.regions[0].size, 64 * KiB);
	cr_assert_eq(s.u.mem.regions[0].uaddr, (uintptr_t)gm.base);
	cr_assert_eq(s.u.mem.regions[0].mmap_offset, 0);
	cr_assert_eq(s.u.mem.regions[1].gpa, 1 * MiB);
	cr_assert_eq(s.u.mem.regions[1].size, 128 * KiB);
	cr_assert_eq(s.u.mem.regions[1].uaddr, (uintptr_t)gm.base + 64 * KiB);
	cr_assert_eq(s.u.mem.regions[1].mmap_offset, 64 * KiB);
	cr_assert_eq(s.u.mem.regions[1].uaddr, (uintptr_t)gm.regions[1].host);
	/* One fd per region, each the guest RAM memfd. */
	cr_assert(same_file(s.fds[0], gm.fd));
	cr_assert(same_file(s.fds[1], gm.fd));
	close_fds(&s);
}

Test(vhost_user, set_mem_table)
{
	make_gm();
	handshake_fs();
	reply_u64(VHOST_USER_SET_MEM_TABLE, 0);
	cr_assert_eq(vhost_user_set_mem_table(&vu, &gm), 0);
	check_mem_table(V | NEED);
	expect_nothing();
	gm_destroy(&gm);
}

Test(vhost_user, set_mem_table_without_reply_ack)
{
	make_gm();
	handshake_noack();
	cr_assert_eq(vhost_user_set_mem_table(&vu, &gm), 0);
	check_mem_table(V);
	expect_nothing();
	gm_destroy(&gm);
}

Test(vhost_user, set_mem_table_one_region)
{
	struct gm_region l[] = { { .gpa = 0x100000, .size = 64 * KiB } };
	struct sent s;

	cr_assert_eq(gm_create(&gm, l, 1), 0);
	handshake_noack();
	cr_assert_eq(vhost_user_set_mem_table(&vu, &gm), 0);
	expect(&s, VHOST_USER_SET_MEM_TABLE, V, 8 + sizeof(struct vhost_user_region), 1);
	cr_assert_eq(s.u.mem.nregions, 1);
	cr_assert_eq(s.u.mem.regions[0].gpa, 0x100000);
	cr_assert_eq(s.u.mem.regions[0].size, 64 * KiB);
	cr_assert(same_file(s.fds[0], gm.fd));
	close_fds(&s);
	gm_destroy(&gm);
}

Test(vhost_user, set_mem_table_invalid)
{
	struct guest_mem bad;

	make_gm();
	handshake_fs();
	bad = gm;
	bad.fd = -1;
	cr_assert_eq(vhost_user_set_mem_table(&vu, &bad), -EINVAL);
	bad = gm;
	bad.nr_regions = 0;
	cr_assert_eq(vhost_user_set_mem_table(&vu, &bad), -EINVAL);
	bad = gm;
	bad.nr_regions = VHOST_USER_MAX_REGIONS + 1;	/* never reads regions[] that far */
	cr_assert_eq(vhost_user_set_mem_table(&vu, &bad), -EINVAL);
	/* A caller's mistake, not the back-end's: nothing sent, the connection stays. */
	expect_nothing();
	cr_assert_not(vu.broken);
	cr_assert_eq(vu.requests, 5);
	cr_assert_eq(vu.failures, 0);
	gm_destroy(&gm);
}

/* A memfd stands in for an eventfd where the test must tell two fds apart by inode. */
static int named_fd(const char *name)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	cr_assert_geq(fd, 0);
	return fd;
}

static const struct vhost_user_vring ring = {
	.size = 256, .desc = 0x7f0000001000ULL, .avail = 0x7f0000002000ULL,
	.used = 0x7f0000003000ULL, .base = 7,
};

/* Checks start_vring's five requests for queue Q (CALL without fd when CALL < 0). */
static void check_start(uint32_t flags, unsigned int q, int kick, int call)
{
	struct sent s;

	expect_state(VHOST_USER_SET_VRING_NUM, flags, q, 256);
	expect_state(VHOST_USER_SET_VRING_BASE, flags, q, 7);
	expect(&s, VHOST_USER_SET_VRING_ADDR, flags, sizeof(struct vhost_user_vring_addr), 0);
	cr_assert_eq(sizeof(struct vhost_user_vring_addr), 40);
	cr_assert_eq(s.u.addr.index, q);
	cr_assert_eq(s.u.addr.flags, 0);
	/* vhost-user.rst order: descriptor, used, available, log. */
	cr_assert_eq(*(uint64_t *)(s.bytes + 8), 0x7f0000001000ULL);
	cr_assert_eq(*(uint64_t *)(s.bytes + 16), 0x7f0000003000ULL);
	cr_assert_eq(*(uint64_t *)(s.bytes + 24), 0x7f0000002000ULL);
	cr_assert_eq(*(uint64_t *)(s.bytes + 32), 0);
	/* CALL before KICK: the back-end starts the ring on its kick fd. */
	expect(&s, VHOST_USER_SET_VRING_CALL, flags, 8, call >= 0);
	cr_assert_eq(s.u.u64, call >= 0 ? q : q | VHOST_USER_VRING_NOFD);
	if (call >= 0)
		cr_assert(same_file(s.fds[0], call));
	close_fds(&s);
	expect(&s, VHOST_USER_SET_VRING_KICK, flags, 8, 1);
	cr_assert_eq(s.u.u64, q);
	cr_assert(same_file(s.fds[0], kick));
	close_fds(&s);
}

static void script_acks(const uint32_t *requests, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		reply_u64(requests[i], 0);
}

static const uint32_t start_acks[] = {
	VHOST_USER_SET_VRING_NUM, VHOST_USER_SET_VRING_BASE, VHOST_USER_SET_VRING_ADDR,
	VHOST_USER_SET_VRING_CALL, VHOST_USER_SET_VRING_KICK,
};

Test(vhost_user, start_vring)
{
	struct vhost_user_vring r = ring;

	r.kick = named_fd("kick");
	r.call = named_fd("call");
	handshake_fs();
	script_acks(start_acks, 5);
	cr_assert_eq(vhost_user_start_vring(&vu, 1, &r), 0);
	check_start(V | NEED, 1, r.kick, r.call);
	expect_nothing();
	cr_assert_eq(vu.requests, 10);
	cr_assert_eq(vu.failures, 0);
	close(r.kick);
	close(r.call);
}

Test(vhost_user, start_vring_without_reply_ack)
{
	struct vhost_user_vring r = ring;

	r.kick = named_fd("kick");
	r.call = named_fd("call");
	handshake_noack();
	cr_assert_eq(vhost_user_start_vring(&vu, 255, &r), 0);
	check_start(V, 255, r.kick, r.call);
	expect_nothing();
	close(r.kick);
	close(r.call);
}

Test(vhost_user, start_vring_no_call_fd)
{
	struct vhost_user_vring r = ring;

	r.kick = named_fd("kick");
	r.call = -1;
	handshake_fs();
	script_acks(start_acks, 5);
	cr_assert_eq(vhost_user_start_vring(&vu, 0, &r), 0);
	check_start(V | NEED, 0, r.kick, -1);
	expect_nothing();
	close(r.kick);
}

Test(vhost_user, start_vring_invalid)
{
	struct vhost_user_vring r = ring;

	r.kick = named_fd("kick");
	r.call = -1;
	handshake_fs();
	cr_assert_eq(vhost_user_start_vring(&vu, 256, &r), -EINVAL);
	r.kick = -1;
	cr_assert_eq(vhost_user_start_vring(&vu, 0, &r), -EINVAL);
	cr_assert_eq(vhost_user_set_vring_call(&vu, 256, -1), -EINVAL);
	expect_nothing();
	cr_assert_not(vu.broken);
	cr_assert_eq(vu.requests, 5);
}

/* The third of five requests refused: the rest are not sent. */
Test(vhost_user, start_vring_stops_at_refusal)
{
	struct vhost_user_vring r = ring;
	struct sent s;

	r.kick = named_fd("kick");
	r.call = -1;
	handshake_fs();
	reply_u64(VHOST_USER_SET_VRING_NUM, 0);
	reply_u64(VHOST_USER_SET_VRING_BASE, 0);
	reply_u64(VHOST_USER_SET_VRING_ADDR, 3);
	cr_assert_eq(vhost_user_start_vring(&vu, 0, &r), -EIO);
	expect(&s, VHOST_USER_SET_VRING_NUM, V | NEED, 8, 0);
	expect(&s, VHOST_USER_SET_VRING_BASE, V | NEED, 8, 0);
	expect(&s, VHOST_USER_SET_VRING_ADDR, V | NEED, 40, 0);
	expect_nothing();
	cr_assert_eq(vu.requests, 8);
	cr_assert_eq(vu.failures, 1);
	close(r.kick);
}

Test(vhost_user, set_vring_call)
{
	int fd = named_fd("call");
	struct sent s;

	handshake_fs();
	reply_u64(VHOST_USER_SET_VRING_CALL, 0);
	reply_u64(VHOST_USER_SET_VRING_CALL, 0);
	cr_assert_eq(vhost_user_set_vring_call(&vu, 3, fd), 0);
	cr_assert_eq(vhost_user_set_vring_call(&vu, 4, -1), 0);
	expect(&s, VHOST_USER_SET_VRING_CALL, V | NEED, 8, 1);
	cr_assert_eq(s.u.u64, 3);
	cr_assert(same_file(s.fds[0], fd));
	close_fds(&s);
	expect_u64(VHOST_USER_SET_VRING_CALL, V | NEED, 4 | VHOST_USER_VRING_NOFD);
	expect_nothing();
	close(fd);
}

Test(vhost_user, enable_vring)
{
	handshake_fs();
	reply_u64(VHOST_USER_SET_VRING_ENABLE, 0);
	reply_u64(VHOST_USER_SET_VRING_ENABLE, 0);
	cr_assert_eq(vhost_user_enable_vring(&vu, 1, true), 0);
	cr_assert_eq(vhost_user_enable_vring(&vu, 2, false), 0);
	expect_state(VHOST_USER_SET_VRING_ENABLE, V | NEED, 1, 1);
	expect_state(VHOST_USER_SET_VRING_ENABLE, V | NEED, 2, 0);
	expect_nothing();
}

Test(vhost_user, stop_vring)
{
	uint16_t base = 0;

	handshake_fs();
	reply_state(VHOST_USER_GET_VRING_BASE, 1, 0xfffe);
	cr_assert_eq(vhost_user_stop_vring(&vu, 1, &base), 0);
	cr_assert_eq(base, 0xfffe);
	/* A reply of its own: no NEED_REPLY even with REPLY_ACK, and no ack awaited. */
	expect_state(VHOST_USER_GET_VRING_BASE, V, 1, 0);
	expect_nothing();
	cr_assert_eq(vu.requests, 6);
	cr_assert_not(vu.broken);
}

Test(vhost_user, stop_vring_without_protocol_features)
{
	uint16_t base = 0;

	script_handshake(VIRTIO_BIT(VIRTIO_F_VERSION_1), 0, 0);
	cr_assert_eq(vhost_user_handshake(&vu), 0);
	drain();
	reply_state(VHOST_USER_GET_VRING_BASE, 0, 3);
	cr_assert_eq(vhost_user_stop_vring(&vu, 0, &base), 0);
	cr_assert_eq(base, 3);
	expect_state(VHOST_USER_GET_VRING_BASE, V, 0, 0);
	expect_nothing();
}

Test(vhost_user, reset_device)
{
	struct sent s;

	script_handshake(FS_FEATURES, P_ACK | P_RESET, 0);
	cr_assert_eq(vhost_user_handshake(&vu), 0);
	check_handshake(FS_FEATURES, P_ACK | P_RESET);
	cr_assert_eq(vu.protocol, P_ACK | P_RESET);
	reply_u64(VHOST_USER_RESET_DEVICE, 0);
	cr_assert_eq(vhost_user_reset_device(&vu), 0);
	expect(&s, VHOST_USER_RESET_DEVICE, V | NEED, 0, 0);
	expect_nothing();
}

Test(vhost_user, reset_device_not_offered)
{
	handshake_fs();
	cr_assert_eq(vhost_user_reset_device(&vu), 0);
	expect_nothing();
	cr_assert_eq(vu.requests, 5);
}

/* ---- malformed replies ---- */

/* A reply header (and payload) that must be refused when GET_FEATURES waits. */
static const struct bad_reply {
	const char *what;
	struct vhost_user_hdr h;
	unsigned int len;		/* payload bytes actually written */
} bad_replies[] = {
	{ "version 0", { VHOST_USER_GET_FEATURES, VHOST_USER_REPLY, 8 }, 8 },
	{ "version 2", { VHOST_USER_GET_FEATURES, 2 | VHOST_USER_REPLY, 8 }, 8 },
	{ "version 3", { VHOST_USER_GET_FEATURES, 3 | VHOST_USER_REPLY, 8 }, 8 },
	{ "reply flag missing", { VHOST_USER_GET_FEATURES, V, 8 }, 8 },
	{ "need-reply instead of reply", { VHOST_USER_GET_FEATURES, V | NEED, 8 }, 8 },
	{ "another request", { VHOST_USER_GET_PROTOCOL_FEATURES, R, 8 }, 8 },
	{ "request 0", { 0, R, 8 }, 8 },
	{ "payload too short", { VHOST_USER_GET_FEATURES, R, 4 }, 4 },
	{ "no payload", { VHOST_USER_GET_FEATURES, R, 0 }, 0 },
	{ "payload too long", { VHOST_USER_GET_FEATURES, R, 16 }, 16 },
	{ "payload huge", { VHOST_USER_GET_FEATURES, R, 0xffffffff }, 8 },
	{ "payload a whole memory table", { VHOST_USER_GET_FEATURES, R, 264 }, 8 },
};

Test(vhost_user, malformed_replies)
{
	for (size_t i = 0; i < sizeof(bad_replies) / sizeof(bad_replies[0]); i++) {
		const struct bad_reply *b = &bad_replies[i];
		uint64_t payload[2] = { FS_FEATURES, FS_FEATURES };
		long t0;

		if (i) {
			close_pair();
			open_pair();
		}
		reply(b->h.request, b->h.flags, b->h.size, payload, b->len);
		t0 = now_ms();
		cr_assert_eq(vhost_user_handshake(&vu), -EPROTO, "%s", b->what);
		cr_assert_lt(now_ms() - t0, TIMEOUT_MS / 2, "%s: waited", b->what);
		cr_assert(vu.broken, "%s", b->what);
		cr_assert_eq(vu.failures, 1, "%s", b->what);
		cr_assert_eq(vu.requests, 1, "%s", b->what);
		/* Only the GET_FEATURES went out: nothing after the bad reply. */
		{
			struct sent s;

			expect(&s, VHOST_USER_GET_FEATURES, V, 0, 0);
			expect_nothing();
		}
		cr_assert_neq(vu.error[0], 0, "%s", b->what);
	}
}

/* The same checks on an ack (REPLY_ACK on), on SET_FEATURES. */
static const struct bad_reply bad_acks[] = {
	{ "wrong version", { VHOST_USER_SET_FEATURES, 2 | VHOST_USER_REPLY, 8 }, 8 },
	{ "reply flag missing", { VHOST_USER_SET_FEATURES, V, 8 }, 8 },
	{ "ack of another request", { VHOST_USER_SET_OWNER, R, 8 }, 8 },
	{ "ack too short", { VHOST_USER_SET_FEATURES, R, 4 }, 4 },
	{ "ack empty", { VHOST_USER_SET_FEATURES, R, 0 }, 0 },
	{ "ack too long", { VHOST_USER_SET_FEATURES, R, 12 }, 12 },
};

Test(vhost_user, malformed_acks)
{
	for (size_t i = 0; i < sizeof(bad_acks) / sizeof(bad_acks[0]); i++) {
		const struct bad_reply *b = &bad_acks[i];
		uint64_t payload[2] = { 0, 0 };

		if (i) {
			close_pair();
			open_pair();
		}
		handshake_fs();
		reply(b->h.request, b->h.flags, b->h.size, payload, b->len);
		cr_assert_eq(vhost_user_set_features(&vu, 0), -EPROTO, "%s", b->what);
		cr_assert(vu.broken, "%s", b->what);
		cr_assert_eq(vu.failures, 1, "%s", b->what);
	}
}

Test(vhost_user, truncated_mid_header)
{
	struct vhost_user_hdr h = { VHOST_USER_GET_FEATURES, R, 8 };
	long t0 = now_ms();

	raw(&h, 6);
	shutdown(peer, SHUT_WR);
	cr_assert_eq(vhost_user_handshake(&vu), -ECONNRESET);
	cr_assert_lt(now_ms() - t0, TIMEOUT_MS / 2);	/* the hang-up, not the timeout */
	cr_assert(vu.broken);
	cr_assert_eq(vu.failures, 1);
	cr_assert(strstr(vu.error, "closed"), "%s", vu.error);
}

Test(vhost_user, truncated_mid_payload)
{
	uint64_t f = FS_FEATURES;
	long t0 = now_ms();

	reply(VHOST_USER_GET_FEATURES, R, 8, &f, 5);
	shutdown(peer, SHUT_WR);
	cr_assert_eq(vhost_user_handshake(&vu), -ECONNRESET);
	cr_assert_lt(now_ms() - t0, TIMEOUT_MS / 2);
	cr_assert(vu.broken);
	cr_assert_eq(vu.failures, 1);
}

Test(vhost_user, closed_before_reply)
{
	shutdown(peer, SHUT_WR);
	cr_assert_eq(vhost_user_handshake(&vu), -ECONNRESET);
	cr_assert(vu.broken);
}

Test(vhost_user, truncated_ack)
{
	uint64_t zero = 0;

	handshake_fs();
	reply(VHOST_USER_SET_FEATURES, R, 8, &zero, 7);
	shutdown(peer, SHUT_WR);
	cr_assert_eq(vhost_user_set_features(&vu, 0), -ECONNRESET);
	cr_assert(vu.broken);
}

Test(vhost_user, no_reply_times_out)
{
	long t0 = now_ms(), dt;

	cr_assert_eq(vhost_user_handshake(&vu), -ETIMEDOUT);
	dt = now_ms() - t0;
	cr_assert_geq(dt, TIMEOUT_MS - 10, "gave up after %ld ms", dt);
	cr_assert_lt(dt, 800, "waited %ld ms", dt);
	cr_assert(vu.broken);
	cr_assert_eq(vu.failures, 1);
	cr_assert(strstr(vu.error, "no reply"), "%s", vu.error);
}

Test(vhost_user, stall_mid_reply_times_out)
{
	uint64_t f = FS_FEATURES;
	long t0 = now_ms(), dt;

	reply(VHOST_USER_GET_FEATURES, R, 8, &f, 3);
	cr_assert_eq(vhost_user_handshake(&vu), -ETIMEDOUT);
	dt = now_ms() - t0;
	cr_assert_geq(dt, TIMEOUT_MS - 10);
	cr_assert_lt(dt, 800);
}

/* A back-end that drips its reply a byte at a time, each within the timeout but the whole
 * reply beyond it: the wait is bounded per reply, not per byte. */
static void *dripper(void *arg)
{
	struct vhost_user_msg m = { .hdr = { VHOST_USER_GET_FEATURES, R, 8 } };

	(void)arg;
	m.u.u64 = FS_FEATURES;
	for (size_t i = 0; i < sizeof(m.hdr) + 8; i++) {
		struct timespec ts = { 0, 20 * 1000000L };

		if (send(peer, (char *)&m + i, 1, MSG_NOSIGNAL) != 1)
			break;
		nanosleep(&ts, NULL);
	}
	return NULL;
}

Test(vhost_user, slow_drip_times_out)
{
	pthread_t th;
	long t0 = now_ms(), dt;

	cr_assert_eq(pthread_create(&th, NULL, dripper, NULL), 0);
	cr_assert_eq(vhost_user_handshake(&vu), -ETIMEDOUT);
	dt = now_ms() - t0;
	cr_assert_lt(dt, TIMEOUT_MS + 150, "waited %ld ms for a 20-byte reply", dt);
	pthread_join(th, NULL);
}

/* A back-end that stops reading: the front-end's send is bounded too. */
Test(vhost_user, send_blocked_times_out)
{
	char junk[4096] = { 0 };
	long t0, dt;
	int sndbuf = 4096;

	handshake_noack();
	/* Fill the stream towards the back-end until a send would block. */
	setsockopt(vu.sock, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	while (send(vu.sock, junk, sizeof(junk), MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
		;
	cr_assert(errno == EAGAIN || errno == EWOULDBLOCK);
	t0 = now_ms();
	cr_assert_eq(vhost_user_set_features(&vu, 0), -ETIMEDOUT);
	dt = now_ms() - t0;
	cr_assert_geq(dt, TIMEOUT_MS - 10);
	cr_assert_lt(dt, 800);
	cr_assert(vu.broken);
	cr_assert(strstr(vu.error, "stopped reading"), "%s", vu.error);
}

Test(vhost_user, peer_gone_before_send)
{
	close(peer);
	peer = -1;
	/* MSG_NOSIGNAL: an EPIPE, not a SIGPIPE that kills kvmm. */
	cr_assert_eq(vhost_user_handshake(&vu), -EPIPE);
	cr_assert(vu.broken);
	cr_assert_eq(vu.failures, 1);
	cr_assert_eq(vu.requests, 1);
	cr_assert(strstr(vu.error, "closed"), "%s", vu.error);
}

Test(vhost_user, queue_num_zero)
{
	reply_u64(VHOST_USER_GET_FEATURES, FS_FEATURES);
	reply_u64(VHOST_USER_GET_PROTOCOL_FEATURES, P_MQ);
	reply_u64(VHOST_USER_GET_QUEUE_NUM, 0);
	reply_u64(VHOST_USER_SET_OWNER, 0);	/* never read */
	cr_assert_eq(vhost_user_handshake(&vu), -EPROTO);
	cr_assert(vu.broken);
	cr_assert_eq(vu.failures, 1);
	cr_assert_eq(vu.queue_num, 0);
	/* SET_OWNER was not sent. */
	{
		struct sent s;

		expect(&s, VHOST_USER_GET_FEATURES, V, 0, 0);
		expect(&s, VHOST_USER_GET_PROTOCOL_FEATURES, V, 0, 0);
		expect(&s, VHOST_USER_SET_PROTOCOL_FEATURES, V, 8, 0);
		expect(&s, VHOST_USER_GET_QUEUE_NUM, V, 0, 0);
		expect_nothing();
	}
}

Test(vhost_user, queue_num_too_big)
{
	reply_u64(VHOST_USER_GET_FEATURES, FS_FEATURES);
	reply_u64(VHOST_USER_GET_PROTOCOL_FEATURES, P_MQ);
	reply_u64(VHOST_USER_GET_QUEUE_NUM, 0x10000);
	cr_assert_eq(vhost_user_handshake(&vu), -EPROTO);
	cr_assert(vu.broken);
	cr_assert_lt(vu.queue_num, 0x10000);
}

Test(vhost_user, get_vring_base_for_another_queue)
{
	uint16_t base = 0x1234;

	handshake_fs();
	reply_state(VHOST_USER_GET_VRING_BASE, 2, 5);
	cr_assert_eq(vhost_user_stop_vring(&vu, 1, &base), -EPROTO);
	cr_assert_eq(base, 0x1234);
	cr_assert(vu.broken);
	cr_assert_eq(vu.failures, 1);
	cr_assert_eq(vu.requests, 6);
}

Test(vhost_user, get_vring_base_past_65535)
{
	uint16_t base = 0x1234;

	handshake_fs();
	reply_state(VHOST_USER_GET_VRING_BASE, 1, 0x10000);
	cr_assert_eq(vhost_user_stop_vring(&vu, 1, &base), -EPROTO);
	cr_assert_eq(base, 0x1234);
	cr_assert(vu.broken);
}

Test(vhost_user, get_vring_base_as_ack)
{
	uint16_t base = 0x1234;

	/* An ack-sized u64 of zero where the vring state was due: same size, so only the
	 * index tells (it says queue 0). */
	handshake_fs();
	reply_u64(VHOST_USER_GET_VRING_BASE, 0);
	cr_assert_eq(vhost_user_stop_vring(&vu, 3, &base), -EPROTO);
	cr_assert_eq(base, 0x1234);
}

/* ---- fds from the back-end ---- */

static void make_fds(int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		fds[i] = eventfd(0, EFD_CLOEXEC);
		cr_assert_geq(fds[i], 0);
	}
}

static void close_all(int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		close(fds[i]);
}

Test(vhost_user, reply_fds_are_closed)
{
	struct vhost_user_msg m = { .hdr = { VHOST_USER_GET_FEATURES, R, 8 } };
	unsigned int before;
	int fds[3];

	m.u.u64 = VIRTIO_BIT(VIRTIO_F_VERSION_1);
	make_fds(fds, 3);
	raw_fds(&m, sizeof(m.hdr) + 8, fds, 3);
	close_all(fds, 3);		/* only the ones in flight remain */
	before = count_fds();
	cr_assert_eq(vhost_user_handshake(&vu), 0);
	cr_assert_eq(count_fds(), before, "the back-end's fds leaked into kvmm");
	cr_assert_eq(vu.features, VIRTIO_BIT(VIRTIO_F_VERSION_1));
}

Test(vhost_user, reply_fds_on_payload_are_closed)
{
	struct vhost_user_hdr h = { VHOST_USER_GET_FEATURES, R, 8 };
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1);
	unsigned int before;
	int fds[2];

	/* The header alone, then the payload with two fds on it. */
	raw(&h, sizeof(h));
	make_fds(fds, 2);
	raw_fds(&f, sizeof(f), fds, 2);
	close_all(fds, 2);
	before = count_fds();
	cr_assert_eq(vhost_user_handshake(&vu), 0);
	cr_assert_eq(count_fds(), before);
	cr_assert_eq(vu.features, VIRTIO_BIT(VIRTIO_F_VERSION_1));
}

Test(vhost_user, too_many_reply_fds_are_closed)
{
	struct vhost_user_msg m = { .hdr = { VHOST_USER_GET_FEATURES, R, 8 } };
	unsigned int before;
	int fds[16];

	/* More than the front-end's control buffer holds: the kernel drops the rest. */
	m.u.u64 = VIRTIO_BIT(VIRTIO_F_VERSION_1);
	make_fds(fds, 16);
	raw_fds(&m, sizeof(m.hdr) + 8, fds, 16);
	close_all(fds, 16);
	before = count_fds();
	cr_assert_eq(vhost_user_handshake(&vu), 0);
	cr_assert_eq(count_fds(), before);
}

Test(vhost_user, fds_on_a_bad_reply_are_closed)
{
	struct vhost_user_msg m = { .hdr = { VHOST_USER_GET_FEATURES, V, 8 } };	/* no reply flag */
	unsigned int before;
	int fds[4];

	make_fds(fds, 4);
	raw_fds(&m, sizeof(m.hdr) + 8, fds, 4);
	close_all(fds, 4);
	before = count_fds();
	cr_assert_eq(vhost_user_handshake(&vu), -EPROTO);
	cr_assert_eq(count_fds(), before);
}

Test(vhost_user, fds_on_an_ack_are_closed)
{
	struct vhost_user_msg m = { .hdr = { VHOST_USER_SET_FEATURES, R, 8 } };
	unsigned int before;
	int fds[2];

	handshake_fs();
	make_fds(fds, 2);
	raw_fds(&m, sizeof(m.hdr) + 8, fds, 2);
	close_all(fds, 2);
	before = count_fds();
	cr_assert_eq(vhost_user_set_features(&vu, 0), 0);
	cr_assert_eq(count_fds(), before);
}

/* ---- a broken connection stays broken ---- */

/* Every call fails with -EPIPE at once and writes nothing. */
static void check_dead(void)
{
	struct vhost_user_vring r = ring;
	uint64_t requests = vu.requests, failures = vu.failures;
	uint16_t base = 0x4242;
	long t0 = now_ms();

	r.kick = 0;
	r.call = 0;
	cr_assert(vu.broken);
	cr_assert_eq(vhost_user_handshake(&vu), -EPIPE);
	cr_assert_eq(vhost_user_set_features(&vu, 0), -EPIPE);
	cr_assert_eq(vhost_user_set_mem_table(&vu, &gm), -EPIPE);
	cr_assert_eq(vhost_user_start_vring(&vu, 0, &r), -EPIPE);
	cr_assert_eq(vhost_user_set_vring_call(&vu, 0, -1), -EPIPE);
	cr_assert_eq(vhost_user_enable_vring(&vu, 0, true), -EPIPE);
	cr_assert_eq(vhost_user_enable_vring(&vu, 0, false), -EPIPE);
	cr_assert_eq(vhost_user_stop_vring(&vu, 0, &base), -EPIPE);
	cr_assert_eq(base, 0x4242);
	cr_assert_eq(vhost_user_reset_device(&vu), -EPIPE);
	cr_assert_lt(now_ms() - t0, 50);
	cr_assert_eq(vu.requests, requests, "a request went out on a broken connection");
	cr_assert_eq(vu.failures, failures);
	if (peer >= 0 && vu.sock >= 0)
		expect_nothing();
}

Test(vhost_user, broken_after_bad_reply)
{
	make_gm();
	handshake_fs();
	reply_u64(VHOST_USER_SET_FEATURES, 1);
	cr_assert_eq(vhost_user_set_features(&vu, 0), -EIO);
	drain();
	/* A good ack waiting in the stream changes nothing. */
	reply_u64(VHOST_USER_SET_FEATURES, 0);
	check_dead();
	gm_destroy(&gm);
}

Test(vhost_user, broken_after_timeout)
{
	make_gm();
	handshake_fs();
	cr_assert_eq(vhost_user_set_features(&vu, 0), -ETIMEDOUT);
	drain();
	/* The ack arrives late: it must not be taken for the next request's. */
	reply_u64(VHOST_USER_SET_FEATURES, 0);
	check_dead();
	gm_destroy(&gm);
}

Test(vhost_user, broken_without_protocol_features)
{
	/* enable_vring and reset_device are no-ops here, yet still say the link is dead. */
	make_gm();
	reply(VHOST_USER_GET_FEATURES, V, 8, &(uint64_t){ 0 }, 8);
	cr_assert_eq(vhost_user_handshake(&vu), -EPROTO);
	drain();
	check_dead();
	gm_destroy(&gm);
}

Test(vhost_user, broken_after_bad_vring_base)
{
	uint16_t base;

	make_gm();
	handshake_fs();
	reply_state(VHOST_USER_GET_VRING_BASE, 7, 0);
	cr_assert_eq(vhost_user_stop_vring(&vu, 0, &base), -EPROTO);
	drain();
	check_dead();
	gm_destroy(&gm);
}

Test(vhost_user, closed_connection)
{
	make_gm();
	handshake_fs();
	vhost_user_close(&vu);
	cr_assert_eq(vu.sock, -1);
	check_dead();
	vhost_user_close(&vu);		/* twice is fine */
	cr_assert_eq(vu.sock, -1);
	gm_destroy(&gm);
}

/* The first failure's reason stays; later ones are counted. */
Test(vhost_user, first_error_kept)
{
	uint16_t base;

	handshake_fs();
	reply_state(VHOST_USER_GET_VRING_BASE, 7, 0);
	cr_assert_eq(vhost_user_stop_vring(&vu, 0, &base), -EPROTO);
	cr_assert(strstr(vu.error, "request 11"), "%s", vu.error);
	cr_assert(strstr(vu.error, "another queue"), "%s", vu.error);
	cr_assert_eq(vu.failures, 1);
}

/* ---- the pure helpers ---- */

Test(vhost_user, reply_size_table)
{
	cr_assert_eq(vhost_user_reply_size(VHOST_USER_GET_FEATURES), 8);
	cr_assert_eq(vhost_user_reply_size(VHOST_USER_GET_PROTOCOL_FEATURES), 8);
	cr_assert_eq(vhost_user_reply_size(VHOST_USER_GET_QUEUE_NUM), 8);
	cr_assert_eq(vhost_user_reply_size(VHOST_USER_GET_VRING_BASE), 8);
	cr_assert_eq(vhost_user_reply_size(VHOST_USER_GET_VRING_BASE),
		     (int)sizeof(struct vhost_user_vring_state));
	/* Requests with no reply of their own (their ack, if any, is a u64 as well). */
	static const uint32_t none[] = {
		0, VHOST_USER_SET_FEATURES, VHOST_USER_SET_OWNER, VHOST_USER_SET_MEM_TABLE,
		VHOST_USER_SET_VRING_NUM, VHOST_USER_SET_VRING_ADDR, VHOST_USER_SET_VRING_BASE,
		VHOST_USER_SET_VRING_KICK, VHOST_USER_SET_VRING_CALL,
		VHOST_USER_SET_PROTOCOL_FEATURES, VHOST_USER_SET_VRING_ENABLE,
		VHOST_USER_RESET_DEVICE, 4, 6, 7, 14, 40, 0xffffffff,
	};
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		cr_assert_eq(vhost_user_reply_size(none[i]), -1, "request %u", none[i]);
}

Test(vhost_user, check_reply_table)
{
	static const struct {
		struct vhost_user_hdr h;
		uint32_t request, size;
		int ret;
		const char *why;		/* a word of the reason */
	} t[] = {
		{ { 1, R, 8 }, 1, 8, 0, NULL },
		{ { 11, R, 8 }, 11, 8, 0, NULL },
		{ { 3, R | NEED, 8 }, 3, 8, 0, NULL },	/* other flag bits are not checked */
		{ { 1, R, 0 }, 1, 0, 0, NULL },
		{ { 1, VHOST_USER_REPLY, 8 }, 1, 8, -EPROTO, "version" },
		{ { 1, 2 | VHOST_USER_REPLY, 8 }, 1, 8, -EPROTO, "version" },
		{ { 1, 3 | VHOST_USER_REPLY, 8 }, 1, 8, -EPROTO, "version" },
		{ { 1, V, 8 }, 1, 8, -EPROTO, "request where a reply" },
		{ { 1, V | NEED, 8 }, 1, 8, -EPROTO, "request where a reply" },
		{ { 15, R, 8 }, 1, 8, -EPROTO, "another request" },
		{ { 0, R, 8 }, 1, 8, -EPROTO, "another request" },
		{ { 1, R, 4 }, 1, 8, -EPROTO, "size" },
		{ { 1, R, 9 }, 1, 8, -EPROTO, "size" },
		{ { 1, R, 0xffffffff }, 1, 8, -EPROTO, "size" },
		{ { 1, R, 8 }, 1, 0, -EPROTO, "size" },
		/* The version is checked first, then the flag, the request, the size. */
		{ { 2, 0, 4 }, 1, 8, -EPROTO, "version" },
		{ { 2, V, 4 }, 1, 8, -EPROTO, "request where a reply" },
		{ { 2, R, 4 }, 1, 8, -EPROTO, "another request" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *why = NULL;
		int ret = vhost_user_check_reply(&t[i].h, t[i].request, t[i].size, &why);

		cr_assert_eq(ret, t[i].ret, "case %zu: %d", i, ret);
		if (t[i].why) {
			cr_assert_not_null(why, "case %zu", i);
			cr_assert(strstr(why, t[i].why), "case %zu: '%s'", i, why);
		} else {
			cr_assert_null(why, "case %zu: '%s'", i, why);
		}
	}
}

Test(vhost_user, wire_layout)
{
	cr_assert_eq(sizeof(struct vhost_user_hdr), 12);
	cr_assert_eq(sizeof(struct vhost_user_vring_state), 8);
	cr_assert_eq(sizeof(struct vhost_user_vring_addr), 40);
	cr_assert_eq(sizeof(struct vhost_user_region), 32);
	cr_assert_eq(sizeof(struct vhost_user_mem), 8 + 8 * 32);
	cr_assert_eq(offsetof(struct vhost_user_vring_addr, desc), 8);
	cr_assert_eq(offsetof(struct vhost_user_vring_addr, used), 16);
	cr_assert_eq(offsetof(struct vhost_user_vring_addr, avail), 24);
	cr_assert_eq(offsetof(struct vhost_user_vring_addr, log), 32);
	cr_assert_eq(offsetof(struct vhost_user_msg, u), 12);
}

/* ---- connecting ---- */

Test(vhost_user, connect_errors)
{
	struct vhost_user c;
	char path[200];

	memset(&c, 0, sizeof(c));
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = 0;
	cr_assert_eq(vhost_user_connect(&c, path, "long"), -ENAMETOOLONG);
	cr_assert_eq(c.sock, -1);
	cr_assert_eq(vhost_user_connect(&c, "/nonexistent/kvmm-vhost-user.sock", "none"), -ENOENT);
	cr_assert_eq(c.sock, -1);
	cr_assert_eq(vhost_user_handshake(&c), -EPIPE);
}

/* ---- the device half (vhost_user_dev.c) ---- */

struct backend {
	int listen_fd;
	char path[108];
	uint8_t script[1024];		/* written as soon as the front-end connects */
	size_t script_len;
	uint8_t got[4096];		/* what the front-end sent until it hung up */
	size_t got_len;
	pthread_t th;
};

static void *backend_run(void *arg)
{
	struct backend *b = arg;
	int fd = accept4(b->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	ssize_t n;

	unlink(b->path);		/* connected: the name is not needed, even if a check fails */
	if (fd < 0)
		return NULL;
	if (b->script_len && send(fd, b->script, b->script_len, MSG_NOSIGNAL) < 0) {
		close(fd);
		return NULL;
	}
	while (b->got_len < sizeof(b->got) &&
	       (n = recv(fd, b->got + b->got_len, sizeof(b->got) - b->got_len, 0)) > 0)
		b->got_len += (size_t)n;
	close(fd);
	return NULL;
}

static void backend_add(struct backend *b, uint32_t request, uint64_t v)
{
	struct vhost_user_msg m = { .hdr = { request, R, 8 } };

	m.u.u64 = v;
	cr_assert_leq(b->script_len + 20, sizeof(b->script));
	memcpy(b->script + b->script_len, &m, 20);
	b->script_len += 20;
}

static void backend_start(struct backend *b)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(b->path, sizeof(b->path), "/tmp/kvmm-test-vu-%d.sock", getpid());
	unlink(b->path);
	strcpy(sa.sun_path, b->path);
	b->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(b->listen_fd, 0);
	cr_assert_eq(bind(b->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(b->listen_fd, 1), 0);
	cr_assert_eq(pthread_create(&b->th, NULL, backend_run, b), 0);
}

static void backend_join(struct backend *b)
{
	pthread_join(b->th, NULL);
	close(b->listen_fd);
	unlink(b->path);
}

static void fs_handshake_script(struct backend *b, uint64_t features, uint64_t qnum)
{
	backend_add(b, VHOST_USER_GET_FEATURES, features);
	backend_add(b, VHOST_USER_GET_PROTOCOL_FEATURES, FS_PROTOCOL);
	backend_add(b, VHOST_USER_GET_QUEUE_NUM, qnum);
	backend_add(b, VHOST_USER_SET_OWNER, 0);
}

#define FS_SUPPORTED (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | \
		      VIRTIO_BIT(VIRTIO_F_EVENT_IDX))

Test(vhost_user, dev_init)
{
	static struct backend b;
	struct vhost_user_dev v;
	struct virtio_dev d = { .name = "virtio-fs test", .nr_queues = 2 };

	memset(&v, 0, sizeof(v));
	/* Offers more than kvmm supports (bit 3, packed rings 34). */
	fs_handshake_script(&b, FS_FEATURES | VIRTIO_BIT(3) | VIRTIO_BIT(34), 2);
	backend_start(&b);
	cr_assert_eq(vhost_user_dev_init(&v, &d, b.path, FS_SUPPORTED), 0);
	/* VERSION_1 is the transport's; bit 30 and the unsupported ones stay out. */
	cr_assert_eq(d.features, VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	cr_assert_eq(v.vu.protocol, P_MQ | P_ACK);
	cr_assert_eq(v.vu.queue_num, 2);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		cr_assert_eq(v.relay_fd[q], -1);
	cr_assert_eq(v.d, &d);
	vhost_user_close(&v.vu);
	backend_join(&b);
	cr_assert_eq(b.got_len, 4 * 12 + 20);	/* GET x3, SET_OWNER, SET_PROTOCOL_FEATURES */
}

Test(vhost_user, dev_init_without_version_1)
{
	static struct backend b;
	struct vhost_user_dev v;
	struct virtio_dev d = { .name = "virtio-fs test", .nr_queues = 2 };

	memset(&v, 0, sizeof(v));
	fs_handshake_script(&b, FS_FEATURES & ~VIRTIO_BIT(VIRTIO_F_VERSION_1), 2);
	backend_start(&b);
	cr_assert_eq(vhost_user_dev_init(&v, &d, b.path, FS_SUPPORTED), -EPROTO);
	cr_assert_eq(v.vu.sock, -1);
	backend_join(&b);		/* returns: the front-end hung up */
}

Test(vhost_user, dev_init_too_many_queues)
{
	static struct backend b;
	struct vhost_user_dev v;
	struct virtio_dev d = { .name = "virtio-fs test", .nr_queues = 3 };

	memset(&v, 0, sizeof(v));
	fs_handshake_script(&b, FS_FEATURES, 2);
	backend_start(&b);
	cr_assert_eq(vhost_user_dev_init(&v, &d, b.path, FS_SUPPORTED), -EINVAL);
	cr_assert_eq(v.vu.sock, -1);
	backend_join(&b);
}

Test(vhost_user, dev_init_bad_handshake)
{
	static struct backend b;
	struct vhost_user_dev v;
	struct virtio_dev d = { .name = "virtio-fs test", .nr_queues = 1 };

	memset(&v, 0, sizeof(v));
	backend_add(&b, VHOST_USER_GET_PROTOCOL_FEATURES, FS_FEATURES);	/* wrong request */
	backend_start(&b);
	cr_assert_eq(vhost_user_dev_init(&v, &d, b.path, FS_SUPPORTED), -EPROTO);
	cr_assert_eq(v.vu.sock, -1);
	backend_join(&b);
}

Test(vhost_user, dev_init_no_backend)
{
	struct vhost_user_dev v;
	struct virtio_dev d = { .name = "virtio-fs test", .nr_queues = 1 };

	memset(&v, 0, sizeof(v));
	cr_assert_lt(vhost_user_dev_init(&v, &d, "/nonexistent/vu.sock", FS_SUPPORTED), 0);
	cr_assert_eq(v.vu.sock, -1);
}

/* A transport without KVM or a worker: queue notifiers are plain eventfds; queue 0 has an
 * irqfd (MSI-X), the others do not (kvmm relays). */
static struct virtio_transport ft;
static struct virtio_dev fd_dev;
static struct vhost_user_dev vd;
static int irqfd0 = -1;

static int ft_irqfd(struct virtio_transport *t, unsigned int q)
{
	(void)t;
	return q == 0 ? irqfd0 : -1;
}

static unsigned int ints[3][VIRTIO_MAX_QUEUES];	/* [kind][queue]: interrupts raised */

static void ft_interrupt(struct virtio_transport *t, uint32_t kind, unsigned int q)
{
	(void)t;
	cr_assert(kind == VIRTIO_INT_VRING || kind == VIRTIO_INT_CONFIG);
	cr_assert_lt(q, VIRTIO_MAX_QUEUES);
	ints[kind][q]++;
}

static const struct virtio_transport_ops ft_ops = { .interrupt = ft_interrupt,
						    .irqfd = ft_irqfd };

#define RING0	0x1000ULL		/* desc; +0x800 avail, +0xc00 used */
#define RING2	(1 * MiB + 0x4000)

/* A device with three queues (0 and 2 ready) whose back-end handshake has been done. With
 * EPOLL, the transport has an epoll set for the device's fds (which pump() serves, as the
 * worker would); without, watching them is -ENOTSUP, as in a transport without a worker. */
static void dev_setup_with(bool epoll)
{
	make_gm();
	handshake_fs();
	irqfd0 = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	cr_assert_geq(irqfd0, 0);
	memset(&ft, 0, sizeof(ft));
	ft.ops = &ft_ops;
	ft.epfd = epoll ? epoll_create1(EPOLL_CLOEXEC) : -1;
	cr_assert(!epoll || ft.epfd >= 0);
	memset(ints, 0, sizeof(ints));
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		ft.queue_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		cr_assert_geq(ft.queue_fd[q], 0);
	}
	fd_dev = (struct virtio_dev){
		.name = "virtio-fs test", .nr_queues = 3, .queue_max = 64, .mem = &gm, .t = &ft,
		.acked = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
			 VIRTIO_BIT(3),
	};
	ft.d = &fd_dev;
	fd_dev.vqs[0] = (struct vq){ .size = 64, .ready = true, .desc_gpa = RING0,
				     .avail_gpa = RING0 + 0x800, .used_gpa = RING0 + 0xc00 };
	fd_dev.vqs[1] = (struct vq){ .size = 64 };
	fd_dev.vqs[2] = (struct vq){ .size = 16, .ready = true, .desc_gpa = RING2,
				     .avail_gpa = RING2 + 0x100, .used_gpa = RING2 + 0x200 };
	memset(&vd, 0, sizeof(vd));
	vd.d = &fd_dev;
	vd.supported = FS_SUPPORTED;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		vd.relay_fd[q] = -1;
	/* The connection is the suite's socketpair. */
	vd.vu = vu;
	vu.sock = -1;			/* owned by vd now */
}

static void dev_setup(void)
{
	dev_setup_with(false);
}

/* Runs the callbacks of the device's ready fds, as the worker does; how many ran. */
static unsigned int pump(void)
{
	struct epoll_event ev;
	unsigned int n = 0;

	while (epoll_wait(ft.epfd, &ev, 1, 0) == 1) {
		struct virtio_watch *w = ev.data.ptr;

		cr_assert_eq(w->queue, -1);
		w->cb(&fd_dev, w->opaque, ev.events);
		cr_assert_lt(++n, 100, "an fd keeps firing");
	}
	return n;
}

static void dev_teardown(void)
{
	vhost_user_dev_destroy(&vd);
	for (int i = 0; i < VIRTIO_MAX_WATCHES; i++) {	/* what virtio_worker_stop() does */
		free(ft.watches[i]);
		ft.watches[i] = NULL;
	}
	if (ft.epfd >= 0)
		close(ft.epfd);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		close(ft.queue_fd[q]);
	close(irqfd0);
	gm_destroy(&gm);
}

/* What activate sends for ready queue Q (SIZE entries, rings at DESC/AVAIL/USED gpas). */
static void check_dev_queue(unsigned int q, uint32_t size, uint64_t desc, uint64_t avail,
			    uint64_t used, int call_mine)
{
	struct sent s;

	expect_state(VHOST_USER_SET_VRING_NUM, V | NEED, q, size);
	expect_state(VHOST_USER_SET_VRING_BASE, V | NEED, q, 0);
	expect(&s, VHOST_USER_SET_VRING_ADDR, V | NEED, 40, 0);
	cr_assert_eq(s.u.addr.index, q);
	cr_assert_eq(s.u.addr.desc, (uintptr_t)gm_ptr(&gm, desc, 1));
	cr_assert_eq(s.u.addr.avail, (uintptr_t)gm_ptr(&gm, avail, 1));
	cr_assert_eq(s.u.addr.used, (uintptr_t)gm_ptr(&gm, used, 1));
	expect(&s, VHOST_USER_SET_VRING_CALL, V | NEED, 8, 1);
	cr_assert_eq(s.u.u64, q);
	cr_assert(same_eventfd(s.fds[0], call_mine), "queue %u: the wrong call fd", q);
	close_fds(&s);
	expect(&s, VHOST_USER_SET_VRING_KICK, V | NEED, 8, 1);
	cr_assert_eq(s.u.u64, q);
	cr_assert(same_eventfd(s.fds[0], ft.queue_fd[q]), "queue %u: the wrong kick fd", q);
	close_fds(&s);
	expect_state(VHOST_USER_SET_VRING_ENABLE, V | NEED, q, 1);
}

static void script_dev_activate(void)
{
	reply_u64(VHOST_USER_SET_FEATURES, 0);
	reply_u64(VHOST_USER_SET_MEM_TABLE, 0);
	for (int i = 0; i < 2; i++) {
		script_acks(start_acks, 5);
		reply_u64(VHOST_USER_SET_VRING_ENABLE, 0);
	}
}

static void check_dev_activate(void)
{
	/* Only what the driver acked and kvmm supports, plus the protocol bit. */
	expect_u64(VHOST_USER_SET_FEATURES, V | NEED,
		   VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | PF);
	check_mem_table(V | NEED);
	check_dev_queue(0, 64, RING0, RING0 + 0x800, RING0 + 0xc00, irqfd0);
	cr_assert_geq(vd.relay_fd[2], 0, "no relay eventfd for the queue without an irqfd");
	check_dev_queue(2, 16, RING2, RING2 + 0x100, RING2 + 0x200, vd.relay_fd[2]);
	expect_nothing();
}

Test(vhost_user, dev_activate_and_reset)
{
	struct sent s;

	dev_setup();
	script_dev_activate();
	cr_assert_eq(vhost_user_dev_activate(&vd), 0);
	check_dev_activate();
	cr_assert(vd.started[0]);
	cr_assert_not(vd.started[1]);
	cr_assert(vd.started[2]);
	cr_assert_eq(vd.relay_fd[0], -1);
	cr_assert_eq(vd.relay_fd[1], -1);
	cr_assert_eq(vd.direct, 1);
	cr_assert_eq(vd.activations, 1);

	/* Reset: each started queue disabled, then stopped. */
	reply_u64(VHOST_USER_SET_VRING_ENABLE, 0);
	reply_state(VHOST_USER_GET_VRING_BASE, 0, 5);
	reply_u64(VHOST_USER_SET_VRING_ENABLE, 0);
	reply_state(VHOST_USER_GET_VRING_BASE, 2, 9);
	vhost_user_dev_reset(&vd);
	expect_state(VHOST_USER_SET_VRING_ENABLE, V | NEED, 0, 0);
	expect(&s, VHOST_USER_GET_VRING_BASE, V, 8, 0);
	cr_assert_eq(s.u.state.index, 0);
	expect_state(VHOST_USER_SET_VRING_ENABLE, V | NEED, 2, 0);
	expect(&s, VHOST_USER_GET_VRING_BASE, V, 8, 0);
	cr_assert_eq(s.u.state.index, 2);
	expect_nothing();
	cr_assert_not(vd.started[0]);
	cr_assert_not(vd.started[2]);
	cr_assert_eq(vd.resets, 1);
	cr_assert_not(vd.vu.broken);

	/* A second reset has nothing to take back. */
	vhost_user_dev_reset(&vd);
	expect_nothing();

	/* The driver starts the device again: the same relay eventfd, handed over again. */
	{
		int relay = dup(vd.relay_fd[2]);

		cr_assert_geq(relay, 0);
		script_dev_activate();
		cr_assert_eq(vhost_user_dev_activate(&vd), 0);
		check_dev_activate();
		cr_assert(same_eventfd(relay, vd.relay_fd[2]), "a new relay eventfd");
		cr_assert_eq(vd.activations, 2);
		close(relay);
	}
	dev_teardown();
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		cr_assert_eq(vd.relay_fd[q], -1);
	cr_assert_eq(vd.vu.sock, -1);
}

Test(vhost_user, dev_activate_refused)
{
	dev_setup();
	reply_u64(VHOST_USER_SET_FEATURES, 0);
	reply_u64(VHOST_USER_SET_MEM_TABLE, 1);
	cr_assert_eq(vhost_user_dev_activate(&vd), -EIO);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		cr_assert_not(vd.started[q]);
	drain();
	/* The reset has no ring to take back; activating again fails at once. */
	vhost_user_dev_reset(&vd);
	cr_assert_eq(vhost_user_dev_activate(&vd), -EPIPE);
	expect_nothing();
	cr_assert_eq(vd.activations, 1);
	cr_assert_eq(vd.resets, 1);
	dev_teardown();
}

Test(vhost_user, dev_backend_dies_mid_activate)
{
	long t0;

	dev_setup();
	reply_u64(VHOST_USER_SET_FEATURES, 0);
	reply_u64(VHOST_USER_SET_MEM_TABLE, 0);
	script_acks(start_acks, 5);
	reply_u64(VHOST_USER_SET_VRING_ENABLE, 0);
	shutdown(peer, SHUT_WR);	/* gone after queue 0 */
	cr_assert_eq(vhost_user_dev_activate(&vd), -ECONNRESET);
	cr_assert(vd.started[0]);
	cr_assert_not(vd.started[2]);
	drain();
	/* The reset cannot reach the back-end: it returns at once and sends nothing. */
	t0 = now_ms();
	vhost_user_dev_reset(&vd);
	cr_assert_lt(now_ms() - t0, 50);
	cr_assert_not(vd.started[0]);
	expect_nothing();
	dev_teardown();
}

/* The back-end hangs up while the device runs: the worker notices, the connection is
 * closed, the device needs a reset, and nothing is sent to the back-end again. */
Test(vhost_user, dev_backend_hangs_up)
{
	char c;
	int sock;

	dev_setup_with(true);
	ft.status = VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FEATURES_OK;
	script_dev_activate();
	cr_assert_eq(vhost_user_dev_activate(&vd), 0);
	check_dev_activate();
	cr_assert(vd.watching);
	cr_assert_eq(pump(), 0, "a callback ran with nothing to say");
	cr_assert_eq(vd.backend_lost, 0);

	sock = vd.vu.sock;
	shutdown(peer, SHUT_WR);
	cr_assert_geq(pump(), 1);
	cr_assert_eq(vd.backend_lost, 1);
	for (int i = 0; i < VIRTIO_MAX_WATCHES; i++)	/* no stale watch on a closed fd */
		cr_assert(!ft.watches[i] || ft.watches[i]->fd != sock);
	cr_assert_not(vd.watching);
	cr_assert(vd.vu.broken);
	cr_assert_eq(vd.vu.sock, -1);
	cr_assert(strstr(vd.vu.error, "closed"), "%s", vd.vu.error);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		cr_assert_not(vd.started[q]);
	cr_assert(ft.status & VIRTIO_STATUS_NEEDS_RESET);
	cr_assert_eq(ints[VIRTIO_INT_CONFIG][0], 1, "the driver was not told");
	cr_assert_eq(pump(), 0, "the hang-up fires again");

	/* The driver resets and tries again: nothing reaches the back-end (it sees EOF). */
	vhost_user_dev_reset(&vd);
	cr_assert_eq(vhost_user_dev_activate(&vd), -EPIPE);
	cr_assert_eq(recv(peer, &c, 1, MSG_DONTWAIT), 0);
	cr_assert_eq(vd.backend_lost, 1);
	dev_teardown();
}

/* Where the queue has no irqfd, the back-end's interrupts come to kvmm, which raises them;
 * where it has one, they go to KVM without kvmm. After a reset nothing is relayed. */
Test(vhost_user, dev_relays_interrupts)
{
	uint64_t one = 1;

	dev_setup_with(true);
	script_dev_activate();
	cr_assert_eq(vhost_user_dev_activate(&vd), 0);
	check_dev_activate();
	cr_assert_eq(pump(), 0);

	cr_assert_eq(write(vd.relay_fd[2], &one, sizeof(one)), sizeof(one));
	cr_assert_eq(write(vd.relay_fd[2], &one, sizeof(one)), sizeof(one));
	cr_assert_eq(pump(), 1);
	cr_assert_eq(vd.relayed, 1);
	cr_assert_eq(ints[VIRTIO_INT_VRING][2], 1);
	cr_assert_eq(write(irqfd0, &one, sizeof(one)), sizeof(one));
	cr_assert_eq(pump(), 0, "kvmm relays a queue that has an irqfd");
	cr_assert_eq(ints[VIRTIO_INT_VRING][0], 0);

	reply_u64(VHOST_USER_SET_VRING_ENABLE, 0);
	reply_state(VHOST_USER_GET_VRING_BASE, 0, 0);
	reply_u64(VHOST_USER_SET_VRING_ENABLE, 0);
	reply_state(VHOST_USER_GET_VRING_BASE, 2, 0);
	vhost_user_dev_reset(&vd);
	drain();
	cr_assert_eq(write(vd.relay_fd[2], &one, sizeof(one)), sizeof(one));
	cr_assert_eq(pump(), 0, "a relay still watched after the reset");
	cr_assert_eq(vd.relayed, 1);
	cr_assert_eq(ints[VIRTIO_INT_VRING][2], 1);
	dev_teardown();
}

Test(vhost_user, dev_counters)
{
	struct vhost_user_dev v;
	struct virtio_counter c[VIRTIO_MAX_COUNTERS];

	memset(&v, 0, sizeof(v));
	v.vu.requests = 11;
	v.vu.failures = 2;
	v.backend_lost = 1;
	v.activations = 3;
	v.relayed = 40;
	v.direct = 5;
	v.mem_updates = 2;
	cr_assert_eq(vhost_user_dev_counters(&v, c), 7);
	cr_assert_str_eq(c[0].name, "backend_requests");
	cr_assert_eq(c[0].value, 11);
	cr_assert_str_eq(c[1].name, "backend_failures");
	cr_assert_eq(c[1].value, 2);
	cr_assert_str_eq(c[2].name, "backend_lost");
	cr_assert_eq(c[2].value, 1);
	cr_assert_str_eq(c[3].name, "activations");
	cr_assert_eq(c[3].value, 3);
	cr_assert_str_eq(c[4].name, "irqs_relayed");
	cr_assert_eq(c[4].value, 40);
	cr_assert_str_eq(c[5].name, "queues_irqfd");
	cr_assert_eq(c[5].value, 5);
	cr_assert_str_eq(c[6].name, "mem_table_updates");
	cr_assert_eq(c[6].value, 2);
}
