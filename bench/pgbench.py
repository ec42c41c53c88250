"""The server's own yardstick: ``pgbench -b simple-update`` TPS in a database of its own."""

import os
import re
import shutil
import subprocess

from django.conf import settings

DATABASE = "loyalty_bench_pgbench"


def _environment() -> dict:
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    for variable, key in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER"), ("PGPASSWORD", "PASSWORD")):
        if db.get(key):
            env[variable] = str(db[key])
    return env


def _executable(name: str) -> str:
    return shutil.which(name) or f"/usr/bin/{name}"


def initialize(scale: int = 10) -> None:
    env = _environment()
    subprocess.run(
        [_executable("psql"), "-d", "postgres", "-qc", f"CREATE DATABASE {DATABASE}"],
        env=env,
        capture_output=True,
    )  # already there on later runs: pgbench -i recreates its tables
    subprocess.run(
        [_executable("pgbench"), "-i", "-q", "-s", str(scale), DATABASE], env=env, check=True, capture_output=True
    )


def simple_update(*, clients: int = 2, threads: int = 2, seconds: int = 10) -> dict:
    command = [
        _executable("pgbench"),
        "-b",
        "simple-update",
        "-c",
        str(clients),
        "-j",
        str(threads),
        "-T",
        str(seconds),
        DATABASE,
    ]
    output = subprocess.run(command, env=_environment(), check=True, capture_output=True, text=True).stdout
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", output) or re.search(
        r"tps = ([\d.]+)", output
    )
    if not match:
        raise RuntimeError(f"no TPS in pgbench's output:\n{output}")
    transactions = re.search(r"number of transactions actually processed: (\d+)", output)
    return {
        "command": " ".join(command[1:]),
        "tps": float(match.group(1)),
        "transactions": int(transactions.group(1)) if transactions else None,
    }
