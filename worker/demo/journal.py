"""What the demo did, printed as it happens: every transaction with its hash and gas."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

from worker.chain.bindings import TxResult


@dataclass
class JournalEntry:
    stage: str
    actor: str
    action: str
    tx_hash: str = ""
    gas: int = 0


@dataclass
class Journal:
    console: Console = field(default_factory=Console)
    entries: list[JournalEntry] = field(default_factory=list)

    def stage(self, title: str) -> None:
        self.console.rule(f"[bold]{title}")

    def tx(self, stage: str, actor: str, action: str, result: TxResult) -> TxResult:
        self.entries.append(JournalEntry(stage, actor, action, result.tx_hash, result.gas_used))
        self.console.print(
            f"  [cyan]{actor:<14}[/] {action:<58} [dim]tx {result.tx_hash[:12]}… gas {result.gas_used:>9,}[/]"
        )
        return result

    def note(self, message: str) -> None:
        self.console.print(f"  {message}")

    def gas_by_stage(self) -> Table:
        table = Table(title="Gas by stage")
        table.add_column("stage")
        table.add_column("transactions", justify="right")
        table.add_column("gas", justify="right")
        totals: dict[str, tuple[int, int]] = {}
        for entry in self.entries:
            count, gas = totals.get(entry.stage, (0, 0))
            totals[entry.stage] = (count + 1, gas + entry.gas)
        for stage, (count, gas) in totals.items():
            table.add_row(stage, str(count), f"{gas:,}")
        return table
