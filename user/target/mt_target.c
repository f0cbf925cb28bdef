// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/mt_log.h"
#include "target/mt_proc.h"
#include "target/mt_target.h"

#define PF_KTHREAD 0x00200000u

struct proc_stat {
	char state;
	unsigned long flags;
	unsigned long long start_time;
};

static int read_stat(pid_t pid, struct proc_stat *st)
{
	char path[64], buf[1024], *p;
	unsigned long long fields[20];
	ssize_t len;
	int fd, i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -ESRCH;
	buf[len] = '\0';
	/* comm may hold spaces and parentheses: fields start after the last ')' */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%c", &st->state) != 1)
		return -EPROTO;
	p += 4;
	/* fields 4..22 follow the state */
	for (i = 0; i < 19; i++) {
		char *end;

		fields[i] = strtoull(p, &end, 10);
		if (end == p)
			return -EPROTO;
		p = end;
	}
	st->flags = fields[9 - 4];
	st->start_time = fields[22 - 4];
	return 0;
}

int mt_target_reload(struct mt_target *t)
{
	char path[64];
	ssize_t len;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)t->pid);
	f = fopen(path, "re");
	if (!f || !fgets(t->comm, sizeof(t->comm), f))
		snprintf(t->comm, sizeof(t->comm), "?");
	if (f)
		fclose(f);
	t->comm[strcspn(t->comm, "\n")] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)t->pid);
	len = readlink(path, t->exe, sizeof(t->exe) - 1);
	if (len < 0)
		return -errno;
	t->exe[len] = '\0';
	/* Reports name what the user started (a symlink's name, not its
	 * target: redis-server, not redis-check-rdb). */
	if (mt_proc_execfn(t->pid, t->path, sizeof(t->path)))
		snprintf(t->path, sizeof(t->path), "%s", t->exe);
	return 0;
}

int mt_target_open(pid_t pid, struct mt_target *t)
{
	struct proc_stat st;
	int err;

	memset(t, 0, sizeof(*t));
	t->pidfd = -1;
	t->pid = pid;
	if (pid <= 0) {
		mt_err("invalid PID %d", (int)pid);
		return -EINVAL;
	}
	if (pid == getpid()) {
		mt_err("cannot trace memtrace itself (PID %d)", (int)pid);
		return -EINVAL;
	}
	err = read_stat(pid, &st);
	if (err) {
		mt_err("no process with PID %d", (int)pid);
		return -ESRCH;
	}
	if (st.flags & PF_KTHREAD) {
		mt_err("PID %d is a kernel thread: it has no user-space allocator to trace", (int)pid);
		return -EINVAL;
	}
	if (st.state == 'Z' || st.state == 'X') {
		mt_err("PID %d has exited", (int)pid);
		return -ESRCH;
	}
	t->start_time = st.start_time;
	/* From here a failure with the process gone means it exited while
	 * memtrace attached: one line says so, whichever step saw it. */
	t->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (t->pidfd < 0) {
		err = -errno;
		if (err == -ESRCH)
			mt_err("PID %d exited during attach", (int)pid);
		else
			mt_err("cannot watch PID %d: pidfd_open: %s", (int)pid, strerror(-err));
		return err;
	}
	err = mt_target_reload(t);
	if (err && !mt_target_alive_after_error(t, 200)) {
		mt_err("PID %d exited during attach", (int)pid);
		mt_target_close(t);
		return -ESRCH;
	}
	if (err) {
		mt_err("cannot read the executable of PID %d: %s", (int)pid, strerror(-err));
		mt_target_close(t);
		return err;
	}
	return 0;
}

bool mt_target_alive(const struct mt_target *t)
{
	struct proc_stat st;

	if (read_stat(t->pid, &st))
		return false;
	return st.start_time == t->start_time && st.state != 'Z' && st.state != 'X';
}

bool mt_target_alive_after_error(const struct mt_target *t, int wait_ms)
{
	struct pollfd p = { .fd = t->pidfd, .events = POLLIN };

	if (!mt_target_alive(t))
		return false;
	if (t->pidfd < 0)
		return true;
	/* readable once the process has exited (its exit is what failed the
	 * step); a timeout means it really is running */
	return poll(&p, 1, wait_ms) == 0 && mt_target_alive(t);
}

void mt_target_close(struct mt_target *t)
{
	if (t->pidfd >= 0)
		close(t->pidfd);
	t->pidfd = -1;
}
