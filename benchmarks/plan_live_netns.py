#!/usr/bin/env python3
"""The live plan over a real link: ``pgrewindkit plan --source-server`` against ``pg_rewind
--dry-run --source-server`` (which moves every byte it would copy), with the source server in one
network namespace and both planners in another, joined by a veth pair shaped by
``tc netem rate 1gbit delay 1ms`` on both ends (where the kernel has no netem: ``tbf rate 1gbit``,
said so in the output). The pair is ``pairs.seed_pair`` (~1.2 GB to copy).
Goal: pgrewindkit at least 5x faster.

Everything it makes (two namespaces, the veth pair inside them, a pg_hba file) is removed at the end;
addresses are only on that veth (10.213.7.1 and .2). Without the right to make network namespaces
it says so and exits 0.

    .venv/bin/python benchmarks/plan_live_netns.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from pairs import seed_pair
from plan_common import OURS, as_postgres, compare_plans, pg_rewind
from tests.support.pgbinaries import debian

SERVER_NS, CLIENT_NS = "pgrk-bench-src", "pgrk-bench-cli"
SERVER_IF, CLIENT_IF = "pgrkb-s", "pgrkb-c"
SERVER_IP, CLIENT_IP = "10.213.7.1", "10.213.7.2"
PORT = 5432


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, check=check)


SHAPES = (("netem", "rate", "1gbit", "delay", "1ms"),
          # a kernel without sch_netem: the rate alone, by a token bucket; without the 1 ms each way
          # pg_rewind's round trips cost less than on a real link, so this favours pg_rewind
          ("tbf", "rate", "1gbit", "burst", "256kb", "latency", "10ms"))
SHAPED = [""]  # which of SHAPES the link has


def shape(ns: str, dev: str) -> str | None:
    errors = []
    for qdisc in SHAPES:
        result = sh("tc", "-n", ns, "qdisc", "add", "dev", dev, "root", *qdisc, check=False)
        if result.returncode == 0:
            SHAPED[0] = " ".join(qdisc)
            return None
        errors.append(f"{qdisc[0]}: {result.stderr.strip()}")
    return "; ".join(errors)


def make_link() -> str | None:
    """The namespaces and the shaped veth pair; None when made, else why not."""
    made = sh("ip", "netns", "add", SERVER_NS, check=False)
    if made.returncode != 0:
        return made.stderr.strip() or "ip netns add failed"
    try:
        for step in (("ip", "netns", "add", CLIENT_NS),
                     ("ip", "link", "add", SERVER_IF, "netns", SERVER_NS, "type", "veth", "peer", "name", CLIENT_IF,
                      "netns", CLIENT_NS),
                     ("ip", "-n", SERVER_NS, "addr", "add", f"{SERVER_IP}/30", "dev", SERVER_IF),
                     ("ip", "-n", CLIENT_NS, "addr", "add", f"{CLIENT_IP}/30", "dev", CLIENT_IF),
                     ("ip", "-n", SERVER_NS, "link", "set", "lo", "up"),
                     ("ip", "-n", CLIENT_NS, "link", "set", "lo", "up"),
                     ("ip", "-n", SERVER_NS, "link", "set", SERVER_IF, "up"),
                     ("ip", "-n", CLIENT_NS, "link", "set", CLIENT_IF, "up")):
            result = sh(*step, check=False)
            if result.returncode != 0:
                return f"{' '.join(step)}: {result.stderr.strip()}"
        for ns, dev in ((SERVER_NS, SERVER_IF), (CLIENT_NS, CLIENT_IF)):
            why = shape(ns, dev)
            if why is not None:
                return f"tc qdisc add dev {dev}: {why}"
    except BaseException:
        remove_link()
        raise
    return None


def remove_link() -> None:
    """Deleting a namespace deletes the veth end in it, and with it the other end."""
    for ns in (CLIENT_NS, SERVER_NS):
        sh("ip", "netns", "delete", ns, check=False)


def in_ns(ns: str, argv: list[str]) -> list[str]:
    return ["/usr/sbin/ip", "netns", "exec", ns, *argv]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("skipped: making network namespaces needs root")
        return
    print("the seed-sized failover pair (built once, cached)...", flush=True)
    target, source = seed_pair()
    why = make_link()
    if why is not None:
        remove_link()
        print(f"skipped: network namespaces are not allowed here ({why})")
        return
    bins = debian(15)
    assert bins is not None
    pg_ctl = str(bins.program("pg_ctl"))
    with tempfile.TemporaryDirectory(prefix="pgrk-bench-hba-") as tmp:
        hba = Path(tmp) / "pg_hba.conf"
        hba.write_text(f"host all postgres {CLIENT_IP}/32 trust\n")
        Path(tmp).chmod(0o755)
        hba.chmod(0o644)
        options = (f"-c listen_addresses={SERVER_IP} -c port={PORT} -c unix_socket_directories='' "
                   f"-c hba_file={hba}")
        log = Path(tmp) / "server.log"
        Path(log).touch()
        os.chown(log, *_postgres_ids())
        start = sh(*in_ns(SERVER_NS, as_postgres([pg_ctl, "-D", str(source), "-o", options, "-l", str(log), "-w",
                                                   "-t", "60", "start"])), check=False)
        try:
            if start.returncode != 0:
                sys.exit(f"the source server did not start: {start.stdout}{start.stderr}{log.read_text()[-2000:]}")
            conninfo = f"host={SERVER_IP} port={PORT} user=postgres dbname=postgres"
            if not SHAPED[0].startswith("netem"):
                print("note: this kernel has no netem qdisc: the link is limited to 1 Gbit/s by tbf, without "
                      "the 1 ms delay (which would only slow pg_rewind's round trips)")
            print(f"link: veth {SERVER_IF}/{CLIENT_IF}, {SHAPED[0]} on both ends; "
                  f"cores: {len(os.sched_getaffinity(0))}; times are median (min-max) of {args.rounds} rounds")
            plan = compare_plans(
                "live (1 Gbit/s)",
                in_ns(CLIENT_NS, [OURS, "plan", "--json", "--target-pgdata", str(target), "--source-server", conninfo]),
                in_ns(CLIENT_NS, as_postgres([pg_rewind(), "--dry-run", "-D", str(target), "--source-server",
                                              conninfo])),
                rounds=args.rounds)
            print(f"to copy: {int(str(plan['bytes_to_copy'])) >> 20} MB (pg_rewind --dry-run moves all of it)")
        finally:
            sh(*in_ns(SERVER_NS, as_postgres([pg_ctl, "-D", str(source), "-m", "fast", "-w", "-t", "60", "stop"])),
               check=False)
            remove_link()


def _postgres_ids() -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam("postgres")
    return entry.pw_uid, entry.pw_gid


if __name__ == "__main__":
    main()
