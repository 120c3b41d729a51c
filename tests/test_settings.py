"""Settings: defaults file, --config file, TALLY_* overrides, and precise errors; start-up refusals."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from server.settings import DEFAULT_CONFIG, Settings, SettingsError, describe, load_settings


def test_defaults_file_lists_every_setting_with_a_comment() -> None:
    text = DEFAULT_CONFIG.read_text()
    for name, _default, help_text in describe():
        assert f"\n{name} = " in text, name
        assert f"# {help_text}\n{name} = " in text, name


def test_defaults_match_the_decisions() -> None:
    s = load_settings(env={})
    assert (s.mongo_url, s.session_cooldown, s.default_timezone, s.admin_api_key, s.access_log) == \
        ("memory://", 15, "UTC", "", False)


@pytest.mark.parametrize("var,value,field,expected", [
    ("TALLY_MONGO_URL", "mongodb://db:27017/x", "mongo_url", "mongodb://db:27017/x"),
    ("TALLY_ADMIN_API_KEY", "k" * 32, "admin_api_key", "k" * 32),
    ("TALLY_SESSION_COOLDOWN", "0", "session_cooldown", 0),
    ("TALLY_DEFAULT_TIMEZONE", "Asia/Kathmandu", "default_timezone", "Asia/Kathmandu"),
    ("TALLY_ACCESS_LOG", "true", "access_log", True),
    ("TALLY_BATCH_INTERVAL_MS", "2.5", "batch_interval_ms", 2.5),
    ("TALLY_PLUGINS", "density, locale", "plugins", ("density", "locale")),
])
def test_environment_overrides(var: str, value: str, field: str, expected: object) -> None:
    assert getattr(load_settings(env={var: value}), field) == expected


@pytest.mark.parametrize("env,message", [
    ({"TALLY_SESSION_COOLDOWN": "soon"}, "setting 'TALLY_SESSION_COOLDOWN': invalid value 'soon' (expected int)"),
    ({"TALLY_ACCESS_LOG": "maybe"}, "setting 'TALLY_ACCESS_LOG': invalid value 'maybe' (expected bool)"),
    ({"TALLY_DEFAULT_TIMEZONE": "Mars/Olympus"},
     "setting 'default_timezone': invalid value 'Mars/Olympus' (unknown IANA timezone)"),
    ({"TALLY_MONGO_URL": "postgres://x"},
     "setting 'mongo_url': invalid value 'postgres://x' (must start with mongodb://, mongodb+srv:// or memory://)"),
    ({"TALLY_SESSION_COOLDOWN": "-1"}, "setting 'session_cooldown': invalid value -1 (must be positive)"),
    ({"TALLY_WORKERS": "0"}, "setting 'workers': invalid value 0 (must be at least 1)"),
])
def test_bad_values_name_the_setting_and_the_value(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(env=env)
    assert str(err.value) == message


def test_config_file_then_environment(tmp_path: Path) -> None:
    cfg = tmp_path / "tally.toml"
    cfg.write_text('session_cooldown = 30\ndefault_timezone = "Europe/Riga"\n')
    s = load_settings(cfg, env={"TALLY_SESSION_COOLDOWN": "5"})
    assert (s.session_cooldown, s.default_timezone) == (5, "Europe/Riga")
    cfg.write_text("sesion_cooldown = 30\n")
    with pytest.raises(SettingsError, match="unknown setting 'sesion_cooldown'"):
        load_settings(cfg, env={})


def test_settings_are_frozen() -> None:
    with pytest.raises(AttributeError):
        Settings().mongo_url = "x"  # type: ignore[misc]


@pytest.mark.parametrize("args,env,message", [
    ([], {"TALLY_SESSION_COOLDOWN": "soon"}, "tally: setting 'TALLY_SESSION_COOLDOWN': invalid value 'soon'"),
    (["--workers", "2"], {}, "tally: setting 'workers': invalid value 2 (memory:// keeps data inside one process"),
])
def test_start_up_refuses_with_a_message(args: list[str], env: dict[str, str], message: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "server", "--port", "1", *args], capture_output=True, text=True, check=False,
                          timeout=60, env={"PATH": "/usr/bin:/bin", **env},
                          cwd=Path(__file__).resolve().parent.parent)
    assert proc.returncode == 2
    assert proc.stderr.startswith(message), proc.stderr
