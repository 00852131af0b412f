"""``responder contacts``: the roster in force."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from responder.cli.common import app_context, console, dump_json, new_app

app = new_app("The roster in force: import from CSV, list.")


@app.command("import", help="Upsert people from a roster CSV; any bad row writes nothing and lists every bad row.")
def import_(
    file: Annotated[Path, typer.Argument(help="Roster CSV (id,name,phone,groups,village,language).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change, write nothing.")] = False,
) -> None:
    from responder.app.contacts import import_contacts

    diff = import_contacts(app_context(), file, dry_run=dry_run)
    out = console()
    verb = "would add" if dry_run else "added"
    for p in diff.added:
        out.print(f"[green]+[/green] {p.id} {p.name} {p.phone} {','.join(p.groups)}")
    for old, new in diff.changed:
        changes = [f"{k}: {old.to_dict()[k]} → {new.to_dict()[k]}" for k in new.to_dict() if old.to_dict()[k] !=
                   new.to_dict()[k]]
        out.print(f"[yellow]~[/yellow] {new.id} {new.name}: {'; '.join(changes)}")
    for p in diff.not_in_file:
        out.print(f"[dim]? {p.id} {p.name} is in the database but not in the file (kept)[/dim]")
    out.print(f"{verb} {len(diff.added)}, {'would change' if dry_run else 'changed'} {len(diff.changed)}, "
              f"unchanged {len(diff.unchanged)}" + (" (dry run: nothing written)" if dry_run else ""))


@app.command("list", help="List people in force, optionally one group's.")
def list_(
    group: Annotated[str | None, typer.Option("--group", help="Only members of this group.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    from responder.app.contacts import list_contacts
    from responder.cli.tables import Table

    roster = list_contacts(app_context(), group)
    if as_json:
        dump_json(roster.to_list())
        return
    table = Table(title=f"{len(roster.people)} people" + (f" in {group}" if group else ""))
    for col in ("id", "name", "phone", "groups", "village", "lang"):
        table.add_column(col)
    for p in roster.people:
        table.add_row(p.id, p.name, p.phone, ", ".join(f"{m.group}:{m.role.value}" for m in p.memberships),
                      p.village, p.language)
    console().print(table)
