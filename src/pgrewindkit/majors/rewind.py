"""How pg_rewind of each major decides: one explicit row per major (src/bin/pg_rewind of 9.5–18, as
in their last minor releases), and per-minor overrides where a minor release changed a rule."""

from __future__ import annotations

import re
from typing import Any

import attrs

from pgrewindkit.errors import UnsupportedVersionError
from pgrewindkit.majors import versions
from pgrewindkit.majors.layouts.xlog import XLR_RMGR_INFO_MASK, XLR_SPECIAL_REL_UPDATE
from pgrewindkit.majors.rmgrs import RM_DBASE_ID, RM_SMGR_ID, RM_XACT_ID

# filemap.c: directories whose contents are never copied (11+), and files never copied.
EXCLUDED_DIR_CONTENTS = ("pg_stat_tmp", "pg_replslot", "pg_dynshmem", "pg_notify", "pg_serial", "pg_snapshots",
                         "pg_subtrans")
# (name, prefix match)
EXCLUDED_FILES = (("postgresql.auto.conf.tmp", False), ("current_logfiles.tmp", False), ("pg_internal.init", True),
                  ("backup_label", False), ("tablespace_map", False), ("backup_manifest", False),
                  ("postmaster.pid", False), ("postmaster.opts", False))
# pg_rewind 9.5, 9.6 and 10 have no exclusion lists: these two paths (at the top of the data directory) are left out
# of its file map on both sides, so neither copied nor removed
IGNORED_PATHS_10 = ("postmaster.pid", "postmaster.opts")

XLOG_SMGR_CREATE, XLOG_SMGR_TRUNCATE = 0x10, 0x20
XLOG_XACT_OPMASK = 0x70
XACT_OPS_RECOGNISED = (0x00, 0x30, 0x20, 0x40)  # COMMIT, COMMIT_PREPARED, ABORT, ABORT_PREPARED
DBASE_INFOS_10 = (0x00, 0x10)  # XLOG_DBASE_CREATE, XLOG_DBASE_DROP
DBASE_INFOS_15 = (0x00, 0x10, 0x20)  # XLOG_DBASE_CREATE_FILE_COPY, XLOG_DBASE_CREATE_WAL_LOG, XLOG_DBASE_DROP


@attrs.frozen
class RewindRules:
    """What differs in pg_rewind's decisions between majors."""

    version: versions.Major
    # a side's timeline is max(minRecoveryPointTLI, checkpoint TLI) (16+); else the checkpoint's
    timeline_from_min_recovery_point: bool
    # commit/abort records are flagged XLR_SPECIAL_REL_UPDATE, and recognised by pg_rewind (14+)
    xact_records_flagged: bool
    # Database records pg_rewind recognises: CREATE (≤14) / CREATE_FILE_COPY, CREATE_WAL_LOG (15+); DROP
    dbase_infos: tuple[int, ...]
    excluded_dir_contents: tuple[str, ...]  # directories whose contents are never copied (11+)
    excluded_files: tuple[tuple[str, bool], ...]  # removed from the target, never copied (11+)
    ignored_paths: tuple[str, ...]  # neither copied nor removed (10)
    # files excluded from copying are in the file map (decided NONE, counted in the "total source
    # directory size"; 14+), or left out of it (10–13)
    maps_excluded_files: bool
    # global/pg_control is in the file map like any file: COPY (and counted), before pg_rewind writes its
    # own; from 14 it is NONE (filemap.c of 10–13 against decide_file_action() of 14)
    copies_control_file: bool
    # a PG_VERSION the target lacks is copied (14+); 10–13 leave it out ("avoid overwriting it for paranoia")
    copies_missing_pg_version: bool
    # paths with ".DS_Store" in them are neither copied nor removed: c1fc502f59, back-patched to 12
    # (see MINOR_OVERRIDES); 10 and 11 never
    skips_ds_store: bool
    # WAL segments read while looking for the last common checkpoint are not removed ("Not removing
    # file ... because it is required for recovery"): commit 90bcc7c2db of 2024-11-15, back-patched to
    # 14 only (13 never got it); see MINOR_OVERRIDES for the minors before it
    keeps_wal_read: bool
    # a standby may be the source (14+)
    standby_source: bool
    # an uncleanly stopped target is first recovered in single-user mode (13+)
    ensures_shutdown: bool
    # "record type is not recognized" names the rmid too (custom resource managers, 15+)
    unrecognised_names_rmid: bool
    # --config-file, for a configuration outside the data directory (15+)
    takes_config_file: bool
    # the common ancestor is looked up in the source's history only: the entry of the target's timeline
    # ends the common part, the target's history is never read and its WAL is read on its own timeline
    # only (9.5); from 9.6 both histories are compared (e50cda7840)
    ancestor_in_source_history_only: bool
    # "servers diverged at WAL position" (9.5, 9.6) / "WAL location" (10+)
    wal_position_word: str

    @property
    def major(self) -> int:
        return self.version.major

    def recognises(self, rmid: int, info: int) -> bool:
        """Whether ``extractPageInfo`` accepts a record; an unrecognised one with
        ``XLR_SPECIAL_REL_UPDATE`` stops pg_rewind ("record type is not recognized")."""
        rminfo = info & XLR_RMGR_INFO_MASK
        if rmid == RM_DBASE_ID and rminfo in self.dbase_infos:
            return True
        if rmid == RM_SMGR_ID and rminfo in (XLOG_SMGR_CREATE, XLOG_SMGR_TRUNCATE):
            return True
        if self.xact_records_flagged and rmid == RM_XACT_ID and rminfo & XLOG_XACT_OPMASK in XACT_OPS_RECOGNISED:
            return True
        return not info & XLR_SPECIAL_REL_UPDATE


