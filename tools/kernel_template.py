"""Chapter kernels forked from a template process that has already imported the libraries
every chapter imports, instead of each starting a new Python.

Why: a kernel's start and its imports (IPython and ipykernel, numpy, SciPy, matplotlib,
Pillow, ipywidgets) cost each chapter about 1.2 s of CPU before its first line of model
code, a third of a cold build's execution on two cores. The template pays them once; each
chapter's kernel is a fork of it, and then starts exactly as `python -m ipykernel_launcher`
would (its own working directory, environment, arguments, session and process group), so
it runs the chapter from scratch: the template never imports the book's own package
(`tmebook`) and runs no chapter code, and what it imported is in the state a new import
leaves it in (matplotlib reads the inline backend from MPLBACKEND, as ipykernel sets it,
and matplotlib-inline itself is left to the kernel, whose shell it hooks into on import).

`TemplateKernelManager` is jupyter_client's kernel manager with a provisioner that asks the
template for a kernel; when the template is not there or cannot serve this kernel (another
Python, another PYTHONPATH, a command that is not ipykernel's), it starts one as usual.
tools/build_book.py opens a `KernelTemplate` while it executes chapters (forked before it
imports jupyter-cache, so a kernel also holds the little the build had imported by then);
tools/book_executor.py's workers use `TemplateKernelManager`. tests/test_build.py runs a
notebook on a new kernel and on a forked one and finds the same outputs (a figure's PNG
byte for byte), module path, working directory and arguments; a whole build's outputs were
compared the same way when this was written (identical but for the random ids of widgets
and animations, which differ between any two runs).
"""

from __future__ import annotations

import atexit
import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from multiprocessing.connection import Client, Connection
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner

#: Where the pool's workers find the template (set while a `KernelTemplate` is open).
ADDRESS_VARIABLE = "TME_KERNEL_TEMPLATE"
#: What the template imports: what every chapter's kernel imports before its model code.
#: Not `tmebook` (a chapter must import the current package) and not matplotlib-inline
#: (imported in the kernel, it hooks into the kernel's shell).
PRELOAD = (
    "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.debugger", "IPython.display",
    "numpy", "scipy.integrate", "scipy.optimize", "scipy.sparse", "scipy.sparse.linalg",
    "scipy.linalg", "scipy.special", "matplotlib", "matplotlib.pyplot", "matplotlib.animation",
    "PIL.Image", "ipywidgets",
)
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
LAUNCHER = ("-m", "ipykernel_launcher")


def _serve(listener: socket.socket, parent: int) -> None:
    """The template's loop: one request per connection, (cmd, cwd, env) -> the pid of a
    kernel forked for it. Runs until it is killed or its parent is gone."""
    # the module path of `python -m ipykernel_launcher` once the launcher has removed the
    # entry for its working directory: a new Python's path without its first entry (this
    # process's own path holds what the build put there)
    base_path = json.loads(subprocess.run(
        [sys.executable, "-c", "import json, sys; print(json.dumps(sys.path[1:]))"],
        check=True, capture_output=True, text=True).stdout)
    os.environ["MPLBACKEND"] = os.environ.get("MPLBACKEND") or INLINE_BACKEND
    # debugpy (ipykernel's debugger) warns on import about Python's frozen modules; a new
    # kernel imports it after its output is captured, the template before: not on the
    # build's terminal
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    for name in PRELOAD:
        importlib.import_module(name)
    if "matplotlib_inline.backend_inline" in sys.modules or threading.active_count() != 1:
        return  # cannot fork a kernel in the state a new one starts in: serve nothing
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernels' exits need no reaping
    listener.settimeout(1.0)
    while os.getppid() == parent:
        try:
            accepted, _ = listener.accept()
        except TimeoutError:
            continue
        accepted.settimeout(None)
        with Connection(accepted.detach()) as connection:
            cmd, cwd, env = connection.recv()
            if env.get("PYTHONPATH") != os.environ.get("PYTHONPATH"):
                connection.send(None)  # another module path than the template's: start anew
                continue
            pid = os.fork()
            if pid == 0:
                listener.close()
                connection.close()
                _become_kernel(cmd, cwd, env, base_path)
            connection.send(pid)


