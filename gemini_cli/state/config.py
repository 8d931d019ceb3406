"""Settings: flag > template > environment > profile > config file (YAML) > built-in default.

config.yaml holds settings at the top level, plus `profiles:` (named sets of settings, chosen
with --profile, $GEMINI_CLI_PROFILE or `default_profile:`), `aliases:` (short model names) and
the API key's source (`api_key:` or `api_key_command:`, see apikey.py). Reading and checking
that file is configfile.py's; here the layers are merged into one frozen Settings.
"""

from __future__ import annotations

import os
import re
from dataclasses import field, fields, make_dataclass, replace
from types import MappingProxyType
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Mapping
from urllib.parse import urlsplit

from gemini_cli.state import paths
from gemini_cli.errors import UsageError
from gemini_cli.render.context import IOContext
from gemini_cli.state.configfile import insecure_warning, known_profiles, read_config
from gemini_cli.state.models import BUILTIN_ALIASES, DEFAULT_MODEL  # noqa: F401 (re-exported)
from gemini_cli.state.settings import DEFAULT_API_VERSION, DEFAULT_BASE_URL, LAYERED, TABLE  # noqa: F401 (re-exported)

API_REVISION = "2026-05-20"
PROFILE_ENV = "GEMINI_CLI_PROFILE"

# BUILTIN_ALIASES: short model names that work everywhere a model id does (state/models.py);
# `aliases:` in the config adds to them and overrides them. One level only.


def _settings_class() -> type:
    """The Settings dataclass: a field per row of the settings table (state/settings.py), then
    the ones resolve() sets itself."""
    table: list[tuple[str, Any, Any]] = [(s.name, Any, field(default_factory=s.default.copy) if isinstance(s.default, list)
              else field(default=s.default)) for s in TABLE]
    # Set by resolve(), never copied from a flag of the same name: the profile in use, the
    # loaded prompt template (templates.Template), the alias table, where each value came from,
    # the settings a resumed conversation must not override (flag, template, --profile), and
    # whether request.body.check_settings has passed them (a conversation's values reset it).
    internal: list[tuple[str, Any, Any]] = [
        ("profile", Any, field(default=None, compare=False)),
        ("template", Any, field(default=None, repr=False, compare=False)),
        ("aliases", Mapping[str, str], field(default_factory=dict, repr=False, compare=False)),
        ("sources", Mapping[str, str], field(default_factory=dict, repr=False, compare=False)),
        ("explicit", frozenset, field(default_factory=frozenset, repr=False, compare=False)),
        ("checked", bool, field(default=False, repr=False, compare=False)),
    ]
    doc = """Every setting a command may read, one field per row of state/settings.py's table.
    None means "not set": the API's own default.

    Made once by resolve() and never changed afterwards: a variant (a resumed conversation's
    settings, a chat's /model) is a new Settings from dataclasses.replace.
    """
    return make_dataclass("Settings", table + internal, frozen=True, namespace={"__doc__": doc, "__module__": __name__})


if TYPE_CHECKING:  # what a type checker sees: the fields come from the table at run time
    class Settings:
        __dataclass_fields__: ClassVar[dict[str, Any]]

        def __init__(self, **values: Any) -> None: ...
        def __getattr__(self, name: str) -> Any: ...
else:
    Settings = _settings_class()


INTERNAL = frozenset({"profile", "template", "aliases", "sources", "explicit", "checked"})


