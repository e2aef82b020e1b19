"""How pg_rewind of each major decides: one table entry per major (src/bin/pg_rewind of 10–18,
as in their last minor releases)."""

from __future__ import annotations

import attrs

from pgrewindkit.majors import versions

# filemap.c: directories whose contents are never copied (11+), and files never copied.
EXCLUDED_DIR_CONTENTS = ("pg_stat_tmp", "pg_replslot", "pg_dynshmem", "pg_notify", "pg_serial", "pg_snapshots",
                         "pg_subtrans")
# (name, prefix match)
EXCLUDED_FILES = (("postgresql.auto.conf.tmp", False), ("current_logfiles.tmp", False), ("pg_internal.init", True),
                  ("backup_label", False), ("tablespace_map", False), ("backup_manifest", False),
                  ("postmaster.pid", False), ("postmaster.opts", False))
EXCLUDED_FILES_10 = (("postmaster.pid", False), ("postmaster.opts", False))

RM_XACT_ID, RM_SMGR_ID, RM_DBASE_ID = 1, 2, 4
XLOG_SMGR_CREATE, XLOG_SMGR_TRUNCATE = 0x10, 0x20
XACT_OPS_RECOGNISED = (0x00, 0x30, 0x20, 0x40)  # COMMIT, COMMIT_PREPARED, ABORT, ABORT_PREPARED
XLR_SPECIAL_REL_UPDATE = 0x01


@attrs.frozen
class RewindRules:
    """What differs in pg_rewind's decisions between majors."""

    version: versions.Major
    # 16+: a side's timeline is max(minRecoveryPointTLI, checkpoint TLI); before, the checkpoint's
    timeline_from_min_recovery_point: bool
    # commit/abort records flagged XLR_SPECIAL_REL_UPDATE from 14, and recognised by pg_rewind
    xact_records_flagged: bool
    # Database records pg_rewind recognises: CREATE (≤14) / CREATE_FILE_COPY, CREATE_WAL_LOG (15+); DROP
    dbase_infos: tuple[int, ...]
    excluded_dir_contents: tuple[str, ...]
    excluded_files: tuple[tuple[str, bool], ...]
    # WAL segments read while looking for the last common checkpoint are not removed (back-patched
    # to the supported branches in 2024–25; verified in 15)
    keeps_wal_read: bool
    # a standby may be the source from 14
    standby_source: bool
    # 13+: an uncleanly stopped target is first recovered in single-user mode
    ensures_shutdown: bool
    # 15+: "record type is not recognized" names the rmid too (custom resource managers)
    unrecognised_names_rmid: bool
    # 15+: --config-file, for a configuration outside the data directory
    takes_config_file: bool

    @property
    def major(self) -> int:
        return self.version.major

    def recognises(self, rmid: int, info: int) -> bool:
        """Whether ``extractPageInfo`` accepts a record; an unrecognised one with
        ``XLR_SPECIAL_REL_UPDATE`` stops pg_rewind ("record type is not recognized")."""
        rminfo = info & 0xF0
        if rmid == RM_DBASE_ID and rminfo in self.dbase_infos:
            return True
        if rmid == RM_SMGR_ID and rminfo in (XLOG_SMGR_CREATE, XLOG_SMGR_TRUNCATE):
            return True
        if self.xact_records_flagged and rmid == RM_XACT_ID and rminfo & 0x70 in XACT_OPS_RECOGNISED:
            return True
        return not info & XLR_SPECIAL_REL_UPDATE


def _rules(major: int) -> RewindRules:
    return RewindRules(
        version=versions.by_major(major),
        timeline_from_min_recovery_point=major >= 16,
        xact_records_flagged=major >= 14,
        dbase_infos=(0x00, 0x10, 0x20) if major >= 15 else (0x00, 0x10),
        excluded_dir_contents=EXCLUDED_DIR_CONTENTS if major >= 11 else (),
        excluded_files=EXCLUDED_FILES if major >= 11 else EXCLUDED_FILES_10,
        keeps_wal_read=major >= 13,
        standby_source=major >= 14,
        ensures_shutdown=major >= 13,
        unrecognised_names_rmid=major >= 15,
        takes_config_file=major >= 15,
    )


REWIND_RULES: dict[int, RewindRules] = {m.major: _rules(m.major) for m in versions.MAJORS}


def rules_for(major: int) -> RewindRules:
    return REWIND_RULES[versions.by_major(major).major]
