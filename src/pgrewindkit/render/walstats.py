"""WAL statistics as ``pg_waldump --stats`` prints them (``XLogDumpDisplayStats``): per resource
manager, or per record type with ``--stats=record``."""

from __future__ import annotations

from pgrewindkit.formats.wal.stats import WalStats
from pgrewindkit.majors.rmgrs import MIN_CUSTOM_RMID, resource_manager, resource_managers
from pgrewindkit.majors.wal import wal_format


def _pct(part: int, total: int) -> float:
    return 100 * float(part) / total if total else 0.0


def _row(name: str, n: int, rec: int, fpi: int, totals: tuple[int, int, int, int]) -> str:
    total_count, total_rec, total_fpi, total_len = totals
    return (f"{name:<27} {n:>20} ({_pct(n, total_count):6.2f}) {rec:>20} ({_pct(rec, total_rec):6.2f}) "
            f"{fpi:>20} ({_pct(fpi, total_fpi):6.2f}) {rec + fpi:>20} ({_pct(rec + fpi, total_len):6.2f})")


def format_stats(stats: WalStats, *, per_record: bool = False) -> list[str]:
    """The lines ``pg_waldump --stats[=record]`` of ``stats.major`` prints."""
    fmt = wal_format(stats.major)
    if fmt.stats_header and stats.end is None:
        return []  # nothing is printed when no record was counted
    total_rec = stats.total_rec_len
    total_fpi = stats.total_fpi_len
    totals = (sum(e[0] for e in stats.by_rmgr.values()), total_rec, total_fpi, total_rec + total_fpi)
    lines = []
    if fmt.stats_header:
        lines.append(f"WAL statistics between {stats.start} and {stats.end}:")
    lines.append(f"{'Type':<27} {'N':>20} {'(%)':>8} {'Record size':>20} {'(%)':>8} {'FPI size':>20} {'(%)':>8} "
                 f"{'Combined size':>20} {'(%)':>8}")
    lines.append(f"{'----':<27} {'-':>20} {'---':>8} {'-----------':>20} {'---':>8} {'--------':>20} {'---':>8} "
                 f"{'-------------':>20} {'---':>8}")
    builtin = resource_managers(stats.major)
    custom = sorted(r for r in stats.by_rmgr if r >= MIN_CUSTOM_RMID)
    for rmid in [*range(len(builtin)), *custom]:
        rmgr = resource_manager(stats.major, rmid)
        if not per_record:
            n, rec, fpi = stats.by_rmgr.get(rmid, (0, 0, 0))
            lines.append(_row(rmgr.name, n, rec, fpi, totals))
            continue
        for recid in range(16):
            entry = stats.by_record.get((rmid, recid))
            if entry:
                n, rec, fpi = entry
                lines.append(_row(f"{rmgr.name}/{rmgr.identify(recid << 4)}", n, rec, fpi, totals))
    rule = f"{'--------':>20}"
    lines.append(f"{'':<27} {rule} {'':>8} {rule} {'':>8} {rule} {'':>8} {rule}")
    total_len = total_rec + total_fpi
    rec_pct = f"[{_pct(total_rec, total_len):.2f}%]"
    fpi_pct = f"[{_pct(total_fpi, total_len):.2f}%]"
    lines.append(f"{'Total':<27} {stats.count:>20} {'':<9}{total_rec:>20} {rec_pct:<9}{total_fpi:>20} {fpi_pct:<9}"
                 f"{total_len:>20} {'[100%]':<6}")
    return lines
