# pty_job.py ARGV...: runs ARGV as the foreground job of a fake interactive shell on a new pseudo-terminal, as a
# person's terminal would: the shell is the session leader, the job is its own process group and owns the terminal
# (so Ctrl-Z stops it and the job's group is not orphaned). Reports JSON lines on stdout:
#   {"job": PID}            the job started (PID is also its process group)
#   {"out": TEXT}           what the job wrote to the terminal
#   {"stopped": SIGNUM} / {"continued": true} / {"exited": CODE} / {"signaled": SIGNUM}   from the shell's waitpid
# Commands, one a line on stdin: `send HEX` (type bytes: 1a = Ctrl-Z, 03 = Ctrl-C), `cont` (fg: SIGCONT to the job),
# `hangup` (close the terminal: the shell gets SIGHUP and, as bash does, sends SIGHUP to its job).
import json, os, pty, select, signal, sys

argv = sys.argv[1:]
report_r, report_w = os.pipe()
shell, master = pty.fork()
if shell == 0:
    os.close(report_r)

    def say(obj):
        os.write(report_w, (json.dumps(obj) + "\n").encode())

    job = os.fork()
    if job == 0:
        os.close(report_w)
        os.setpgid(0, 0)
        signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        os.tcsetpgrp(0, os.getpid())
        signal.signal(signal.SIGTTOU, signal.SIG_DFL)
        os.execvp(argv[0], argv)
    try:
        os.setpgid(job, job)
    except OSError:
        pass
    # bash on SIGHUP: resend it to the jobs, then wait for them (here: to report how the job ended).
    signal.signal(signal.SIGHUP, lambda *_: os.killpg(job, signal.SIGHUP))
    say({"job": job})
    while True:
        try:
            _, status = os.waitpid(job, os.WUNTRACED | os.WCONTINUED)
        except InterruptedError:
            continue
        if os.WIFSTOPPED(status):
            say({"stopped": os.WSTOPSIG(status)})
        elif os.WIFCONTINUED(status):
            say({"continued": True})
        elif os.WIFEXITED(status):
            say({"exited": os.WEXITSTATUS(status)})
            os._exit(0)
        elif os.WIFSIGNALED(status):
            say({"signaled": os.WTERMSIG(status)})
            os._exit(0)

os.close(report_w)
job = None


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


inputs = [master, report_r, sys.stdin.fileno()]
pending = b""
while report_r in inputs:
    ready, _, _ = select.select(inputs, [], [])
    if master in ready:
        try:
            data = os.read(master, 65536)
        except OSError:
            data = b""
        if data:
            emit({"out": data.decode("utf-8", "replace")})
        else:
            inputs.remove(master)
    if report_r in ready:
        data = os.read(report_r, 65536)
        if not data:
            inputs.remove(report_r)
        pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            obj = json.loads(line)
            job = obj.get("job", job)
            emit(obj)
    if sys.stdin.fileno() in ready:
        line = sys.stdin.readline()
        if not line:
            inputs.remove(sys.stdin.fileno())
            continue
        cmd, _, arg = line.strip().partition(" ")
        if cmd == "send" and master in inputs:
            os.write(master, bytes.fromhex(arg))
        elif cmd == "cont" and job is not None:
            os.killpg(job, signal.SIGCONT)
        elif cmd == "hangup" and master in inputs:
            inputs.remove(master)
            os.close(master)
os.waitpid(shell, 0)
emit({"done": True})
