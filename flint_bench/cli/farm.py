"""`flint-bench farm list|doctor|emulators`: generic over the Farm interface, so every kind works."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from ..core.errors import UserError
from .output import FORMAT_OPTION_HELP, Format, console, err_console, output_handler, rich_table

if TYPE_CHECKING:
    from ..farms.adb import AdbSettings
    from ..farms.base import Farm

DEFAULT_FARM = Path("farm_configs/local.toml")  # shown in messages; farms.farm_file_or_default resolves it
FARM_HELP = "farm config TOML (default farm_configs/local.toml)"

farm_app = typer.Typer(
    help="Device farms: list devices, check the setup, start and stop Android emulators.", no_args_is_help=True
)
emulators_app = typer.Typer(help="Android emulators through the Android SDK (`emulator`, `avdmanager`).", no_args_is_help=True)


def _open(farm: Path | None) -> Farm:
    from ..farms import farm_file_or_default, open_farm

    return open_farm(farm_file_or_default(farm))


VERDICT = {True: "[green]ok[/]", False: "[red]FAILED[/]", None: "[yellow]unknown[/]"}

DEVICE_COLUMNS = [
    "id",
    "manufacturer",
    "model",
    "soc",
    "os",
    "os_version",
    "abi",
    "cores",
    "memory_mb",
    "emulator",
    "device_class",
    "platform",
    "tier",
]


@farm_app.command("list")
def list_devices(
    farm: Path | None = typer.Option(None, "--farm", help=FARM_HELP),
    format: Format = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP),
) -> None:
    """The devices the farm offers (after its selection filters), with their attributes."""
    with output_handler(format) as output:
        with _open(farm) as the_farm:
            devices = [d.as_record() for d in the_farm.devices()]

        def render() -> None:
            # skip all-empty columns
            columns = [c for c in DEVICE_COLUMNS if c == "id" or any(d.get(c) is not None for d in devices)]
            rows = [[None if d.get(c) is None else escape(str(d.get(c))) for c in columns] for d in devices]
            title = f"farm {escape(the_farm.name)} ({the_farm.kind}): {len(devices)} device(s)"
            # an empty table is one column wide: its title would wrap a word per line
            console.print(rich_table(title, columns, rows) if devices else title, highlight=False)
            if not devices:
                err_console.print(
                    f"no device matches; `flint-bench farm doctor --farm {farm or DEFAULT_FARM}` says why", highlight=False
                )

        output.result({"farm": the_farm.name, "kind": the_farm.kind, "devices": devices}, render)


@farm_app.command()
def doctor(
    farm: Path | None = typer.Option(None, "--farm", help=FARM_HELP),
    format: Format = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP),
) -> None:
    """Check tools, connectivity, devices and credentials; every failed check says how to fix it. Exit 1 if one fails."""
    with output_handler(format) as output:
        with _open(farm) as the_farm:
            checks = the_farm.doctor()
        failed = [c for c in checks if c.failed]

        def render() -> None:
            table = rich_table(
                f"farm {the_farm.name} ({the_farm.kind}): doctor",
                ["check", "ok", "detail / how to fix"],
                [[escape(c.name), VERDICT[c.ok], escape(c.message)] for c in checks],
            )
            console.print(table)
            console.print(f"{len(failed)} check(s) failed" if failed else "all checks passed", highlight=False)

        output.result(
            {
                "farm": the_farm.name,
                "kind": the_farm.kind,
                "ok": not failed,
                "checks": [{"name": c.name, "ok": c.ok, "message": c.message} for c in checks],
            },
            render,
        )
    if failed:
        raise typer.Exit(1)


def _emulator_settings(farm: Path | None) -> AdbSettings:
    from ..farms import load_farm_file
    from ..farms.adb import AdbSettings

    if farm is None:
        return AdbSettings()
    ff = load_farm_file(farm)
    if not isinstance(ff.settings, AdbSettings):
        raise UserError(
            f"{farm}: emulators belong to an 'adb' farm (kind = \"adb\" with an adb.emulators table), this one is kind '{ff.kind}'."
        )
    return ff.settings


@farm_app.command("pick")
def pick(
    sessions: Path = typer.Option(..., "--sessions", "-s", help="session log (.parquet or .csv; schema in docs/eligibility.md)"),
    farm: Path | None = typer.Option(None, "--farm", help=FARM_HELP),
    count: int = typer.Option(5, "--count", "-k", min=1, help="how many devices to pick"),
    format: Format = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP),
) -> None:
    """The devices of the farm's catalog that cover the most sessions of the log, in the order a
    greedy cover picks them (same model, or same platform, tier, OS major and SoC family), with the
    share of sessions each adds: book these first, cloud farms charge by the device-minute."""
    from ..coverage import ATTRIBUTE_COLUMNS, pick_devices
    from ..eligibility import read_sessions

    with output_handler(format) as output:
        frame = read_sessions(sessions, optional=set(ATTRIBUTE_COLUMNS))
        with _open(farm) as the_farm:
            catalog = the_farm.devices()
        steps = pick_devices(frame, catalog, count)
        document = {
            "farm": the_farm.name,
            "sessions_file": str(sessions),
            "catalog_devices": len(catalog),
            "count": count,
            "picks": [s.as_dict() for s in steps],
            "covered_session_share": steps[-1].cumulative_share if steps else 0.0,
        }

        def render() -> None:
            rows = [
                [
                    i,
                    escape(s.device.id),
                    escape(" ".join(x for x in (s.device.manufacturer, s.device.model) if x) or "-"),
                    escape(f"{s.device.platform or s.device.os or '?'} {s.device.os_version or ''}".strip()),
                    escape(s.device.tier or "-"),
                    f"+{100 * s.sessions_added_share:.1f}%",
                    f"{100 * s.cumulative_share:.1f}%",
                    f"{100 * s.cumulative_device_share:.1f}%",
                ]
                for i, s in enumerate(steps, start=1)
            ]
            title = f"farm {escape(the_farm.name)}: {len(steps)} of {len(catalog)} device(s) to cover {escape(str(sessions))}"
            columns = ["#", "device", "model", "OS", "tier", "sessions added", "sessions covered", "devices covered"]
            console.print(rich_table(title, columns, rows), highlight=False)
            if len(steps) < count:
                err_console.print(
                    f"only {len(steps)} device(s) add coverage: the others cover no session the picked ones do not",
                    highlight=False,
                )

        output.result(document, render)


@emulators_app.command("list")
def emulators_list(format: Format = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP)) -> None:
    """The AVDs the Android SDK knows (`emulator -list-avds`)."""
    from ..farms.adb.emulators import Sdk

    with output_handler(format) as output:
        sdk = Sdk.find()
        avds = sdk.list_avds()
        output.result(
            {"sdk": str(sdk.root), "avds": avds},
            lambda: console.print(rich_table(f"AVDs in {sdk.root}", ["avd"], [[a] for a in avds])),
        )


@emulators_app.command("create")
def emulators_create(
    avd: str = typer.Option(..., "--avd", help="name of the new AVD"),
    image: str = typer.Option("system-images;android-34;google_apis;x86_64", "--image", help="installed system image package"),
    device: str | None = typer.Option("pixel_7", "--device", help="hardware profile (`avdmanager list device`)"),
) -> None:
    """Create an AVD with the SDK's `avdmanager`."""
    from ..farms.adb.emulators import Sdk

    with output_handler(Format.table):
        out = Sdk.find().create_avd(avd, image, device)
        console.print(escape(out) or f"created AVD {escape(avd)}", highlight=False)


