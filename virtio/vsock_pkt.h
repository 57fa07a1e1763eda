/*
 * virtio-vsock packets (virtio 1.x, 5.10): the 44-byte header and the checks every packet
 * from the guest goes through, the credit arithmetic of stream flow control, and the
 * "CONNECT <port>\n" line of the hybrid vsock handshake (Firecracker / Cloud Hypervisor
 * style, what the Kata runtimes speak). Pure functions: no I/O, no guest memory.
 */
#ifndef KVMM_VIRTIO_VSOCK_PKT_H
#define KVMM_VIRTIO_VSOCK_PKT_H

#include <stddef.h>
#include <stdint.h>

#define VSOCK_HOST_CID		2
#define VSOCK_TYPE_STREAM	1

/* Operations (struct virtio_vsock_hdr.op). */
#define VSOCK_OP_INVALID	0
#define VSOCK_OP_REQUEST	1
#define VSOCK_OP_RESPONSE	2
#define VSOCK_OP_RST		3
#define VSOCK_OP_SHUTDOWN	4
#define VSOCK_OP_RW		5
#define VSOCK_OP_CREDIT_UPDATE	6
#define VSOCK_OP_CREDIT_REQUEST	7

/* SHUTDOWN flags. */
#define VSOCK_SHUT_RCV		1	/* the sender will receive no more */
#define VSOCK_SHUT_SEND		2	/* the sender will send no more */
#define VSOCK_SHUT_BOTH		(VSOCK_SHUT_RCV | VSOCK_SHUT_SEND)

#define VSOCK_HDR_LEN		44U
/* The largest payload kvmm accepts in one packet from the guest (Linux sends <= 64 KiB). */
#define VSOCK_MAX_PAYLOAD	(256U << 10)
/* The handshake line, newline included, is at most this long. */
#define VSOCK_LINE_MAX		64U

/* struct virtio_vsock_hdr in host byte order (the wire form is packed little endian). */
struct vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
};

void vsock_hdr_decode(const uint8_t raw[VSOCK_HDR_LEN], struct vsock_hdr *h);
void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t raw[VSOCK_HDR_LEN]);

/* What to do with a packet from the guest, by vsock_hdr_check(). */
enum vsock_verdict {
	VSOCK_PKT_OK,		/* well formed: handle it */
	VSOCK_PKT_DROP,		/* drop silently (and count): framing broken or not ours */
	VSOCK_PKT_RST,		/* answer with RST (and count): a protocol error */
};

/*
 * Checks header H of a transmit packet whose chain holds ROOM readable bytes after the
 * header, from the guest with CID GUEST_CID. DROP: src_cid is not GUEST_CID, len exceeds
 * ROOM or VSOCK_MAX_PAYLOAD, or any error in an RST (an RST is never answered). RST:
 * dst_cid is not the host's (2), type is not STREAM, op is not 1..7. *WHY (may be NULL)
 * gets a reason for the log when the verdict is not OK.
 */
enum vsock_verdict vsock_hdr_check(const struct vsock_hdr *h, uint64_t room, uint64_t guest_cid,
				   const char **why);

/*
 * The bytes a peer that advertised BUF_ALLOC and FWD_CNT can still take when TX_CNT bytes
 * were sent to it: BUF_ALLOC - (TX_CNT - FWD_CNT), all counters wrapping at 2^32. 0 when
 * the peer reports more in flight than its buffer (or a fwd_cnt ahead of tx_cnt).
 */
uint32_t vsock_credit(uint32_t buf_alloc, uint32_t tx_cnt, uint32_t fwd_cnt);

/*
 * Parses the handshake line LINE of LEN bytes: "CONNECT <port>\n" in any letter case (the
 * Go runtime writes upper case, the Rust one lower case), an optional '\r' before the
 * newline, port decimal 0..4294967295 without sign or spaces. LEN must include the newline
 * and be at most VSOCK_LINE_MAX. 0 with *PORT, or -EINVAL.
 */
int vsock_parse_connect(const char *line, size_t len, uint32_t *port);

#endif
