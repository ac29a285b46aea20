"""Write the generated reference pages under docs/ from the code that defines what they list.

    .venv/bin/python -m mktows.docgen           rewrite every page
    .venv/bin/python -m mktows.docgen --check   exit 1, naming the stale pages, when one differs

| page | source |
| --- | --- |
| docs/faults.md | `mktows/errors.py` (codes, texts, when returned) and the fault renderer |
| docs/fields.md | `mktows/engine/leads/fields.py` (standard lead fields) |
| docs/settings.md | `mktows/config.py` (Settings, env names, flags, descriptions) |
| docs/cli.md | the typer app of `mktows/cli.py`, through click's introspection |
| docs/coverage.md | `mktows/soap/types.py` (the WSDL of each version) and the handler registry |

Pages are plain Markdown and deterministic: the same code always gives the same bytes.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

COMMAND = ".venv/bin/python -m mktows.docgen"
ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _banner(source: str) -> str:
    return f"> Generated from `{source}` by `{COMMAND}`: do not edit this page by hand.\n"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: Sequence[Sequence[object]]) -> str:
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(out) + "\n"


# --- faults -----------------------------------------------------------------------------------


def faults_page() -> str:
    from mktows import errors
    from mktows.soap.faults import render_fault

    names = {
        cls.code: name
        for name, cls in vars(errors).items()
        if isinstance(cls, type) and issubclass(cls, errors.MarketoError) and cls is not errors.MarketoError
    }
    missing = sorted(set(errors.SHORT_MESSAGES) - set(errors.WHEN_RETURNED))
    if missing:
        raise ValueError(f"mktows/errors.py: WHEN_RETURNED has no entry for {missing}")
    rows = []
    for code in sorted(errors.SHORT_MESSAGES):
        fault = render_fault(errors.MarketoError(code=code)).decode()
        faultcode = re.search(r"<faultcode>(.*?)</faultcode>", fault).group(1)  # type: ignore[union-attr]
        rows.append(
            [
                code,
                f"`{names.get(code, '')}`",
                errors.SHORT_MESSAGES[code],
                f"`{faultcode}`",
                errors.WHEN_RETURNED[code],
            ]
        )
    return (
        _banner("mktows/errors.py") + "\n# Faults\n\n"
        "The error codes mktows knows, and when it answers with each. A fault is a SOAP 1.1 `Fault` sent with HTTP\n"
        "status 500: `faultstring` is the code and its short text (`20103 - Lead not found`), and\n"
        "`detail/serviceException` holds `name` (`mktServiceException`), `message` (what went wrong,\n"
        "in words, with the code appended) and `code`. The name is the exception class in\n"
        "`mktows/errors.py`.\n\n" + _table(["code", "name", "short text", "faultcode", "when mktows returns it"], rows)
    )


# --- lead fields ------------------------------------------------------------------------------


def fields_page() -> str:
    from mktows.engine.leads import fields as lead_fields

    rows = []
    for f in lead_fields.STANDARD_FIELDS:
        limit = lead_fields.max_length(f)
        stored = f"column `leads.{f.column}`" if f.column else "value row"
        values = ", ".join(f"`{c}`" for c in f.choices) if f.choices else ""
        rows.append(
            [
                f"`{f.name}`",
                f.display_name,
                f.data_type,
                "" if limit is None else limit,
                "yes" if f.read_only else "no",
                stored,
                values,
            ]
        )
    lengths = ", ".join(f"{t} {n:,}" for t, n in lead_fields.TEXT_TYPE_MAX_LENGTH.items())
    top = ", ".join(f"`{n}`" for n in sorted(lead_fields.TOP_LEVEL))
    types = ", ".join(sorted(lead_fields.FIELD_TYPES))
    return (
        _banner("mktows/engine/leads/fields.py") + "\n# Standard lead fields\n\n"
        "The lead fields every instance has, in registry order. Names match ignoring case; answers\n"
        "use the spelling below. Custom fields come from the instance file\n"
        "(`lead_fields`) or `mktows fields add`.\n\n"
        + _table(["name", "display name", "type", "max length", "read-only", "stored in", "allowed values"], rows)
        + "\n"
        f"- **max length** is in characters; a longer value is refused with 20110. A text field that\n"
        f"  declares no size holds, by type: {lengths}. Numbers, dates and flags have no length.\n"
        f"- **stored in**: a column of the `leads` table (the lead keys), or one row per value in\n"
        f"  `lead_values`.\n"
        f"- {top} are elements of `LeadRecord` itself, never repeated in `leadAttributeList`.\n"
        f"- Field types (standard and custom): {types}.\n"
    )


# --- settings ---------------------------------------------------------------------------------


def _setting_default(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "`1`" if value else "`0`"
    return f"`{value}`"


def settings_page() -> str:
    from mktows import config

    serve_flags = _cli_option_names()
    rows = []
    for f in fields(config.Settings):
        if f.name not in config.DESCRIPTIONS:
            raise ValueError(f"mktows/config.py: DESCRIPTIONS has no entry for {f.name}")
        flag = config.FLAGS.get(f.name)
        if flag is not None and flag not in serve_flags:
            raise ValueError(f"mktows/config.py: FLAGS names {flag}, which `mktows serve` does not have")
        env = config.ENV_NAMES.get(f.name, "MKTOWS_" + f.name.upper())
        kind = "boolean" if f.type in ("bool", bool) else "integer" if f.name in config._INT_FIELDS else "text"
        if f.name in config._POSITIVE_FIELDS:
            kind += " ≥ 1"
        default = f.default if f.default is not MISSING else None
        rows.append(
            [f"`{env}`", f"`{flag}`" if flag else "", kind, _setting_default(default), config.DESCRIPTIONS[f.name]]
        )
    return (
        _banner("mktows/config.py") + "\n# Settings\n\n"
        "Every setting of the server. Each is an environment variable; the ones with a flag can also\n"
        "be given on the command line, and the flag wins. An empty variable counts as unset. A value\n"
        "of the wrong kind is refused with a message naming the variable.\n\n"
        + _table(["variable", "flag", "value", "default", "meaning"], rows)
        + "\nThe daily quota and the rate limit are counted in the database, shared by every process on it;"
        " the concurrency ceilings are each process's own. See [limits.md](limits.md).\n"
    )


# --- command line -----------------------------------------------------------------------------


def _root_command() -> Any:  # typer's group, on typer's own copy of click
    import typer

    from mktows.cli import app

    return typer.main.get_command(app)


def _cli_option_names() -> set[str]:
    serve = _root_command().commands["serve"]
    return {opt for p in serve.params for opt in p.opts if opt.startswith("--")}


def _param_rows(params, ctx) -> list[list[object]]:  # type: ignore[no-untyped-def]
    rows: list[list[object]] = []
    for p in params:
        record = p.get_help_record(ctx)
        kind = re.search(r"<(\w+)>", record[0]) if record else None
        value_type = {"str": "text", "int": "integer"}.get(kind.group(1), kind.group(1)) if kind else ""
        if p.param_type_name == "argument":
            name = p.metavar or p.name.upper()
            default = "required" if p.required else ""
        else:
            name = ", ".join(p.opts)
            default = "none" if p.default is None else f"`{p.default}`"
        rows.append([f"`{name}`", value_type, default, getattr(p, "help", None) or ""])
    return rows


def cli_page() -> str:
    import click

    root = _root_command()
    ctx = click.Context(root, info_name="mktows")
    sections: list[str] = []

    def walk(cmd, path: list[str]) -> None:  # type: ignore[no-untyped-def]
        subcommands = getattr(cmd, "commands", None)
        if path:
            args = " ".join(p.metavar or p.name.upper() for p in cmd.params if p.param_type_name == "argument")
            has_options = any(p.param_type_name == "option" for p in cmd.params)
            usage = " ".join(["mktows", *path] + ([args] if args else []) + (["[OPTIONS]"] if has_options else []))
            if subcommands and not getattr(cmd, "invoke_without_command", False):
                usage = " ".join(["mktows", *path, "COMMAND ..."])
            text = [f"## `mktows {' '.join(path)}`\n", (cmd.help or "").strip() + "\n", f"    {usage}\n"]
            if cmd.params:
                text.append(_table(["argument or option", "value", "default", "help"], _param_rows(cmd.params, ctx)))
            sections.append("\n".join(text))
        for name, sub in (subcommands or {}).items():
            walk(sub, [*path, name])

    walk(root, [])
    return (
        _banner("mktows/cli.py") + "\n# Command line\n\n"
        f"The `mktows` command: {(root.help or '').strip()} Every command and its options, as\n"
        "`mktows COMMAND --help` lists them. `--db` defaults to `MKTOWS_DB`, else the SQLite file under\n"
        "`./mktows-data/` (see [settings.md](settings.md)).\n\n" + "\n".join(sections)
    )


# --- operation coverage -----------------------------------------------------------------------

GENERATED = ("faults.md", "fields.md", "settings.md", "cli.md", "coverage.md")


def _anchor(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _reference_sections() -> dict[str, str]:
    """Each operation's reference section in the hand-written docs: `page.md#anchor`."""
    from mktows.soap import types

    # a heading that is the operation's name beats one that mentions it; then the longer section
    found: dict[str, tuple[tuple[int, int], str]] = {}
    names = [o.name for o in types.OPERATIONS]
    for page in sorted(DOCS.glob("*.md")):
        if page.name in GENERATED or page.name == "README.md":
            continue
        lines = page.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            match = re.match(r"(#{2,4}) (.+)", line)
            if not match:
                continue
            level, heading = len(match.group(1)), match.group(2)
            end = next(
                (i for i in range(number + 1, len(lines)) if re.match(r"#{1," + str(level) + r"} ", lines[i])),
                len(lines),
            )
            words = re.findall(r"\w+", heading)
            for name in names:
                if name in words:
                    rank = (0 if words == [name] else 1, -(end - number))
                    if name not in found or rank < found[name][0]:
                        found[name] = (rank, f"{page.name}#{_anchor(heading)}")
    return {name: ref for name, (_, ref) in found.items()}


