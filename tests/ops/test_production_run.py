"""`gunicorn -c config/gunicorn.conf.py` as documented, with production settings: the project's
own error pages, hashed and compressed static files, metrics kept to the local scraper."""

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ops.storage import CompressedStaticStorage
from tests.ops.servers import gunicorn, production_env

# pytest-django creates the test database only when a collected test is marked for it; without
# the mark, a run of this module alone would point gunicorn at the development database.
pytestmark = pytest.mark.django_db

# Values minted afresh for every response, so two renderings of one page differ only in them.
_PER_RESPONSE = re.compile(r'(nonce="|name="csrfmiddlewaretoken" value=")[^"]*"')


def _without_per_response_values(html: str) -> str:
    return _PER_RESPONSE.sub(r'\1…"', html)


@pytest.fixture(scope="module")
def server(
    collected_static: Path, django_db_setup: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One server for the module: it needs the test database to exist, not any rows in it."""
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    with gunicorn(production_env(), log) as url:
        yield url


def test_unknown_url_gets_the_projects_own_404_page(server: str) -> None:
    response = httpx.get(f"{server}/no-such-page/")

    assert response.status_code == 404
    assert "We couldn't find that page" in response.text
    assert "URLconf" not in response.text  # not Django's technical page (DEBUG is off)
    assert re.search(r"/static/css/app\.[0-9a-f]{12}\.css", response.text)


def test_unknown_api_url_answers_json_not_html(server: str) -> None:
    response = httpx.get(f"{server}/api/v1/no-such-thing")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(("accept", "encoding"), [("br, gzip", "br"), ("gzip", "gzip")])
def test_static_files_are_hashed_and_served_compressed(
    server: str, accept: str, encoding: str
) -> None:
    page = httpx.get(f"{server}/no-such-page/").text
    stylesheet = re.search(r"/static/css/app\.[0-9a-f]{12}\.css", page)
    assert stylesheet

    response = httpx.get(f"{server}{stylesheet.group(0)}", headers={"Accept-Encoding": accept})

    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == encoding
    assert "immutable" in response.headers["Cache-Control"]
    assert "--" in response.text  # decoded: the stylesheet's custom properties


def test_anonymous_pages_are_gzipped_and_signed_in_pages_are_not(server: str) -> None:
    anonymous = httpx.get(f"{server}/no-such-page/", headers={"Accept-Encoding": "gzip"})
    with_session = httpx.get(
        f"{server}/no-such-page/",
        headers={"Accept-Encoding": "gzip"},
        cookies={"sessionid": "anything"},
    )

    assert anonymous.headers.get("Content-Encoding") == "gzip"
    # BREACH: a page for a session cookie may hold secrets next to reflected input.
    assert "Content-Encoding" not in with_session.headers
    assert with_session.status_code == anonymous.status_code == 404
    assert _without_per_response_values(with_session.text) == _without_per_response_values(
        anonymous.text
    )


def test_request_id_is_kept_when_sent_and_made_when_not(server: str) -> None:
    sent = httpx.get(f"{server}/healthz", headers={"X-Request-ID": "lb-7f3a9c"})
    made = httpx.get(f"{server}/healthz")
    hostile = httpx.get(f"{server}/healthz", headers={"X-Request-ID": "a b;" * 40})

    assert sent.headers["X-Request-ID"] == "lb-7f3a9c"
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])
    assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["X-Request-ID"])


def test_metrics_answer_the_local_scraper_only(server: str) -> None:
    local = httpx.get(f"{server}/metrics")
    forwarded = httpx.get(f"{server}/metrics", headers={"X-Forwarded-For": "203.0.113.9"})

    assert local.status_code == 200
    assert "boxoffice_http_request_duration_seconds_bucket" in local.text
    assert forwarded.status_code == 403


def test_readyz_reports_every_dependency(server: str) -> None:
    response = httpx.get(f"{server}/readyz")

    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ready",
        "database": "ok",
        "redis": "ok",
        "broker": "ok",
        "migrations": "ok",
        "outbox": "ok",
    }


def test_gunicorn_config_alone_serves_without_an_exported_settings_module(
    collected_static: Path, django_db_setup: None, tmp_path: Path
) -> None:
    env = production_env()
    assert "DJANGO_SETTINGS_MODULE" not in env
    with gunicorn(env, tmp_path / "gunicorn.log") as url:
        assert httpx.get(f"{url}/healthz").status_code == 200


def test_make_run_is_production_like_unless_debug_is_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config import devstack

    monkeypatch.setattr(devstack, "DATA_DIR", tmp_path)
    env: dict[str, str] = {}
    devstack.production_like(env, "http://127.0.0.1:8150")
    again: dict[str, str] = {}
    devstack.production_like(again, "http://127.0.0.1:8150")
    asked: dict[str, str] = {"DEBUG": "1"}
    devstack.production_like(asked, "http://127.0.0.1:8150")

    assert env["DEBUG"] == "0"
    assert len(env["SECRET_KEY"]) >= 50
    assert again["SECRET_KEY"] == env["SECRET_KEY"]  # sessions survive a restart
    assert env["ALLOWED_HOSTS"] == "127.0.0.1,localhost"
    assert env["SECURE_SSL_REDIRECT"] == "0"  # plain http on this machine
    assert asked["DEBUG"] == "1"


def test_a_static_files_hashed_url_is_read_from_the_manifest_once(collected_static: Path) -> None:
    storage = CompressedStaticStorage(location=str(collected_static))

    first = storage.url("css/app.css")

    assert re.fullmatch(r"/static/css/app\.[0-9a-f]{12}\.css", first)
    assert storage.url("css/app.css") is first  # kept: the manifest cannot change under it
    assert re.fullmatch(r"/static/css/tokens\.[0-9a-f]{12}\.css", storage.url("css/tokens.css"))
