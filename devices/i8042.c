/*
 * Minimal i8042: enough controller behaviour for Linux's reboot=k path and
 * for probes not to misbehave.  State is touched only from vCPU threads
 * under one lock.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "i8042.h"
#include "log.h"
#include "vm.h"

#define STS_OBF		0x01	/* output buffer full */
#define STS_SYS		0x04	/* system flag: self-test passed */
#define STS_CMD		0x08	/* last write was a command */

#define CMD_READ_CTR	0x20
#define CMD_WRITE_CTR	0x60
#define CMD_AUX_TEST	0xa9
#define CMD_SELF_TEST	0xaa
#define CMD_KBD_TEST	0xab
#define CMD_AUX_LOOP	0xd3	/* data byte back as if from the mouse */
#define CMD_READ_OUTP	0xd0
#define CMD_WRITE_OUTP	0xd1
#define CMD_RESET	0xfe

struct i8042 {
	pthread_mutex_t lock;
	struct vm *vm;
	uint8_t status;
	uint8_t ctr;		/* controller command byte */
	uint8_t outp;		/* output port; bit 0 low = CPU in reset */
	uint8_t pending_cmd;	/* command waiting for its data byte */
	uint8_t out;		/* byte for the next data-port read */
};

struct i8042 *i8042_new(struct vm *vm)
{
	struct i8042 *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	pthread_mutex_init(&k->lock, NULL);
	k->vm = vm;
	k->status = STS_SYS;
	k->ctr = 0x30;		/* both ports' clocks disabled, no IRQs */
	k->outp = 0x01;
	return k;
}

void i8042_free(struct i8042 *k)
{
	if (!k)
		return;
	pthread_mutex_destroy(&k->lock);
	free(k);
}

static void i8042_queue(struct i8042 *k, uint8_t v)
{
	k->out = v;
	k->status |= STS_OBF;
}

static void i8042_reset(struct i8042 *k)
{
	pr_info("i8042: guest pulsed CPU reset");
	vm_request_stop(k->vm, VM_STOP_REBOOT);
}

void i8042_cmd_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		  bool is_write)
{
	struct i8042 *k = opaque;

	(void)offset;
	pthread_mutex_lock(&k->lock);
	if (!is_write) {
		memset(data, 0, len);
		data[0] = k->status;
		goto out;
	}
	k->status |= STS_CMD;
	k->pending_cmd = 0;
	switch (data[0]) {
	case CMD_READ_CTR:
		i8042_queue(k, k->ctr);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTP:
	case CMD_AUX_LOOP:
		k->pending_cmd = data[0];
		break;
	case CMD_AUX_TEST:
		/*
		 * There is no mouse port: the test fails ("clock line stuck low"). Answering at
		 * all matters: Linux waits 10000 x 50 us for an answer that never comes, twice
		 * (this and the loop test), before it decides that by itself.
		 */
		i8042_queue(k, 0x01);
		break;
	case CMD_SELF_TEST:
		i8042_queue(k, 0x55);
		break;
	case CMD_KBD_TEST:
		i8042_queue(k, 0x00);
		break;
	case CMD_READ_OUTP:
		i8042_queue(k, k->outp);
		break;
	case CMD_RESET:
		i8042_reset(k);
		break;
	default:
		/* Port enable/disable and the rest: accepted, no effect. */
		break;
	}
out:
	pthread_mutex_unlock(&k->lock);
}

void i8042_data_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		   bool is_write)
{
	struct i8042 *k = opaque;

	(void)offset;
	pthread_mutex_lock(&k->lock);
	if (!is_write) {
		memset(data, 0, len);
		data[0] = k->out;
		k->status &= ~STS_OBF;
		goto out;
	}
	k->status &= ~STS_CMD;
	switch (k->pending_cmd) {
	case CMD_WRITE_CTR:
		k->ctr = data[0];
		break;
	case CMD_WRITE_OUTP:
		k->outp = data[0];
		if (!(data[0] & 0x01))
			i8042_reset(k);
		break;
	case CMD_AUX_LOOP:
		/* Answered without the mouse-data status bit: no AUX port, at once. */
		i8042_queue(k, 0x00);
		break;
	default:
		/* Bytes for the (absent) keyboard are dropped. */
		break;
	}
	k->pending_cmd = 0;
out:
	pthread_mutex_unlock(&k->lock);
}
