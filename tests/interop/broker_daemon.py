"""BrokerDaemon: a real certbrokerd started and stopped by the interop tests.

CERTBROKERD names the binary (default: the one under build/).
"""

import os
import signal
import subprocess
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DAEMON = os.environ.get("CERTBROKERD") or str(REPO_ROOT / "build/broker/server/certbrokerd")
READY_TIMEOUT_SECONDS = 20
STOP_TIMEOUT_SECONDS = 15


def log_tail(path, lines=30):
    """Returns the last lines of a log file, for failure messages."""
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError as error:
        return f"(no log: {error})"



class BrokerDaemon:
    """A certbrokerd process run from a temporary directory.

    `arguments` are its flags besides --listen (127.0.0.1:0 and a Unix
    socket in the directory) and --ready_file. With `dev_loopback` (the
    default) it also gets --insecure_dev_loopback: plaintext loopback TCP,
    every caller holding every role; without it, access is as its policy
    says.
    """

    def __init__(self, work_dir, arguments=(), dev_loopback=True):
        self.work_dir = Path(work_dir)
        self.arguments = list(arguments)
        self.dev_loopback = dev_loopback
        self.socket = self.work_dir / "b.sock"
        self.ready_file = self.work_dir / "ready"
        self.log = self.work_dir / "certbrokerd.log"
        self.process = None
        self.addresses = []

    def start(self):
        """Starts the daemon and waits until it has written its ready file."""
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [DAEMON, *self.arguments,
                 *(["--insecure_dev_loopback"] if self.dev_loopback else []),
                 "--listen", f"127.0.0.1:0,unix:{self.socket}",
                 "--ready_file", str(self.ready_file)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not self.ready_file.exists():
            if self.process.poll() is not None:
                raise RuntimeError(f"certbrokerd exited with {self.process.returncode} "
                                   f"before serving:\n{log_tail(self.log)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"certbrokerd not ready after {READY_TIMEOUT_SECONDS}s:\n"
                                   f"{log_tail(self.log)}")
            time.sleep(0.05)
        self.addresses = self.ready_file.read_text().splitlines()

    def stop(self):
        """Sends SIGTERM and returns the exit code (None if it had to be killed)."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def stop_expecting_success(self):
        """Stops the daemon and raises AssertionError, with its log, unless it exited 0."""
        exit_code = self.stop()
        if exit_code != 0:
            raise AssertionError(f"certbrokerd did not exit 0 on SIGTERM (got {exit_code}):\n"
                                 f"{log_tail(self.log)}")

    def kill(self):
        """Kills the daemon if it still runs (cleanup after a failure)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
