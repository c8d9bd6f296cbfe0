// SPDX-License-Identifier: GPL-2.0
/*
 * The launcher's terminal: when stdin is a tty, raw mode (no echo, no line
 * editing, no signals from ^C: those keys belong to the guest; Ctrl-A x
 * quits), restored at exit.
 */
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include "devices.h"

static struct termios saved;
static bool raw;

void console_restore(void)
{
	if (raw) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
		raw = false;
	}
}

void console_init(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved))
		return;
	t = saved;
	cfmakeraw(&t);
	/* Keep output post-processing: the guest sends CR LF itself, but
	 * the launcher's own messages use plain LF.
	 */
	t.c_oflag |= OPOST;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t))
		return;
	raw = true;
	atexit(console_restore);
}