_V = versions.by_major

# One explicit row per major, every field spelled out, as the last minor release of each behaves.
REWIND_RULES: dict[int, RewindRules] = versions.keyed((
    # 9.5 and 9.6: 10's file rules (filemap.c of REL9_5_25 / REL9_6_22); 9.5 its own common ancestor
    RewindRules(version=_V(95), timeline_from_min_recovery_point=False, xact_records_flagged=False,
                dbase_infos=DBASE_INFOS_10, excluded_dir_contents=(), excluded_files=(),
                ignored_paths=IGNORED_PATHS_10, maps_excluded_files=False, copies_control_file=True,
                copies_missing_pg_version=False, skips_ds_store=False, keeps_wal_read=False, standby_source=False,
                ensures_shutdown=False, unrecognised_names_rmid=False, takes_config_file=False,
                ancestor_in_source_history_only=True, wal_position_word="position"),
    RewindRules(version=_V(96), timeline_from_min_recovery_point=False, xact_records_flagged=False,
                dbase_infos=DBASE_INFOS_10, excluded_dir_contents=(), excluded_files=(),
                ignored_paths=IGNORED_PATHS_10, maps_excluded_files=False, copies_control_file=True,
                copies_missing_pg_version=False, skips_ds_store=False, keeps_wal_read=False, standby_source=False,
                ensures_shutdown=False, unrecognised_names_rmid=False, takes_config_file=False,
                ancestor_in_source_history_only=False, wal_position_word="position"),
    RewindRules(version=_V(10), timeline_from_min_recovery_point=False, xact_records_flagged=False,
                dbase_infos=DBASE_INFOS_10, excluded_dir_contents=(), excluded_files=(),
                ignored_paths=IGNORED_PATHS_10, maps_excluded_files=False, copies_control_file=True,
                copies_missing_pg_version=False, skips_ds_store=False, keeps_wal_read=False, standby_source=False,
                ensures_shutdown=False, unrecognised_names_rmid=False, takes_config_file=False,
                ancestor_in_source_history_only=False, wal_position_word="location"),
    RewindRules(version=_V(11), timeline_from_min_recovery_point=False, xact_records_flagged=False,
                dbase_infos=DBASE_INFOS_10, excluded_dir_contents=EXCLUDED_DIR_CONTENTS,
                excluded_files=EXCLUDED_FILES, ignored_paths=(), maps_excluded_files=False, copies_control_file=True,
                copies_missing_pg_version=False, skips_ds_store=False, keeps_wal_read=False, standby_source=False,
                ensures_shutdown=False, unrecognised_names_rmid=False, takes_config_file=False,
                ancestor_in_source_history_only=False, wal_position_word="location"),
    RewindRules(version=_V(12), timeline_from_min_recovery_point=False, xact_records_flagged=False,
                dbase_infos=DBASE_INFOS_10, excluded_dir_contents=EXCLUDED_DIR_CONTENTS,
                excluded_files=EXCLUDED_FILES, ignored_paths=(), maps_excluded_files=False, copies_control_file=True,
                copies_missing_pg_version=False, skips_ds_store=True, keeps_wal_read=False, standby_source=False,
                ensures_shutdown=False, unrecognised_names_rmid=False, takes_config_file=False,
                ancestor_in_source_history_only=False, wal_position_word="location"),
    RewindRules(version=_V(13), timeline_from_min_recovery_point=False, xact_records_flagged=False,
                dbase_infos=DBASE_INFOS_10, excluded_dir_contents=EXCLUDED_DIR_CONTENTS,
                excluded_files=EXCLUDED_FILES, ignored_paths=(), maps_excluded_files=False, copies_control_file=True,
                copies_missing_pg_version=False, skips_ds_store=True, keeps_wal_read=False, standby_source=False,
                ensures_shutdown=True, unrecognised_names_rmid=False, takes_config_file=False,
                ancestor_in_source_history_only=False, wal_position_word="location"),
    RewindRules(version=_V(14), timeline_from_min_recovery_point=False, xact_records_flagged=True,
                dbase_infos=DBASE_INFOS_10, excluded_dir_contents=EXCLUDED_DIR_CONTENTS,
                excluded_files=EXCLUDED_FILES, ignored_paths=(), maps_excluded_files=True, copies_control_file=False,
                copies_missing_pg_version=True, skips_ds_store=True, keeps_wal_read=True, standby_source=True,
                ensures_shutdown=True, unrecognised_names_rmid=False, takes_config_file=False,
                ancestor_in_source_history_only=False, wal_position_word="location"),
    RewindRules(version=_V(15), timeline_from_min_recovery_point=False, xact_records_flagged=True,
                dbase_infos=DBASE_INFOS_15, excluded_dir_contents=EXCLUDED_DIR_CONTENTS,
                excluded_files=EXCLUDED_FILES, ignored_paths=(), maps_excluded_files=True, copies_control_file=False,
                copies_missing_pg_version=True, skips_ds_store=True, keeps_wal_read=True, standby_source=True,
                ensures_shutdown=True, unrecognised_names_rmid=True, takes_config_file=True,
                ancestor_in_source_history_only=False, wal_position_word="location"),
    RewindRules(version=_V(16), timeline_from_min_recovery_point=True, xact_records_flagged=True,
                dbase_infos=DBASE_INFOS_15, excluded_dir_contents=EXCLUDED_DIR_CONTENTS,
                excluded_files=EXCLUDED_FILES, ignored_paths=(), maps_excluded_files=True, copies_control_file=False,
                copies_missing_pg_version=True, skips_ds_store=True, keeps_wal_read=True, standby_source=True,
                ensures_shutdown=True, unrecognised_names_rmid=True, takes_config_file=True,
                ancestor_in_source_history_only=False, wal_position_word="location"),
    RewindRules(version=_V(17), timeline_from_min_recovery_point=True, xact_records_flagged=True,
                dbase_infos=DBASE_INFOS_15, excluded_dir_contents=EXCLUDED_DIR_CONTENTS,
                excluded_files=EXCLUDED_FILES, ignored_paths=(), maps_excluded_files=True, copies_control_file=False,
                copies_missing_pg_version=True, skips_ds_store=True, keeps_wal_read=True, standby_source=True,
                ensures_shutdown=True, unrecognised_names_rmid=True, takes_config_file=True,
                ancestor_in_source_history_only=False, wal_position_word="location"),
    RewindRules(version=_V(18), timeline_from_min_recovery_point=True, xact_records_flagged=True,
                dbase_infos=DBASE_INFOS_15, excluded_dir_contents=EXCLUDED_DIR_CONTENTS,
                excluded_files=EXCLUDED_FILES, ignored_paths=(), maps_excluded_files=True, copies_control_file=False,
                copies_missing_pg_version=True, skips_ds_store=True, keeps_wal_read=True, standby_source=True,
                ensures_shutdown=True, unrecognised_names_rmid=True, takes_config_file=True,
                ancestor_in_source_history_only=False, wal_position_word="location"),
), key="major")


