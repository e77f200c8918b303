"""Time from launching the app (`zoo gui`, as a user does) to its main window on screen, over several launches.

The app prints the moment its window is shown (ZOO_GUI_REPORT_SHOWN=1) and quits; this script
measures from just before it starts the process, so interpreter start-up and imports count.
Without a display it uses Qt's offscreen platform. Goal: at most 1.5 s.

    python bench/startup.py [--launches 5]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

GOAL_S = 1.5


def launch() -> float:
    env = dict(os.environ, ZOO_GUI_REPORT_SHOWN="1")
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    started = time.perf_counter()
    zoo = Path(sys.executable).with_name("zoo")  # the console script next to this Python
    process = subprocess.Popen([str(zoo), "gui"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    for line in process.stdout:
        if line.startswith("shown"):
            shown = time.perf_counter() - started
            break
    else:
        raise SystemExit(f"the app exited (code {process.wait()}) without showing its window")
    process.wait(timeout=60)
    return shown


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launches", type=int, default=5)
    args = parser.parse_args()
    launch()  # warm the file cache: the first launch after install reads every module from disk
    times = [launch() for _ in range(args.launches)]
    print("launch to window shown: " + "  ".join(f"{t:.2f} s" for t in times))
    median = statistics.median(times)
    print(f"median {median:.2f} s, worst {max(times):.2f} s; goal <= {GOAL_S} s: {'met' if max(times) <= GOAL_S else 'NOT met'}")


if __name__ == "__main__":
    main()
