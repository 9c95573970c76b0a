"""Configuration: defaults < config file < environment < CLI, and one-line errors naming the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from augnet_mock.config import OPTIONS, ConfigError, load_settings, read_config_file
from augnet_mock.settings import Settings


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "augnet.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def config_error(**kwargs: Any) -> str:
    """The ConfigError message load_settings raises for these sources."""
    with pytest.raises(ConfigError) as info:
        load_settings(**kwargs)
    message = str(info.value)
    assert "\n" not in message, "config errors must be one line"
    return message


# -- precedence -------------------------------------------------------------------------


def test_defaults() -> None:
    """With no sources, the settings are the documented defaults."""
    settings = load_settings()
    assert settings == Settings()
    assert (settings.host, settings.port, settings.smpp_port) == ("127.0.0.1", 8080, 2775)
    assert (settings.clock, settings.max_segments, settings.max_body_bytes) == ("real", 10, 65536)
    assert settings.max_messages == 10_000
    assert settings.callback_attempts == 5
    assert settings.callback_backoff == 1.0


def test_precedence_file_then_env_then_cli(tmp_path: Path) -> None:
    """Each later source wins key by key: defaults < config file < env < CLI."""
    path = write(
        tmp_path,
        '[server]\nport = 1001\nseed = 1\nmax_segments = 3\nclock = "manual"\n',
    )
    env = {"AUGNET_MOCK_PORT": "1002", "AUGNET_MOCK_SEED": "2"}
    cli = {"port": "1003", "host": None}  # None means "flag not given"
    settings = load_settings(config_path=path, env=env, cli=cli)
    assert settings.port == 1003  # CLI
    assert settings.seed == 2  # env over file
    assert settings.max_segments == 3  # file over default
    assert settings.clock == "manual"
    assert settings.host == "127.0.0.1"  # default


def test_config_path_sources(tmp_path: Path) -> None:
    """--config beats AUGNET_MOCK_CONFIG, which beats the config_path argument."""
    low = write(tmp_path, "[server]\nport = 1\n")
    (tmp_path / "env.toml").write_text("[server]\nport = 2\n")
    (tmp_path / "cli.toml").write_text("[server]\nport = 3\n")
    env = {"AUGNET_MOCK_CONFIG": str(tmp_path / "env.toml")}
    assert load_settings(config_path=low).port == 1
    assert load_settings(config_path=low, env=env).port == 2
    cli = {"config": str(tmp_path / "cli.toml")}
    assert load_settings(config_path=low, env=env, cli=cli).port == 3


def test_every_option_has_flag_env_and_key(tmp_path: Path) -> None:
    """Each OPTION derives its flag, variable and [server] key from one name."""
    for option in OPTIONS:
        assert option.flag == "--" + option.name.replace("_", "-")
        assert option.env == "AUGNET_MOCK_" + option.name.upper()
        assert hasattr(Settings(), option.name)


@pytest.mark.parametrize(
    ("name", "raw", "value"),
    [
        ("host", "0.0.0.0", "0.0.0.0"),
        ("port", "0", 0),
        ("smpp_port", "2776", 2776),
        ("clock", "manual", "manual"),
        ("seed", "42", 42),
        ("max_messages", "5", 5),
        ("max_segments", "255", 255),
        ("max_body_bytes", "1024", 1024),
        ("send_delay", "0", 0.0),
        ("delivery_delay", "1.5", 1.5),
        ("callback_attempts", "1", 1),
        ("callback_backoff", "0.25", 0.25),
        ("callback_timeout", "3", 3.0),
        ("callback_timeout", "0.001", 0.001),
        ("callback_concurrency_per_receiver", "1", 1),
        ("max_pending_callbacks", "50", 50),
        ("chaos_api_errors", "1", 1.0),
        ("chaos_undelivered", "0.5", 0.5),
        ("default_project", "false", False),
        ("default_project", "YES", True),
        ("access_log", "0", False),
        ("body_timeout", "2.5", 2.5),
        ("allowed_hosts", "augnet-mock, Mock.Example.", ("augnet-mock", "mock.example")),
        ("allowed_hosts", "*", ("*",)),
        ("allowed_hosts", "[fe80::1],10.0.0.7", ("fe80::1", "10.0.0.7")),
        ("admin_token", "s3cret-t0ken", "s3cret-t0ken"),
    ],
)
def test_every_option_reads_from_env_and_cli(name: str, raw: str, value: Any) -> None:
    """Strings from the environment and the command line are parsed to typed values."""
    env_name = "AUGNET_MOCK_" + name.upper()
    assert getattr(load_settings(env={env_name: raw}), name) == value
    assert getattr(load_settings(cli={name: raw}), name) == value


def test_file_values_keep_their_toml_types(tmp_path: Path) -> None:
    """Native TOML numbers and booleans are taken as they are."""
    path = write(
        tmp_path,
        "[server]\nsend_delay = 0.05\ndefault_project = false\ncallback_attempts = 2\n",
    )
    settings = load_settings(config_path=path)
    assert settings.send_delay == 0.05
    assert settings.default_project is False
    assert settings.callback_attempts == 2


# -- bad values -------------------------------------------------------------------------

BAD_VALUES = [
    ("port", "abc", "integer"),
    ("port", "-1", "between 0 and 65535"),
    ("port", "65536", "between 0 and 65535"),
    ("port", "8080.0", "integer"),
    ("smpp_port", "x", "integer"),
    ("host", "", "non-empty"),
    ("clock", "fast", '"real" or "manual"'),
    ("seed", "-3", "between 0 and 18446744073709551615"),
    ("max_messages", "0", "between 1 and 1000000"),
    ("max_segments", "0", "between 1 and 255"),
    ("max_segments", "256", "between 1 and 255"),
    ("max_body_bytes", "0", "between 1 and 16777216"),
    ("body_timeout", "0", "greater than 0"),
    ("body_timeout", "nan", "finite"),
    ("allowed_hosts", "augnet-mock:8080", "without a port"),
    ("allowed_hosts", "http://x", "not a host name"),
    ("admin_token", "two words", "printable ASCII"),
    ("admin_token", "", "non-empty"),
    ("send_delay", "soon", "number"),
    ("send_delay", "-1", "between 0 and 86400"),
    ("delivery_delay", "nan", "finite"),
    ("callback_attempts", "0", "between 1 and 100"),
    ("callback_backoff", "inf", "finite"),
    ("callback_timeout", "x", "number"),
    ("callback_timeout", "0", "greater than 0 and at most 3600"),
    ("callback_timeout", "-2", "greater than 0 and at most 3600"),
    ("callback_timeout", "3601", "greater than 0 and at most 3600"),
    ("callback_timeout", "nan", "finite"),
    ("callback_concurrency_per_receiver", "0", "between 1 and 100"),
    ("callback_concurrency_per_receiver", "101", "between 1 and 100"),
    ("max_pending_callbacks", "0", "between 1 and 1000000"),
    ("chaos_api_errors", "1.5", "between 0 and 1"),
    ("chaos_undelivered", "-0.1", "between 0 and 1"),
    ("default_project", "maybe", "true or false"),
    ("access_log", "2", "true or false"),
]


@pytest.mark.parametrize(("name", "raw", "why"), BAD_VALUES)
def test_bad_env_value_names_the_variable(name: str, raw: str, why: str) -> None:
    """A bad environment value raises ConfigError naming AUGNET_MOCK_<NAME>."""
    env_name = "AUGNET_MOCK_" + name.upper()
    message = config_error(env={env_name: raw})
    assert message.startswith(f"{env_name}: ")
    assert why in message


@pytest.mark.parametrize(("name", "raw", "why"), BAD_VALUES)
def test_bad_cli_value_names_the_flag(name: str, raw: str, why: str) -> None:
    """A bad command-line value raises ConfigError naming --<flag>."""
    flag = "--" + name.replace("_", "-")
    message = config_error(cli={name: raw})
    assert message.startswith(f"{flag}: ")
    assert why in message


@pytest.mark.parametrize(
    ("line", "key", "why"),
    [
        ('port = "abc"', "server.port", "integer"),
        ("port = 70000", "server.port", "between 0 and 65535"),
        ("port = true", "server.port", "got boolean"),
        ("port = 80.5", "server.port", "got number"),
        ('clock = "slow"', "server.clock", '"real" or "manual"'),
        ("host = 5", "server.host", "must be a string, got number 5"),
        ("send_delay = -1.0", "server.send_delay", "between 0 and 86400"),
        ("default_project = 1", "server.default_project", "true or false"),
        ("max_segments = 0", "server.max_segments", "between 1 and 255"),
        ("prot = 80", "server.prot", "unknown key"),
        ('port = "8080"', "server.port", "write it without quotes: port = 8080"),
        ('seed = "42"', "server.seed", "must be an integer, got string '42'"),
        ('send_delay = "0.5"', "server.send_delay", "must be a number"),
        ('access_log = "false"', "server.access_log", "without quotes: access_log = false"),
        ("clock = 1", "server.clock", "must be a string, got number 1"),
        ("allowed_hosts = 5", "server.allowed_hosts", "a string or an array of strings"),
        ("callback_attempts = [3]", "server.callback_attempts", "got an array"),
    ],
)
def test_bad_server_key_names_it(tmp_path: Path, line: str, key: str, why: str) -> None:
    """A bad or unknown [server] key raises ConfigError naming `server.<key>`."""
    message = config_error(config_path=write(tmp_path, f"[server]\n{line}\n"))
    assert message.startswith(f"{key}: ")
    assert why in message


def test_bad_value_beaten_by_a_later_source_still_fails(tmp_path: Path) -> None:
    """Every source is validated, even one a later source overrides."""
    path = write(tmp_path, '[server]\nport = "x"\n')
    message = config_error(config_path=path, cli={"port": "9000"})
    assert message.startswith("server.port: ")


@pytest.mark.parametrize(
    ("toml", "key", "why"),
    [
        ('[[projects]]\nwebhookUrl = "ftp://x"\n', "projects[0].webhookUrl", "http(s) URL"),
        (
            '[[projects]]\nprojectId = "a"\n[[projects]]\nwebhookUrl = "nope"\n',
            "projects[1].webhookUrl",
            "http(s) URL",
        ),
        ('[[projects]]\nsenders = "ABC"\n', "projects[0].senders", "array"),
        ('[[projects]]\nsenders = ["ABCDEFGHIJKLMN"]\n', "projects[0].senders[0]", "11"),
        ("[[projects]]\napiKey = 5\n", "projects[0].apiKey", "string"),
        ('[[projects]]\nprojectId = "has space"\n', "projects[0].projectId", "letters"),
        ("[[projects]]\nbogus = 1\n", "projects[0].bogus", "unknown key"),
        (
            '[[projects]]\nsmpp = { systemId = "sixteen-chars-xx" }\n',
            "projects[0].smpp.systemId",
            "15",
        ),
        ('[[projects]]\nsmpp = { password = "123456789" }\n', "projects[0].smpp.password", "8"),
        (
            '[[projects]]\nprojectId = "a"\n[[projects]]\nprojectId = "a"\n',
            "projects[1].projectId",
            "duplicate",
        ),
        ("projects = [1]\n", "projects[0]", "object"),
        ('projects = "x"\n', "projects", "array of tables"),
        (
            "[[scenarios]]\neffect = { apiError = { status = 200 } }\n",
            "scenarios[0].effect.apiError.status",
            "between 400 and 599",
        ),
        ("[[scenarios]]\nmatch = {}\n", "scenarios[0].effect", "required"),
        (
            '[[scenarios]]\nmatch = { to = { regex = "(" } }\neffect = { sendDelay = 1 }\n',
            "scenarios[0].match.to.regex",
            "regular expression",
        ),
        (
            "[[scenarios]]\ntimes = 0\neffect = { sendDelay = 1 }\n",
            "scenarios[0].times",
            "between 1 and 1000000",
        ),
        (
            "[[scenarios]]\nprobability = 2\neffect = { sendDelay = 1 }\n",
            "scenarios[0].probability",
            "between 0 and 1",
        ),
        ("[[scenarios]]\nwhen = 1\neffect = { sendDelay = 1 }\n", "scenarios[0].when", "unknown"),
        ('scenarios = "x"\n', "scenarios", "array of tables"),
        ("server = 5\n", "server", "table"),
        ("[database]\nurl = 1\n", "database", "unknown section"),
    ],
)
def test_bad_config_file_names_the_key(tmp_path: Path, toml: str, key: str, why: str) -> None:
    """A bad project, scenario or section raises ConfigError whose message names the key."""
    message = config_error(config_path=write(tmp_path, toml))
    assert message.startswith(f"{key}: "), message
    assert why in message


def test_invalid_toml(tmp_path: Path) -> None:
    """A file that is not TOML is a one-line ConfigError naming the file."""
    path = write(tmp_path, "[server\nport = 1\n")
    message = config_error(config_path=path)
    assert message.startswith("config: ")
    assert path in message
    assert "not valid TOML" in message


def test_missing_file(tmp_path: Path) -> None:
    """A config file that cannot be read is a ConfigError naming the path."""
    path = str(tmp_path / "nope.toml")
    message = config_error(config_path=path)
    assert message.startswith("config: cannot read ")
    assert path in message
    assert config_error(env={"AUGNET_MOCK_CONFIG": path}).startswith("config: ")
    assert config_error(cli={"config": path}).startswith("config: ")


def test_non_utf8_file_is_a_config_error(tmp_path: Path) -> None:
    """A config file that is not UTF-8 text is a ConfigError, not a crash."""
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[server]\nhost = "caf\xe9"\n')
    assert config_error(config_path=str(path)).startswith("config: ")


# -- projects and scenarios -------------------------------------------------------------


def test_projects_and_scenarios_are_loaded(tmp_path: Path) -> None:
    """[[projects]] become startup projects next to the default; [[scenarios]] are kept."""
    path = write(
        tmp_path,
        """