@attrs.frozen
class MinorOverride:
    """Minors ``first``..``last`` of ``major`` decide differently from the major's row (its newest
    minor): a rule was back-patched later, e.g. ``MinorOverride(16, 0, 2, {"keeps_wal_read": False})``."""

    major: int
    first: int
    last: int
    changes: dict[str, Any] = attrs.field(hash=False)

    def covers(self, minor: int) -> bool:
        return self.first <= minor <= self.last


# Where a minor release changed a rule, the minors before the change, from the release notes and the
# stable branches (docs/versions.md lists the sources): the rows above are the newest minors.
MINOR_OVERRIDES: tuple[MinorOverride, ...] = (
    # "Avoid deleting still-needed WAL files during pg_rewind": first in 14.15, 15.10, 16.6, 17.2
    # (released 2024-11-21); 17.1/16.5/15.9/14.14, a week earlier, still remove them.
    MinorOverride(14, 0, 14, {"keeps_wal_read": False}),
    MinorOverride(15, 0, 9, {"keeps_wal_read": False}),
    MinorOverride(16, 0, 5, {"keeps_wal_read": False}),
    MinorOverride(17, 0, 1, {"keeps_wal_read": False}),
    # ".DS_Store" skipped (c1fc502f59, 2024-02-13, "Backpatch-through v12"): first in the releases of
    # 2024-05-09 (12.19, 13.15, 14.12, 15.7, 16.3; inferred from the date); 12.7 and 13.3 copy and
    # remove such files (fixtures/failover12/files, failover13/files)
    MinorOverride(12, 0, 18, {"skips_ds_store": False}),
    MinorOverride(13, 0, 14, {"skips_ds_store": False}),
    MinorOverride(14, 0, 11, {"skips_ds_store": False}),
    MinorOverride(15, 0, 6, {"skips_ds_store": False}),
    MinorOverride(16, 0, 2, {"skips_ds_store": False}),
)


