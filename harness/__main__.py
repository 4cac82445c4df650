"""``python -m harness serve`` (what ``rillflow local up`` starts): run the local Google Cloud with
Rillflow wired on it in the foreground until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from harness.stack import LocalStack
from rillflow.settings import load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness")
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("--no-functions", action="store_true", help="emulators only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stack = LocalStack(load_settings(), with_functions=not args.no_functions)
    try:
        stack.start()
        url = stack.serve_control()
        logging.getLogger("harness").info("local Google Cloud ready; control at %s", url)
        stop.wait()
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
