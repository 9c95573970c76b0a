"""augnet_mock.loopback: which hosts are loopback, the rewrite, and the option's parser."""

from __future__ import annotations

from pathlib import Path

import pytest

from augnet_mock.config import ConfigError, load_settings
from augnet_mock.loopback import alias_loopback, is_loopback, parse_alias
from augnet_mock.validation import FieldError

ALIAS = "host.docker.internal"


@pytest.mark.parametrize(
    "host",
    ["localhost", "LOCALHOST", "localhost.", "api.localhost", "127.0.0.1", "127.1.2.3", "::1"],
)
def test_loopback_hosts(host: str) -> None:
    """localhost (and names under it), all of 127.0.0.0/8 and ::1 are loopback."""
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host", ["app", "localhost.example", "mylocalhost", "10.0.0.1", "128.0.0.1", "::2", "0.0.0.0"]
)
def test_other_hosts_are_not_loopback(host: str) -> None:
    """Service names, look-alike names and other addresses are left alone."""
    assert not is_loopback(host)


@pytest.mark.parametrize(
    ("url", "sent_to"),
    [
        ("http://127.0.0.1:8123/hook?x=1", f"http://{ALIAS}:8123/hook?x=1"),
        ("http://localhost/hook", f"http://{ALIAS}/hook"),
        ("https://127.0.0.9:9443/a/b", f"https://{ALIAS}:9443/a/b"),
        ("http://[::1]:8000/hook", f"http://{ALIAS}:8000/hook"),
        ("http://user:pw@localhost:81/p#frag", f"http://user:pw@{ALIAS}:81/p#frag"),
    ],
)
def test_loopback_urls_are_rewritten_keeping_the_rest(url: str, sent_to: str) -> None:
    """Only the host changes: scheme, userinfo, port, path, query and fragment stay."""
    assert alias_loopback(url, ALIAS) == sent_to


def test_ipv6_alias_gets_brackets() -> None:
    """An IPv6 alias is written in brackets, so the port stays a port."""
    assert alias_loopback("http://127.0.0.1:8123/h", "fd00::1") == "http://[fd00::1]:8123/h"


@pytest.mark.parametrize(
    "url", ["http://app:3000/hook", "http://10.0.0.5/hook", "http://[fd00::1]/h", "not a url", ""]
)
def test_other_urls_are_unchanged(url: str) -> None:
    """Non-loopback and unparseable URLs come back exactly as given."""
    assert alias_loopback(url, ALIAS) == url


def test_no_alias_changes_nothing() -> None:
    """Without an alias a loopback URL is sent as it is."""
    assert alias_loopback("http://127.0.0.1:1/h", None) == "http://127.0.0.1:1/h"


@pytest.mark.parametrize(
    ("raw", "host"),
    [
        (ALIAS, ALIAS),
        ("app", "app"),
        ("127.0.0.2", "127.0.0.2"),
        ("172.17.0.1", "172.17.0.1"),
        ("fd00::1", "fd00::1"),
        ("[fd00::1]", "fd00::1"),
    ],
)
def test_alias_accepts_host_names_and_addresses(raw: str, host: str) -> None:
    """A host name or an IP address (IPv6 with or without brackets) is accepted."""
    assert parse_alias("k", raw) == host


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", "must not be empty"),
        ("app:3000", "without a port"),
        ("http://app", "without a port"),
        ("app/x", "without a port"),
        ("a b", "without a port"),
        (3, "got number"),
    ],
)
def test_alias_refuses_what_is_not_a_host(raw: object, why: str) -> None:
    """A port, scheme, path or space is refused, naming the key."""
    with pytest.raises(FieldError) as info:
        parse_alias("server.loopback_alias", raw)
    assert str(info.value).startswith("server.loopback_alias: ")
    assert why in str(info.value)


def test_option_from_flag_env_and_file(tmp_path: Path) -> None:
    """--loopback-alias, AUGNET_MOCK_LOOPBACK_ALIAS and [server] loopback_alias set it."""
    config = tmp_path / "augnet.toml"
    config.write_text('[server]\nloopback_alias = "from-file"\n')
    assert load_settings().loopback_alias is None
    assert load_settings(config_path=str(config)).loopback_alias == "from-file"
    env = {"AUGNET_MOCK_LOOPBACK_ALIAS": "from-env"}
    assert load_settings(config_path=str(config), env=env).loopback_alias == "from-env"
    cli = {"loopback_alias": "from-cli"}
    assert load_settings(config_path=str(config), env=env, cli=cli).loopback_alias == "from-cli"


def test_bad_option_names_the_flag() -> None:
    """A bad value is a one-line ConfigError naming the flag or the variable."""
    with pytest.raises(ConfigError, match=r"^--loopback-alias: .*without a port"):
        load_settings(cli={"loopback_alias": "host:8080"})
    with pytest.raises(ConfigError, match=r"^AUGNET_MOCK_LOOPBACK_ALIAS: must not be empty"):
        load_settings(env={"AUGNET_MOCK_LOOPBACK_ALIAS": ""})
