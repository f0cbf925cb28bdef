#!/usr/bin/env python3
"""memtrace's live view under a real pseudo-terminal (t91-live.sh).

Each scenario runs a bash script as the session leader of a new pty (so
memtrace is in the foreground of a real terminal, keys and all), types
keys when the screen shows what it waits for, and checks the transcript:
the redraw escapes, the frames' figures against the final JSON report,
the ranking a key switches to, the exit status, and the terminal modes
(`stty -g` through the pty) before and after.

  live_pty.py SCENARIO MEMTRACE WORKLOAD_DIR TMPDIR
"""
import fcntl
import json
import os
import pty
import re
import select
import struct
import sys
import termios
import time

ENTER = b"\x1b[?1049h"     # alternate screen
LEAVE = b"\x1b[?1049l"
HOME = b"\x1b[H"           # each frame starts at the top left
ROWS, COLS = 40, 200


class Pty:
    def __init__(self, script):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
            os.execvp("bash", ["bash", "-c", script])
        self.out = b""
        self.status = None

    def pump(self, secs):
        end = time.time() + secs
        while time.time() < end:
            r, _, _ = select.select([self.fd], [], [], max(0.0, min(0.1, end - time.time())))
            if not r:
                continue
            try:
                d = os.read(self.fd, 65536)
            except OSError:   # EIO: the last writer closed the pty
                return False
            if not d:
                return False
            self.out += d
        return True

    def wait_for(self, what, secs, since=0):
        """Until what(transcript after since) is true; the transcript."""
        end = time.time() + secs
        while time.time() < end:
            if what(self.out[since:]):
                return True
            if not self.pump(0.1):
                break
        return what(self.out[since:])

    def send(self, b):
        os.write(self.fd, b)

    def finish(self, secs=30):
        end = time.time() + secs
        while time.time() < end and self.pump(0.2):
            pass
        for _ in range(int(secs * 10)):
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(st)
                return self.status
            time.sleep(0.1)
        # memtrace and its target are in the pty's session: end them all
        for sig in (1, 9):
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                pass
            time.sleep(0.5)
        os.waitpid(self.pid, 0)
        raise AssertionError("the pty's shell did not end; transcript:\n" + tail(self.out))


def tail(b, n=3000):
    return b[-n:].decode(errors="replace")


def frames(out):
    """The live frames, as text: each from cursor-home to the next."""
    parts = out.split(HOME)[1:]
    return [p.decode(errors="replace").replace("\x1b[K", "").replace("\r", "")
            for p in parts if b"top " in p or b"allocs " in p or b"RSS " in p]


def sites(frame):
    """(header, [site name of each row]) of a frame."""
    m = re.search(r"^top \d+ sites by ([a-z ]+):\n.*SITE\n((?:.*\n)*)", frame, re.M)
    if not m:
        return None, []
    rows = [l for l in m.group(2).split("\n") if l.strip() and not l.startswith("\x1b")]
    names = []
    for l in rows:
        f = l.split()
        # LIVE is two words ("1.2 KiB"), then OBJECTS ALLOCS ALLOCS/S [TREND] SITE...
        rest = f[5:]
        if rest and rest[0] == "growing":
            rest = rest[1:]
        names.append((rest[0] if rest else "", "growing" in f[5:6]))
    return m.group(1), names


def totals(frame):
    m = re.search(r"^allocs (\d+) \(.*?\)\s+frees (\d+)", frame, re.M)
    return (int(m.group(1)), int(m.group(2))) if m else None


def check_modes(tmp):
    before = open(f"{tmp}/before").read().strip()
    after = open(f"{tmp}/after").read().strip()
    assert before and before == after, f"terminal modes changed: {before} -> {after}"
    print(f"ok: terminal modes restored ({after[:40]}...)")


def check_screen(out):
    assert ENTER in out and HOME in out, "no alternate screen or cursor-home redraws"
    assert out.count(HOME) >= 3, f"fewer than 3 redraws: {out.count(HOME)}"
    assert out.rfind(LEAVE) > out.rfind(HOME), "the screen was not given back after the last frame"


def rc_of(out):
    m = re.search(rb"^rc=(\d+)", out, re.M)
    assert m, "no exit status in the transcript:\n" + tail(out)
    return int(m.group(1))


def wrap(tmp, body):
    return (f"stty -g >{tmp}/before\n{body}\necho rc=$?\nstty -g >{tmp}/after\n")


