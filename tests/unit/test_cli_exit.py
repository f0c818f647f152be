"""The ``htna`` program ends with :func:`pipelines.cli.quick_exit`: no interpreter teardown, yet every
byte it printed reaches the pipe, ``atexit`` functions run, and the exit code is the command's.

Each test runs a fresh interpreter (a subprocess), as a user's shell does.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from pipelines.config import REPO_ROOT

#: a module-level object whose finaliser prints when the interpreter tears the module down
TEARDOWN_PROBE = """
import os as _os
class _Probe:
    def __del__(self, write=_os.write):
        write(2, b"torn down\\n")
probe = _Probe()
"""


def _python(code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args, "-c", textwrap.dedent(code)], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=timeout)


def _htna(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300)


def test_quick_exit_skips_teardown_but_keeps_output_code_and_atexit() -> None:
    line = "x" * 99 + "\n"
    proc = _python(TEARDOWN_PROBE + f"""
import atexit, sys
atexit.register(lambda: print("atexit ran", file=sys.stderr))
for _ in range(20_000):  # 2 MB: many times a pipe's buffer, still in Python's buffer when quick_exit starts
    sys.stdout.write({line!r})
sys.stdout.write("last line, no newline")
from pipelines.cli import quick_exit
quick_exit(3)
print("not reached")
""")
    assert proc.returncode == 3
    assert proc.stdout == line * 20_000 + "last line, no newline"
    assert "atexit ran" in proc.stderr
    assert "torn down" not in proc.stderr  # the teardown was skipped


def test_ordinary_exit_tears_down() -> None:
    """The probe works: without quick_exit the interpreter's teardown finalises it."""
    proc = _python(TEARDOWN_PROBE + "import sys; sys.exit(4)")
    assert proc.returncode == 4
    assert "torn down" in proc.stderr


def test_under_a_profiler_the_process_ends_the_ordinary_way(tmp_path: Path) -> None:
    """cProfile writes its file after the program has run: quick_exit must leave it the time to."""
    script = tmp_path / "prog.py"
    script.write_text(TEARDOWN_PROBE + "from pipelines.cli import quick_exit\nprint('done')\nquick_exit(5)\n")
    out = tmp_path / "prof.out"
    proc = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), str(script)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0  # cProfile's own: it catches the program's SystemExit to write its file
    assert proc.stdout == "done\n"
    assert out.is_file() and out.stat().st_size > 0


def test_under_a_tracer_the_process_ends_the_ordinary_way() -> None:
    proc = _python(TEARDOWN_PROBE + """
import sys
sys.settrace(lambda *a: None)
from pipelines.cli import quick_exit
quick_exit(0)
""")
    assert proc.returncode == 0
    assert "torn down" in proc.stderr


def test_a_running_thread_is_waited_for() -> None:
    proc = _python("""
import threading, time, sys
def work():
    time.sleep(0.5)
    print("thread finished", flush=True)
threading.Thread(target=work).start()
from pipelines.cli import quick_exit
quick_exit(0)
""")
    assert proc.returncode == 0
    assert proc.stdout == "thread finished\n"


def test_a_failing_command_exits_non_zero_with_its_message() -> None:
    proc = _htna("ready", "1999", "--check")
    assert proc.returncode == 1
    assert proc.stderr.startswith("htna: wave 1999 is not in ")
    assert proc.stderr.endswith("add it to the config's `waves` list\n")
    assert proc.stdout == ""


def test_a_usage_error_exits_2() -> None:
    proc = _htna("run", "--no-such-option")
    assert proc.returncode == 2
    assert "unrecognized arguments: --no-such-option" in proc.stderr


def test_a_command_prints_everything_and_exits_with_its_code(tmp_path: Path) -> None:
    """`htna synth` through the program: every line printed, every file written, exit 0."""
    proc = _htna("synth", "--wave", "2015", "--respondents", "30", "--out", str(tmp_path / "w"))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1] == "These are SYNTHETIC demonstration exports, not real respondents."
    written = [Path(line) for line in lines[:-1]]
    assert written and all(p.is_file() and p.stat().st_size > 0 for p in written)
    assert sorted(written) == sorted(p for p in (tmp_path / "w").iterdir() if p.is_file())