def resolve(flags: dict[str, Any], config_path: Path | None = None, *, template: Any = None, io: Any = None) -> Settings:
    """Merge flags (None = not given) over a template, the environment, the profile, the file, defaults.

    template: the request.templates.Template that flags["template"] names, loaded by the
    caller (templates.from_flags), so that this module stays below request/.
    io: the invocation's render.context.IOContext: its `quiet` is set here, and the warnings
    go to its stderr (without one, to the process's).
    """
    if io is None:
        io = IOContext.from_process()
    if flags.get("template") and template is None:
        raise TypeError("config.resolve: pass template=templates.from_flags(flags, io.warn)")
    values: dict[str, Any] = {}
    sources = {f.name: "default" for f in fields(Settings) if f.name not in INTERNAL}
    explicit: set[str] = set()

    def layer(layer_values: dict[str, Any], source: str, is_explicit: bool = False) -> None:
        for key, value in layer_values.items():
            values[key] = (*values.get(key, ()), (value, source)) if key in LAYERED else value
            sources[key] = source
            if is_explicit:
                explicit.add(key)

    early_warnings: list[str] = []  # shown once -q or `quiet:` in the config is known
    cfg = read_config(config_path, note=early_warnings.append)
    layer(cfg.settings, "config file")
    name, chosen_by = flags.get("profile"), "--profile"
    if not name and os.environ.get(PROFILE_ENV):
        name, chosen_by = os.environ[PROFILE_ENV], PROFILE_ENV
    if not name and cfg.default_profile:
        name, chosen_by = cfg.default_profile, "default_profile"
    if name:
        if name not in cfg.profiles:
            raise UsageError(f"unknown profile '{name}' (from {chosen_by}; {known_profiles(cfg)})")
        layer(cfg.profiles[name], f"profile {name}", is_explicit=chosen_by == "--profile")
    env_base = os.environ.get("GOOGLE_GEMINI_BASE_URL")
    if env_base:
        layer({"base_url": env_base}, "environment (GOOGLE_GEMINI_BASE_URL)")
    late_warnings: list[str] = []
    if template is not None:
        template_values, notes = template.applied(flags.get("param") or [], flags.get("system") is not None)
        layer(template_values, f"template {template.name}", is_explicit=True)
        late_warnings += notes
    elif flags.get("param"):
        names = ", ".join(dict.fromkeys(name for name, _ in flags["param"]))
        known = paths.known_templates()
        raise UsageError(f"--param {names}: no template to fill; give --template NAME too "
                         f"({'templates: ' + ', '.join(known) if known else 'no templates in ' + str(paths.templates_dir())})")
    layer({key: value for key, value in flags.items() if key in sources and value is not None and value != []},
          "flag", is_explicit=True)
    aliases = {**BUILTIN_ALIASES, **cfg.aliases}
    model = values.get("model", DEFAULT_MODEL)
    if model in aliases:
        sources["model"] += f" (alias '{model}')"
        values["model"] = aliases[model]
    values["base_url"] = values.get("base_url", DEFAULT_BASE_URL).rstrip("/")
    if not values.get("model", DEFAULT_MODEL).strip():
        source = sources.get("model", "default")
        raise UsageError(f"the model name is empty (from {'-m/--model' if source == 'flag' else source}); "
                         f"give a model id or alias, e.g. -m {DEFAULT_MODEL}")
    if cfg.insecure:
        late_warnings.append(insecure_warning(cfg))
    io.quiet = bool(values.get("quiet", False))
    for message in early_warnings + late_warnings:
        io.warn(message)
    return Settings(**values, profile=name or None, template=template, aliases=MappingProxyType(aliases),
                    sources=MappingProxyType(sources), explicit=frozenset(explicit))


def check_base_url(settings: Settings) -> str:
    """The base URL, or exit 2 naming where a malformed one came from: it would only be
    retried as a network error otherwise."""
    url = settings.base_url
    source = settings.sources.get("base_url", "default")
    where = f"base URL {url!r} (from {'--base-url' if source == 'flag' else source})"
    if not url or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise UsageError(f"{where} contains spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as exc:
        raise UsageError(f"{where} is malformed: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{where} must be http(s)://host[:port][/path]")
    if parts.query or parts.fragment:
        raise UsageError(f"{where} must not have a query or fragment")
    version, version_source = settings.api_version, settings.sources.get("api_version", "default")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", version or "") or ".." in version:
        # It goes into every URL path, with the key: "../../x" or "v1?x=" would reach another endpoint.
        raise UsageError(f"API version {version[:80]!r} (from {'--api-version' if version_source == 'flag' else version_source}) "
                         "is not a version (letters, digits, '.', '_', '-' only, e.g. v1beta)")
    last = parts.path.rstrip("/").rsplit("/", 1)[-1]
    if last == settings.api_version or (last[:1] == "v" and last[1:2].isdigit()):
        base = url.rstrip("/")[: -len(last)].rstrip("/")
        fix = f"give {base}" + (f" with --api-version {last}" if last != settings.api_version else "")
        raise UsageError(f"{where} ends with an API version, which is added to it ({settings.api_version}): {fix}")
    return url


def model_id(settings: Settings, name: str) -> str:
    """A model id, or the model an alias stands for."""
    return (settings.aliases or BUILTIN_ALIASES).get(name, name)


def remember(settings: Settings, flags: dict[str, Any], remembered: dict[str, Any]) -> Settings:
    """The settings with a resumed conversation's: they beat the file and defaults; a flag (or
    template, or an explicit --profile) beats them."""
    changes = {key: value for key, value in remembered.items()
               if value is not None and flags.get(key) in (None, []) and key not in settings.explicit}
    if not changes:
        return settings
    return replace(settings, **changes, checked=False,  # its values are checked with the rest
                   sources=MappingProxyType({**settings.sources, **dict.fromkeys(changes, "conversation")}))

