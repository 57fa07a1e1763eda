/*
 * Host side of the guest console: output sink for the UART and terminal
 * input.  Input is read on the event loop only while the UART's receive FIFO
 * has room; when it fills, the stdin source is disarmed (EPOLLONESHOT) and
 * re-armed by the UART's drained callback, so a guest that stops reading
 * neither loses keystrokes nor makes the loop spin.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <termios.h>
#include <unistd.h>

#include "console.h"
#include "log.h"
#include "vm.h"

struct console {
	struct vm *vm;
	int out_fd;
	bool own_out;			/* out_fd opened by us */
	bool tty_raw;
	struct termios saved;
	struct ev_source in_src;
	uint8_t pending[64];		/* read from stdin, not yet in the FIFO */
	size_t npending;
	struct console_uart uart;	/* dev NULL until console_attach() */
};

int console_out_fd(const struct vm *vm)
{
	return vm->console ? vm->console->out_fd : -1;
}

static void console_arm(struct console *c)
{
	if (evloop_mod(&c->vm->loop, &c->in_src, EPOLLIN | EPOLLONESHOT))
		pr_warn("console: cannot re-arm stdin");
}

static void console_flush_pending(struct console *c)
{
	size_t n = c->uart.input(c->uart.dev, c->pending, c->npending);

	memmove(c->pending, c->pending + n, c->npending - n);
	c->npending -= n;
}

static void console_on_input(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	ssize_t n;

	(void)events;
	if (!c->uart.dev)
		return;
	console_flush_pending(c);
	if (c->npending == 0) {
		n = read(c->in_src.fd, c->pending, sizeof(c->pending));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return;		/* EOF or error: stay disarmed */
		if (n > 0)
			c->npending = n;
		console_flush_pending(c);
	}
	/* Leave the source disarmed while bytes wait for FIFO room. */
	if (c->npending == 0)
		console_arm(c);
}

/* Runs on a vCPU thread when the guest empties the receive FIFO. */
static void console_rx_drained(void *opaque)
{
	struct console *c = opaque;

	/* Cheap and idempotent: the next input event refills the FIFO. */
	console_arm(c);
}

static int console_open_out(struct console *c, const struct vmm_config *cfg)
{
	switch (cfg->serial) {
	case SERIAL_TTY:
		c->out_fd = STDOUT_FILENO;
		return 0;
	case SERIAL_FILE:
		c->out_fd = open(cfg->serial_path,
				 O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
		if (c->out_fd < 0) {
			pr_err("serial: cannot open %s: %s", cfg->serial_path,
			       strerror(errno));
			return -errno;
		}
		c->own_out = true;
		return 0;
	case SERIAL_OFF:
	default:
		c->out_fd = -1;
		return 0;
	}
}

int console_init(struct vm *vm)
{
	struct console *c = calloc(1, sizeof(*c));
	struct termios raw;
	int ret;

	if (!c)
		return -ENOMEM;
	c->vm = vm;
	c->in_src.fd = -1;
	vm->console = c;
	ret = console_open_out(c, vm->cfg);
	if (ret)
		return ret;
	if (vm->cfg->serial != SERIAL_TTY || !isatty(STDIN_FILENO))
		return 0;

	if (tcgetattr(STDIN_FILENO, &c->saved) == 0) {
		raw = c->saved;
		cfmakeraw(&raw);
		/* Keep ISIG: Ctrl-C still stops kvmm (via signalfd). */
		raw.c_lflag |= ISIG;
		raw.c_oflag |= OPOST | ONLCR;
		if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
			c->tty_raw = true;
	}
	c->in_src = (struct ev_source){ STDIN_FILENO, console_on_input, c };
	fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
	ret = evloop_add(&vm->loop, &c->in_src, EPOLLIN | EPOLLONESHOT);
	if (ret) {
		pr_err("console: watching stdin: %s", strerror(-ret));
		c->in_src.fd = -1;
		return ret;
	}
	return 0;
}

/* Called by the arch once the UART exists. */
void console_attach(struct vm *vm, const struct console_uart *uart)
{
	if (!vm->console || vm->console->in_src.fd < 0)
		return;
	vm->console->uart = *uart;
	uart->set_rx_drained_cb(uart->dev, console_rx_drained, vm->console);
}

void console_fini(struct vm *vm)
{
	struct console *c = vm->console;

	if (!c)
		return;
	if (c->in_src.fd >= 0) {
		fcntl(STDIN_FILENO, F_SETFL,
		      fcntl(STDIN_FILENO, F_GETFL) & ~O_NONBLOCK);
	}
	if (c->tty_raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &c->saved);
	if (c->own_out)
		close(c->out_fd);
	free(c);
	vm->console = NULL;
}