def coverage_page() -> str:
    from mktows.soap import schema, types
    from mktows.soap.operations import HANDLERS
    from mktows.soap.schema_model import VERSIONS
    from mktows.soap.wsdl import wsdl_template

    in_version = {
        v: set(re.findall(r'<wsdl:operation name="(\w+)"', wsdl_template(v)))
        or set(re.findall(r'<operation name="(\w+)"', wsdl_template(v)))
        for v in VERSIONS
    }
    references = _reference_sections()
    rows = []
    for op in types.OPERATIONS:
        versions = [v for v in VERSIONS if op.name in in_version[v]]
        shown = "all" if versions == list(VERSIONS) else ", ".join(versions) or "none"
        deltas = []
        for f in schema.STRUCTS[op.request_type].fields:
            if (f.since, f.until) != (VERSIONS[0], VERSIONS[-1]):
                span = (
                    f"from {f.since}"
                    if f.until == VERSIONS[-1]
                    else (f"up to {f.until}" if f.since == VERSIONS[0] else f"{f.since} to {f.until}")
                )
                deltas.append(f"`{f.name}` {span}")
        reference = references.get(op.name)
        rows.append(
            [
                f"`{op.name}`",
                op.documentation,
                "yes" if op.name in HANDLERS else "no",
                shown,
                "; ".join(deltas),
                f"[{reference.split('#')[0]}]({reference})" if reference else "",
            ]
        )
    implemented = sum(op.name in HANDLERS for op in types.OPERATIONS)
    return (
        _banner("mktows/soap/types.py") + "\n# Operation coverage\n\n"
        f"The operations of the WSDL, in WSDL order, and whether mktows answers them: {implemented} of\n"
        f"{len(types.OPERATIONS)} are implemented. Versions served: {', '.join(VERSIONS)}, each at\n"
        "`/soap/mktows/{version}`. The last column links the operation's reference section.\n\n"
        + _table(
            [
                "operation",
                "what it does",
                "implemented",
                "versions",
                "request elements not in every version",
                "reference",
            ],
            rows,
        )
        + "\nAn operation element the WSDL does not define is fault 20019.\n"
    )


# --- driver -----------------------------------------------------------------------------------

PAGES: dict[str, Callable[[], str]] = {
    "faults.md": faults_page,
    "fields.md": fields_page,
    "settings.md": settings_page,
    "cli.md": cli_page,
    "coverage.md": coverage_page,
}


def render_all() -> dict[Path, str]:
    return {DOCS / name: build() for name, build in PAGES.items()}


def stale_pages() -> list[Path]:
    """Generated pages whose file differs from what the generator writes now (or is missing)."""
    out = []
    for path, text in render_all().items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            out.append(path)
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["--check"]):
        print(f"usage: {COMMAND} [--check]", file=sys.stderr)
        return 2
    if args == ["--check"]:
        stale = stale_pages()
        for path in stale:
            print(f"stale: {path.relative_to(ROOT)}", file=sys.stderr)
        if stale:
            print(f"run `{COMMAND}` to regenerate", file=sys.stderr)
            return 1
        print(f"{len(PAGES)} generated pages are up to date")
        return 0
    for path, text in render_all().items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
