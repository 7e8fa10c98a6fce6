"""What a sync pass reports, per mailbox and per folder (IMAP and provider APIs alike)."""

from dataclasses import dataclass, field


@dataclass
class FolderSummary:
    role: str
    new: int = 0
    adopted: int = 0
    flags_updated: int = 0
    expunged: int = 0
    resynced: bool = False
    note: str = ""


@dataclass
class SyncSummary:
    mailbox_id: int
    address: str
    ok: bool = True
    error: str = ""
    seconds: float = 0.0
    skipped_busy: bool = False
    skipped_read_only: bool = False
    folders: list[FolderSummary] = field(default_factory=list)

    @property
    def new(self) -> int:
        return sum(f.new for f in self.folders)

    def line(self) -> str:
        if self.skipped_busy:
            return f"{self.address}: already syncing elsewhere, skipped"
        if self.skipped_read_only:
            return f"{self.address}: workspace is read-only (billing), sync paused"
        if not self.ok:
            return f"{self.address}: FAILED after {self.seconds:.1f}s — {self.error}"
        parts = [
            f"{f.role} +{f.new} new, {f.adopted} re-keyed, {f.flags_updated} flag changes, "
            f"{f.expunged} removed{' (UIDVALIDITY changed: resynced)' if f.resynced else ''}"
            f"{' — ' + f.note if f.note else ''}"
            for f in self.folders
        ]
        return f"{self.address}: ok in {self.seconds:.1f}s — " + "; ".join(parts)