def _become_kernel(cmd: list[str], cwd: str, env: dict[str, str], base_path: list[str]) -> None:
    """In the forked child: start as `python -m ipykernel_launcher ARGS` would, and exit."""
    status = 0
    # what the build process set up is not the kernel's: its exit handlers, and the
    # module it keeps jsonschema from importing (tools/build_book.py)
    atexit._clear()
    if "rfc3987_syntax" in sys.modules and sys.modules["rfc3987_syntax"] is None:
        del sys.modules["rfc3987_syntax"]
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()  # its own session and process group, as jupyter_client starts kernels
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # no terminal input (theirs is a pipe)
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        sys.argv = [str(Path(importlib.import_module("ipykernel_launcher").__file__)),
                    *cmd[len(LAUNCHER) + 1:]]
        if env.get("JPY_PARENT_PID"):
            # ipykernel read this when the template imported it, without the variable: the
            # kernel watches for its parent's end (the template's) as a new one does
            sys.argv.append(f"--IPKernelApp.parent_handle={int(env['JPY_PARENT_PID'])}")
        sys.path[:] = base_path  # the launcher's path: its own folder removed
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
    except SystemExit as stop:
        status = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported as a normal kernel would, then exit
        import traceback

        traceback.print_exc()
        status = 1
    finally:
        atexit._run_exitfuncs()  # the kernel's own exit handlers, as at a normal exit
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001, S110 - a closed stream: nothing to flush
                pass
        os._exit(status)


class KernelTemplate:
    """The template process, for the duration of a `with` block: forked from this process
    (call it before this process starts threads) and serving on a Unix socket whose
    address the pool's workers find in the environment."""

    def __enter__(self) -> KernelTemplate:
        self.pid = None
        if threading.active_count() != 1:  # a fork would copy another thread's locks
            return self  # no template: kernels start as usual
        self.folder = tempfile.mkdtemp(prefix="tme-kernels-")
        self.address = str(Path(self.folder) / "template")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.address)
        listener.listen()
        parent = os.getpid()
        self.pid = os.fork()
        if self.pid == 0:
            try:
                _serve(listener, parent)
            finally:
                os._exit(0)
        listener.close()
        os.environ[ADDRESS_VARIABLE] = self.address
        return self

    def __exit__(self, *exc) -> None:
        # the kernels it forked have ended with their chapters; it holds nothing else
        if self.pid is None:
            return
        os.environ.pop(ADDRESS_VARIABLE, None)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        for leftover in Path(self.folder).iterdir():
            leftover.unlink()
        os.rmdir(self.folder)


class _ForkedKernel:
    """The little of `subprocess.Popen` that jupyter_client's provisioner uses, for a
    kernel that is not this process's child (the template reaps it)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid, self.returncode = pid, None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.returncode = 0  # its status went to the template
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def _template_request(cmd: list[str], kwargs: dict) -> int | None:
    """The pid of a kernel forked by the template for `cmd`, or None when the template is
    not open or this kernel is not one it can make."""
    address = os.environ.get(ADDRESS_VARIABLE)
    env = dict(kwargs.get("env") or os.environ)
    if not address or len(cmd) < 3 or tuple(cmd[1:3]) != LAUNCHER \
            or os.path.realpath(cmd[0]) != os.path.realpath(sys.executable):
        return None
    env.pop(ADDRESS_VARIABLE, None)
    if not kwargs.get("independent"):  # as jupyter_client's launch_kernel sets it
        env["JPY_PARENT_PID"] = str(os.getpid())
    try:
        with Client(address, family="AF_UNIX") as connection:
            connection.send((list(cmd), str(kwargs.get("cwd") or os.getcwd()), env))
            return connection.recv()
    except (OSError, EOFError):
        return None


class TemplateProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, with the kernel forked by the template."""

    async def launch_kernel(self, cmd, **kwargs):
        pid = _template_request(cmd, kwargs)
        if pid is None:
            return await super().launch_kernel(cmd, **kwargs)
        self.process = _ForkedKernel(pid)
        self.pid = self.pgid = pid  # the kernel leads its own process group (setsid)
        self.cwd = kwargs.get("cwd", Path.cwd())
        return self.connection_info


class TemplateKernelManager(AsyncKernelManager):
    """The kernel manager nbclient uses (its `kernel_manager_class`), with a
    `TemplateProvisioner` (a manager keeps the provisioner it is given)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.kernel_id = self.kernel_id or str(uuid.uuid4())
        self.provisioner = TemplateProvisioner(kernel_id=self.kernel_id,
                                               kernel_spec=self.kernel_spec, parent=self)