def launch_keys(mt, wl, tmp):
    """Launch mode: live frames, 'growing', 's' re-ranks, 'q' ends like Ctrl-C."""
    js = f"{tmp}/a.json"
    p = Pty(wrap(tmp, f"{mt} --no-vm -i 0.5 --json {js} -- {wl}/wl_advice 60"))

    def top_is(name, header):
        def f(out):
            fr = frames(out)
            if not fr:
                return False
            h, names = sites(fr[-1])
            return h == header and names and names[0][0] == name
        return f
    assert p.wait_for(top_is("wl_long_lived", "live bytes"), 20), \
        "no frame ranking wl_long_lived first by live bytes:\n" + tail(p.out)
    print("ok: wl_long_lived tops the live bytes")
    # the trend needs ~6 one-second windows to call it growing
    assert p.wait_for(lambda o: any(n == "wl_long_lived" and g for n, g in sites(frames(o)[-1])[1])
                      if frames(o) else False, 25), \
        "wl_long_lived never marked growing:\n" + tail(p.out)
    print("ok: wl_long_lived marked growing")
    last_live = frames(p.out)[-1]
    mark = len(p.out)
    p.send(b"s")
    assert p.wait_for(top_is("wl_hot_objects", "allocation rate"), 5, since=mark), \
        "'s' did not re-rank by allocation rate:\n" + tail(p.out)
    print("ok: 's' ranks wl_hot_objects first by allocation rate")
    mark = len(p.out)
    assert p.wait_for(lambda o: HOME in o, 3, since=mark), "no frame after the re-rank"
    p.send(b"q")
    p.finish()
    out = p.out
    check_screen(out)
    # wl_advice dies of the SIGINT 'q' passed on: the program's status
    rc = rc_of(out)
    assert rc == 128 + 2, f"'q' in launch mode: exit {rc}, expected 130 (the program's SIGINT)"
    print(f"ok: 'q' ended memtrace with the program's status {rc}")
    assert b"final report" in out[out.rfind(LEAVE):], "no final text report after the live view"
    d = json.load(open(js))
    fr = frames(out[:out.rfind(LEAVE)])
    a, f = totals(fr[-1])
    ja, jf = d["totals"]["allocs"], d["totals"]["frees"]
    # from the last frame to the end: at most one interval (0.5 s) plus
    # the time 'q' and the program's exit take; 2 s of the run's rate
    slack = 2.0 * ja / d["duration_s"]
    assert a <= ja and ja - a <= slack, f"last frame allocs {a}, final {ja} (slack {slack:.0f})"
    assert f <= jf and jf - f <= slack, f"last frame frees {f}, final {jf} (slack {slack:.0f})"
    print(f"ok: last frame totals {a}/{f}, final JSON {ja}/{jf}")
    top = d["sites"][0]
    func = top["stack"][top["attributed_frame"]]["func"]
    assert sites(last_live)[1][0][0] == func, f"live view top {sites(last_live)[1][0]}, JSON {func}"
    print(f"ok: the top site by live bytes is {func} in the view and the JSON")
    check_modes(tmp)


def live_objects(frame):
    m = re.search(r"^live (\d+) objects", frame, re.M)
    return int(m.group(1)) if m else None


def attach_quit(mt, wl, tmp):
    """Attach mode: a frame after the workload went idle equals the final
    JSON exactly; 'q' ends tracing with status 0; the target runs on."""
    body = (f"{wl}/wl_hold >{tmp}/hold.out </dev/null & H=$!; echo $H >{tmp}/hold.pid\n"
            f"for i in $(seq 100); do grep -q ready {tmp}/hold.out && break; sleep 0.05; done\n"
            f"{mt} --no-vm --max-overhead off -p $H -i 0.3 --json {tmp}/b.json; rc=$?\n"
            f"stty -g >{tmp}/after\n"
            f"kill -0 $H && echo target=alive; kill $H; (exit $rc)")
    p = Pty(f"stty -g >{tmp}/before\n{body}\necho rc=$?\n")
    assert p.wait_for(lambda o: len(frames(o)) >= 1, 20), "no live frames:\n" + tail(p.out)
    os.kill(int(open(f"{tmp}/hold.pid").read()), 10)   # SIGUSR1: allocate, then hold

    def held(o):
        fr = frames(o)
        return fr and open(f"{tmp}/hold.out").read().count("holding") and \
            sites(fr[-1])[1][:1] and sites(fr[-1])[1][0][0] == "hold_big"
    assert p.wait_for(held, 20), "no frame with hold_big on top:\n" + tail(p.out)
    mark = len(p.out)
    assert p.wait_for(lambda o: HOME in o, 3, since=mark), "no frame after the workload went idle"
    p.pump(0.2)
    p.send(b"q")
    p.finish()
    check_screen(p.out)
    rc = rc_of(p.out)
    assert rc == 0, f"'q' in attach mode: exit {rc}:\n" + tail(p.out)
    assert b"target=alive" in p.out, "the target did not run on"
    d = json.load(open(f"{tmp}/b.json"))
    last = frames(p.out[:p.out.rfind(LEAVE)])[-1]
    got = totals(last) + (live_objects(last),)
    want = (d["totals"]["allocs"], d["totals"]["frees"], d["totals"]["live_objects"])
    assert got == want, f"idle target: last frame allocs/frees/live {got}, final JSON {want}:\n{last}"
    top = d["sites"][0]
    assert top["stack"][top["attributed_frame"]]["func"] == "hold_big"
    print(f"ok: attach mode: last frame {got} = final JSON; 'q': exit 0, target alive")
    check_modes(tmp)