[[projects]]
projectId = "shop"
apiKey = "shop-key"
senders = ["SHOP"]
webhookUrl = "http://127.0.0.1:9/hook"
smpp = { systemId = "shop", password = "pw" }

[[scenarios]]
name = "uk-slow"
match = { to = { glob = "+44*" } }
effect = { deliveryDelay = 5 }
times = 2
""",
    )
    settings = load_settings(config_path=path)
    (shop,) = settings.projects
    assert (shop.project_id, shop.api_key, shop.senders) == ("shop", "shop-key", ("SHOP",))
    assert shop.webhook_url == "http://127.0.0.1:9/hook"
    assert (shop.smpp_system_id, shop.smpp_password) == ("shop", "pw")
    assert [p.project_id for p in settings.startup_projects()][1:] == ["shop"]
    assert settings.scenarios[0]["name"] == "uk-slow"


def test_read_config_file_returns_settings_fields(tmp_path: Path) -> None:
    """read_config_file gives Settings field names, ready to merge."""
    fields = read_config_file(write(tmp_path, "[server]\nsmpp_port = 2776\n"))
    assert fields == {"smpp_port": 2776, "projects": (), "scenarios": ()}


def test_allowed_hosts_in_toml_as_array_or_string(tmp_path: Path) -> None:
    """[server] allowed_hosts takes an array of names or one comma-separated string."""
    array = write(tmp_path, '[server]\nallowed_hosts = ["augnet", "Mock.local"]\n')
    assert load_settings(config_path=array).allowed_hosts == ("augnet", "mock.local")
    (tmp_path / "s.toml").write_text('[server]\nallowed_hosts = "augnet,ci"\n')
    assert load_settings(config_path=str(tmp_path / "s.toml")).allowed_hosts == ("augnet", "ci")
    (tmp_path / "bad.toml").write_text("[server]\nallowed_hosts = [1]\n")
    assert "server.allowed_hosts" in config_error(config_path=str(tmp_path / "bad.toml"))


def test_admin_token_stays_out_of_repr() -> None:
    """The admin token never shows in a printed Settings (logs, tracebacks)."""
    assert "s3cret" not in repr(load_settings(env={"AUGNET_MOCK_ADMIN_TOKEN": "s3cret"}))


def test_unknown_key_lists_the_known_ones_closest_first(tmp_path: Path) -> None:
    """An unknown [server] key suggests the closest option and lists every known one."""
    message = config_error(config_path=write(tmp_path, "[server]\nsend_dealy = 1\n"))
    assert message.startswith("server.send_dealy: unknown key; did you mean 'send_delay'?")
    assert "known: " + ", ".join(o.name for o in OPTIONS) in message


def test_unknown_key_with_no_close_match_still_lists_them(tmp_path: Path) -> None:
    """A key like no option gets no guess, only the list."""
    message = config_error(config_path=write(tmp_path, "[server]\nzzz = 1\n"))
    assert "did you mean" not in message
    assert message.startswith("server.zzz: unknown key; known: host, port,")


def test_unknown_section_suggests_the_closest(tmp_path: Path) -> None:
    """A misspelt section is named with the one meant."""
    message = config_error(config_path=write(tmp_path, "[[project]]\nprojectId = 'x'\n"))
    assert message == (
        "project: unknown section; did you mean 'projects'? known: server, projects, scenarios"
    )


def test_every_option_declares_a_toml_kind() -> None:
    """Each option's TOML type takes its own default and refuses a string for a number."""
    defaults = Settings()
    for option in OPTIONS:
        default = getattr(defaults, option.name)
        if default is not None and option.kind != "hosts":
            assert option.fits_toml(default), option.name
        if option.kind in ("int", "float", "bool"):
            assert not option.fits_toml("1"), option.name