@emulators_app.command("start")
def emulators_start(
    farm: Path | None = typer.Option(None, "--farm", help="adb farm config whose [adb.emulators].avds to boot"),
    avd: list[str] | None = typer.Option(None, "--avd", help="AVD name (repeatable); default: the farm's [adb.emulators].avds"),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="wait until each emulator has booted (sys.boot_completed)"),
    format: Format = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP),
) -> None:
    """Boot emulators; each appears to adb as emulator-<port>."""
    from ..farms.adb.emulators import Sdk

    with output_handler(format) as output:
        settings = _emulator_settings(farm)
        names = avd or settings.emulators.avds
        if not names:
            raise UserError(
                "No AVD to start: pass --avd NAME or list them under avds in the adb.emulators table of --farm (see `flint-bench farm emulators list`)."
            )
        started = Sdk.find().start(names, settings, wait=wait, log=output.message)
        output.result(
            {"started": started},
            lambda: console.print(
                rich_table(
                    "emulators",
                    ["avd", "serial", "booted", "log"],
                    [[escape(s["avd"]), s["serial"], s["booted"], escape(s["log"])] for s in started],
                )
            ),
        )


@emulators_app.command("stop")
def emulators_stop(
    farm: Path | None = typer.Option(None, "--farm", help="adb farm config (for its adb server host/port)"),
    serial: list[str] | None = typer.Option(
        None, "--serial", help="emulator-<port> to stop (repeatable); default: every running emulator"
    ),
    format: Format = typer.Option(Format.table, "--format", help=FORMAT_OPTION_HELP),
) -> None:
    """Stop emulators (`adb emu kill`)."""
    from ..farms.adb.emulators import stop

    with output_handler(format) as output:
        stopped = stop(_emulator_settings(farm), serial)
        output.result(
            {"stopped": stopped},
            lambda: console.print(f"stopped: {', '.join(stopped) if stopped else 'no running emulator'}", highlight=False),
        )


def register(app: typer.Typer) -> None:
    farm_app.add_typer(emulators_app, name="emulators")
    app.add_typer(farm_app, name="farm")
