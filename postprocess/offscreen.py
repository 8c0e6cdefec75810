"""Run a command on a private virtual X display, robustly under load.

    python3 -m postprocess.offscreen pvpython postprocess/paraview_view.py RUN_DIR

Debian's ParaView renders through X even off screen, and `xvfb-run -a
pvpython ...` failed under load ("bad X server connection" and SIGABRT; 2
of 4 concurrent renders with both cores busy, measured here).  The cause:
an X server resets itself whenever its last client disconnects, and
ParaView connects more than once; a connection that arrives during the
reset is refused, and under load the reset is slow.  Here the server runs
with `-noreset` (10 of 10 concurrent renders under the same load passed).
It also picks a free display itself and writes the number to a pipe once
it accepts connections (`-displayfd`), so no two runs race for a display
number (`xvfb-run -a` guesses one from lock files) and nothing connects
early.  A command that still dies of a lost display is run again on a new
server, up to ATTEMPTS times; any other failure is passed on as it is.
The exit code is the command's.
"""
from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import sys
import tempfile

ATTEMPTS = 3
SERVER_START_S = 60.0  # a loaded machine can take a while to start Xvfb
# what a client prints when its X server went away or never answered
LOST_DISPLAY = re.compile(r"bad X server connection|cannot open display|Could not connect to "
                          r"display|XIO: +fatal IO error|BadDrawable|_XSERVTransSocket")


class DisplayError(RuntimeError):
    pass


def start_server():
    """(process, display) of a new Xvfb on a display it chose itself."""
    if shutil.which("Xvfb") is None:
        raise DisplayError("Xvfb is not installed (apt-get install xvfb)")
    read_end, write_end = os.pipe()
    log = tempfile.TemporaryFile()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-nolisten", "tcp",
                               "-screen", "0", "1280x1024x24", "-noreset"], pass_fds=(write_end,),
                              stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    os.close(write_end)
    number = b""
    try:
        while not number.endswith(b"\n"):
            ready, _, _ = select.select([read_end], [], [], SERVER_START_S)
            chunk = os.read(read_end, 32) if ready else b""
            if not chunk:
                server.kill()
                server.wait()
                log.seek(0)
                raise DisplayError("Xvfb did not start: " + log.read().decode(errors="replace")[-500:])
            number += chunk
    finally:
        os.close(read_end)
        log.close()
    return server, f":{int(number)}"


def run(command: list[str]) -> int:
    """Run `command` with DISPLAY on a private Xvfb; retry on a lost display."""
    for attempt in range(1, ATTEMPTS + 1):
        server, display = start_server()
        try:
            res = subprocess.run(command, env={**os.environ, "DISPLAY": display},
                                 capture_output=True, text=True)
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        lost = res.returncode != 0 and LOST_DISPLAY.search(res.stdout + res.stderr)
        if not lost or attempt == ATTEMPTS:
            sys.stdout.write(res.stdout)
            sys.stderr.write(res.stderr)
            return res.returncode
        print(f"offscreen: the display was lost (attempt {attempt} of {ATTEMPTS}); "
              "running again on a new X server", file=sys.stderr)
    return 1


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        print("usage: python3 -m postprocess.offscreen COMMAND [ARG ...]", file=sys.stderr)
        return 2
    try:
        return run(args)
    except DisplayError as e:
        print(f"offscreen: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