# Majors whose rows are written from pg_rewind's sources and real runs but not yet checked against
# that pg_rewind's decisions in the tests: the readers support them; deciding a rewind refuses. Empty:
# 9.5 and 9.6 are checked against pg_rewind 9.5.25 and 9.6.22 (fixtures/failover95, failover96 and
# tests/integration/test_plan_nine.py), like 10-18.
UNVERIFIED_MAJORS: frozenset[int] = frozenset()


def require_verified(major: int) -> None:
    """Refuse to predict pg_rewind of ``major`` before its decisions are verified (docs/versions.md)."""
    if major in UNVERIFIED_MAJORS:
        name = versions.display(major)
        raise UnsupportedVersionError(
            f"pg_rewind {name}'s decisions are not verified yet: pgrewindkit reads PostgreSQL {name}'s files "
            f"(controldata, history, waldump, inspect) but does not yet decide or run a rewind of it")


def rules_for(major: int, minor: int | None = None) -> RewindRules:
    """pg_rewind's rules in ``major``.``minor``; without ``minor``, in the newest minor known."""
    rules = versions.lookup(REWIND_RULES, major, "pg_rewind rules")
    if minor is None:
        return rules
    for override in MINOR_OVERRIDES:
        if override.major == major and override.covers(minor):
            rules = attrs.evolve(rules, **override.changes)
    return rules


# The newest minor of each major that the rows above describe: the release whose pg_rewind they were
# last checked against (docs/versions.md). A plan that is told no pg_rewind release predicts this one.
NEWEST_MINOR: dict[int, int] = {95: 25, 96: 22, 10: 23, 11: 22, 12: 22, 13: 23, 14: 23, 15: 19, 16: 15, 17: 11, 18: 6}

# "16.2", "16", "pg_rewind (PostgreSQL) 16.2 (Debian ...)", "pg_rewind (PostgreSQL) 18beta1"; before 10 a
# major has two parts: "9.5.25", "9.6"
_RELEASE = re.compile(r"(?:^|\(PostgreSQL\) )(9\.\d+|\d+)(?:\.(\d+)|(?:beta|rc)\d+)?(?:\s|$)")


def parse_release(text: str) -> tuple[int, int | None]:
    """(major, minor) of a PostgreSQL release as written ("16.2") or as ``pg_rewind --version`` prints it;
    the minor is None for a bare major ("16") or a pre-release ("18beta1")."""
    match = _RELEASE.search(text.strip())
    if match is None:
        raise UnsupportedVersionError(f"not a PostgreSQL release: {text.strip()!r} (expected e.g. 16.2)")
    # a key like 95 is no release's name: "95" is refused like any other major pgrewindkit does not know
    major = versions.parse_major(match[1]) if "." in match[1] or versions.display(int(match[1])) != match[1] \
        else int(match[1])
    return major, None if match[2] is None else int(match[2])


def release_name(major: int, minor: int | None) -> str:
    """A release as PostgreSQL names it: "16.2", "9.5.25" (major key 95); "16" without a minor."""
    return versions.display(major) if minor is None else f"{versions.display(major)}.{minor}"


def predicted_release(major: int, release: tuple[int, int | None] | None) -> tuple[int, int]:
    """The pg_rewind release whose decisions a plan for a ``major`` cluster predicts: ``release`` (that of
    the pg_rewind to run, or asked for), else the newest minor known. pg_rewind of another major refuses
    the cluster, so such a ``release`` is refused here."""
    newest = NEWEST_MINOR[versions.lookup(REWIND_RULES, major, "pg_rewind rules").major]
    if release is None:
        return major, newest
    if release[0] != major:
        raise UnsupportedVersionError(f"pg_rewind {versions.display(release[0])} cannot rewind a PostgreSQL "
                                      f"{versions.display(major)} cluster: "
                                      f"pg_rewind works only on clusters of its own major")
    return major, newest if release[1] is None else release[1]
