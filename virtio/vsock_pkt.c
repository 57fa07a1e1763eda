/*
 * virtio-vsock packet headers, their checks, credit arithmetic and the CONNECT line
 * (contracts in vsock_pkt.h).
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "vsock_pkt.h"

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return le16toh(v);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void put16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

void vsock_hdr_decode(const uint8_t raw[VSOCK_HDR_LEN], struct vsock_hdr *h)
{
	h->src_cid = get64(raw);
	h->dst_cid = get64(raw + 8);
	h->src_port = get32(raw + 16);
	h->dst_port = get32(raw + 20);
	h->len = get32(raw + 24);
	h->type = get16(raw + 28);
	h->op = get16(raw + 30);
	h->flags = get32(raw + 32);
	h->buf_alloc = get32(raw + 36);
	h->fwd_cnt = get32(raw + 40);
}

void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t raw[VSOCK_HDR_LEN])
{
	put64(raw, h->src_cid);
	put64(raw + 8, h->dst_cid);
	put32(raw + 16, h->src_port);
	put32(raw + 20, h->dst_port);
	put32(raw + 24, h->len);
	put16(raw + 28, h->type);
	put16(raw + 30, h->op);
	put32(raw + 32, h->flags);
	put32(raw + 36, h->buf_alloc);
	put32(raw + 40, h->fwd_cnt);
}

static enum vsock_verdict verdict(enum vsock_verdict v, const char *reason, const char **why)
{
	if (why)
		*why = reason;
	return v;
}

enum vsock_verdict vsock_hdr_check(const struct vsock_hdr *h, uint64_t room, uint64_t guest_cid,
				   const char **why)
{
	enum vsock_verdict bad = h->op == VSOCK_OP_RST ? VSOCK_PKT_DROP : VSOCK_PKT_RST;

	if (h->src_cid != guest_cid)
		return verdict(VSOCK_PKT_DROP, "src_cid is not the guest's", why);
	if (h->len > room)
		return verdict(VSOCK_PKT_DROP, "len beyond the packet's buffers", why);
	if (h->len > VSOCK_MAX_PAYLOAD)
		return verdict(VSOCK_PKT_DROP, "len too large", why);
	if (h->dst_cid != VSOCK_HOST_CID)
		return verdict(bad, "dst_cid is not the host", why);
	if (h->type != VSOCK_TYPE_STREAM)
		return verdict(bad, "type is not STREAM", why);
	if (h->op == VSOCK_OP_INVALID || h->op > VSOCK_OP_CREDIT_REQUEST)
		return verdict(bad, "unknown op", why);
	if (why)
		*why = NULL;
	return VSOCK_PKT_OK;
}

uint32_t vsock_credit(uint32_t buf_alloc, uint32_t tx_cnt, uint32_t fwd_cnt)
{
	uint32_t in_flight = tx_cnt - fwd_cnt;	/* wraps like the counters */

	return in_flight > buf_alloc ? 0 : buf_alloc - in_flight;
}

int vsock_parse_connect(const char *line, size_t len, uint32_t *port)
{
	static const char verb[] = "connect ";
	uint64_t v = 0;
	size_t i, end;

	if (len > VSOCK_LINE_MAX || len < sizeof(verb) || line[len - 1] != '\n')
		return -EINVAL;
	end = len - 1;
	if (line[end - 1] == '\r')
		end--;
	if (strncasecmp(line, verb, sizeof(verb) - 1))
		return -EINVAL;
	i = sizeof(verb) - 1;
	if (i == end || end - i > 10)
		return -EINVAL;
	for (; i < end; i++) {
		if (line[i] < '0' || line[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(line[i] - '0');
	}
	if (v > UINT32_MAX)
		return -EINVAL;
	*port = (uint32_t)v;
	return 0;
}