def exits(mt, wl, tmp):
    """The program's own exit ends the view; a progress line was drawn."""
    p = Pty(wrap(tmp, f"{mt} --no-vm -i 0.3 -- {wl}/mt_demo 1"))
    p.finish()
    check_screen(p.out)
    assert rc_of(p.out) == 0, "mt_demo 1 under memtrace: " + tail(p.out)
    assert re.search(rb"\r\x1b\[Kmemtrace: building unwind tables: \d+/\d+ modules", p.out), \
        "no unwind-table progress line on the terminal:\n" + tail(p.out)
    print("ok: program exit restores the screen; progress line shown")
    check_modes(tmp)


def hangup(mt, wl, tmp):
    """A fatal signal (SIGHUP) gives the terminal back before memtrace dies."""
    body = (f"{mt} --no-vm -i 0.3 -- {wl}/mt_demo 0 </dev/tty & M=$!\n"
            f"sleep 2.5; kill -HUP $M; wait $M")
    p = Pty(wrap(tmp, body))
    p.finish()
    rc = rc_of(p.out)
    assert rc == 128 + 1, f"memtrace was not killed by SIGHUP: {rc}:\n" + tail(p.out)
    check_screen(p.out)
    print("ok: SIGHUP: screen left, exit 129")
    check_modes(tmp)


def child_named(ppid, comm):
    for d in os.listdir("/proc"):
        try:
            st = open(f"/proc/{d}/stat").read()
        except (OSError, ValueError):
            continue
        name = st[st.index("(") + 1:st.rindex(")")]
        if name == comm and int(st[st.rindex(")") + 2:].split()[1]) == ppid:
            return int(d)
    raise AssertionError(f"no {comm} child of {ppid}")


def suspend(mt, wl, tmp):
    """Ctrl-Z (SIGTSTP): the shell gets its terminal modes back while
    memtrace is stopped; fg takes the screen again, 'q' still works."""
    # set -m: memtrace is a foreground job of its own, as in a shell
    body = (f"set -m\n{mt} --no-vm -i 0.3 -- {wl}/mt_demo 0; echo stopped=$?\n"
            f"stty -g >{tmp}/mid\n"
            f"fg %1 >/dev/null")
    p = Pty(wrap(tmp, body))
    assert p.wait_for(lambda o: len(frames(o)) >= 2, 20), "no live frames:\n" + tail(p.out)
    os.kill(child_named(p.pid, "memtrace"), 20)   # SIGTSTP, as Ctrl-Z sends
    assert p.wait_for(lambda o: b"stopped=" in o, 10), "memtrace did not stop:\n" + tail(p.out)
    mark = len(p.out)
    assert p.wait_for(lambda o: HOME in o, 10, since=mark), "no frame after fg:\n" + tail(p.out)
    p.send(b"q")
    p.finish()
    assert b"stopped=148" in p.out, "memtrace did not stop on SIGTSTP:\n" + tail(p.out)
    assert rc_of(p.out) == 0, "after Ctrl-Z, fg and q: " + tail(p.out)
    before = open(f"{tmp}/before").read().strip()
    mid = open(f"{tmp}/mid").read().strip()
    assert mid == before, f"terminal modes while stopped: {before} -> {mid}"
    print("ok: Ctrl-Z gives the terminal back, fg takes it again")
    check_screen(p.out)
    check_modes(tmp)


def no_tty(mt, wl, tmp):
    """--no-tty on a terminal: today's appended text, not one escape."""
    p = Pty(wrap(tmp, f"{mt} --no-tty --no-vm -i 0.3 -- {wl}/mt_demo 1"))
    p.finish()
    assert rc_of(p.out) == 0
    assert b"\x1b" not in p.out, "escape codes with --no-tty: " + repr(p.out[:300])
    assert len(re.findall(rb"^top \d+ sites by live bytes", p.out, re.M)) >= 2, \
        "no periodic text reports:\n" + tail(p.out)
    print("ok: --no-tty: plain periodic text, no escapes")
    check_modes(tmp)


if __name__ == "__main__":
    name, mt, wl, tmp = sys.argv[1:5]
    globals()[name](mt, wl, tmp)
