"""Starts a CPU burner mid-session, for the scenario where a failure ends before the load
starts: ACC_START_BURNER lists the cgroup.procs files of the burner's cgroup (one per
hierarchy), ACC_BURNER_PIDFILE is where its process group id goes (the driver stops it)."""
import os
import subprocess
import time


def test_start_burner():
    procs = os.environ.get("ACC_START_BURNER")
    if not procs:
        return

    def enter():
        for p in procs.split(":"):
            with open(p, "w", encoding="ascii") as f:
                f.write(f"{os.getpid()}\n")

    burner = subprocess.Popen(["stress-ng", "--cpu", str(os.cpu_count() or 1), "--timeout",
                               "300s", "--quiet"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True,
                              preexec_fn=enter)
    with open(os.environ["ACC_BURNER_PIDFILE"], "w", encoding="ascii") as f:
        f.write(str(burner.pid))
    time.sleep(1.0)  # the burner takes the CPU before the next test starts
    assert burner.poll() is None, "the burner did not start"


def test_stop_burner():
    pidfile = os.environ.get("ACC_BURNER_PIDFILE")
    if not pidfile or not os.path.exists(pidfile):
        return
    with open(pidfile, encoding="ascii") as f:
        pgid = int(f.read())
    try:
        os.killpg(pgid, 15)
    except ProcessLookupError:
        pass
    time.sleep(1.0)  # the CPU is clear again before the next test starts
