/*
 * libFuzzer target for the API's configuration bodies: Cloud Hypervisor's VmConfig and
 * device JSON as a hostile client sends them, through the real endpoint handlers
 * (api_vmm_handle() on a fresh VM side per input, no KVM: nothing is booted) into
 * vmm/api_config.c, api_schema.c, api_vm_config.c and api_info.c.
 *
 * The input is a sequence of requests separated by NUL bytes. The first byte B of each picks
 * the endpoint, (B & 0x7f) % 11: vm.create (11: 0 is the separator), vm.add-disk, vm.add-net,
 * vm.add-fs, vm.add-vsock, vm.remove-device, vm.resize, vm.info, vm.delete, vmm.ping,
 * vm.counters; with B & 0x80 an eventfd comes along as an SCM_RIGHTS fd (as Kata sends a TAP
 * with vm.add-net). The rest is the body. vm.boot is never sent.
 *
 * Checked (abort on violation): every answer has a status the handlers document (200, 204,
 * 400, 404, 405, 409, 500, 501) and a body that is valid JSON when there is one (error
 * bodies included); a Created VM's config passes config_validate() after every request; the
 * config vm.info echoes is a VmConfig that api_vm_config() accepts again; no fd is left open
 * once the VM side is freed (those sent with requests included).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "api.h"
#include "api_config.h"
#include "api_internal.h"
#include "http.h"
#include "log.h"

#define MAX_REQUESTS	32
#define FD_PROBE	64

static const char *const eps[] = {
	"vm.create", "vm.add-disk", "vm.add-net", "vm.add-fs", "vm.add-vsock",
	"vm.remove-device", "vm.resize", "vm.info", "vm.delete", "vmm.ping", "vm.counters",
};
#define NR_EPS	(sizeof(eps) / sizeof(eps[0]))

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_threshold = LOG_QUIET;
	return 0;
}

static void fd_snapshot(uint8_t *open_fds)
{
	for (int i = 0; i < FD_PROBE; i++)
		open_fds[i] = fcntl(i, F_GETFD) >= 0;
}

/* What vm.info says of the config is a VmConfig vm.create takes. */
static void info_round_trip(const struct vmm_config *cfg)
{
	struct vmm_config again;
	char *s = api_vm_info(cfg, "Created"), *c, err[256];
	json_t *info;

	check(s);
	info = json_loads(s, 0, NULL);
	check(info);
	c = json_dumps(json_object_get(info, "config"), JSON_COMPACT);
	check(c);
	config_init(&again);
	if (api_vm_config(c, strlen(c), &again, err, sizeof(err))) {
		fprintf(stderr, "vm.info's config refused: %s\n%s\n", err, c);
		abort();
	}
	config_free(&again);
	free(c);
	json_decref(info);
	free(s);
}

static void request(struct api_vmm *v, uint8_t sel, const uint8_t *body, size_t len)
{
	const char *ep = eps[(sel & 0x7f) % NR_EPS];
	struct http_request *req = calloc(1, sizeof(*req));
	struct api_reply rep = { 0 };
	char path[64], err[256];
	bool quit = false;
	int st;

	check(req);
	snprintf(path, sizeof(path), "/api/v1/%s", ep);
	req->method = strcmp(ep, "vm.info") && strcmp(ep, "vmm.ping") &&
		      strcmp(ep, "vm.counters") ? HTTP_PUT : HTTP_GET;
	req->method_name = req->method == HTTP_GET ? "GET" : "PUT";
	req->path = path;
	req->body = malloc(len + 1);		/* as the server has it: NUL after the body */
	check(req->body);
	memcpy(req->body, body, len);
	req->body[len] = '\0';
	req->body_len = len;
	for (unsigned int i = 0; i < HTTP_MAX_FDS; i++)
		req->fds[i] = -1;
	if (sel & 0x80) {
		req->fds[0] = eventfd(0, EFD_CLOEXEC);
		check(req->fds[0] >= 0);
		req->nr_fds = 1;
	}

	api_vmm_handle(v, req, &rep, &quit);

	st = rep.status;
	check(st == 200 || st == 204 || st == 400 || st == 404 || st == 405 || st == 409 ||
	      st == 500 || st == 501);
	if (rep.body) {
		json_t *j = json_loads(rep.body, 0, NULL);

		if (!j) {
			fprintf(stderr, "%s answered %d with a body that is not JSON: %s\n", ep, st,
				rep.body);
			abort();
		}
		json_decref(j);
	}
	check(st != 200 || rep.body);
	if (v->state == API_CREATED) {
		if (config_validate(&v->cfg, err, sizeof(err))) {
			fprintf(stderr, "after %s (%d): the config is not valid: %s\n", ep, st,
				err);
			abort();
		}
		if (!strcmp(ep, "vm.create") && st == 204)
			info_round_trip(&v->cfg);
	}
	free(rep.body);
	for (unsigned int i = 0; i < req->nr_fds; i++)
		if (req->fds[i] >= 0)
			close(req->fds[i]);	/* what the server does with fds not taken */
	free(req->body);
	free(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t before[FD_PROBE], after[FD_PROBE];
	struct api_vmm *v;
	size_t i = 0;
	int wake, n = 0;

	fd_snapshot(before);
	v = api_vmm_new(&wake);
	check(v);
	while (i < size && n++ < MAX_REQUESTS) {
		const uint8_t *nul = memchr(data + i, 0, size - i);
		size_t len = nul ? (size_t)(nul - (data + i)) : size - i;

		if (len)
			request(v, data[i], data + i + 1, len - 1);
		i += len + 1;
	}
	api_vmm_free(v);
	fd_snapshot(after);
	check(!memcmp(before, after, sizeof(before)));
	return 0;
}
